"""Streaming the shards: seeded shuffle, split by rank and worker, source mixing, resume.

The unit of reading is a Parquet row group (the shard writer makes ~64 MiB ones). Every
epoch of a source permutes its row groups with (seed, epoch) and shuffles the rows of
each group with (seed, epoch, group). Row groups are dealt to consumers (rank x loader
worker) round-robin; with fewer groups than consumers (small data sets), every consumer
reads every group and keeps every n-th row instead.

A consumer's position is a few integers per source (epoch, group, row), so the loader
state saved with a checkpoint is tiny, and resuming skips to it without decoding a
single skipped image. Samples are drawn from the sources with a per-draw seeded choice,
so the mix is the same whatever happened before.

With length grouping (the default), a worker draws a window of `GROUP_BATCHES` batches'
worth of rows, sorts them by token count (measured from text and image headers, no
pixels decoded) and cuts batches of neighbours, emitted in a seeded random order: a line
slice no longer pads to a full page's length. The window is a function of the position
at its start, so a batch's state is that position plus how many of the window's batches
were taken; resuming draws the window again and skips those, decoding nothing.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from ocr2synth.trainer.formatting import Encoded, GotFormatter, SampleError, collate
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

log = logging.getLogger(__name__)

# The row's columns the trainer reads; the row itself is the dataset format's
# (pipelines/format/schema.py; a test holds the two together).
COLUMNS = ["id", "image", "images", "prompt", "target", "task"]
GROUP_BATCHES = 16  # batches per length-grouping window


class DataError(ValueError):
    """The shards cannot feed this stage (missing folder, no rows for a source's tasks)."""


@dataclass(frozen=True)
class Source:
    """A named slice of a dataset (its tasks) and its share of the mix."""

    name: str
    root: str
    tasks: tuple[str, ...] | None  # None: every task
    weight: float


@dataclass(frozen=True)
class Unit:
    path: str
    row_group: int
    rows: int


def shard_files(root: str | Path) -> list[Path]:
    files = sorted((Path(root) / "shards").glob("part-*.parquet"))
    if not files:
        raise DataError(f"no shards under {Path(root) / 'shards'}")
    return files


def _may_hold(stats: Any, tasks: tuple[str, ...] | None) -> bool:
    """Row-group statistics on `task` let us skip groups of other tasks unread."""
    if tasks is None or stats is None or not stats.has_min_max:
        return True
    return any(stats.min <= t <= stats.max for t in tasks)


def list_units(source: Source) -> list[Unit]:
    units = []
    for path in shard_files(source.root):
        meta = pq.ParquetFile(path).metadata
        task_col = meta.schema.names.index("task")
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            if _may_hold(group.column(task_col).statistics, source.tasks):
                units.append(Unit(str(path), g, group.num_rows))
    return units


def read_texts(roots: list[str], limit: int) -> Iterator[str]:
    """Targets and prompts only (no image bytes read), for training a tokenizer."""
    n = 0
    for root in roots:
        for path in shard_files(root):
            table = pq.read_table(path, columns=["prompt", "target"])
            for prompt, target in zip(table["prompt"].to_pylist(), table["target"].to_pylist(),
                                      strict=True):
                yield prompt
                yield target
                n += 1
                if n >= limit:
                    return


@dataclass
class Cursor:
    """Where one consumer stands in one source."""

    epoch: int = 0
    unit: int = 0  # index into this consumer's units for the epoch
    row: int = 0  # rows of that unit already taken


class SourceStream:
    """One consumer's endless, seeded walk over one source."""

    def __init__(self, source: Source, index: int, units: list[Unit], seed: int,
                 consumer: int, consumers: int, cursor: Cursor) -> None:
        self.source, self.index, self.units = source, index, units
        self.seed, self.consumer, self.consumers = seed, consumer, consumers
        self.cursor = cursor

    def _plan(self, epoch: int) -> tuple[list[int], bool]:
        order = np.random.default_rng([self.seed, self.index, epoch]).permutation(len(self.units))
        if len(self.units) >= self.consumers:
            return [int(u) for u in order[self.consumer::self.consumers]], False
        return [int(u) for u in order], True  # too few groups: split rows instead

    def _rows(self, unit_id: int, epoch: int, by_row: bool) -> list[dict[str, Any]]:
        unit = self.units[unit_id]
        table = pq.ParquetFile(unit.path).read_row_group(unit.row_group, columns=COLUMNS)
        rows = table.to_pylist()
        if self.source.tasks is not None:
            rows = [r for r in rows if r["task"] in self.source.tasks]
        perm = np.random.default_rng([self.seed, self.index, epoch, unit_id]).permutation(
            len(rows))
        rows = [rows[i] for i in perm]
        return rows[self.consumer::self.consumers] if by_row else rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        empty_epochs = 0
        while True:
            c = self.cursor
            plan, by_row = self._plan(c.epoch)
            yielded = False
            while c.unit < len(plan):
                rows = self._rows(plan[c.unit], c.epoch, by_row)
                while c.row < len(rows):
                    c.row += 1  # advanced before yielding: the state after this row
                    yielded = True
                    yield rows[c.row - 1]
                c.unit, c.row = c.unit + 1, 0
            c.epoch, c.unit, c.row = c.epoch + 1, 0, 0
            empty_epochs = 0 if yielded else empty_epochs + 1
            if empty_epochs >= 2:
                raise DataError(f"source {self.source.name!r} has no rows for consumer "
                                f"{self.consumer} (tasks {self.source.tasks})")


@dataclass
class WorkerState:
    """One (logical) loader worker's position: a cursor per source, and its draw count."""

    draws: int = 0
    cursors: dict[str, Cursor] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    taken: int = 0  # length grouping: batches already taken from the window starting here

    def to_dict(self) -> dict[str, Any]:
        return {"draws": self.draws, "skipped": dict(self.skipped),
                "cursors": {k: asdict(v) for k, v in self.cursors.items()},
                "taken": self.taken}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkerState:
        return cls(d["draws"], {k: Cursor(**v) for k, v in d["cursors"].items()},
                   dict(d.get("skipped", {})), d.get("taken", 0))


class ShardStream(IterableDataset):
    """Batches of GOT samples for one rank; each loader worker streams its own share.

    `state` maps logical worker ids to `WorkerState`. `rotation` is the number of batches
    the run had taken modulo the worker count: DataLoader always asks worker 0 first, so
    worker w plays logical worker (w + rotation) % workers and batches keep their order.
    """

    def __init__(self, sources: list[Source], formatter: GotFormatter, batch_size: int,
                 seed: int, rank: int = 0, world: int = 1,
                 state: dict[int, dict[str, Any]] | None = None, rotation: int = 0,
                 group_by_length: bool = True) -> None:
        super().__init__()
        self.group_by_length = group_by_length
        if not sources:
            raise DataError("no data sources")
        self.sources, self.formatter, self.batch_size = sources, formatter, batch_size
        self.seed, self.rank, self.world = seed, rank, world
        self.state = state or {}
        self.rotation = rotation
        self.units = {s.name: list_units(s) for s in sources}
        for s in sources:
            if not self.units[s.name]:
                raise DataError(f"source {s.name!r}: no row groups under {s.root} "
                                f"for tasks {s.tasks}")
        self.pad_id = formatter.tokenizer.pad_token_id

    def _draw(self, state: WorkerState, consumer: int) -> int:
        # A fresh generator per draw: the choice depends on (seed, consumer, draw) only.
        rng = random.Random(f"{self.seed}/{consumer}/{state.draws}")
        state.draws += 1
        return rng.choices(range(len(self.sources)), [s.weight for s in self.sources])[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        workers = info.num_workers if info else 1
        worker = ((info.id if info else 0) + self.rotation) % workers
        consumer, consumers = self.rank * workers + worker, self.world * workers
        state = WorkerState.from_dict(self.state[worker]) if worker in self.state \
            else WorkerState()
        streams = []
        for i, s in enumerate(self.sources):
            cursor = state.cursors.setdefault(s.name, Cursor())
            streams.append(iter(SourceStream(s, i, self.units[s.name], self.seed, consumer,
                                             consumers, cursor)))
        skipped = Counter(state.skipped)
        if self.group_by_length:
            yield from self._grouped(streams, state, consumer, worker, skipped)
        while True:
            batch: list[Encoded] = []
            while len(batch) < self.batch_size:
                row = next(streams[self._draw(state, consumer)])
                try:
                    batch.append(self.formatter.encode(row))
                except SampleError as exc:
                    skipped[exc.reason] += 1
                    log.debug("skipped %s", exc)
            state.skipped = dict(skipped)
            out = collate(batch, self.pad_id)
            out["worker"] = worker
            out["state"] = state.to_dict()
            yield out

    def _window(self, streams: list[Iterator[dict[str, Any]]], state: WorkerState,
                consumer: int, skipped: Counter[str]) -> list[list[dict[str, Any]]]:
        """The next window's rows, cut into batches of similar length, in seeded order."""
        start = state.draws
        sized: list[tuple[int, dict[str, Any]]] = []
        while len(sized) < self.batch_size * GROUP_BATCHES:
            row = next(streams[self._draw(state, consumer)])
            try:
                sized.append((self.formatter.length(row), row))
            except SampleError as exc:
                skipped[exc.reason] += 1
        order = sorted(range(len(sized)), key=lambda i: (sized[i][0], i))
        batches = [[sized[i][1] for i in order[k:k + self.batch_size]]
                   for k in range(0, len(order), self.batch_size)]
        # Not shortest first: a run's length profile should not drift within a window.
        random.Random(f"{self.seed}/{consumer}/window/{start}").shuffle(batches)
        return batches

    def _grouped(self, streams: list[Iterator[dict[str, Any]]], state: WorkerState,
                 consumer: int, worker: int, skipped: Counter[str]
                 ) -> Iterator[dict[str, Any]]:
        while True:
            taken, state.taken = state.taken, 0
            saved = Counter(state.skipped)
            start = state.to_dict()
            batches = self._window(streams, state, consumer, skipped)
            if taken:  # a resumed window: its skips up to `taken` are in the saved counts
                skipped = saved
            end = state.to_dict()
            for j in range(taken, len(batches)):
                samples: list[Encoded] = []
                for row in batches[j]:
                    try:
                        samples.append(self.formatter.encode(row))
                    except SampleError as exc:  # a bad image: this batch is one short
                        skipped[exc.reason] += 1
                        log.debug("skipped %s", exc)
                last = j == len(batches) - 1
                state.skipped = dict(skipped)
                if not samples:
                    continue
                out = collate(samples, self.pad_id)
                out["worker"] = worker
                # After the window's last batch the next window starts where this one ended.
                out["state"] = {**(end if last else start), "skipped": dict(skipped),
                                "taken": 0 if last else j + 1}
                yield out


def padding_share(batches: Iterable[dict[str, Any]]) -> float:
    """Padded positions over all positions of the batches (0: no padding)."""
    padded = total = 0
    for batch in batches:
        mask = batch["attention_mask"]
        total += mask.numel()
        padded += mask.numel() - int(mask.sum())
    return padded / max(1, total)


@dataclass
class LoaderState:
    """What a checkpoint stores about the data: per-worker positions and batch count."""

    batches: int = 0
    workers: dict[int, dict[str, Any]] = field(default_factory=dict)

    def update(self, batch: dict[str, Any]) -> None:
        self.batches += 1
        self.workers[int(batch["worker"])] = batch["state"]

    def skipped(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for w in self.workers.values():
            total.update(w.get("skipped", {}))
        return dict(total)

    def to_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "workers": {str(k): v for k, v in self.workers.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoaderState:
        return cls(d["batches"], {int(k): v for k, v in d["workers"].items()})


def make_loader(sources: list[Source], formatter: GotFormatter, batch_size: int, seed: int,
                rank: int, world: int, num_workers: int,
                state: LoaderState | None = None, group_by_length: bool = True) -> DataLoader:
    state = state or LoaderState()
    workers = max(1, num_workers)
    dataset = ShardStream(sources, formatter, batch_size, seed, rank, world,
                          state=state.workers, rotation=state.batches % workers,
                          group_by_length=group_by_length)
    # Batches are built in the workers (batch_size=None): images are decoded there.
    return DataLoader(dataset, batch_size=None, num_workers=num_workers,
                      pin_memory=torch.cuda.is_available(),
                      persistent_workers=False, prefetch_factor=2 if num_workers else None)
