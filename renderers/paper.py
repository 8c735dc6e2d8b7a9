"""Paper-like backgrounds for engraved content (scores, molecules): an uneven tint, a
fine grain, and ink laid on top through the drawing's coverage mask."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

PAPERS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "bright": (250, 250, 247),
    "cream": (248, 243, 228),
    "ivory": (244, 240, 226),
    "aged": (236, 226, 200),
    "grey": (235, 235, 232),
    "blueish": (240, 243, 248),
}
INKS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "soft-black": (30, 30, 32),
    "sepia": (52, 38, 26),
    "blue-black": (20, 24, 48),
}


def paper(size: tuple[int, int], rng: random.Random, kind: str) -> Image.Image:
    """An RGB image of the named paper with seeded unevenness and grain."""
    width, height = size
    if kind == "white":
        return Image.new("RGB", size, PAPERS[kind])
    gen = np.random.default_rng(rng.getrandbits(64))
    # low-frequency blotches: a coarse random grid, smoothly upsampled
    coarse = gen.normal(0.0, rng.uniform(2.0, 6.0), (6, 8)).astype(np.float32)
    blotch = np.asarray(Image.fromarray(coarse, mode="F").resize((width, height),
                                                                Image.Resampling.BICUBIC))
    grain = gen.standard_normal((height, width), dtype=np.float32) * rng.uniform(0.8, 3.0)
    shade = (blotch + grain)[..., None]
    base = np.asarray(PAPERS[kind], dtype=np.float32)
    return Image.fromarray(np.clip(base + shade + 0.5, 0, 255).astype(np.uint8), mode="RGB")


def ink_on_paper(coverage: Image.Image, background: Image.Image,
                 ink: tuple[int, int, int]) -> Image.Image:
    """Lay ink of the given colour where `coverage` (an L mask, 255 = full ink) says."""
    return Image.composite(Image.new("RGB", background.size, ink), background, coverage)
