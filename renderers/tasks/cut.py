"""A stored page shortened to its first k blocks, truthfully: the image keeps the ink of
those blocks only (everything else painted white) and the target is the page's own target
through the k-th block's text.

It reads a page as markdown-page stores it: `boxes` start with one box per shown block,
in reading order, whose text is that block's markdown exactly, then one per footnote
(`meta.paragraph_boxes` counts both); `meta.blocks` lists the shown blocks, and
`meta.columns`, `padding`, `gap` and `width` give the text area. A page whose block texts
do not spell its target in order, verbatim, cannot be cut. It does not know how the page
was rendered, nor where its pixels come from: a page's `top(rows)` gives the image's top
rows (a stored page decodes no more of its PNG than the cut looks at), nor the token
limits of the task that asks (it counts tokens with the task's counter).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from ocr2synth.renderers.base import Box, Sample
from ocr2synth.renderers.tasks.tokens import count_tokens
from PIL import Image

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


class NoBlocks(Uncuttable):
    """The page records no blocks to cut after (a table's or a formula's page)."""


@dataclass(frozen=True)
class Block:
    box: Box
    end: int  # where the block's text ends in the page's target
    refers: bool  # it holds a footnote reference


@dataclass(frozen=True)
class Page:
    """A stored page read for cutting: its blocks in reading order, and where its kept
    area may end on the right (the first column's edge, or the page's)."""

    sample: Sample  # its image may be empty: `top` gives the pixels
    size: tuple[int, int]
    top: Callable[[int], Image.Image]  # the image's top rows
    blocks: tuple[Block, ...]
    notes: tuple[Box, ...]
    right: int  # x where the kept area ends: the gap's middle on a two-column page
    column: float  # a column's width (a wider box is a block broken across columns)
    _strip: list[Image.Image] = field(default_factory=list, compare=False, repr=False)

    def pixels(self, rows: int) -> Image.Image:
        """The image's top `rows` rows, read once for the deepest cut asked for first."""
        if not self._strip or self._strip[0].height < rows:
            self._strip[:] = [self.top(rows)]
        strip = self._strip[0]
        return strip if strip.height == rows else strip.crop((0, 0, strip.width, rows))

    def ink(self, rows: int) -> np.ndarray:
        """True where a pixel of the top `rows` rows is not white: a cut looks no lower
        than just past the next block's top, and most pages are cut high."""
        top = self.pixels(rows)
        return np.asarray(top if top.mode == "L" else top.convert("L")) < WHITE


@dataclass(frozen=True)
class Cut:
    """A page's first `blocks` blocks: the kept area is [0, right) x [0, bottom)."""

    blocks: int
    bottom: int
    right: int
    target: str
    tokens: int


def read_page(sample: Sample, size: tuple[int, int] | None = None,
              top: Callable[[int], Image.Image] | None = None) -> Page:
    """The page's blocks, each found verbatim and in order in its target; raises
    Uncuttable otherwise. `size` and `top` stand for the sample's image where it holds
    none yet (by default its own size and its top rows)."""
    meta, target = sample.meta, sample.target
    shown = meta.get("blocks")
    if not isinstance(shown, list) or not shown:
        raise NoBlocks("no-blocks: the page records no blocks")
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
    width, height = size or sample.image.size
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
    if top is None:
        def top(rows: int) -> Image.Image:
            return sample.image.crop((0, 0, width, rows))
    return Page(sample, (width, height), top, tuple(blocks), notes, right, column)


def _spans(box: Box, spill: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    h, w = shape
    return (slice(max(0, math.floor(box.y0) - spill), min(h, math.ceil(box.y1) + spill)),
            slice(max(0, math.floor(box.x0) - spill), min(w, math.ceil(box.x1) + spill)))


@dataclass(frozen=True)
class _Frame:
    """Where a cut after k blocks may fall, from the boxes alone."""

    kept: tuple[Block, ...]
    below: list[Box]  # the dropped blocks down the kept column, and the notes
    kept_bottom: float
    next_top: float
    low: int  # the white line is looked for in rows [low, high)
    high: int


def _frame(page: Page, k: int) -> _Frame:
    if not 1 <= k <= len(page.blocks):
        raise Uncuttable(f"no-such-cut: {k} of {len(page.blocks)} blocks")
    kept, dropped = page.blocks[:k], page.blocks[k:]
    if any(b.refers for b in kept):
        raise Uncuttable("note-reference: a kept block refers to a footnote")
    right = page.right
    if any(b.box.x1 > right or b.box.x1 - b.box.x0 > page.column + 1 for b in kept):
        raise Uncuttable("second-column: a kept block is not in the first column")
    # the dropped blocks down the kept column; one broken across columns has a box as wide
    # as both that says nothing of where its parts are: the ink checks stand for it
    below = [b.box for b in dropped if b.box.x0 < right
             and b.box.x1 - b.box.x0 <= page.column + 1] + list(page.notes)
    height = page.size[1]
    kept_bottom = max(b.box.y1 for b in kept)
    if any(b.y0 < kept_bottom - SPILL for b in below):
        raise Uncuttable("overlap: a dropped block starts above the kept ones' bottom")
    next_top = min([b.y0 for b in below] + [float(height)])
    # DOM boxes of neighbouring blocks may touch or overlap by a pixel: the white line is
    # looked for a little beyond both, and the checks prove where it falls
    low = max(0, math.floor(min(kept_bottom, next_top)) - SPILL)
    high = min(height, math.ceil(max(kept_bottom, next_top)) + SPILL)
    return _Frame(kept, below, kept_bottom, next_top, low, high)


def cut_at(page: Page, k: int) -> Cut:
    """The cut after block k-1 (k blocks kept); raises Uncuttable with the reason it is
    not a true one."""
    frame = _frame(page, k)
    kept, below, kept_bottom, next_top = (frame.kept, frame.below, frame.kept_bottom,
                                          frame.next_top)
    low, high, right = frame.low, frame.high, page.right
    width, height = page.size
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
    highs = []
    for k in counts:
        try:
            highs.append(_frame(page, k).high)
        except Uncuttable:
            continue
    if highs:
        page.pixels(max(highs))  # one read of the rows the deepest cut looks at
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
    kept = page.pixels(cut.bottom).crop((0, 0, cut.right, cut.bottom))
    fill = WHITE if kept.mode == "L" else (WHITE,) * len(kept.getbands())
    image = Image.new(kept.mode, page.size, fill)
    image.paste(kept, (0, 0))
    boxes = [b.box for b in page.blocks[:cut.blocks]]
    meta = {**page.sample.meta, "blocks_kept": cut.blocks, "cut": [cut.right, cut.bottom]}
    return replace(page.sample, image=image, target=cut.target, boxes=boxes, meta=meta)
