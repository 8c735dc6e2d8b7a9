"""The bench's naive baseline and engine floor for chart-mpl."""

from __future__ import annotations

import io
import time

from ocr2synth.renderers.base import Item, Reject

WARM = 8  # charts the floor draws before it times, of the items it is given


def naive_chart_mpl(items: list[Item]) -> float:
    """pyplot with a new figure per chart and `savefig(bbox_inches="tight")` (which draws
    the figure again to find its extent), the same chart drawn into it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from ocr2synth.renderers.chart.mpl import MplChartRenderer
    from ocr2synth.renderers.chart.spec import ChartSpec

    renderer = MplChartRenderer({}, timeout_s=20)
    started = time.perf_counter()
    for item in items:
        spec = ChartSpec.from_dict(item.content)
        style = renderer.style(item, spec)
        fig = plt.figure(figsize=(style["width"] / 100, style["height"] / 100), dpi=100)
        renderer._figures[(style["width"], style["height"])] = (fig, fig.canvas)
        renderer.draw(spec, style)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
    return len(items) / (time.perf_counter() - started)


def floor_chart_mpl(items: list[Item]) -> float:
    """Matplotlib's own cost: the renderer's drawing calls for each chart (new axes on its
    reused figure), with no layout engine, no text checks, no read-back, no image and no
    encoding. A renderer that builds its charts this way cannot go faster. The first WARM
    items warm it up untimed."""
    from ocr2synth.renderers.chart.mpl import MplChartRenderer
    from ocr2synth.renderers.chart.spec import layout_attempts, spec_of

    renderer = MplChartRenderer({}, timeout_s=20)
    specs = []
    for item in items:
        spec = spec_of(item.content)
        if not isinstance(spec, Reject):
            style = renderer.style(item, spec)
            specs.append((spec, {**style, **layout_attempts(spec, style)[0]}))
    for spec, style in specs[:WARM]:
        renderer.draw(spec, style, layout=False)
    started = time.perf_counter()
    for spec, style in specs[WARM:]:
        renderer.draw(spec, style, layout=False)
    return len(specs[WARM:]) / (time.perf_counter() - started)
