"""chart-echarts: every kind renders in the warm browser, the option ECharts applied (read
from the live chart on the page) holds exactly the target, the page fetches nothing, and
hostile tables render legibly or are rejected with a reason."""

from __future__ import annotations

import random

import pytest
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.chart.spec import KINDS, parse_target
from ocr2synth.renderers.chart.spec_source import ChartGrammar
from ocr2synth.renderers.chart.tables import ChartTables

from tests.conftest import DATA

APPLIED = "() => echarts.getInstanceByDom(document.getElementById('chart')).getOption()"


@pytest.fixture(scope="module")
def renderer():
    from ocr2synth.renderers.chart.echarts import EchartsChartRenderer

    r = EchartsChartRenderer({}, timeout_s=20)
    yield r
    r.close()


def _value(d):
    if isinstance(d, dict):
        return d["value"]
    return d


def applied_values(option: dict, kind: str) -> dict[str, dict[str, float]]:
    """{series: {x: value}} straight from ECharts' getOption() of the live chart."""
    series = option["series"]
    if kind in ("pie", "donut"):
        return {series[0]["name"]: {d["name"]: d["value"] for d in series[0]["data"]}}
    if kind == "radar":
        names = [" ".join(i["name"].split("\n")) for i in option["radar"][0]["indicator"]]
        return {s["name"]: dict(zip(names, _value(s["data"][0]), strict=True)) for s in series}
    if kind == "scatter":
        return {s["name"]: {float(x): y for x, y in s["data"]} for s in series}
    axis = option["yAxis" if kind == "hbar" else "xAxis"][0]["data"]
    cats = [" ".join(c.split("\n")) for c in axis]
    return {s["name"]: {c: _value(d) for c, d in zip(cats, s["data"], strict=True)
                        if _value(d) is not None} for s in series}


def test_every_kind_applies_exactly_its_target_and_fetches_nothing(renderer):
    for k, kind in enumerate(KINDS):
        spec = ChartGrammar(random.Random(100 + k)).spec(kind, "zh" if k % 3 == 1 else "en")
        out = renderer.render_one(Item(k, 8100 + k, spec.to_dict()))
        assert isinstance(out, Sample), (kind, out)
        target = parse_target(out.target)
        applied = applied_values(renderer.browser.evaluate(APPLIED, None), kind)
        if kind == "scatter":
            target_values = {s: {float(x): y for x, y in row.items()}
                             for s, row in target["values"].items()}
        else:
            target_values = target["values"]
        assert list(applied) == list(target_values), kind
        for name, row in target_values.items():
            assert list(applied[name]) == list(row) if kind != "scatter" else \
                sorted(applied[name]) == sorted(row)
            for x, v in row.items():
                assert applied[name][x] == pytest.approx(v, abs=1e-9), (kind, name, x)
        assert out.image.size == (out.meta["width"], out.meta["height"])
        assert len(out.image.getcolors(1 << 24)) > 8  # drawn, not a flat page
    assert renderer.browser.stats.blocked == []


def test_hostile_tables_render_legibly_or_are_rejected_with_a_reason(renderer):
    source = ChartTables(DATA / "charts")
    outcomes = {}
    for k in range(source.size()):
        item = source.item(k, k)
        outcomes[item.meta["file"]] = renderer.render_batch([item])[0]
    reasons = {f: o.reason for f, o in outcomes.items() if isinstance(o, Reject)}
    assert reasons.get("very_long_label.csv") == "label-too-long"
    assert reasons.get("all_empty.csv") == "no-numeric-series"
    # Chromium lays out right-to-left text, so ECharts draws the Arabic table
    for name in ("long_labels.csv", "nan_cells.csv", "cjk_table.json", "rtl_labels.csv"):
        assert isinstance(outcomes[name], Sample), (name, outcomes[name])
    nan = parse_target(outcomes["nan_cells.csv"].target)["values"]
    assert "Feb" not in nan["North"] and "Mar" not in nan["South"]
    fifty = outcomes["fifty_categories.csv"]
    assert isinstance(fifty, Sample) or fifty.reason in ("overlap", "clipped")


def test_a_batch_gives_the_same_pixels_whatever_was_drawn_before(renderer):
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts

    source = GeneratedCharts()
    items = [source.item(777 + k, k) for k in range(12)]
    first = renderer.render_batch(items[:6])
    renderer.render_batch(items[6:])  # other charts, other fonts, other caches
    again = renderer.render_batch(items[:6])
    for a, b in zip(first, again, strict=True):
        assert isinstance(a, Sample) and isinstance(b, Sample)
        assert a.target == b.target and a.image.tobytes() == b.image.tobytes()
