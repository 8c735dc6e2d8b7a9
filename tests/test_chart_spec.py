"""Chart specs: the canonical target, the generated and vega sources, and user tables."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from ocr2synth.renderers.chart.spec import (
    KINDS,
    ChartSpec,
    Series,
    SpecError,
    boxes_clash,
    canonical_target,
    mismatch,
    parse_target,
    target_values,
    validate,
)
from ocr2synth.renderers.chart.spec_source import ChartGrammar, GeneratedCharts
from ocr2synth.renderers.chart.tables import ChartTables, table_spec
from ocr2synth.renderers.chart.vocabulary import DIMENSIONS

from tests.conftest import DATA

TABLES = DATA / "charts"


def test_target_keeps_key_order_and_prints_numbers_as_the_chart_does():
    spec = ChartSpec("grouped_bar", "Share by region", [
        Series("2023", [12.5, -0.0, 3.25]), Series("2024", [None, 7.0, 1.5])],
        ["North", "South", "东部"], source="OECD", x_title="Region",
        y_title="Share (%)", decimals=2, percent=True)
    target = canonical_target(spec)
    assert target == (
        '{"title": "Share by region", "source": "OECD", "x_title": "Region", '
        '"y_title": "Share (%)", "values": {"2023": {"North": 12.50, "South": 0.00, '
        '"东部": 3.25}, "2024": {"South": 7.00, "东部": 1.50}}}')
    parsed = parse_target(target)
    assert list(parsed) == ["title", "source", "x_title", "y_title", "values"]
    assert parsed["values"]["2023"] == {"North": 12.5, "South": 0.0, "东部": 3.25}


def test_pie_and_radar_targets_have_no_axis_titles():
    pie = ChartSpec("pie", "Fruit", [Series("Sales (tons)", [3.0, 5.0])], ["Apples", "Pears"],
                    x_title="ignored", y_title="ignored")
    radar = ChartSpec("radar", "Scores", [Series("A", [1.0, 2.0, 3.0])], ["x", "y", "z"])
    assert parse_target(canonical_target(pie))["x_title"] == ""
    assert parse_target(canonical_target(pie))["values"] == {
        "Sales (tons)": {"Apples": 3.0, "Pears": 5.0}}
    assert parse_target(canonical_target(radar))["y_title"] == ""


@pytest.mark.parametrize("spec, reason", [
    (ChartSpec("bar", "t", [Series("a", [None, None])], ["x", "y"]), "empty-series"),
    (ChartSpec("bar", "t", [Series("a", [1.0, float("nan")])], ["x", "y"]), "non-finite"),
    (ChartSpec("bar", "t", [Series("a", [1.0, 2.0])], ["x", "x"]), "duplicate-category"),
    (ChartSpec("pie", "t", [Series("a", [1.0, -2.0])], ["x", "y"]), "pie-values"),
    (ChartSpec("radar", "t", [Series("a", [1.0, 2.0])], ["x", "y"]), "radar-axes"),
    (ChartSpec("bar_line", "t", [Series("a", [1.0], "line"), Series("b", [2.0], "bar")],
               ["x"]), "bar-line-marks"),
])
def test_specs_no_chart_can_show_are_refused_with_a_reason(spec, reason):
    with pytest.raises(SpecError) as err:
        validate(spec)
    assert err.value.reason == reason


def test_mismatch_names_a_missing_series_a_wrong_value_and_a_wrong_category():
    spec = ChartSpec("bar", "t", [Series("a", [1.0, 2.5])], ["x", "y"], decimals=1)
    assert mismatch({"a": {"x": 1.0, "y": 2.5}}, spec) is None
    assert "series" in mismatch({"b": {"x": 1.0, "y": 2.5}}, spec)
    assert "drawn 2.7" in mismatch({"a": {"x": 1.0, "y": 2.7}}, spec)
    assert "categories" in mismatch({"a": {"y": 2.5, "x": 1.0}}, spec)


def test_boxes_clash_finds_overlaps_and_boxes_outside_the_canvas():
    assert boxes_clash([(0, 0, 10, 10), (10, 0, 20, 10)], 100, 100) is None
    assert "overlap" in boxes_clash([(0, 0, 10, 10), (5, 5, 20, 20)], 100, 100)
    assert "leaves the canvas" in boxes_clash([(90, 0, 110, 10)], 100, 100)


def test_generated_specs_cover_every_kind_both_languages_and_many_magnitudes():
    source = GeneratedCharts()
    items = [source.item(1000 + k, k) for k in range(300)]
    assert source.item(1000, 0) == items[0]  # a pure function of (seed, k)
    kinds = Counter(i.meta["kind"] for i in items)
    assert set(kinds) == set(KINDS)
    assert {i.meta["lang"] for i in items} == {"en", "zh"}
    assert any(i.meta["origin"].startswith("vega:") for i in items)
    specs = [ChartSpec.from_dict(i.content) for i in items]
    values = [v for s in specs if s.kind != "scatter" for ser in s.series for v in ser.values
              if v is not None]
    assert min(values) < 0 and max(values) > 1000
    assert {s.decimals for s in specs} >= {0, 1, 2}
    assert any(s.percent for s in specs)
    assert any(s.source for s in specs) and any(not s.source for s in specs)
    zh = [s for s in specs if s.lang == "zh"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s.title) for s in zh)


def test_user_tables_become_specs_or_specific_reasons():
    rng = random.Random(0)
    nan = table_spec(TABLES / "nan_cells.csv", rng)
    assert target_values(nan)["North"] == {"Jan": "12.5", "Mar": "14.0", "Apr": "15.5"}
    assert target_values(nan)["South"] == {"Jan": "8.0", "Feb": "9.5", "Apr": "11.0"}
    empty = table_spec(TABLES / "empty_series.csv", rng)
    assert [s.name for s in empty.series] == ["Revenue"]  # the empty column is not a series
    huge = table_spec(TABLES / "huge_numbers.json", rng)
    assert huge.y_title == "USD (×10^12)" and huge.series[0].values[-1] == 30.9
    assert huge.title == "National debt" and huge.source == "Treasury"
    cjk = table_spec(TABLES / "cjk_table.json", rng)
    assert cjk.lang == "zh" and cjk.categories[0] == "黑龙江"
    reasons = {}
    source = ChartTables(TABLES)
    for k in range(source.size()):
        item = source.item(k, k)
        if "error" in item.content:
            reasons[item.meta["file"]] = item.content["error"].split(":")[0]
    assert reasons == {"all_empty.csv": "no-numeric-series", "text_only.csv": "no-numeric-series",
                       "tiny_numbers.csv": "values-too-small"}


def test_a_chart_over_years_is_neither_titled_with_one_year_nor_split_into_years():
    dated_cats = {c for d in DIMENSIONS if d.en in ("Year", "Quarter")
                  for c in d.cats_en + d.cats_zh}
    grammar = ChartGrammar(random.Random(7))
    specs = [grammar.spec(kind="multi_line") for _ in range(300)]
    over_years = [s for s in specs if set(s.categories) <= dated_cats]
    assert len(over_years) > 30
    for spec in over_years:
        assert not re.search(r"20\d\d", spec.title), spec.title
        assert not any(re.search(r"20\d\d", s.name) for s in spec.series), spec.series
    # other dimensions still get titles of one year and series of years
    others = [s for s in specs if s not in over_years]
    assert any(re.search(r"20\d\d", s.title) for s in others)
    assert any(re.search(r"20\d\d", ser.name) for s in others for ser in s.series)
