"""The row contract (ARCHITECTURE.md, "Contracts: the row"): one Parquet row per training
sample, its Arrow schema, the Hugging Face `datasets` features derived from it, and how a
rendered sample becomes a row. Shards, verification, the card and the trainer read rows as
this module defines them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
BOX_TYPE = pa.struct(
    [
        ("x0", pa.float32()),
        ("y0", pa.float32()),
        ("x1", pa.float32()),
        ("y1", pa.float32()),
        ("text", pa.string()),
    ]
)

_VALUE = {"_type": "Value"}


def _value(dtype: str) -> dict[str, str]:
    return {**_VALUE, "dtype": dtype}


# Hugging Face `datasets` reads this entry of the schema metadata to decode images itself.
HF_FEATURES: dict[str, Any] = {
    "id": _value("string"),
    "image": {"_type": "Image"},
    "images": {"_type": "List", "feature": {"_type": "Image"}},
    "prompt": _value("string"),
    "target": _value("string"),
    "task": _value("string"),
    "renderer": _value("string"),
    "width": _value("int32"),
    "height": _value("int32"),
    "boxes": {
        "_type": "List",
        "feature": {
            "x0": _value("float32"),
            "y0": _value("float32"),
            "x1": _value("float32"),
            "y1": _value("float32"),
            "text": _value("string"),
        },
    },
    "meta": _value("string"),
    "seed": _value("int64"),
}

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("image", IMAGE_TYPE),
        ("images", pa.list_(IMAGE_TYPE)),
        ("prompt", pa.string()),
        ("target", pa.string()),
        ("task", pa.string()),
        ("renderer", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("boxes", pa.list_(BOX_TYPE)),
        ("meta", pa.string()),
        ("seed", pa.int64()),
    ],
    metadata={"huggingface": json.dumps({"info": {"features": HF_FEATURES}})},
)


def model_images(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The images a model reads for a row, as `{"bytes", "path"}`: its `images` (multi-page
    pages, or multi-crop tiles and thumbnail, in order) when it has them, else its `image`."""
    images = [im for im in row.get("images") or [] if im and im.get("bytes")]
    return images or [row["image"]]


def make_row(sid: str, renderer: str, sample: Any, seed: int, ext: str,
             encode: Callable[[Any], bytes]) -> dict[str, Any]:
    """The row of one rendered sample (a renderers.base.Sample); `encode` turns an image
    into the stored bytes, `ext` names their format in the paths."""
    width, height = sample.image.size
    return {
        "id": sid,
        "image": {"bytes": encode(sample.image), "path": f"{sid}.{ext}"},
        "images": [{"bytes": encode(im), "path": f"{sid}-{i:02d}.{ext}"}
                   for i, im in enumerate(sample.images)],
        "prompt": sample.prompt,
        "target": sample.target,
        "task": sample.task,
        "renderer": renderer,
        "width": width,
        "height": height,
        "boxes": [
            {"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "text": b.text}
            for b in sample.boxes
        ],
        "meta": json.dumps(sample.meta, sort_keys=True, default=str),
        "seed": seed,
    }
