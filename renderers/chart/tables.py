"""Charts of a user's tables (`--source DIR` of `.csv` and `.json`): the first text column
gives the categories, numeric columns the series; empty cells and NaN are gaps."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.chart.spec import ChartSpec, Series, SpecError, round_to, validate
from ocr2synth.renderers.text.prose import text_language


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
