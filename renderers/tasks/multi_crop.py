"""`multi-crop`: a large, wide picture (two or three base pages side by side) cut into
GOT's dynamic-resolution tiles: up to 12 tiles of 1024x1024 on the grid whose aspect ratio
is closest to the picture's, plus a thumbnail, in `images`. The target is the pages'
formatted texts, left to right, joined by a blank line.
"""

from __future__ import annotations

import random
from typing import Any

from ocr2synth.pipelines.format.tiling import tile_grid, tiles
from ocr2synth.renderers.base import PROMPT_MULTI_CROP, Box, Item, Reject, Sample
from ocr2synth.renderers.tasks.bases import Bases, TaskRenderer, TaskSource, base_meta
from PIL import Image

TILE = 1024
MAX_TILES = 12
PAGE_JOIN = "\n\n"


class MultiCropSource(TaskSource):
    """`pages: [lo, hi]` base pages per picture (default [2, 3])."""

    def count(self, rng: random.Random) -> int:
        lo, hi = self.params.get("pages", [2, 3])
        return rng.randint(int(lo), int(hi))

    def most(self) -> int:
        return int(self.params.get("pages", [2, 3])[1])


def side_by_side(pages: list[Image.Image], gutter: int) -> tuple[Image.Image, list[int]]:
    """Pages top-aligned on one white canvas, `gutter` pixels apart; their x offsets."""
    mode = "L" if all(p.mode == "L" for p in pages) else "RGB"
    width = sum(p.width for p in pages) + gutter * (len(pages) - 1)
    canvas = Image.new(mode, (width, max(p.height for p in pages)), "white")
    offsets, x = [], 0
    for page in pages:
        canvas.paste(page.convert(mode), (x, 0))
        offsets.append(x)
        x += page.width + gutter
    return canvas, offsets


class MultiCropRenderer(TaskRenderer):
    """Params (all optional): `base`, `base_params`, `pages` (source), `tile` (1024),
    `max_tiles` (12)."""

    name = "multi-crop"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.tile = int(params.get("tile", TILE))
        self.max_tiles = int(params.get("max_tiles", MAX_TILES))

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        if not all(isinstance(it.content, Bases) for it in items):
            return [Reject("bad-content", "a task item names no base items")] * len(items)
        flat = [base for it in items for base in it.content.items]
        rendered = iter(self.base.render(flat))
        return [self.compose(it, [next(rendered) for _ in it.content.items]) for it in items]

    def compose(self, item: Item, outs: list[Sample | Reject]) -> Sample | Reject:
        for out in outs:
            if isinstance(out, Reject):
                return Reject(f"base-{out.reason}", out.detail)
        pages: list[Sample] = outs  # type: ignore[assignment]
        rng = self.style_rng(item)
        image, offsets = side_by_side([p.image for p in pages], rng.randint(16, 64))
        cols, rows = tile_grid(image.width, image.height, self.tile, self.max_tiles)
        if cols * rows == 1:
            return Reject("single-tile", f"a {image.width}x{image.height} picture needs no "
                                         "tiles")
        cut = tiles(image, self.tile, self.max_tiles)
        thumbnail = cut[-1].resize((self.tile, self.tile), Image.Resampling.BICUBIC)
        boxes = [Box(b.x0 + dx, b.y0, b.x1 + dx, b.y1, b.text)
                 for page, dx in zip(pages, offsets, strict=True) for b in page.boxes]
        meta = {"base": self.base.name, "grid": [cols, rows], "tile": self.tile,
                "offsets": offsets,
                "base_samples": [base_meta(b, p) for b, p in
                                 zip(item.content.items, pages, strict=True)]}
        return Sample(image=image, target=PAGE_JOIN.join(p.target for p in pages),
                      prompt=PROMPT_MULTI_CROP, task="multi-crop", boxes=boxes, meta=meta,
                      images=[*cut[:-1], thumbnail])
