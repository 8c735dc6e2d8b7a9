"""`chart-echarts`: chart specs as pyecharts options, drawn by ECharts in a warm Chromium.

pyecharts builds the option (a plain JSON dict: no JavaScript functions); the page
(templates/html/chart.html + chart.js, with the local echarts build and its themes)
receives it as the argument of `ocrChart()`, calls `setOption` with animation off and
returns `chart.getOption()`, the option ECharts actually applied, plus the string and box
of every text it painted. The renderer rebuilds {series: {x: value}} from the applied
option, requires every category and series name among the painted texts, and requires
the text boxes to sit inside the canvas without touching each other; a clash is retried
with rotated category labels and then without data labels, then rejected.

A batch's charts are drawn into slots stacked down the page (each its own ECharts instance
on its own canvas) and taken by one capture per group, each chart cropped out of it; a
chart's pixels are the same alone or in any group. The option itself is built in
echarts_option.py.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
from ocr2synth.renderers.browser.engine import Browser, BrowserCrash, asset
from ocr2synth.renderers.chart.echarts_option import chart_option
from ocr2synth.renderers.chart.spec import (
    ChartSpec,
    boxes_clash,
    layout_attempts,
    mismatch,
    spec_of,
    unwrap_label,
)
from ocr2synth.renderers.chart.targets import target_or_reject
from ocr2synth.renderers.imaging import decode_png, is_blank
from ocr2synth.renderers.templates import TEMPLATES_DIR, render_template
from PIL import Image

# left out: "roma" and "london" (an early series near-white on white) and "caravan"
# (a pale yellow title, and first series in three shades of orange)
THEMES = ["", "macarons", "vintage", "shine", "infographic", "dark", "tech-blue", "forest",
          "v5"]
FONTS = {"en": ["sans-serif", "'DejaVu Serif', serif", "'Latin Modern Sans', sans-serif",
                "'DejaVu Sans', sans-serif", "'Noto Sans CJK SC', sans-serif"],
         "zh": ["'Noto Sans CJK SC', sans-serif", "'Noto Serif CJK SC', serif"]}


# a group's charts are stacked down one capture, this far apart, up to this height: the
# viewport grows to hold a group, and every frame Chromium draws covers the viewport
GROUP_GAP = 8
GROUP_HEIGHT = 4096


@dataclass
class _Plan:
    """A chart to draw: its item, spec, target and style (all decided before drawing)."""

    item: Item
    spec: ChartSpec
    target: str
    style: dict[str, Any]


@dataclass
class _Drawn:
    """A chart drawn and checked on the page, waiting for its group's capture: the look it
    was drawn with, its slot's offset, and the browser start it lives in."""

    plan: _Plan
    look: dict[str, Any]
    top: int
    starts: int


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
        # charts per capture; SVG charts are rastered with the page, and their
        # anti-aliasing was seen to move with their place on it: one capture each
        self.group = 1 if self.engine == "svg" else int(params.get("group", 8))
        self._warmed = -1  # the browser start whose fonts are loaded
        self._tmp = tempfile.TemporaryDirectory(prefix="ocr2synth-chart-")
        # under frame control Chromium draws one frame per capture, not one after each
        # chart drawn into the (large) viewport of a group: about 30% less browser CPU a
        # chart, and the same pixels (a test checks)
        self.browser = Browser(chart_html(Path(self._tmp.name), self.themes),
                               restart_every=int(params.get("restart_every", 2000)),
                               timeout_s=max(timeout_s, 5.0), tag=str(params.get("tag", "")),
                               frame_control=bool(params.get("frame_control", True)))

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
        """Charts are drawn one at a time, each checked as it is drawn, into slots stacked
        down the page; one capture takes a whole group and each chart is cropped out. A
        capture's cost is mostly fixed (a profile: about 50 ms, much the same at 800 or
        1600 px wide), so a group of `group` charts pays it once. Each slot is its own
        canvas at an integer offset, so a chart's pixels are the same alone or in any
        group (a test checks)."""
        self._fresh_page()
        out: list[Sample | Reject | None] = [None] * len(items)
        group: list[tuple[int, _Drawn]] = []
        bottom = 0  # of the group's last chart

        def flush() -> None:
            for (k, _), result in zip(group, self._capture(items, group), strict=True):
                out[k] = result
            group.clear()

        for i, item in enumerate(items):
            plan = self._plan(item)
            if isinstance(plan, Reject):
                out[i] = plan
                continue
            top = bottom + GROUP_GAP if group else 0
            if group and (len(group) >= self.group
                          or top + plan.style["height"] > GROUP_HEIGHT):
                flush()
                top = 0
            try:
                drawn = self._draw(plan, slot=len(group), top=top)
            except BrowserCrash:
                # the page went down with the charts drawn on it: each is done alone
                for k, _ in group:
                    out[k] = self._alone(items[k])
                group.clear()
                out[i] = self._alone(item)
                continue
            if isinstance(drawn, Reject):
                out[i] = drawn  # its slot is drawn over by the next chart, or left uncropped
                continue
            group.append((i, drawn))
            bottom = top + plan.style["height"]
        flush()
        assert all(o is not None for o in out)
        return out  # type: ignore[return-value]

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

    def _alone(self, item: Item) -> Sample | Reject:
        try:
            return self.render_one(item)
        except BrowserCrash:
            try:  # a fresh browser gets one more try at the item
                return self.render_one(item)
            except BrowserCrash as exc:
                return Reject("browser-crash", str(exc)[:300])

    def _capture(self, items: list[Item],
                 group: list[tuple[int, _Drawn]]) -> list[Sample | Reject]:
        """One screenshot of the group, cropped into its charts; where the capture fails
        (or the browser restarted since a chart was drawn), each chart is done alone."""
        if not group:
            return []
        starts = self.browser.stats.starts
        png = None
        if all(d.starts == starts for _, d in group):
            width = max(d.look["width"] for _, d in group)
            height = max(d.top + d.look["height"] for _, d in group)
            try:
                png = self.browser.screenshot(width, height, images=len(group))
            except BrowserCrash:
                png = None
        if png is None:
            return [self._alone(items[k]) for k, _ in group]
        shot = decode_png(png, "RGB")
        return [self._sample(d, shot.crop((0, d.top, d.look["width"],
                                           d.top + d.look["height"])))
                for _, d in group]

    def render_one(self, item: Item) -> Sample | Reject:
        """One chart, drawn and captured alone (slot 0, at the top left)."""
        plan = self._plan(item)
        if isinstance(plan, Reject):
            return plan
        drawn = self._draw(plan, slot=0, top=0)
        if isinstance(drawn, Reject):
            return drawn
        png = self.browser.screenshot(drawn.look["width"], drawn.look["height"])
        return self._sample(drawn, decode_png(png, "RGB"))

    def _plan(self, item: Item) -> _Plan | Reject:
        spec = spec_of(item.content)
        if isinstance(spec, Reject):
            return spec
        target = target_or_reject(spec, self.target_form)
        if isinstance(target, Reject):
            return target
        return _Plan(item, spec, target, self.style(item, spec))

    def _draw(self, plan: _Plan, slot: int, top: int) -> _Drawn | Reject:
        """Draw the chart into `slot` at `top` and check it: the applied option must hold
        the target, every name must be painted, no painted text may clash or clip (retried
        with rotated labels, then without data labels). Coordinates read back are the
        chart's own (each slot is its own ECharts instance)."""
        spec, style = plan.spec, plan.style
        self.browser.page  # noqa: B018 - (re)starts the browser where needed
        if self._warmed != self.browser.stats.starts:
            self._warm_fonts()  # a browser started since the batch began
        problem = ""
        for attempt in layout_attempts(spec, style):
            look = {**style, **attempt}
            result = self.browser.call("ocrChart", {
                "width": look["width"], "height": look["height"], "theme": look["theme"],
                "renderer": self.engine, "slot": slot, "top": top,
                "option": chart_option(spec, look)})
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
        return _Drawn(plan, look, top, self.browser.stats.starts)

    def _sample(self, drawn: _Drawn, image: Image.Image) -> Sample | Reject:
        if is_blank(image):
            return Reject("blank", "the chart rendered blank")
        return Sample(image=image, target=drawn.plan.target, prompt=PROMPT_FORMAT,
                      task="format", meta={**drawn.look, **drawn.plan.item.meta,
                                           "engine": "echarts",
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
