"""Corpus figures for BENCHMARKS.md: pages from a corpus against generated pages.

- speed: per-core samples/s of a page renderer on generated prose, on the Debian
  Reference and on a Parquet corpus, end to end (source, render, validate, encode, write),
  measured in one run so the ratios hold on a loaded machine;
- memory: peak RSS of whole render jobs over a small and a large Parquet corpus.

Run: `python -m ocr2synth.pipelines.tools.corpus_bench speed --parquet FILE [--count N]`
or `... memory --small FILE --large FILE [--count N]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from ocr2synth.pipelines.core.plan import ChunkSpec
from ocr2synth.pipelines.core.recipe import ImageSettings
from ocr2synth.pipelines.core.worker import RenderWorker
from ocr2synth.pipelines.tools.bench import BENCH_SEED, _shard, _timed_shard, peak_rss_of_render
from ocr2synth.renderers.registry import get_spec


def rate(renderer: str, count: int, params: dict, source: str | None) -> tuple[float, int]:
    """Samples/s on one core after a warm-up chunk, and rejects."""
    spec = get_spec(renderer)
    worker = RenderWorker(ImageSettings(), timeout_s=30)
    try:
        warm = min(16, spec.batch_size)
        worker.render_chunk(ChunkSpec(_shard(renderer, warm, source, params), 0, warm,
                                      BENCH_SEED + 1))
        elapsed, _, rejects = _timed_shard(worker, _shard(renderer, count, source, params),
                                           spec.batch_size)
    finally:
        worker.close()
    return (count - rejects) / elapsed, rejects


def speed(renderer: str, count: int, parquet: str | None, repeats: int = 1,
          zh: float | None = None) -> list[str]:
    """Each source `repeats` times, interleaved (load drifts alike over all); medians."""
    extra = {} if zh is None else {"zh": zh}
    runs = [("generated prose", {"content": "generated", **extra}, None),
            ("Debian Reference", dict(extra), None)]
    if parquet:
        runs.append((f"Parquet {Path(parquet).name}", {}, parquet))
    rates: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    rejects: dict[str, int] = dict.fromkeys(rates, 0)
    for _ in range(repeats):
        for name, params, source in runs:
            samples_s, rejected = rate(renderer, count, params, source)
            rates[name].append(samples_s)
            rejects[name] += rejected
    lines = [f"{renderer}, {count} samples per run, {repeats} runs each (median), one core:"]
    base = statistics.median(rates[runs[0][0]])
    for name, values in rates.items():
        median = statistics.median(values)
        lines.append(f"  {name:<28} {median:6.2f} samples/s  ({rejects[name]} rejects, "
                     f"x{median / base:.2f} of generated; runs "
                     f"{', '.join(f'{v:.2f}' for v in values)})")
    return lines


def memory(renderer: str, count: int, small: str, large: str) -> list[str]:
    lines = []
    for path in (small, large):
        size = Path(path).stat().st_size / 2**20
        peak, wall = peak_rss_of_render(renderer, count, ("--source", path))
        lines.append(f"  {renderer} x{count} over {Path(path).name} ({size:,.0f} MiB): "
                     f"peak RSS {peak:,.0f} MiB, {wall:.0f}s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("speed", "memory"))
    parser.add_argument("--renderer", default="latex-page")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--parquet")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--zh", type=float, help="the Chinese share of both prose sources")
    parser.add_argument("--small")
    parser.add_argument("--large")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory():
        if args.what == "speed":
            print("\n".join(speed(args.renderer, args.count, args.parquet, args.repeats,
                                   args.zh)))
        else:
            print("\n".join(memory(args.renderer, args.count, args.small, args.large)))


if __name__ == "__main__":
    main()
