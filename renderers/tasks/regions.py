"""Regions of a rendered page whose text is known exactly: runs of consecutive lines of
one paragraph, where the paragraph's lines reproduce the target's prose word for word.

A base renderer's line boxes carry the text its engine reports (PDF text layer, DOM). That
text is trusted only where it provably matches the target: a paragraph is usable when the
concatenation of its lines equals one prose paragraph of the target, letters for letters
(whitespace, hyphens and markdown markers aside). Paragraphs with math, footnote marks or
bullets never match, so their garbled or missing glyph text never becomes a label.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from ocr2synth.renderers.base import Box, Sample

# Markdown markers of a target line that are not drawn as text: headings, list bullets
# and numbers, emphasis. A footnote's `[^n]: ` stays: its number is drawn as a mark that
# engines may leave out of the line's text, so footnotes must never match.
_LINE_MARKERS = re.compile(r"^(?:#{1,6} |[-*+] |\d+\. )")
_EMPHASIS = re.compile(r"\*+")
_NUMBER = re.compile(r"^\d+\. ")
BULLET = "\u2022"
_SKIP = re.compile(r"[\s\-\u2010\u2011\u00ad]+")  # spaces and hyphens (line-break hyphens)


def comparable(text: str) -> str:
    """Letters, digits and punctuation only, in compatibility form (ligatures split)."""
    return _SKIP.sub("", unicodedata.normalize("NFKC", text))


def prose_keys(target: str) -> set[str]:
    """Keys of the target's lines (paragraphs, headings, list items, footnotes): without
    markdown markers, and for list items also with the marker drawn (`1.`, a bullet)."""
    keys = set()
    for line in target.split("\n"):
        line = _EMPHASIS.sub("", line.strip())
        bare = _LINE_MARKERS.sub("", line)
        keys.add(comparable(bare))
        if (number := _NUMBER.match(line)) is not None:
            keys.add(comparable(number.group() + bare))
        elif line.startswith(("- ", "* ", "+ ")):
            keys.add(comparable(BULLET + bare))
    keys.discard("")
    return keys


def line_text(box: Box) -> str:
    """A line's text with the bullet glyph TeX's symbol font reports as U+0088 fixed."""
    return box.text.replace("\x88", BULLET)


def split_boxes(sample: Sample) -> list[Box]:
    """The line boxes, as visual lines: base renderers list their `meta.paragraph_boxes`
    paragraphs first."""
    return visual_lines(list(sample.boxes[int(sample.meta.get("paragraph_boxes", 0)):]))


def visual_lines(lines: list[Box]) -> list[Box]:
    """Consecutive boxes on one baseline merged: a PDF text layer may break a visual line
    in two at a wide space (or around a formula)."""
    out: list[Box] = []
    for box in lines:
        last = out[-1] if out else None
        if last is not None:
            height = min(box.y1 - box.y0, last.y1 - last.y0)
            overlap = min(box.y1, last.y1) - max(box.y0, last.y0)
            if overlap > 0.5 * height and 0 <= box.x0 - last.x1 + 2 < 3 * height:
                out[-1] = Box(last.x0, min(last.y0, box.y0), box.x1, max(last.y1, box.y1),
                              f"{last.text} {box.text}")
                continue
        out.append(box)
    return out


def paragraph_runs(lines: list[Box], target: str) -> list[list[int]]:
    """Runs of consecutive line indices whose joined text is one prose paragraph."""
    keys = prose_keys(target)
    line_keys = [comparable(line_text(box)) for box in lines]
    runs: list[list[int]] = []
    i = 0
    while i < len(lines):
        acc, end = "", None
        for j in range(i, len(lines)):
            if not line_keys[j]:
                break  # an empty line box is a formula or a picture
            acc += line_keys[j]
            if acc in keys:
                end = j
                break
            if not any(key.startswith(acc) for key in keys):
                break
        if end is None:
            i += 1
            continue
        runs.append(list(range(i, end + 1)))
        i = end + 1
    return [run for run in runs if stacked([lines[k] for k in run])]


def stacked(lines: list[Box]) -> bool:
    """Lines read top to bottom in one column (each below the last, overlapping in x)."""
    return all(b.y0 >= a.y0 + 0.5 * (a.y1 - a.y0) and b.x0 < a.x1 and a.x0 < b.x1
               for a, b in zip(lines, lines[1:], strict=False))


@dataclass(frozen=True)
class Region:
    lines: tuple[Box, ...]
    box: tuple[float, float, float, float]  # pixels, as the 0-1000 prompt box describes it
    norm: tuple[int, int, int, int]  # GOT's 0-1000 scale

    @property
    def text(self) -> str:
        return "\n".join(line_text(line) for line in self.lines)


def union(boxes: list[Box] | tuple[Box, ...]) -> tuple[float, float, float, float]:
    return (min(b.x0 for b in boxes), min(b.y0 for b in boxes),
            max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def normalise(box: tuple[float, float, float, float], size: tuple[int, int]
              ) -> tuple[int, int, int, int]:
    """Onto GOT's 0-1000 scale, rounded outwards so the scaled box still holds the text."""
    w, h = size
    x0, y0, x1, y1 = box
    return (max(0, math.floor(x0 / w * 1000)), max(0, math.floor(y0 / h * 1000)),
            min(1000, math.ceil(x1 / w * 1000)), min(1000, math.ceil(y1 / h * 1000)))


def denormalise(norm: tuple[int, int, int, int], size: tuple[int, int]
                ) -> tuple[float, float, float, float]:
    w, h = size
    return (norm[0] * w / 1000, norm[1] * h / 1000, norm[2] * w / 1000, norm[3] * h / 1000)


def intrudes(other: Box, box: tuple[float, float, float, float]) -> bool:
    """Whether another line shows inside `box`: a real share of its height overlaps.
    Engines' line boxes include the font's ascent and descent, so neighbours may touch
    by a pixel or two without any ink crossing."""
    ox = min(other.x1, box[2]) - max(other.x0, box[0])
    oy = min(other.y1, box[3]) - max(other.y0, box[1])
    return ox > 0 and oy > 0.2 * max(other.y1 - other.y0, 1.0)


def make_region(lines: list[Box], run: list[int], size: tuple[int, int],
                pad: float, outer: float = 0.0) -> Region | None:
    """The region of lines[run], padded; None if it would show any other line.

    `outer` widens the area that must be free of other text (room for a colour frame)."""
    chosen = [lines[k] for k in run]
    x0, y0, x1, y1 = union(chosen)
    w, h = size
    norm = normalise((x0 - pad, y0 - pad, x1 + pad, y1 + pad), size)
    box = denormalise(norm, size)
    clear = (box[0] - outer, box[1] - outer, box[2] + outer, box[3] + outer)
    if clear[0] < 0 or clear[1] < 0 or clear[2] > w or clear[3] > h:
        return None  # no room for the padding (or the frame) inside the image
    members = set(run)
    if any(intrudes(line, clear) for k, line in enumerate(lines) if k not in members):
        return None
    return Region(tuple(chosen), box, norm)
