"""Chart specs: generated from real words and controlled value distributions, real tables
from the `vega_datasets` package, or a user's `.csv`/`.json` tables (`--source DIR`).

Generated specs follow OneChart: titles, axis titles, legends and categories from real
words and entities (English or Chinese), values from several distributions and magnitudes
(integers, decimals, percentages, negatives, large numbers with their unit in the title).
Every value is rounded to the precision the chart prints, so the spec is the target.
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from renderers.base import Item, Source
from renderers.chart.spec import ChartSpec, Series, SpecError, round_to, validate
from renderers.text.prose import text_language

KIND_WEIGHTS = {"bar": 10, "hbar": 6, "grouped_bar": 9, "stacked_bar": 7, "line": 8,
                "multi_line": 9, "area": 5, "pie": 7, "donut": 5, "scatter": 7, "radar": 6,
                "bar_line": 6}

MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS_ZH = [f"{i}月" for i in range(1, 13)]


@dataclass(frozen=True)
class Dimension:
    en: str
    zh: str
    cats_en: tuple[str, ...]
    cats_zh: tuple[str, ...]
    ordered: bool = False  # time-like: kept in order, good for lines
    dated: bool = False  # its categories carry years


def _years(lo: int, hi: int) -> tuple[str, ...]:
    return tuple(str(y) for y in range(lo, hi + 1))


DIMENSIONS = (
    Dimension("Country", "国家",
              ("China", "India", "United States", "Indonesia", "Brazil", "Nigeria", "Japan",
               "Germany", "Mexico", "France", "Egypt", "Vietnam", "Kenya", "Canada", "Spain"),
              ("中国", "印度", "美国", "印度尼西亚", "巴西", "日本", "德国", "墨西哥", "法国",
               "埃及", "越南", "肯尼亚", "加拿大", "西班牙", "韩国")),
    Dimension("City", "城市",
              ("Tokyo", "Delhi", "Shanghai", "Sao Paulo", "Cairo", "Mumbai", "Beijing",
               "Osaka", "New York", "Lagos", "Paris", "London", "Seoul", "Madrid"),
              ("北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "南京", "西安", "重庆",
               "天津", "苏州", "长沙", "郑州")),
    Dimension("Month", "月份", tuple(MONTHS_EN), tuple(MONTHS_ZH), ordered=True),
    Dimension("Year", "年份", _years(2008, 2024), tuple(f"{y}年" for y in range(2008, 2025)),
              ordered=True, dated=True),
    Dimension("Quarter", "季度",
              tuple(f"Q{q} {y}" for y in (2022, 2023, 2024) for q in range(1, 5)),
              tuple(f"{y}年Q{q}" for y in (2022, 2023, 2024) for q in range(1, 5)),
              ordered=True, dated=True),
    Dimension("Product", "产品",
              ("Laptops", "Phones", "Tablets", "Monitors", "Printers", "Headphones", "Cameras",
               "Keyboards", "Routers", "Speakers"),
              ("笔记本电脑", "手机", "平板电脑", "显示器", "打印机", "耳机", "相机", "键盘",
               "路由器", "音箱")),
    Dimension("Department", "部门",
              ("Sales", "Marketing", "Engineering", "Finance", "Support", "Operations",
               "Legal", "Research"),
              ("销售部", "市场部", "研发部", "财务部", "客服部", "运营部", "法务部", "人事部")),
    Dimension("Region", "地区",
              ("North", "South", "East", "West", "Central", "Northeast", "Southwest"),
              ("华北", "华东", "华南", "华中", "西南", "西北", "东北")),
    Dimension("Fruit", "水果",
              ("Apples", "Bananas", "Oranges", "Grapes", "Mangoes", "Pears", "Peaches",
               "Cherries", "Lemons"),
              ("苹果", "香蕉", "橙子", "葡萄", "芒果", "梨", "桃子", "樱桃", "柠檬")),
    Dimension("Age group", "年龄段",
              ("Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
              ("18岁以下", "18-24岁", "25-34岁", "35-44岁", "45-54岁", "55-64岁", "65岁以上"),
              ordered=True),
    Dimension("Channel", "渠道",
              ("Online store", "Retail", "Wholesale", "Direct sales", "Partners", "Catalog"),
              ("线上商城", "零售门店", "批发", "直销", "合作伙伴", "电话销售")),
)


@dataclass(frozen=True)
class Measure:
    en: str
    zh: str
    unit_en: str
    unit_zh: str
    dist: str


MEASURES = (
    Measure("Revenue", "营业收入", "million USD", "百万美元", "large"),
    Measure("Sales", "销量", "thousand units", "千台", "int"),
    Measure("Market share", "市场份额", "%", "%", "percent"),
    Measure("Growth rate", "增长率", "%", "%", "signed_percent"),
    Measure("Average temperature", "平均气温", "°C", "°C", "temperature"),
    Measure("Population", "人口", "million", "百万人", "decimal"),
    Measure("Net profit", "净利润", "billion CNY", "亿元", "signed_large"),
    Measure("Visitors", "游客人数", "thousands", "万人次", "int"),
    Measure("Rainfall", "降雨量", "mm", "毫米", "decimal"),
    Measure("Orders", "订单数", "", "", "count"),
    Measure("Energy use", "能源消耗", "GWh", "吉瓦时", "large"),
    Measure("Satisfaction", "满意度", "%", "%", "percent"),
)
# Which measures read sensibly against which dimension ("Rainfall by fruit" does not).
DIM_MEASURES = {
    "Country": {"Population", "Growth rate", "Average temperature", "Energy use", "Visitors",
                "Rainfall", "Market share"},
    "City": {"Population", "Average temperature", "Visitors", "Rainfall", "Energy use",
             "Orders", "Growth rate"},
    "Month": {"Revenue", "Sales", "Average temperature", "Rainfall", "Visitors", "Orders",
              "Energy use", "Growth rate", "Net profit", "Satisfaction"},
    "Year": {"Revenue", "Sales", "Population", "Net profit", "Energy use", "Growth rate",
             "Visitors", "Market share", "Orders"},
    "Quarter": {"Revenue", "Sales", "Net profit", "Growth rate", "Orders", "Market share",
                "Satisfaction"},
    "Product": {"Revenue", "Sales", "Market share", "Orders", "Net profit", "Growth rate",
                "Satisfaction"},
    "Department": {"Revenue", "Orders", "Net profit", "Satisfaction", "Energy use",
                   "Growth rate"},
    "Region": {"Revenue", "Sales", "Market share", "Average temperature", "Rainfall",
               "Population", "Growth rate", "Net profit", "Visitors"},
    "Fruit": {"Sales", "Market share", "Orders", "Revenue", "Satisfaction"},
    "Age group": {"Population", "Market share", "Satisfaction", "Visitors", "Orders"},
    "Channel": {"Revenue", "Sales", "Market share", "Orders", "Growth rate", "Satisfaction"},
}
COMMERCIAL = {"Revenue", "Sales", "Market share", "Net profit", "Orders", "Satisfaction",
              "Growth rate", "Energy use"}
SERIES_NAMES = {
    "years": (("2021", "2022", "2023", "2024"), ("2021年", "2022年", "2023年", "2024年")),
    "plan": (("Actual", "Target", "Forecast", "Last year"), ("实际", "目标", "预测", "去年同期")),
    "brands": (("Apple", "Samsung", "Xiaomi", "Huawei", "Lenovo"),
               ("华为", "小米", "联想", "海尔", "比亚迪")),
    "groups": (("Men", "Women", "Urban", "Rural"), ("男性", "女性", "城镇", "农村")),
    "stores": (("Store A", "Store B", "Store C", "Store D"), ("一店", "二店", "三店", "四店")),
}
SOURCES_EN = ("World Bank", "National Bureau of Statistics", "Company annual reports", "OECD",
              "IMF World Economic Outlook", "Eurostat", "U.S. Census Bureau", "Internal survey",
              "UN Population Division")
SOURCES_ZH = ("国家统计局", "公司年报", "世界银行", "行业协会", "中国气象局", "问卷调查",
              "海关总署", "商务部")
RADAR_AXES = (
    (("Price", "Quality", "Design", "Battery", "Camera", "Service", "Speed", "Weight"),
     ("价格", "质量", "外观", "续航", "拍照", "服务", "性能", "重量")),
    (("Reading", "Writing", "Math", "Science", "History", "Art", "Music"),
     ("语文", "写作", "数学", "科学", "历史", "美术", "音乐")),
)
SCATTER_PAIRS = (
    (("GDP per capita (thousand USD)", "人均GDP（千美元）", 1, 60, 1),
     ("Life expectancy (years)", "预期寿命（岁）", 55, 85, 1)),
    (("Advertising spend (million USD)", "广告投入（百万美元）", 1, 40, 1),
     ("Sales (million USD)", "销售额（百万美元）", 10, 400, 0)),
    (("Study hours per week", "每周学习时长（小时）", 0, 40, 0),
     ("Exam score", "考试成绩（分）", 40, 100, 0)),
    (("Temperature (°C)", "气温（°C）", -10, 35, 1),
     ("Ice cream sales (units)", "冰淇淋销量（个）", 20, 600, 0)),
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


# -- vega_datasets: small real tables shipped in the package ---------------------------------

@cache
def _vega(name: str) -> Any:
    """A local vega_datasets table, read once per process (callers never modify it)."""
    import warnings

    import pandas as pd
    from vega_datasets import local_data

    with warnings.catch_warnings():  # vega_datasets passes a keyword pandas deprecates
        warnings.simplefilter("ignore")
        df = getattr(local_data, name.replace("-", "_"))()
    if name == "us-employment":
        df = df.assign(month=pd.to_datetime(df.month))
    return df


def _vega_spec(rng: random.Random) -> ChartSpec:
    """A chart of one of the vega_datasets local tables, viewed one of a few ways."""
    view = rng.choice(["cars", "cars_scatter", "barley", "iowa", "stocks", "seattle",
                       "seattle_pie", "crimea", "iris", "driving", "wheat", "employment"])
    source = "Vega datasets"
    if view == "cars":
        df = _vega("cars")
        col, title = rng.choice([("Miles_per_Gallon", "Average fuel economy by origin"),
                                 ("Horsepower", "Average horsepower by origin")])
        g = df.groupby("Origin")[col].mean()
        return ChartSpec(rng.choice(["bar", "hbar"]), title,
                         [Series(col.replace("_", " "), [round_to(v, 1) for v in g.values])],
                         [str(c) for c in g.index], source, "Origin",
                         col.replace("_", " "), decimals=1, origin="vega:cars")
    if view == "cars_scatter":
        df = _vega("cars").dropna(subset=["Horsepower", "Miles_per_Gallon"])
        series = []
        for origin in rng.sample(["USA", "Europe", "Japan"], rng.randint(1, 3)):
            part = df[df.Origin == origin].sample(n=rng.randint(8, 20),
                                                  random_state=rng.randrange(2**31))
            pts = {int(h): [float(int(h)), round_to(m, 1)]
                   for h, m in zip(part.Horsepower, part.Miles_per_Gallon, strict=True)}
            series.append(Series(origin, sorted(pts.values())))
        return ChartSpec("scatter", "Horsepower and fuel economy", series, [], source,
                         "Horsepower", "Miles per gallon", decimals=1, x_decimals=0,
                         origin="vega:cars")
    if view == "barley":
        df = _vega("barley")
        g = df.groupby(["site", "year"])["yield"].mean().unstack()
        kind = rng.choice(["grouped_bar", "stacked_bar"])
        return ChartSpec(kind, "Barley yield by site", [
            Series(str(y), [round_to(v, 1) for v in g[y].values]) for y in g.columns],
            [str(s) for s in g.index], source, "Site", "Yield (bushels/acre)", decimals=1,
            origin="vega:barley")
    if view == "iowa":
        df = _vega("iowa-electricity")
        df = df.assign(year=df.year.dt.year)
        g = df.pivot(index="year", columns="source", values="net_generation")
        start = rng.randint(0, len(g) - 8)
        g = g.iloc[start:start + rng.randint(6, 8)]
        kind = rng.choice(["multi_line", "stacked_bar", "area"])
        return ChartSpec(kind, "Iowa net electricity generation by source", [
            Series(str(c), [round_to(v / 1000, 1) for v in g[c].values]) for c in g.columns],
            [str(y) for y in g.index], "U.S. Energy Information Administration", "Year",
            "Net generation (TWh)", decimals=1, origin="vega:iowa-electricity")
    if view == "stocks":
        df = _vega("stocks")
        year = rng.randint(2004, 2009)
        df = df[df.date.dt.year == year]
        symbols = rng.sample(sorted(df.symbol.unique()), rng.randint(2, 3))
        g = df[df.symbol.isin(symbols)].pivot(index="date", columns="symbol", values="price")
        return ChartSpec("multi_line", f"Monthly closing price, {year}", [
            Series(str(c), [round_to(v, 2) for v in g[c].values]) for c in g.columns],
            [MONTHS_EN[d.month - 1] for d in g.index], source, "Month", "Price (USD)",
            decimals=2, origin="vega:stocks")
    if view in ("seattle", "seattle_pie"):
        df = _vega("seattle-weather")
        year = rng.randint(2012, 2015)
        df = df[df.date.dt.year == year]
        if view == "seattle_pie":
            counts = df.weather.value_counts()
            return ChartSpec(rng.choice(["pie", "donut"]), f"Seattle weather, {year}",
                             [Series("Days", [float(v) for v in counts.values])],
                             [str(w).capitalize() for w in counts.index], "NOAA",
                             origin="vega:seattle-weather")
        g = df.groupby(df.date.dt.month)[["temp_max", "temp_min"]].mean()
        return ChartSpec(rng.choice(["multi_line", "grouped_bar"]),
                         f"Seattle monthly temperatures, {year}", [
                             Series("Daily high", [round_to(v, 1) for v in g.temp_max]),
                             Series("Daily low", [round_to(v, 1) for v in g.temp_min])],
                         [MONTHS_EN[m - 1] for m in g.index], "NOAA", "Month",
                         "Temperature (°C)", decimals=1, origin="vega:seattle-weather")
    if view == "crimea":
        df = _vega("crimea").iloc[:12]
        return ChartSpec("stacked_bar", "Causes of death in the Crimean War", [
            Series(c.capitalize(), [float(v) for v in df[c].values])
            for c in ("wounds", "other", "disease")],
            [f"{MONTHS_EN[d.month - 1]} {d.year}" for d in df.date], "Florence Nightingale",
            "Month", "Deaths", origin="vega:crimea")
    if view == "iris":
        df = _vega("iris")
        g = df.groupby("species").mean()
        cols = ["sepalLength", "sepalWidth", "petalLength", "petalWidth"]
        names = ["Sepal length", "Sepal width", "Petal length", "Petal width"]
        if rng.random() < 0.5:
            return ChartSpec("grouped_bar", "Iris measurements by species", [
                Series(str(s).capitalize(), [round_to(v, 2) for v in g.loc[s, cols]])
                for s in g.index], names, "R. A. Fisher (1936)", "Measurement",
                "Mean (cm)", decimals=2, origin="vega:iris")
        names += ["Sepal ratio"]
        return ChartSpec("radar", "Iris species profile", [
            Series(str(s).capitalize(), [round_to(v, 2) for v in g.loc[s, cols]]
                   + [round_to(g.loc[s, cols[0]] / g.loc[s, cols[1]], 2)])
            for s in g.index], names, "R. A. Fisher (1936)", decimals=2, origin="vega:iris")
    if view == "driving":
        df = _vega("driving")
        start = rng.randint(0, len(df) - 12)
        part = df.iloc[start:start + rng.randint(8, 12)]
        return ChartSpec(rng.choice(["line", "area", "bar"]),
                         "Miles driven per capita in the U.S.",
                         [Series("Miles per capita", [float(v) for v in part.miles])],
                         [str(y) for y in part.year], "Hannah Fairfield, NYT", "Year",
                         "Miles", origin="vega:driving")
    if view == "wheat":
        df = _vega("wheat").dropna()
        start = rng.randint(0, len(df) - 10)
        part = df.iloc[start:start + rng.randint(6, 10)]
        return ChartSpec("bar_line", "Wheat price and weekly wages in England", [
            Series("Wheat (shillings/quarter)", [round_to(v, 1) for v in part.wheat], "bar"),
            Series("Wages (shillings/week)", [round_to(v, 1) for v in part.wages], "line")],
            [str(y) for y in part.year], "William Playfair", "Year", "Shillings",
            decimals=1, origin="vega:wheat")
    df = _vega("us-employment")
    start = rng.randint(0, len(df) - 12)
    part = df.iloc[start:start + 12]
    cols = rng.sample(["construction", "manufacturing", "information", "utilities",
                       "mining_and_logging", "wholesale_trade"], rng.randint(2, 3))
    return ChartSpec("multi_line", f"U.S. employment, {part.month.iloc[0].year}", [
        Series(c.replace("_", " ").capitalize(), [round_to(v, 0) for v in part[c]])
        for c in cols], [f"{MONTHS_EN[d.month - 1]} {d.year % 100:02d}" for d in part.month],
        "U.S. Bureau of Labor Statistics", "Month", "Employees (thousands)",
        origin="vega:us-employment")


def _tidy(spec: ChartSpec) -> ChartSpec:
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
            spec = _tidy(_vega_spec(rng))
            try:
                validate(spec)
            except SpecError:  # a view with too little data in its window: generate instead
                spec = None
        if spec is None:
            spec = ChartGrammar(rng).spec()
        return Item(k, seed, spec.to_dict(), {"kind": spec.kind, "origin": spec.origin,
                                              "lang": spec.lang})


# -- user tables ------------------------------------------------------------------------------

def _number(cell: Any) -> float | None:
    """A cell as a number: None for empty/NaN cells; raises ValueError for text."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool):
        raise ValueError(cell)
    if isinstance(cell, int | float):
        value = float(cell)
    else:
        text = str(cell).strip().replace(",", "")
        if text.lower() in ("nan", "na", "n/a", "null", "-"):
            return None
        value = float(text.rstrip("%"))
    return None if math.isnan(value) else value


def read_table(path: Path) -> tuple[dict[str, Any], list[str], list[list[Any]]]:
    """(metadata, header, rows) of a .csv or .json table.

    JSON: a list of records, or {"columns": [...], "rows": [[...]]} or {"data": records},
    optionally with "title", "source", "x_title", "y_title", "kind" beside them."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
        if not rows:
            raise SpecError("empty-table", path.name)
        return {}, rows[0], rows[1:]
    raw = json.loads(path.read_text(encoding="utf-8"))
    meta: dict[str, Any] = {}
    if isinstance(raw, dict):
        meta = {k: raw[k] for k in ("title", "source", "x_title", "y_title", "kind") if k in raw}
        if "columns" in raw:
            return meta, [str(c) for c in raw["columns"]], list(raw.get("rows", []))
        raw = raw.get("data", [])
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise SpecError("empty-table", f"{path.name}: no records")
    header = list(dict.fromkeys(k for r in raw for k in r))
    return meta, header, [[r.get(h) for h in header] for r in raw]


def _decimals(values: list[float]) -> int:
    """The fewest decimals (up to 3) that print every value as the table gives it."""
    for d in range(4):
        if all(abs(v - round(v, d)) < 1e-9 * max(1.0, abs(v)) for v in values):
            return d
    return 3


def table_spec(path: Path, rng: random.Random) -> ChartSpec:
    """A chart of a user table: the first text column gives the categories, numeric
    columns the series. Empty columns are left out; NaN cells are gaps; magnitudes beyond
    what a chart prints legibly are scaled by a power of 1000, named in the axis title."""
    meta, header, rows = read_table(path)
    if not rows:
        raise SpecError("empty-table", f"{path.name}: a header and no rows")
    width = len(header)
    rows = [list(r) + [None] * (width - len(r)) for r in rows]
    columns = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    numeric: dict[str, list[float | None]] = {}
    label_col = None
    for h in header:
        try:
            numeric[h] = [_number(c) for c in columns[h]]
        except (TypeError, ValueError):
            if label_col is None:
                label_col = h
    if label_col is None:
        label_col = header[0]
        numeric.pop(label_col, None)
    cats = ["" if c is None else str(c).strip() for c in columns[label_col]]
    numeric = {h: v for h, v in numeric.items() if any(x is not None for x in v)}
    if not numeric:
        raise SpecError("no-numeric-series", f"{path.name}: no column holds numbers")
    flat = [abs(v) for vs in numeric.values() for v in vs if v is not None]
    top = max(flat)
    scale_power = 0
    if top >= 1e7:  # print 22.7 (×10^12), not 22700000000000
        while top / 1000 ** scale_power >= 1000 and scale_power < 6:
            scale_power += 1
    factor = 1000 ** scale_power
    scaled = {h: [None if v is None else v / factor for v in vs] for h, vs in numeric.items()}
    decimals = _decimals([v for vs in scaled.values() for v in vs if v is not None])
    if top / factor < 10 ** -decimals or (top and top / factor < 0.01):
        raise SpecError("values-too-small", f"{path.name}: largest |value| {top:g} prints as 0")
    single = len(scaled) == 1
    positive = all(v is not None and v > 0 for vs in scaled.values() for v in vs)
    kinds = ["bar", "line"] if single else ["grouped_bar", "multi_line", "stacked_bar"]
    if single and positive and len(cats) <= 8:
        kinds += ["pie", "donut"]
    if not single and 3 <= len(cats) <= 10 and all(
            v is not None for vs in scaled.values() for v in vs):
        kinds.append("radar")
    if not positive and "stacked_bar" in kinds:
        kinds.remove("stacked_bar")
    kind = meta.get("kind") or rng.choice(kinds)
    y_title = str(meta.get("y_title", "" if not single else next(iter(scaled))))
    if scale_power:
        y_title = f"{y_title} (×10^{3 * scale_power})".strip()
    series = [Series(str(h), [None if v is None else round_to(v, decimals) for v in vs])
              for h, vs in scaled.items()]
    spec = ChartSpec(kind, str(meta.get("title", path.stem.replace("_", " "))), series,
                     cats, str(meta.get("source", "")),
                     str(meta.get("x_title", label_col)), y_title, decimals=decimals,
                     origin=f"file:{path.name}")
    spec.lang = text_language(" ".join(spec.texts()))
    validate(spec)
    return spec


class ChartTables(Source):
    """A folder (or one file) of .csv/.json tables; item k charts table k mod n. A table no
    chart can show carries its reason in `content["error"]`, which the renderer rejects."""

    def __init__(self, path: str | Path) -> None:
        root = Path(path)
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.suffix.lower() in (".csv", ".json"))
        if not files:
            raise FileNotFoundError(f"no .csv or .json tables under {root}")
        self.files = files

    def size(self) -> int:
        return len(self.files)

    def item(self, seed: int, k: int) -> Item:
        path = self.files[k % len(self.files)]
        try:
            spec = table_spec(path, random.Random(seed))
        except SpecError as exc:
            return Item(k, seed, {"error": f"{exc.reason}: {exc.detail}"}, {"file": path.name})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            return Item(k, seed, {"error": f"unreadable-table: {path.name}: {exc}"},
                        {"file": path.name})
        return Item(k, seed, spec.to_dict(), {"kind": spec.kind, "origin": spec.origin,
                                              "lang": spec.lang, "file": path.name})
