"""`markdown-page`: Mathpix-markdown pages rendered by mathpix-markdown-it in a warm Chromium.

Each block of a document is rendered into the page; the page then drops, in the DOM, every
block from the first one that does not fit entirely inside the text area (and any block
wider than its column), so the picture never cuts a line and the target is exactly the
markdown of the blocks it shows, in reading order, footnotes last. Boxes (blocks, then
lines) come from the DOM's client rects, in image pixels.

`mode: formula` renders single formulas (the latex-formula sources) through MathJax in the
same browser, for a second formula engine.
"""

from __future__ import annotations

import re
import shutil
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import (
    PROMPT_FORMAT,
    PROMPT_LAYOUT,
    Box,
    Item,
    Reject,
    Renderer,
    Sample,
)
from ocr2synth.renderers.browser.engine import Browser, BrowserCrash, asset
from ocr2synth.renderers.faults import make_scratch_dir, remove_orphans
from ocr2synth.renderers.imaging import crop_to_ink, decode_png, is_blank
from ocr2synth.renderers.layout import LayoutBlock, layout_target
from ocr2synth.renderers.templates import TEMPLATES_DIR, render_template
from PIL import Image

_TMP_PREFIX = "ocr2synth-browser-"
_LIST_MARK = re.compile(r"(?:[-*+]|\d+[.)])\s")
FONTS = {
    "en": ["'Latin Modern Roman', serif", "'DejaVu Serif', serif", "'DejaVu Sans', sans-serif",
           "'Bitstream Charter', serif", "'GFS Baskerville', serif"],
    "zh": ["'Noto Serif CJK SC', serif", "'Noto Sans CJK SC', sans-serif"],
}


def page_html(folder: Path) -> Path:
    """The page shell, written once per browser: local bundle and layout script only."""
    html = render_template(
        "html/page.html.j2",
        bundle_uri=asset("mathpix-markdown-it/es5/bundle.js").as_uri(),
        options_js_uri=(TEMPLATES_DIR / "html" / "mathpix-options.js").as_uri(),
        page_js_uri=(TEMPLATES_DIR / "html" / "page.js").as_uri())
    path = folder / "page.html"
    path.write_text(html, encoding="utf-8")
    return path


def block_category(block: dict[str, Any]) -> str:
    """A block's layout category, from its kind (and, for a heading, its level; for a
    paragraph of a user's file, a list marker that opens it)."""
    kind, md = block["kind"], block["md"]
    if kind == "heading":
        return "title" if md.startswith("# ") else "section-header"
    if kind == "para" and _LIST_MARK.match(md):
        return "list-item"
    return {"item": "list-item", "display": "formula", "table": "table",
            "mdtable": "table"}.get(kind, "text")


def _corners(box: dict[str, float] | None) -> tuple[float, float, float, float]:
    # a block the DOM gave no rectangle: an empty box, which the ink check rejects
    return (box["x0"], box["y0"], box["x1"], box["y1"]) if box else (0.0, 0.0, 0.0, 0.0)


def _split_block(style: dict[str, Any], measured: list[dict[str, Any]]) -> int | None:
    """The first block whose box is wider than a column: one broken across two columns,
    which no single box can hold."""
    if style["columns"] < 2:
        return None
    _, right, _, left = style["padding"]
    column = (style["width"] - left - right - style["gap"]) / 2
    for n, m in enumerate(measured):
        if m["box"] and m["box"]["x1"] - m["box"]["x0"] > column + 1:
            return n
    return None


def target_markdown(blocks: list[dict[str, Any]], notes: list[dict[str, Any]]) -> str:
    """The markdown of the visible blocks: items of one list on consecutive lines, other
    blocks separated by a blank line, then the footnotes."""
    chunks: list[str] = []
    previous_item = False
    for block in blocks:
        is_item = block["kind"] == "item"
        chunks.append(("\n" if is_item and previous_item else "\n\n" if chunks else "")
                      + block["md"])
        previous_item = is_item
    if notes:
        chunks.append("\n\n" + "\n".join(f"[^{n['n']}]: {n['md']}" for n in notes))
    return "".join(chunks)


# Markdown characters (plus 40 per block, as _fit counts them) that a page holds per unit
# of its text area, a unit being the font size squared times the line height: the most
# seen up to a page's cut on 318 generated pages was 1.91 (English, two columns) and 1.08
# (Chinese); rounded up, so that a page almost never needs a second, doubled window.
# Handing a page much more than it holds costs layout (and markdown) for nothing.
CHARS_PER_UNIT = {"en": 2.0, "zh": 1.15}


def window_chars(style: dict[str, Any]) -> int:
    """How many markdown characters to hand a page of this style at first."""
    top, right, bottom, left = style["padding"]
    area = (style["width"] - left - right) * (style["height"] - top - bottom)
    units = area / (style["size"] ** 2 * style["lineHeight"])
    return max(500, int(units * CHARS_PER_UNIT.get(style["lang"], CHARS_PER_UNIT["en"])))


@dataclass
class _Fit:
    result: dict[str, Any]  # ocrPage's answer, note indexes in the document's notes
    shown: list[int]  # the document's blocks on the page, in order
    next: int  # the block the next page starts with
    dropped: dict[int, str]  # blocks left out: too wide for a column, taller than a page


class MarkdownPageRenderer(Renderer):
    """Params (optional): `mode` page|formula, `widths` (px), `columns` [1, 2], `fonts`
    (CSS families, per language), `restart_every` (pages per browser), `tag` (marks
    the browser's processes), `page_text` (keep the DOM text in meta, for checks),
    `per_capture` (pages laid out side by side and captured at once: 1 or 2),
    `window_chars` (markdown characters first handed to a page; 0 = from its style),
    `frame_control` (Chromium draws only the frames captured; default true)."""

    name = "markdown-page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.mode = params.get("mode", "page")
        if self.mode not in ("page", "formula"):
            raise ValueError(f"markdown-page: unknown mode {self.mode!r} (page, formula)")
        self.widths = [int(w) for w in params.get("widths", [896, 1024, 1152])]
        self.columns = [int(c) for c in params.get("columns", [1, 1, 2])]
        self.fonts = dict(FONTS, **params.get("fonts", {}))
        self.keep_text = bool(params.get("page_text", False))
        self.target = str(params.get("target", "format"))  # or "layout"
        # pages laid out side by side and taken in one capture
        self.per_capture = min(2, max(1, int(params.get("per_capture", 2))))
        # markdown characters handed to a page at first (more when they all fit); by
        # default estimated from the page's text area, font and language
        self.window_chars = int(params.get("window_chars", 0))
        self._starts: OrderedDict[str, list[int | None]] = OrderedDict()
        remove_orphans(_TMP_PREFIX)
        self._tmp = make_scratch_dir(_TMP_PREFIX)
        # removed on close, or at the latest when the interpreter exits
        self._remove_tmp = weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
        # the first viewport holds the largest page; each page then gets one of its own size
        self.browser = Browser(page_html(self._tmp),
                               viewport=(max(self.widths), int(max(self.widths) * 1.45) + 1),
                               restart_every=int(params.get("restart_every", 2000)),
                               timeout_s=max(timeout_s, 5.0), tag=str(params.get("tag", "")),
                               # a page draws one frame, its capture (formula mode clips
                               # its capture from a larger viewport)
                               frame_control=(self.mode == "page"
                                              and bool(params.get("frame_control", True))))

    def close(self) -> None:
        self.browser.close()
        self._remove_tmp()

    def style(self, item: Item) -> dict[str, Any]:
        """One style per document: every page of it looks the same."""
        if isinstance(item.content, dict) and "doc_seed" in item.content:
            item = Item(k=0, seed=int(item.content["doc_seed"]), content=item.content)
        rng = self.style_rng(item)
        lang = item.content.get("lang", "en") if isinstance(item.content, dict) else "en"
        width = rng.choice(self.widths)
        columns = rng.choice(self.columns) if width >= 880 else 1
        side = rng.randint(40, 110)
        return {
            "width": width,
            "height": int(width * rng.uniform(1.25, 1.45)),
            "padding": [rng.randint(40, 100), side, rng.randint(40, 100), side],
            "columns": columns,
            "gap": rng.randint(24, 48),
            "font": rng.choice(self.fonts["zh" if lang == "zh" else "en"]),
            "size": rng.randint(14, 18) if columns == 1 else rng.randint(13, 16),
            "lineHeight": round(rng.uniform(1.3, 1.7), 2),
            "align": rng.choice(["justify", "left"]),
            "lang": "zh" if lang == "zh" else "en",
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        if self.mode == "formula":
            return [self._with_retry(self.render_formula, item) for item in items]
        # pages side by side, taken in one capture: a capture has a fixed cost (a frame, a
        # readback, a PNG) that they then share; a page's pixels do not depend on its slot
        # (a test checks), so the pairing never changes the output
        out: list[Sample | Reject] = []
        for first in range(0, len(items), self.per_capture):
            group = items[first:first + self.per_capture]
            try:
                out += self._render_pages(group)
            except BrowserCrash:
                out += [self._with_retry(self.render_page, item) for item in group]
        return out

    @staticmethod
    def _with_retry(render: Callable[[Item], Sample | Reject], item: Item) -> Sample | Reject:
        """A fresh browser gets one more try at the item; an item that kills (or hangs) the
        browser twice is poison and is not tried again."""
        try:
            return render(item)
        except BrowserCrash:
            try:
                return render(item)
            except BrowserCrash as exc:
                reason = "timeout" if str(exc).startswith("timeout") else "poison"
                return Reject(reason, f"the browser died twice rendering this item:"
                                      f" {str(exc)[:300]}")

    def render_page(self, item: Item) -> Sample | Reject:
        """One page in its own capture."""
        return self._render_pages([item])[0]

    def _render_pages(self, items: list[Item]) -> list[Sample | Reject]:
        """Lay out each page in its own slot, left to right, then capture them at once."""
        styles = [self.style(item) for item in items]
        lefts = [sum(style["width"] for style in styles[:j]) for j in range(len(items))]
        width = sum(style["width"] for style in styles)
        height = max(style["height"] for style in styles)
        # laid out (and captured) in a viewport of exactly their size
        self.browser.fit_viewport(width, height)
        laid = [self._lay_out(item, style, slot, left) for slot, (item, style, left)
                in enumerate(zip(items, styles, lefts, strict=True))]
        if all(isinstance(one, Reject) for one in laid):
            return [one for one in laid if isinstance(one, Reject)]  # nothing to capture
        shot = self._image(width, height)
        return [one if isinstance(one, Reject) else
                self._sample(item, style, one, shot.crop(
                    (left, 0, left + style["width"], style["height"])))
                for item, style, left, one in zip(items, styles, lefts, laid, strict=True)]

    def _image(self, width: int, height: int) -> Image.Image:
        return decode_png(self.browser.screenshot(width, height), "L")

    def _fit(self, content: dict[str, Any], style: dict[str, Any], start: int,
             measure: bool, slot: int = 0, left: int = 0) -> _Fit | None:
        """Lay out the page whose first block is `start`: which blocks it shows and where
        the next page starts. A block taller than a whole page is skipped (the page
        starts after it); None when no block is left."""
        blocks, notes = content["blocks"], content.get("notes", [])
        skipped: dict[int, str] = {}
        chars = self.window_chars or window_chars(style)
        while start < len(blocks):
            end, used = start, 0
            while end < len(blocks) and used < chars:  # enough blocks to fill the page
                used += len(blocks[end]["md"]) + 40
                end += 1
            passed = [j for j, n in enumerate(notes) if start <= n["owner"] < end]
            result = self.browser.call("ocrPage", {
                **style, "measure": measure, "pageText": self.keep_text, "slot": slot,
                "left": left, "joint": bool(content.get("blocks_standalone")),
                # a layout target boxes each block once: no block may break across columns
                "whole": self.target == "layout",
                "blocks": [{"md": b.get("view", b["md"]), "kind": b["kind"]}
                           for b in blocks[start:end]],
                "notes": [{"owner": notes[j]["owner"] - start,
                           "md": f"\\(^{{{notes[j]['n']}}}\\) {notes[j]['md']}"}
                          for j in passed]})
            cut = result["cut"]
            if cut == end - start and end < len(blocks):
                chars *= 2  # all of them fit: the page may hold more
                continue
            dropped = {**skipped, **{start + int(i): why
                                     for i, why in result["dropped"].items()}}
            if not result["visible"]:
                skipped[start] = "too-tall"
                start += max(cut, 1)
                continue
            result["notes"] = [{**n, "index": passed[n["index"]]}
                               for n in result.get("notes", [])]
            return _Fit(result, [start + i for i in result["visible"]], start + cut, dropped)
        return None

    def _page_starts(self, content: dict[str, Any], style: dict[str, Any], page: int,
                     slot: int = 0, left: int = 0) -> list[int | None]:
        """Where the pages of `content`'s document start (None: past its end), known at
        least through `page`: laid out page by page from the first, and kept for the
        document's other pages."""
        key = str(content.get("doc", ""))
        starts = self._starts.setdefault(key, [0])
        self._starts.move_to_end(key)
        while len(self._starts) > 64:
            self._starts.popitem(last=False)
        while len(starts) <= page:
            previous = starts[-1]
            fit = (None if previous is None
                   else self._fit(content, style, previous, False, slot, left))
            starts.append(fit.next if fit else None)
        return starts

    def _lay_out(self, item: Item, style: dict[str, Any], slot: int, left: int
                 ) -> _Fit | Reject:
        """The page of `item` laid out in `slot` (at `left` px), ready for its capture."""
        content = item.content
        if not isinstance(content, dict) or "blocks" not in content:
            return Reject("bad-content", f"expected a markdown document, got {type(content)}")
        if content.get("error"):
            reason, _, detail = content["error"].partition(":")
            return Reject(reason, detail.strip())
        blocks = content["blocks"]
        if not blocks:
            return Reject("empty", "the document has no blocks")
        page = int(content.get("page", 0))
        starts = self._page_starts(content, style, page, slot, left)
        start = starts[page]
        fit = None if start is None else self._fit(content, style, start, True, slot, left)
        if fit is None:
            if page:
                return Reject("document-ended", f"page {page}: the document ends before it")
            return Reject("nothing-fits", f"none of {len(blocks)} blocks fits the page")
        if len(starts) == page + 1:
            starts.append(fit.next)
        if fit.result["rawMath"]:
            return Reject("raw-math", "math delimiters left unrendered on the page")
        return fit

    def _sample(self, item: Item, style: dict[str, Any], fit: _Fit, image: Image.Image
                ) -> Sample | Reject:
        """The sample of a laid-out page, from its capture."""
        content = item.content
        blocks, notes = content["blocks"], content.get("notes", [])
        page = int(content.get("page", 0))
        result = fit.result
        if is_blank(image):
            return Reject("blank", "the page rendered blank")
        visible = [blocks[i] for i in fit.shown]
        shown_notes = [notes[n["index"]] for n in result["notes"]]
        target = target_markdown(visible, shown_notes)
        para: list[Box] = []
        lines: list[Box] = []
        for block, measured in zip(visible + shown_notes, result["blocks"] + result["notes"],
                                   strict=True):
            if measured["box"]:
                b = measured["box"]
                para.append(Box(b["x0"], b["y0"], b["x1"], b["y1"], block["md"]))
            lines += [Box(ln["x0"], ln["y0"], ln["x1"], ln["y1"], ln["text"])
                      for ln in measured["lines"]]
        meta = {**style, **item.meta, "page": page, "blocks": fit.shown,
                "blocks_total": len(blocks), "blocks_left": len(blocks) - fit.next,
                "dropped": {str(i): why for i, why in fit.dropped.items()},
                "paragraph_boxes": len(para)}
        if self.keep_text:  # the DOM's text of the shown blocks, for checks
            meta["page_text"] = [m["text"] for m in result["blocks"] + result["notes"]]
        if self.target == "layout":
            split = _split_block(style, result["blocks"])
            if split is not None:
                return Reject("split-block", f"block {fit.shown[split]} runs over a column "
                              "break (Chromium may break a block the page asks to keep whole)")
            layout, problem = layout_target(
                [LayoutBlock(block_category(block), *_corners(m["box"]), block["md"])
                 for block, m in zip(visible, result["blocks"], strict=True)]
                + [LayoutBlock("footnote", *_corners(m["box"]), f"[^{note['n']}]: {note['md']}")
                   for note, m in zip(shown_notes, result["notes"], strict=True)], image)
            if problem:
                return Reject("layout-ink", problem)
            return Sample(image=image, target=layout, prompt=PROMPT_LAYOUT, task="layout",
                          boxes=para + lines, meta={**meta, "target": "layout"})
        return Sample(image=image, target=target, prompt=PROMPT_FORMAT, task="format",
                      boxes=para + lines, meta=meta)

    def render_formula(self, item: Item) -> Sample | Reject:
        tex = item.content
        if not isinstance(tex, str) or not tex.strip():
            return Reject("bad-content", "expected a LaTeX formula")
        rng = self.style_rng(item)
        result = self.browser.call("ocrFormula", {
            "tex": tex, "size": rng.randint(18, 40), "pad": 8})
        if result["error"]:
            return Reject("mathjax-error", str(result["error"])[:200])
        if not result["svg"]:
            return Reject("no-math", "MathJax drew nothing")
        width, height = result["width"], result["height"]
        if width > 4000 or height > 2000:
            return Reject("too-large", f"{width}x{height} px")
        image = crop_to_ink(self._image(max(width, 1), max(height, 1)), margin=rng.randint(4, 16))
        if image is None:
            return Reject("blank", "the formula rendered blank")
        return Sample(image=image, target=tex, prompt=PROMPT_FORMAT, task="format",
                      meta={**item.meta, "engine": "mathjax"})
