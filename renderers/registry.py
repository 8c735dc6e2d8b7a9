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


def _formula_source(path: str | None, params: dict[str, Any]) -> Source:
    from renderers.latex.formula_source import FormulaFile, GeneratedFormulas

    return FormulaFile(path) if path else GeneratedFormulas()


def _formula_renderer(params: dict[str, Any], timeout_s: float) -> Renderer:
    from renderers.latex.formula import LatexFormulaRenderer

    return LatexFormulaRenderer(params, timeout_s)


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
    ]
}


def get_spec(name: str) -> RendererSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown renderer {name!r} (known: {known})") from None
