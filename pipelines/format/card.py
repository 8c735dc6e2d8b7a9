"""Human-readable figures of a dataset: the terminal table and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from ocr2synth.pipelines.format.figures import (
    PLOTS,
    DatasetFigures,
    collect,
    text_histograms,
    write_plots,
)
from ocr2synth.pipelines.format.manifest import Layout, stats_by_entry
from ocr2synth.pipelines.format.schema import SCHEMA
from ocr2synth.renderers.registry import REGISTRY


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


def task_table(figures: DatasetFigures) -> str:
    """Rows per renderer and task, as a fixed-width table."""
    tasks = sorted({t for _, t in figures.tasks})
    names = figures.renderers
    header = ["renderer", *tasks, "total"]
    rows = [[n, *(f"{figures.tasks.get((n, t), 0):,}" for t in tasks),
             f"{sum(figures.tasks.get((n, t), 0) for t in tasks):,}"] for n in names]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def size_table(manifest: dict[str, Any], figures: DatasetFigures) -> str:
    """Bytes per sample and image sizes per renderer."""
    stored: dict[str, int] = {}
    for record in manifest.get("shards", {}).values():
        stored[record["renderer"]] = stored.get(record["renderer"], 0) + record["bytes"]
    header = ("renderer", "samples", "MiB", "KiB/sample", "median image", "smallest", "largest")
    rows = []
    for name in figures.renderers:
        w, h = figures.values("widths", name), figures.values("heights", name)
        area = w.astype(np.int64) * h
        small, large = int(np.argmin(area)), int(np.argmax(area))
        rows.append((name, f"{w.size:,}", f"{stored.get(name, 0) / 2**20:,.1f}",
                     f"{stored.get(name, 0) / 1024 / max(1, w.size):,.1f}",
                     f"{int(np.median(w))}x{int(np.median(h))}",
                     f"{w[small]}x{h[small]}", f"{w[large]}x{h[large]}"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(wd) if i == 0 else str(c).rjust(wd)
                       for i, (c, wd) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def inspect_text(root: str | Path, manifest: dict[str, Any]) -> str:
    shards = manifest.get("shards", {})
    figures = collect(root)
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
        "tasks     " + ", ".join(f"{t}: {n:,}" for t, n in sorted(_by_task(figures).items())),
        "",
        task_table(figures),
        "",
        size_table(manifest, figures),
        "",
        *text_histograms(figures),
    ]
    if Layout(root).store.exists(PLOTS["samples"]):
        parts += ["", f"contact sheet and plots: {Layout(root).store}/card-*.png"]
    reasons = top_reasons(manifest)
    if reasons:
        parts.append("")
        parts.append("top reject reasons")
        for entry, common in sorted(reasons.items()):
            for reason, count in common:
                parts.append(f"  {entry:<20} {reason:<24} {count:,}")
    parts += ["", "schema", *(f"  {f.name}: {f.type}" for f in SCHEMA)]
    return "\n".join(parts)


def _by_task(figures: DatasetFigures) -> dict[str, int]:
    out: dict[str, int] = {}
    for (_, task), n in figures.tasks.items():
        out[task] = out.get(task, 0) + n
    return out


def _samples(stats: Any) -> int:
    return max(1, stats.rows + stats.rejects)


_SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                    (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def front_matter(manifest: dict[str, Any], figures: DatasetFigures) -> str:
    """Hugging Face's dataset-card metadata: `load_dataset(DIR)` reads the shards through
    `configs` (the default config is every shard, one config per recipe entry), and a hub
    shows the licence, task, languages and size from it."""
    rows = manifest.get("totals", {}).get("rows", 0)
    languages = [lang for lang, n in (("en", figures.latin_rows), ("zh", figures.han_rows))
                 if n] or ["en"]
    by_entry: dict[str, list[str]] = {}
    for _, record in sorted(manifest.get("shards", {}).items()):
        by_entry.setdefault(record["entry"], []).append(record["file"])
    configs = [{"config_name": "default", "default": True,
                "data_files": [{"split": "train", "path": "shards/*.parquet"}]}]
    configs += [{"config_name": entry, "data_files": [{"split": "train", "path": files}]}
                for entry, files in sorted(by_entry.items()) if entry != "default"]
    meta = {
        "license": manifest["recipe"].get("license") or "other",
        "pretty_name": manifest["name"],
        "task_categories": ["image-to-text"],
        "language": languages,
        "size_categories": [next((label for limit, label in _SIZE_CATEGORIES if rows < limit),
                                 "n>1T")],
        "tags": ["ocr", "synthetic", "got-ocr2", "ocr2synth"],
        "configs": configs,
    }
    return f"---\n{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---\n\n"


def write_card(root: str | Path, manifest: dict[str, Any]) -> None:
    """The dataset card, README.md beside the shards, and its plots beside it."""
    recipe = manifest["recipe"]
    figures = collect(root)
    plots = write_plots(root, figures)
    stats = stats_by_entry(manifest)
    reasons = top_reasons(manifest)
    reason_lines = [
        f"| {entry} | {reason} | {count} | {100 * count / _samples(stats[entry]):.1f}% |"
        for entry, common in sorted(reasons.items()) for reason, count in common
    ] or ["| - | none | 0 | 0% |"]
    totals = manifest.get("totals", {})
    plot_lines = [f"![{kind.replace('_', ' ')}]({path.name})" for kind, path in plots.items()]
    schema_lines = [f"| `{f.name}` | `{f.type}` |" for f in SCHEMA]
    renderer_lines = []
    for name in sorted({e["renderer"] for e in recipe["entries"]}):
        spec = REGISTRY.get(name)
        line = f"- `{name}`: {spec.description}" if spec else f"- `{name}`"
        if spec and spec.target_note:
            line += f"\n  - target: {spec.target_note}"
        renderer_lines.append(line)
    source_lines = [f"| {renderer} | {corpus} | {license} | {len(docs):,} | {rows:,} |"
                    for (renderer, corpus, license), (rows, docs)
                    in sorted(figures.sources.items())]
    text = front_matter(manifest, figures) + f"""# {manifest['name']}

Synthetic OCR-2.0 training data rendered by ocr2synth {manifest.get('code_version', '')}.
Each row is one (image, prompt, target) sample in GOT's format.

- recipe `{manifest['name']}`, seed {recipe['seed']}, hash `{manifest['recipe_hash']}`
  (the full recipe is at the end: rendering it again gives the same bytes)
- code version: `{manifest.get('code_version', 'unknown')}`
- {totals.get('rows', 0):,} samples, {totals.get('rejects', 0):,} rejected,
  {totals.get('bytes', 0) / 2**20:,.1f} MiB of shards
- shards: {len(manifest.get('shards', {}))} of {manifest.get('planned_shards', '?')} planned
  ({'complete' if manifest.get('complete') else 'incomplete'})

## Counts

```
{summary_table(manifest)}
```

## Rows per renderer and task

```
{task_table(figures)}
```

## Reject reasons

| entry | reason | count | share of the entry |
|---|---|---|---|
{chr(10).join(reason_lines)}

Rejected samples are listed in `rejects/part-NNNNNN.jsonl` with their id, reason and an
excerpt of their content; they are not in the shards.

## Sizes

```
{size_table(manifest, figures)}
```

## Plots

{chr(10).join(plot_lines) or "(no samples)"}

`{PLOTS['samples']}`: the first samples of each renderer; `{PLOTS['target_length']}`:
target length in characters; `{PLOTS['image_size']}`: image width and height.
`ocr2synth inspect` prints the same histograms in the terminal.

## Renderers

{chr(10).join(renderer_lines)}

## Sources

Where the content of the rows came from (each row's `meta` names its `corpus`, `source`
document, `position` in it and `license`); rows of generated content are not listed.

| renderer | corpus | licence | documents | rows |
|---|---|---|---|---|
{chr(10).join(source_lines) or "| - | generated content only | - | 0 | 0 |"}

## Schema

| column | type |
|---|---|
{chr(10).join(schema_lines)}

## Loading

```python
import datasets
ds = datasets.load_dataset("{root}", split="train")  # the card's `configs`: every shard
ds[0]["image"]  # a PIL image
one = datasets.load_dataset("{root}", "ENTRY", split="train")  # one recipe entry

import duckdb
duckdb.sql("SELECT renderer, count(*) FROM '{root}/shards/*.parquet' GROUP BY 1")

import pandas as pd
df = pd.read_parquet("{root}/shards")
```

With the bundled trainer (GOT's stages; see the project README):

```sh
ocr2synth train --stage 2 --data {root} --out out/train/stage2 --init-from out/train/stage1/final
ocr2synth preview {root}   # an offline HTML gallery of the samples
```

## Recipe

```json
{json.dumps(recipe, indent=2, sort_keys=True)}
```
"""
    Layout(root).store.write_bytes("README.md", text.encode("utf-8"))
