"""The shard plan: which samples go into which `part-NNNNNN` file, and each sample's seed.

Everything here is a pure function of the recipe, so a re-run (or another worker count)
plans exactly the same ids, seeds and shard boundaries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ocr2synth.pipelines.core.degrade import DegradeSettings
from ocr2synth.pipelines.core.recipe import Entry, Recipe
from ocr2synth.pipelines.format.shards import shard_name


def sample_seed(recipe_seed: int, entry_key: str, k: int) -> int:
    """Sample k's own seed: independent of shard size, worker count and order."""
    digest = hashlib.blake2b(f"{recipe_seed}:{entry_key}:{k}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits int64


def sample_id(entry_key: str, k: int) -> str:
    return f"{entry_key}-{k:08d}"


@dataclass(frozen=True)
class ShardSpec:
    index: int
    entry_index: int
    renderer: str
    entry_key: str
    params: dict[str, Any]
    source: str | None
    start: int  # first k, inclusive
    stop: int  # last k, exclusive
    degrade: DegradeSettings | None = None

    @property
    def name(self) -> str:
        return shard_name(self.index)

    @property
    def count(self) -> int:
        return self.stop - self.start

    def ids(self) -> list[str]:
        return [sample_id(self.entry_key, k) for k in range(self.start, self.stop)]


@dataclass(frozen=True)
class ChunkSpec:
    """A slice of a shard handed to one worker: one `render_batch` worth of samples."""

    shard: ShardSpec
    start: int
    stop: int
    recipe_seed: int


def plan_shards(recipe: Recipe) -> list[ShardSpec]:
    shards: list[ShardSpec] = []
    for entry_index, entry in enumerate(recipe.entries):
        shards.extend(_entry_shards(recipe, entry_index, entry, len(shards)))
    return shards


def _entry_shards(recipe: Recipe, entry_index: int, entry: Entry, first: int) -> list[ShardSpec]:
    out = []
    for offset, start in enumerate(range(0, entry.count, recipe.shard_size)):
        stop = min(entry.count, start + recipe.shard_size)
        out.append(
            ShardSpec(first + offset, entry_index, entry.renderer, entry.key, entry.params,
                      entry.source, start, stop, entry.degrade)
        )
    return out


def plan_chunks(shard: ShardSpec, recipe_seed: int, batch_size: int) -> list[ChunkSpec]:
    return [
        ChunkSpec(shard, start, min(shard.stop, start + batch_size), recipe_seed)
        for start in range(shard.start, shard.stop, batch_size)
    ]
