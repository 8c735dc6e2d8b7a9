"""The bench's naive baseline for music: a new Verovio toolkit per score (its resources
load every time), then the same rasterize, paper and encode."""

from __future__ import annotations

import time

from ocr2synth.renderers.base import Item, Reject
from ocr2synth.renderers.imaging import encode_image


def naive_music(items: list[Item]) -> float:
    import verovio
    from ocr2synth.renderers.music.renderer import MusicRenderer

    renderer = MusicRenderer({}, timeout_s=20)
    verovio.enableLog(verovio.LOG_OFF)
    started = time.perf_counter()
    for item in items:
        style = renderer.style(item)
        toolkit = verovio.toolkit()
        toolkit.setOptions(renderer.options(style))
        toolkit.loadData(renderer.document(item.content, style))
        image = renderer.rasterize(toolkit.renderToSVG(1), style)
        if not isinstance(image, Reject):
            encode_image(image, "png", 1, "auto")
    renderer.close()
    return len(items) / (time.perf_counter() - started)
