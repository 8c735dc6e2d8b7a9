"""The dataset in its store (a folder or an object-store prefix): its layout, its manifest, and
the figures read back from it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ocr2synth.pipelines.core.plan import ShardSpec
from ocr2synth.pipelines.format.shards import ShardWriter
from ocr2synth.pipelines.format.store import Store

MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"


@cache
def code_version() -> str:
    try:
        base = version("ocr2synth")
    except PackageNotFoundError:
        base = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+g{commit}" if commit else base


class DatasetError(RuntimeError):
    """The output folder cannot be used as asked (another recipe's data, a broken file)."""


class Layout:
    """The dataset's files, by relative path in its store (a folder or an `s3://` prefix)."""

    def __init__(self, root: str | Path | Store) -> None:
        self.store = root if isinstance(root, Store) else Store.open(root)

    @property
    def root(self) -> Path | str:
        return self.store.root

    @property
    def is_local(self) -> bool:
        return self.store.is_local

    @property
    def shards(self) -> Path:
        """The local shards folder (local datasets only: tools that read a folder)."""
        assert self.store.local_root is not None, "a remote dataset has no local folder"
        return self.store.local_root / "shards"

    @property
    def manifest(self) -> Path:
        assert self.store.local_root is not None, "a remote dataset has no local folder"
        return self.store.local_root / MANIFEST

    @staticmethod
    def shard_rel(name: str) -> str:
        return f"shards/{name}.parquet"

    @staticmethod
    def rejects_rel(name: str) -> str:
        return f"rejects/{name}.jsonl"

    def shard_file(self, name: str) -> Path:
        assert self.store.local_root is not None, "a remote dataset has no local folder"
        return self.store.local_root / self.shard_rel(name)

    def rejects_file(self, name: str) -> Path:
        assert self.store.local_root is not None, "a remote dataset has no local folder"
        return self.store.local_root / self.rejects_rel(name)

    def shard_names(self) -> list[str]:
        """Names of the shard files present (committed or not)."""
        return [n[: -len(".parquet")] for n in self.store.list("shards")
                if not n.startswith(".") and n.endswith(".parquet")]

    def create(self) -> None:
        self.store.makedirs("shards")
        self.store.makedirs("rejects")

    def remove_partial_files(self) -> int:
        """Temporary files left by a killed job (local folders only: an object store shows
        no object until its upload completes); their shards are rendered again."""
        removed = 0
        for folder in ("shards", "rejects"):
            for name in self.store.list(folder):
                if name.startswith(".") and name.endswith(".tmp"):
                    self.store.delete(f"{folder}/{name}")
                    removed += 1
        return removed

    def remove_shard(self, name: str) -> None:
        """An attempt that was never committed, or a committed file that changed since."""
        self.store.delete(self.shard_rel(name))
        self.store.delete(self.rejects_rel(name))

    def read_rejects(self, name: str) -> list[dict[str, Any]]:
        rel = self.rejects_rel(name)
        if not self.store.exists(rel):
            return []
        return _parse_rejects(self.store.read_bytes(rel).decode("utf-8"))


def _parse_rejects(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def read_rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return _parse_rejects(path.read_text(encoding="utf-8"))


def write_shard(layout: Layout, name: str, rows: Iterable[dict[str, Any]],
                rejects: list[dict[str, Any]]) -> dict[str, Any]:
    """Write one shard's rejects and rows; returns what its manifest record needs. Run by
    whoever holds the rows (a worker, or the driver): the shard counts only once the
    driver commits that record to the manifest."""
    lines = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rejects)
    ids: list[str] = []
    try:
        layout.store.write_bytes(layout.rejects_rel(name), lines.encode("utf-8"))
        with ShardWriter(store=layout.store, rel=layout.shard_rel(name)) as writer:
            for row in rows:
                ids.append(row["id"])
                writer.write(row)
    except BaseException:
        # without its shard, the rejects file alone does not count as a finished shard;
        # removed all the same so that the dataset holds only whole shards
        layout.store.delete(layout.rejects_rel(name))
        raise
    return {
        "rows": len(ids),
        "rejects": len(rejects),
        "reject_reasons": dict(Counter(r["reason"] for r in rejects)),
        "sha256": writer.sha256,
        "bytes": writer.bytes,
        "id_range": [min(ids), max(ids)] if ids else None,
    }


def shard_record(shard: ShardSpec, recipe_hash: str, written: dict[str, Any], seconds: float,
                 render_s: float = 0.0, encode_s: float = 0.0,
                 nodes: list[str] | None = None) -> dict[str, Any]:
    """A shard's manifest record, from what its writer reported (`write_shard`)."""
    record = {
        "file": Layout.shard_rel(shard.name),
        "rejects_file": Layout.rejects_rel(shard.name),
        "entry": shard.entry_key,
        "renderer": shard.renderer,
        "planned": [shard.start, shard.stop],
        **written,
        "code_version": code_version(),
        "recipe_hash": recipe_hash,
        "seconds": round(seconds, 4),
        "render_seconds": round(render_s, 4),
        "encode_seconds": round(encode_s, 4),
    }
    if nodes:
        record["nodes"] = nodes  # the Ray nodes that rendered it
    return record


class Manifest:
    """`manifest.json`: the recipe, and one record per finished shard, rewritten atomically."""

    def __init__(self, layout: Layout, recipe: dict[str, Any], recipe_hash: str) -> None:
        self.layout = layout
        self.data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "name": recipe["name"],
            "recipe": recipe,
            "recipe_hash": recipe_hash,
            "code_version": code_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "shards": {},
        }

    @classmethod
    def open(cls, layout: Layout, recipe: dict[str, Any], recipe_hash: str) -> Manifest:
        manifest = cls(layout, recipe, recipe_hash)
        if layout.store.exists(MANIFEST):
            old = load_manifest(layout)
            if old.get("recipe_hash") != recipe_hash:
                raise DatasetError(
                    f"{layout.root} holds a dataset of another recipe "
                    f"(hash {old.get('recipe_hash')}, this one {recipe_hash}); "
                    "use a new --out folder or delete the old one"
                )
            manifest.data["created"] = old.get("created", manifest.data["created"])
            manifest.data["shards"] = old.get("shards", {})
        return manifest

    def add(self, name: str, record: dict[str, Any]) -> None:
        self.data["shards"][name] = record

    def save(self, planned: list[ShardSpec]) -> None:
        shards = self.data["shards"]
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.data["planned_shards"] = len(planned)
        self.data["complete"] = all(s.name in shards for s in planned)
        self.data["totals"] = {
            "rows": sum(r["rows"] for r in shards.values()),
            "rejects": sum(r["rejects"] for r in shards.values()),
            "bytes": sum(r["bytes"] for r in shards.values()),
        }
        blob = json.dumps(self.data, indent=2, sort_keys=True).encode()
        # one atomic write (a rename, or one PUT): the commit point of every shard it lists
        self.layout.store.write_bytes(MANIFEST, blob)


def dataset_hash(manifest: dict[str, Any]) -> str:
    """What identifies a dataset's content: its recipe and every committed shard's
    checksum. A task composed from a base dataset is a function of this and its seed."""
    shards = manifest.get("shards", {})
    blob = json.dumps([manifest.get("recipe_hash"),
                       sorted((name, r["sha256"], r["rows"]) for name, r in shards.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_manifest(root: str | Path | Layout) -> dict[str, Any]:
    layout = root if isinstance(root, Layout) else Layout(root)
    if not layout.store.exists(MANIFEST):
        raise DatasetError(f"{layout.root} is not a dataset: no {MANIFEST}")
    try:
        return json.loads(layout.store.read_bytes(MANIFEST).decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{layout.store}/{MANIFEST}: not valid JSON ({exc})") from None


@dataclass
class RendererStats:
    rows: int = 0
    rejects: int = 0
    bytes: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)

    @property
    def reject_rate(self) -> float:
        total = self.rows + self.rejects
        return self.rejects / total if total else 0.0

    @property
    def per_core_rate(self) -> float:
        """Samples (kept or rejected) per second of one worker's time."""
        total = self.rows + self.rejects
        return total / self.seconds if self.seconds else 0.0


def stats_by_entry(manifest: dict[str, Any]) -> dict[str, RendererStats]:
    out: dict[str, RendererStats] = {}
    for record in manifest.get("shards", {}).values():
        stats = out.setdefault(record["entry"], RendererStats())
        stats.rows += record["rows"]
        stats.rejects += record["rejects"]
        stats.bytes += record["bytes"]
        stats.seconds += record.get("seconds", 0.0)
        stats.encode_seconds += record.get("encode_seconds", 0.0)
        stats.reasons.update(record.get("reject_reasons", {}))
    return out
