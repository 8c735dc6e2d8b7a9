"""The bench's naive baselines for the TeX renderers: one full pdflatex run per item (no
format file, no batching) with the renderer's own preamble, body and page sampling, then
the same rasterize, crop and encode: the way a first script does it."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.imaging import encode_image


def naive_tex(renderer: Any, items: list[Item], preamble: Callable, body: Callable,
              sample: Callable) -> float:
    """Samples per second of one pdflatex run per item."""
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


def naive_latex_formula(items: list[Item]) -> float:
    from ocr2synth.renderers.latex.formula import LatexFormulaRenderer

    r = LatexFormulaRenderer({}, timeout_s=20)
    return naive_tex(r, items, lambda style: r.preamble(style["font"]),
                     lambda item, style: r.body(item.content, style),
                     lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def naive_latex_table(items: list[Item]) -> float:
    from ocr2synth.renderers.latex.table import LatexTableRenderer

    r = LatexTableRenderer({}, timeout_s=20)
    return naive_tex(r, items, lambda style: r.preamble(style["font"]),
                     lambda item, style: r.body(item.content, style),
                     lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def naive_tikz(items: list[Item]) -> float:
    from ocr2synth.renderers.latex.tikz import TikzRenderer

    r = TikzRenderer({}, timeout_s=20)
    return naive_tex(r, items, lambda style: r.preamble(style["font"]),
                     lambda item, style: r.body(item.content),
                     lambda pdf, pages, item, style: r.page_sample(pdf[0], item, style))


def naive_latex_page(items: list[Item]) -> float:
    from ocr2synth.renderers.latex.page import LatexPageRenderer

    r = LatexPageRenderer({}, timeout_s=20)
    return naive_tex(r, items, lambda style: r.preamble(f"{style['layout']}|{style['lang']}"),
                     r.body, r.page_sample)
