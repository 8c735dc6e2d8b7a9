"""`latex-formula`: formulas typeset by pdfLaTeX, many per run, cropped with a margin."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Item
from ocr2synth.renderers.latex.cropped import CroppedPageRenderer
from ocr2synth.renderers.latex.lint import CONTROL_WORD, lint_tex
from ocr2synth.renderers.templates import render_template

# Math font setups that TeX Live's recommended fonts cover; each is one preamble (one
# format file), so a batch is split by font and typeset once per font.
FONTS: dict[str, list[str]] = {
    "computer-modern": ["amssymb"],
    "latin-modern": ["lmodern", "amssymb"],
    "palatino": ["mathpazo", "amssymb"],
    "times": ["mathptmx", "amssymb"],
    "txfonts": ["txfonts"],
    "pxfonts": ["pxfonts"],
}

# Commands a font setup leaves undefined; formulas using them get another font.
FONT_GAPS: dict[str, set[str]] = {"times": {"hbar", "coprod", "amalg", "jmath"}}

ALLOWED_ENVS = {
    "matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "cases",
    "aligned", "gathered", "split", "array", "subarray", "alignedat",
}
MAX_FORMULA_CHARS = 2000


def lint_formula(formula: str) -> str | None:
    """Why this text cannot be a formula target, or None if it may be typeset."""
    # A one-line image cannot show a line break outside a matrix-like environment.
    return lint_tex(formula, allowed_envs=ALLOWED_ENVS, max_chars=MAX_FORMULA_CHARS,
                    newline_envs=ALLOWED_ENVS)


class LatexFormulaRenderer(CroppedPageRenderer):
    """Params (all optional): `fonts` (names from FONTS), `dpi` [lo, hi], `margin` [lo, hi]
    in pixels, `display` share of display style, `max_side` in pixels."""

    name = "latex-formula"
    FONTS = FONTS
    DPI = (110, 300)
    MARGIN = (4, 32)
    MAX_SIDE = 4000
    EMPTY = "the formula typeset to an empty page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.display_share = float(params.get("display", 0.6))

    def lint(self, item: Item) -> str | None:
        return lint_formula(str(item.content))

    def style(self, item: Item) -> dict[str, Any]:
        rng = self.style_rng(item)
        used = set(CONTROL_WORD.findall(str(item.content)))
        fonts = [f for f in self.fonts if not FONT_GAPS.get(f, set()) & used] or self.fonts
        return {
            "font": rng.choice(fonts),
            "size": rng.choice([10, 11, 12]),
            "dpi": rng.randint(*self.dpi),
            "margin": rng.randint(*self.margin),
            "display": rng.random() < self.display_share,
        }

    @staticmethod
    def preamble(font: str) -> str:
        return render_template("latex/formula.tex.j2", packages=FONTS[font])

    def item_body(self, item: Item, style: dict[str, Any]) -> str:
        return self.body(item.content, style)

    @staticmethod
    def body(formula: str, style: dict[str, Any]) -> str:
        """One formula as one page of the batch document."""
        # The size is set per page, so one format (one TeX run) serves every size.
        size = style["size"]
        math_style = "\\displaystyle " if style["display"] else ""
        # \mbox: a formula wider than the text block must not break across lines.
        return (
            f"\\begin{{preview}}\\fontsize{{{size}}}{{{round(size * 1.2)}}}\\selectfont"
            f"\\mbox{{${math_style}{formula}$}}\\end{{preview}}"
        )
