"""Base items for a task: which samples of another renderer it is built from, and
rendering them in-process with that renderer, or reading them from a dataset rendered
before (`from`, renderers/tasks/stored.py)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocr2synth.renderers.base import Item, Reject, Renderer, Sample, Source, render_isolated
from ocr2synth.renderers.tasks.stored import StoredBaseRenderer, StoredBases, StoredRef

TASK_NAMES = ("fine-grained", "multi-crop", "multi-page")
DEFAULT_BASE = "latex-page"
# Base k of a task sample's i-th base item is k * BASE_STRIDE + i: distinct across the
# samples of an entry, so finite corpora are walked in order rather than reused.
BASE_STRIDE = 16


def base_seed(seed: int, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}:base:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def base_name(params: dict[str, Any]) -> str:
    name = str(params.get("base", DEFAULT_BASE))
    if name in TASK_NAMES:
        raise ValueError(f"a task's base must be a renderer, not the task {name!r}")
    return name


@dataclass(frozen=True)
class Bases:
    """A task item's content: the base items, in the order the task uses them."""

    renderer: str
    items: tuple[Item, ...]

    def __str__(self) -> str:  # the reject excerpt
        return f"{self.renderer} " + " ".join(f"{it.k}:{it.seed}" for it in self.items)


class TaskSource(Source):
    """Items of a task: `count(rng)` base items of the base renderer's own source.

    Subclasses choose how many (and may shorten them, see `shape`); the base items are
    pure functions of (seed, k), so the task stays deterministic.
    """

    def __init__(self, path: str | None, params: dict[str, Any]) -> None:
        from ocr2synth.renderers.registry import get_spec

        self.params = params
        self.stored: StoredBases | None = None
        if params.get("from"):
            self.stored = StoredBases(str(params["from"]), str(params.get("from_hash", "")))
            if not self.stored.size:
                raise ValueError(f"the base dataset {params['from']} has no rows")
            self.base = ",".join(self.stored.renderers)
            return
        self.base = base_name(params)
        self.base_source = get_spec(self.base).make_source(path, base_params(params))

    def count(self, rng: random.Random) -> int:
        return 1

    def most(self) -> int:
        """The most base items `count` gives: a stored base's rows are used this densely."""
        return 1

    def shape(self, item: Item, rng: random.Random) -> Item:
        return item

    def base_item(self, k: int, seed_of: Callable[[int], int]) -> Item:
        """Base item k, asked as the pipeline asks a source: one whose items belong together
        (pages of one document) gives consecutive pages for consecutive base items."""
        return self.base_source.item_at(k, seed_of)

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        n = self.count(rng)
        if self.stored is not None:
            # rows k * most .. in base order, wrapping round a base smaller than the task
            first = k * self.most()
            refs = tuple(Item(k=(first + i) % self.stored.size, seed=base_seed(seed, i),
                              content=StoredRef((first + i) % self.stored.size))
                         for i in range(n))
            return Item(k=k, seed=seed, content=Bases(self.base, refs),
                        meta={"base": self.base, "from": self.stored.hash})
        first = k * BASE_STRIDE

        def seed_of(j: int) -> int:  # the seeds of this sample's own base entry
            return base_seed(seed, j - first)

        items = tuple(self.shape(self.base_item(first + i, seed_of), rng) for i in range(n))
        return Item(k=k, seed=seed, content=Bases(self.base, items),
                    meta={"base": self.base})


def base_params(params: dict[str, Any]) -> dict[str, Any]:
    return dict(params.get("base_params") or {})


class BaseRenderer:
    """The base renderer, warm for the task renderer's life; one batch per call."""

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        from ocr2synth.renderers.registry import get_spec

        self.name = base_name(params)
        self.renderer: Renderer = get_spec(self.name).make_renderer(base_params(params),
                                                                    timeout_s)

    def render(self, items: list[Item]) -> list[Sample | Reject]:
        """One outcome per item, isolated as the worker isolates a chunk: the base engine's
        failure costs only the items it fails on (a task then rejects `base-render-error`)."""
        return render_isolated(self.renderer, items)

    def close(self) -> None:
        self.renderer.close()


class TaskRenderer(Renderer):
    """A stage-3 task: composes GOT samples from its warm base renderer's samples, or from
    a stored dataset's (`from`)."""

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.base: BaseRenderer | StoredBaseRenderer
        if params.get("from"):
            self.base = StoredBaseRenderer(str(params["from"]), str(params.get("from_hash", "")))
        else:
            self.base = BaseRenderer(params, timeout_s)

    def close(self) -> None:
        self.base.close()


def base_meta(item: Item, sample: Sample) -> dict[str, Any]:
    """What a task keeps of a base sample: enough to render it again, or for a stored
    base its id (and seed) in the base dataset."""
    meta = {"k": item.k, "seed": item.seed, "prompt": sample.prompt, "task": sample.task,
            "size": list(sample.image.size)}
    stored = sample.meta.get("stored")
    if isinstance(stored, dict) and isinstance(item.content, StoredRef):
        meta.update(id=stored["id"], seed=stored["seed"], row=item.content.index,
                    dataset=stored["dataset"])
    return meta
