"""latex-page's layout target: each block's box from pdfTeX's own record of where it put
the block, and its text as the format target writes it.

In layout mode `LatexPageRenderer.body` marks every block with named destinations at its
start and end (baselines), displays and tables also at the top and bottom of their box,
and footnotes at the start and end of their text. A text block's box is the union of the
text layer's spans whose baseline lies between its start and end marks, in its column; a
display's or table's box is the rectangle its four marks span. `renderers/layout.py` then
tightens each box to its ink and checks that no two blocks share ink; here each text
block's text layer inside its box is checked against the source's own prose.

This module does not typeset and does not pick pages: it reads a typeset page.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import Any

import pymupdf
from ocr2synth.renderers.base import Reject
from ocr2synth.renderers.layout import LayoutBlock

_NOT_LETTERS = re.compile(r"[\s\-\u00ad\u2010]+")
CATEGORY = {"para": "text", "item": "list-item", "display": "formula", "table": "table"}
# How far (points) a span's baseline may sit above a block's first baseline (a raised
# footnote mark or superscript) or below its last one (a subscript) and still be its own:
# far less than a line's height, so a neighbouring block's lines never qualify.
ABOVE_PT = 6.0
BELOW_PT = 4.0
COLUMN_SLACK_PT = 2.0
# A line's descenders reach about this far below its baseline, its capitals and ascenders
# about this far above (in font sizes): where a block's box may end next to a neighbour.
DESCENT = 0.3
ASCENT = 0.75
TALLEST_PT = 30.0  # the tallest glyph a text line holds (a big operator in inline math)


def category_of(block: dict[str, Any]) -> str:
    if block["kind"] == "heading":
        return "title" if block["level"] == 1 else "section-header"
    return CATEGORY[block["kind"]]


def dest_points(pdf: pymupdf.Document) -> dict[str, tuple[int, float, float]]:
    """Named destination -> (page, x, y from the top), resolved once per PDF."""
    cached = getattr(pdf, "_ocr2synth_points", None)
    if cached is None:
        cached = {}
        heights: dict[int, float] = {}
        for name, d in pdf.resolve_names().items():
            if isinstance(d, dict) and "page" in d and d.get("to"):
                number = int(d["page"])
                if number not in heights:
                    heights[number] = pdf[number].rect.height
                x, y = d["to"]
                # a destination's point is in PDF space, y up from the page's foot
                cached[name] = (number, float(x), heights[number] - float(y))
        pdf._ocr2synth_points = cached
    return cached


Span = tuple[float, float, tuple[float, ...], float, str]


def _spans(page: pymupdf.Page, layer: dict | None = None) -> list[Span]:
    """(x centre, baseline y, bbox, size, text) of every non-blank span of the text layer,
    in the layer's order; read once per page (PyMuPDF's own per-rectangle text extraction
    walks every character of the page in Python, once per call)."""
    out = []
    for block in (layer or page.get_text("dict"))["blocks"]:
        for line in block.get("lines", []):
            for span in line["spans"]:
                if span["text"].strip():
                    x0, _, x1, _ = span["bbox"]
                    out.append(((x0 + x1) / 2, span["origin"][1], tuple(span["bbox"]),
                                float(span["size"]), span["text"]))
    return out


def text_in(spans: list[Span], rect: tuple[float, ...]) -> str:
    """The text layer inside a box: the spans whose centre lies in it, in layer order."""
    x0, y0, x1, y1 = rect
    return "".join(text for _, _, (a, b, c, d), _, text in spans
                   if x0 - 1 <= (a + c) / 2 <= x1 + 1 and y0 - 1 <= (b + d) / 2 <= y1 + 1)


def _union(boxes: list[tuple[float, ...]]) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


# TeX's text fonts set accents as glyphs of their own, which the text layer reads as
# combining or spacing marks, before or after their letter (`ï` reads `¨ı`, `~` a combining
# tilde, `^` a modifier circumflex), and draw `\_` as a rule with no character: the check
# compares letters with every accent and those signs left out.
_GLYPH_ALIASES = str.maketrans({"ı": "i", "~": "", "_": "", "^": ""})
_ACCENT_CATEGORIES = {"Mn", "Sk", "Lm"}


def _letters(text: str) -> str:
    """What a text layer and a source can agree on: no whitespace, no hyphens (TeX breaks
    words at line ends), ligatures and full-width forms unfolded, no accents."""
    folded = unicodedata.normalize("NFKD", text).translate(_GLYPH_ALIASES)
    bare = "".join(ch for ch in folded if unicodedata.category(ch) not in _ACCENT_CATEGORIES)
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFKC", bare))


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


def text_problem(inside: str, block: dict[str, Any]) -> str:
    """Why `inside`, the text layer in a text block's box, is not the block's own text,
    or ""."""
    if block["kind"] in ("display", "table"):
        return ""
    found = _letters(inside)
    if block["kind"] == "heading":
        want, exact = _letters(block["text"]), True
    else:
        prose = [text for kind, text in block["parts"] if kind == "t"]
        want = _letters("".join(prose))
        # math and footnote marks read as glyphs of their own: prose must appear in order
        exact = all(kind == "t" for kind, _ in block["parts"])
        if block["kind"] == "item":
            # the label ("3.", a bullet whose glyph some fonts map to no Unicode bullet)
            label = f"{block['number']}." if block.get("ordered") else ""
            if found.startswith(label) and len(found) > len(label):
                found = found[len(label) or 1:]
    if exact and found != want or not exact and not _subsequence(want, found):
        return f"the text layer in the box reads {found[:60]!r}, the source {want[:60]!r}"
    return ""


def latex_layout(page: pymupdf.Page, number: int, names: dict[str, tuple[int, float, float]],
                 prefix: str, blocks: list[tuple[int, dict[str, Any]]], chunks: list[str],
                 notes: list[tuple[int, int, str]], frames: list[tuple[float, float]],
                 scale: float, layer: dict | None = None) -> list[LayoutBlock] | Reject:
    """The page's blocks (source index and block, with their markdown `chunks`) and its
    footnotes ((owner index, n within the owner, markdown)) as layout blocks in pixels."""
    spans = _spans(page, layer)
    layer_order = {sp: n for n, sp in enumerate(spans)}  # the text layer's reading order
    # each column's spans by baseline, so a block's lines and neighbours are a bisection
    by_column: dict[tuple[float, float], tuple[list[Span], list[float]]] = {}
    for frame in frames:
        lo, hi = frame
        own = sorted((sp for sp in spans if lo - COLUMN_SLACK_PT <= sp[0] <= hi + COLUMN_SLACK_PT),
                     key=lambda sp: sp[1])
        by_column[frame] = own, [sp[1] for sp in own]

    def point(name: str) -> tuple[float, float] | None:
        found = names.get(prefix + name)
        return None if found is None or found[0] != number else found[1:]

    def column(x: float) -> tuple[float, float]:
        return min(frames, key=lambda f: 0 if f[0] - 1 <= x <= f[1] + 1 else
                   min(abs(x - f[0]), abs(x - f[1])))

    def between(start: tuple[float, float], end: tuple[float, float]
                ) -> tuple[tuple[float, float, float, float], str] | None:
        """The block's box from its spans, and the text layer inside it."""
        near, ys = by_column[column(start[0])]
        top, bottom = start[1] - ABOVE_PT, end[1] + BELOW_PT
        first, last = bisect.bisect_left(ys, top), bisect.bisect_right(ys, bottom)
        found = _union([sp[2] for sp in near[first:last]])
        if found is None:
            return None
        # A font's box is taller than its glyphs and may reach into the next line: the
        # block's box stops short of its neighbours' descenders above and ascenders below.
        x0, y0, x1, y1 = found
        if first > 0:
            y, size = near[first - 1][1], near[first - 1][3]
            y0 = max(y0, y + DESCENT * size)
        if last < len(near):
            y, size = near[last][1], near[last][3]
            y1 = min(y1, y - ASCENT * size)
        rect = (x0, y0, x1, y1)
        # spans whose centre is in the box have their baseline at most a glyph below it
        nearby = near[bisect.bisect_left(ys, y0 - 1):bisect.bisect_right(ys, y1 + TALLEST_PT)]
        return rect, text_in(sorted(nearby, key=layer_order.__getitem__), rect)

    out: list[LayoutBlock] = []
    for (index, block), chunk in zip(blocks, chunks, strict=True):
        start, end = point(f"b{index}s"), point(f"b{index}e")
        if start is None or end is None:
            return Reject("lost-block", f"block {index} has no position on the page")
        if block["kind"] in ("display", "table"):
            top, bottom = point(f"b{index}t"), point(f"b{index}b")
            if top is None or bottom is None:
                return Reject("lost-block", f"block {index} has no box on the page")
            rect = (start[0], top[1], end[0], bottom[1])
        else:
            found = between(start, end)
            if found is None:
                return Reject("lost-block", f"block {index}: no text between its marks")
            rect, inside = found
            problem = text_problem(inside, block)
            if problem:
                return Reject("layout-text", f"block {index}: {problem}")
        out.append(LayoutBlock(category_of(block), *(v * scale for v in rect), chunk))
    for owner, n, markdown in notes:
        start, end = point(f"b{owner}f{n}s"), point(f"b{owner}f{n}e")
        if start is None or end is None:
            return Reject("split-block", f"a footnote of block {owner} is not on its page")
        found = between(start, end)
        if found is None:
            return Reject("lost-block", f"a footnote of block {owner} has no text")
        rect, _ = found
        out.append(LayoutBlock("footnote", *(v * scale for v in rect), markdown))
    return out
