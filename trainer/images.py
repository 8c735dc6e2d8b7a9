"""Pixels as GOT sees them: 1024x1024 bicubic resize, and GOT's multi-crop tiling.

Loader workers hand over uint8 tensors (a quarter of float32's bytes through the worker
queues); `normalize` turns them into CLIP-normalised floats on the training device.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

# OpenAI CLIP's statistics, as GOT and GotOcr2ImageProcessor use them.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def decode(data: bytes) -> Image.Image:
    """Raises on corrupt bytes; `load` forces the full decode here, not later in a resize."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def to_tensor(image: Image.Image, size: int) -> torch.Tensor:
    """(3, size, size) uint8: the image stretched to a square, as GOT does (no padding)."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


def tile_grid(width: int, height: int, tile: int, max_tiles: int,
              min_tiles: int = 1) -> tuple[int, int]:
    """(columns, rows) whose aspect ratio is closest to the image's.

    Ties go to the larger grid while the image still covers more than half of it, so a big
    page is not squeezed into too few tiles; this is the rule GotOcr2ImageProcessor uses.
    """
    grids = sorted(
        ((c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
         if min_tiles <= c * r <= max_tiles),
        key=lambda g: g[0] * g[1],
    )
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), float("inf")
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def tiles(image: Image.Image, size: int, max_tiles: int) -> list[Image.Image]:
    """GOT's multi-crop input: the grid's tiles in reading order, then a thumbnail."""
    cols, rows = tile_grid(image.width, image.height, size, max_tiles)
    if cols * rows == 1:
        return [image]
    canvas = image.resize((cols * size, rows * size), Image.Resampling.BICUBIC)
    out = [canvas.crop((c * size, r * size, (c + 1) * size, (r + 1) * size))
           for r in range(rows) for c in range(cols)]
    return [*out, image]  # the thumbnail is the whole image, resized later like any page


def normalize(pixels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> CLIP-normalised `dtype`, computed in float32 first."""
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    return ((pixels.float() / 255.0 - mean) / std).to(dtype)
