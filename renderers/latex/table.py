"""`latex-table`: `tabular` environments typeset by pdfLaTeX, many per run, cropped."""

from __future__ import annotations

from typing import Any

import pymupdf

from renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from renderers.latex.batching import Style, chosen_names, cropped_page, render_grouped
from renderers.latex.engine import TexEngine
from renderers.latex.formula import ALLOWED_ENVS as MATH_ENVS
from renderers.latex.formula import FONT_GAPS
from renderers.latex.lint import CONTROL_WORD, lint_tex
from renderers.latex.table_source import CAPTION_RE
from renderers.templates import render_template

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


class LatexTableRenderer(Renderer):
    """Params (all optional): `fonts` (names from TEXT_FONTS), `dpi` [lo, hi], `margin`
    [lo, hi] in pixels, `max_side` in pixels."""

    name = "latex-table"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.fonts = chosen_names("latex-table", "fonts", params, TEXT_FONTS)
        self.dpi = tuple(params.get("dpi", [100, 220]))
        self.margin = tuple(params.get("margin", [4, 32]))
        self.max_side = int(params.get("max_side", 4000))
        self.engine = TexEngine(timeout_s)

    def close(self) -> None:
        self.engine.close()

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

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return render_grouped(
            self.engine, items, [self.style(item) for item in items],
            lint=lambda item: lint_table(str(item.content)),
            group=lambda style: style["font"],
            preamble=self.preamble,
            body=lambda item, style: self.body(str(item.content), style),
            sample=lambda pdf, pages, item, style: self.page_sample(pdf[pages.start], item,
                                                                    style),
        )

    @staticmethod
    def preamble(font: str) -> str:
        packages, extra = TEXT_FONTS[font]
        return render_template("latex/table.tex.j2", packages=packages, extra=extra)

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

    def page_sample(self, page: pymupdf.Page, item: Item, style: Style) -> Sample | Reject:
        image = cropped_page(page, style, self.max_side, "the table typeset to an empty page")
        if isinstance(image, Reject):
            return image
        return Sample(image=image, target=str(item.content), prompt=PROMPT_FORMAT,
                      task="format", meta={**style, **item.meta})
