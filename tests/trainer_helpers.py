"""A small GOT dataset written with the project's own ShardWriter: no renderer, no Ray."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from ocr2synth.pipelines.format.shards import ShardWriter, shard_name
from PIL import Image, ImageDraw

WORDS = ["alpha", "beta", "gamma", "delta", "x^2", r"\frac{a}{b}", "sum", "page", "red", "box"]

# (task, prompt) in GOT's own strings, as renderers write them.
TASKS = [
    ("ocr", "OCR: "),
    ("format", "OCR with format: "),
    ("box", "[100, 200, 600, 400] OCR: "),
    ("color", "[red] OCR: "),
    ("multi-crop", "OCR with format upon the patch reference: "),
    ("multi-page", "OCR with format across multi pages: "),
]


def png(text: str, size: tuple[int, int] = (96, 64)) -> bytes:
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).text((4, 4), text, fill=0)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def row(i: int, task: str, prompt: str, target: str | None = None,
        image: bytes | None = None) -> dict:
    rng = np.random.default_rng(i)
    target = target or " ".join(rng.choice(WORDS, size=3))
    size = (300, 100) if task == "multi-crop" else (96, 64)
    pages = [{"bytes": png(f"{target} p{k}"), "path": None} for k in range(2)] \
        if task == "multi-page" else []
    return {"id": f"s{i:05d}", "image": {"bytes": image or png(target, size), "path": None},
            "images": pages, "prompt": prompt, "target": target, "task": task,
            "renderer": "fixture", "width": size[0], "height": size[1], "boxes": [],
            "meta": json.dumps({}), "seed": i}


def write_dataset(root: Path, rows: list[dict], shard_size: int = 8) -> Path:
    for k in range(0, len(rows), shard_size):
        with ShardWriter(root / "shards" / f"{shard_name(k // shard_size)}.parquet") as writer:
            for r in rows[k:k + shard_size]:
                writer.write(r)
    return root


def mixed_rows(n: int) -> list[dict]:
    """Half plain OCR (stage 1's data), the rest spread over every other task."""
    out = []
    for i in range(n):
        task, prompt = TASKS[0] if i % 2 == 0 else TASKS[1 + (i // 2) % (len(TASKS) - 1)]
        out.append(row(i, task, prompt))
    return out
