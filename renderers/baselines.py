"""A naive baseline any renderer can use for the bench: a fresh renderer (engine, browser)
per sample, then the same render and encode. For a stage-3 task a fresh base engine
renders that sample's base pages alone; for chart-echarts a new browser draws each chart."""

from __future__ import annotations

import time
from collections.abc import Callable

from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.imaging import encode_image


def fresh_renderer_per_sample(name: str) -> Callable[[list[Item]], float]:
    def run(items: list[Item]) -> float:
        from ocr2synth.renderers.registry import get_spec

        started = time.perf_counter()
        for item in items:
            renderer = get_spec(name).make_renderer({}, 20)
            try:
                sample = renderer.render_batch([item])[0]
                if isinstance(sample, Sample):
                    for image in [sample.image, *sample.images]:
                        encode_image(image, "png", 1, "auto")
            finally:
                renderer.close()
        return len(items) / (time.perf_counter() - started)

    return run
