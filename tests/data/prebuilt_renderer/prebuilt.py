"""The prebuilt renderer's source (the sample's index) and renderer (one noise image)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ocr2synth.renderers.base import PROMPT_OCR, Item, Reject, Renderer, Sample, Source
from PIL import Image


class Counter(Source):
    def __init__(self, path: str | None, params: dict[str, Any]) -> None:
        self.params = params

    def item(self, seed: int, k: int) -> Item:
        return Item(k, seed, f"sample {k}")


class Prebuilt(Renderer):
    name = "prebuilt"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        side = int((int(params.get("kib", 45)) * 1024) ** 0.5)
        # noise: PNG cannot shrink it, so the stored bytes are the asked-for size
        pixels = np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)
        self.image = Image.fromarray(pixels, "L")

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return [Sample(self.image, item.content, PROMPT_OCR, "ocr") for item in items]


def naive(items: list[Item]) -> float:
    return float(len(items))
