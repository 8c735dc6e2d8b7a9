"""The TeX renderers this package provides: latex-formula, latex-table, tikz, latex-page."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.page_targets import kind_by_task, target_param
from ocr2synth.renderers.params import choice, flag, integer, number, pair
from ocr2synth.renderers.specs import RendererSpec, ref
from ocr2synth.renderers.text.corpus_params import CORPUS_PARAMS, SOURCE_PARAMS, check_source

_HERE = __package__  # this package, for the spec references below


TEX_REJECTS = ("tex-error", "timeout", "too-long", "forbidden", "bad-content", "empty",
               "unbalanced-braces", "unbalanced-environments", "unbalanced-math",
               "too-large", "too-small")


def names_of(target: str) -> Callable[[], list[str]]:
    """The keys of a table (`module:NAME`), read when a recipe is checked."""
    module, _, attribute = target.partition(":")
    return lambda: list(getattr(importlib.import_module(module), attribute))


def cropped_params(fonts: str, dpi: list[int], margin: list[int], max_side: int) -> tuple:
    """The parameters of a renderer that crops one typeset page to its ink."""
    return (
        choice("fonts", "all", "fonts drawn per item, from this renderer's font table",
               names_of(fonts), kind="choices"),
        pair("dpi", dpi, "resolution drawn per item, [lo, hi]", 36, 1200),
        pair("margin", margin, "white margin around the ink per item, [lo, hi] pixels", 0,
             1000),
        integer("max_side", max_side, "longest side in pixels; larger renders are rejected",
                16),
    )


def _pieces(path: str, params: dict[str, Any], kind: str) -> Source | None:
    """A corpus's formulas or tables, for Parquet/JSONL and .tex sources; None for the
    sources the renderer reads itself (a file of one formula per line, .tex tabulars)."""
    from ocr2synth.renderers.latex import corpus_pieces
    from ocr2synth.renderers.text.corpus import is_table_corpus

    tex = kind == "formula" and (Path(path).suffix == ".tex" or (
        Path(path).is_dir() and any(Path(path).rglob("*.tex"))))
    if not (is_table_corpus(path) or tex):
        return None
    extract = corpus_pieces.formulas_of if kind == "formula" else corpus_pieces.tables_of
    return corpus_pieces.CorpusPieces.open(path, params, extract, kind)


def _formula_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.latex.formula_source import FormulaFile, GeneratedFormulas

    if path:
        return _pieces(path, params, "formula") or FormulaFile(path)
    return GeneratedFormulas()


def _table_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.latex.table_source import GeneratedTables, TableFiles

    if path:
        return _pieces(path, params, "table") or TableFiles(path)
    return GeneratedTables()


def _tikz_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.latex.tikz_source import GeneratedGeometry, TikzFiles

    return TikzFiles(path) if path else GeneratedGeometry()


def _page_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.latex.page_source import GeneratedPages

    if params.get("content", "real") == "generated" and not path:
        return GeneratedPages(float(params.get("zh", 0.2)))
    from ocr2synth.renderers.latex.real_page_source import RealPages

    return RealPages.from_params(path, params)


ZH = number("zh", 0.2, "share of Chinese documents (real prose or generated)", 0, 1)

SPECS = [
    RendererSpec(
        "latex-formula", _formula_source, ref(f"{_HERE}.formula:LatexFormulaRenderer"),
        batch_size=1024,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('a recursive grammar of LaTeX math (fractions, roots, big operators with limits, '
             'integrals, limits, matrices, cases, brackets, accents, Greek, functions, '
             'binomials, derivatives) or `--source FILE` (one formula per line), `.tex` '
             'files (their display and inline math, in reading order) or a Parquet/JSONL '
             'corpus (`column`; a cell is one formula, or `text_format: tex` extracts them)'),
            ('the LaTeX that was typeset, in math mode'),
        ),
        description="LaTeX math typeset by pdfLaTeX (target: the LaTeX source)",
        params=(*cropped_params(f"{_HERE}.formula:FONTS", [110, 300], [4, 32], 4000),
                number("display", 0.6, "share of formulas set in display style", 0, 1),
                *SOURCE_PARAMS),
        check_source=check_source,
        target_kind="math",
        naive=ref(f"{_HERE}.baselines:naive_latex_formula"),
        got_mix={2: 1_000_000},
        demo=({"count": 64, "params": {"dpi": [110, 300]}},),
        rejects=TEX_REJECTS,
        pair_proof="the target is the source TeX typeset; a formula TeX rejects or that "
        "prints a missing glyph is pinned from TeX's markers and rejected",
    ),
    RendererSpec(
        "latex-table", _table_source, ref(f"{_HERE}.table:LatexTableRenderer"),
        batch_size=256,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('generated `tabular`s: 2-10 columns, one or two header rows, booktabs / grid / '
             '`\\hline` / minimal / no rules, `\\multicolumn` group headers and section rows, '
             '`\\multirow` groups, `l`/`c`/`r`/`p{}` and `|` mixes, words, numbers, units, '
             'percentages, `$\\pm$` and inline math, bold cells, sometimes a `\\caption*` '
             'above; or `--source FILE|DIR` of `.tex` (one item per `tabular`), or a '
             'Parquet/JSONL corpus (the `tabular`s of its `column`)'),
            ('the typeset `tabular` (preceded by `\\caption*{...}` when a caption is shown)'),
        ),
        description="LaTeX tabular environments typeset by pdfLaTeX (target: the tabular)",
        params=(*cropped_params(f"{_HERE}.table:TEXT_FONTS", [100, 220], [4, 32], 4000),
                *SOURCE_PARAMS),
        check_source=check_source,
        target_kind="markdown",
        naive=ref(f"{_HERE}.baselines:naive_latex_table"),
        got_mix={2: 300_000},
        demo=({"count": 32},),
        rejects=(*TEX_REJECTS, "not-a-table"),
        pair_proof="the target is the tabular typeset, as TeX read it",
    ),
    RendererSpec(
        "tikz", _tikz_source, ref(f"{_HERE}.tikz:TikzRenderer"),
        batch_size=256,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('generated geometry: labelled points, segments, triangles (medians, circumcircles, '
             'angle marks), polygons, circles with chords, rectangles and their combinations; '
             'function curves on axes (lines, parabolas, cubics, sine, ellipses, hyperbolas), '
             'sometimes on a grid; or `--source FILE|DIR` of `.tex` (one item per '
             '`tikzpicture`)'),
            ('the TikZ code, in one canonical spelling (points declared first, shortest '
             'numbers, fixed option order)'),
        ),
        description="Geometry drawn by TikZ (target: normalized TikZ code)",
        params=cropped_params(f"{_HERE}.tikz:TIKZ_FONTS", [72, 160], [8, 40], 2500),
        target_kind="code",
        naive=ref(f"{_HERE}.baselines:naive_tikz"),
        got_mix={2: 1_000_000},
        demo=({"count": 32},),
        rejects=(*TEX_REJECTS, "not-a-picture"),
        pair_proof="the target is the canonical TikZ code that was typeset",
    ),
    RendererSpec(
        "latex-page", _page_source, ref(f"{_HERE}.page:LatexPageRenderer"),
        batch_size=128,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('real prose by default: page-sized windows of the Debian Reference in English '
             'and Simplified Chinese (`--param zh=0.2` sets the share), cut at paragraph '
             'boundaries in reading order, mixed with generated display math, tables and '
             'lists; or `--source` Parquet/JSONL (`column`) or a folder of `.txt`/`.md`/'
             '`.mmd`/`.tex`; `content: generated` gives the grammar\'s documents (headings, '
             'paragraphs, lists, inline and display math, tables, footnotes); layouts: '
             'one-column article, two-column paper, report page; fonts: Computer/Latin '
             'Modern, Times, Palatino, Bookman, Helvetica; CJK: Arphic Song/Kai'),
            ('Mathpix markdown of exactly the page shown (`#` headings, `\\(..\\)`/`\\[..\\]` '
             'math, `tabular` tables, `[^n]` footnotes last); boxes: paragraph boxes, then line '
             'boxes (`meta.paragraph_boxes` says how many are paragraphs), in pixels'),
        ),
        description="Whole LaTeX pages (target: Mathpix markdown; line/paragraph boxes)",
        params=(
            choice("layouts", "all", "page layouts drawn per document",
                   names_of(f"{_HERE}.page:LAYOUTS"), kind="choices"),
            choice("fonts", "all", "text fonts drawn per document",
                   names_of(f"{_HERE}.page:PAGE_FONTS"), kind="choices"),
            pair("dpi", [96, 144], "resolution drawn per page, [lo, hi]", 36, 1200),
            flag("probe_math", False, "colour math imperceptibly, so tests tell it from "
                 "prose"),
            ZH,
            target_param(),
            *CORPUS_PARAMS,
        ),
        check_source=check_source,
        target_kind=kind_by_task("markdown"),
        naive=ref(f"{_HERE}.baselines:naive_latex_page"),
        demo=({"count": 8},
              {"name": "latex-page-layout", "count": 4, "params": {"target": "layout"}}),
        rejects=(*TEX_REJECTS, "lost-block", "split-block", "blank", "layout-text",
                 "layout-ink"),
        pair_proof="named PDF destinations at each block's start and end say which blocks "
        "the page shows; the target is exactly those blocks. Layout: each block's box is "
        "the text layer between its marks (displays and tables: marks at their box's "
        "corners), tightened to its ink; no two boxes may share ink, and the text layer "
        "in a text block's box must be the source's prose",
    ),
]
