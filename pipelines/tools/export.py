"""`ocr2synth export DIR --format F --out OUT`: a rendered dataset in the layout another
trainer reads, streamed shard by shard, resumable, and checked against the dataset at the end.

Formats (FORMATS):
- `ms-swift`: `train.jsonl` rows of `query`, `response`, `images`, for ms-swift 3.x's
  `got_ocr2` and `got_ocr2_hf` templates: each `<image>` tag in the query becomes
  `<img>` + 256 `<imgpad>` + `</img>` and a newline, so the query is one tag per image
  followed by GOT's prompt (`<image>OCR: `).
- `sharegpt`: LLaMA-Factory's multimodal ShareGPT form, `train.jsonl` rows of `messages`
  (user, then assistant) and `images`, one `<image>` per image, with its
  `dataset_info.json` entry beside it (so `dataset_dir` is OUT).
- `got`: GOT-OCR2.0's own conversation JSON (`train.json`, a list of `image` and
  `conversations` with `<image>\\n` and the prompt, then the answer), images under
  `images/`. GOT's ConversationDataset joins its configured image root and `image` by
  plain concatenation; an `image` without an image extension is a folder prefix whose
  `*.png` files, in natural order, are the sample's images: multi-crop and multi-page
  samples are written that way, one folder per sample.
- `webdataset`: tar shards of at most `--samples-per-tar` samples. A sample's files share
  its key (its id, dots made underscores): `KEY.png` (or `KEY.00.png`, `KEY.01.png`, ...
  for several images), `KEY.prompt.txt`, `KEY.target.txt` and `KEY.json` (id, task,
  renderer, sizes, boxes, meta, seed, image count).

The images are the model's inputs (pipelines/format/schema.py `model_images`), copied byte
for byte. Paths are relative to OUT unless `--absolute-paths`. OUT holds `export.json`,
rewritten after each shard: a killed export resumes from the first shard it does not list.
This module reads rows as the row contract defines them; it does not know renderers.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.pipelines.format.manifest import DatasetError, Layout, load_manifest
from ocr2synth.pipelines.format.schema import model_images
from ocr2synth.pipelines.format.shards import atomic_write_bytes, file_sha256
from tqdm import tqdm

EXPORT_FORMAT = 1
_COLUMNS = ["id", "image", "images", "prompt", "target", "task", "renderer", "width",
            "height", "boxes", "meta", "seed"]
IMAGE_TAG = "<image>"


@dataclass
class ShardExport:
    """What one source shard became: its rows and the record files written for it."""
    rows: int
    files: dict[str, str] = field(default_factory=dict)  # path under OUT -> sha256


class Exporter:
    """One format. `write_shard` turns a shard's rows into files under OUT; `finish` writes
    what covers all shards (the combined annotation file)."""

    name = ""

    def __init__(self, out: Path, *, absolute_paths: bool = False,
                 samples_per_tar: int = 1000) -> None:
        self.out = out
        self.absolute = absolute_paths
        self.samples_per_tar = samples_per_tar

    # -- images on disk (the JSON formats) --
    def _image_paths(self, shard: str, row: dict[str, Any]) -> tuple[list[str], str]:
        """Write the row's model images; their paths as the records give them, and GOT's
        name for them under images/ (the file, or a folder got_name when there are several)."""
        images = model_images(row)
        base = Path("images") / shard
        if len(images) == 1:
            rel = [base / f"{_key(row['id'])}{_suffix(images[0])}"]
            got_name = rel[0].relative_to("images").as_posix()
        else:
            folder = base / _key(row["id"])
            rel = [folder / f"{i:02d}{_suffix(im)}" for i, im in enumerate(images)]
            got_name = f"{folder.relative_to('images').as_posix()}/"
        for path, im in zip(rel, images, strict=True):
            target = self.out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(im["bytes"])
        shown = [(self.out.resolve() / p).as_posix() if self.absolute else p.as_posix()
                 for p in rel]
        return shown, got_name

    def record(self, shard: str, row: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def write_shard(self, shard: str, rows: Iterator[dict[str, Any]]) -> ShardExport:
        lines = [json.dumps(self.record(shard, row), ensure_ascii=False) for row in rows]
        part = self.out / "parts" / f"{shard}.jsonl"
        part.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(part, "".join(f"{line}\n" for line in lines).encode("utf-8"))
        return ShardExport(len(lines), {_rel(part, self.out): file_sha256(part)})

    def finish(self, shards: list[str], dataset_name: str) -> list[Path]:
        """The combined `train.jsonl`, the parts in shard order."""
        return [_concat(self.out, shards, self.out / "train.jsonl")]


class MsSwift(Exporter):
    name = "ms-swift"

    def record(self, shard: str, row: dict[str, Any]) -> dict[str, Any]:
        paths, _ = self._image_paths(shard, row)
        return {"query": IMAGE_TAG * len(paths) + row["prompt"], "response": row["target"],
                "images": paths}


class ShareGpt(Exporter):
    name = "sharegpt"

    def record(self, shard: str, row: dict[str, Any]) -> dict[str, Any]:
        paths, _ = self._image_paths(shard, row)
        return {"messages": [{"role": "user", "content": IMAGE_TAG * len(paths) + row["prompt"]},
                             {"role": "assistant", "content": row["target"]}],
                "images": paths}

    def finish(self, shards: list[str], dataset_name: str) -> list[Path]:
        data = super().finish(shards, dataset_name)
        info = {_key(dataset_name): {
            "file_name": "train.jsonl", "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                     "assistant_tag": "assistant"}}}
        path = self.out / "dataset_info.json"
        atomic_write_bytes(path, json.dumps(info, indent=2).encode("utf-8"))
        return [*data, path]


class GotJson(Exporter):
    name = "got"

    def record(self, shard: str, row: dict[str, Any]) -> dict[str, Any]:
        paths, got_name = self._image_paths(shard, row)
        return {"image": got_name, "conversations": [
            {"from": "human", "value": f"{IMAGE_TAG}\n{row['prompt']}"},
            {"from": "gpt", "value": row["target"]}]}

    def finish(self, shards: list[str], dataset_name: str) -> list[Path]:
        # GOT reads its annotations with one json.load: a list, not JSON lines.
        path = self.out / "train.json"
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("[")
            first = True
            for shard in shards:
                for line in (self.out / "parts" / f"{shard}.jsonl").open(encoding="utf-8"):
                    fh.write(("\n" if first else ",\n") + line.rstrip("\n"))
                    first = False
            fh.write("\n]\n")
        tmp.replace(path)
        root = (self.out / "images").resolve().as_posix() + "/"
        entry = {_key(dataset_name): {"images": root,
                                      "annotations": path.resolve().as_posix()}}
        note = self.out / "got_constants.json"
        atomic_write_bytes(note, json.dumps(entry, indent=2).encode("utf-8"))
        return [path, note]


class WebDataset(Exporter):
    name = "webdataset"

    def write_shard(self, shard: str, rows: Iterator[dict[str, Any]]) -> ShardExport:
        result = ShardExport(0)
        chunk: list[dict[str, Any]] = []

        def flush() -> None:
            path = self.out / f"{shard}-{len(result.files):03d}.tar"
            _write_tar(path, chunk)
            result.files[_rel(path, self.out)] = file_sha256(path)
            chunk.clear()

        for row in rows:
            chunk.append(row)
            result.rows += 1
            if len(chunk) == self.samples_per_tar:
                flush()
        if chunk or not result.files:
            flush()
        return result

    def finish(self, shards: list[str], dataset_name: str) -> list[Path]:
        return sorted(self.out.glob("part-*.tar"))  # the tars are the export


FORMATS: dict[str, type[Exporter]] = {cls.name: cls for cls in
                                      (MsSwift, ShareGpt, GotJson, WebDataset)}


def _key(text: str) -> str:
    """A file-name-safe key: WebDataset splits a member's name at its first dot."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def _suffix(image: dict[str, Any]) -> str:
    return Path(image.get("path") or "x.png").suffix or ".png"


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _concat(out: Path, shards: list[str], path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        for shard in shards:
            with open(out / "parts" / f"{shard}.jsonl", "rb") as part:
                shutil.copyfileobj(part, fh)
    tmp.replace(path)
    return path


def _write_tar(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))  # mtime 0: the same rows give the same bytes

    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for row in rows:
            key = _key(row["id"])
            images = model_images(row)
            if len(images) == 1:
                add(tar, f"{key}{_suffix(images[0])}", images[0]["bytes"])
            else:
                for i, im in enumerate(images):
                    add(tar, f"{key}.{i:02d}{_suffix(im)}", im["bytes"])
            add(tar, f"{key}.prompt.txt", row["prompt"].encode("utf-8"))
            add(tar, f"{key}.target.txt", row["target"].encode("utf-8"))
            meta = {k: row[k] for k in ("id", "task", "renderer", "width", "height", "boxes",
                                        "seed")}
            meta["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
            meta["images"] = len(images)
            add(tar, f"{key}.json", json.dumps(meta, ensure_ascii=False,
                                               sort_keys=True).encode("utf-8"))
    tmp.replace(path)


def shard_rows(path: Path, batch_rows: int = 64) -> Iterator[dict[str, Any]]:
    """A shard's rows, a few at a time: memory stays at one batch of images."""
    parquet = pq.ParquetFile(path)
    names = [c for c in _COLUMNS if c in parquet.schema_arrow.names]
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=names):
        yield from batch.to_pylist()


@dataclass
class ExportResult:
    out: Path
    format: str
    rows: int
    exported_shards: int
    skipped_shards: int
    files: list[Path]


def export_dataset(root: str | Path, fmt: str, out: str | Path, *,
                   absolute_paths: bool = False, samples_per_tar: int = 1000,
                   progress: bool = True,
                   after_shard: Callable[[str], None] | None = None) -> ExportResult:
    if fmt not in FORMATS:
        raise ValueError(f"--format: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if samples_per_tar < 1:
        raise ValueError(f"--samples-per-tar must be at least 1, got {samples_per_tar}")
    layout = Layout(root)
    if not layout.is_local:
        raise DatasetError(f"{root}: export reads a local dataset folder (copy it first, "
                           "or export where it was rendered)")
    manifest = load_manifest(layout.root)
    if not manifest.get("complete"):
        raise DatasetError(f"{root}: the dataset is incomplete (finish `ocr2synth render` "
                           "first)")
    out = Path(out)
    state_path = out / "export.json"
    source = {"path": str(layout.root.resolve()), "name": manifest["name"],
              "recipe_hash": manifest["recipe_hash"], "rows": manifest["totals"]["rows"]}
    state: dict[str, Any] = {"format_version": EXPORT_FORMAT, "format": fmt,
                             "absolute_paths": absolute_paths,
                             "samples_per_tar": samples_per_tar, "source": source,
                             "shards": {}, "complete": False}
    if state_path.exists():
        old = json.loads(state_path.read_text(encoding="utf-8"))
        same = {k: old.get(k) for k in ("format", "absolute_paths", "samples_per_tar")}
        if (same != {k: state[k] for k in same}
                or old.get("source", {}).get("recipe_hash") != source["recipe_hash"]):
            raise DatasetError(f"{out} holds another export ({old.get('format')} of recipe "
                               f"{old.get('source', {}).get('recipe_hash')}); export to a "
                               "new folder")
        state["shards"] = {name: rec for name, rec in old.get("shards", {}).items()
                           if all((out / f).exists() for f in rec["files"])}
    elif out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out} is not empty and holds no export.json: export to a new "
                           "folder")
    out.mkdir(parents=True, exist_ok=True)
    exporter = FORMATS[fmt](out, absolute_paths=absolute_paths,
                            samples_per_tar=samples_per_tar)
    shards = sorted(manifest["shards"])
    todo = [s for s in shards if s not in state["shards"]]
    for tmp in out.rglob(".*.tmp"):  # a killed export's half-written files
        tmp.unlink()
    bar = tqdm(total=len(shards), initial=len(shards) - len(todo), unit="shard",
               disable=not progress, desc=f"export {fmt}")
    for shard in todo:
        written = exporter.write_shard(shard, shard_rows(layout.root /
                                                         manifest["shards"][shard]["file"]))
        state["shards"][shard] = {"rows": written.rows, "files": written.files}
        atomic_write_bytes(state_path, json.dumps(state, indent=1, sort_keys=True).encode())
        bar.update(1)
        if after_shard is not None:
            after_shard(shard)
    bar.close()
    files = exporter.finish(shards, manifest["name"])
    check_export(out, manifest, state)
    state["complete"] = True
    state["rows"] = sum(rec["rows"] for rec in state["shards"].values())
    atomic_write_bytes(state_path, json.dumps(state, indent=1, sort_keys=True).encode())
    return ExportResult(out, fmt, state["rows"], len(todo), len(shards) - len(todo), files)


def check_export(out: Path, manifest: dict[str, Any], state: dict[str, Any]) -> None:
    """Every shard of the dataset exported with its row count, every file as written."""
    problems = []
    for name, record in sorted(manifest["shards"].items()):
        done = state["shards"].get(name)
        if done is None:
            problems.append(f"{name}: not exported")
            continue
        if done["rows"] != record["rows"]:
            problems.append(f"{name}: {done['rows']} rows exported, the dataset has "
                            f"{record['rows']}")
        for rel, digest in done["files"].items():
            if file_sha256(out / rel) != digest:
                problems.append(f"{rel}: changed since it was written")
    if problems:
        raise DatasetError("export check failed:\n  " + "\n  ".join(problems))
