"""The ECharts option of a chart spec in a given look (size, theme, font, legend place,
data labels, label rotation), built with pyecharts as plain JSON data (no JavaScript
functions). It does not know the browser, nor how the chart is checked once drawn."""

from __future__ import annotations

import json
from typing import Any

from ocr2synth.renderers.chart.spec import SOURCE_PREFIX, ChartSpec, fmt, wrap_label


def _label(spec: ChartSpec, v: float) -> str:
    return fmt(v, spec.decimals) + ("%" if spec.percent else "")


def _items(spec: ChartSpec, values: list[Any], labels: bool,
           position: str = "top") -> list[Any]:
    """Data items; with labels, each carries its printed text as a literal formatter
    (ECharts would print 12.50 as 12.5)."""
    if not labels:
        return [v for v in values]
    return [None if v is None else {"value": v, "label": {
        "show": True, "position": position, "formatter": _label(spec, v)}}
        for v in values]


def chart_option(spec: ChartSpec, look: dict[str, Any]) -> dict[str, Any]:
    from pyecharts import options as opts

    size = look["size"]
    title_text = wrap_label(spec.title, max(30, look["width"] // (size + 6)))
    title_h = 14 + (title_text.count("\n") + 1) * (size + 10)  # title block height
    title = opts.TitleOpts(title=title_text,
                           pos_left=look["title_left"], pos_top="8",
                           title_textstyle_opts=opts.TextStyleOpts(font_size=size + 5))
    legend_pos = look["legend"] if spec.kind not in ("pie", "donut") else (
        "right" if look["legend"] == "right" else "bottom")
    if spec.kind in ("pie", "donut") and legend_pos != "right":
        legend = opts.LegendOpts(is_show=False)  # the slices carry their names
    elif legend_pos == "right":
        legend = opts.LegendOpts(orient="vertical", pos_right="10", pos_top="middle",
                                 textstyle_opts=opts.TextStyleOpts(font_size=size))
    elif legend_pos == "top":
        legend = opts.LegendOpts(pos_top=str(title_h), textstyle_opts=opts.TextStyleOpts(
            font_size=size))
    else:
        legend = opts.LegendOpts(pos_bottom="28" if spec.source else "8",
                                 textstyle_opts=opts.TextStyleOpts(font_size=size))
    if spec.kind in ("pie", "donut"):
        chart = _pie(spec, look, opts)
    elif spec.kind == "radar":
        chart = _radar(spec, look, opts)
    else:
        chart = _cartesian(spec, look, opts)
    chart.set_global_opts(title_opts=title, legend_opts=legend,
                          **_axes(spec, look, opts))
    option = json.loads(chart.dump_options())
    option["animation"] = False
    option["textStyle"] = {"fontFamily": look["font"], "fontSize": size}
    if spec.kind not in ("pie", "donut", "radar"):
        # room for the title, legend and source; labels kept inside the grid
        option["grid"] = {
            "left": 16, "right": 150 if legend_pos == "right" else 24,
            "top": title_h + (52 if legend_pos == "top" else 20),
            "bottom": (56 if legend_pos == "bottom" else 20) + (18 if spec.source else 0),
            "outerBoundsMode": "same", "outerBoundsContain": "all"}
    graphics = []
    if spec.source:
        graphics.append({"type": "text", look["source_left"]: 10, "bottom": 6,
                         "style": {"text": SOURCE_PREFIX[spec.lang] + spec.source,
                                   "fontSize": size - 2, "fill": "#777",
                                   "fontFamily": look["font"]}})
    if spec.kind in ("pie", "donut"):
        graphics.append({"type": "text", "left": "center",
                         "bottom": (54 if legend_pos == "bottom" else 14)
                         + (18 if spec.source else 0),
                         "style": {"text": spec.series[0].name, "fontSize": size,
                                   "fill": "#888" if look["theme"] == "dark" else "#333",
                                   "fontFamily": look["font"]}})
    if graphics:
        option["graphic"] = graphics
    return option


def _axes(spec: ChartSpec, look: dict[str, Any], opts: Any) -> dict[str, Any]:
    if spec.kind in ("pie", "donut", "radar"):
        return {}
    rotate = look.get("rotate", 0)
    percent = "{value}%" if spec.percent else "{value}"
    split = opts.SplitLineOpts(is_show=look["grid"])
    name_style = opts.TextStyleOpts(font_size=look["size"])
    if spec.kind == "scatter":
        return {"xaxis_opts": opts.AxisOpts(type_="value", name=spec.x_title,
                                            name_location="middle", name_gap=30,
                                            name_textstyle_opts=name_style,
                                            splitline_opts=split, is_scale=True),
                "yaxis_opts": opts.AxisOpts(type_="value", name=spec.y_title,
                                            name_location="middle", name_gap=48,
                                            name_textstyle_opts=name_style,
                                            splitline_opts=split, is_scale=True)}
    category = opts.AxisOpts(
        type_="category", name=spec.x_title, name_location="middle",
        name_gap=28 if not rotate else 12, name_textstyle_opts=name_style,
        axislabel_opts=opts.LabelOpts(interval=0, rotate=rotate if spec.kind != "hbar"
                                      else 0),
        is_inverse=spec.kind == "hbar", boundary_gap=spec.kind != "area")
    value = opts.AxisOpts(type_="value", name=spec.y_title, name_location="middle",
                          name_gap=48 if spec.kind != "hbar" else 30,
                          name_textstyle_opts=name_style, splitline_opts=split,
                          axislabel_opts=opts.LabelOpts(formatter=percent))
    if spec.kind == "hbar":
        return {"xaxis_opts": value, "yaxis_opts": category}
    return {"xaxis_opts": category, "yaxis_opts": value}


def _cartesian(spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
    from pyecharts.charts import Bar, Line, Scatter

    labels = look.get("labels", False)
    if spec.kind == "scatter":
        chart = Scatter()
        chart.add_xaxis([])
        for s in spec.series:
            chart.add_yaxis(s.name, [[x, y] for x, y in s.values], symbol_size=8,
                            label_opts=opts.LabelOpts(is_show=False))
        return chart
    cats = [wrap_label(c, 16) for c in spec.categories]
    bars = [s for s in spec.series if spec.kind in ("bar", "hbar", "grouped_bar",
                                                    "stacked_bar")
            or (spec.kind == "bar_line" and s.mark == "bar")]
    lines = [s for s in spec.series if s not in bars]
    chart = None
    if bars:
        chart = Bar()
        chart.add_xaxis(cats)
        position = ("inside" if spec.kind == "stacked_bar" else
                    "right" if spec.kind == "hbar" else "top")
        # a percent bar width is per series: side by side bars share the band
        side_by_side = 1 if spec.kind == "stacked_bar" else len(bars)
        width = (f"{int(look['bar_width'][:-1]) // side_by_side}%" if look["bar_width"]
                 else None)
        for s in bars:
            chart.add_yaxis(s.name, _items(spec, s.values, labels, position),
                            stack="total" if spec.kind == "stacked_bar" else None,
                            bar_width=width,
                            label_opts=opts.LabelOpts(is_show=False))
        if spec.kind == "hbar":
            chart.reversal_axis()
    if lines:
        line = Line()
        line.add_xaxis(cats)
        for s in lines:
            line.add_yaxis(s.name, _items(spec, s.values, labels), is_smooth=False,
                           is_connect_nones=False, symbol_size=6, z=3,
                           areastyle_opts=opts.AreaStyleOpts(
                               opacity=0.3 if spec.kind == "area" else 0),
                           label_opts=opts.LabelOpts(is_show=False))
            # pyecharts pairs each value with its category; ECharts reads them by
            # index from the category axis, and a pair would hide the label formatter
            line.options["series"][-1]["data"] = _items(spec, s.values, labels)
        chart = chart.overlap(line) if chart is not None else line
    return chart


def _pie(spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
    from pyecharts.charts import Pie

    s = spec.series[0]
    labels = look.get("labels", False)
    chart = Pie()
    data = [list(p) for p in zip(spec.categories, s.values, strict=True)]
    chart.add(s.name, data,
              radius=["38%", "62%"] if spec.kind == "donut" else [0, "62%"],
              center=["50%", "52%"], is_clockwise=True,
              label_opts=opts.LabelOpts(is_show=False))
    option_items = []
    for cat, v in zip(spec.categories, s.values, strict=True):
        text = wrap_label(cat, 16) + (f"\n{_label(spec, v)}" if labels else "")
        option_items.append((cat, v, text))
    chart.options["series"][0]["data"] = [
        {"name": cat, "value": v, "label": {"show": True, "formatter": text}}
        for cat, v, text in option_items]
    return chart


def _radar(spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
    from pyecharts.charts import Radar

    top = max(v for s in spec.series for v in s.values)
    chart = Radar()
    chart.add_schema(schema=[opts.RadarIndicatorItem(name=wrap_label(c, 14), max_=top * 1.1)
                             for c in spec.categories], radius="58%",
                     center=["50%", "55%"])
    for s in spec.series:
        chart.add(s.name, [s.values], areastyle_opts=opts.AreaStyleOpts(opacity=0.15),
                  label_opts=opts.LabelOpts(is_show=False))
    return chart
