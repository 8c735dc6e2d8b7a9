"""The shard: one Parquet file of training samples (its rows: pipelines/format/schema.py),
written whole or not at all, to any store (pipelines/format/store.py)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from ocr2synth.pipelines.format.schema import SCHEMA
from ocr2synth.pipelines.format.store import Store, fsync_dir

# Image bytes are PNG already: compressing them again costs time and saves nothing.
_IMAGE_COLUMNS = ("image.bytes", "images.list.element.bytes")
_ROW_GROUP_BYTES = 64 * 1024 * 1024


def _leaf_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths of every leaf ("boxes.list.element.x0"), for per-column options."""

    def walk(prefix: str, dtype: pa.DataType) -> list[str]:
        if pa.types.is_struct(dtype):
            return [p for f in dtype for p in walk(f"{prefix}.{f.name}", f.type)]
        if pa.types.is_list(dtype):
            return walk(f"{prefix}.list.element", dtype.value_type)
        return [prefix]

    return [p for f in schema for p in walk(f.name, f.type)]


def shard_name(index: int) -> str:
    return f"part-{index:06d}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC or EDQUOT, from Python's own I/O or from Arrow's (which may carry no errno)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, OSError) and ("No space left" in str(exc)
                                         or "Disk quota exceeded" in str(exc))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` so that `path` is either absent, old, or complete: never partial."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise
    fsync_dir(str(path.parent))


class ShardWriter:
    """Writes rows to `shards/part-NNNNNN.parquet` whole or not at all (`Store.writer`),
    hashing the bytes on their way out: `sha256` and `bytes` describe the finished file.

    Rows are buffered and flushed as row groups of about 64 MiB, the size at which image
    data reads efficiently without holding a whole shard in a reader's memory.
    """

    def __init__(self, final_path: Path | None = None,
                 row_group_bytes: int = _ROW_GROUP_BYTES, *, store: Store | None = None,
                 rel: str | None = None) -> None:
        if store is None:  # a local file named by its path
            assert final_path is not None
            final_path = Path(final_path)
            store, rel = Store.open(final_path.parent), final_path.name
        assert rel is not None
        self.store, self.rel = store, rel
        self.row_group_bytes = row_group_bytes
        self._rows: list[dict[str, Any]] = []
        self._buffered_bytes = 0
        self.rows_written = 0
        self.sha256 = ""
        self.bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._file: Any = None

    def __enter__(self) -> ShardWriter:
        folder = self.rel.rpartition("/")[0]
        self.store.makedirs(folder)
        compression = {
            leaf: "none" if leaf in _IMAGE_COLUMNS else "zstd" for leaf in _leaf_paths(SCHEMA)
        }
        self._file = self.store.writer(self.rel)
        sink = self._file.__enter__()
        self._sink = sink
        self._writer = pq.ParquetWriter(
            sink,
            SCHEMA,
            compression=compression,
            use_dictionary=["task", "renderer", "prompt"],
            write_statistics=["id", "task", "renderer", "width", "height", "seed"],
        )
        return self

    def write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        self._buffered_bytes += len(row["image"]["bytes"] or b"") + sum(
            len(im["bytes"] or b"") for im in row["images"]
        )
        if self._buffered_bytes >= self.row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        assert self._writer is not None
        table = pa.Table.from_pylist(self._rows, schema=SCHEMA)
        self._writer.write_table(table, row_group_size=len(self._rows))
        self.rows_written += len(self._rows)
        self._rows = []
        self._buffered_bytes = 0

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._writer is not None
        if exc_type is not None:
            self._abandon(exc_type, exc, tb)
            return
        try:
            self._flush()
            self._writer.close()
        except BaseException as failure:
            self._abandon(type(failure), failure, failure.__traceback__)
            raise  # e.g. the disk filled while the footer was written
        self._file.__exit__(None, None, None)  # the rename, or the upload's completion
        self.sha256, self.bytes = self._sink.digest.hexdigest(), self._sink.size

    def _abandon(self, exc_type, exc, tb) -> None:
        try:
            self._writer.close()
        except (OSError, ValueError):
            pass  # closing flushes, and may fail again on a full disk
        finally:
            try:
                self._file.__exit__(exc_type, exc, tb)  # removes what was written
            except BaseException:  # noqa: BLE001 - the first error is the one to report
                pass
