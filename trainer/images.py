"""Pixels as GOT sees them: decoding and the 1024x1024 bicubic resize (the tiling is the
dataset format's: pipelines.format.tiling).

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


def normalize(pixels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> CLIP-normalised `dtype`, computed in float32 first."""
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    return ((pixels.float() / 255.0 - mean) / std).to(dtype)
