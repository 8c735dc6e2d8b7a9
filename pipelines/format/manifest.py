"""The dataset folder on disk: its layout, its manifest, and the figures read back from it."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.pipelines.core.plan import ShardSpec
from ocr2synth.pipelines.format.shards import atomic_write_bytes, file_sha256

MANIFEST_FORMAT = 1


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


@dataclass
class Layout:
    root: Path

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    @property
    def rejects(self) -> Path:
        return self.root / "rejects"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def card(self) -> Path:
        return self.root / "README.md"

    def shard_file(self, name: str) -> Path:
        return self.shards / f"{name}.parquet"

    def rejects_file(self, name: str) -> Path:
        return self.rejects / f"{name}.jsonl"

    def create(self) -> None:
        self.shards.mkdir(parents=True, exist_ok=True)
        self.rejects.mkdir(parents=True, exist_ok=True)

    def remove_partial_files(self) -> int:
        """Temporary files left by a killed job; their shards are rendered again."""
        removed = 0
        for folder in (self.shards, self.rejects):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def is_complete(self, shard: ShardSpec) -> bool:
        # The rejects file is renamed into place first, so a shard file implies both.
        return self.shard_file(shard.name).exists() and self.rejects_file(shard.name).exists()


def read_rejects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def shard_record(layout: Layout, shard: ShardSpec, recipe_hash: str, seconds: float,
                 render_s: float = 0.0, encode_s: float = 0.0,
                 nodes: list[str] | None = None) -> dict[str, Any]:
    path = layout.shard_file(shard.name)
    ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
    rejects = read_rejects(layout.rejects_file(shard.name))
    record = {
        "file": str(path.relative_to(layout.root)),
        "rejects_file": str(layout.rejects_file(shard.name).relative_to(layout.root)),
        "entry": shard.entry_key,
        "renderer": shard.renderer,
        "planned": [shard.start, shard.stop],
        "rows": len(ids),
        "rejects": len(rejects),
        "reject_reasons": dict(Counter(r["reason"] for r in rejects)),
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "id_range": [min(ids), max(ids)] if ids else None,
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
        if layout.manifest.exists():
            old = load_manifest(layout.root)
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
        atomic_write_bytes(self.layout.manifest, blob)


def load_manifest(root: Path) -> dict[str, Any]:
    path = Layout(Path(root)).manifest
    if not path.exists():
        raise DatasetError(f"{root} is not a dataset: no manifest.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


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
