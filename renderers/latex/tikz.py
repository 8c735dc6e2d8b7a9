"""`tikz`: geometry pictures drawn by TikZ under pdfLaTeX, many per run, cropped."""

from __future__ import annotations

import re
from typing import Any

import pymupdf

from renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from renderers.latex.batching import Style, chosen_names, cropped_page, render_grouped
from renderers.latex.engine import TexEngine
from renderers.latex.formula import ALLOWED_ENVS as MATH_ENVS
from renderers.latex.lint import lint_tex
from renderers.templates import render_template

# Label fonts (the math in `$A$` labels): one format file each.
TIKZ_FONTS: dict[str, list[str]] = {
    "computer-modern": [],
    "latin-modern": ["lmodern"],
    "palatino": ["mathpazo"],
    "times": ["mathptmx"],
}
MAX_TIKZ_CHARS = 20_000
# TikZ keys that read files or run programs: never from user input.
_FILE_KEYS = re.compile(r"\b(plot\s+file|raw\s+gnuplot|gnuplot|shell|externalize)\b")


def lint_tikz(text: str) -> str | None:
    body = text.strip()
    if len(text) <= MAX_TIKZ_CHARS and not (
        body.startswith("\\begin{tikzpicture}") and body.endswith("\\end{tikzpicture}")
    ):
        return "not-a-picture: one \\begin{tikzpicture}...\\end{tikzpicture} expected"
    if _FILE_KEYS.search(text):
        return f"forbidden: {_FILE_KEYS.search(text).group(0)}"
    return lint_tex(text, allowed_envs={"tikzpicture"} | MATH_ENVS, max_chars=MAX_TIKZ_CHARS,
                    math_shift=True)


class TikzRenderer(Renderer):
    """Params (all optional): `fonts` (names from TIKZ_FONTS), `dpi` [lo, hi], `margin`
    [lo, hi] in pixels, `max_side` in pixels."""

    name = "tikz"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.fonts = chosen_names("tikz", "fonts", params, TIKZ_FONTS)
        self.dpi = tuple(params.get("dpi", [72, 160]))
        self.margin = tuple(params.get("margin", [8, 40]))
        self.max_side = int(params.get("max_side", 2500))
        self.engine = TexEngine(timeout_s)

    def close(self) -> None:
        self.engine.close()

    def style(self, item: Item) -> Style:
        rng = self.style_rng(item)
        return {
            "font": rng.choice(self.fonts),
            "dpi": rng.randint(*self.dpi),
            "margin": rng.randint(*self.margin),
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return render_grouped(
            self.engine, items, [self.style(item) for item in items],
            lint=lambda item: lint_tikz(str(item.content)),
            group=lambda style: style["font"],
            preamble=self.preamble,
            body=lambda item, style: self.body(str(item.content)),
            sample=lambda pdf, pages, item, style: self.page_sample(pdf[pages.start], item,
                                                                    style),
        )

    @staticmethod
    def preamble(font: str) -> str:
        return render_template("latex/tikz.tex.j2", packages=TIKZ_FONTS[font])

    @staticmethod
    def body(picture: str) -> str:
        return f"\\begin{{preview}}{picture}\\end{{preview}}"

    def page_sample(self, page: pymupdf.Page, item: Item, style: Style) -> Sample | Reject:
        image = cropped_page(page, style, self.max_side, "the picture drew nothing", gray=False)
        if isinstance(image, Reject):
            return image
        if min(image.size) < 2 * style["margin"] + 8:
            return Reject("too-small", f"{image.size[0]}x{image.size[1]} px")
        return Sample(image=image, target=str(item.content), prompt=PROMPT_FORMAT,
                      task="format", meta={**style, **item.meta})
