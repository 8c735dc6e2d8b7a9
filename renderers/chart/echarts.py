"""`chart-echarts`: chart specs as pyecharts options, drawn by ECharts in a warm Chromium.

pyecharts builds the option (a plain JSON dict: no JavaScript functions); the page
(templates/html/chart.html + chart.js, with the local echarts build and its themes)
receives it as the argument of `ocrChart()`, calls `setOption` with animation off and
returns `chart.getOption()`, the option ECharts actually applied, plus the string and box
of every text it painted. The renderer rebuilds {series: {x: value}} from the applied
option, requires every category and series name among the painted texts, and requires
the text boxes to sit inside the canvas without touching each other; a clash is retried
with rotated category labels and then without data labels, then rejected.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from ocr2synth.renderers.browser.engine import Browser, BrowserCrash, asset
from ocr2synth.renderers.chart.spec import (
    SOURCE_PREFIX,
    ChartSpec,
    boxes_clash,
    fmt,
    layout_attempts,
    mismatch,
    spec_of,
    unwrap_label,
    wrap_label,
)
from ocr2synth.renderers.chart.targets import target_or_reject
from ocr2synth.renderers.imaging import decode_png, is_blank
from ocr2synth.renderers.templates import TEMPLATES_DIR, render_template

# left out: "roma" and "london" (an early series near-white on white) and "caravan"
# (a pale yellow title, and first series in three shades of orange)
THEMES = ["", "macarons", "vintage", "shine", "infographic", "dark", "tech-blue", "forest",
          "v5"]
FONTS = {"en": ["sans-serif", "'DejaVu Serif', serif", "'Latin Modern Sans', sans-serif",
                "'DejaVu Sans', sans-serif", "'Noto Sans CJK SC', sans-serif"],
         "zh": ["'Noto Sans CJK SC', sans-serif", "'Noto Serif CJK SC', serif"]}


def _available_themes() -> list[str]:
    return [t for t in THEMES if not t or (asset("echarts/package.json").parent / "theme"
                                          / f"{t}.js").is_file()]


def chart_html(folder: Path, themes: list[str]) -> Path:
    """The page shell, written once per browser: local echarts, its themes, chart.js."""
    html = render_template(
        "html/chart.html.j2",
        echarts_uri=asset("echarts/dist/echarts.min.js").as_uri(),
        theme_uris=[asset(f"echarts/theme/{t}.js").as_uri() for t in themes if t],
        chart_js_uri=(TEMPLATES_DIR / "html" / "chart.js").as_uri())
    path = folder / "chart.html"
    path.write_text(html, encoding="utf-8")
    return path


class EchartsChartRenderer(Renderer):
    """Params (optional): `themes` (registered ECharts themes, "" = default), `widths`,
    `labels` (probability of data labels), `engine` (ECharts renderer: canvas or svg),
    `restart_every`, `tag` (marks the browser)."""

    name = "chart-echarts"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        available = _available_themes()
        self.themes = [t for t in params.get("themes", available) if t in available]
        self.widths = [int(w) for w in params.get("widths", [640, 720, 800, 900, 1024])]
        self.label_p = float(params.get("labels", 0.4))
        self.target_form = str(params.get("target", "dict"))  # targets.TARGETS
        # named in meta only when not the default, so dict rows keep their bytes
        self.target_meta = {} if self.target_form == "dict" else {"target": self.target_form}
        self.engine = str(params.get("engine", "canvas"))  # or "svg"
        self._warmed = -1  # the browser start whose fonts are loaded
        self._tmp = tempfile.TemporaryDirectory(prefix="ocr2synth-chart-")
        self.browser = Browser(chart_html(Path(self._tmp.name), self.themes),
                               restart_every=int(params.get("restart_every", 2000)),
                               timeout_s=max(timeout_s, 5.0), tag=str(params.get("tag", "")))

    def close(self) -> None:
        self.browser.close()
        self._tmp.cleanup()

    def style(self, item: Item, spec: ChartSpec) -> dict[str, Any]:
        rng = self.style_rng(item)
        width = rng.choice(self.widths)
        ncat = len(spec.categories)
        if spec.kind not in ("pie", "donut", "radar", "scatter", "hbar"):
            width = max(width, min(1600, 40 * ncat * (len(spec.series)
                                                     if spec.kind == "grouped_bar" else 1)))
        aspect = rng.uniform(0.55, 0.8)
        if spec.kind in ("pie", "donut", "radar"):
            aspect = rng.uniform(0.75, 0.95)
        elif spec.kind == "hbar":
            aspect = max(aspect, min(1.2, 0.1 + 0.06 * ncat))
        points = len(spec.series) * max(ncat, 1)
        return {
            "width": width, "height": int(width * aspect),
            "theme": rng.choice(self.themes),
            "font": rng.choice(FONTS["zh" if spec.lang == "zh" else "en"]),
            "size": rng.randint(11, 14),
            "title_left": rng.choice(["center", "center", "left"]),
            "legend": rng.choice(["top", "bottom", "right"]),
            "labels": spec.kind != "scatter" and points <= 36 and rng.random() < self.label_p,
            "grid": rng.random() < 0.7,
            "smooth": rng.random() < 0.3,
            "bar_width": rng.choice(["", "50%", "70%"]),
            "source_left": rng.choice(["left", "right"]),
        }

    # -- rendering --------------------------------------------------------------------------
    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        self._fresh_page()
        out: list[Sample | Reject] = []
        for item in items:
            try:
                out.append(self.render_one(item))
            except BrowserCrash:
                try:  # a fresh browser gets one more try at the item
                    out.append(self.render_one(item))
                except BrowserCrash as exc:
                    out.append(Reject("browser-crash", str(exc)[:300]))
        return out

    def _fresh_page(self) -> None:
        """Reload the page before each batch. ECharts keeps caches across charts (text
        widths measured per font), so a chart's sub-pixel layout depends on the charts
        drawn before it in the same page; a batch (a chunk of the plan, the same whatever
        the worker count) starting on a fresh page makes its pixels a function of the
        batch alone."""
        try:
            self.browser.page.reload(wait_until="load")
            self._warm_fonts()
        except Exception:  # noqa: BLE001 - a broken page: the next call starts a fresh one
            self.browser.close()

    def _warm_fonts(self) -> None:
        self.browser.call("ocrWarmFonts", sorted({
            f for fonts in FONTS.values() for f in fonts}))
        self._warmed = self.browser.stats.starts

    def render_one(self, item: Item) -> Sample | Reject:
        spec = spec_of(item.content)
        if isinstance(spec, Reject):
            return spec
        target = target_or_reject(spec, self.target_form)
        if isinstance(target, Reject):
            return target
        style = self.style(item, spec)
        self.browser.page  # noqa: B018 - (re)starts the browser where needed
        if self._warmed != self.browser.stats.starts:
            self._warm_fonts()  # a browser started since the batch began
        problem = ""
        for attempt in layout_attempts(spec, style):
            look = {**style, **attempt}
            result = self.browser.call("ocrChart", {
                "width": look["width"], "height": look["height"], "theme": look["theme"],
                "renderer": self.engine,
                "option": self.option(spec, look)})
            boxes = [(t["x0"], t["y0"], t["x1"], t["y1"]) for t in result["texts"]]
            problem = boxes_clash(boxes, look["width"], look["height"]) or ""
            if not problem:
                break
        else:
            return Reject("overlap" if "overlap" in problem else "clipped", problem)
        # wrapping breaks only at spaces: compare texts without their whitespace
        painted = {"".join(t["text"].split()) for t in result["texts"]}
        slices = spec.kind in ("pie", "donut")  # a slice label is its name, then its value

        def seen(text: str) -> bool:
            text = "".join(text.split())
            return text in painted or (slices and any(p.startswith(text) for p in painted))

        unseen = [t for t in [*spec.categories, *(s.name for s in spec.series), spec.title]
                  if t and not seen(t)]
        if unseen:
            return Reject("not-drawn", f"{len(unseen)} texts not painted, e.g. {unseen[0]!r}")
        why = mismatch(self.drawn(spec, result), spec)
        if why:
            return Reject("target-mismatch", why)
        png = self.browser.screenshot(look["width"], look["height"])
        image = decode_png(png, "RGB")
        if is_blank(image):
            return Reject("blank", "the chart rendered blank")
        return Sample(image=image, target=target, prompt=PROMPT_FORMAT,
                      task="format", meta={**look, **item.meta, "engine": "echarts",
                                           "echarts_renderer": self.engine,
                                           **self.target_meta})

    # -- read-back --------------------------------------------------------------------------
    @staticmethod
    def drawn(spec: ChartSpec, result: dict[str, Any]) -> dict[str, dict[str, float]]:
        """{series: {x: value}} from the option ECharts applied."""
        def value(d: Any) -> Any:
            return d["value"] if isinstance(d, dict) else d

        out: dict[str, dict[str, float]] = {}
        if spec.kind in ("pie", "donut"):
            s = result["series"][0]
            return {s["name"]: {d["name"]: float(d["value"]) for d in s["data"]}}
        if spec.kind == "radar":
            names = [unwrap_label(n) for n in result["radar"]]
            for s in result["series"]:
                (d,) = s["data"]  # one polygon per series
                out[s["name"]] = {n: float(v) for n, v in zip(names, value(d), strict=True)}
            return out
        if spec.kind == "scatter":
            for s in result["series"]:
                out[s["name"]] = {repr(float(value(d)[0])): float(value(d)[1])
                                  for d in s["data"]}
            return out
        axis = result["yAxis"][0] if spec.kind == "hbar" else result["xAxis"][0]
        cats = [unwrap_label(str(c)) for c in axis["data"]]
        # legend order: bars first, then lines, as both renderers draw them
        for s in result["series"]:
            row = {}
            for cat, d in zip(cats, s["data"], strict=True):
                v = value(d)
                if v is not None and v != "-":
                    row[cat] = float(v)
            out[s["name"]] = row
        return out

    # -- options ----------------------------------------------------------------------------
    def _label(self, spec: ChartSpec, v: float) -> str:
        return fmt(v, spec.decimals) + ("%" if spec.percent else "")

    def _items(self, spec: ChartSpec, values: list[Any], labels: bool,
               position: str = "top") -> list[Any]:
        """Data items; with labels, each carries its printed text as a literal formatter
        (ECharts would print 12.50 as 12.5)."""
        if not labels:
            return [v for v in values]
        return [None if v is None else {"value": v, "label": {
            "show": True, "position": position, "formatter": self._label(spec, v)}}
            for v in values]

    def option(self, spec: ChartSpec, look: dict[str, Any]) -> dict[str, Any]:
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
            chart = self._pie(spec, look, opts)
        elif spec.kind == "radar":
            chart = self._radar(spec, look, opts)
        else:
            chart = self._cartesian(spec, look, opts)
        chart.set_global_opts(title_opts=title, legend_opts=legend,
                              **self._axes(spec, look, opts))
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

    def _axes(self, spec: ChartSpec, look: dict[str, Any], opts: Any) -> dict[str, Any]:
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

    def _cartesian(self, spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
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
                chart.add_yaxis(s.name, self._items(spec, s.values, labels, position),
                                stack="total" if spec.kind == "stacked_bar" else None,
                                bar_width=width,
                                label_opts=opts.LabelOpts(is_show=False))
            if spec.kind == "hbar":
                chart.reversal_axis()
        if lines:
            line = Line()
            line.add_xaxis(cats)
            for s in lines:
                line.add_yaxis(s.name, self._items(spec, s.values, labels), is_smooth=False,
                               is_connect_nones=False, symbol_size=6, z=3,
                               areastyle_opts=opts.AreaStyleOpts(
                                   opacity=0.3 if spec.kind == "area" else 0),
                               label_opts=opts.LabelOpts(is_show=False))
                # pyecharts pairs each value with its category; ECharts reads them by
                # index from the category axis, and a pair would hide the label formatter
                line.options["series"][-1]["data"] = self._items(spec, s.values, labels)
            chart = chart.overlap(line) if chart is not None else line
        return chart

    def _pie(self, spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
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
            text = wrap_label(cat, 16) + (f"\n{self._label(spec, v)}" if labels else "")
            option_items.append((cat, v, text))
        self._pie_labels = option_items
        chart.options["series"][0]["data"] = [
            {"name": cat, "value": v, "label": {"show": True, "formatter": text}}
            for cat, v, text in option_items]
        return chart

    def _radar(self, spec: ChartSpec, look: dict[str, Any], opts: Any) -> Any:
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
