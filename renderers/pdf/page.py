"""`pdf-page`: PDF pages rasterized at varied resolutions, with the text of their own text
layer as the target (prompt `OCR: `), and GOT stage-1 slices: single lines and paragraphs
cropped from the page with exactly their text.

Params (all optional):
  dpi: [lo, hi]           resolution drawn per item (default [100, 200])
  backend: pymupdf|poppler  rasterizer; poppler (pdf2image) renders whole pages only
  unit: page|line|paragraph, or a list of them drawn per item (default page)
  color: auto|gray|rgb    auto keeps RGB only for pages that show colour
  zh: share of Chinese documents in the generated default source (default 0.2)

Item k is one page reference (or one generated document); with `unit: line` or
`paragraph` the slice is drawn from that page's lines or paragraphs by the item's seed, so
sample k is one slice and a pure function of (seed, k).
"""

from __future__ import annotations

import random
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
import pymupdf
from ocr2synth.renderers.base import (
    PROMPT_LAYOUT,
    PROMPT_OCR,
    Box,
    Item,
    Reject,
    Renderer,
    Sample,
)
from ocr2synth.renderers.imaging import ink_bbox, touches_edge
from ocr2synth.renderers.latex.batching import reject_from
from ocr2synth.renderers.pdf.text import (
    Line,
    PageText,
    Paragraph,
    clean,
    quality_problem,
    read_page,
    shows_colour,
    text_page,
    text_rect,
    to_pixels,
)
from PIL import Image

BACKENDS = ("pymupdf", "poppler")
UNITS = ("page", "line", "paragraph")
COLORS = ("auto", "gray", "rgb")
MAX_SIDE = 4096  # pixels; a poster-sized page is drawn at a lower dpi than asked
OPEN_DOCS = 8  # open documents kept per renderer (a folder is read file after file)
MIN_LINE_CHARS = 3  # a line slice shows at least this many non-space characters
# A slice keeps this far (points) from a neighbour's box: the raster rounds its clip out to
# whole pixels, and that last row must not catch the tops of the next line's letters.
KEEP_OFF_PT = 1.0


class PdfPageRenderer(Renderer):
    name = "pdf-page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        lo, hi = (int(v) for v in params.get("dpi", [100, 200]))
        if not 36 <= lo <= hi <= 600:
            raise ValueError(f"pdf-page: dpi must be [lo, hi] within 36..600, got {[lo, hi]}")
        self.dpi = (lo, hi)
        self.backend = str(params.get("backend", "pymupdf"))
        if self.backend not in BACKENDS:
            raise ValueError(f"pdf-page: unknown backend {self.backend!r} (known: {BACKENDS})")
        units = params.get("unit", "page")
        self.units = [units] if isinstance(units, str) else list(units)
        if not self.units or any(u not in UNITS for u in self.units):
            raise ValueError(f"pdf-page: unit must be one or more of {UNITS}, got {units!r}")
        self.color = str(params.get("color", "auto"))
        if self.color not in COLORS:
            raise ValueError(f"pdf-page: unknown color {self.color!r} (known: {COLORS})")
        self.target = str(params.get("target", "format"))  # or "layout" (whole pages)
        self._docs: OrderedDict[str, pymupdf.Document] = OrderedDict()
        self._latex = None  # LatexPageRenderer, started on the first generated item

    def close(self) -> None:
        for doc in self._docs.values():
            doc.close()
        self._docs.clear()
        if self._latex is not None:
            self._latex.close()

    def style(self, item: Item) -> dict[str, Any]:
        rng = random.Random(item.seed ^ 0x9DF_5EED)
        return {
            "dpi": rng.randint(*self.dpi),
            "unit": rng.choice(self.units),
            "pick": rng.random(),  # which line or paragraph becomes the slice
            "pad_pt": round(rng.uniform(2.0, 8.0), 1),
        }

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        results: list[Sample | Reject | None] = [None] * len(items)
        generated = [pos for pos, item in enumerate(items)
                     if isinstance(item.content, dict) and "latex" in item.content]
        for pos, item in enumerate(items):
            if pos not in generated:
                results[pos] = self._from_file(item)
        if generated:
            self._from_latex(items, generated, results)
        return results  # type: ignore[return-value]

    # ----- where the page comes from -----

    def _open(self, path: str) -> pymupdf.Document:
        doc = self._docs.pop(path, None)
        if doc is None:
            doc = pymupdf.open(path)
            if len(self._docs) >= OPEN_DOCS:
                self._docs.popitem(last=False)[1].close()
        self._docs[path] = doc
        return doc

    def _from_file(self, item: Item) -> Sample | Reject:
        content = item.content
        if not isinstance(content, dict) or "path" not in content:
            return Reject("bad-content", "a {path, page} reference expected")
        if content.get("error"):
            return reject_from(content["error"])
        try:
            doc = self._open(content["path"])
        except Exception as exc:
            return Reject("corrupt-pdf", f"{type(exc).__name__}: {exc}")
        if doc.needs_pass:
            return Reject("encrypted", "the PDF needs a password")
        if not 0 <= content["page"] < doc.page_count:
            return Reject("missing-page", f"page {content['page']} of {doc.page_count}")
        return self.page_outcome(doc, content["page"], item, self.style(item))

    def _from_latex(self, items: list[Item], positions: list[int],
                    results: list[Sample | Reject | None]) -> None:
        for pos, typeset in self.typeset(items, positions):
            if isinstance(typeset, Reject):
                results[pos] = typeset
                continue
            pdf, number, pages, tex_style = typeset
            outcome = self.page_outcome(pdf, number, items[pos], self.style(items[pos]))
            if isinstance(outcome, Sample):
                outcome.meta.update(layout=tex_style["layout"], font=tex_style["font"],
                                    page=number - pages.start, pages=len(pages))
                if self.target == "layout" and outcome.meta["unit"] == "page":
                    doc_item = Item(items[pos].k, items[pos].seed, items[pos].content["latex"])
                    outcome = self._typeset_layout(outcome, pdf, number, doc_item, tex_style)
            results[pos] = outcome

    def typeset(self, items: list[Item], positions: list[int]
                ) -> Iterator[tuple[int, Reject | tuple[pymupdf.Document, int, range, dict]]]:
        """Typeset the generated documents at `positions`, one TeX run per layout and
        language; yields each position with (its PDF, the chosen page, the document's
        pages, the TeX style), or a reject. The PDF is open only until the next yield."""
        from ocr2synth.renderers.latex.page import LatexPageRenderer, lint_document, pick_page

        if self._latex is None:
            # in layout mode its documents carry the marks its layout reads (same pixels)
            self._latex = LatexPageRenderer({"target": self.target}, self.timeout_s)
        latex = self._latex
        groups: dict[str, list[tuple[int, Item, dict]]] = defaultdict(list)
        for pos in positions:
            doc_item = Item(items[pos].k, items[pos].seed, items[pos].content["latex"])
            problem = lint_document(doc_item.content)
            if problem:
                yield pos, reject_from(problem)
                continue
            tex_style = latex.style(doc_item)
            groups[f"{tex_style['layout']}|{tex_style['lang']}"].append(
                (pos, doc_item, tex_style))
        for key, members in groups.items():
            bodies = [latex.body(doc_item, tex_style) for _, doc_item, tex_style in members]
            with latex.engine.typeset(latex.preamble(key), bodies, multipage=True) as batch:
                for local, (pos, _, tex_style) in enumerate(members):
                    if local in batch.failures:
                        yield pos, reject_from(batch.failures[local])
                        continue
                    pages = batch.page_ranges[local]
                    number = pick_page(pages, tex_style["page_pick"])
                    yield pos, (batch.pdf, number, pages, tex_style)

    # ----- one page: text layer, checks, raster, sample -----

    def page_outcome(self, doc: pymupdf.Document, number: int, item: Item,
                     style: dict[str, Any]) -> Sample | Reject:
        try:
            page = doc[number]
            textpage = text_page(page)
            text = read_page(page, textpage)
        except Exception as exc:  # a damaged page object or content stream
            return Reject("bad-page", f"{type(exc).__name__}: {exc}")
        problem = quality_problem(page, text)
        if problem:
            return Reject(*problem)
        longest = max(page.rect.width, page.rect.height) / 72
        dpi = min(style["dpi"], int(MAX_SIDE / longest))
        meta = {**item.meta, "dpi": dpi, "backend": self.backend, "unit": style["unit"],
                "page": number, "pages": doc.page_count, "columns": text.columns}
        if style["unit"] == "page":
            # a generated document's layout comes from its marks, once it is drawn
            from_file = not (isinstance(item.content, dict) and "latex" in item.content)
            return self._page_sample(doc, page, number, text, dpi, meta, from_file)
        return self._slice_sample(doc, page, number, text, textpage, dpi, style, meta)

    def _page_sample(self, doc: pymupdf.Document, page: pymupdf.Page, number: int,
                     text: PageText, dpi: int, meta: dict[str, Any],
                     from_file: bool = True) -> Sample | Reject:
        image = self.raster(doc, page, number, dpi, None, text)
        if isinstance(image, Reject):
            return image
        paragraphs = [Box(*to_pixels(page, p.bbox, image.size), p.text) for p in text.paragraphs]
        lines = [Box(*to_pixels(page, _bbox(ln), image.size), ln.text) for ln in text.lines]
        meta["paragraph_boxes"] = len(paragraphs)
        if self.target == "layout" and from_file:
            # A PDF's text layer says where text is, not what it is: its paragraphs split
            # and merge where the page's blocks do not, and nothing marks a heading, a
            # caption or a running head. Guessed categories would be wrong labels.
            return Reject("no-roles", "a PDF file records no block roles; layout targets "
                          "come from generated documents")
        return Sample(image=image, target=text.text, prompt=PROMPT_OCR, task="ocr",
                      boxes=paragraphs + lines, meta=meta)

    def _typeset_layout(self, sample: Sample, pdf: pymupdf.Document, number: int,
                        doc_item: Item, tex_style: dict[str, Any]) -> Sample | Reject:
        """A generated page's layout target: latex-page's, from the marks it typeset, at
        the dpi this page was drawn with; the roles are the source document's."""
        from ocr2synth.renderers.latex.page import blocks_on_page, footnotes_before

        on_page = blocks_on_page(pdf, number, doc_item)
        if isinstance(on_page, Reject):
            return on_page
        first = footnotes_before(doc_item.content["blocks"], on_page[0])
        layout = self._latex.layout(pdf, number, doc_item,
                                    {**tex_style, "dpi": sample.meta["dpi"]}, on_page, first,
                                    sample.image)
        if isinstance(layout, Reject):
            return layout
        return Sample(image=sample.image, target=layout, prompt=PROMPT_LAYOUT, task="layout",
                      boxes=sample.boxes, meta={**sample.meta, "target": "layout"})

    def _slice_sample(self, doc: pymupdf.Document, page: pymupdf.Page, number: int,
                      text: PageText, textpage: pymupdf.TextPage, dpi: int,
                      style: dict[str, Any], meta: dict[str, Any]) -> Sample | Reject:
        unit = style["unit"]
        if unit == "line":
            choices: list[Line | Paragraph] = [
                ln for ln in text.lines if len(ln.text.replace(" ", "")) >= MIN_LINE_CHARS]
        else:
            choices = [p for p in text.paragraphs if len(p.lines) >= 2]
        if not choices:
            return Reject(f"no-{unit}", f"the page has no {unit} to slice")
        chosen = choices[int(style["pick"] * len(choices))]
        lines = chosen.lines if isinstance(chosen, Paragraph) else [chosen]
        others = [_bbox(ln) for ln in text.lines if not any(ln is own for own in lines)]
        bbox = chosen.bbox if isinstance(chosen, Paragraph) else _bbox(chosen)
        clip = slice_rect(bbox, others, style["pad_pt"], text_rect(page))
        target = "\n".join(ln.text for ln in lines)
        # The slice's own truth check: the text layer inside the crop is exactly this text.
        inside = page.get_textbox(clip, textpage=textpage)
        if not same_text(inside, target):
            return Reject("slice-overlap", f"the crop also reads {clean(inside)[:80]!r}")
        image = self.raster(doc, page, number, dpi, clip, text)
        if isinstance(image, Reject):
            return image
        ink = ink_bbox(image, threshold=128)
        if ink is None or touches_edge(ink, image.size):
            # a glyph cut by the crop: its own, or a neighbour's reaching into it
            return Reject("slice-cut", "ink touches the edge of the crop")
        shown = pymupdf.Rect(clip) * page.rotation_matrix
        scale_x, scale_y = image.width / shown.width, image.height / shown.height
        boxes = []
        for ln in lines:
            r = pymupdf.Rect(_bbox(ln)) * page.rotation_matrix
            boxes.append(Box(max(0.0, (r.x0 - shown.x0) * scale_x),
                             max(0.0, (r.y0 - shown.y0) * scale_y),
                             min(float(image.width), (r.x1 - shown.x0) * scale_x),
                             min(float(image.height), (r.y1 - shown.y0) * scale_y), ln.text))
        meta["slice"] = [round(v, 2) for v in clip]
        return Sample(image=image, target=target, prompt=PROMPT_OCR, task="ocr",
                      boxes=boxes, meta=meta)

    # ----- rasterizing -----

    def raster(self, doc: pymupdf.Document, page: pymupdf.Page, number: int, dpi: int,
               clip: pymupdf.Rect | None, text: PageText) -> Image.Image | Reject:
        """The displayed page (or the `clip` of its text-layer rectangle) at `dpi`."""
        colour = {"gray": False, "rgb": True}.get(self.color)
        if colour is None:
            colour = shows_colour(page, text)  # grey raster is ~3x cheaper than RGB
        try:
            if self.backend == "poppler":
                image = self._poppler(doc, page, number, dpi, clip)
            else:
                shown = None if clip is None else pymupdf.Rect(clip) * page.rotation_matrix
                gray = colour is False
                pix = page.get_pixmap(dpi=dpi, clip=shown, alpha=False,
                                      colorspace=pymupdf.csGRAY if gray else pymupdf.csRGB)
                image = Image.frombytes("L" if gray else "RGB", (pix.width, pix.height),
                                        pix.samples)
        except Exception as exc:
            return Reject("raster-error", f"{type(exc).__name__}: {exc}")
        if colour is False and image.mode != "L":
            image = image.convert("L")
        elif colour is None and image.mode == "RGB" and _looks_gray(image):
            image = image.convert("L")
        return image

    def _poppler(self, doc: pymupdf.Document, page: pymupdf.Page, number: int, dpi: int,
                 clip: pymupdf.Rect | None) -> Image.Image:
        from pdf2image import convert_from_path

        if not doc.name:
            raise ValueError("poppler renders files only; this document has no path")
        image = convert_from_path(doc.name, dpi=dpi, first_page=number + 1,
                                  last_page=number + 1, use_cropbox=True,
                                  grayscale=self.color == "gray",
                                  timeout=int(self.timeout_s))[0]
        if clip is not None:
            x0, y0, x1, y1 = to_pixels(page, tuple(clip), image.size)
            image = image.crop((round(x0), round(y0), round(x1), round(y1)))
        return image


def _bbox(line: Line) -> tuple[float, float, float, float]:
    return line.x0, line.y0, line.x1, line.y1


def slice_rect(bbox: tuple[float, float, float, float],
               others: list[tuple[float, float, float, float]], pad: float,
               bounds: pymupdf.Rect) -> pymupdf.Rect:
    """The crop around `bbox`: `pad` points of margin, less where another line is nearer,
    so the crop shows no part of a neighbour's box."""
    x0, y0, x1, y1 = bbox
    left, top, right, bottom = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    for ox0, oy0, ox1, oy1 in others:
        middle = (oy0 + oy1) / 2
        if y0 <= middle <= y1 and (ox1 <= x0 or ox0 >= x1):
            # on the same rows, to the side (the other column, the next table cell)
            if ox1 <= x0:
                left = max(left, min(ox1 + KEEP_OFF_PT, x0))
            else:
                right = min(right, max(ox0 - KEEP_OFF_PT, x1))
        elif ox1 > left and ox0 < right:
            # above or below; boxes of neighbouring lines may overlap a little, and then
            # the crop keeps to the box itself on that side
            if middle < (y0 + y1) / 2:
                top = max(top, min(oy1 + KEEP_OFF_PT, y0))
            else:
                bottom = min(bottom, max(oy0 - KEEP_OFF_PT, y1))
    return pymupdf.Rect(left, top, right, bottom) & bounds


def same_text(found: str, expected: str) -> bool:
    """Whether the text layer inside a crop is the expected text: equal once whitespace is
    ignored, or the same characters where sub- and superscripts are read in another order."""
    a, b = clean(found).replace(" ", ""), clean(expected).replace(" ", "")
    return a == b or Counter(a) == Counter(b)


def _looks_gray(image: Image.Image) -> bool:
    """No colour anywhere (sampled on every other pixel: cheap, and a colour region
    smaller than that is not worth an RGB image)."""
    arr = np.asarray(image)[::2, ::2]
    return bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
