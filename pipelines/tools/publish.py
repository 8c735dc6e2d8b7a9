"""`ocr2synth publish DIR URI`: copy a finished, verified dataset to any file system that
`pyarrow.fs` reaches (a local or mounted path, S3, GCS, HDFS, ...).

Rendering can write to an object store itself (`render --out s3://...`); publishing is for
a set rendered locally. It copies the folder as it is, manifest last: a reader that finds
the manifest finds every shard it lists complete (a single object write is atomic on
object stores, and each file here is written once).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
from ocr2synth.pipelines.format.manifest import DatasetError, Layout, load_manifest
from ocr2synth.pipelines.format.verify import verify_dataset

_BLOCK = 8 << 20


@dataclass
class PublishResult:
    uri: str
    files: int
    bytes: int


def _remote_manifest(fs: pafs.FileSystem, path: str) -> dict | None:
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as fh:
        return json.loads(fh.read().decode("utf-8"))


def publish(root: str | Path, uri: str) -> PublishResult:
    layout = Layout(Path(root))
    report = verify_dataset(layout.root)
    if not report.ok:
        raise DatasetError("not published: the dataset fails verification:\n" + report.text())
    manifest = load_manifest(layout.root)
    if not manifest.get("complete"):
        raise DatasetError("not published: the dataset is incomplete (re-run render)")
    try:
        fs, base = pafs.FileSystem.from_uri(uri)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DatasetError(f"cannot open {uri!r} with pyarrow.fs: {exc}") from None
    base = base.rstrip("/")
    there = _remote_manifest(fs, f"{base}/manifest.json")
    if there is not None and there.get("recipe_hash") != manifest["recipe_hash"]:
        raise DatasetError(f"{uri} holds a dataset of another recipe "
                           f"(hash {there.get('recipe_hash')}); publish to a new place")
    files = sorted(p for p in layout.root.rglob("*")
                   if p.is_file() and not p.name.startswith(".") and p != layout.manifest)
    fs.create_dir(base, recursive=True)
    total = 0
    for path in [*files, layout.manifest]:  # the manifest last
        rel = path.relative_to(layout.root).as_posix()
        parent = f"{base}/{rel}".rsplit("/", 1)[0]
        fs.create_dir(parent, recursive=True)
        with open(path, "rb") as src, fs.open_output_stream(f"{base}/{rel}") as dst:
            shutil.copyfileobj(src, dst, _BLOCK)
        total += path.stat().st_size
    return PublishResult(uri, len(files) + 1, total)
