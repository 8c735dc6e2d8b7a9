"""The renderer names of DESIGN 3.1, each with its content source and its renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from renderers.base import Renderer, Source


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


def _formula_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.latex.formula_source import FormulaFile, GeneratedFormulas

    return FormulaFile(path) if path else GeneratedFormulas()


def _formula_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.latex.formula import LatexFormulaRenderer

    return LatexFormulaRenderer(params, timeout_s)


def _kern_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.music.kern_source import GeneratedKern, KernCorpus

    return KernCorpus(path, int(params.get("measures", 3))) if path else GeneratedKern()


def _music_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.music.renderer import MusicRenderer

    return MusicRenderer(params, timeout_s)


def _smiles_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.molecule.smiles_source import MosesSmiles, SmilesFile

    order = params.get("order")
    return SmilesFile(path, order or "sequential") if path else MosesSmiles(order or "random")


def _molecule_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.molecule.renderer import MoleculeRenderer

    return MoleculeRenderer(params, timeout_s)


def _table_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.latex.table_source import GeneratedTables, TableFiles

    return TableFiles(path) if path else GeneratedTables()


def _table_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.latex.table import LatexTableRenderer

    return LatexTableRenderer(params, timeout_s)


def _tikz_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.latex.tikz_source import GeneratedGeometry, TikzFiles

    return TikzFiles(path) if path else GeneratedGeometry()


def _tikz_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.latex.tikz import TikzRenderer

    return TikzRenderer(params, timeout_s)


def _page_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.latex.page_source import GeneratedPages, PageFiles

    return PageFiles(path) if path else GeneratedPages(float(params.get("zh", 0.2)))


def _page_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.latex.page import LatexPageRenderer

    return LatexPageRenderer(params, timeout_s)


def _markdown_source(path: str | None, params: dict[str, Any]) -> Source:
    if params.get("mode") == "formula":
        return _formula_source(path, params)
    from renderers.browser.markdown_source import GeneratedMarkdown, MarkdownFiles

    if path:
        return MarkdownFiles(path, int(params.get("page_chars", 3000)))
    return GeneratedMarkdown(float(params.get("zh", 0.2)), int(params.get("pages", 4)))


def _markdown_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.browser.markdown_page import MarkdownPageRenderer

    return MarkdownPageRenderer(params, timeout_s)


def _task_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.tasks.bases import TaskSource

    return TaskSource(path, params)


def _fine_grained_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.tasks.fine_grained import FineGrainedRenderer

    return FineGrainedRenderer(params, timeout_s)


def _multi_crop_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.tasks.multi_crop import MultiCropSource

    return MultiCropSource(path, params)


def _multi_crop_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.tasks.multi_crop import MultiCropRenderer

    return MultiCropRenderer(params, timeout_s)


def _multi_page_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.tasks.multi_page import MultiPageSource

    return MultiPageSource(path, params)


def _multi_page_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.tasks.multi_page import MultiPageRenderer

    return MultiPageRenderer(params, timeout_s)


def _pdf_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.pdf.source import GeneratedPdfs, PdfFolder

    return PdfFolder(path) if path else GeneratedPdfs(float(params.get("zh", 0.2)))


def _pdf_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.pdf.page import PdfPageRenderer

    return PdfPageRenderer(params, timeout_s)


def _chart_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.chart.spec_source import ChartTables, GeneratedCharts

    return ChartTables(path) if path else GeneratedCharts(float(params.get("vega", 0.25)))


def _chart_mpl_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.chart.mpl import MplChartRenderer

    return MplChartRenderer(params, timeout_s)


def _chart_echarts_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.chart.echarts import EchartsChartRenderer

    return EchartsChartRenderer(params, timeout_s)


CHART_TARGET_NOTE = (
    'a JSON object {"title", "source", "x_title", "y_title", "values": {series: {x: value}}} '
    "with keys in that order, series in legend order and categories in axis order; numbers "
    "as the chart prints them without unit (12.5% is 12.5; units are in the titles); a "
    "missing point is left out; `source` without its Source: prefix, \"\" when none is "
    "drawn; x_title names the category axis (on the left for horizontal bars); stacked "
    "bars hold segment values. Pie/donut: one series named by the caption under the pie, "
    "{slice: value}, x_title and y_title \"\". Scatter: {group: {x: y}}. Radar: "
    "{series: {indicator: value}}, x_title and y_title \"\""
)

REGISTRY: dict[str, RendererSpec] = {
    spec.name: spec
    for spec in [
        RendererSpec(
            "latex-formula",
            _formula_source,
            _formula_renderer,
            batch_size=1024,
            description="LaTeX math typeset by pdfLaTeX (target: the LaTeX source)",
        ),
        RendererSpec(
            "latex-table",
            _table_source,
            _table_renderer,
            batch_size=256,
            description="LaTeX tabular environments typeset by pdfLaTeX (target: the tabular)",
        ),
        RendererSpec(
            "tikz",
            _tikz_source,
            _tikz_renderer,
            batch_size=256,
            description="Geometry drawn by TikZ (target: normalized TikZ code)",
        ),
        RendererSpec(
            "latex-page",
            _page_source,
            _page_renderer,
            batch_size=128,
            description="Whole LaTeX pages (target: Mathpix markdown; line/paragraph boxes)",
        ),
        RendererSpec(
            "music",
            _kern_source,
            _music_renderer,
            batch_size=64,
            description="single-system scores engraved by Verovio (target: Humdrum **kern)",
            target_note="a standalone **kern document: the excerpt with the clef, key, "
            "meter and instrument interpretations in force where it starts; `!!!COM:` and "
            "`!!!OTL:` records exactly when the picture shows a composer and title",
        ),
        RendererSpec(
            "molecule",
            _smiles_source,
            _molecule_renderer,
            batch_size=128,
            description="molecules drawn by RDKit (target: SMILES of the molecule drawn)",
            target_note="RDKit canonical isomeric SMILES; the Kekulé form (explicit double "
            "bonds, no lower-case aromatic atoms) when the picture draws alternating double "
            "bonds, the aromatic form when it draws rings as circles or dashed bonds "
            "(`meta.smiles_form` says which); hydrogens implicit even when drawn; the "
            "target's InChIKey equals the source molecule's",
        ),
        RendererSpec(
            "markdown-page",
            _markdown_source,
            _markdown_renderer,
            batch_size=64,
            description="Mathpix-markdown pages rendered by mathpix-markdown-it in headless "
            "Chromium (target: Mathpix markdown; block/line boxes); `mode: formula` renders "
            "single formulas with MathJax (target: the LaTeX)",
            target_note="the Mathpix markdown of exactly the blocks the page shows, in "
            "reading order (a block that does not fit whole starts the next page, which is "
            "the next sample); "
            "footnotes last as `[^n]: text`, drawn as superscript marks and a page foot",
        ),
        # Stage-3 tasks over another renderer's pages (`base`, default latex-page; any
        # renderer whose samples carry line boxes; `--source` goes to the base's source).
        RendererSpec(
            "fine-grained",
            _task_source,
            _fine_grained_renderer,
            batch_size=64,
            description="region OCR on a base page: `[x1, y1, x2, y2] OCR: ` (task box) or "
            "`[red|green|blue] OCR: ` with a frame of that colour drawn (task color)",
            target_note="the plain text of the region's lines as the base renderer's text "
            "layer reports them, one line per line; regions come only from paragraphs whose "
            "lines reproduce the page target's prose exactly (no math, marks or bullets), "
            "and show no other line; the box is on GOT's 0-1000 scale, rounded outwards; "
            "`boxes` holds the region in pixels",
        ),
        RendererSpec(
            "multi-crop",
            _multi_crop_source,
            _multi_crop_renderer,
            batch_size=32,
            description="2-3 base pages side by side, cut into GOT/InternVL dynamic tiles "
            "(up to 12 of 1024x1024 + thumbnail) in `images`",
            target_note="the pages' formatted targets left to right, joined by a blank line; "
            "`image` is the whole picture, `images` the tiles in reading order then the "
            "1024x1024 thumbnail, `meta.grid` the (columns, rows) of the grid rule in "
            "trainer/tiling.py; `boxes` are the pages' boxes moved onto the picture",
        ),
        RendererSpec(
            "multi-page",
            _multi_page_source,
            _multi_page_renderer,
            batch_size=16,
            description="2-8 short base pages as one input (`images`), GOT's multi-page OCR",
            target_note="the pages' formatted targets in page order, joined by a blank line; "
            "each page under 650 tokens and all under 8000 by a conservative estimate "
            "(renderers/tasks/tokens.py); `image` is the first page",
        ),
        RendererSpec(
            "pdf-page",
            _pdf_source,
            _pdf_renderer,
            batch_size=64,
            description="PDF pages (a --source folder, or latex-page documents compiled to "
            "PDF) rasterized by PyMuPDF or poppler (target: the text layer in reading "
            "order; line/paragraph boxes); `unit: line|paragraph` gives stage-1 slices",
            target_note="plain text from the PDF's own text layer: lines in reading order "
            "(two-column pages column by column), a blank line between paragraphs; pages "
            "with an empty, garbled or scanned (image-only) text layer are rejected",
        ),
        RendererSpec(
            "chart-mpl",
            _chart_source,
            _chart_mpl_renderer,
            batch_size=64,
            description="charts drawn by Matplotlib's object API (target: OneChart-style "
            "JSON dict)",
            target_note=CHART_TARGET_NOTE,
        ),
        RendererSpec(
            "chart-echarts",
            _chart_source,
            _chart_echarts_renderer,
            batch_size=64,
            description="pyecharts options drawn by ECharts in headless Chromium (target: "
            "OneChart-style JSON dict)",
            target_note=CHART_TARGET_NOTE,
        ),
    ]
}


def get_spec(name: str) -> RendererSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown renderer {name!r} (known: {known})") from None
