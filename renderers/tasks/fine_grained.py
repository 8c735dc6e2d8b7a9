"""`fine-grained`: region-level OCR, GOT's stage-3 interactive prompts.

From a base page with line boxes, one region (a line, a few consecutive lines of one
paragraph, or a whole paragraph) is picked and asked for either by its box on GOT's 0-1000
scale (`[x1, y1, x2, y2] OCR: `, task `box`) or by a frame of a colour drawn around it
(`[red] OCR: `, task `color`). The target is the region's text, lines joined by newlines.
"""

from __future__ import annotations

import random
from typing import Any

from ocr2synth.renderers.base import PROMPT_OCR, Box, Item, Reject, Sample
from ocr2synth.renderers.tasks.bases import Bases, TaskRenderer, base_meta
from ocr2synth.renderers.tasks.regions import Region, make_region, paragraph_runs, split_boxes
from PIL import Image, ImageDraw

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255),
}
TRIES = 12  # random regions tried per page before it is rejected


def box_prompt(norm: tuple[int, int, int, int]) -> str:
    """`[x1, y1, x2, y2] OCR: `: the list's repr, as GOT and GotOcr2Processor write it."""
    return f"{list(norm)} {PROMPT_OCR}"


def color_prompt(color: str) -> str:
    return f"[{color}] {PROMPT_OCR}"


def draw_frame(image: Image.Image, box: tuple[float, float, float, float], gap: int,
               width: int, rgb: tuple[int, int, int]) -> tuple[Image.Image, list[int]]:
    """The image in RGB with a rectangle of `width` pixels drawn `gap` pixels outside
    `box`; returns the frame's outer rectangle too."""
    out = image.convert("RGB")
    x0, y0, x1, y1 = box
    outer = [int(x0) - gap - width, int(y0) - gap - width,
             int(x1 + 0.999) + gap + width - 1, int(y1 + 0.999) + gap + width - 1]
    ImageDraw.Draw(out).rectangle(outer, outline=rgb, width=width)
    return out, outer


class FineGrainedRenderer(TaskRenderer):
    """Params (all optional): `base` (renderer with line boxes, default latex-page),
    `base_params`, `color_share` (share of colour prompts, default 0.5; a page with no
    room for a frame asks by box), `colors`."""

    name = "fine-grained"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.color_share = float(params.get("color_share", 0.5))
        self.colors = list(params.get("colors", list(COLORS)))
        unknown = [c for c in self.colors if c not in COLORS]
        if unknown or not self.colors:
            raise ValueError(f"fine-grained: colors must be among {list(COLORS)}: {unknown}")

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        bases = [it.content.items[0] for it in items if isinstance(it.content, Bases)]
        if len(bases) != len(items):
            return [Reject("bad-content", "a task item names no base item")] * len(items)
        rendered = self.base.render(bases)
        return [self.compose(item, base, out)
                for item, base, out in zip(items, bases, rendered, strict=True)]

    def compose(self, item: Item, base: Item, out: Sample | Reject) -> Sample | Reject:
        if isinstance(out, Reject):
            return Reject(f"base-{out.reason}", out.detail)
        rng = self.style_rng(item)
        lines = split_boxes(out)
        runs = paragraph_runs(lines, out.target)
        if not runs:
            return Reject("no-region", f"no paragraph of {len(lines)} lines matches the target")
        heights = sorted(b.y1 - b.y0 for b in lines)
        pad = max(2.0, 0.15 * heights[len(heights) // 2])
        color = rng.choice(self.colors) if rng.random() < self.color_share else None
        gap, width = (rng.randint(2, 4), rng.randint(2, 4)) if color else (0, 0)
        region = self.find_region(rng, lines, runs, out.image.size, pad,
                                  outer=gap + width + 1 if color else 0.0)
        if region is None and color:
            # a frame needs room between lines that dense pages lack: ask by box instead
            color, gap, width = None, 0, 0
            region = self.find_region(rng, lines, runs, out.image.size, pad, outer=0.0)
        if region is None:
            return Reject("no-region", f"every region tried shows other text ({len(runs)} "
                                       "paragraphs)")
        return self.sample(item, base, out, region, color, gap, width)

    def find_region(self, rng: random.Random, lines: list[Box], runs: list[list[int]],
                    size: tuple[int, int], pad: float, outer: float) -> Region | None:
        for _ in range(TRIES):
            region = make_region(lines, self.pick(rng, runs), size, pad, outer=outer)
            if region is not None:
                return region
        return None

    @staticmethod
    def pick(rng: random.Random, runs: list[list[int]]) -> list[int]:
        """A line (half the time), a stretch of lines, or a whole paragraph; paragraphs
        weighted by their lines, so body text outweighs one-line headings."""
        run = rng.choices(runs, weights=[len(r) for r in runs])[0]
        roll = rng.random()
        if roll < 0.5 or len(run) == 1:
            return [rng.choice(run)]
        if roll < 0.75:
            n = rng.randint(2, len(run))
            start = rng.randint(0, len(run) - n)
            return run[start:start + n]
        return run

    def sample(self, item: Item, base: Item, out: Sample, region: Region, color: str | None,
               gap: int, width: int) -> Sample:
        meta: dict[str, Any] = {
            "base": self.base.name, "base_sample": base_meta(base, out),
            "region_px": [round(v, 2) for v in region.box], "region_norm": list(region.norm),
            "lines": len(region.lines),
        }
        x0, y0, x1, y1 = region.box
        boxes = [Box(x0, y0, x1, y1, region.text)]
        if color is None:
            return Sample(image=out.image, target=region.text, prompt=box_prompt(region.norm),
                          task="box", boxes=boxes, meta=meta)
        image, outer = draw_frame(out.image, region.box, gap, width, COLORS[color])
        meta.update(color=color, frame=outer, frame_width=width)
        return Sample(image=image, target=region.text, prompt=color_prompt(color),
                      task="color", boxes=boxes, meta=meta)
