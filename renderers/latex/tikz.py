"""`tikz`: geometry pictures drawn by TikZ under pdfLaTeX, many per run, cropped."""

from __future__ import annotations

import re

from ocr2synth.renderers.base import Item, Reject
from ocr2synth.renderers.latex.batching import Style
from ocr2synth.renderers.latex.cropped import CroppedPageRenderer
from ocr2synth.renderers.latex.formula import ALLOWED_ENVS as MATH_ENVS
from ocr2synth.renderers.latex.lint import lint_tex
from ocr2synth.renderers.templates import render_template
from PIL import Image

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


class TikzRenderer(CroppedPageRenderer):
    """Params (all optional): `fonts` (names from TIKZ_FONTS), `dpi` [lo, hi], `margin`
    [lo, hi] in pixels, `max_side` in pixels."""

    name = "tikz"
    FONTS = TIKZ_FONTS
    DPI = (72, 160)
    MARGIN = (8, 40)
    MAX_SIDE = 2500
    EMPTY = "the picture drew nothing"
    GRAY = False

    def lint(self, item: Item) -> str | None:
        return lint_tikz(str(item.content))

    def style(self, item: Item) -> Style:
        rng = self.style_rng(item)
        return {
            "font": rng.choice(self.fonts),
            "dpi": rng.randint(*self.dpi),
            "margin": rng.randint(*self.margin),
        }

    @staticmethod
    def preamble(font: str) -> str:
        return render_template("latex/tikz.tex.j2", packages=TIKZ_FONTS[font])

    def item_body(self, item: Item, style: Style) -> str:
        return self.body(str(item.content))

    @staticmethod
    def body(picture: str) -> str:
        return f"\\begin{{preview}}{picture}\\end{{preview}}"

    def check_image(self, image: Image.Image, style: Style) -> Reject | None:
        if min(image.size) < 2 * style["margin"] + 8:
            return Reject("too-small", f"{image.size[0]}x{image.size[1]} px")
        return None
