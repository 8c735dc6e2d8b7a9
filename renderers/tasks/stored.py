"""Base samples read back from a dataset rendered before (`--from DIR`, a recipe's
`base: {from: DIR}`), so that a stage-3 task composes from pages already rendered instead
of rendering them again.

The base's rows are taken in its shards' order (shards by name, rows in file order): row
`i` of the dataset is base index `i`. What the rows mean is the base renderer's business;
this module only turns a stored row back into the `Sample` it was made from. It does not
know Ray or the job: it reads files, through the dataset's store.
"""

from __future__ import annotations

import io
import json
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.pipelines.format.manifest import Layout, dataset_hash, load_manifest
from ocr2synth.renderers.base import Box, Item, Reject, Sample
from ocr2synth.renderers.imaging import decode_png_top
from PIL import Image

# Row groups kept decoded per worker: consecutive chunks of a task read neighbouring rows.
_CACHED_GROUPS = 2
_COLUMNS = ["id", "image", "images", "prompt", "target", "task", "renderer", "width",
            "height", "boxes", "meta", "seed"]


class BaseChanged(ValueError):
    """The base dataset is not the one the recipe was checked against."""


@dataclass(frozen=True)
class StoredRef:
    """A task item's base: row `index` of the base dataset."""

    index: int

    def __str__(self) -> str:  # the reject excerpt
        return f"row {self.index}"


class StoredBases:
    """A finished dataset, indexed by row: which shard and row group holds row i."""

    def __init__(self, location: str, expected_hash: str = "") -> None:
        self.layout = Layout(location)
        manifest = load_manifest(self.layout)
        self.hash = dataset_hash(manifest)
        if expected_hash and expected_hash != self.hash:
            raise BaseChanged(f"the base dataset {location} changed since the recipe was "
                              f"checked (hash {self.hash}, recipe says {expected_hash})")
        shards = manifest.get("shards", {})
        self.renderers = sorted({r["renderer"] for r in shards.values()})
        # the manifest's row counts index the shards; a shard's row groups are read from
        # its footer the first time one of its rows is asked for
        self._shards = [name for name in sorted(shards) if shards[name]["rows"]]
        self._shard_starts: list[int] = []
        rows = 0
        for name in self._shards:
            self._shard_starts.append(rows)
            rows += shards[name]["rows"]
        self.size = rows
        self._files: dict[str, tuple[pq.ParquetFile, list[int]]] = {}
        self._cache: OrderedDict[tuple[str, int], list[dict[str, Any]]] = OrderedDict()

    def _file(self, name: str) -> tuple[pq.ParquetFile, list[int]]:
        if name not in self._files:
            store = self.layout.store
            parquet = pq.ParquetFile(store.open_input(self.layout.shard_rel(name)))
            starts, rows = [], 0
            for group in range(parquet.metadata.num_row_groups):
                starts.append(rows)
                rows += parquet.metadata.row_group(group).num_rows
            self._files[name] = parquet, starts
        return self._files[name]

    def row(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.size:
            raise IndexError(f"base row {index} of {self.size}")
        where = bisect_right(self._shard_starts, index) - 1
        name, offset = self._shards[where], index - self._shard_starts[where]
        parquet, starts = self._file(name)
        group = bisect_right(starts, offset) - 1
        key = (name, group)
        if key not in self._cache:
            self._cache[key] = parquet.read_row_group(group, columns=_COLUMNS).to_pylist()
            while len(self._cache) > _CACHED_GROUPS:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key][offset - starts[group]]


def stored_sample(row: dict[str, Any], dataset: str, pixels: bool = True) -> Sample | Reject:
    """The Sample a stored row was made from (its image decoded as it was encoded);
    `dataset` is the base's content hash, kept with the row's id in its meta. Without
    `pixels` its image is left empty (0 x 0), for a caller that decodes only the part it
    needs (`StoredPage`)."""
    if row["images"]:
        return Reject("not-a-page", f"{row['id']} is a {row['task']} sample of "
                                         f"{len(row['images'])} images, not one page")
    if not pixels:
        picture = Image.new("L", (0, 0))
    else:
        with Image.open(io.BytesIO(row["image"]["bytes"])) as image:
            image.load()
            picture = image if image.mode in ("L", "RGB") else image.convert("RGB")
    meta = json.loads(row["meta"]) if row["meta"] else {}
    boxes = [Box(b["x0"], b["y0"], b["x1"], b["y1"], b["text"]) for b in row["boxes"]]
    meta["stored"] = {"id": row["id"], "seed": row["seed"], "renderer": row["renderer"],
                      "dataset": dataset}
    return Sample(image=picture, target=row["target"], prompt=row["prompt"],
                  task=row["task"], boxes=boxes, meta=meta)


@dataclass(frozen=True)
class StoredPage:
    """A stored page whose pixels are decoded on demand: its sample with an empty image,
    the image's size, and `top(rows)`, the image's first rows."""

    sample: Sample
    size: tuple[int, int]
    top: Callable[[int], Image.Image]


class StoredBaseRenderer:
    """Stands where a task's warm base renderer stands (`bases.BaseRenderer`): it reads the
    base samples instead of rendering them."""

    def __init__(self, location: str, expected_hash: str) -> None:
        self.bases = StoredBases(location, expected_hash)
        self.name = ",".join(self.bases.renderers) or "empty"

    def _rows(self, items: list[Item]) -> Iterator[dict[str, Any] | Reject]:
        """Each item's stored row, or the reject of an item that names none."""
        for item in items:
            ref = item.content
            yield (self.bases.row(ref.index) if isinstance(ref, StoredRef)
                   else Reject("bad-content", "a stored base item names no row"))

    def render(self, items: list[Item]) -> list[Sample | Reject]:
        return [row if isinstance(row, Reject) else stored_sample(row, self.bases.hash)
                for row in self._rows(items)]

    def render_lazy(self, items: list[Item]) -> list[StoredPage | Reject]:
        """As `render`, the images left undecoded: each page decodes the rows asked of it."""
        out: list[StoredPage | Reject] = []
        for row in self._rows(items):
            sample = row if isinstance(row, Reject) else stored_sample(
                row, self.bases.hash, pixels=False)
            out.append(sample if isinstance(sample, Reject) else StoredPage(
                sample, (int(row["width"]), int(row["height"])),
                partial(decode_png_top, row["image"]["bytes"])))
        return out

    def close(self) -> None:
        self.bases = None  # type: ignore[assignment]
