"""Chart targets in three forms: pandas' HTML reader and a markdown-table parse of the
html and markdown targets give exactly the OneChart dict's values, and each renderer draws
the same chart (same seed) whichever form it writes."""

from __future__ import annotations

import io
import math
import random

import pandas as pd
import pytest
from ocr2synth.renderers.base import Reject, Sample
from ocr2synth.renderers.chart.spec import KINDS, ChartSpec, Series, parse_target
from ocr2synth.renderers.chart.spec_source import ChartGrammar, GeneratedCharts
from ocr2synth.renderers.chart.targets import (
    chart_target,
    parse_markdown_table,
    target_or_reject,
)


def specs() -> list[ChartSpec]:
    """Every kind in both languages, plus the source's own mix (vega tables included)."""
    out = [ChartGrammar(random.Random(k)).spec(kind, lang)
           for k, kind in enumerate(KINDS) for lang in ("en", "zh")]
    source = GeneratedCharts(0.5)
    for k in range(60):
        content = source.item(99, k).content
        if not content.get("error"):
            out.append(ChartSpec.from_dict(content))
    return out


def values_from_cells(cells: list[list[str]]) -> dict[str, dict[str, float]]:
    """{series: {x: value}} from a table's cells, an empty cell being no point."""
    header, rows = cells[0], cells[1:]
    return {name: {row[0]: float(row[c]) for row in rows if row[c] != ""}
            for c, name in enumerate(header) if c > 0}


def dict_values(spec: ChartSpec) -> dict[str, dict[str, float]]:
    return parse_target(chart_target(spec, "dict"))["values"]


def html_cells(target: str) -> list[list[str]]:
    # every cell read as a string, so "2019" and "1.50" stay the labels drawn
    columns = target.split("</tr>")[0].count("<td>")
    frame = pd.read_html(io.StringIO(target), header=None, keep_default_na=False,
                         converters={c: str for c in range(columns)})[0]
    return [[("" if isinstance(v, float) and math.isnan(v) else str(v)) for v in row]
            for row in frame.itertuples(index=False)]


@pytest.mark.unit
def test_read_html_gives_exactly_the_dicts_values():
    checked = 0
    for spec in specs():
        target = target_or_reject(spec, "html")
        if isinstance(target, Reject):
            continue
        assert target.startswith("<table><tr><td>") and "\n" not in target
        cells = html_cells(target)
        assert values_from_cells(cells) == dict_values(spec), spec.kind
        # the header: the category axis' title, then the series in legend order
        head = spec.x_title if spec.kind not in ("pie", "donut", "radar") else ""
        assert cells[0] == [head, *(s.name for s in spec.series)]
        checked += 1
    assert checked >= 50


@pytest.mark.unit
def test_markdown_table_parses_to_exactly_the_dicts_values():
    checked = 0
    for spec in specs():
        target = target_or_reject(spec, "markdown")
        if isinstance(target, Reject):
            continue
        lines = target.split("\n")
        assert lines[1] == "|" + "---|" * (len(spec.series) + 1)
        assert values_from_cells(parse_markdown_table(target)) == dict_values(spec)
        checked += 1
    assert checked >= 50


@pytest.mark.unit
def test_hostile_cells_round_trip_or_reject():
    spec = ChartSpec("bar", "t", [Series("a|b", [1.0, None, 3.0]), Series("<c&d>", [2, 4, 6])],
                     categories=["x\\y", "2019", "1.50"], x_title="Year")
    want = dict_values(spec)
    assert want["a|b"] == {"x\\y": 1.0, "1.50": 3.0}  # the gap is left out
    assert values_from_cells(html_cells(chart_target(spec, "html"))) == want
    assert values_from_cells(parse_markdown_table(chart_target(spec, "markdown"))) == want
    # a line break cannot sit in a markdown cell: the sample is rejected, not mangled
    broken = ChartSpec("bar", "t", [Series("a\nb", [1.0])], categories=["x"])
    assert isinstance(target_or_reject(broken, "markdown"), Reject)
    assert isinstance(target_or_reject(broken, "html"), str)


@pytest.mark.engine
@pytest.mark.parametrize("renderer_name", ["chart-mpl", "chart-echarts"])
def test_same_seed_draws_the_same_chart_in_every_form(renderer_name):
    from ocr2synth.renderers.registry import get_spec

    spec = get_spec(renderer_name)
    source = spec.make_source(None, {})
    items = [source.item(4242 + k, k) for k in range(4)]
    out = {}
    for form in ("dict", "html", "markdown"):
        renderer = spec.make_renderer({"target": form}, 20)
        try:
            out[form] = renderer.render_batch(items)
        finally:
            renderer.close()
    kept = 0
    for d, h, m in zip(out["dict"], out["html"], out["markdown"], strict=True):
        if not isinstance(d, Sample):
            continue
        assert isinstance(h, Sample) and isinstance(m, Sample)
        assert d.image.tobytes() == h.image.tobytes() == m.image.tobytes()
        values = parse_target(d.target)["values"]
        assert values_from_cells(html_cells(h.target)) == values
        assert values_from_cells(parse_markdown_table(m.target)) == values
        assert h.meta["target"] == "html" and "target" not in d.meta
        kept += 1
    assert kept >= 2


@pytest.mark.engine
def test_bench_times_every_target_form():
    from ocr2synth.pipelines.tools.bench import target_costs

    text = target_costs("chart-mpl", 4, 1)
    for form in ("dict", "html", "markdown"):
        assert f"target={form}: " in text
    assert "cost per sample 1.00x target=dict" in text and "naive (render again" in text
    with pytest.raises(ValueError, match="no target"):
        target_costs("molecule", 2, 1)
