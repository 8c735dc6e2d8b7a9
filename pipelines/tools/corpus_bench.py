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


def speed(renderer: str, count: int, parquet: str | None) -> list[str]:
    runs = [("generated prose", {"content": "generated"}, None),
            ("Debian Reference", {}, None)]
    if parquet:
        runs.append((f"Parquet {Path(parquet).name}", {}, parquet))
    lines = [f"{renderer}, {count} samples each, one core:"]
    base = None
    for name, params, source in runs:
        samples_s, rejects = rate(renderer, count, params, source)
        base = base or samples_s
        lines.append(f"  {name:<28} {samples_s:6.2f} samples/s  ({rejects} rejects, "
                     f"x{samples_s / base:.2f} of generated)")
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
    parser.add_argument("--small")
    parser.add_argument("--large")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory():
        if args.what == "speed":
            print("\n".join(speed(args.renderer, args.count, args.parquet)))
        else:
            print("\n".join(memory(args.renderer, args.count, args.small, args.large)))


if __name__ == "__main__":
    main()
