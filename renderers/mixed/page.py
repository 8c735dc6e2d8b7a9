"""`mixed-page`: pages of prose with OCR-2.0 objects drawn by the project's own renderers,
placed as captioned figures in one or two columns, in English or Chinese.

Each object (a formula, a table, a chart of either engine, a molecule, a music excerpt, a
TikZ figure) is an item of that renderer's own source; the batch's objects are rendered
by those renderers, one batch per engine (per round, for engines that draw one object at
a time: only objects a page reaches are drawn, `render_batch`), and each object's target
is exactly the target its renderer emitted for it. The page is then composed here: prose
set line by line with FreeType (Pillow, glyphs cached: `text.py`) in real fonts, each
object pasted whole with its caption under it, in reading order, column after column,
until the page is full. What was placed is recorded
(box, renderer, item) and both targets are written from that record alone; the renderer
checks that every placed object's pixels are in the page as pasted and that no two
blocks share ink (renderers/layout.py).

Format target (Mathpix markdown), blocks in reading order separated by a blank line:
`# title` / `## heading`, prose as text, captions as their own paragraph, and each object
in its own target format: `\\[ … \\]` around a formula, a table's `tabular` as it is,
`<smiles>…</smiles>` (as Mathpix markdown writes molecules), and fenced blocks for the
formats markdown has no syntax for: ```` ```kern ````, ```` ```tikz ```` and
```` ```chart ```` (the chart's OneChart dict).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ocr2synth.renderers.base import (
    PROMPT_FORMAT,
    PROMPT_LAYOUT,
    Item,
    Reject,
    Renderer,
    Sample,
    render_isolated,
)
from ocr2synth.renderers.browser.markdown_source import escape
from ocr2synth.renderers.layout import LayoutBlock, layout_target
from ocr2synth.renderers.mixed.objects import fit_object, object_markdown
from ocr2synth.renderers.mixed.source import CATEGORY, OBJECTS
from ocr2synth.renderers.mixed.text import (
    TextMask,
    drawable,
    line_width,
    load_font,
    wrapped,
)
from PIL import Image, ImageFont

# The objects' renderers as a page calls them: narrower charts (a page column is ~450-
# 1100 px), plain paper and no title for music (the page is the paper), and two fonts for
# the TeX objects: each font is a TeX run per batch, and a page's objects are few. Formulas
# and tables are typeset at resolutions that give their text about the page's own size
# (14-19 px: 10 pt at 100-170 dpi); at their renderers' defaults (up to 300 and 220 dpi)
# a formula's symbols stood twice the height of the prose, and many were rasterised large
# only to be scaled down to their column, or dropped as too large for it.
SUB_PARAMS: dict[str, dict[str, Any]] = {
    "latex-formula": {"fonts": ["computer-modern", "times"], "dpi": [110, 170]},
    "latex-table": {"fonts": ["computer-modern", "times"], "dpi": [100, 150]},
    "tikz": {"fonts": ["computer-modern", "times"]},
    "chart-mpl": {"widths": [440, 520, 600]},
    "chart-echarts": {"widths": [440, 520, 600]},
    "music": {"paper_rate": 0.0, "title_rate": 0.0},
}
# What an object on a one-column page is drawn with instead: its column is 800-1130 px, so
# a Matplotlib chart is drawn wide, at about the size it is pasted at. Charts drawn at the
# two-column widths sat small there, and narrow charts clash more often (each clash is a
# second draw, and a chart that clashes every time is drawn three or four times and then
# rejected). ECharts keeps one size: a second renderer would be a second browser.
ONE_COLUMN_PARAMS: dict[str, dict[str, Any]] = {
    "chart-mpl": {"widths": [640, 720, 800]},
}


def sub_params(name: str, columns: int) -> dict[str, Any]:
    """The params an object's renderer is made with on a page of `columns` columns: with
    them, that renderer alone gives the object's target for the same item."""
    return ONE_COLUMN_PARAMS.get(name, {}) if columns == 1 and name in ONE_COLUMN_PARAMS \
        else SUB_PARAMS.get(name, {})
FONTS = {"en": [("Latin Modern Roman", "Latin Modern Roman:bold"),
                ("DejaVu Serif", "DejaVu Serif:bold"),
                ("DejaVu Sans", "DejaVu Sans:bold")],
         "zh": [("Noto Serif CJK SC", "Noto Serif CJK SC:bold"),
                ("Noto Sans CJK SC", "Noto Sans CJK SC:bold")]}
INK = (20, 20, 20)
# Object engines that start once per batch (a TeX run per font; a fresh browser page):
# their objects are drawn together, all that the text leaves in reach. The others draw
# object by object, so only the objects a page does reach are drawn (`render_batch`).
PER_BATCH = {"latex-formula", "latex-table", "tikz", "chart-echarts"}
# objects to draw, by (renderer, columns of their pages): (page, block, item) each
Wanted = dict[tuple[str, int], list[tuple[int, int, Item]]]


class MixedPageRenderer(Renderer):
    """Params (optional): `target` format|layout, `widths` (page widths, px), `columns`
    (column counts drawn from, overriding the plan's), `objects` (the renderers a plan
    draws from; the source reads it)."""

    name = "mixed-page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.target = str(params.get("target", "format"))
        self.widths = [int(w) for w in params.get("widths", [1000, 1100, 1240])]
        self.columns = [int(c) for c in params.get("columns", [])]
        self._renderers: dict[tuple[str, bool], Renderer] = {}
        self.prune = True  # objects past the page's reach are not drawn (tests compare)
        # an object cropped and scaled to a column, per batch: a page is placed once per
        # round while its objects are drawn
        self._fitted: dict[tuple[int, float, float], tuple[Image.Image, float] | str] = {}

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def sub(self, name: str, columns: int = 2) -> Renderer:
        """An object's renderer for a page of `columns` columns, started on first use and
        kept warm."""
        key = (name, columns == 1 and name in ONE_COLUMN_PARAMS)
        if key not in self._renderers:
            from ocr2synth.renderers.registry import get_spec

            self._renderers[key] = get_spec(name).make_renderer(sub_params(name, columns),
                                                                self.timeout_s)
        return self._renderers[key]

    def style(self, item: Item) -> dict[str, Any]:
        rng = self.style_rng(item)
        lang = item.content["lang"]
        width = rng.choice(self.widths)
        columns = rng.choice(self.columns) if self.columns else int(item.content["columns"])
        body, bold = rng.choice(FONTS[lang])
        size = rng.randint(15, 19) if columns == 1 else rng.randint(14, 17)
        return {"width": width, "height": round(width * rng.uniform(1.29, 1.42)),
                "margin": rng.randint(56, 96), "columns": columns, "gap": rng.randint(28, 44),
                "font": body, "bold": bold, "size": size,
                "line": round(size * rng.uniform(1.35, 1.6)), "lang": lang}

    # ----- rendering -----

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        bad = {pos: why for pos, item in enumerate(items) if (why := _content_problem(item))}
        live = [pos for pos in range(len(items)) if pos not in bad]
        drawn: dict[int, dict[int, Sample | Reject]] = {pos: {} for pos in live}
        try:
            # first every object the text leaves in reach whose engine starts per batch
            # (or every object at all, unpruned), one batch per engine
            columns = {pos: self.style(items[pos])["columns"] for pos in live}
            wanted: Wanted = defaultdict(list)
            for pos in live:
                blocks = items[pos].content["blocks"]
                reach = self.reach(items[pos]) if self.prune else len(blocks)
                for n, block in enumerate(blocks[:reach]):
                    if block["kind"] == "object" and (not self.prune
                                                      or block["renderer"] in PER_BATCH):
                        wanted[self._engine(block, columns[pos])].append(
                            (pos, n, block["item"]))
            self._render_objects(wanted, drawn)
            # then, round by round, each page's first object not drawn yet, if the page
            # reaches it (all before it is known, so it surely does): objects a page never
            # reaches are never drawn
            pending = live if self.prune else []
            while pending:
                wanted = defaultdict(list)
                for pos in pending:
                    item = items[pos]
                    stop = self.place(item, self.style(item), drawn[pos])[2]
                    blocks = item.content["blocks"]
                    n = next((n for n in range(stop) if blocks[n]["kind"] == "object"
                              and n not in drawn[pos]), None)
                    if n is not None:
                        wanted[self._engine(blocks[n], columns[pos])].append(
                            (pos, n, blocks[n]["item"]))
                self._render_objects(wanted, drawn)
                pending = sorted({pos for entries in wanted.values() for pos, _, _ in entries})
            return [bad[pos] if pos in bad else self.page(item, drawn[pos])
                    for pos, item in enumerate(items)]
        finally:
            self._fitted.clear()

    @staticmethod
    def _engine(block: dict[str, Any], columns: int) -> tuple[str, int]:
        """Which renderer draws an object: its name and the page's columns, as the same
        renderer for one- and two-column pages where their params are the same."""
        name = block["renderer"]
        return name, columns if name in ONE_COLUMN_PARAMS else 2

    def _render_objects(self, wanted: Wanted,
                        drawn: dict[int, dict[int, Sample | Reject]]) -> None:
        for (name, columns), entries in wanted.items():
            outcomes = render_isolated(self.sub(name, columns),
                                       [sub for _, _, sub in entries])
            for (pos, n, _), outcome in zip(entries, outcomes, strict=True):
                drawn[pos][n] = outcome

    def reach(self, item: Item) -> int:
        """The block at which the page fills with its text alone: no object after it can
        be placed, so none is drawn. Exact, not a guess: placing the objects too only adds
        height before each block, and a block placed no earlier in reading order than it
        was fits no better, so the page with its objects stops at this block or before."""
        return self.place(item, self.style(item), {})[2]

    def page(self, item: Item, drawn: dict[int, Sample | Reject]) -> Sample | Reject:
        style = self.style(item)
        placed, dropped, _ = self.place(item, style, drawn)
        if not any(p["kind"] == "object" for p in placed):
            return Reject("no-object", f"no object fits the page ({dropped})")
        image, clash = self.draw(style, placed)
        if clash:
            return Reject("not-drawn", clash)
        for p in placed:
            if p["kind"] == "object":
                picture = p["image"]
                if picture.mode != image.mode:
                    picture = picture.convert(image.mode)
                if image.crop(p["box"]).tobytes() != picture.tobytes():
                    return Reject("not-drawn", f"object {p['index']} is not on the page")
        meta = {**item.meta, **style, "dropped": dropped,
                "objects": [{"renderer": p["renderer"], "k": p["item"].k,
                             "seed": p["item"].seed, "block": p["index"],
                             "scale": p["scale"], "box": list(p["box"])}
                            for p in placed if p["kind"] == "object"]}
        if self.target == "layout":
            target, problem = layout_target([_layout_block(p) for p in placed], image)
            if problem:
                return Reject("layout-ink", problem)
            return Sample(image=image, target=target, prompt=PROMPT_LAYOUT, task="layout",
                          meta={**meta, "target": "layout"})
        return Sample(image=image, target="\n\n".join(p["markdown"] for p in placed),
                      prompt=PROMPT_FORMAT, task="format", meta=meta)

    def place(self, item: Item, style: dict[str, Any], drawn: dict[int, Sample | Reject]
              ) -> tuple[list[dict[str, Any]], dict[str, str], int]:
        """Blocks in order, column after column, until one does not fit: (what was placed,
        with boxes in pixels, the objects left out, with why, and the block it stopped at;
        the number of blocks if all were placed)."""
        w, h, m, gap = style["width"], style["height"], style["margin"], style["gap"]
        cols = style["columns"]
        col_w = (w - 2 * m - gap * (cols - 1)) / cols
        cjk = style["lang"] == "zh"
        size, line = style["size"], style["line"]
        body = load_font(style["font"], size)
        fonts = {"title": load_font(style["bold"], round(size * 1.6)),
                 "heading": load_font(style["bold"], round(size * 1.25)),
                 "caption": load_font(style["font"], round(size * 0.9))}
        placed: list[dict[str, Any]] = []
        dropped: dict[str, str] = {}
        col, y = 0, float(m)
        bottom = h - m
        headings = 0
        numbers: dict[str, int] = defaultdict(int)  # placed figures and tables, so far
        for n, block in enumerate(item.content["blocks"]):
            kind = block["kind"]
            if kind == "object":
                outcome = drawn.get(n)
                if not isinstance(outcome, Sample):
                    dropped[str(n)] = outcome.reason if outcome else "not-drawn"
                    continue
                label = block["label"]
                sep = "：" if cjk else ": "
                caption = f"{label} {numbers[label] + 1}{sep}{block['caption']}"
                piece = self._figure(n, block, outcome, caption, col_w, (h - 2 * m),
                                     fonts["caption"], round(line * 0.9), cjk)
                if isinstance(piece, str):
                    dropped[str(n)] = piece
                    continue
            else:
                role = _role(block, headings)
                headings += kind == "heading"
                font = fonts.get(role, body)
                if not drawable(block["text"], style["bold"] if role in fonts else
                                style["font"]):
                    dropped[str(n)] = "no-glyph"  # it would show as boxes: left off
                    continue
                step = round(line * (1.6 if role == "title" else 1.25 if role == "heading"
                                     else 1.0))
                marker = _marker(block) if role == "item" else ""
                indent = round(line_width(font, marker, cjk) + size * 0.6) if marker else 0
                lines = wrapped(block["text"], font, col_w - indent, cjk)
                if any(line_width(font, text, cjk) > col_w - indent + 0.5 for text in lines):
                    dropped[str(n)] = "overfull"  # a word wider than the column
                    return placed, dropped, n
                text = escape(block["text"])
                markdown = {"title": "# ", "heading": "## "}.get(role, "") + text
                if marker:
                    markdown = f"{'-' if marker == BULLET else marker} {text}"
                piece = [{"kind": role, "lines": lines, "font": font, "step": step,
                          "height": step * len(lines), "markdown": markdown, "text": markdown,
                          "index": n, "marker": marker, "indent": indent}]
            height = sum(p["height"] for p in piece) + line * 0.6 * (len(piece) - 1)
            # a heading keeps with the paragraph after it (or a few lines of what follows),
            # counting the gap between them, or it could end a column with its text in the
            # next
            need = height
            if kind == "heading":
                after = item.content["blocks"][n + 1:n + 2]
                need += line + (round(line) * len(wrapped(after[0]["text"], body, col_w, cjk))
                                if after and after[0]["kind"] == "para" else 3 * line)
            if y + need > bottom:
                if col + 1 < cols and height <= bottom - m:
                    col, y = col + 1, float(m)
                else:  # the page is full: this block and the rest go unplaced
                    return placed, dropped, n
            x = m + col * (col_w + gap)
            if kind == "object" and len(piece) > 1:
                numbers[block["label"]] += 1
            for p in piece:
                left = x + (col_w - p["width"]) / 2 if "width" in p else x
                x0, y0 = round(left), round(y)
                p["box"] = (x0, y0, x0 + round(p.get("width", col_w)), y0 + p["height"])
                p["x"] = x0
                y += p["height"] + line * 0.6
                placed.append(p)
            # the items of one list sit closer together than paragraphs
            y += line * (-0.3 if kind == "item" and _next_kind(item, n) == "item" else 0.4)
        return placed, dropped, len(item.content["blocks"])

    def _figure(self, n: int, block: dict[str, Any], sample: Sample, caption: str,
                col_w: float, text_h: float, font: ImageFont.FreeTypeFont, step: int,
                cjk: bool) -> list[dict[str, Any]] | str:
        """An object and its caption, scaled to the column; or why it cannot be placed."""
        gray = sample.image.mode in ("L", "1")
        key = (id(sample), col_w, text_h)  # the sample lives as long as the batch
        if key not in self._fitted:
            mode = "L" if gray else "RGB"
            # fit_object crops, so a picture already in its mode needs no copy first
            picture = sample.image if sample.image.mode == mode else sample.image.convert(mode)
            self._fitted[key] = fit_object(picture, col_w, text_h)
        fitted = self._fitted[key]
        if isinstance(fitted, str):
            return fitted
        image, scale = fitted
        placed = {"kind": "object", "renderer": block["renderer"], "item": block["item"],
                  "image": image, "width": image.width, "height": image.height,
                  "scale": round(scale, 4), "target": sample.target, "index": n,
                  "gray": gray, "markdown": object_markdown(block["renderer"], sample.target)}
        lines = wrapped(caption, font, col_w, cjk)
        caption_box = {}
        if len(lines) == 1:  # a one-line caption is centred under its figure
            caption_box["width"] = line_width(font, lines[0], cjk)
        return [placed,
                {"kind": "caption", "lines": lines, "font": font, "step": step,
                 "height": step * len(lines), "markdown": escape(caption),
                 "text": escape(caption), "index": n, **caption_box}]

    @staticmethod
    def draw(style: dict[str, Any], placed: list[dict[str, Any]]
             ) -> tuple[Image.Image, str | None]:
        """The page (grayscale when every object is: black on white, a third of the bytes
        to encode) and, if some text's ink reaches into an object's box, what clashed."""
        text = TextMask(style["width"], style["height"])
        cjk = style["lang"] == "zh"
        objects = [p for p in placed if p["kind"] == "object"]
        for p in placed:
            if p["kind"] == "object":
                continue
            x0, y0, _, _ = p["box"]
            if p.get("marker"):
                text.line(p["font"], p["x"], y0, p["marker"], cjk)
            for i, line in enumerate(p["lines"]):
                text.line(p["font"], p["x"] + p.get("indent", 0), y0 + i * p["step"], line,
                          cjk)
        # the text is set on white paper, the objects pasted over it: text ink under an
        # object would be hidden, so the page is not drawn as its record says
        clash = next((f"text under object {p['index']}" for p in objects
                      if text.touches(p["box"])), None)
        image = text.render("L" if all(p["gray"] for p in objects) else "RGB", INK[0])
        for p in objects:
            image.paste(p["image"], p["box"][:2])
        return image, clash


BULLET = "•"


def _role(block: dict[str, Any], headings: int) -> str:
    """A block's part on the page: a real heading of level 1 (a chapter's) is the title;
    in a generated plan the first heading is."""
    if block["kind"] == "heading":
        first = block["level"] == 1 if "level" in block else headings == 0
        return "title" if first else "heading"
    return "item" if block["kind"] == "item" else "body"


def _marker(block: dict[str, Any]) -> str:
    return f"{block['number']}." if block.get("ordered") else BULLET


def _next_kind(item: Item, n: int) -> str | None:
    after = item.content["blocks"][n + 1:n + 2]
    return after[0]["kind"] if after else None


def _layout_block(p: dict[str, Any]) -> LayoutBlock:
    category = {"title": "title", "heading": "section-header", "body": "text",
                "item": "list-item", "caption": "caption"}.get(p["kind"])
    if p["kind"] == "object":
        category = CATEGORY[p["renderer"]]
    text = p["target"] if p["kind"] == "object" else p["text"]
    return LayoutBlock(category, *p["box"], text)


def _content_problem(item: Item) -> Reject | None:
    content = item.content
    if not isinstance(content, dict) or not isinstance(content.get("blocks"), list):
        return Reject("bad-content", "a page plan of blocks expected")
    if content.get("error"):  # a corpus document that gave no passage
        reason, _, detail = str(content["error"]).partition(":")
        return Reject(reason, detail.strip())
    if content.get("lang") not in FONTS:
        return Reject("bad-content", f"unknown language {content.get('lang')!r}")
    for block in content["blocks"]:
        if block.get("kind") == "object" and block.get("renderer") not in OBJECTS:
            return Reject("bad-content", f"unknown object renderer {block.get('renderer')!r}")
    return None
