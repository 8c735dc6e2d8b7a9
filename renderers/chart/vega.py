"""Charts of the small real tables shipped inside the `vega_datasets` wheel (cars, barley,
Iowa electricity, stocks, Seattle weather, Crimean war deaths, iris, driving, wheat and
wages, U.S. employment), each viewed one of a few ways."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from ocr2synth.renderers.chart.spec import ChartSpec, Series, round_to
from ocr2synth.renderers.chart.vocabulary import MONTHS_EN


@cache
def vega_table(name: str) -> Any:
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


def vega_spec(rng: random.Random) -> ChartSpec:
    """A chart of one of the vega_datasets local tables, viewed one of a few ways."""
    view = rng.choice(["cars", "cars_scatter", "barley", "iowa", "stocks", "seattle",
                       "seattle_pie", "crimea", "iris", "driving", "wheat", "employment"])
    source = "Vega datasets"
    if view == "cars":
        df = vega_table("cars")
        col, title = rng.choice([("Miles_per_Gallon", "Average fuel economy by origin"),
                                 ("Horsepower", "Average horsepower by origin")])
        g = df.groupby("Origin")[col].mean()
        return ChartSpec(rng.choice(["bar", "hbar"]), title,
                         [Series(col.replace("_", " "), [round_to(v, 1) for v in g.values])],
                         [str(c) for c in g.index], source, "Origin",
                         col.replace("_", " "), decimals=1, origin="vega:cars")
    if view == "cars_scatter":
        df = vega_table("cars").dropna(subset=["Horsepower", "Miles_per_Gallon"])
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
        df = vega_table("barley")
        g = df.groupby(["site", "year"])["yield"].mean().unstack()
        kind = rng.choice(["grouped_bar", "stacked_bar"])
        return ChartSpec(kind, "Barley yield by site", [
            Series(str(y), [round_to(v, 1) for v in g[y].values]) for y in g.columns],
            [str(s) for s in g.index], source, "Site", "Yield (bushels/acre)", decimals=1,
            origin="vega:barley")
    if view == "iowa":
        df = vega_table("iowa-electricity")
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
        df = vega_table("stocks")
        year = rng.randint(2004, 2009)
        df = df[df.date.dt.year == year]
        symbols = rng.sample(sorted(df.symbol.unique()), rng.randint(2, 3))
        g = df[df.symbol.isin(symbols)].pivot(index="date", columns="symbol", values="price")
        return ChartSpec("multi_line", f"Monthly closing price, {year}", [
            Series(str(c), [round_to(v, 2) for v in g[c].values]) for c in g.columns],
            [MONTHS_EN[d.month - 1] for d in g.index], source, "Month", "Price (USD)",
            decimals=2, origin="vega:stocks")
    if view in ("seattle", "seattle_pie"):
        df = vega_table("seattle-weather")
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
        df = vega_table("crimea").iloc[:12]
        return ChartSpec("stacked_bar", "Causes of death in the Crimean War", [
            Series(c.capitalize(), [float(v) for v in df[c].values])
            for c in ("wounds", "other", "disease")],
            [f"{MONTHS_EN[d.month - 1]} {d.year}" for d in df.date], "Florence Nightingale",
            "Month", "Deaths", origin="vega:crimea")
    if view == "iris":
        df = vega_table("iris")
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
        df = vega_table("driving")
        start = rng.randint(0, len(df) - 12)
        part = df.iloc[start:start + rng.randint(8, 12)]
        return ChartSpec(rng.choice(["line", "area", "bar"]),
                         "Miles driven per capita in the U.S.",
                         [Series("Miles per capita", [float(v) for v in part.miles])],
                         [str(y) for y in part.year], "Hannah Fairfield, NYT", "Year",
                         "Miles", origin="vega:driving")
    if view == "wheat":
        df = vega_table("wheat").dropna()
        start = rng.randint(0, len(df) - 10)
        part = df.iloc[start:start + rng.randint(6, 10)]
        return ChartSpec("bar_line", "Wheat price and weekly wages in England", [
            Series("Wheat (shillings/quarter)", [round_to(v, 1) for v in part.wheat], "bar"),
            Series("Wages (shillings/week)", [round_to(v, 1) for v in part.wages], "line")],
            [str(y) for y in part.year], "William Playfair", "Year", "Shillings",
            decimals=1, origin="vega:wheat")
    df = vega_table("us-employment")
    start = rng.randint(0, len(df) - 12)
    part = df.iloc[start:start + 12]
    cols = rng.sample(["construction", "manufacturing", "information", "utilities",
                       "mining_and_logging", "wholesale_trade"], rng.randint(2, 3))
    return ChartSpec("multi_line", f"U.S. employment, {part.month.iloc[0].year}", [
        Series(c.replace("_", " ").capitalize(), [round_to(v, 0) for v in part[c]])
        for c in cols], [f"{MONTHS_EN[d.month - 1]} {d.year % 100:02d}" for d in part.month],
        "U.S. Bureau of Labor Statistics", "Month", "Employees (thousands)",
        origin="vega:us-employment")
