"""The `ocr2synth bench --all` report: BENCHMARKS.md's tables and GOT's projections.

Figures come in as `RendererBench` records; the stage mixes come from the renderers' specs
(`got_mix`), so a new renderer joins the projections by declaring its share.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ocr2synth.renderers.registry import REGISTRY


def stage_mixes() -> dict[int, dict[str, int]]:
    """GOT's data in samples per renderer that renders it, per stage (ARCHITECTURE.md,
    "GOT's data"). Stage 1's scene text (~3M of its ~5M) has no renderer here and is left
    out; stages 2 and 3 replay 80% of the previous stage, rendered already and not counted
    again."""
    mixes: dict[int, dict[str, int]] = {}
    for name, spec in REGISTRY.items():
        for stage, samples in spec.got_mix.items():
            mixes.setdefault(stage, {})[name] = samples
    return dict(sorted(mixes.items()))


PROJECTION_CORES = 64


@dataclass
class RendererBench:
    name: str
    count: int = 0
    rates: list[float] = field(default_factory=list)
    encode_share: float = 0.0
    rejects: int = 0
    naive: float | None = None
    naive_count: int = 0
    floor: float | None = None  # the spec's engine floor, where the renderer has one
    floor_what: str = ""
    scaling: dict[int, float] = field(default_factory=dict)  # workers -> samples/s (wall)
    error: str = ""
    # a stage-3 task composing from a stored base (`--from`, the spec's `bench_from`)
    from_base: str = ""
    from_rates: list[float] = field(default_factory=list)
    from_count: int = 0
    # when and on what these figures were taken: rows of earlier runs keep theirs
    measured: str = ""
    code: str = ""
    load: str = ""  # 1-minute load average when its runs began

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0

    @property
    def from_rate(self) -> float:
        return statistics.median(self.from_rates) if self.from_rates else 0.0

    @property
    def projected_rate(self) -> float:
        """The rate production makes it at: from a stored base where it composes from one."""
        return self.from_rate or self.rate

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "scaling": {str(k): v for k, v in self.scaling.items()}}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RendererBench:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["scaling"] = {int(k): v for k, v in raw.get("scaling", {}).items()}
        return cls(**values)


# Everything after this line in BENCHMARKS.md is written by hand: `bench --all` keeps it.
KEEP_MARKER = "<!-- Sections below are written by hand; `ocr2synth bench --all` keeps them. -->"


def results_path(report: Path) -> Path:
    """The measured figures behind a report, one record per renderer (BENCHMARKS.json)."""
    return Path(report).with_suffix(".json")


def load_results(report: Path) -> dict[str, RendererBench]:
    path = results_path(report)
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {name: RendererBench.from_json(r) for name, r in raw.get("renderers", {}).items()
            if name in REGISTRY}


def kept_text(report: Path) -> str:
    """The hand-written sections of an existing report, from the marker on."""
    try:
        text = Path(report).read_text(encoding="utf-8")
    except OSError:
        return ""
    at = text.find(KEEP_MARKER)
    return "" if at < 0 else text[at:]


def write_report(report: Path, measured: dict[str, RendererBench], settings: str,
                 load: tuple[str, str]) -> str:
    """Merge this run's renderers into the stored figures (a run of some renderers leaves
    the others' rows as they were), write BENCHMARKS.json and the Markdown report, keeping
    the report's hand-written sections; returns the Markdown."""
    results = {**load_results(report), **measured}
    text = benchmarks_markdown(results, settings, load)
    tail = kept_text(report)
    full = text + "\n" + ("\n" + tail if tail else "")
    results_path(report).write_text(json.dumps(
        {"renderers": {name: results[name].to_json() for name in sorted(results)}},
        indent=1) + "\n", encoding="utf-8")
    Path(report).write_text(full if full.endswith("\n") else full + "\n", encoding="utf-8")
    return text


def projections(results: dict[str, RendererBench], cores: int = PROJECTION_CORES
                ) -> dict[int, tuple[float, list[tuple[str, int, float | None]]]]:
    """Per stage: hours on `cores` cores at the measured per-core rates (perfect scaling
    assumed), and (renderer, samples, hours or None when not measured) per part."""
    out = {}
    for stage, mix in stage_mixes().items():
        parts, total = [], 0.0
        for name, samples in mix.items():
            bench = results.get(name)
            if bench is None or not bench.projected_rate:
                parts.append((name, samples, None))
                continue
            hours = samples / (bench.projected_rate * cores) / 3600
            total += hours
            parts.append((name, samples, hours))
        out[stage] = (total, parts)
    return out


def _machine() -> str:
    import os
    import platform

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}"


def benchmarks_markdown(results: dict[str, RendererBench], settings: str, load: tuple[str, str]
                        ) -> str:
    from ocr2synth.pipelines.format.manifest import code_version

    def num(value: float | None, digits: int = 1) -> str:
        return "-" if not value else f"{value:,.{digits}f}"

    lines = [
        "# Benchmarks",
        "",
        f"Written by `ocr2synth bench --all` ({settings})",
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, code `{code_version()}`,",
        f"on {_machine()}.",
        f"Load average (1, 5, 15 min) before: {load[0]}; after: {load[1]}. Figures taken",
        "on a busy machine are low and noisy; the ratios (batched / naive, both measured in",
        "this run on the same items) hold better than the absolute rates. A run of some",
        "renderers (`--only`) keeps the other rows from `BENCHMARKS.json`: the `measured`",
        "column says when, at which code and at what 1-minute load each row was taken.",
        "",
        "## Renderers",
        "",
        "Samples/s per core: end to end in one process (source, render, validate, encode,",
        "write), the median of repeated runs with a warm engine, each run at least one of",
        "the renderer's batches (a job renders whole batches). Naive: the same samples the",
        "way a first script makes them (see each renderer's `naive` baseline in its `declare.py`).",
        "Encoding: the share of that time spent encoding images. Scaling: whole `render` jobs",
        "through the Ray runner with 1 and 2 workers, about 4x `--seconds` of samples (wall",
        "clock, actor start and engine warm-up included).",
        "",
        "| renderer | samples/s/core (median) | runs | naive samples/s | ratio | encoding "
        "| 1 worker | 2 workers | 1 to 2 | rejects | measured |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, b in sorted(results.items()):
        when = f"{b.measured}, `{b.code}`, load {b.load}" if b.measured else "-"
        if b.error:
            lines.append(f"| {name} | error: {b.error} | | | | | | | | | {when} |")
            continue
        runs = ", ".join(f"{r:.1f}" for r in b.rates)
        ratio = f"{b.rate / b.naive:,.1f}x" if b.naive else "-"
        speedup = (f"{b.scaling[2] / b.scaling[1]:.2f}x"
                   if b.scaling.get(1) and b.scaling.get(2) else "-")
        naive = f"{num(b.naive, 2)} ({b.naive_count})" if b.naive else "-"
        lines.append(
            f"| {name} | {num(b.rate)} | {b.count} x {len(b.rates)}: {runs} | {naive} "
            f"| {ratio} | {100 * b.encode_share:.0f}% | {num(b.scaling.get(1))} "
            f"| {num(b.scaling.get(2))} | {speedup} | {b.rejects}/{b.count} | {when} |")
    stored = [(name, b) for name, b in sorted(results.items()) if b.from_rates]
    if stored:
        lines += ["", "## Stage-3 tasks from a stored base", "",
                  "Production composes these tasks from pages an earlier stage rendered",
                  "(`render --from DIR`); the bench renders such a base first (untimed, the",
                  "spec's `bench_from`) and times the task reading it, end to end on one core",
                  "as above. The projections use this rate.", "",
                  "| task | base | samples/s/core (median) | runs | rendering its base | ratio |",
                  "|---|---|---|---|---|---|"]
        for name, b in stored:
            runs = ", ".join(f"{r:.1f}" for r in b.from_rates)
            ratio = f"{b.from_rate / b.rate:,.1f}x" if b.rate else "-"
            lines.append(f"| {name} | {b.from_base} | {num(b.from_rate)} "
                         f"| {b.from_count} x {len(b.from_rates)}: {runs} | {num(b.rate)} "
                         f"| {ratio} |")
    floors = [(name, b) for name, b in sorted(results.items()) if b.floor]
    if floors:
        lines += ["", "## Engine floors", "",
                  "The engine's own cost on the same samples, with none of the renderer's",
                  "layout, checks or encoding (the `floor` of its spec in `declare.py`):",
                  "a renderer that drives the engine the same way goes no faster here.", "",
                  "| renderer | floor | samples/s | batched / floor |", "|---|---|---|---|"]
        lines += [f"| {name} | {b.floor_what} | {num(b.floor)} | "
                  f"{100 * b.rate / b.floor:.0f}% |" for name, b in floors]
    lines += [
        "",
        f"## Projections: GOT's data on {PROJECTION_CORES} cores",
        "",
        "From the per-core rates above, assuming perfect scaling across cores (the 1 to 2",
        "worker column shows how far that holds here). Counts from the GOT paper (each",
        "renderer's `got_mix`); stage 1's scene text (~3M) has no renderer and is left",
        "out, and the 80% replay of stages 2 and 3 is rendered already. A stage-3 task",
        "that composes from an earlier stage's pages is projected at its rate from a",
        "stored base (the section above); the base pages are counted in their own stage.",
        "",
    ]
    for stage, (total, parts) in projections(results).items():
        missing = [name for name, _, hours in parts if hours is None]
        if len(missing) == len(parts):
            lines.append(f"### Stage {stage}: not measured (needs {', '.join(missing)})")
        else:
            lines.append(f"### Stage {stage}: {total:,.2f} h"
                         + (f" (without {', '.join(missing)}: not measured)" if missing else ""))
        lines += ["", f"| renderer | samples | rate | core-hours | hours on {PROJECTION_CORES} "
                  "cores |", "|---|---|---|---|---|"]
        for name, samples, hours in parts:
            core_h = "-" if hours is None else f"{hours * PROJECTION_CORES:,.1f}"
            b = results.get(name)
            way = ("-" if b is None or not b.projected_rate else
                   f"{num(b.projected_rate)}" + (f" (from {b.from_base})" if b.from_rate else ""))
            lines.append(f"| {name} | {samples:,} | {way} | {core_h} | {num(hours, 2)} |")
        lines.append("")
    return "\n".join(lines)


