"""What a renderer declares about itself: one `RendererSpec` per renderer name.

Each renderer package holds a `declare.py` whose `SPECS` list the registry collects
(ARCHITECTURE.md, "Adding a renderer"). Everything that used to be a table elsewhere (the
bench's baselines and GOT's stage mixes, the gallery's target kinds, the demo recipe, the
`--help` text) reads these fields, so a new renderer is one package.

Factories are given by reference ("module:attribute") and imported on first use: the
registry, `--help` and the recipe check stay fast and load no engine.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Item, Renderer, Source
from ocr2synth.renderers.params import Param

# The reasons every renderer may give whatever it declares: the worker's own checks.
COMMON_REJECTS = ("empty-target", "bad-size", "blank", "render-error", "source-error",
                  "poison")
TARGET_KINDS = ("math", "markdown", "json", "kern", "smiles", "code", "text", "layout")


# The README's renderer tables, by the number of cells a spec's `readme` row has.
README_TABLES = {2: ("name", "content", "target"),
                 3: ("name", "image(s)", "prompt (`task`)", "target")}


def readme_table(specs: list[RendererSpec], cells: int) -> str:
    """One of the README's renderer tables as Markdown, from the specs' `readme` rows."""
    header = README_TABLES[cells]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [f"| `{s.name}` | " + " | ".join(s.readme) + " |"
              for s in specs if len(s.readme) == cells]
    return "\n".join(lines)


def ref(target: str) -> Callable[..., Any]:
    """A callable that imports `module:attribute` when first called, then calls it."""
    module, _, attribute = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    call.__qualname__ = call.__name__ = target
    return call


@dataclass(frozen=True)
class Floor:
    """An engine-only measurement for the bench, where a goal is near the engine's cost."""

    what: str
    rate: Callable[[list[Item]], float]  # items -> samples/s
    warm: int = 0  # items it is given beyond the timed ones, drawn first untimed


@dataclass(frozen=True)
class RendererSpec:
    name: str
    # (source path or None, entry params) -> Source
    make_source: Callable[[str | None, dict[str, Any]], Source]
    # (entry params, per-sample timeout) -> Renderer
    make_renderer: Callable[[dict[str, Any], float], Renderer]
    # Items per render_batch call: large enough to amortise the engine's start.
    batch_size: int = 64
    description: str = ""
    # What exactly the target holds, for the dataset card.
    target_note: str = ""
    # Every key the renderer and its source read; a recipe may set no other.
    params: tuple[Param, ...] = ()
    # A check across keys, after each key passed its own (a task checks `base_params`
    # against its base's schema); raises ParamError.
    check_params: Callable[[dict[str, Any]], None] | None = None
    # A check of a --source against the params (a corpus's column), before work starts;
    # raises ParamError.
    check_source: Callable[[str, dict[str, Any]], None] | None = None
    # How the gallery draws a target (TARGET_KINDS), or a function of (task, target, meta)
    # where it depends on the sample.
    target_kind: str | Callable[[str, str, dict[str, Any]], str] = "text"
    # The bench: the same items made the way a first script would (items -> samples/s),
    # an engine floor, params it is measured with, and a corpus it prepares (untimed)
    # from items into a folder, returning the --source path.
    naive: Callable[[list[Item]], float] | None = None
    floor: Floor | None = None
    bench_params: dict[str, Any] = field(default_factory=dict)
    bench_corpus: Callable[[list[Item], Path], str] | None = None
    # A stage-3 task's base as production composes it (`--from`): the renderer and params
    # of the earlier stage's pages the bench renders (untimed) and measures it reading.
    bench_from: tuple[str, dict[str, Any]] | None = None
    # Samples of GOT's stage mixes this renderer makes (stage -> paper count).
    got_mix: dict[int, int] = field(default_factory=dict)
    # Its entries in the demo recipe (recipe entry keys without `renderer`).
    demo: tuple[dict[str, Any], ...] = ({"count": 8},)
    # Reasons its rejects may give beyond COMMON_REJECTS (`base-*` for tasks' bases).
    rejects: tuple[str, ...] = ()
    # How it proves each pair truthful before keeping it, in a line.
    pair_proof: str = ""
    # Its row in the README's tables, after the name: (content, target) for a renderer,
    # (image(s), prompt, target) for a stage-3 task (README_TABLES).
    readme: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def kind_of(self, task: str, target: str, meta: dict[str, Any]) -> str:
        if callable(self.target_kind):
            return self.target_kind(task, target, meta)
        return self.target_kind
