"""Chart specs generated from real words and controlled value distributions, with a share
of views of real `vega_datasets` tables (renderers/chart/vega.py); a user's `.csv`/`.json`
tables (`--source DIR`) are read by renderers/chart/tables.py.

Generated specs follow OneChart: titles, axis titles, legends and categories from real
words and entities (English or Chinese), values from several distributions and magnitudes
(integers, decimals, percentages, negatives, large numbers with their unit in the title).
Every value is rounded to the precision the chart prints, so the spec is the target.
"""

from __future__ import annotations

import math
import random

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.chart.spec import ChartSpec, Series, SpecError, round_to, validate
from ocr2synth.renderers.chart.vega import vega_spec
from ocr2synth.renderers.chart.vocabulary import (
    COMMERCIAL,
    DIM_MEASURES,
    DIMENSIONS,
    KIND_WEIGHTS,
    MEASURES,
    RADAR_AXES,
    SCATTER_PAIRS,
    SERIES_NAMES,
    SOURCES_EN,
    SOURCES_ZH,
    Dimension,
    Measure,
)


def _axis_title(measure: Measure, lang: str) -> str:
    if lang == "zh":
        return f"{measure.zh}（{measure.unit_zh}）" if measure.unit_zh else measure.zh
    return f"{measure.en} ({measure.unit_en})" if measure.unit_en else measure.en


class _Values:
    """Values from one distribution, with the decimals the chart prints them with."""

    def __init__(self, rng: random.Random, dist: str) -> None:
        self.rng = rng
        self.dist = dist
        self.decimals = {"int": 0, "count": 0, "percent": 1, "signed_percent": 1,
                         "temperature": 1, "decimal": rng.choice([1, 2]),
                         "large": rng.choice([0, 1, 2]), "signed_large": rng.choice([1, 2]),
                         "score": 0}[dist]
        lo, hi = {"int": (10, 900), "count": (100, 9000), "percent": (5, 95),
                  "signed_percent": (-15, 25), "temperature": (-12, 32),
                  "decimal": (0.5, 90), "large": (50, 4000), "signed_large": (-40, 160),
                  "score": (30, 100)}[dist]
        self.lo, self.hi = lo, hi
        self.level = rng.uniform(lo + (hi - lo) * 0.2, hi - (hi - lo) * 0.2)

    def series(self, n: int, trend: bool) -> list[float]:
        rng = self.rng
        spread = (self.hi - self.lo) * rng.uniform(0.1, 0.35)
        level = self.level + rng.uniform(-spread, spread)
        out = []
        for _ in range(n):
            if trend:  # a random walk with drift, as time series are
                level += rng.gauss(rng.choice([0.02, 0.05, -0.02]) * spread, spread * 0.3)
                value = level
            else:
                value = rng.uniform(self.lo, self.hi)
            if self.dist not in ("signed_percent", "temperature", "signed_large"):
                value = max(value, self.lo * 0.2)
            if self.dist == "percent":  # a share or a rate out of 100
                value = min(value, 99.5)
            out.append(round_to(value, self.decimals))
        return out


class ChartGrammar:
    """One generated spec per call, from an rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def spec(self, kind: str | None = None, lang: str | None = None) -> ChartSpec:
        rng = self.rng
        kind = kind or rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
        lang = lang or ("zh" if rng.random() < 0.35 else "en")
        if kind == "scatter":
            spec = self._scatter(lang)
        elif kind == "radar":
            spec = self._radar(lang)
        else:
            spec = self._category(kind, lang)
        spec.source = (rng.choice(SOURCES_ZH if lang == "zh" else SOURCES_EN)
                       if rng.random() < 0.6 else "")
        validate(spec)
        return spec

    def _names(self, lang: str, n: int, measure: str = "", dated: bool = False) -> list[str]:
        # brands and stores have revenue and orders, not rainfall or population
        if measure in COMMERCIAL:
            kinds = sorted(SERIES_NAMES)
        elif measure in ("Population", "Visitors"):
            kinds = ["groups", "years"]
        else:  # weather and the like: by year, or actual against forecast
            kinds = ["plan", "years"]
        if dated:  # years along the axis already: series are not years
            kinds.remove("years")
        pool = SERIES_NAMES[self.rng.choice(kinds)][lang == "zh"]
        return list(pool[:n]) if self.rng.random() < 0.5 else self.rng.sample(pool, n)

    def _category(self, kind: str, lang: str) -> ChartSpec:
        rng = self.rng
        timeish = kind in ("line", "multi_line", "area")
        dims = [d for d in DIMENSIONS if d.ordered] if timeish else list(DIMENSIONS)
        dim = rng.choice(dims)
        pool = dim.cats_zh if lang == "zh" else dim.cats_en
        lo, hi = {"bar": (3, 12), "hbar": (3, 10), "grouped_bar": (3, 7),
                  "stacked_bar": (3, 9), "line": (5, 16), "multi_line": (5, 14),
                  "area": (5, 14), "pie": (3, 7), "donut": (3, 7), "bar_line": (4, 9)}[kind]
        n = rng.randint(lo, min(hi, len(pool)))
        if dim.ordered:
            start = rng.randint(0, len(pool) - n)
            cats = list(pool[start:start + n])
        else:
            cats = rng.sample(pool, n)
        nseries = {"grouped_bar": rng.randint(2, 4), "stacked_bar": rng.randint(2, 4),
                   "multi_line": rng.randint(2, 4), "area": rng.randint(1, 3),
                   "bar_line": rng.randint(2, 3)}.get(kind, 1)
        fits = DIM_MEASURES[dim.en]
        measures = [m for m in MEASURES if m.en in fits
                    and (kind not in ("stacked_bar", "pie", "donut", "area")
                         or m.dist not in ("signed_percent", "temperature", "signed_large"))
                    # shares of different wholes do not add up: no stacked percentages
                    and not (kind == "stacked_bar" and m.unit_en == "%")]
        measure = rng.choice(measures)
        values = _Values(rng, measure.dist)
        if kind in ("pie", "donut"):
            measure = rng.choice([m for m in measures if m.dist in ("percent", "int", "large")]
                                 or measures)
            values = _Values(rng, measure.dist)
            raw = [rng.uniform(1, 10) ** 1.5 for _ in cats]
            if measure.dist == "percent":  # shares of a whole
                raw = [100 * v / sum(raw) for v in raw]
                data = [max(round_to(v, 1), 0.1) for v in raw]
            else:
                data = [max(round_to(v * values.level / 10, values.decimals), 1) for v in raw]
            name = _axis_title(measure, lang)
            return ChartSpec(kind, self._title(measure, dim, lang), [Series(name, data)],
                             cats, decimals=values.decimals if measure.dist != "percent"
                             else 1, percent=measure.dist == "percent", lang=lang)
        names = self._names(lang, nseries, measure.en, dim.dated) if nseries > 1 else [
            measure.zh if lang == "zh" else measure.en]
        series = [Series(name, values.series(n, trend=dim.ordered)) for name in names]
        if kind == "bar_line":
            for s in series[:-1]:
                s.mark = "bar"
            series[-1].mark = "line"
        return ChartSpec(kind, self._title(measure, dim, lang), series, cats,
                         x_title=(dim.zh if lang == "zh" else dim.en)
                         if rng.random() < 0.7 else "",
                         y_title=_axis_title(measure, lang), decimals=values.decimals,
                         percent=measure.unit_en == "%" and rng.random() < 0.7, lang=lang)

    def _title(self, measure: Measure, dim: Dimension, lang: str) -> str:
        rng = self.rng
        year = rng.randint(2015, 2024)
        if lang == "zh":
            titles = [f"各{dim.zh}{measure.zh}对比", f"{measure.zh}变化趋势"]
            of_a_year = [f"{year}年各{dim.zh}{measure.zh}", f"{year}年{measure.zh}统计"]
        else:
            titles = [f"{measure.en} by {dim.en.lower()}", f"{dim.en} {measure.en.lower()}"]
            of_a_year = [f"{measure.en} by {dim.en.lower()}, {year}", f"{measure.en} in {year}"]
        # a chart whose axis runs over years is not titled with one year
        return rng.choice(titles if dim.dated else titles + of_a_year)

    def _scatter(self, lang: str) -> ChartSpec:
        rng = self.rng
        (xen, xzh, xlo, xhi, xdec), (yen, yzh, ylo, yhi, ydec) = rng.choice(SCATTER_PAIRS)
        groups = rng.choice([1, 1, 2, 3])
        names = self._names(lang, groups) if groups > 1 else [yzh if lang == "zh" else yen]
        slope = rng.choice([1, 1, -1]) * rng.uniform(0.4, 1.0)
        series = []
        for name in names:
            seen: dict[str, list[float]] = {}
            for _ in range(rng.randint(8, 30)):
                t = rng.random()
                x = round_to(xlo + t * (xhi - xlo), xdec)
                u = 0.5 + slope * (t - 0.5) + rng.gauss(0, 0.12)
                y = round_to(ylo + min(max(u, 0.0), 1.0) * (yhi - ylo), ydec)
                seen.setdefault(f"{x:.{xdec}f}", [x, y])
            series.append(Series(name, sorted(seen.values())))
        title = (f"{yzh}与{xzh.split('（')[0]}的关系" if lang == "zh"
                 else f"{yen.split(' (')[0]} vs. {xen.split(' (')[0].lower()}")
        return ChartSpec("scatter", title, series, x_title=xzh if lang == "zh" else xen,
                         y_title=yzh if lang == "zh" else yen, decimals=ydec, x_decimals=xdec,
                         lang=lang)

    def _radar(self, lang: str) -> ChartSpec:
        rng = self.rng
        axes = rng.choice(RADAR_AXES)[lang == "zh"]
        cats = rng.sample(axes, rng.randint(4, min(8, len(axes))))
        names = self._names(lang, rng.randint(1, 3), "Sales")  # products or brands
        decimals = rng.choice([0, 1])
        series = [Series(name, [round_to(rng.uniform(35, 100), decimals) for _ in cats])
                  for name in names]
        title = rng.choice(["产品评分对比", "综合能力评估"] if lang == "zh"
                           else ["Product ratings", "Skill profile", "Comparison of scores"])
        return ChartSpec("radar", title, series, cats, decimals=decimals, lang=lang)


def tidy(spec: ChartSpec) -> ChartSpec:
    """Missing table cells (NaN) become gaps; a series with no value left is dropped."""
    for s in spec.series:
        if spec.kind != "scatter":
            s.values = [None if v is None or math.isnan(v) else v for v in s.values]
    spec.series = [s for s in spec.series if any(v is not None for v in s.values)]
    return spec


class GeneratedCharts(Source):
    """Generated specs, with a share (`vega`) of views of the vega_datasets tables."""

    def __init__(self, vega: float = 0.25) -> None:
        self.vega = vega

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        spec = None
        if rng.random() < self.vega:
            spec = tidy(vega_spec(rng))
            try:
                validate(spec)
            except SpecError:  # a view with too little data in its window: generate instead
                spec = None
        if spec is None:
            spec = ChartGrammar(rng).spec()
        return Item(k, seed, spec.to_dict(), {"kind": spec.kind, "origin": spec.origin,
                                              "lang": spec.lang})
