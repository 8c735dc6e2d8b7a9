"""The toy's source (a seeded word) and renderer (the word drawn by Pillow)."""

from __future__ import annotations

import random
from typing import Any

from ocr2synth.renderers.base import PROMPT_OCR, Item, Reject, Renderer, Sample, Source
from PIL import Image, ImageDraw

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon")


class ToyWords(Source):
    def __init__(self, path: str | None, params: dict[str, Any]) -> None:
        self.params = params

    def item(self, seed: int, k: int) -> Item:
        return Item(k, seed, random.Random(seed).choice(WORDS))


class ToyRenderer(Renderer):
    name = "toy"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        if params.get("fail"):  # a renderer bug: the job must stop with it, not reject
            raise RuntimeError("the toy was asked to fail")
        self.size = int(params.get("size", 64))

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        out: list[Sample | Reject] = []
        for item in items:
            image = Image.new("L", (self.size * 4, self.size), "white")
            ImageDraw.Draw(image).text((4, 4), item.content, fill="black")
            out.append(Sample(image, item.content, PROMPT_OCR, "ocr"))
        return out


def naive(items: list[Item]) -> float:
    return float(len(items))
