"""`ocr2synth eval`: a checkpoint's GOT metrics per task, on held-out shards or GOT's own
evaluation JSON (the format of GOT's eval scripts and the Fox benchmark).

Samples are read in file order (no shuffle, so two checkpoints see the same ones), at most
`max_samples` per task, decoded greedily through the checkpoint's processor with GOT's
generation settings, and scored with `trainer.metrics`. A sample whose image cannot be
read, or whose prompt is not one of GOT's, is counted, not fatal; a pair GOT would drop
(empty prediction or truth) is counted as dropped and left out of the means.

A GOT evaluation JSON is a list of
`{"image": NAME, "conversations": [{"value": PROMPT}, {"value": TRUTH}, ...]}`, NAME
relative to `image_root` (a list of names for a multi-page sample). PROMPT may start with
GOT's `<image>` placeholder. Its task is the one the prompt asks for (see `task_of`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.trainer.data import COLUMNS, DataError, shard_files
from ocr2synth.trainer.images import decode
from ocr2synth.trainer.infer import (
    GOT_MAX_NEW_TOKENS,
    GOT_MAX_TILES,
    GOT_NO_REPEAT_NGRAM_SIZE,
    Reader,
)
from ocr2synth.trainer.metrics import NAMES, Scores, Unit, mean, score, score_format_parts, wordnet
from ocr2synth.trainer.prompts import Query
from PIL import Image

log = logging.getLogger(__name__)

# Per task, when --max-samples is not given: a sample of held-out shards, a whole benchmark.
DEFAULT_SHARD_SAMPLES = 100


def task_of(query: Query) -> str:
    """The task a GOT prompt asks for, named as the renderers name their rows."""
    if query.multi_page:
        return "multi-page"
    if query.crop:
        return "multi-crop"
    if query.color is not None:
        return "color"
    if query.box is not None:
        return "box"
    return "format" if query.format else "ocr"


_IMAGE_TAG = re.compile(r"^\s*<image>\s*")


def got_prompt(value: str) -> str:
    """A conversation's prompt as GOT's prompt string: no `<image>` placeholder, and the
    space after the colon that JSON files sometimes leave out."""
    prompt = _IMAGE_TAG.sub("", value)
    return prompt + " " if prompt.endswith(":") else prompt


@dataclass
class Sample:
    id: str
    task: str
    prompt: str
    target: str
    # Decodes the sample's images for its query (one image, or a multi-page query's pages).
    images: Callable[[Query], list[Image.Image]]


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


def images_of(row: dict[str, Any], query: Query) -> list[Image.Image]:
    pages = [decode(im["bytes"]) for im in row.get("images") or [] if im and im["bytes"]]
    if query.multi_page and pages:
        return pages
    return [decode(row["image"]["bytes"])]


def shard_samples(root: str | Path, max_per_task: int | None,
                  tasks: tuple[str, ...] | None) -> Iterator[Sample]:
    for row in held_out_rows(root, max_per_task, tasks):
        yield Sample(row["id"], row["task"], row["prompt"], row["target"],
                     lambda query, row=row: images_of(row, query))


def _open_images(paths: list[Path]) -> list[Image.Image]:
    return [decode(p.read_bytes()) for p in paths]


def got_json_samples(path: str | Path, image_root: str | Path | None,
                     max_per_task: int | None, tasks: tuple[str, ...] | None = None,
                     prompt: str | None = None) -> Iterator[Sample]:
    """The entries of a GOT evaluation JSON, each under the task its prompt asks for.

    `prompt` replaces every entry's prompt (GOT's eval_GOT_ocr.py writes `OCR with format: `
    for every sample, whatever the file says). Entries whose prompt is not one of GOT's
    come out under the task "unknown", for the caller to count.
    """
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a GOT evaluation JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise DataError(f"{path}: a GOT evaluation JSON is a list of samples")
    root = Path(image_root) if image_root is not None else path.parent
    taken: Counter[str] = Counter()
    for i, entry in enumerate(entries):
        try:
            turns = entry["conversations"]
            text = prompt if prompt is not None else got_prompt(str(turns[0]["value"]))
            target = str(turns[1]["value"])
            names = entry["image"] if isinstance(entry["image"], list) else [entry["image"]]
        except (KeyError, IndexError, TypeError) as exc:
            raise DataError(f"{path}: entry {i} is not {{'image': ..., 'conversations': "
                            f"[{{'value': PROMPT}}, {{'value': TRUTH}}]}} ({exc!r})") from exc
        query = Query.parse(text)
        task = task_of(query) if query.parsed else "unknown"
        if (tasks and task not in tasks) or (
                max_per_task is not None and taken[task] >= max_per_task):
            continue
        taken[task] += 1
        files = [root / str(name) for name in names]
        yield Sample(f"{i}:{names[0]}", task, text, target,
                     lambda query, files=files: _open_images(files))


def is_got_json(data: str | Path) -> bool:
    return Path(data).is_file()


@dataclass
class EvalReport:
    model: str
    data: str
    per_task: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # pairs scored (GOT's question num)
    dropped: dict[str, int] = field(default_factory=dict)  # empty prediction or truth
    skipped: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)  # a few, to eyeball
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, ensure_ascii=False)

    def text(self) -> str:
        head = f"{'task':<16} {'n':>5} {'dropped':>7} " + " ".join(f"{n:>13}" for n in NAMES)
        lines = [f"{self.model} on {self.data} ({self.seconds:.1f}s)", head]
        for task in sorted(self.per_task, key=lambda t: (t == "all", t)):
            values = " ".join(f"{self.per_task[task][n]:>13.4f}" for n in NAMES)
            lines.append(f"{task:<16} {self.counts[task]:>5} {self.dropped.get(task, 0):>7} "
                         f"{values}")
        if self.skipped:
            lines.append(f"skipped: {self.skipped}")
        lines.append("edit_distance: lower is better; the others: higher is better")
        if self.settings.get("got_compat"):
            lines.append("--got-compat: precision/recall/BLEU/METEOR called (truth, "
                         "prediction) as GOT's scripts do; GOT's precision is our recall")
        return "\n".join(lines)


def evaluate(model_dir: str | Path, data: str | Path, max_samples: int | None = None,
             max_new_tokens: int = GOT_MAX_NEW_TOKENS, tasks: tuple[str, ...] | None = None,
             device: str | None = None, n_examples: int = 3,
             image_root: str | Path | None = None, got_compat: bool = False,
             no_repeat_ngram_size: int = GOT_NO_REPEAT_NGRAM_SIZE,
             max_tiles: int = GOT_MAX_TILES, unit: Unit = "word",
             prompt: str | None = None, format_parts: bool = False) -> EvalReport:
    """`data`: a dataset folder (shards/ inside) or a GOT evaluation JSON file.

    `max_samples` per task: None takes DEFAULT_SHARD_SAMPLES from shards, all of a JSON.
    `format_parts`: samples whose prompt asks for format are also scored on their text,
    math and table parts (GOT's eval_ocr_format.py), in rows `TASK/text`, `TASK/math`
    and `TASK/table` that count only the pairs where both sides have that part and stay
    out of "all".
    """
    wordnet()  # fails now, not after the first generation, when WordNet is missing
    if is_got_json(data):
        samples = got_json_samples(data, image_root, max_samples, tasks, prompt)
    else:
        if prompt is not None or image_root is not None:
            raise ValueError("--prompt and --image-root go with a GOT evaluation JSON; "
                             "shards hold their prompts and images")
        samples = shard_samples(
            data, DEFAULT_SHARD_SAMPLES if max_samples is None else max_samples, tasks)
    reader = Reader.load(model_dir, device=device, max_new_tokens=max_new_tokens,
                         max_tiles=max_tiles, no_repeat_ngram_size=no_repeat_ngram_size,
                         got_compat=got_compat)
    report = EvalReport(str(model_dir), str(data), settings={
        "got_compat": got_compat, "unit": unit, "max_new_tokens": max_new_tokens,
        "no_repeat_ngram_size": no_repeat_ngram_size, "max_tiles": max_tiles,
        "prompt": prompt, "format_parts": format_parts})
    scores: dict[str, list[Scores]] = defaultdict(list)
    parts: dict[str, list[Scores]] = defaultdict(list)
    dropped: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    t0 = time.perf_counter()
    for sample in samples:
        query = Query.parse(sample.prompt)
        if not query.parsed:
            skipped["unknown_prompt"] += 1
            continue
        try:
            images = sample.images(query)
        except Exception as exc:  # PIL raises many types on bad bytes; files may be missing
            log.warning("%s: bad image (%s)", sample.id, exc)
            skipped["bad_image"] += 1
            continue
        pred = reader.read(images, query).strip()  # GOT strips the model's output
        scored = score(pred, sample.target, got_compat=got_compat, unit=unit)
        if scored is None:
            dropped[sample.task] += 1
        else:
            scores[sample.task].append(scored)
        if format_parts and query.format:
            for part, part_scores in score_format_parts(pred, sample.target,
                                                        got_compat).items():
                if part_scores is not None:
                    parts[f"{sample.task}/{part}"].append(part_scores)
        if len(report.examples) < n_examples:
            report.examples.append({"id": sample.id, "task": sample.task,
                                    "target": sample.target, "prediction": pred})
    report.seconds = time.perf_counter() - t0
    report.per_task = {task: mean(s) for task, s in scores.items()}
    report.counts = {task: len(s) for task, s in scores.items()}
    if len(scores) > 1:
        report.per_task["all"] = mean(s for ss in scores.values() for s in ss)
        report.counts["all"] = sum(report.counts.values())
    report.per_task.update({row: mean(s) for row, s in parts.items()})
    report.counts.update({row: len(s) for row, s in parts.items()})
    for task in dropped.keys() - scores.keys():  # every pair dropped: shown, with no means
        report.per_task[task], report.counts[task] = mean([]), 0
    report.dropped = dict(dropped)
    report.skipped = dict(skipped)
    return report
