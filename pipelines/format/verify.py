"""`ocr2synth verify`: a dataset checked end to end against its manifest and its plan.

Every shard against its checksum, size and row count; the schema; every image decodes to
its stored size; ids unique across shards; rejected ids absent from the shards; and the
planned ids exactly the shard ids plus the rejected ids.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from ocr2synth.pipelines.core.plan import ShardSpec, plan_shards
from ocr2synth.pipelines.core.recipe import RecipeError, parse_recipe
from ocr2synth.pipelines.format.manifest import DatasetError, Layout, load_manifest
from ocr2synth.pipelines.format.schema import SCHEMA
from PIL import Image

_BATCH_ROWS = 256
MAX_LISTED = 20


@dataclass
class VerifyReport:
    root: Path | str
    shards: int = 0
    rows: int = 0
    rejects: int = 0
    images: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = (f"{self.root}: {self.shards} shards, {self.rows:,} rows, "
                f"{self.images:,} images, {self.rejects:,} rejects checked")
        if self.ok:
            return head + " - ok"
        listed = self.problems[:MAX_LISTED]
        more = len(self.problems) - len(listed)
        lines = [head + f" - {len(self.problems)} problem(s):", *(f"  {p}" for p in listed)]
        if more:
            lines.append(f"  ... and {more} more")
        return "\n".join(lines)


def planned_shards(manifest: dict[str, Any]) -> list[ShardSpec]:
    """The plan the manifest's recipe makes. Sources only feed content, so they are left
    out: a moved corpus does not stop a dataset from being checked."""
    raw = dict(manifest["recipe"])
    raw["entries"] = [{k: v for k, v in e.items() if k != "source"} for e in raw["entries"]]
    known = {e["renderer"] for e in raw["entries"]}
    try:
        return plan_shards(parse_recipe(raw, None, known))
    except RecipeError as exc:
        raise DatasetError(f"the manifest's recipe cannot be planned again: {exc}") from None


def _check_images(report: VerifyReport, name: str, batch: dict[str, list[Any]]) -> None:
    for sid, image, images, width, height in zip(batch["id"], batch["image"], batch["images"],
                                                 batch["width"], batch["height"], strict=True):
        for i, value in enumerate([image, *images]):
            if value is None or not value.get("bytes"):
                if i == 0:
                    report.problems.append(f"{name}: {sid} has no image bytes")
                continue
            try:
                with Image.open(io.BytesIO(value["bytes"])) as decoded:
                    decoded.load()
                    size = decoded.size
            except Exception as exc:  # noqa: BLE001 - any decoder failure is the finding
                report.problems.append(f"{name}: {sid} image {i} does not decode ({exc})")
                continue
            report.images += 1
            if i == 0 and size != (width, height):
                report.problems.append(
                    f"{name}: {sid} image is {size[0]}x{size[1]}, row says {width}x{height}")


def _check_shard(report: VerifyReport, layout: Layout, shard: ShardSpec,
                 record: dict[str, Any] | None, seen: dict[str, str]) -> None:
    name = shard.name
    store, rel = layout.store, layout.shard_rel(name)
    present = store.exists(rel)
    if record is None or not present:
        what = "no manifest record" if present else "no shard file"
        report.problems.append(f"{name}: planned but incomplete ({what})")
        return
    report.shards += 1
    if record.get("bytes") != store.size(rel) or record.get("sha256") != store.sha256(rel):
        report.problems.append(f"{name}: checksum differs from the manifest (file changed "
                               "or corrupted; `ocr2synth render` renders it again)")
        return
    try:
        parquet = pq.ParquetFile(store.open_input(rel))
    except Exception as exc:  # noqa: BLE001
        report.problems.append(f"{name}: not a readable Parquet file ({exc})")
        return
    if not parquet.schema_arrow.equals(SCHEMA, check_metadata=False):
        report.problems.append(f"{name}: schema differs from the dataset schema")
        return
    if parquet.metadata.num_rows != record.get("rows"):
        report.problems.append(f"{name}: {parquet.metadata.num_rows} rows, manifest says "
                               f"{record.get('rows')}")
    ids: list[str] = []
    columns = ["id", "image", "images", "width", "height"]
    for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
        data = batch.to_pydict()
        ids += data["id"]
        _check_images(report, name, data)
    report.rows += len(ids)
    for sid in ids:
        if sid in seen:
            report.problems.append(f"{name}: id {sid} also in {seen[sid]}")
        seen[sid] = name
    rejected = [r["id"] for r in layout.read_rejects(name)]
    report.rejects += len(rejected)
    if len(rejected) != record.get("rejects"):
        report.problems.append(f"{name}: {len(rejected)} rejects on file, manifest says "
                               f"{record.get('rejects')}")
    both = set(ids) & set(rejected)
    if both:
        report.problems.append(f"{name}: {len(both)} ids both in the shard and rejected "
                               f"(e.g. {sorted(both)[0]})")
    planned, found = set(shard.ids()), set(ids) | set(rejected)
    if found != planned or len(ids) + len(rejected) != len(planned):
        missing, extra = sorted(planned - found), sorted(found - planned)
        report.problems.append(
            f"{name}: ids differ from the plan ({len(missing)} missing, {len(extra)} "
            f"unplanned, {len(ids) + len(rejected) - len(found)} repeated)"
            + (f", e.g. missing {missing[0]}" if missing else "")
            + (f", e.g. unplanned {extra[0]}" if extra else ""))


def verify_dataset(root: str | Path) -> VerifyReport:
    layout = Layout(root)
    manifest = load_manifest(layout)
    report = VerifyReport(layout.root)
    planned = planned_shards(manifest)
    records = manifest.get("shards", {})
    seen: dict[str, str] = {}
    for shard in planned:
        _check_shard(report, layout, shard, records.get(shard.name), seen)
    names = {s.name for s in planned}
    for stem in layout.shard_names():
        if stem not in names:
            report.problems.append(f"{stem}.parquet: a shard file the plan does not know")
    for name in sorted(set(records) - names):
        report.problems.append(f"{name}: a manifest record the plan does not know")
    return report
