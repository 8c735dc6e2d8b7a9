"""Human-readable figures of a dataset: the terminal table and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.dataset import Layout, stats_by_entry
from pipelines.shards import SCHEMA, atomic_write_bytes
from renderers.registry import REGISTRY


def _rate(value: float) -> str:
    return f"{value:,.1f}" if value else "-"


def summary_table(manifest: dict[str, Any], wall_s: float | None = None) -> str:
    """Samples, rejects and throughput per recipe entry, as a fixed-width table."""
    stats = stats_by_entry(manifest)
    header = ("entry", "renderer", "samples", "rejects", "reject %", "samples/s/core", "MiB")
    renderers = {r["entry"]: r["renderer"] for r in manifest.get("shards", {}).values()}
    rows = [
        (entry, renderers[entry], f"{s.rows:,}", f"{s.rejects:,}", f"{100 * s.reject_rate:.1f}",
         _rate(s.per_core_rate), f"{s.bytes / 2**20:,.1f}")
        for entry, s in sorted(stats.items())
    ]
    total_rows = sum(s.rows for s in stats.values())
    total_rejects = sum(s.rejects for s in stats.values())
    total_rate = (total_rows + total_rejects) / wall_s if wall_s else 0.0
    rows.append(("total", "", f"{total_rows:,}", f"{total_rejects:,}",
                 f"{100 * total_rejects / max(1, total_rows + total_rejects):.1f}",
                 f"{_rate(total_rate)} wall" if wall_s else "",
                 f"{sum(s.bytes for s in stats.values()) / 2**20:,.1f}"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def top_reasons(manifest: dict[str, Any], limit: int = 5) -> dict[str, list[tuple[str, int]]]:
    return {entry: s.reasons.most_common(limit) for entry, s in stats_by_entry(manifest).items()
            if s.reasons}


def task_counts(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in sorted(Layout(root).shards.glob("part-*.parquet")):
        for task in pq.read_table(path, columns=["task"]).column("task").to_pylist():
            counts[task] = counts.get(task, 0) + 1
    return counts


def inspect_text(root: Path, manifest: dict[str, Any]) -> str:
    shards = manifest.get("shards", {})
    parts = [
        f"dataset   {root}",
        f"recipe    {manifest['name']} (seed {manifest['recipe']['seed']}, "
        f"hash {manifest['recipe_hash']})",
        f"code      {manifest.get('code_version', '?')}",
        f"shards    {len(shards)} of {manifest.get('planned_shards', '?')} planned"
        + ("" if manifest.get("complete") else "  (incomplete: re-run render to finish)"),
        "",
        summary_table(manifest),
        "",
        "tasks     " + ", ".join(f"{t}: {n:,}" for t, n in sorted(task_counts(root).items())),
    ]
    reasons = top_reasons(manifest)
    if reasons:
        parts.append("")
        parts.append("top reject reasons")
        for entry, common in sorted(reasons.items()):
            for reason, count in common:
                parts.append(f"  {entry:<20} {reason:<24} {count:,}")
    parts += ["", "schema", *(f"  {f.name}: {f.type}" for f in SCHEMA)]
    return "\n".join(parts)


def write_card(root: Path, manifest: dict[str, Any]) -> None:
    """The dataset card, README.md beside the shards."""
    recipe = manifest["recipe"]
    reasons = top_reasons(manifest)
    reason_lines = [
        f"| {entry} | {reason} | {count} |"
        for entry, common in sorted(reasons.items()) for reason, count in common
    ] or ["| - | none | 0 |"]
    schema_lines = [f"| `{f.name}` | `{f.type}` |" for f in SCHEMA]
    renderer_lines = []
    for name in sorted({e["renderer"] for e in recipe["entries"]}):
        spec = REGISTRY.get(name)
        line = f"- `{name}`: {spec.description}" if spec else f"- `{name}`"
        if spec and spec.target_note:
            line += f"\n  - target: {spec.target_note}"
        renderer_lines.append(line)
    text = f"""# {manifest['name']}

Synthetic OCR-2.0 training data rendered by ocr2synth {manifest.get('code_version', '')}.
Each row is one (image, prompt, target) sample in GOT's format.

- recipe hash: `{manifest['recipe_hash']}`, seed {recipe['seed']}
- shards: {len(manifest.get('shards', {}))} of {manifest.get('planned_shards', '?')} planned
  ({'complete' if manifest.get('complete') else 'incomplete'})

## Counts

```
{summary_table(manifest)}
```

## Reject reasons

| entry | reason | count |
|---|---|---|
{chr(10).join(reason_lines)}

Rejected samples are listed in `rejects/part-NNNNNN.jsonl` with their id, reason and an
excerpt of their content; they are not in the shards.

## Renderers

{chr(10).join(renderer_lines)}

## Schema

| column | type |
|---|---|
{chr(10).join(schema_lines)}

## Loading

```python
import datasets
ds = datasets.load_dataset("parquet", data_files="{root}/shards/*.parquet", split="train")
ds[0]["image"]  # a PIL image

import duckdb
duckdb.sql("SELECT renderer, count(*) FROM '{root}/shards/*.parquet' GROUP BY 1")

import pandas as pd
df = pd.read_parquet("{root}/shards")
```

## Recipe

```json
{json.dumps(recipe, indent=2, sort_keys=True)}
```
"""
    atomic_write_bytes(root / "README.md", text.encode("utf-8"))
