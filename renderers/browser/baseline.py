"""The bench's naive baseline for markdown-page: a new Chromium (and Playwright driver)
per page, with the same layout, screenshot and encode: the way a first script drives a
browser."""

from __future__ import annotations

import time

from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.imaging import encode_image


def naive_markdown_page(items: list[Item]) -> float:
    from ocr2synth.renderers.browser.markdown_page import MarkdownPageRenderer

    starts = None  # where earlier pages stopped: known data, not redone per browser
    started = time.perf_counter()
    for item in items:
        renderer = MarkdownPageRenderer({}, timeout_s=20)
        if starts is not None:
            renderer._starts = starts
        starts = renderer._starts
        try:
            sample = renderer.render_batch([item])[0]
            if isinstance(sample, Sample):
                encode_image(sample.image, "png", 1, "auto")
        finally:
            renderer.close()
    return len(items) / (time.perf_counter() - started)
