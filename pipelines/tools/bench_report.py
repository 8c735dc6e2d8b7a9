"""The `ocr2synth bench --all` report: BENCHMARKS.md's tables and GOT's projections.

Figures come in as `RendererBench` records; the stage mixes come from the renderers' specs
(`got_mix`), so a new renderer joins the projections by declaring its share.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def projections(results: dict[str, RendererBench], cores: int = PROJECTION_CORES
                ) -> dict[int, tuple[float, list[tuple[str, int, float | None]]]]:
    """Per stage: hours on `cores` cores at the measured per-core rates (perfect scaling
    assumed), and (renderer, samples, hours or None when not measured) per part."""
    out = {}
    for stage, mix in stage_mixes().items():
        parts, total = [], 0.0
        for name, samples in mix.items():
            bench = results.get(name)
            if bench is None or not bench.rate:
                parts.append((name, samples, None))
                continue
            hours = samples / (bench.rate * cores) / 3600
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
        "this run on the same items) hold better than the absolute rates.",
        "",
        "## Renderers",
        "",
        "Samples/s per core: end to end in one process (source, render, validate, encode,",
        "write), the median of repeated runs with a warm engine. Naive: the same samples the",
        "way a first script makes them (see each renderer's `naive` baseline in its `declare.py`).",
        "Encoding: the share of that time spent encoding images. Scaling: whole `render` jobs",
        "through the Ray runner with 1 and 2 workers, 4x the samples of a timed run (wall",
        "clock, actor start and engine warm-up included).",
        "",
        "| renderer | samples/s/core (median) | runs | naive samples/s | ratio | encoding "
        "| 1 worker | 2 workers | 1 to 2 | rejects |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, b in sorted(results.items()):
        if b.error:
            lines.append(f"| {name} | error: {b.error} | | | | | | | | |")
            continue
        runs = ", ".join(f"{r:.1f}" for r in b.rates)
        ratio = f"{b.rate / b.naive:,.1f}x" if b.naive else "-"
        speedup = (f"{b.scaling[2] / b.scaling[1]:.2f}x"
                   if b.scaling.get(1) and b.scaling.get(2) else "-")
        naive = f"{num(b.naive, 2)} ({b.naive_count})" if b.naive else "-"
        lines.append(
            f"| {name} | {num(b.rate)} | {b.count} x {len(b.rates)}: {runs} | {naive} "
            f"| {ratio} | {100 * b.encode_share:.0f}% | {num(b.scaling.get(1))} "
            f"| {num(b.scaling.get(2))} | {speedup} | {b.rejects}/{b.count} |")
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
        "out, and the 80% replay of stages 2 and 3 is rendered already.",
        "",
    ]
    for stage, (total, parts) in projections(results).items():
        missing = [name for name, _, hours in parts if hours is None]
        if len(missing) == len(parts):
            lines.append(f"### Stage {stage}: not measured (needs {', '.join(missing)})")
        else:
            lines.append(f"### Stage {stage}: {total:,.2f} h"
                         + (f" (without {', '.join(missing)}: not measured)" if missing else ""))
        lines += ["", f"| renderer | samples | core-hours | hours on {PROJECTION_CORES} cores |",
                  "|---|---|---|---|"]
        for name, samples, hours in parts:
            core_h = "-" if hours is None else f"{hours * PROJECTION_CORES:,.1f}"
            lines.append(f"| {name} | {samples:,} | {core_h} | {num(hours, 2)} |")
        lines.append("")
    return "\n".join(lines)


