"""The base of the TeX renderers whose sample is one `preview` page per item, cropped to its
ink with a per-item margin: latex-formula, latex-table and tikz. A subclass says what its
items are (lint, body, style, font table and defaults); the batch loop, the crop and the
sample are here, once."""

from __future__ import annotations

from typing import Any

import pymupdf
from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from ocr2synth.renderers.latex.batching import Style, chosen_names, cropped_page, render_grouped
from ocr2synth.renderers.latex.engine import TexEngine
from PIL import Image


class CroppedPageRenderer(Renderer):
    """Params (all optional): `fonts` (names from FONTS), `dpi` [lo, hi], `margin` [lo, hi]
    in pixels, `max_side` in pixels; defaults per subclass."""

    FONTS: dict[str, Any] = {}
    DPI: tuple[int, int] = (100, 200)
    MARGIN: tuple[int, int] = (4, 32)
    MAX_SIDE = 4000
    EMPTY = "the item typeset to an empty page"  # what a blank page means here
    GRAY = True  # black-on-white content; tikz draws in colour

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.fonts = chosen_names(self.name, "fonts", params, self.FONTS)
        self.dpi = tuple(params.get("dpi", list(self.DPI)))
        self.margin = tuple(params.get("margin", list(self.MARGIN)))
        self.max_side = int(params.get("max_side", self.MAX_SIDE))
        self.engine = TexEngine(timeout_s)

    def close(self) -> None:
        self.engine.close()

    def lint(self, item: Item) -> str | None:
        raise NotImplementedError

    def style(self, item: Item) -> Style:
        raise NotImplementedError

    def preamble(self, font: str) -> str:
        raise NotImplementedError

    def item_body(self, item: Item, style: Style) -> str:
        raise NotImplementedError

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return render_grouped(
            self.engine, items, [self.style(item) for item in items],
            lint=self.lint,
            group=lambda style: style["font"],
            preamble=self.preamble,
            body=self.item_body,
            sample=lambda pdf, pages, item, style: self.page_sample(pdf[pages.start], item,
                                                                    style),
        )

    def check_image(self, image: Image.Image, style: Style) -> Reject | None:
        """A renderer's own check of the cropped image; None keeps it."""
        return None

    def page_sample(self, page: pymupdf.Page, item: Item, style: Style) -> Sample | Reject:
        """Rasterize one typeset page at the item's dpi and crop it to its ink."""
        image = cropped_page(page, style, self.max_side, self.EMPTY, gray=self.GRAY)
        if isinstance(image, Reject):
            return image
        problem = self.check_image(image, style)
        if problem is not None:
            return problem
        return Sample(image=image, target=str(item.content), prompt=PROMPT_FORMAT,
                      task="format", meta={**style, **item.meta})
