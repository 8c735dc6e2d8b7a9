"""The renderers this package provides: chart-mpl (Matplotlib) and chart-echarts (ECharts
in Chromium), drawing the same chart specs."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.baselines import fresh_renderer_per_sample
from ocr2synth.renderers.browser.declare import BROWSER_PARAMS
from ocr2synth.renderers.params import choice, flag, integer, number, numbers
from ocr2synth.renderers.specs import Floor, RendererSpec, ref

_HERE = __package__  # this package, for the spec references below


CHART_TARGET_NOTE = (
    'a JSON object {"title", "source", "x_title", "y_title", "values": {series: {x: value}}} '
    "with keys in that order, series in legend order and categories in axis order; numbers "
    "as the chart prints them without unit (12.5% is 12.5; units are in the titles); a "
    "missing point is left out; `source` without its Source: prefix, \"\" when none is "
    "drawn; x_title names the category axis (on the left for horizontal bars); stacked "
    "bars hold segment values. Pie/donut: one series named by the caption under the pie, "
    "{slice: value}, x_title and y_title \"\". Scatter: {group: {x: y}}. Radar: "
    "{series: {indicator: value}}, x_title and y_title \"\". With target=html or "
    "target=markdown: the same values as one table (renderers/chart/targets.py): a header "
    "row of x_title (\"\" for pie and radar) and the series, one row per category, the "
    "same printed numbers, an empty cell for a missing point; no title or source"
)
CHART_REJECTS = ("bad-content", "label-too-long", "values-too-small", "no-numeric-series",
                 "empty-series", "missing-glyph", "overlap", "clipped", "not-drawn",
                 "target-mismatch", "unreadable-table")
CHART_PARAMS = (
    numbers("widths", [640, 720, 800, 900, 1024], "canvas widths drawn per chart, px", 100,
            4096),
    number("labels", 0.4, "probability of data labels", 0, 1),
    number("vega", 0.25, "share of built-in items that chart real vega_datasets tables", 0,
           1),
    choice("target", "dict", "the target's form: the OneChart dict, or the chart's values as "
           "an HTML <table> (as DeepSeek-OCR writes chart targets) or a markdown table",
           ("dict", "html", "markdown")),
)


def _chart_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts
    from ocr2synth.renderers.chart.tables import ChartTables

    return ChartTables(path) if path else GeneratedCharts(float(params.get("vega", 0.25)))


def _mpl_styles() -> list[str]:
    from matplotlib import style

    return ["default", *sorted(style.available)]


def _echarts_themes() -> list[str]:
    from ocr2synth.renderers.chart.echarts import _available_themes

    return _available_themes()


SPECS = [
    RendererSpec(
        "chart-mpl", _chart_source, ref(f"{_HERE}.mpl:MplChartRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ("chart specs (see Charts below) drawn by Matplotlib's object API"),
            ('OneChart-style JSON dict (see Charts)'),
        ),
        description="charts drawn by Matplotlib's object API (target: OneChart-style "
        "JSON dict)",
        target_note=CHART_TARGET_NOTE,
        params=(
            choice("styles", "a built-in list", "Matplotlib style sheets drawn per chart",
                   _mpl_styles, kind="choices"),
            integer("dpi", 100, "figure dpi", 36, 600),
            *CHART_PARAMS,
        ),
        target_kind=ref(f"{_HERE}.targets:target_kind"),
        naive=ref(f"{_HERE}.baseline:naive_chart_mpl"),
        floor=Floor("Matplotlib building and drawing the same charts, nothing else",
                    ref(f"{_HERE}.baseline:floor_chart_mpl"), warm=8),
        got_mix={2: 1_000_000},
        demo=({"count": 16},
              {"name": "chart-mpl-html", "count": 4, "params": {"target": "html"}},
              {"name": "chart-mpl-markdown", "count": 4, "params": {"target": "markdown"}}),
        rejects=(*CHART_REJECTS, "rtl-text"),
        pair_proof="the artists are read back (bar heights, line data, wedges, offsets, "
        "ticks, legend) and must equal the target; text boxes must not overlap or clip",
    ),
    RendererSpec(
        "chart-echarts", _chart_source, ref(f"{_HERE}.echarts:EchartsChartRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('the same chart specs as pyecharts options, drawn by a local ECharts build in '
             'headless Chromium'),
            ('OneChart-style JSON dict (see Charts)'),
        ),
        description="pyecharts options drawn by ECharts in headless Chromium (target: "
        "OneChart-style JSON dict)",
        target_note=CHART_TARGET_NOTE,
        params=(
            choice("themes", "every installed theme", "ECharts themes drawn per chart (\"\" "
                   "is the default look)", _echarts_themes, kind="choices"),
            choice("engine", "canvas", "ECharts' renderer", ("canvas", "svg")),
            integer("group", 8, "charts drawn into one page and taken by one capture (1: a "
                    "capture per chart; always 1 with the svg engine); the pixels are the "
                    "same either way", 1, 64),
            flag("frame_control", True, "Chromium draws only the frames captured (the same "
                 "pixels as drawing after every change)"),
            *CHART_PARAMS,
            *BROWSER_PARAMS,
        ),
        target_kind=ref(f"{_HERE}.targets:target_kind"),
        naive=fresh_renderer_per_sample("chart-echarts"),
        got_mix={2: 1_000_000},
        demo=({"count": 16},
              {"name": "chart-echarts-html", "count": 4, "params": {"target": "html"}},
              {"name": "chart-echarts-markdown", "count": 4, "params": {"target": "markdown"}}),
        rejects=(*CHART_REJECTS, "browser-crash"),
        pair_proof="chart.getOption() after setOption and every painted text are read "
        "back from the page and must equal the target",
    ),
]
