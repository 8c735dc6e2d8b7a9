"""A chart's target in the three forms other models train on, all from one `ChartSpec`.

- `dict`: the OneChart JSON object (`spec.canonical_target`), GOT's chart target;
- `html`: the chart's values as one HTML `<table>`, as DeepSeek-OCR writes chart targets
  (bare `<table><tr><td>` cells, no `<thead>`, no attributes, no whitespace between tags);
- `markdown`: the same table as a GitHub-flavoured markdown table.

Both tables hold the dict's `values` and nothing else: a header row whose first cell is
the category axis' title (the dict's `x_title`, "" for pie, donut and radar) and then one
column per series in legend order, and one row per category (pie slices, radar
indicators; for a scatter, every x any group has, in first-drawn order) holding each
series' printed number, an empty cell where the series has no point. The title and the
source are the dict's only: DeepSeek-OCR's chart task is image-to-table. Every number is
the string `target_values` prints, so the three forms cannot disagree.

This module does not know how a chart is drawn; it only writes what the spec holds.
"""

from __future__ import annotations

import html

from ocr2synth.renderers.base import Reject
from ocr2synth.renderers.chart.spec import ChartSpec, SpecError, canonical_target, target_values

TARGETS = ("dict", "html", "markdown")


def value_table(spec: ChartSpec) -> list[list[str]]:
    """Header row, then one row per x: the cells both tables are written from."""
    values = target_values(spec)
    head = spec.kind not in ("pie", "donut", "radar")
    xs: dict[str, None] = {}  # insertion-ordered union of every series' x labels
    if spec.kind == "scatter":
        for row in values.values():
            xs.update(dict.fromkeys(row))
    else:
        xs.update(dict.fromkeys(spec.categories))
    rows = [[spec.x_title if head else "", *values]]
    rows += [[x, *(row.get(x, "") for row in values.values())] for x in xs]
    return rows


def html_table(spec: ChartSpec) -> str:
    def cell(text: str) -> str:
        return f"<td>{html.escape(text, quote=False)}</td>"

    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>"
                   for row in value_table(spec))
    return f"<table>{body}</table>"


def markdown_table(spec: ChartSpec) -> str:
    rows = value_table(spec)
    for row in rows:
        for text in row:
            # a cell cannot hold a line break; a pipe is escaped, as GFM reads `\|`
            if "\n" in text or "\r" in text:
                raise SpecError("bad-content", f"a table cell cannot hold a line break: "
                                f"{text[:30]!r}")
            if text != text.strip():
                raise SpecError("bad-content", f"markdown trims a cell's edges: {text!r}")

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("\\", "\\\\").replace("|", "\\|")
                                 for c in cells) + " |"

    return "\n".join([line(rows[0]), "|" + "---|" * len(rows[0]),
                      *(line(r) for r in rows[1:])])


def parse_markdown_table(text: str) -> list[list[str]]:
    """The cells of a table `markdown_table` wrote (header first, the rule dropped)."""
    rows = []
    for n, raw in enumerate(text.strip().split("\n")):
        if n == 1:
            continue
        inner = raw.strip()[1:-1]
        cells, cell, i = [], "", 0
        while i < len(inner):
            if inner[i] == "\\" and i + 1 < len(inner):
                cell += inner[i + 1]
                i += 2
                continue
            if inner[i] == "|":
                cells.append(cell.strip())
                cell = ""
            else:
                cell += inner[i]
            i += 1
        cells.append(cell.strip())
        rows.append(cells)
    return rows


def chart_target(spec: ChartSpec, form: str) -> str:
    """The target in `form` (one of TARGETS); SpecError where that form cannot hold it."""
    if form == "dict":
        return canonical_target(spec)
    if form == "html":
        return html_table(spec)
    if form == "markdown":
        return markdown_table(spec)
    raise ValueError(f"unknown chart target {form!r} (known: {', '.join(TARGETS)})")


def target_kind(task: str, target: str, meta: dict) -> str:
    """How the gallery shows a chart target of either form."""
    return {"html": "code", "markdown": "markdown"}.get(str(meta.get("target")), "json")


def target_or_reject(spec: ChartSpec, form: str) -> str | Reject:
    """The target a renderer keeps, computed before it draws: a chart whose values the
    chosen form cannot hold costs no drawing."""
    try:
        return chart_target(spec, form)
    except SpecError as exc:
        return Reject(exc.reason, exc.detail)
