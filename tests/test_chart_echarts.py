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


def _grouped(renderer, group: int):
    """The renderer set to take `group` charts per capture, counting its captures."""
    renderer.group = group
    shots = []
    real = renderer.browser.screenshot

    def counted(width, height, images=1):
        shots.append(images)
        return real(width, height, images)

    renderer.browser.screenshot = counted
    return shots


@pytest.fixture()
def restore(renderer):
    yield renderer
    renderer.group = 8
    renderer.browser.__dict__.pop("screenshot", None)


def test_a_chart_gives_the_same_pixels_alone_and_in_any_group(restore):
    """One capture per group, each chart cropped out: its pixels and target are those of
    the chart captured alone, whatever shares its capture and wherever its slot sits (an
    overlap of slots or a canvas off by a pixel would show in the crop)."""
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts

    renderer = restore
    source = GeneratedCharts()
    items = [source.item(4242 + k, k) for k in range(10)]
    shots = _grouped(renderer, 1)
    alone = renderer.render_batch(items)
    assert shots == [1] * sum(isinstance(a, Sample) for a in alone)
    by_id = {item.k: a for item, a in zip(items, alone, strict=True)}
    assert sum(isinstance(a, Sample) for a in alone) >= 8
    for group, order in ((8, items), (3, items[::-1]), (4, items[5:] + items[:5])):
        shots = _grouped(renderer, group)
        out = renderer.render_batch(order)
        assert max(shots) > 1 and len(shots) < len(order)  # charts did share captures
        for item, got in zip(order, out, strict=True):
            want = by_id[item.k]
            if isinstance(want, Reject):
                assert got == want
                continue
            assert isinstance(got, Sample), (item.k, got)
            assert got.target == want.target and got.meta == want.meta
            assert got.image.size == want.image.size
            assert got.image.tobytes() == want.image.tobytes(), (group, item.k)


def test_a_group_whose_capture_fails_is_captured_chart_by_chart(restore):
    from ocr2synth.renderers.browser.engine import BrowserCrash
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts

    renderer = restore
    source = GeneratedCharts()
    items = [source.item(515 + k, k) for k in range(5)]
    renderer.group = 1
    alone = renderer.render_batch(items)
    renderer.group = 8
    browser = renderer.browser
    real = browser.screenshot
    failed = []

    def crash_on_groups(width, height, images=1):
        if images > 1:  # as a crash does: the browser and its charts are gone
            failed.append(images)
            browser.close()
            raise BrowserCrash("screenshot: injected")
        return real(width, height, images)

    browser.screenshot = crash_on_groups
    out = renderer.render_batch(items)
    assert failed  # a group capture was tried, and failed
    for a, b in zip(alone, out, strict=True):
        assert isinstance(a, Sample) and isinstance(b, Sample), (a, b)
        assert a.target == b.target and a.image.tobytes() == b.image.tobytes()


def test_svg_charts_are_captured_one_by_one():
    """An SVG chart is rastered with the page: its anti-aliasing moved with its place in a
    group (up to 35 grey levels on a few thousand pixels), so it never shares a capture."""
    from ocr2synth.renderers.chart.echarts import EchartsChartRenderer

    r = EchartsChartRenderer({"engine": "svg", "group": 8}, timeout_s=20)
    try:
        assert r.group == 1
    finally:
        r.close()


def test_frame_control_draws_the_same_charts_as_the_free_running_page(renderer):
    """Under frame control Chromium draws a frame only for a capture; the charts (alone and
    in groups) must come out as the free-running page draws them."""
    from ocr2synth.renderers.chart.echarts import EchartsChartRenderer
    from ocr2synth.renderers.chart.spec_source import GeneratedCharts

    assert renderer.browser.frame_control
    source = GeneratedCharts()
    items = [source.item(6100 + k, k) for k in range(10)]
    plain = EchartsChartRenderer({"frame_control": False}, timeout_s=20)
    try:
        assert not plain.browser.frame_control
        want = plain.render_batch(items)
    finally:
        plain.close()
    got = renderer.render_batch(items)
    assert sum(isinstance(w, Sample) for w in want) >= 8
    for w, g in zip(want, got, strict=True):
        assert type(w) is type(g)
        if isinstance(w, Sample):
            assert w.target == g.target and w.image.tobytes() == g.image.tobytes()
