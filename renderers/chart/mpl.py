"""`chart-mpl`: chart specs drawn by Matplotlib's object API on one reused figure.

No pyplot: one `Figure` with a `FigureCanvasAgg` lives as long as the renderer; each
chart clears it, resizes it and draws with the constrained layout engine. After the draw
the renderer reads its own artists back (bar heights, line data, wedge angles, scatter
offsets, tick labels, legend texts) into {series: {x: value}} and rejects the chart
unless that equals the target. Every drawn text's window extent is checked against the
canvas and against the others; a clash is retried with rotated tick labels, then without
data labels, then rejected.

One module because each chart kind's drawing returns the read-back of its own artists (a
closure over what it drew): the drawing and the proof of the pair are one piece of code
per kind, and the figure they share is the renderer's state.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
from matplotlib import style as mpl_style
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import fontManager
from matplotlib.ticker import FuncFormatter
from ocr2synth.renderers.base import PROMPT_FORMAT, Item, Reject, Renderer, Sample
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
from ocr2synth.renderers.chart.text_memo import remembered_layouts
from ocr2synth.renderers.imaging import is_blank
from PIL import Image

STYLES = ["default", "ggplot", "seaborn-v0_8-whitegrid", "bmh", "seaborn-v0_8-darkgrid",
          "fivethirtyeight", "tableau-colorblind10", "Solarize_Light2", "grayscale",
          "seaborn-v0_8-white", "classic", "petroff10"]
FONTS = {"en": ["DejaVu Sans", "DejaVu Serif", "Latin Modern Sans", "Latin Modern Roman",
                "Noto Sans CJK SC"],
         "zh": ["Noto Sans CJK SC", "Noto Serif CJK SC"]}
FALLBACK = ["Noto Sans CJK SC", "DejaVu Sans"]
LEGEND_PLACES = ["outside upper center", "outside right upper", "outside lower center",
                 "inside"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


class MplChartRenderer(Renderer):
    """Params (optional): `styles` (Matplotlib style sheets), `widths` (px), `dpi`,
    `labels` (probability of data labels)."""

    name = "chart-mpl"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.styles = [s for s in params.get("styles", STYLES) if s in mpl_style.available
                       or s == "default"]
        self.widths = [int(w) for w in params.get("widths", [640, 720, 800, 900, 1024])]
        self.dpi = int(params.get("dpi", 100))
        self.label_p = float(params.get("labels", 0.4))
        self.target_form = str(params.get("target", "dict"))  # targets.TARGETS
        # named in meta only when not the default, so dict rows keep their bytes
        self.target_meta = {} if self.target_form == "dict" else {"target": self.target_form}
        known = {f.name for f in fontManager.ttflist}
        self.fonts = {lang: [f for f in names if f in known] or ["DejaVu Sans"]
                      for lang, names in FONTS.items()}
        self._figures: dict[tuple[int, int], tuple[Figure, FigureCanvasAgg]] = {}
        self.figure = Figure(dpi=self.dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self._glyphs: dict[str, set[int]] = {}
        self._layouts: dict[tuple, Any] = {}  # text_memo.py: pure, shared by every size

    # -- style ------------------------------------------------------------------------------
    def style(self, item: Item, spec: ChartSpec) -> dict[str, Any]:
        rng = self.style_rng(item)
        width = rng.choice(self.widths)
        ncat = len(spec.categories)
        if spec.kind in ("bar", "grouped_bar", "stacked_bar", "bar_line", "line",
                         "multi_line", "area"):
            width = max(width, min(1600, 40 * ncat * (len(spec.series)
                                                     if spec.kind == "grouped_bar" else 1)))
        aspect = rng.uniform(0.55, 0.8)
        if spec.kind in ("pie", "donut", "radar"):
            aspect = rng.uniform(0.75, 0.95)
        elif spec.kind == "hbar":
            aspect = max(aspect, min(1.2, 0.1 + 0.06 * ncat))
        points = len(spec.series) * max(ncat, 1)
        font = rng.choice(self.fonts[spec.lang if spec.lang in self.fonts else "en"])
        return {
            # sizes snap to a grid: each size keeps its own figure and text-metrics cache
            "width": width - width % 80, "height": int(width * aspect / 40) * 40,
            "font": font, "font_covers": not self._missing_glyph(spec, [font]),
            "style": rng.choice(self.styles),
            "size": rng.randint(9, 12),
            "title_loc": rng.choice(["center", "center", "left"]),
            "grid": rng.choice(["none", "value", "both"]),
            "legend": rng.choice(LEGEND_PLACES),
            "labels": spec.kind != "scatter" and points <= 36 and rng.random() < self.label_p,
            "bar_width": round(rng.uniform(0.55, 0.85), 2),
            "line_width": round(rng.uniform(1.2, 2.8), 1),
            "markers": rng.random() < 0.6,
            "start_angle": rng.choice([90, 0, 140]),
            "source_loc": rng.choice(["left", "right"]),
            "has_source": bool(spec.source),
        }

    # -- rendering --------------------------------------------------------------------------
    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        return [self.render_one(item) for item in items]

    def render_one(self, item: Item) -> Sample | Reject:
        spec = spec_of(item.content)
        if isinstance(spec, Reject):
            return spec
        target = target_or_reject(spec, self.target_form)
        if isinstance(target, Reject):
            return target
        if spec.has_rtl():
            # Matplotlib lays text out left to right without shaping: Arabic or Hebrew
            # would be drawn reversed and unjoined
            return Reject("rtl-text", "Matplotlib cannot lay out right-to-left text")
        style = self.style(item, spec)
        missing = self._missing_glyph(spec, [style["font"], *FALLBACK])
        if missing:
            return Reject("missing-glyph", f"no font has {missing!r} (U+{ord(missing):04X})")
        problem = ""
        with remembered_layouts(self._layouts):
            for attempt in layout_attempts(spec, style):
                drawn = self.draw(spec, {**style, **attempt})
                problem = self.clash()
                if not problem:
                    break
            else:
                return Reject("overlap" if "overlap" in problem else "clipped", problem)
        why = mismatch(drawn, spec)
        if why:
            return Reject("target-mismatch", why)
        image = self.image()
        if is_blank(image):
            return Reject("blank", "the chart rendered blank")
        return Sample(image=image, target=target, prompt=PROMPT_FORMAT,
                      task="format", meta={**style, **attempt, **item.meta,
                                           "engine": "matplotlib",
                                           **self.target_meta})

    def _missing_glyph(self, spec: ChartSpec, fonts: list[str]) -> str:
        """A character that none of `fonts` can draw."""
        from matplotlib.font_manager import FontProperties, findfont
        from matplotlib.ft2font import FT2Font

        for family in fonts:
            if family not in self._glyphs:
                path = findfont(FontProperties(family=family), fallback_to_default=True)
                self._glyphs[family] = set(FT2Font(path).get_charmap())
        # each font's set asked in turn: a union of CJK charmaps would copy ~60k codes
        covered = [self._glyphs[family] for family in fonts]
        for char in "".join(spec.texts()) + "0123456789.-%":
            if not char.isspace() and not any(ord(char) in codes for codes in covered):
                return char
        return ""

    def image(self) -> Image.Image:
        # Pillow drops the alpha band in C, without numpy's strided copy
        rgba = self.canvas.buffer_rgba()
        width, height = self.canvas.get_width_height()
        return Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1
                                ).convert("RGB")

    # -- drawing ----------------------------------------------------------------------------
    def draw(self, spec: ChartSpec, style: dict[str, Any], layout: bool = True
             ) -> dict[str, dict[str, float]]:
        """Draw the chart on the shared figure; return what the artists say was drawn.
        `layout=False` (the bench's engine floor only) draws without the layout engine."""
        size = (style["width"], style["height"])
        if size not in self._figures:
            if len(self._figures) >= 96:
                self._figures.pop(next(iter(self._figures)))
            fig = Figure(figsize=(size[0] / self.dpi, size[1] / self.dpi), dpi=self.dpi)
            self._figures[size] = (fig, FigureCanvasAgg(fig))
        self.figure, self.canvas = self._figures[size]
        fig = self.figure
        fig.clear()
        # the fallback list only where the chart's font lacks a glyph: each extra family
        # costs a font lookup for every text
        font = ([style["font"]] if style["font_covers"]
                else [style["font"], *[f for f in FALLBACK if f != style["font"]]])
        rc = {"font.family": font, "font.size": style["size"], "axes.unicode_minus": False,
              "figure.dpi": self.dpi, "savefig.dpi": self.dpi}
        with mpl_style.context(style["style"]), matplotlib.rc_context(rc):
            fig.set_facecolor(matplotlib.rcParams["figure.facecolor"])
            bottom = 0.045 if spec.source else 0.0
            # rect is (left, bottom, width, height): a strip below for the source line
            if layout:
                fig.set_layout_engine("constrained", rect=(0, bottom, 1, 1 - bottom),
                                      h_pad=0.06, w_pad=0.06)
            else:
                fig.set_layout_engine(None)
            self._texts: list[Any] = []
            if spec.kind in ("pie", "donut"):
                drawn = self._pie(spec, style)
            elif spec.kind == "radar":
                drawn = self._radar(spec, style)
            elif spec.kind == "scatter":
                drawn = self._scatter(spec, style)
            else:
                drawn = self._category(spec, style)
            if spec.source:
                x = 0.01 if style["source_loc"] == "left" else 0.99
                self._texts.append(fig.text(
                    x, 0.008, SOURCE_PREFIX[spec.lang] + spec.source, ha=style["source_loc"],
                    va="bottom", fontsize=style["size"] - 1, color="0.35"))
            self.canvas.draw()
        return drawn()

    def _axes(self, spec: ChartSpec, style: dict[str, Any], **kw: Any) -> Any:
        ax = self.figure.add_subplot(**kw)
        # a long title breaks at spaces to fit the figure (read back joined by spaces)
        title = wrap_label(spec.title, max(30, style["width"] // (style["size"] + 4)))
        if style["legend"] == "outside right upper":
            # a title over the whole figure: an axes title would run into the legend column
            self._texts.append(self.figure.suptitle(
                title, fontsize=style["size"] + 3, fontweight="bold",
                x=0.02 if style["title_loc"] == "left" else 0.5,
                ha="left" if style["title_loc"] == "left" else "center"))
        else:
            ax.set_title(title, loc=style["title_loc"], fontsize=style["size"] + 3,
                         fontweight="bold", pad=10)
        return ax

    def _legend(self, ax: Any, handles: list[Any], names: list[str],
                style: dict[str, Any]) -> Any:
        place = style["legend"]
        if place == "outside lower center" and style.get("has_source"):
            place = "outside upper center"  # the source line owns the bottom strip
        fontsize = style["size"] - 1
        if place == "inside":
            return ax.legend(handles, names, loc="best", fontsize=fontsize)
        ncols = len(names) if place != "outside right upper" else 1
        return self.figure.legend(handles, names, loc=place, ncols=min(ncols, 5),
                                  fontsize=fontsize, frameon=False)

    def _value_formatter(self, spec: ChartSpec) -> FuncFormatter:
        suffix = "%" if spec.percent else ""
        return FuncFormatter(lambda v, _: f"{v:g}{suffix}")

    def _label(self, spec: ChartSpec, value: float) -> str:
        return fmt(value, spec.decimals) + ("%" if spec.percent else "")

    def _category(self, spec: ChartSpec, style: dict[str, Any]) -> Any:
        ax = self._axes(spec, style)
        n = len(spec.categories)
        x = np.arange(n, dtype=float)
        horizontal = spec.kind == "hbar"
        bars = [s for s in spec.series
                if spec.kind in ("bar", "hbar", "grouped_bar", "stacked_bar")
                or (spec.kind == "bar_line" and s.mark == "bar")]
        handles: list[Any] = []
        containers: dict[str, Any] = {}
        width = style["bar_width"] / (len(bars) if spec.kind in ("grouped_bar", "bar_line")
                                      else 1)
        bottom = np.zeros(n)
        for i, s in enumerate(bars):
            values = np.array([np.nan if v is None else v for v in s.values], dtype=float)
            if spec.kind in ("grouped_bar", "bar_line"):
                pos = x - style["bar_width"] / 2 + width * (i + 0.5)
            else:
                pos = x
            if horizontal:
                c = ax.barh(pos, values, height=width, label=s.name)
            elif spec.kind == "stacked_bar":
                c = ax.bar(pos, values, width=width, bottom=bottom.copy(), label=s.name)
                bottom += np.nan_to_num(values)
            else:
                c = ax.bar(pos, values, width=width, label=s.name)
            containers[s.name] = ("bar", c)
            handles.append(c)
            if style["labels"]:
                texts = ax.bar_label(c, labels=[
                    "" if v is None else self._label(spec, v) for v in s.values],
                    label_type="center" if spec.kind == "stacked_bar" else "edge",
                    padding=2, fontsize=style["size"] - 2)
                self._texts += [t for t in texts if t.get_text()]
        for i, s in enumerate(s for s in spec.series if s not in bars):
            values = np.array([np.nan if v is None else v for v in s.values], dtype=float)
            marker = MARKERS[i % len(MARKERS)] if style["markers"] or n < 3 else None
            (line,) = ax.plot(x, values, marker=marker, linewidth=style["line_width"],
                              markersize=5, label=s.name, zorder=3)
            if spec.kind == "area":
                ax.fill_between(x, values, alpha=0.25, color=line.get_color(), linewidth=0)
            containers[s.name] = ("line", line)
            handles.append(line)
            if style["labels"]:
                for xi, v in zip(x, s.values, strict=True):
                    if v is not None:
                        self._texts.append(ax.annotate(
                            self._label(spec, v), (xi, v), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=style["size"] - 2))
        cats = [wrap_label(c, 16) for c in spec.categories]
        rotate = style.get("rotate", 0)
        cat_axis, value_axis = (ax.yaxis, ax.xaxis) if horizontal else (ax.xaxis, ax.yaxis)
        cat_axis.set_ticks(x, cats)
        if horizontal:
            ax.invert_yaxis()  # first category on top, as a table reads
        elif rotate:
            for t in ax.get_xticklabels():
                t.set(rotation=rotate, ha="right" if rotate < 90 else "center",
                      rotation_mode="anchor" if rotate < 90 else "default")
        value_axis.set_major_formatter(self._value_formatter(spec))
        (ax.set_ylabel if horizontal else ax.set_xlabel)(spec.x_title)
        (ax.set_xlabel if horizontal else ax.set_ylabel)(spec.y_title)
        self._grid(ax, style, "x" if horizontal else "y")
        if not horizontal:
            # some styles ("classic") set no margin: the first category label would then
            # sit in the corner on the value axis' lowest label
            ax.set_xmargin(max(ax.get_xmargin(), 0.04))
        if style["labels"]:
            ax.margins(**({"x": 0.12} if horizontal else {"y": 0.12}))
        legend = self._legend(ax, handles, [s.name for s in spec.series if s in bars]
                              + [s.name for s in spec.series if s not in bars], style)
        self._legend_artist = legend
        self._ax = ax

        def read() -> dict[str, dict[str, float]]:
            ticks = cat_axis.get_majorticklocs()
            labels = [unwrap_label(t.get_text()) for t in cat_axis.get_ticklabels()]
            names = [t.get_text() for t in legend.get_texts()]
            out: dict[str, dict[str, float]] = {}
            for name, handle in zip(names, handles, strict=True):
                row: dict[str, float] = {}
                if handle in [c for kind, c in containers.values() if kind == "bar"]:
                    for patch in handle.patches:
                        if horizontal:
                            center, value = patch.get_y() + patch.get_height() / 2, \
                                patch.get_width()
                        else:
                            center, value = patch.get_x() + patch.get_width() / 2, \
                                patch.get_height()
                        if math.isfinite(value):
                            row[labels[int(np.argmin(np.abs(ticks - center)))]] = float(value)
                else:
                    for xi, yi in zip(handle.get_xdata(), handle.get_ydata(), strict=True):
                        if math.isfinite(yi):
                            row[labels[int(np.argmin(np.abs(ticks - xi)))]] = float(yi)
                # categories in axis order, as the target lists them
                out[name] = {c: row[c] for c in labels if c in row}
            return out

        return read

    def _grid(self, ax: Any, style: dict[str, Any], value_axis: str) -> None:
        if style["grid"] == "none":
            ax.grid(False)
        elif style["grid"] == "value":
            ax.grid(False)
            ax.grid(True, axis=value_axis, alpha=0.5, linestyle="--")
        else:
            ax.grid(True, alpha=0.4)
        ax.set_axisbelow(True)

    def _pie(self, spec: ChartSpec, style: dict[str, Any]) -> Any:
        ax = self._axes(spec, style)
        s = spec.series[0]
        donut = spec.kind == "donut"
        use_legend = style["legend"] != "inside" or len(spec.categories) > 6
        wedges, label_texts = ax.pie(
            s.values, labels=None if use_legend else spec.categories,
            startangle=style["start_angle"], counterclock=False,
            wedgeprops={"width": 0.42, "linewidth": 1, "edgecolor": "white"} if donut else
            {"linewidth": 1, "edgecolor": "white"}, labeldistance=1.08)
        self._texts += [t for t in label_texts]
        if style["labels"]:
            r = 0.79 if donut else 0.64
            for w, v in zip(wedges, s.values, strict=True):
                mid = math.radians((w.theta1 + w.theta2) / 2)
                self._texts.append(ax.text(r * math.cos(mid), r * math.sin(mid),
                                           self._label(spec, v), ha="center", va="center",
                                           fontsize=style["size"] - 1))
        caption = ax.text(0.5, -0.02, s.name, transform=ax.transAxes, ha="center", va="top",
                          fontsize=style["size"])
        self._texts.append(caption)
        legend = self._legend(ax, wedges, spec.categories, style) if use_legend else None
        self._legend_artist = legend
        self._ax = ax

        def read() -> dict[str, dict[str, float]]:
            names = ([t.get_text() for t in legend.get_texts()] if legend is not None
                     else [t.get_text() for t in label_texts])
            total = float(sum(s.values))  # a pie shows shares: scale them by the whole
            row = {name: (w.theta2 - w.theta1) / 360.0 * total
                   for name, w in zip(names, wedges, strict=True)}
            return {caption.get_text(): row}

        return read

    def _radar(self, spec: ChartSpec, style: dict[str, Any]) -> Any:
        ax = self._axes(spec, style, projection="polar")
        n = len(spec.categories)
        theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ax.set_theta_offset(np.pi / 2)
        ax.set_theta_direction(-1)
        lines = []
        for s in spec.series:
            values = np.array(s.values, dtype=float)
            (line,) = ax.plot(np.append(theta, theta[0]), np.append(values, values[0]),
                              linewidth=style["line_width"], marker="o", markersize=4,
                              label=s.name)
            ax.fill(theta, values, alpha=0.15, color=line.get_color())
            lines.append(line)
        ax.set_xticks(theta, [wrap_label(c, 14) for c in spec.categories])
        ax.tick_params(axis="x", pad=8)
        top = max(v for s in spec.series for v in s.values)
        ax.set_ylim(0, top * 1.08)
        ax.tick_params(axis="y", labelsize=style["size"] - 3)
        ax.set_rlabel_position(180 / n)
        legend = self._legend(ax, lines, [s.name for s in spec.series],
                              {**style, "legend": style["legend"]
                               if style["legend"] != "inside" else "outside lower center"})
        self._legend_artist = legend
        self._ax = ax

        def read() -> dict[str, dict[str, float]]:
            ticks = ax.xaxis.get_majorticklocs()
            labels = [unwrap_label(t.get_text()) for t in ax.get_xticklabels()]
            names = [t.get_text() for t in legend.get_texts()]
            out = {}
            for name, line in zip(names, lines, strict=True):
                row = {}
                for t, r in list(zip(line.get_xdata(), line.get_ydata(), strict=True))[:n]:
                    row[labels[int(np.argmin(np.abs(ticks - t)))]] = float(r)
                out[name] = row
            return out

        return read

    def _scatter(self, spec: ChartSpec, style: dict[str, Any]) -> Any:
        ax = self._axes(spec, style)
        collections = []
        for i, s in enumerate(spec.series):
            pts = np.array(s.values, dtype=float)
            collections.append(ax.scatter(pts[:, 0], pts[:, 1], s=28,
                                          marker=MARKERS[i % len(MARKERS)], alpha=0.85,
                                          label=s.name))
        ax.set_xlabel(spec.x_title)
        ax.set_ylabel(spec.y_title)
        self._grid(ax, style, "both")
        legend = self._legend(ax, collections, [s.name for s in spec.series], style)
        self._legend_artist = legend
        self._ax = ax

        def read() -> dict[str, dict[str, float]]:
            names = [t.get_text() for t in legend.get_texts()]
            return {name: {repr(float(x)): float(y) for x, y in c.get_offsets()}
                    for name, c in zip(names, collections, strict=True)}

        return read

    # -- checks -----------------------------------------------------------------------------
    def text_boxes(self) -> list[tuple[float, float, float, float]]:
        """Window extents (top-left origin, pixels) of every drawn text; a legend counts as
        one box (its texts are inside it)."""
        fig, ax = self.figure, self._ax
        renderer = self.canvas.get_renderer()
        texts = [ax.title, ax._left_title, ax.xaxis.label, ax.yaxis.label, *self._texts]
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis._update_ticks():  # only the ticks drawn
                texts += [tick.label1, tick.label2]
        boxes = []
        for t in texts:
            if t.get_visible() and t.get_text().strip():
                boxes.append(t.get_window_extent(renderer))
        if self._legend_artist is not None:
            boxes.append(self._legend_artist.get_window_extent(renderer))
        height = fig.bbox.height
        return [(b.x0, height - b.y1, b.x1, height - b.y0) for b in boxes]

    def clash(self) -> str:
        return boxes_clash(self.text_boxes(), self.figure.bbox.width,
                           self.figure.bbox.height) or ""
