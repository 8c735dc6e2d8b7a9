"""The layout target: a page as a JSON list of blocks in reading order, each
`{"category", "bbox": [x1, y1, x2, y2], "text"}` with the box on GOT's 0-1000 scale
(ARCHITECTURE.md, "Contracts"), and the pixel checks every page renderer runs on it.

Categories carry DocLayNet's names where DocLayNet has one, plus the OCR-2.0 objects.
A renderer hands this module blocks in image pixels, from its own engine (PDF named
destinations, the DOM); `layout_sample_parts` tightens each box to the ink inside it and
rejects the page unless every box holds ink and no box holds ink that is also inside
another block's box (two blocks whose boxes share ink cannot both be right). This module
knows nothing of engines or of how a block's text is written: the renderer passes it in
the block's own format (markdown prose, LaTeX math and tables, an object's own target).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from PIL import Image

# DocLayNet's eleven classes (lower case, as the issue names them), then OCR-2.0 objects.
CATEGORIES = ("title", "section-header", "text", "list-item", "caption", "footnote",
              "page-header", "page-footer", "formula", "table", "picture",
              "chart", "molecule", "music", "geometry")
# Darker than this is ink: anti-aliased edges count, paper noise does not.
INK_BELOW = 200
SCALE = 1000


@dataclass
class LayoutBlock:
    """One block in image pixels; `text` in the block's own format."""

    category: str
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def _ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L")) < INK_BELOW


def tighten(block: LayoutBlock, ink: np.ndarray) -> LayoutBlock | None:
    """The block's box shrunk to the ink inside it (whole pixels); None when it holds none."""
    h, w = ink.shape
    x0, y0 = max(0, int(block.x0)), max(0, int(block.y0))
    x1, y1 = min(w, int(np.ceil(block.x1))), min(h, int(np.ceil(block.y1)))
    if x1 <= x0 or y1 <= y0:
        return None
    region = ink[y0:y1, x0:x1]
    rows = np.flatnonzero(region.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(region.any(axis=0))
    return LayoutBlock(block.category, float(x0 + cols[0]), float(y0 + rows[0]),
                       float(x0 + cols[-1] + 1), float(y0 + rows[-1] + 1), block.text)


def scaled(block: LayoutBlock, width: int, height: int) -> list[int]:
    """The box on the 0-1000 scale, to the nearest unit (a unit is about a pixel of a
    1000-pixel page: rounding outwards would let adjacent lines' boxes touch)."""
    return [round(block.x0 * SCALE / width), round(block.y0 * SCALE / height),
            round(block.x1 * SCALE / width), round(block.y1 * SCALE / height)]


def unscaled(box: list[int], width: int, height: int) -> tuple[int, int, int, int]:
    """A 0-1000 box back in whole pixels, as a reader of the target would draw it."""
    return (int(np.floor(box[0] * width / SCALE)), int(np.floor(box[1] * height / SCALE)),
            int(np.ceil(box[2] * width / SCALE)), int(np.ceil(box[3] * height / SCALE)))


def shared_ink(boxes: list[tuple[int, int, int, int]], ink: np.ndarray) -> tuple[int, int] | None:
    """The first pair of boxes (pixels) whose intersection holds ink, or None."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][1])
    for pos, a in enumerate(order):
        ax0, ay0, ax1, ay1 = boxes[a]
        for b in order[pos + 1:]:
            bx0, by0, bx1, by1 = boxes[b]
            if by0 >= ay1:
                break
            x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
            if x1 > x0 and y1 > y0 and ink[y0:y1, x0:x1].any():
                return a, b
    return None


def layout_target(blocks: list[LayoutBlock], image: Image.Image) -> tuple[str, str | None]:
    """(the JSON target, None) for blocks in reading order, or ("", why) when a box holds
    no ink, holds ink inside another block's box, or a category is unknown."""
    ink = _ink(image)
    width, height = image.size
    rows = []
    boxes = []
    for n, block in enumerate(blocks):
        if block.category not in CATEGORIES:
            return "", f"block {n}: unknown category {block.category!r}"
        tight = tighten(block, ink)
        if tight is None:
            return "", f"block {n} ({block.category}) holds no ink"
        # checked in pixels, where the ink is; the target's units are a rounding of these
        boxes.append((int(tight.x0), int(tight.y0), int(tight.x1), int(tight.y1)))
        rows.append({"category": block.category, "bbox": scaled(tight, width, height),
                     "text": block.text})
    clash = shared_ink(boxes, ink)
    if clash is not None:
        a, b = clash
        return "", (f"blocks {a} ({blocks[a].category}) and {b} ({blocks[b].category}) "
                    "share ink")
    return json.dumps(rows, ensure_ascii=False), None


def parse_layout(target: str) -> list[dict]:
    return json.loads(target)

