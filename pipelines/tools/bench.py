"""`ocr2synth bench`: a renderer's per-core throughput against its naive baseline.

Both are measured in the same run on the same items, so the ratio holds on any machine.
The batched figure is end to end on one core: source, render, validate, encode, write.
What to compare with comes from each renderer's spec (`naive`, `floor`, `bench_params`,
`bench_corpus`); the report is written by pipelines/bench_report.py.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil
from ocr2synth.pipelines.core.plan import ChunkSpec, ShardSpec, plan_chunks, sample_seed
from ocr2synth.pipelines.core.recipe import ImageSettings
from ocr2synth.pipelines.core.worker import RenderWorker
from ocr2synth.pipelines.format.manifest import code_version
from ocr2synth.pipelines.format.shards import ShardWriter
from ocr2synth.pipelines.tools.bench_report import RendererBench, write_report
from ocr2synth.renderers.base import Item
from ocr2synth.renderers.registry import REGISTRY, get_spec

BENCH_SEED = 1234
BASE_SAMPLES = 64  # rows of the stored base a stage-3 task is measured on (it wraps round)
GENERATED = {"content": "generated"}


def _shard(renderer: str, count: int, source: str | None = None,
           params: dict | None = None) -> ShardSpec:
    spec = get_spec(renderer)
    if params is None:  # the bench measures the generated content its baselines draw
        params = {**GENERATED, **spec.bench_params} if spec.param("content") else \
            spec.bench_params
    return ShardSpec(0, 0, renderer, renderer, params, source, 0, count)


def bench_items(renderer: str, count: int) -> list[Item]:
    """The items a baseline and a corpus are made of: the built-in source's first ones
    (generated content where a renderer also reads real prose: the same items on every
    machine, whatever documentation it has installed)."""
    spec = get_spec(renderer)
    source = spec.make_source(None, GENERATED if spec.param("content") else {})
    return [source.item_at(k, lambda j: sample_seed(BENCH_SEED, renderer, j))
            for k in range(count)]


def prepare_corpus(renderer: str, count: int, folder: Path) -> str | None:
    """The --source a renderer is measured on, where its spec prepares one (untimed)."""
    prepare = get_spec(renderer).bench_corpus
    return prepare(bench_items(renderer, count), folder) if prepare else None


def naive_rate(renderer: str, count: int) -> float | None:
    naive = get_spec(renderer).naive
    return naive(bench_items(renderer, count)) if naive else None


def floor_rate(renderer: str, count: int) -> float | None:
    floor = get_spec(renderer).floor
    return floor.rate(bench_items(renderer, count + floor.warm)) if floor else None


def _timed_shard(worker: RenderWorker, shard: ShardSpec, batch_size: int
                 ) -> tuple[float, float, int]:
    """One shard rendered and written as a job writes it: (seconds, encoding seconds,
    rejects)."""
    # pyarrow imports pandas on a process's first Table.from_pylist (1-2 s): a cost of the
    # first shard a worker writes, not of every shard, so it is paid here, untimed
    import pandas  # noqa: F401
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        encode_s, rejects = 0.0, 0
        with ShardWriter(Path(tmp) / "part-000000.parquet") as writer:
            for chunk in plan_chunks(shard, BENCH_SEED, batch_size):
                result = worker.render_chunk(chunk)
                encode_s += result.encode_s
                rejects += len(result.rejects)
                for row in result.rows:
                    writer.write(row)
        return time.perf_counter() - started, encode_s, rejects


def batched_rate(renderer: str, count: int) -> tuple[float, float, int]:
    """Samples/s on one core end to end, the share of time spent encoding, and rejects."""
    spec = get_spec(renderer)
    corpus = tempfile.TemporaryDirectory()
    source = prepare_corpus(renderer, count, Path(corpus.name))
    shard = _shard(renderer, count, source)
    worker = RenderWorker(ImageSettings(), timeout_s=20)
    try:
        # Warm the engine (one format file per font) outside the timed part, as a
        # long-lived actor is after its first chunk.
        worker.render_chunk(ChunkSpec(_shard(renderer, 64, source), 0, 64, BENCH_SEED + 1))
        elapsed, encode_s, rejects = _timed_shard(worker, shard, spec.batch_size)
    finally:
        worker.close()
        corpus.cleanup()
    return count / elapsed, encode_s / elapsed, rejects


def peak_rss_of_render(renderer: str, count: int, extra: tuple[str, ...] = ()
                       ) -> tuple[float, float]:
    """Peak resident memory (MiB) of a whole `ocr2synth render` job, Ray processes included,
    sampled every 50 ms over the process tree; and the job's wall time. `extra`: more
    command-line arguments (a --source, --param)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ocr2synth.pipelines.cli", "render", "--renderer", renderer,
               "--count", str(count), "--out", tmp, "--workers", "1", "--no-progress", *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    procs = [root, *root.children(recursive=True)]
                    total = 0
                    for p in procs:
                        try:
                            total += p.memory_info().rss
                        except psutil.Error:
                            pass
                    peak = max(peak, total)
                except psutil.Error:
                    return
                stop.wait(0.05)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        proc.wait()
        stop.set()
        thread.join()
        if proc.returncode != 0:
            raise RuntimeError(f"render of {count} exited with {proc.returncode}")
        return peak / 2**20, time.perf_counter() - started


def run_bench(renderer: str, count: int, naive_count: int, repeats: int, memory: bool) -> str:
    rates, shares = [], []
    for _ in range(repeats):
        rate, share, _ = batched_rate(renderer, count)
        rates.append(rate)
        shares.append(share)
    batched = statistics.median(rates)
    lines = [
        f"renderer: {renderer}",
        f"batched, end to end on one core: {batched:,.1f} samples/s "
        f"(median of {repeats} runs of {count}: {', '.join(f'{r:.1f}' for r in rates)})",
        f"share of time in image encoding: {100 * statistics.median(shares):.1f}%",
    ]
    naive = naive_rate(renderer, naive_count)
    if naive is not None:
        lines.append(f"naive baseline ({naive_count} samples): {naive:,.2f} samples/s")
        lines.append(f"ratio batched / naive: {batched / naive:,.1f}x")
    floor = get_spec(renderer).floor
    if floor is not None:
        lines.append(f"engine floor ({floor.what}; {count} samples): "
                     f"{floor_rate(renderer, count):,.1f} samples/s")
    if memory:
        small, small_s = peak_rss_of_render(renderer, count)
        large, large_s = peak_rss_of_render(renderer, count * 10)
        lines.append(f"peak RSS of a {count}-sample job: {small:,.0f} MiB ({small_s:.0f}s)")
        lines.append(f"peak RSS of a {count * 10}-sample job: {large:,.0f} MiB ({large_s:.0f}s)")
    return "\n".join(lines)


def target_costs(renderer: str, count: int, repeats: int) -> str:
    """What each `target` form costs: the same items rendered with every form the renderer
    declares (format/layout for pages; dict/html/markdown for charts), end to end on one
    warm core, the forms interleaved in each repeat so that a loaded machine slows them
    alike; rates and their ratio against the default form (the naive way to a second
    target: rendering the page again for it)."""
    spec = get_spec(renderer)
    param = spec.param("target")
    if param is None:
        raise ValueError(f"{renderer} declares no target parameter")
    forms = [param.default, *(f for f in param.allowed() if f != param.default)]

    def shard(form: str, n: int) -> ShardSpec:
        return ShardSpec(0, 0, renderer, renderer, {**spec.bench_params, "target": form},
                         None, 0, n)

    rates: dict[str, list[float]] = {form: [] for form in forms}
    rejects: dict[str, int] = dict.fromkeys(forms, 0)
    worker = RenderWorker(ImageSettings(), timeout_s=30)
    try:
        for form in forms:  # each form's engine warm, outside the timed part
            worker.render_chunk(ChunkSpec(shard(form, 8), 0, 8, BENCH_SEED + 1))
        for _ in range(repeats):
            for form in forms:
                elapsed, _, dropped = _timed_shard(worker, shard(form, count), spec.batch_size)
                rates[form].append(count / elapsed)
                rejects[form] = dropped
    finally:
        worker.close()
    base = statistics.median(rates[forms[0]])
    lines = [f"renderer: {renderer}, {count} samples per run, median of {repeats} "
             "(forms interleaved)"]
    for form in forms:
        rate = statistics.median(rates[form])
        lines.append(f"target={form}: {rate:,.2f} samples/s "
                     f"({', '.join(f'{r:.2f}' for r in rates[form])}; {rejects[form]} "
                     f"rejects); cost per sample {base / rate:.2f}x target={forms[0]}")
    if len(forms) > 1:
        second = statistics.median(rates[forms[1]])
        both = 1 / (1 / base + 1 / second)
        lines.append(f"naive (render again for target={forms[1]}, both targets): "
                     f"{both:,.2f} samples/s")
    return "\n".join(lines)


def browser_memory(count: int) -> str:
    """Memory of one warm markdown-page browser over `count` pages (no restart): resident
    and unique set sizes of its Chromium processes after the first pages, at each quarter
    of the run and at the end (flat means it levels off, not that it never moves)."""
    import psutil
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer

    renderer = MarkdownPageRenderer({"restart_every": 10**9}, timeout_s=30)
    source = get_spec("markdown-page").make_source(None, GENERATED)

    def seed_of(j: int) -> int:
        return sample_seed(BENCH_SEED, "markdown-page", j)

    def memory() -> tuple[float, float]:
        rss = uss = 0
        for pid in renderer.browser.chromium_pids():
            try:
                info = psutil.Process(pid).memory_full_info()
            except psutil.Error:
                continue
            rss, uss = rss + info.rss, uss + info.uss
        return rss / 2**20, uss / 2**20

    lines, done, warm = [], 0, min(50, count)
    stops = sorted({warm, *(count * q // 4 for q in (1, 2, 3, 4))} - {0})
    try:
        for stop in stops:
            batch = [source.item_at(k, seed_of) for k in range(done, stop)]
            for start in range(0, len(batch), 64):
                renderer.render_batch(batch[start:start + 64])
            done = stop
            rss, uss = memory()
            lines.append(f"after {done:,} pages: browser RSS {rss:,.0f} MiB, USS {uss:,.0f} MiB "
                         f"({len(renderer.browser.chromium_pids())} processes, "
                         f"{renderer.browser.stats.starts} start(s))")
    finally:
        renderer.close()
    return "\n".join(["markdown-page: one browser, no restart", *lines])



def render_job(renderer: str, count: int, out: Path, workers: int, shard_size: int,
               source: str | None = None, params: dict | None = None) -> float:
    """One whole `render` job of `count` samples into `out` through the Ray runner, as the
    CLI runs it; returns its wall-clock seconds (actor start included)."""
    from ocr2synth.pipelines.core.recipe import parse_recipe
    from ocr2synth.pipelines.core.runner import run_recipe

    entry = {"renderer": renderer, "count": count, **({"source": source} if source else {}),
             **({"params": dict(params)} if params else {})}
    raw = {"name": f"bench-{renderer}", "seed": BENCH_SEED, "shard_size": shard_size,
           "entries": [entry]}
    recipe = parse_recipe(raw, None, set(REGISTRY))
    started = time.perf_counter()
    run_recipe(recipe, out, workers=workers, progress=False)
    return time.perf_counter() - started


def prepare_base(base: tuple[str, dict], count: int, folder: Path) -> str:
    """The dataset a stage-3 task is measured composing from (its spec's `bench_from`):
    `count` samples of that renderer with those params, rendered untimed. Returns its
    folder."""
    name, params = base
    render_job(name, count, folder, workers=1, shard_size=count, params=params)
    return str(folder)


def per_core_runs(renderer: str, seconds: float, max_count: int, repeats: int,
                  warmup: int, source: str | None = None,
                  params: dict | None = None) -> RendererBench:
    """Repeated end-to-end runs on one core with one warm worker. After the warm-up (engine
    start, format files), probes of 8, 16, 32... samples size the runs: about `seconds`
    each, between 8 and `max_count` samples. The probes double while the rate still rises
    (a batch whose cost is mostly a fixed start, one TeX run, gets cheaper per sample as it
    grows) or while they are short, within a budget of twice `seconds`. A timed run is never
    shorter than one of the renderer's batches (up to `max_count`): a job renders whole
    batches, so a run of part of one would charge a batch's fixed costs (a TeX run per
    font, a page load) to a fraction of its samples."""
    spec = get_spec(renderer)
    out = RendererBench(renderer)
    worker = RenderWorker(ImageSettings(), timeout_s=20)
    try:
        worker.render_chunk(ChunkSpec(_shard(renderer, warmup, source, params), 0, warmup,
                                      BENCH_SEED + 1))
        probe, rate, spent = 8, 0.0, 0.0
        while True:
            started = time.perf_counter()
            for chunk in plan_chunks(_shard(renderer, probe, source, params), BENCH_SEED + 2,
                                     spec.batch_size):
                worker.render_chunk(chunk)
            elapsed = max(1e-6, time.perf_counter() - started)
            spent += elapsed
            rising, rate = probe / elapsed > 1.25 * rate, probe / elapsed
            if (probe >= max_count or spent >= 2 * seconds
                    or (elapsed >= seconds / 4 and not rising)):
                break
            probe *= 2
        out.count = count = int(min(max_count, max(8, rate * seconds, spec.batch_size)))
        shares = []
        for _ in range(repeats):
            elapsed, encode_s, rejects = _timed_shard(
                worker, _shard(renderer, count, source, params), spec.batch_size)
            out.rates.append(count / elapsed)
            shares.append(encode_s / elapsed)
            out.rejects = rejects
        out.encode_share = statistics.median(shares)
    finally:
        worker.close()
    return out


def scaling_rates(renderer: str, count: int, workers: tuple[int, ...] = (1, 2),
                  source: str | None = None) -> dict[int, float]:
    """Wall-clock samples/s of whole `render` jobs through the Ray runner (actor start
    included), with 1 and 2 workers, on shards cut small enough to keep both busy."""
    out = {}
    for n in workers:
        with tempfile.TemporaryDirectory() as tmp:
            out[n] = count / render_job(renderer, count, Path(tmp) / "set", n,
                                        max(1, count // 8), source=source)
    return out


def run_all(out: Path, seconds: float = 5.0, max_count: int = 512, repeats: int = 3,
            naive_count: int = 8, scaling: bool = True, renderers: list[str] | None = None,
            progress: Callable[[str], None] = print) -> str:
    """Every registered renderer (or the ones named): per-core rate, naive baseline, encode
    share and 1-to-2-worker scaling; the report is written to `out` as Markdown."""
    import os

    from ocr2synth.pipelines.core.runner import ray_session

    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    names = renderers or sorted(REGISTRY)
    results: dict[str, RendererBench] = {}
    # renderers measured on a corpus prepared beforehand (untimed), e.g. pdf-page's PDF
    corpora = tempfile.TemporaryDirectory()
    sources: dict[str, str] = {}
    for name in names:
        if get_spec(name).bench_corpus:
            progress(f"{name}: preparing its corpus")
            folder = Path(corpora.name, name)
            folder.mkdir()
            sources[name] = prepare_corpus(name, min(max_count, 128), folder)
    for name in names:
        progress(f"{name}: per-core runs")
        stamp = {"measured": time.strftime("%Y-%m-%d", time.gmtime()), "code": code_version(),
                 "load": f"{os.getloadavg()[0]:.1f}"}
        try:
            bench = per_core_runs(name, seconds, max_count, repeats,
                                  warmup=min(16, max_count), source=sources.get(name))
        except Exception as exc:  # noqa: BLE001 - one broken renderer must not stop the rest
            bench = RendererBench(name, error=f"{type(exc).__name__}: {exc}"[:200])
        results[name] = replace(bench, **stamp)
        if bench.error:
            continue
        base_spec = get_spec(name).bench_from
        if base_spec is not None:
            progress(f"{name}: rendering a {base_spec[0]} base, then composing from it")
            try:
                base = prepare_base(base_spec, BASE_SAMPLES, Path(corpora.name, f"{name}-base"))
                stored = per_core_runs(name, seconds, max_count, repeats,
                                       warmup=min(16, max_count), params={"from": base})
                results[name].from_base = f"{BASE_SAMPLES} stored {base_spec[0]} pages"
                results[name].from_rates, results[name].from_count = stored.rates, stored.count
            except Exception as exc:  # noqa: BLE001
                progress(f"{name}: from a stored base failed: {exc}")
        if get_spec(name).naive is not None and naive_count > 0:
            progress(f"{name}: naive baseline ({naive_count})")
            try:
                results[name].naive = naive_rate(name, naive_count)
                results[name].naive_count = naive_count
            except Exception as exc:  # noqa: BLE001
                progress(f"{name}: naive baseline failed: {exc}")
        floor = get_spec(name).floor
        if floor is not None:
            progress(f"{name}: engine floor ({results[name].count})")
            results[name].floor = floor_rate(name, max(16, results[name].count))
            results[name].floor_what = floor.what
    if scaling:
        with ray_session(2, None):
            for name, bench in results.items():
                if bench.error:
                    continue
                # about four times `seconds` of work, so that actor start weighs less (not
                # four batches: a slow renderer's batch alone can be half a minute)
                count = max(16, 4 * min(bench.count, round(bench.rate * seconds)))
                progress(f"{name}: 1 and 2 workers through Ray ({count} samples)")
                try:
                    bench.scaling = scaling_rates(name, count, source=sources.get(name))
                except Exception as exc:  # noqa: BLE001
                    progress(f"{name}: scaling failed: {exc}")
    corpora.cleanup()
    load_after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    settings = (f"--seconds {seconds:g} --max-count {max_count} --repeats {repeats} "
                f"--naive-count {naive_count}" + ("" if scaling else " --no-scaling"))
    return write_report(Path(out), results, settings, (load_before, load_after))
