"""`latex-table`: `tabular` environments typeset by pdfLaTeX, many per run, cropped."""

from __future__ import annotations

from ocr2synth.renderers.base import Item
from ocr2synth.renderers.latex.batching import Style
from ocr2synth.renderers.latex.cropped import CroppedPageRenderer
from ocr2synth.renderers.latex.formula import ALLOWED_ENVS as MATH_ENVS
from ocr2synth.renderers.latex.formula import FONT_GAPS
from ocr2synth.renderers.latex.lint import CONTROL_WORD, lint_tex
from ocr2synth.renderers.latex.table_source import CAPTION_RE
from ocr2synth.renderers.templates import render_template

# Text and math font setups (packages, extra preamble lines): one format file each.
TEXT_FONTS: dict[str, tuple[list[str], list[str]]] = {
    "computer-modern": (["amssymb"], []),
    "latin-modern": (["lmodern", "amssymb"], []),
    "times": (["mathptmx"], []),
    "palatino": (["mathpazo", "amssymb"], []),
    "txfonts": (["txfonts"], []),
    "sans": (["amssymb", "helvet"], ["\\renewcommand{\\familydefault}{\\sfdefault}"]),
}
TABLE_ENVS = {"tabular"} | MATH_ENVS
MAX_TABLE_CHARS = 20_000


def lint_table(text: str) -> str | None:
    """Why `text` cannot be a table target: it must be one `tabular`, optionally after an
    unnumbered caption, and free of anything the formula lint forbids."""
    body = CAPTION_RE.sub("", text, count=1).strip()
    if len(text) <= MAX_TABLE_CHARS and not (
        body.startswith("\\begin{tabular}") and body.endswith("\\end{tabular}")
    ):
        return "not-a-table: one \\begin{tabular}...\\end{tabular} expected"
    if len(text) <= MAX_TABLE_CHARS and body.count("\\begin{tabular}") != 1:
        return "not-a-table: nested or several tabular environments"
    return lint_tex(text, allowed_envs=TABLE_ENVS, max_chars=MAX_TABLE_CHARS,
                    newline_envs=TABLE_ENVS, math_shift=True)


class LatexTableRenderer(CroppedPageRenderer):
    """Params (all optional): `fonts` (names from TEXT_FONTS), `dpi` [lo, hi], `margin`
    [lo, hi] in pixels, `max_side` in pixels."""

    name = "latex-table"
    FONTS = TEXT_FONTS
    DPI = (100, 220)
    MARGIN = (4, 32)
    MAX_SIDE = 4000
    EMPTY = "the table typeset to an empty page"

    def lint(self, item: Item) -> str | None:
        return lint_table(str(item.content))

    def style(self, item: Item) -> Style:
        rng = self.style_rng(item)
        used = set(CONTROL_WORD.findall(str(item.content)))
        fonts = [f for f in self.fonts if not FONT_GAPS.get(f, set()) & used] or self.fonts
        return {
            "font": rng.choice(fonts),
            "size": rng.choice([9, 10, 11, 12]),
            "dpi": rng.randint(*self.dpi),
            "margin": rng.randint(*self.margin),
            "stretch": rng.choice([1.0, 1.0, 1.15, 1.3]),
        }

    @staticmethod
    def preamble(font: str) -> str:
        packages, extra = TEXT_FONTS[font]
        return render_template("latex/table.tex.j2", packages=packages, extra=extra)

    def item_body(self, item: Item, style: Style) -> str:
        return self.body(str(item.content), style)

    @staticmethod
    def body(table: str, style: Style) -> str:
        """One table as one page: the caption (if any) centred above it, at the item's size.
        varwidth shrinks to the table's natural width, however wide."""
        size = style["size"]
        caption = CAPTION_RE.match(table)
        head = ""
        if caption:
            table = table[caption.end():]
            head = f"{caption.group(1)}\\par\\smallskip "
        return (
            f"\\begin{{preview}}\\fontsize{{{size}}}{{{round(size * 1.2)}}}\\selectfont"
            f"\\renewcommand{{\\arraystretch}}{{{style['stretch']}}}"
            f"\\begin{{varwidth}}{{60cm}}\\centering {head}{table}\\end{{varwidth}}"
            "\\end{preview}"
        )
