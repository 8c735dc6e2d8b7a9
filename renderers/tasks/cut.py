"""A stored page shortened to its first k blocks, truthfully: the image keeps the ink of
those blocks only (everything else painted white) and the target is the page's own target
through the k-th block's text.

It reads a page as markdown-page stores it: `boxes` start with one box per shown block,
in reading order, whose text is that block's markdown exactly, then one per footnote
(`meta.paragraph_boxes` counts both); `meta.blocks` lists the shown blocks, and
`meta.columns`, `padding`, `gap` and `width` give the text area. A page whose block texts
do not spell its target in order, verbatim, cannot be cut. It does not know how the page
was rendered, nor the token limits of the task that asks (it counts tokens with the
task's counter and leaves the limits to its caller).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
from ocr2synth.renderers.base import Box, Sample
from ocr2synth.renderers.tasks.tokens import count_tokens

# A footnote reference in a block's markdown: the note is at the page foot, which a cut
# page never keeps, so no kept block may hold one.
_NOTE_REF = re.compile(r"\[\^\d+\]")
# Between two blocks of a target: a list's items are on consecutive lines, other blocks
# a blank line apart (markdown-page's target_markdown).
_JOINS = ("\n", "\n\n")
# The ink of a kept block may spill past its DOM box by anti-aliasing or an overhanging
# glyph: this many pixels around each kept box still count as that block's.
SPILL = 3
WHITE = 255


class Uncuttable(ValueError):
    """The page cannot be cut truthfully; the message says why (a short reason first)."""


@dataclass(frozen=True)
class Block:
    box: Box
    end: int  # where the block's text ends in the page's target
    refers: bool  # it holds a footnote reference


@dataclass(frozen=True)
class Page:
    """A stored page read for cutting: its blocks in reading order, and where its kept
    area may end on the right (the first column's edge, or the page's)."""

    sample: Sample
    blocks: tuple[Block, ...]
    notes: tuple[Box, ...]
    right: int  # x where the kept area ends: the gap's middle on a two-column page
    column: float  # a column's width (a wider box is a block broken across columns)

    def ink(self, rows: int) -> np.ndarray:
        """True where a pixel of the top `rows` rows is not white: a cut looks no lower
        than just past the next block's top, and most pages are cut high."""
        image = self.sample.image
        top = image.crop((0, 0, image.width, rows))
        return np.asarray(top if top.mode == "L" else top.convert("L")) < WHITE


@dataclass(frozen=True)
class Cut:
    """A page's first `blocks` blocks: the kept area is [0, right) x [0, bottom)."""

    blocks: int
    bottom: int
    right: int
    target: str
    tokens: int


def read_page(sample: Sample) -> Page:
    """The page's blocks, each found verbatim and in order in its target; raises
    Uncuttable otherwise."""
    meta, target = sample.meta, sample.target
    shown = meta.get("blocks")
    if not isinstance(shown, list) or not shown:
        raise Uncuttable("no-blocks: the page records no blocks")
    n, total = len(shown), int(meta.get("paragraph_boxes", 0))
    if total < n or len(sample.boxes) < total:
        raise Uncuttable(f"no-block-boxes: {total} block boxes for {n} blocks")
    blocks, cursor = [], 0
    for i, box in enumerate(sample.boxes[:n]):
        at = target.find(box.text, cursor) if box.text else -1
        if at < 0 or target[cursor:at] not in (("",) if i == 0 else _JOINS):
            raise Uncuttable(f"block-not-in-target: block {i}'s text is not the target's "
                             "next block")
        cursor = at + len(box.text)
        blocks.append(Block(box, cursor, bool(_NOTE_REF.search(box.text))))
    notes = tuple(sample.boxes[n:total])
    tail = r"\n".join(rf"\[\^\d+\]: {re.escape(b.text)}" for b in notes)
    if not re.fullmatch(rf"\n\n{tail}" if notes else "", target[cursor:]):
        raise Uncuttable("target-tail: the target holds more than the page's blocks and notes")
    width, height = sample.image.size
    if (meta.get("width", width), meta.get("height", height)) != (width, height):
        raise Uncuttable("resized: the image is not the size its boxes were measured at")
    columns = int(meta.get("columns", 0))
    if columns == 1:
        right, column = width, float(width)
    elif columns == 2 and len(meta.get("padding") or ()) == 4 and "gap" in meta:
        _, pad_right, _, pad_left = (int(v) for v in meta["padding"])
        column = (width - pad_left - pad_right - int(meta["gap"])) / 2
        right = int(pad_left + column + int(meta["gap"]) / 2)  # the gutter's middle
    else:
        raise Uncuttable(f"no-columns: the page records no layout of {columns or 'its'} "
                         "columns")
    return Page(sample, tuple(blocks), notes, right, column)


def _spans(box: Box, spill: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    h, w = shape
    return (slice(max(0, math.floor(box.y0) - spill), min(h, math.ceil(box.y1) + spill)),
            slice(max(0, math.floor(box.x0) - spill), min(w, math.ceil(box.x1) + spill)))


def cut_at(page: Page, k: int) -> Cut:
    """The cut after block k-1 (k blocks kept); raises Uncuttable with the reason it is
    not a true one."""
    if not 1 <= k <= len(page.blocks):
        raise Uncuttable(f"no-such-cut: {k} of {len(page.blocks)} blocks")
    kept, dropped = page.blocks[:k], page.blocks[k:]
    if any(b.refers for b in kept):
        raise Uncuttable("note-reference: a kept block refers to a footnote")
    right = page.right
    if any(b.box.x1 > right or b.box.x1 - b.box.x0 > page.column + 1 for b in kept):
        raise Uncuttable("second-column: a kept block is not in the first column")
    # the dropped blocks down the kept column; one broken across columns has a box as wide
    # as both that says nothing of where its parts are: the ink checks below stand for it
    below = [b.box for b in dropped if b.box.x0 < right
             and b.box.x1 - b.box.x0 <= page.column + 1] + list(page.notes)
    width, height = page.sample.image.size
    kept_bottom = max(b.box.y1 for b in kept)
    if any(b.y0 < kept_bottom - SPILL for b in below):
        raise Uncuttable("overlap: a dropped block starts above the kept ones' bottom")
    next_top = min([b.y0 for b in below] + [float(height)])
    # DOM boxes of neighbouring blocks may touch or overlap by a pixel: the white line is
    # looked for a little beyond both, and the checks below prove where it falls
    low = max(0, math.floor(min(kept_bottom, next_top)) - SPILL)
    high = min(height, math.ceil(max(kept_bottom, next_top)) + SPILL)
    ink = page.ink(high)  # every check below looks above `high` only
    rows = low + np.flatnonzero(~ink[low:high, :right].any(axis=1))
    if rows.size == 0:
        raise Uncuttable("straddle: no white line between the kept blocks and the next")
    # the white line nearest the middle of the gap, as far from both blocks as it can be
    # (just below the kept ones where nothing follows in their column)
    middle = (kept_bottom + (next_top if next_top < height else kept_bottom + 2 * SPILL)) / 2
    bottom = int(rows[np.argmin(np.abs(rows - middle))])
    if right < width and ink[:bottom, right].any():
        raise Uncuttable("straddle: ink crosses the column edge")
    for block in kept:
        ys, xs = _spans(block.box, 0, ink.shape)
        if not ink[ys, xs].any():
            raise Uncuttable("empty-block: a kept block shows no ink")
        if ink[max(bottom, ys.start):ys.stop, xs].any():
            raise Uncuttable("kept-ink-cut: a kept block has ink below the cut")
    area = ink[:bottom, :right].copy()
    for box in below:
        if area[_spans(box, 0, area.shape)].any():
            raise Uncuttable("dropped-ink-kept: a dropped block has ink above the cut")
    for block in kept:
        area[_spans(block.box, SPILL, area.shape)] = False
    if area.any():
        ys, xs = np.nonzero(area)
        raise Uncuttable(f"stray-ink: ink outside the kept blocks at ({xs[0]}, {ys[0]})")
    target = page.sample.target[:kept[-1].end]
    return Cut(k, bottom, right, target, count_tokens(target))


def first_cut(page: Page, counts: list[int], max_tokens: int) -> tuple[Cut | None, list[str]]:
    """The first of `counts` (blocks to keep, in the caller's order) whose cut is true
    and whose target is under `max_tokens`; and why those before it were not."""
    why = []
    for k in counts:
        try:
            cut = cut_at(page, k)
        except Uncuttable as exc:
            why.append(str(exc).split(":")[0])
            continue
        if cut.tokens < max_tokens:
            return cut, why
        why.append("tokens")
    return None, why


def apply(page: Page, cut: Cut) -> Sample:
    """The shortened sample: the kept area as stored, white elsewhere; boxes of the kept
    blocks only."""
    image = page.sample.image.copy()
    width, height = image.size
    fill = WHITE if image.mode == "L" else (WHITE,) * len(image.getbands())
    image.paste(fill, (0, cut.bottom, width, height))
    if cut.right < width:
        image.paste(fill, (cut.right, 0, width, cut.bottom))
    boxes = [b.box for b in page.blocks[:cut.blocks]]
    meta = {**page.sample.meta, "blocks_kept": cut.blocks, "cut": [cut.right, cut.bottom]}
    return replace(page.sample, image=image, target=cut.target, boxes=boxes, meta=meta)
