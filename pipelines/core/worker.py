"""Renders chunks into shard rows. Knows renderers and rows, not Ray: the runner wraps it
in an actor, and the benchmark calls it directly in one process."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from ocr2synth.pipelines.core.degrade import degrade
from ocr2synth.pipelines.core.plan import ChunkSpec, sample_id, sample_seed
from ocr2synth.pipelines.core.recipe import ImageSettings
from ocr2synth.pipelines.format.schema import make_row
from ocr2synth.renderers.base import Item, Reject, Renderer, Sample, Source, render_isolated
from ocr2synth.renderers.imaging import encode_image, is_blank
from ocr2synth.renderers.registry import get_spec

EXCERPT_CHARS = 200
# Fault injection for the hardening tests: an item whose content holds this marker kills
# its worker process outright, as a segfaulting engine would.
KILL_MARKER_ENV = "OCR2SYNTH_TEST_KILL_MARKER"


class RendererFailed(RuntimeError):
    """A renderer's or source's own Python code raised outside an item (its constructor,
    say): a bug or a bad setting that every sample would hit, so the job stops with it.
    A process that dies is another matter: the runner isolates it as `poison`."""


@dataclass
class ChunkResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    render_s: float = 0.0
    encode_s: float = 0.0
    # Set by the actor instead of raising: a raised error would read as a dead worker.
    error: str = ""


def _excerpt(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return text[:EXCERPT_CHARS]


def validate(sample: Sample) -> Reject | None:
    """Checks every renderer's output must pass, whatever the renderer checked itself."""
    if not isinstance(sample.target, str) or not sample.target.strip():
        return Reject("empty-target", "the target is empty")
    width, height = sample.image.size
    if width < 2 or height < 2:
        return Reject("bad-size", f"image is {width}x{height}")
    if is_blank(sample.image):
        return Reject("blank", "the image holds a single colour")
    for index, image in enumerate(sample.images):
        # one blank tile of a multi-crop grid is normal (a page's margin): size only
        if min(image.size) < 2:
            return Reject("bad-size", f"images[{index}] is {image.size}")
    return None


class RenderWorker:
    """Keeps renderers and sources warm across chunks, keyed by their configuration."""

    def __init__(self, image: ImageSettings, timeout_s: float) -> None:
        self.image = image
        self.timeout_s = timeout_s
        self._renderers: dict[str, Renderer] = {}
        self._sources: dict[str, Source] = {}

    def _key(self, chunk: ChunkSpec) -> str:
        shard = chunk.shard
        return json.dumps([shard.renderer, shard.params, shard.source], sort_keys=True)

    def renderer(self, chunk: ChunkSpec) -> Renderer:
        key = self._key(chunk)
        if key not in self._renderers:
            spec = get_spec(chunk.shard.renderer)
            self._renderers[key] = spec.make_renderer(chunk.shard.params, self.timeout_s)
        return self._renderers[key]

    def source(self, chunk: ChunkSpec) -> Source:
        key = self._key(chunk)
        if key not in self._sources:
            spec = get_spec(chunk.shard.renderer)
            self._sources[key] = spec.make_source(chunk.shard.source, chunk.shard.params)
        return self._sources[key]

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def render_chunk(self, chunk: ChunkSpec) -> ChunkResult:
        shard = chunk.shard
        result = ChunkResult()
        items: list[Item] = []
        try:
            source = self.source(chunk)
            renderer = self.renderer(chunk)
        except Exception as exc:
            raise RendererFailed(f"entry {shard.entry_key!r} ({shard.renderer}): "
                                 f"{type(exc).__name__}: {exc}") from exc
        def seed_of(j: int) -> int:
            return sample_seed(chunk.recipe_seed, shard.entry_key, j)

        for k in range(chunk.start, chunk.stop):
            seed = seed_of(k)
            try:
                items.append(source.item_at(k, seed_of))
            except Exception as exc:  # a broken corpus item must not stop its chunk
                result.rejects.append(self._reject(shard.renderer, shard.entry_key, k, seed,
                                                   Reject("source-error", repr(exc)), None))
        marker = os.environ.get(KILL_MARKER_ENV)
        if marker and any(marker in _excerpt(item.content) for item in items):
            os.kill(os.getpid(), signal.SIGKILL)
        started = time.perf_counter()
        outcomes = render_isolated(renderer, items)
        result.render_s = time.perf_counter() - started
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Sample):
                outcome = validate(outcome) or outcome
            if isinstance(outcome, Sample) and shard.degrade is not None:
                outcome = degrade(outcome, shard.degrade, item.seed)
            if isinstance(outcome, Reject):
                result.rejects.append(self._reject(shard.renderer, shard.entry_key, item.k,
                                                   item.seed, outcome, item.content))
                continue
            encode_started = time.perf_counter()
            result.rows.append(self._row(shard.renderer, shard.entry_key, item, outcome))
            result.encode_s += time.perf_counter() - encode_started
        return result

    def _row(self, renderer: str, entry_key: str, item: Item, sample: Sample) -> dict[str, Any]:
        return make_row(sample_id(entry_key, item.k), renderer, sample, item.seed,
                        self.image.format, self._encode)

    def _encode(self, image: Any) -> bytes:
        return encode_image(image, self.image.format, self.image.compress_level,
                            self.image.mode)

    @staticmethod
    def poison_reject(chunk: ChunkSpec, detail: str) -> dict[str, Any]:
        """The reject of a single-item chunk whose rendering kept killing its worker."""
        shard = chunk.shard
        seed = sample_seed(chunk.recipe_seed, shard.entry_key, chunk.start)
        return RenderWorker._reject(shard.renderer, shard.entry_key, chunk.start, seed,
                                    Reject("poison", detail), None)

    @staticmethod
    def _reject(renderer: str, entry_key: str, k: int, seed: int, reject: Reject,
                content: Any) -> dict[str, Any]:
        return {
            "id": sample_id(entry_key, k),
            "renderer": renderer,
            "reason": reject.reason,
            "detail": reject.detail[:500],
            "excerpt": _excerpt(content) if content is not None else "",
            "seed": seed,
        }
