"""`ocr2synth eval`: a checkpoint's GOT metrics per task on held-out shards.

Rows are read in shard order (no shuffle, so two checkpoints see the same samples), at
most `max_samples` per task, decoded greedily through the checkpoint's processor, and
scored with `trainer.metrics`. A row whose image cannot be decoded is counted, not fatal;
so is a pair GOT drops (empty prediction or target).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from trainer.data import COLUMNS, shard_files
from trainer.images import decode
from trainer.infer import Reader
from trainer.metrics import NAMES, Scores, mean, score
from trainer.prompts import Query

log = logging.getLogger(__name__)


def held_out_rows(root: str | Path, max_per_task: int | None,
                  tasks: tuple[str, ...] | None = None) -> Iterator[dict[str, Any]]:
    taken: Counter[str] = Counter()
    for path in shard_files(root):
        parquet = pq.ParquetFile(path)
        for g in range(parquet.metadata.num_row_groups):
            for row in parquet.read_row_group(g, columns=COLUMNS).to_pylist():
                task = row["task"]
                if (tasks and task not in tasks) or (
                        max_per_task is not None and taken[task] >= max_per_task):
                    continue
                taken[task] += 1
                yield row


@dataclass
class EvalReport:
    model: str
    data: str
    per_task: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)  # a few, to eyeball
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)

    def text(self) -> str:
        head = f"{'task':<12} {'n':>5} " + " ".join(f"{n:>13}" for n in NAMES)
        lines = [f"{self.model} on {self.data} ({self.seconds:.1f}s)", head]
        for task in sorted(self.per_task, key=lambda t: (t == "all", t)):
            values = " ".join(f"{self.per_task[task][n]:>13.4f}" for n in NAMES)
            lines.append(f"{task:<12} {self.counts[task]:>5} {values}")
        if self.skipped:
            lines.append(f"skipped: {self.skipped}")
        lines.append("edit_distance: lower is better; the others: higher is better")
        return "\n".join(lines)


def images_of(row: dict[str, Any], query: Query) -> list[Any]:
    pages = [decode(im["bytes"]) for im in row.get("images") or [] if im and im["bytes"]]
    if query.multi_page and pages:
        return pages
    return [decode(row["image"]["bytes"])]


def evaluate(model_dir: str | Path, data: str | Path, max_samples: int | None = 100,
             max_new_tokens: int = 512, tasks: tuple[str, ...] | None = None,
             device: str | None = None, n_examples: int = 3) -> EvalReport:
    reader = Reader.load(model_dir, device=device, max_new_tokens=max_new_tokens)
    report = EvalReport(str(model_dir), str(data))
    scores: dict[str, list[Scores]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    t0 = time.perf_counter()
    for row in held_out_rows(data, max_samples, tasks):
        query = Query.parse(row["prompt"])
        if not query.parsed:
            skipped["unknown_prompt"] += 1
            continue
        try:
            images = images_of(row, query)
        except Exception as exc:  # PIL raises many types on bad bytes
            log.warning("%s: bad image (%s)", row["id"], exc)
            skipped["bad_image"] += 1
            continue
        pred = reader.read(images, query).strip()  # GOT strips the model's output
        scored = score(pred, row["target"])
        if scored is None:  # an empty side: GOT drops the pair
            skipped["empty"] += 1
        else:
            scores[row["task"]].append(scored)
        if len(report.examples) < n_examples:
            report.examples.append({"id": row["id"], "task": row["task"],
                                    "target": row["target"], "prediction": pred})
    report.seconds = time.perf_counter() - t0
    report.per_task = {task: mean(s) for task, s in scores.items()}
    if len(scores) > 1:
        report.per_task["all"] = mean(s for ss in scores.values() for s in ss)
    report.counts = {task: len(s) for task, s in scores.items()}
    if len(scores) > 1:
        report.counts["all"] = sum(report.counts.values())
    report.skipped = dict(skipped)
    return report
