"""`ocr2synth bench`: a renderer's per-core throughput against its naive baseline.

Both are measured in the same run on the same items, so the ratio holds on any machine.
The batched figure is end to end on one core: source, render, validate, encode, write.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pymupdf

from pipelines.plan import ChunkSpec, ShardSpec, plan_chunks, sample_seed
from pipelines.recipe import ImageSettings
from pipelines.shards import ShardWriter
from pipelines.worker import RenderWorker
from renderers.base import Reject, Sample
from renderers.imaging import encode_image
from renderers.registry import get_spec

BENCH_SEED = 1234
# Params a renderer is measured with where its goal names them (pdf-page: 150 dpi).
BENCH_PARAMS: dict[str, dict[str, Any]] = {"pdf-page": {"dpi": [150, 150]}}


def _shard(renderer: str, count: int, source: str | None = None) -> ShardSpec:
    return ShardSpec(0, 0, renderer, renderer, BENCH_PARAMS.get(renderer, {}), source, 0,
                     count)


def batched_rate(renderer: str, count: int) -> tuple[float, float, int]:
    """Samples/s on one core end to end, the share of time spent encoding, and rejects."""
    spec = get_spec(renderer)
    corpus = tempfile.TemporaryDirectory()
    prepare = BENCH_SOURCES.get(renderer)
    source = prepare(count, Path(corpus.name)) if prepare else None
    shard = _shard(renderer, count, source)
    worker = RenderWorker(ImageSettings(), timeout_s=20)
    try:
        # Warm the engine (one format file per font) outside the timed part, as a
        # long-lived actor is after its first chunk.
        worker.render_chunk(ChunkSpec(_shard(renderer, 64, source), 0, 64, BENCH_SEED + 1))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            encode_s, rejects = 0.0, 0
            with ShardWriter(Path(tmp) / "part-000000.parquet") as writer:
                for chunk in plan_chunks(shard, BENCH_SEED, spec.batch_size):
                    result = worker.render_chunk(chunk)
                    encode_s += result.encode_s
                    rejects += len(result.rejects)
                    for row in result.rows:
                        writer.write(row)
            elapsed = time.perf_counter() - started
    finally:
        worker.close()
        corpus.cleanup()
    return count / elapsed, encode_s / elapsed, rejects


def naive_latex_formula(count: int) -> float:
    """One full pdflatex run per formula (no format file, no batching), then the same
    rasterize, crop and encode: the way a first script does it."""
    from renderers.latex.formula import LatexFormulaRenderer

    r = LatexFormulaRenderer({}, timeout_s=20)
    return _naive_tex(r, _bench_items("latex-formula", count),
                      lambda style: r.preamble(style["font"]),
                      lambda item, style: r.body(item.content, style),
                      lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def _bench_items(renderer: str, count: int) -> list[Any]:
    spec = get_spec(renderer)
    source = spec.make_source(None, {})
    return [source.item_at(k, lambda j: sample_seed(BENCH_SEED, renderer, j))
            for k in range(count)]


def naive_music(count: int) -> float:
    """A new Verovio toolkit per score (the resources load every time), then the same
    rasterize, paper and encode."""
    import verovio

    from renderers.music.renderer import MusicRenderer

    renderer = MusicRenderer({}, timeout_s=20)
    items = _bench_items("music", count)
    verovio.enableLog(verovio.LOG_OFF)
    started = time.perf_counter()
    for item in items:
        style = renderer.style(item)
        toolkit = verovio.toolkit()
        toolkit.setOptions(renderer.options(style))
        toolkit.loadData(renderer.document(item.content, style))
        image = renderer.rasterize(toolkit.renderToSVG(1), style)
        if not isinstance(image, Reject):
            encode_image(image, "png", 1, "auto")
    renderer.close()
    return count / (time.perf_counter() - started)


_DRAW_ONE_MOLECULE = """
import sys
from renderers.base import Item
from renderers.imaging import encode_image
from renderers.molecule.renderer import MoleculeRenderer
sample = MoleculeRenderer({}, 20).render_one(Item(0, int(sys.argv[2]), sys.argv[1]))
if hasattr(sample, "image"):
    open(sys.argv[3], "wb").write(encode_image(sample.image, "png", 1, "auto"))
"""


def naive_molecule(count: int) -> float:
    """A fresh Python process per molecule, as a shell loop over a drawing script does."""
    items = _bench_items("molecule", count)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for item in items:
            subprocess.run([sys.executable, "-c", _DRAW_ONE_MOLECULE, item.content,
                            str(item.seed), str(Path(tmp, "one.png"))],
                           check=True, capture_output=True, timeout=120)
    return count / (time.perf_counter() - started)


def _naive_tex(renderer, items, preamble, body, sample, multipage: bool = False) -> float:
    """One full pdflatex run per item with the renderer's own preamble, body and page
    sampling (the same rasterize, crop, boxes and encode): samples per second."""
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for item in items:
                style = renderer.style(item)
                document = (preamble(style) + "\\begin{document}\n" + body(item, style)
                            + "\n\\end{document}\n")
                Path(tmp, "one.tex").write_text(document)
                subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape",
                                "one.tex"], cwd=tmp, capture_output=True, timeout=60)
                pdf_path = Path(tmp, "one.pdf")
                if not pdf_path.exists():
                    continue
                with pymupdf.open(pdf_path) as pdf:
                    outcome = sample(pdf, range(pdf.page_count), item, style)
                if isinstance(outcome, Sample):
                    encode_image(outcome.image, "png", 1, "auto")
                pdf_path.unlink()
    finally:
        renderer.close()
    return len(items) / (time.perf_counter() - started)


def naive_latex_table(count: int) -> float:
    from renderers.latex.table import LatexTableRenderer

    r = LatexTableRenderer({}, timeout_s=20)
    return _naive_tex(r, _bench_items("latex-table", count),
                      lambda style: r.preamble(style["font"]),
                      lambda item, style: r.body(item.content, style),
                      lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def naive_tikz(count: int) -> float:
    from renderers.latex.tikz import TikzRenderer

    r = TikzRenderer({}, timeout_s=20)
    return _naive_tex(r, _bench_items("tikz", count),
                      lambda style: r.preamble(style["font"]),
                      lambda item, style: r.body(item.content),
                      lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def naive_latex_page(count: int) -> float:
    from renderers.latex.page import LatexPageRenderer

    r = LatexPageRenderer({}, timeout_s=20)
    return _naive_tex(r, _bench_items("latex-page", count),
                      lambda style: r.preamble(f"{style['layout']}|{style['lang']}"),
                      r.body, r.page_sample)


def naive_markdown_page(count: int) -> float:
    """A new Chromium (and Playwright driver) per page, with the same layout, screenshot
    and encode: the way a first script drives a browser."""
    from renderers.browser.markdown_page import MarkdownPageRenderer

    items = _bench_items("markdown-page", count)
    starts = None  # where earlier pages stopped: known data, not redone per browser
    started = time.perf_counter()
    for item in items:
        renderer = MarkdownPageRenderer({}, timeout_s=20)
        if starts is not None:
            renderer._starts = starts
        starts = renderer._starts
        try:
            sample = renderer.render_batch([item])[0]
            if isinstance(sample, Sample):
                encode_image(sample.image, "png", 1, "auto")
        finally:
            renderer.close()
    return count / (time.perf_counter() - started)


def _naive_fresh_renderer(name: str) -> Callable[[int], float]:
    """A fresh renderer (engine, browser) per sample, then the same render and encode: for a
    stage-3 task, a fresh base engine renders that sample's base pages alone; for
    chart-echarts, a new browser draws each chart."""

    def run(count: int) -> float:
        items = _bench_items(name, count)
        started = time.perf_counter()
        for item in items:
            renderer = get_spec(name).make_renderer({}, 20)
            try:
                sample = renderer.render_batch([item])[0]
                if isinstance(sample, Sample):
                    for image in [sample.image, *sample.images]:
                        encode_image(image, "png", 1, "auto")
            finally:
                renderer.close()
        return count / (time.perf_counter() - started)

    return run


def bench_pdf(count: int, path: Path) -> int:
    """One PDF of `count` generated pages (the pages `pdf-page` would pick from its
    default source), typeset beforehand so that the timed part is PDF -> sample only."""
    from renderers.pdf.page import PdfPageRenderer

    items = _bench_items("pdf-page", count)
    renderer = PdfPageRenderer({}, timeout_s=20)
    with pymupdf.open() as out:
        try:
            for _, typeset in renderer.typeset(items, list(range(len(items)))):
                if not isinstance(typeset, Reject):
                    pdf, number, _, _ = typeset
                    out.insert_pdf(pdf, from_page=number, to_page=number)
        finally:
            renderer.close()
        out.save(path)
        return out.page_count


def naive_pdf_page(count: int) -> float:
    """pdf2image's default path: one `convert_from_path(first_page=p, last_page=p)` call
    (a pdftoppm process) per page of the same PDF, then the same text-layer read and
    encode."""
    from pdf2image import convert_from_path

    from renderers.pdf.text import read_page

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "bench.pdf")
        pages = bench_pdf(count, path)
        started = time.perf_counter()
        with pymupdf.open(path) as doc:
            for number in range(pages):
                image = convert_from_path(path, dpi=150, first_page=number + 1,
                                          last_page=number + 1)[0]
                read_page(doc[number])
                encode_image(image, "png", 1, "auto")
        return pages / (time.perf_counter() - started)


# Renderers measured on a corpus prepared (untimed) in a folder: (count, folder) -> source.
BENCH_SOURCES: dict[str, Callable[[int, Path], str]] = {
    "pdf-page": lambda count, folder: (bench_pdf(count, folder / "bench.pdf"), str(folder))[1],
}


def naive_chart_mpl(count: int) -> float:
    """pyplot with a new figure per chart and `savefig(bbox_inches="tight")` (which draws
    the figure again to find its extent), the same chart drawn into it."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from renderers.chart.mpl import MplChartRenderer
    from renderers.chart.spec import ChartSpec

    renderer = MplChartRenderer({}, timeout_s=20)
    items = _bench_items("chart-mpl", count)
    started = time.perf_counter()
    for item in items:
        spec = ChartSpec.from_dict(item.content)
        style = renderer.style(item, spec)
        fig = plt.figure(figsize=(style["width"] / 100, style["height"] / 100), dpi=100)
        renderer._figures[(style["width"], style["height"])] = (fig, fig.canvas)
        renderer.draw(spec, style)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
    return count / (time.perf_counter() - started)


def floor_chart_mpl(count: int) -> float:
    """Matplotlib's own cost: the renderer's drawing calls for each chart (new axes on its
    reused figure), with no layout engine, no text checks, no read-back, no image and no
    encoding. A renderer that builds its charts this way cannot go faster."""
    from renderers.chart.mpl import MplChartRenderer
    from renderers.chart.spec import layout_attempts, spec_of

    renderer = MplChartRenderer({}, timeout_s=20)
    warm = 8
    specs = []
    for item in _bench_items("chart-mpl", count + warm):
        spec = spec_of(item.content)
        if not isinstance(spec, Reject):
            style = renderer.style(item, spec)
            specs.append((spec, {**style, **layout_attempts(spec, style)[0]}))
    for spec, style in specs[:warm]:
        renderer.draw(spec, style, layout=False)
    started = time.perf_counter()
    for spec, style in specs[warm:]:
        renderer.draw(spec, style, layout=False)
    return len(specs[warm:]) / (time.perf_counter() - started)


# What the engine itself costs per sample, where a speed goal is near or past it.
FLOOR: dict[str, tuple[str, Callable[[int], float]]] = {
    "chart-mpl": ("Matplotlib building and drawing the same charts, nothing else",
                  floor_chart_mpl)}


NAIVE: dict[str, Callable[[int], float]] = {
    "latex-formula": naive_latex_formula,
    "music": naive_music,
    "molecule": naive_molecule,
    "latex-table": naive_latex_table,
    "tikz": naive_tikz,
    "latex-page": naive_latex_page,
    "markdown-page": naive_markdown_page,
    "fine-grained": _naive_fresh_renderer("fine-grained"),
    "multi-crop": _naive_fresh_renderer("multi-crop"),
    "multi-page": _naive_fresh_renderer("multi-page"),
    "pdf-page": naive_pdf_page,
    "chart-mpl": naive_chart_mpl,
    "chart-echarts": _naive_fresh_renderer("chart-echarts"),
}


def peak_rss_of_render(renderer: str, count: int) -> tuple[float, float]:
    """Peak resident memory (MiB) of a whole `ocr2synth render` job, Ray processes included,
    sampled every 50 ms over the process tree; and the job's wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pipelines.cli", "render", "--renderer", renderer,
               "--count", str(count), "--out", tmp, "--workers", "1", "--no-progress"]
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
    naive_fn = NAIVE.get(renderer)
    if naive_fn is not None:
        naive = naive_fn(naive_count)
        lines.append(f"naive baseline ({naive_count} samples): {naive:,.2f} samples/s")
        lines.append(f"ratio batched / naive: {batched / naive:,.1f}x")
    if renderer in FLOOR:
        what, floor_fn = FLOOR[renderer]
        lines.append(f"engine floor ({what}; {count} samples): {floor_fn(count):,.1f} "
                     "samples/s")
    if memory:
        small, small_s = peak_rss_of_render(renderer, count)
        large, large_s = peak_rss_of_render(renderer, count * 10)
        lines.append(f"peak RSS of a {count}-sample job: {small:,.0f} MiB ({small_s:.0f}s)")
        lines.append(f"peak RSS of a {count * 10}-sample job: {large:,.0f} MiB ({large_s:.0f}s)")
    return "\n".join(lines)


def browser_memory(count: int) -> str:
    """Memory of one warm markdown-page browser over `count` pages (no restart): resident
    and unique set sizes of its Chromium processes after the first pages, at each quarter
    of the run and at the end (flat means it levels off, not that it never moves)."""
    import psutil

    from renderers.browser.markdown_page import MarkdownPageRenderer

    renderer = MarkdownPageRenderer({"restart_every": 10**9}, timeout_s=30)
    source = get_spec("markdown-page").make_source(None, {})

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


# --- every renderer at once: `ocr2synth bench --all` writes BENCHMARKS.md ---------------

# GOT's data (DESIGN section 2), in samples per renderer that renders it. Stage 1's scene
# text (~3M of its ~5M) has no renderer here and is left out; stages 2 and 3 replay 80% of
# the previous stage, which is rendered already and not counted again.
STAGE_MIXES: dict[int, dict[str, int]] = {
    1: {"pdf-page": 2_000_000},  # PDF pages 1.2M + line/paragraph slices 0.8M
    2: {"latex-formula": 1_000_000, "molecule": 1_000_000, "latex-table": 300_000,
        "markdown-page": 1_000_000, "music": 500_000, "tikz": 1_000_000,
        "chart-mpl": 1_000_000, "chart-echarts": 1_000_000},
    3: {"fine-grained": 600_000, "multi-crop": 500_000, "multi-page": 200_000},
}
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
    floor: float | None = None  # FLOOR's rate, where the renderer has one
    scaling: dict[int, float] = field(default_factory=dict)  # workers -> samples/s (wall)
    error: str = ""

    @property
    def rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def per_core_runs(renderer: str, seconds: float, max_count: int, repeats: int,
                  warmup: int, source: str | None = None) -> RendererBench:
    """Repeated end-to-end runs on one core with one warm worker. After the warm-up (engine
    start, format files), probes of 8, 16, 32... samples size the runs: about `seconds`
    each, between 8 and `max_count` samples. The probes double while the rate still rises
    (a batch whose cost is mostly a fixed start, one TeX run, gets cheaper per sample as it
    grows) or while they are short, within a budget of twice `seconds`."""
    spec = get_spec(renderer)
    out = RendererBench(renderer)
    worker = RenderWorker(ImageSettings(), timeout_s=20)
    try:
        worker.render_chunk(ChunkSpec(_shard(renderer, warmup, source), 0, warmup, BENCH_SEED + 1))
        probe, rate, spent = 8, 0.0, 0.0
        while True:
            started = time.perf_counter()
            for chunk in plan_chunks(_shard(renderer, probe, source), BENCH_SEED + 2,
                                     spec.batch_size):
                worker.render_chunk(chunk)
            elapsed = max(1e-6, time.perf_counter() - started)
            spent += elapsed
            rising, rate = probe / elapsed > 1.25 * rate, probe / elapsed
            if (probe >= max_count or spent >= 2 * seconds
                    or (elapsed >= seconds / 4 and not rising)):
                break
            probe *= 2
        out.count = count = int(min(max_count, max(8, rate * seconds)))
        shares = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                encode_s, rejects = 0.0, 0
                with ShardWriter(Path(tmp) / "part-000000.parquet") as writer:
                    for chunk in plan_chunks(_shard(renderer, count, source), BENCH_SEED,
                                             spec.batch_size):
                        result = worker.render_chunk(chunk)
                        encode_s += result.encode_s
                        rejects += len(result.rejects)
                        for row in result.rows:
                            writer.write(row)
                elapsed = time.perf_counter() - started
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
    from pipelines.recipe import parse_recipe
    from pipelines.runner import run_recipe
    from renderers.registry import REGISTRY

    shard_size = max(1, count // 8)
    out = {}
    for n in workers:
        raw = {"name": f"bench-{renderer}", "seed": BENCH_SEED, "shard_size": shard_size,
               "entries": [{"renderer": renderer, "count": count,
                            **({"source": source} if source else {})}]}
        recipe = parse_recipe(raw, None, set(REGISTRY))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            run_recipe(recipe, Path(tmp) / "set", workers=n, progress=False)
            out[n] = count / (time.perf_counter() - started)
    return out


def projections(results: dict[str, RendererBench], cores: int = PROJECTION_CORES
                ) -> dict[int, tuple[float, list[tuple[str, int, float | None]]]]:
    """Per stage: hours on `cores` cores at the measured per-core rates (perfect scaling
    assumed), and (renderer, samples, hours or None when not measured) per part."""
    out = {}
    for stage, mix in STAGE_MIXES.items():
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
    from pipelines.dataset import code_version

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
        "way a first script makes them (see each renderer's baseline in `pipelines/bench.py`).",
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
                  "layout, checks or encoding (`FLOOR` in `pipelines/bench.py`): a renderer",
                  "that drives the engine the same way goes no faster on this machine.", "",
                  "| renderer | floor | samples/s | batched / floor |", "|---|---|---|---|"]
        lines += [f"| {name} | {FLOOR[name][0]} | {num(b.floor)} | "
                  f"{100 * b.rate / b.floor:.0f}% |" for name, b in floors]
    lines += [
        "",
        f"## Projections: GOT's data on {PROJECTION_CORES} cores",
        "",
        "From the per-core rates above, assuming perfect scaling across cores (the 1 to 2",
        "worker column shows how far that holds here). Counts from the GOT paper (DESIGN",
        "section 2); stage 1's scene text (~3M) has no renderer and is left out, and the 80%",
        "replay of stages 2 and 3 is rendered already.",
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


def run_all(out: Path, seconds: float = 5.0, max_count: int = 512, repeats: int = 3,
            naive_count: int = 8, scaling: bool = True, renderers: list[str] | None = None,
            progress: Callable[[str], None] = print) -> str:
    """Every registered renderer (or the ones named): per-core rate, naive baseline, encode
    share and 1-to-2-worker scaling; the report is written to `out` as Markdown."""
    import os

    from pipelines.runner import ray_session
    from renderers.registry import REGISTRY

    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    names = renderers or sorted(REGISTRY)
    results: dict[str, RendererBench] = {}
    # renderers measured on a corpus prepared beforehand (untimed), e.g. pdf-page's PDF
    corpora = tempfile.TemporaryDirectory()
    sources: dict[str, str] = {}
    for name in names:
        if name in BENCH_SOURCES:
            progress(f"{name}: preparing its corpus")
            folder = Path(corpora.name, name)
            folder.mkdir()
            sources[name] = BENCH_SOURCES[name](min(max_count, 128), folder)
    for name in names:
        progress(f"{name}: per-core runs")
        try:
            results[name] = per_core_runs(name, seconds, max_count, repeats,
                                          warmup=min(16, max_count), source=sources.get(name))
        except Exception as exc:  # noqa: BLE001 - one broken renderer must not stop the rest
            results[name] = RendererBench(name, error=f"{type(exc).__name__}: {exc}"[:200])
            continue
        naive_fn = NAIVE.get(name)
        if naive_fn is not None and naive_count > 0:
            progress(f"{name}: naive baseline ({naive_count})")
            try:
                results[name].naive = naive_fn(naive_count)
                results[name].naive_count = naive_count
            except Exception as exc:  # noqa: BLE001
                progress(f"{name}: naive baseline failed: {exc}")
        if name in FLOOR:
            progress(f"{name}: engine floor ({results[name].count})")
            results[name].floor = FLOOR[name][1](max(16, results[name].count))
    if scaling:
        with ray_session(2, None):
            for name, bench in results.items():
                if bench.error:
                    continue
                # four timed runs' worth, so that actor start weighs less
                count = max(16, 4 * bench.count)
                progress(f"{name}: 1 and 2 workers through Ray ({count} samples)")
                try:
                    bench.scaling = scaling_rates(name, count, source=sources.get(name))
                except Exception as exc:  # noqa: BLE001
                    progress(f"{name}: scaling failed: {exc}")
    corpora.cleanup()
    load_after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    settings = (f"--seconds {seconds:g} --max-count {max_count} --repeats {repeats} "
                f"--naive-count {naive_count}" + ("" if scaling else " --no-scaling"))
    text = benchmarks_markdown(results, settings, (load_before, load_after))
    Path(out).write_text(text + "\n", encoding="utf-8")
    return text
