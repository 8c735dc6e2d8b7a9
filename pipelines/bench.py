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


def _naive_task(name: str) -> Callable[[int], float]:
    """A stage-3 task the way a first script builds it: per sample, a fresh base engine
    renders that sample's base pages alone, then the sample is composed and encoded."""

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


def naive_chart_echarts(count: int) -> float:
    """A new Chromium (and Playwright driver) per chart, with the same option, checks,
    screenshot and encode."""
    from renderers.chart.echarts import EchartsChartRenderer

    items = _bench_items("chart-echarts", count)
    started = time.perf_counter()
    for item in items:
        renderer = EchartsChartRenderer({}, timeout_s=20)
        try:
            sample = renderer.render_batch([item])[0]
            if isinstance(sample, Sample):
                encode_image(sample.image, "png", 1, "auto")
        finally:
            renderer.close()
    return count / (time.perf_counter() - started)


NAIVE: dict[str, Callable[[int], float]] = {
    "latex-formula": naive_latex_formula,
    "music": naive_music,
    "molecule": naive_molecule,
    "latex-table": naive_latex_table,
    "tikz": naive_tikz,
    "latex-page": naive_latex_page,
    "markdown-page": naive_markdown_page,
    "fine-grained": _naive_task("fine-grained"),
    "multi-crop": _naive_task("multi-crop"),
    "multi-page": _naive_task("multi-page"),
    "pdf-page": naive_pdf_page,
    "chart-mpl": naive_chart_mpl,
    "chart-echarts": naive_chart_echarts,
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
    if memory:
        small, small_s = peak_rss_of_render(renderer, count)
        large, large_s = peak_rss_of_render(renderer, count * 10)
        lines.append(f"peak RSS of a {count}-sample job: {small:,.0f} MiB ({small_s:.0f}s)")
        lines.append(f"peak RSS of a {count * 10}-sample job: {large:,.0f} MiB ({large_s:.0f}s)")
    return "\n".join(lines)


def browser_memory(count: int) -> str:
    """Memory of one warm markdown-page browser over `count` pages (no restart): resident
    and unique set sizes of its Chromium processes after the first pages and at the end."""
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
    try:
        for stop in (warm, count):
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
