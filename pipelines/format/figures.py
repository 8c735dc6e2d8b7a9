"""The figures of a dataset, read back from its shards: counts per renderer and task, target
lengths, image sizes and a few samples. Drawn as PNG plots beside the dataset card
(Matplotlib's object API: no pyplot state, no display) and as text for `ocr2synth inspect`.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ocr2synth.pipelines.format.manifest import Layout
from ocr2synth.pipelines.format.store import Store
from PIL import Image

SAMPLES_PER_RENDERER = 4
PLOTS = {
    "samples": "card-samples.png",
    "target_length": "card-target-length.png",
    "image_size": "card-image-size.png",
}
_BARS = " ▁▂▃▄▅▆▇█"
_PNG = {"compress_level": 3}  # plots are written at the end of every job: keep it quick


@dataclass
class DatasetFigures:
    tasks: Counter = field(default_factory=Counter)  # (renderer, task) -> rows
    target_chars: dict[str, list[np.ndarray]] = field(default_factory=dict)
    widths: dict[str, list[np.ndarray]] = field(default_factory=dict)
    heights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    samples: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)
    # rows whose target has Han characters / Latin letters: the card's languages
    han_rows: int = 0
    latin_rows: int = 0
    # (renderer, corpus, licence) -> [rows, distinct source documents]: provenance from
    # each row's meta (`corpus`, `source`, `license`, set by corpus-reading sources)
    sources: dict[tuple[str, str, str], list] = field(default_factory=dict)

    @property
    def renderers(self) -> list[str]:
        return sorted(self.target_chars)

    def values(self, which: str, renderer: str) -> np.ndarray:
        parts = getattr(self, which)[renderer]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def collect(root: str | Path, samples_per_renderer: int = SAMPLES_PER_RENDERER
            ) -> DatasetFigures:
    """One pass over the shards' small columns; image bytes only for the samples shown."""
    figures = DatasetFigures()
    layout = Layout(root)
    for name in layout.shard_names():
        if not name.startswith("part-"):
            continue
        parquet = pq.ParquetFile(layout.store.open_input(layout.shard_rel(name)))
        table = parquet.read(columns=["renderer", "task", "target", "width", "height",
                                      "meta"])
        if table.num_rows == 0:
            continue
        renderers = table.column("renderer").to_pylist()
        _count_sources(figures, renderers, table.column("meta").to_pylist())
        figures.tasks.update(zip(renderers, table.column("task").to_pylist(), strict=True))
        chars = pc.utf8_length(table.column("target")).to_numpy(zero_copy_only=False)
        targets = table.column("target")
        figures.han_rows += pc.sum(pc.match_substring_regex(
            targets, r"[\x{4e00}-\x{9fff}]")).as_py() or 0
        figures.latin_rows += pc.sum(pc.match_substring_regex(
            targets, r"[A-Za-z]{3}")).as_py() or 0
        widths = table.column("width").to_numpy()
        heights = table.column("height").to_numpy()
        names = np.array(renderers, dtype=object)
        wanted: list[int] = []
        for name in sorted(set(renderers)):
            mask = names == name
            figures.target_chars.setdefault(name, []).append(chars[mask])
            figures.widths.setdefault(name, []).append(widths[mask])
            figures.heights.setdefault(name, []).append(heights[mask])
            have = len(figures.samples.setdefault(name, []))
            wanted += list(np.flatnonzero(mask)[: max(0, samples_per_renderer - have)])
        if wanted:
            picked = parquet.read(columns=["id", "renderer", "image"]).take(wanted)
            for row in picked.to_pylist():
                figures.samples[row["renderer"]].append((row["id"], row["image"]["bytes"]))
    return figures


def _count_sources(figures: DatasetFigures, renderers: list[str], metas: list[str]) -> None:
    for renderer, text in zip(renderers, metas, strict=True):
        meta = json.loads(text) if text else {}
        corpus = meta.get("corpus")
        if not corpus:
            continue
        key = (renderer, str(corpus), str(meta.get("license", "unknown")))
        entry = figures.sources.setdefault(key, [0, set()])
        entry[0] += 1
        entry[1].add(str(meta.get("source", "")))


def _log_edges(values: list[np.ndarray], bins: int = 24) -> np.ndarray:
    joined = np.concatenate([v for v in values if v.size]) if values else np.zeros(0)
    if joined.size == 0:
        return np.array([1.0, 10.0])
    lo, hi = max(1.0, float(joined.min())), max(2.0, float(joined.max()))
    if hi <= lo * 1.05:
        lo, hi = lo / 1.5, hi * 1.5
    return np.geomspace(lo, hi * 1.0001, bins + 1)


def _thumb(data: bytes, box: int = 320) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image = image.convert("RGB")
        image.thumbnail((box, box), Image.Resampling.LANCZOS)
        return np.asarray(image)


def write_plots(root: str | Path, figures: DatasetFigures) -> dict[str, PurePosixPath]:
    """The three PNG plots beside the card; returns their paths in the dataset by kind."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    store = Layout(root).store
    names = figures.renderers
    if not names:
        return {}

    # Contact sheet: a row of samples per renderer.
    cols = max(1, max(len(figures.samples.get(n, [])) for n in names))
    fig = Figure(figsize=(3.2 * cols, 2.6 * len(names)), dpi=90)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), cols, squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_color("#bbbbbb")
            samples = figures.samples.get(name, [])
            if c < len(samples):
                sid, data = samples[c]
                ax.imshow(_thumb(data), interpolation="antialiased")
                ax.set_title(sid, fontsize=8)
            else:
                ax.set_visible(False)
        axes[r][0].set_ylabel(name, fontsize=10)
    # a fixed grid: cheaper than tight_layout, which draws the figure an extra time; the
    # margins are in inches, so the title clears the first row's titles at any height
    height = 2.6 * len(names)
    fig.suptitle("samples per renderer", fontsize=12, y=1 - 0.12 / height, va="top")
    fig.subplots_adjust(left=0.04 + 0.1 / cols, right=0.99, bottom=0.1 / height,
                        top=1 - 0.8 / height, wspace=0.06, hspace=0.35)
    _save(fig, store, PLOTS["samples"])

    # Target lengths, log-spaced bins shared by every renderer.
    edges = _log_edges([figures.values("target_chars", n) for n in names])
    fig = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name in names:
        ax.hist(figures.values("target_chars", name), bins=edges, histtype="step",
                linewidth=1.6, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("target length (characters)")
    ax.set_ylabel("samples")
    ax.set_title("target length per renderer")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92)
    _save(fig, store, PLOTS["target_length"])

    # Image sizes: width and height.
    fig = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_w, ax_h = fig.subplots(1, 2)
    for ax, which, label in ((ax_w, "widths", "width"), (ax_h, "heights", "height")):
        edges = _log_edges([figures.values(which, n) for n in names])
        for name in names:
            ax.hist(figures.values(which, name), bins=edges, histtype="step", linewidth=1.6,
                    label=name)
        ax.set_xscale("log")
        ax.set_xlabel(f"image {label} (pixels)")
        ax.set_ylabel("samples")
        ax.set_title(f"image {label} per renderer")
    ax_w.legend(fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.22)
    _save(fig, store, PLOTS["image_size"])
    return {kind: PurePosixPath(name) for kind, name in PLOTS.items()}


def _save(fig, store: Store, name: str) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs=_PNG)
    store.write_bytes(name, buffer.getvalue())


def _spark(values: np.ndarray, edges: np.ndarray) -> str:
    counts, _ = np.histogram(values, bins=edges)
    top = counts.max() if counts.size and counts.max() else 1
    return "".join(_BARS[0] if n == 0 else _BARS[max(1, round(8 * n / top))] for n in counts)


def text_histograms(figures: DatasetFigures) -> list[str]:
    """The plots' histograms as terminal lines: one row of bars per renderer, on bins
    shared by all renderers (log-spaced, low to high)."""
    names = figures.renderers
    if not names:
        return []
    width = max(len(n) for n in names)
    lines = []
    for which, title, unit in (("target_chars", "target length", "chars"),
                               ("widths", "image width", "px"),
                               ("heights", "image height", "px")):
        edges = _log_edges([figures.values(which, n) for n in names], bins=32)
        lines.append(f"{title} ({unit}; bins {edges[0]:,.0f} .. {edges[-1]:,.0f}, log scale)")
        for name in names:
            v = figures.values(which, name)
            stats = (f"min {v.min():,}  median {int(np.median(v)):,}  max {v.max():,}"
                     if v.size else "no samples")
            lines.append(f"  {name:<{width}}  |{_spark(v, edges)}|  {stats}")
        lines.append("")
    return lines[:-1]
