"""The driver's ceiling: how many samples per second one driver can take in, whatever the
workers' speed. `python -m tests.bench_driver [--count N] [--kib K]` renders the test-only
`prebuilt` renderer (tests/data/prebuilt_renderer: one noise image, so the workers spend
almost nothing) through the real runner, and divides the samples by the CPU seconds the
driver process spent (all its threads, Ray's included) while the job ran. The card and the
final verify are left out: they are end-of-job reads, not the driver's per-sample work.

The same script runs against an older checkout (PYTHONPATH=that checkout), which is how
BENCHMARKS.md's before and after come from one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

PREBUILT = Path(__file__).resolve().parent / "data" / "prebuilt_renderer"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(count: int, kib: int, workers: int, shard_size: int) -> dict[str, float]:
    os.environ["OCR2SYNTH_RENDERERS"] = str(PREBUILT)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ocr2synth.pipelines.core import runner
    from ocr2synth.pipelines.core.recipe import parse_recipe
    from ocr2synth.renderers.registry import REGISTRY, load_registry

    load_registry()
    runner.write_card = lambda *args, **kwargs: None
    runner.verify_dataset = lambda *args, **kwargs: SimpleNamespace(ok=True)
    raw = {"name": "driver", "seed": 0, "shard_size": shard_size,
           "image": {"compress_level": 0},  # stored PNG: the workers' encoding is a copy
           "entries": [{"renderer": "prebuilt", "count": count, "params": {"kib": kib}}]}
    recipe = parse_recipe(raw, None, set(REGISTRY))
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             object_store_memory=1 << 30)
    try:
        with tempfile.TemporaryDirectory(prefix="o2s-driver-") as out:
            started_cpu, started = _cpu_s(), time.perf_counter()
            summary = runner.run_recipe(recipe, out, workers=workers, progress=False)
            cpu, wall = _cpu_s() - started_cpu, time.perf_counter() - started
            data = summary.manifest["totals"]["bytes"]
    finally:
        ray.shutdown()
    return {"samples": count, "MB": round(data / 1e6, 1), "driver_cpu_s": round(cpu, 2),
            "wall_s": round(wall, 2), "samples_per_driver_cpu_s": round(count / cpu, 1),
            "MB_per_driver_cpu_s": round(data / 1e6 / cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4096)
    parser.add_argument("--kib", type=int, default=45)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shard-size", type=int, default=1024)
    args = parser.parse_args()
    result = measure(args.count, args.kib, args.workers, args.shard_size)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
