"""One chart spec for both chart renderers, and its canonical OneChart-style target.

A `ChartSpec` holds exactly what a chart shows: its kind, its texts and its numbers, the
numbers already rounded to the precision the chart prints them with. Both renderers draw
a spec; both serialize the same target from it, and each then checks its drawing (the
Matplotlib artists, the ECharts option actually applied) against that target.

The target is a JSON object with keys in this order:
`{"title", "source", "x_title", "y_title", "values": {series: {x: value}}}`

- category charts (bars of every kind, lines, areas, bar+line combos): one entry per
  series in legend order, categories in axis order; a missing (NaN) point is left out;
  `x_title` names the category axis and `y_title` the value axis, wherever they are drawn
  (a horizontal bar chart has its category axis on the left); stacked bars hold each
  segment's own value, not the running total;
- pie and donut: one series, named by the caption drawn under the pie, slices in drawing
  order; `x_title` and `y_title` are "" (no axes);
- scatter: one entry per point group (legend), `{x: y}` with x printed at the x axis'
  precision; `x_title`/`y_title` are the axis titles;
- radar: one entry per series, `{indicator: value}`; `x_title` and `y_title` are "".

Numbers are printed with the chart's decimals (`12.5`, `-3`, `1204.75`), bare: a chart
that labels 12.5% has 12.5; units live in the titles. `source` is the provenance line
without its "Source:" / "数据来源：" prefix, "" when the chart draws none.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

from ocr2synth.renderers.base import Reject

CATEGORY_KINDS = ("bar", "hbar", "grouped_bar", "stacked_bar", "line", "multi_line", "area",
                  "bar_line")
KINDS = (*CATEGORY_KINDS, "pie", "donut", "scatter", "radar")
# Right-to-left scripts: Hebrew, Arabic, Syriac, Thaana, NKo and their presentation forms.
RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
SOURCE_PREFIX = {"en": "Source: ", "zh": "数据来源："}


class SpecError(ValueError):
    """A spec that no chart can show truthfully; `reason` is short and groupable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Series:
    name: str
    # category kinds, pie, radar: one value (or None) per category;
    # scatter: [x, y] pairs
    values: list[Any]
    # bar_line: how this series is drawn ("bar" or "line"); "" otherwise
    mark: str = ""


@dataclass
class ChartSpec:
    kind: str
    title: str
    series: list[Series]
    categories: list[str] = field(default_factory=list)
    source: str = ""
    x_title: str = ""
    y_title: str = ""
    decimals: int = 0  # of every value (y for scatter)
    x_decimals: int = 0  # scatter only
    percent: bool = False  # labels and ticks print a % sign
    lang: str = "en"
    origin: str = "generated"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ChartSpec:
        data = dict(raw)
        data["series"] = [Series(**s) for s in raw["series"]]
        return cls(**data)

    def texts(self) -> list[str]:
        """Every string the chart draws."""
        out = [self.title, self.source, self.x_title, self.y_title, *self.categories]
        return [t for t in out + [s.name for s in self.series] if t]

    def has_rtl(self) -> bool:
        return any(RTL.search(t) for t in self.texts())


def fmt(value: float, decimals: int) -> str:
    """A number as the chart prints it (no unit, no thousands separator)."""
    text = f"{value:.{decimals}f}"
    # -0.0 prints as 0.0: a chart never labels a zero with a sign
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def round_to(value: float, decimals: int) -> float:
    return float(fmt(value, decimals))


def target_values(spec: ChartSpec) -> dict[str, dict[str, str]]:
    """series -> x -> the printed number, in drawing order."""
    out: dict[str, dict[str, str]] = {}
    for s in spec.series:
        row: dict[str, str] = {}
        if spec.kind == "scatter":
            for x, y in s.values:
                row[fmt(x, spec.x_decimals)] = fmt(y, spec.decimals)
        else:
            for cat, v in zip(spec.categories, s.values, strict=True):
                if v is not None:
                    row[cat] = fmt(v, spec.decimals)
        out[s.name] = row
    return out


def canonical_target(spec: ChartSpec) -> str:
    """The target string: fixed key order, numbers as printed, non-ASCII kept."""
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    head = spec.kind not in ("pie", "donut", "radar")
    fields = [("title", spec.title), ("source", spec.source),
              ("x_title", spec.x_title if head else ""),
              ("y_title", spec.y_title if head else "")]
    parts = [f"{text(k)}: {text(v)}" for k, v in fields]
    series = []
    for name, row in target_values(spec).items():
        inner = ", ".join(f"{text(x)}: {v}" for x, v in row.items())
        series.append(f"{text(name)}: {{{inner}}}")
    parts.append(f'"values": {{{", ".join(series)}}}')
    return "{" + ", ".join(parts) + "}"


def parse_target(target: str) -> dict[str, Any]:
    """The target as a dict; numbers parsed as floats, key order kept."""
    return json.loads(target, parse_int=float)


def validate(spec: ChartSpec) -> None:
    """Raise `SpecError` for a spec no chart can show truthfully."""
    if spec.kind not in KINDS:
        raise SpecError("unknown-kind", spec.kind)
    if not spec.series:
        raise SpecError("no-series", "the chart has no series with values")
    names = [s.name for s in spec.series]
    if len(set(names)) != len(names):
        raise SpecError("duplicate-series", "two series share a name")
    if any(not n.strip() for n in names) and (len(names) > 1 or spec.kind in ("pie", "donut")):
        raise SpecError("unnamed-series", "a legend or caption would be empty")
    if spec.kind != "scatter":
        if not spec.categories:
            raise SpecError("no-categories", "the chart has no categories")
        if len(set(spec.categories)) != len(spec.categories):
            raise SpecError("duplicate-category", "two categories share a name")
        if any(not c.strip() for c in spec.categories):
            raise SpecError("empty-category", "a category has no name")
    for s in spec.series:
        points = s.values if spec.kind != "scatter" else [v for p in s.values for v in p]
        if spec.kind != "scatter" and len(s.values) != len(spec.categories):
            raise SpecError("ragged-series", f"{s.name!r} has {len(s.values)} values")
        if all(v is None for v in points) or not points:
            raise SpecError("empty-series", f"{s.name!r} has no value")
        if any(v is not None and not math.isfinite(v) for v in points):
            raise SpecError("non-finite", f"{s.name!r} holds NaN or infinity")
    if spec.kind in ("pie", "donut"):
        if len(spec.series) != 1:
            raise SpecError("pie-series", "a pie shows one series")
        values = spec.series[0].values
        if any(v is None or v <= 0 for v in values):
            raise SpecError("pie-values", "a pie needs positive values for every slice")
    if spec.kind == "scatter":
        for s in spec.series:
            xs = [fmt(x, spec.x_decimals) for x, _ in s.values]
            if len(set(xs)) != len(xs):
                raise SpecError("duplicate-x", f"{s.name!r} has two points at one x")
    if spec.kind == "bar_line":
        marks = [s.mark for s in spec.series]
        if set(marks) != {"bar", "line"} or marks != sorted(marks):
            raise SpecError("bar-line-marks", "bar series first, then at least one line")
    if spec.kind == "radar" and any(v is None for s in spec.series for v in s.values):
        raise SpecError("radar-gap", "a radar needs a value on every axis")
    if spec.kind == "radar" and not 3 <= len(spec.categories) <= 12:
        raise SpecError("radar-axes", f"{len(spec.categories)} indicators (3 to 12)")


def mismatch(drawn: dict[str, dict[str, float]], spec: ChartSpec) -> str | None:
    """How the values a renderer reports it drew differ from the spec's target, or None.

    `drawn` maps each drawn series (legend text, or pie caption) to {x label: value}, read
    back from the engine's own record. Order matters: legends and axes are read in order."""
    want = target_values(spec)
    if list(drawn) != list(want):
        return f"series drawn {list(drawn)[:6]} != target {list(want)[:6]}"
    for name, row in want.items():
        got = drawn[name]
        if spec.kind == "scatter":
            # points of one series: compare as sorted (x, y) pairs, x at its precision
            got = {fmt(float(x), spec.x_decimals): v for x, v in got.items()}
            if sorted(got) != sorted(row):
                return f"{name!r}: x values differ"
        elif list(got) != list(row):
            return f"{name!r}: categories drawn {list(got)[:6]} != target {list(row)[:6]}"
        tolerance = 0.5 * 10 ** -spec.decimals + 1e-9
        for x, text in row.items():
            if abs(got[x] - float(text)) > tolerance:
                return f"{name!r}[{x!r}]: drawn {got[x]!r} != target {text}"
    return None


def boxes_clash(boxes: list[tuple[float, float, float, float]], width: float, height: float,
                margin: float = 1.0) -> str | None:
    """The first problem among text boxes (x0, y0, x1, y1): one outside the canvas, or two
    that overlap by more than `margin` pixels each way. None when all are clear."""
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if x0 < -margin or y0 < -margin or x1 > width + margin or y1 > height + margin:
            return f"text {i} at ({x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f}) leaves the canvas"
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    # sweep along x: only boxes whose x ranges overlap can clash
    for a_pos, a in enumerate(order):
        ax0, ay0, ax1, ay1 = boxes[a]
        for b in order[a_pos + 1:]:
            bx0, by0, bx1, by1 = boxes[b]
            if bx0 >= ax1 - margin:
                break
            if min(ax1, bx1) - max(ax0, bx0) > margin and min(ay1, by1) - max(ay0, by0) > margin:
                return f"texts {a} and {b} overlap"
    return None


def label_rotation(spec: ChartSpec, width_px: int, font_px: float) -> int:
    """A first guess at the rotation category labels need on a vertical category axis, from
    their estimated widths (a CJK character ~1 em, others ~0.6 em), so that most charts
    are drawn once; the renderers' clash checks have the last word."""
    if spec.kind in ("pie", "donut", "radar", "scatter", "hbar") or not spec.categories:
        return 0

    def em(text: str) -> float:
        return sum(1.0 if "\u2e80" <= ch <= "\uffef" else 0.6 for ch in text)

    longest = max(max(em(line) for line in c.split("\n")) for c in spec.categories)
    slot = 0.75 * width_px / len(spec.categories)  # the axis' share per category
    if longest * font_px <= 0.9 * slot:
        return 0
    return 45 if 1.6 * font_px <= slot else 90


# Labels longer than this are rejected rather than drawn.
LONG_LABEL = 80
# Attempts at a legible layout, in order: as styled, tick labels rotated, then steeper and
# without data labels.
ATTEMPTS = [{}, {"rotate": 45}, {"rotate": 90}, {"rotate": 90, "labels": False}]


def wrap_label(text: str, width: int) -> str:
    """Long labels break at spaces (read back by joining lines with a space)."""
    return textwrap.fill(text, width) if len(text) > width and " " in text else text


def unwrap_label(text: str) -> str:
    return text.replace("\n", " ")


def spec_of(content: Any) -> ChartSpec | Reject:
    """A renderer's item as a valid chart spec, or why it cannot be drawn truthfully."""
    if isinstance(content, dict) and content.get("error"):
        reason, _, detail = str(content["error"]).partition(":")
        return Reject(reason, detail.strip())
    try:
        spec = ChartSpec.from_dict(content)
        validate(spec)
    except SpecError as exc:
        return Reject(exc.reason, exc.detail)
    except (TypeError, KeyError, ValueError) as exc:
        return Reject("bad-content", f"not a chart spec: {exc}")
    too_long = [t for t in spec.texts() if len(t) > LONG_LABEL]
    if too_long:
        return Reject("label-too-long", f"{len(too_long[0])} characters: {too_long[0][:40]}")
    return spec


def layout_attempts(spec: ChartSpec, style: dict[str, Any]) -> list[dict[str, Any]]:
    """The ATTEMPTS to try for this chart: from the rotation the labels' widths call for,
    steeper ones after; dropping data labels only where the style has them."""
    first = label_rotation(spec, style["width"], style["size"] * 1.05)
    attempts = [a for a in ATTEMPTS if a.get("rotate", 0) >= first]
    attempts[0] = {**attempts[0], "rotate": first} if first else attempts[0]
    return [a for a in attempts if not (a.get("labels") is False and not style["labels"])]
