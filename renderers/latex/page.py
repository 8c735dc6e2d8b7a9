"""`latex-page`: whole document pages typeset by pdfLaTeX; the target is the page's
Mathpix markdown in reading order, with line and paragraph boxes from the PDF.

Every block (heading, paragraph, list item, display, table) is unbreakable and carries a
named PDF destination at its start and end; pdfTeX resolves those to pages in the PDF
itself, so after one run we know which blocks each page shows. A document may fill several
pages: one of them is the sample, and its target holds exactly that page's blocks.
"""

from __future__ import annotations

import re
from typing import Any

import pymupdf
from ocr2synth.renderers.base import (
    PROMPT_FORMAT,
    PROMPT_LAYOUT,
    Box,
    Item,
    Reject,
    Renderer,
    Sample,
)
from ocr2synth.renderers.latex.batching import Style, chosen_names, render_grouped
from ocr2synth.renderers.latex.engine import TexEngine
from ocr2synth.renderers.latex.formula import lint_formula
from ocr2synth.renderers.latex.page_layout import dest_points, latex_layout
from ocr2synth.renderers.latex.page_markdown import page_chunks, page_markdown
from ocr2synth.renderers.latex.table import lint_table
from ocr2synth.renderers.layout import layout_target
from ocr2synth.renderers.templates import render_template
from PIL import Image

# (document class, class options, two columns)
LAYOUTS: dict[str, tuple[str, str, bool]] = {
    "article": ("article", "letterpaper", False),
    "two-column": ("article", "letterpaper,twocolumn", True),
    "report": ("report", "a4paper", False),
}
CJK_FONTS = ["gbsn", "gkai"]
# Text font families, switched per page in the body (not the preamble), so one format file
# serves every font and a batch needs one TeX run per layout and language only. Math stays
# in Computer Modern, as in many real papers.
PAGE_FONTS: dict[str, str] = {
    "computer-modern": "cmr", "latin-modern": "lmr", "times": "ptm", "palatino": "ppl",
    "bookman": "pbk", "sans": "phv",
}
# Headings: LaTeX before and after (the target's markdown: renderers/latex/page_markdown.py).
HEADINGS = {
    1: ("{\\centering\\LARGE\\bfseries ", "\\par}\\vspace{1.2ex}"),
    2: ("\\section*{", "}"),
    3: ("\\subsection*{", "}"),
}
MAX_BLOCKS = 400
_CELL_MATH = re.compile(r"(?<!\\)\$([^$]*)\$")
COLUMN_SEP_PT = 10.0  # article's \\columnsep
# How far (points) a line may stick out of its column: glyph side bearings, not overfull.
FRAME_SLACK_PT = 2.0
# Spans with exactly this colour are math; a test flag, invisible in the image.
PROBE_RGB = (0.004, 0.0, 0.0)
_SPECIALS = {
    "\\": "\\textbackslash{}", "{": "\\{", "}": "\\}", "#": "\\#", "$": "\\$", "%": "\\%",
    "&": "\\&", "_": "\\_", "^": "\\^{}", "~": "\\~{}", "<": "\\textless{}",
    ">": "\\textgreater{}", "|": "\\textbar{}",
}


def escape(text: str) -> str:
    """User text as TeX that prints it verbatim (never as commands)."""
    return "".join(_SPECIALS.get(ch, ch) for ch in text if ch >= " " or ch == "\t")


def lint_document(doc: Any) -> str | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("blocks"), list):
        return "bad-content: a document of blocks expected"
    if doc.get("error"):
        return str(doc["error"])
    blocks = doc["blocks"]
    if not blocks:
        return "empty: no blocks"
    if len(blocks) > MAX_BLOCKS:
        return f"too-long: {len(blocks)} blocks (limit {MAX_BLOCKS})"
    for block in blocks:
        kind = block.get("kind")
        for part_kind, text in block.get("parts", []):
            if part_kind == "m" and (problem := lint_formula(text)):
                return problem
            if len(text) > 5000:
                return f"too-long: a text run of {len(text)} characters"
        if kind == "display" and (problem := lint_formula(block["math"])):
            return problem
        if kind == "table" and (problem := lint_table(block["latex"])):
            return problem
        if kind == "heading" and len(block["text"]) > 200:
            return "too-long: a heading over 200 characters"
    return None


class LatexPageRenderer(Renderer):
    """Params (all optional): `layouts`, `fonts` (names from TEXT_FONTS), `dpi` [lo, hi],
    `probe_math` (colour math imperceptibly, so tests can tell it from prose)."""

    name = "latex-page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.layouts = chosen_names("latex-page", "layouts", params, LAYOUTS)
        self.fonts = chosen_names("latex-page", "fonts", params, PAGE_FONTS)
        self.dpi = tuple(params.get("dpi", [96, 144]))
        self.probe_math = bool(params.get("probe_math", False))
        self.target = str(params.get("target", "format"))  # or "layout"
        self.engine = TexEngine(timeout_s)

    def close(self) -> None:
        self.engine.close()

    def style(self, item: Item) -> Style:
        rng = self.style_rng(item)
        lang = item.content.get("lang", "en") if isinstance(item.content, dict) else "en"
        layout = rng.choice(self.layouts)
        return {
            "layout": layout,
            "font": rng.choice(self.fonts),
            "lang": "zh" if lang == "zh" else "en",
            "cjk_font": rng.choice(CJK_FONTS),
            "size": rng.choice([10, 11, 12]),
            "margin_cm": round(rng.uniform(1.5, 3.0), 1),
            "top_cm": round(rng.uniform(1.5, 2.5), 1),
            "dpi": rng.randint(*self.dpi),
            "page_pick": rng.random(),  # which of the document's pages becomes the sample
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return render_grouped(
            self.engine, items, [self.style(item) for item in items],
            lint=lambda item: lint_document(item.content),
            group=lambda style: f"{style['layout']}|{style['lang']}",
            preamble=self.preamble,
            body=self.body,
            sample=self.page_sample,
            multipage=True,
        )

    @staticmethod
    def preamble(key: str) -> str:
        layout, lang = key.split("|")
        document_class, options, _ = LAYOUTS[layout]
        return render_template("latex/page.tex.j2", document_class=document_class,
                               class_options=options, cjk=lang == "zh")

    @staticmethod
    def dest(item: Item, index: int, end: str) -> str:
        # \\leavevmode: in vertical mode the mark could stay behind on the previous page
        return f"\\leavevmode\\pdfdest name{{p{item.k}x{item.seed}b{index}{end}}} xyz\\relax "

    def math(self, tex: str, display: bool) -> str:
        math = f"$\\displaystyle {tex}$" if display else f"${tex}$"
        if self.probe_math:
            r, g, b = PROBE_RGB
            math = f"\\textcolor[rgb]{{{r},{g},{b}}}{{{math}}}"
        return math

    def edges(self, item: Item, index: int) -> str:
        """Destinations at the top and bottom of box 0 (a display or a table), for the
        layout target; zero-width boxes no taller than box 0, so the page is unchanged."""
        if self.target != "layout":
            return ""
        top, bottom = self.dest(item, index, "t"), self.dest(item, index, "b")
        return f"\\rlap{{\\raisebox{{\\ht0}}{{{top}}}}}\\rlap{{\\raisebox{{-\\dp0}}{{{bottom}}}}}"

    def inline(self, parts: list[list[str]], footnotes: list[str],
               note_dests: tuple[Item, int] | None = None) -> str:
        out = []
        for kind, text in parts:
            if kind == "m":
                out.append(self.math(text, display=False))
            elif kind == "f":
                footnotes.append(text)
                marks = ("", "")
                if note_dests is not None and self.target == "layout":
                    item, index = note_dests  # the note's own start and end, for its box
                    n = len(footnotes) - 1
                    marks = (self.dest(item, index, f"f{n}s"), self.dest(item, index, f"f{n}e"))
                out.append(f"\\footnote{{{marks[0]}{escape(text)}{marks[1]}}}")
            else:
                out.append(escape(text))
        return "".join(out)

    @staticmethod
    def font_switch(font: str) -> str:
        family = PAGE_FONTS[font]
        if font == "sans":
            return (f"\\renewcommand{{\\sfdefault}}{{{family}}}"
                    "\\renewcommand{\\familydefault}{\\sfdefault}\\normalfont")
        return (f"\\renewcommand{{\\rmdefault}}{{{family}}}"
                "\\renewcommand{\\familydefault}{\\rmdefault}\\normalfont")

    def body(self, item: Item, style: Style) -> str:
        size = style["size"]
        margin, top = style["margin_cm"], style["top_cm"]
        out = [
            f"\\newgeometry{{left={margin}cm,right={margin}cm,top={top}cm,bottom={top}cm}}",
            "\\setcounter{footnote}{0}",
            self.font_switch(style["font"]),
            f"\\fontsize{{{size}}}{{{round(size * 1.25, 1)}}}\\selectfont",
        ]
        if style["lang"] == "zh":
            out.append(f"\\begin{{CJK*}}{{UTF8}}{{{style['cjk_font']}}}")
        open_list: str | None = None
        for index, block in enumerate(item.content["blocks"]):
            kind = block["kind"]
            start, end = self.dest(item, index, "s"), self.dest(item, index, "e")
            want_list = ("enumerate" if block.get("ordered") else "itemize") \
                if kind == "item" else None
            if open_list and want_list != open_list:
                out.append(f"\\end{{{open_list}}}")
                open_list = None
            if kind == "heading":
                before, after = HEADINGS[block["level"]]
                if block["level"] == 1 and style["layout"] == "report":
                    # a report's title block is a chapter opening (it starts a new page)
                    before, after = "\\chapter*{", "}"
                out.append(f"{before}{start}{escape(block['text'])}{end}{after}")
            elif kind == "para":
                out.append(f"{start}{self.inline(block['parts'], [], (item, index))}{end}\\par")
            elif kind == "item":
                if open_list is None:
                    open_list = want_list
                    out.append(f"\\begin{{{open_list}}}")
                label = f"[{block['number']}.]" if block.get("ordered") else ""
                out.append(f"\\item{label} "
                           f"{start}{self.inline(block['parts'], [], (item, index))}{end}")
            elif kind == "display":
                out.append(self.boxed(item, index, self.math(block["math"], display=True)))
            elif kind == "table":
                table = block["latex"]
                if self.probe_math:
                    table = _CELL_MATH.sub(lambda m: self.math(m.group(1), False), table)
                out.append(self.boxed(item, index, table))
        if open_list:
            out.append(f"\\end{{{open_list}}}")
        if style["lang"] == "zh":
            out.append("\\end{CJK*}")
        return "\n".join(out)

    def boxed(self, item: Item, index: int, inner: str) -> str:
        """A display or a table: centred, scaled down to the line width if wider."""
        start, end = self.dest(item, index, "s"), self.dest(item, index, "e")
        fitted = f"\\adjustbox{{max width=\\linewidth}}{{{inner}}}"
        if self.target == "layout":
            fitted = f"\\sbox0{{{fitted}}}{self.edges(item, index)}\\usebox0"
        return f"\\par\\medskip{{\\centering{start}{fitted}{end}\\par}}\\medskip"

    # ----- after TeX: which blocks are on the chosen page, its target and boxes -----

    def page_sample(self, pdf: pymupdf.Document, pages: range, item: Item, style: Style
                    ) -> Sample | Reject:
        number = pick_page(pages, style["page_pick"])
        on_page = blocks_on_page(pdf, number, item)
        if isinstance(on_page, Reject):
            return on_page
        page = pdf[number]
        # one read of the text layer serves the boxes and the layout
        layer = page.get_text("dict", clip=pymupdf.INFINITE_RECT())
        boxes, problem = page_boxes(page, style, layer)
        if problem:
            return Reject(*problem)
        pix = page.get_pixmap(dpi=style["dpi"], colorspace=pymupdf.csGRAY, alpha=False)
        image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        shown = [item.content["blocks"][i] for i in on_page]
        first_note = footnotes_before(item.content["blocks"], on_page[0])
        paragraphs = sum(1 for box in boxes if box.text.startswith("\u2029"))
        boxes = [Box(b.x0, b.y0, b.x1, b.y1, b.text.lstrip("\u2029")) for b in boxes]
        meta = {**style, **item.meta, "page": number - pages.start, "pages": len(pages),
                "blocks": on_page, "paragraph_boxes": paragraphs}
        if self.target == "layout":
            layout = self.layout(pdf, number, item, style, on_page, first_note, image, layer)
            if isinstance(layout, Reject):
                return layout
            return Sample(image=image, target=layout, prompt=PROMPT_LAYOUT, task="layout",
                          boxes=boxes, meta={**meta, "target": "layout"})
        target = page_markdown(shown, first_footnote=first_note)
        return Sample(image=image, target=target, prompt=PROMPT_FORMAT, task="format",
                      boxes=boxes, meta=meta)

    def layout(self, pdf: pymupdf.Document, number: int, item: Item, style: Style,
               on_page: list[int], first_note: int, image: Image.Image,
               layer: dict | None = None) -> str | Reject:
        """The page's layout target (renderers/latex/page_layout.py), or why not."""
        blocks = [(i, item.content["blocks"][i]) for i in on_page]
        chunks, notes_md = page_chunks([b for _, b in blocks], first_footnote=first_note)
        owners = [(i, n) for i, b in blocks
                  for n, _ in enumerate(p for p in b.get("parts", []) if p[0] == "f")]
        page = pdf[number]
        found = latex_layout(page, number, dest_points(pdf), f"p{item.k}x{item.seed}",
                             blocks, chunks, [(i, n, md) for (i, n), md
                                              in zip(owners, notes_md, strict=True)],
                             text_frames(style, page.rect.width), style["dpi"] / 72, layer)
        if isinstance(found, Reject):
            return found
        target, problem = layout_target(found, image)
        return Reject("layout-ink", problem) if problem else target


def blocks_on_page(pdf: pymupdf.Document, number: int, item: Item) -> list[int] | Reject:
    """The document's blocks that page `number` shows, from their named destinations."""
    names = _dests(pdf)
    on_page: list[int] = []
    for index in range(len(item.content["blocks"])):
        start = names.get(f"p{item.k}x{item.seed}b{index}s")
        end = names.get(f"p{item.k}x{item.seed}b{index}e")
        if start is None or end is None:
            return Reject("lost-block", f"block {index} has no position in the PDF")
        if (start == number) != (end == number):
            return Reject("split-block", f"block {index} runs over a page break")
        if start == number:
            on_page.append(index)
    if not on_page:
        return Reject("blank", "the chosen page shows no block")
    return on_page


def pick_page(pages: range, pick: float) -> int:
    """The sample's page: mostly a full page (not the document's last, which is often
    short), sometimes the last one, so short pages are in the data too."""
    if len(pages) > 1 and pick < 0.85:
        return pages[int(pick / 0.85 * (len(pages) - 1))]
    return pages[-1] if len(pages) > 1 else pages[0]


def _dests(pdf: pymupdf.Document) -> dict[str, int]:
    """Named destination -> page number, resolved once per PDF."""
    cached = getattr(pdf, "_ocr2synth_dests", None)
    if cached is None:
        cached = {name: int(d["page"]) for name, d in pdf.resolve_names().items()
                  if isinstance(d, dict) and "page" in d}
        pdf._ocr2synth_dests = cached
    return cached


def footnotes_before(blocks: list[dict], first: int) -> int:
    return sum(1 for block in blocks[:first] for kind, _ in block.get("parts", [])
               if kind == "f")


def text_frames(style: Style, width: float) -> list[tuple[float, float]]:
    """The x ranges (points) that text may occupy: the text block, or its two columns."""
    margin = style["margin_cm"] * 72 / 2.54
    if not LAYOUTS[style["layout"]][2]:
        return [(margin, width - margin)]
    column = (width - 2 * margin - COLUMN_SEP_PT) / 2
    return [(margin, margin + column), (width - margin - column, width - margin)]


def page_boxes(page: pymupdf.Page, style: Style, layer: dict | None = None
               ) -> tuple[list[Box], tuple[str, str] | None]:
    """Paragraph boxes (text prefixed with U+2029) then line boxes, in pixels; or why the
    page is unusable: text off the page, or a line that overflows its column (an overfull
    line would run into the next column or the margin)."""
    scale = style["dpi"] / 72
    width, height = page.rect.width, page.rect.height
    frames = text_frames(style, width)
    paragraphs: list[Box] = []
    lines: list[Box] = []
    # No clip to the page: text pushed off the page must be seen, to be rejected.
    if layer is None:
        layer = page.get_text("dict", clip=pymupdf.INFINITE_RECT())
    for block in layer["blocks"]:
        if block.get("type") != 0:
            continue
        texts = []
        for line in block["lines"]:
            text = "".join(span["text"] for span in line["spans"]).strip()
            if not text:
                continue
            x0, y0, x1, y1 = line["bbox"]
            if x0 < -0.5 or y0 < -0.5 or x1 > width + 0.5 or y1 > height + 0.5:
                return [], ("clipped", f"text {text[:40]!r} runs off the page")
            if not any(lo - FRAME_SLACK_PT <= x0 and x1 <= hi + FRAME_SLACK_PT
                       for lo, hi in frames):
                return [], ("overfull", f"text {text[:40]!r} overflows its column")
            lines.append(Box(x0 * scale, y0 * scale, x1 * scale, y1 * scale, text))
            texts.append(text)
        if texts:
            x0, y0, x1, y1 = block["bbox"]
            paragraphs.append(Box(x0 * scale, y0 * scale, x1 * scale, y1 * scale,
                                  "\u2029" + " ".join(texts)))
    if not lines:
        return [], ("blank", "no text on the page")
    return paragraphs + lines, None
