"""Where a dataset lives: a local or mounted folder, or an object-store prefix
(`s3://BUCKET/PREFIX`), reached through `pyarrow.fs`. Paths inside are relative posix
paths ("shards/part-000000.parquet").

A finished file is either absent or whole: on a local disk it is written under a unique
temporary name and renamed, on an object store one PUT (or a completed multipart upload)
makes it appear whole. What it does not know is whether a whole file counts: the manifest
decides that (ARCHITECTURE.md, "One sample's path").

S3 is configured as the AWS tools are: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_REGION`, and `AWS_ENDPOINT_URL` for a server other than AWS.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_BLOCK = 8 << 20


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and bool(_SCHEME.match(location)) \
        and not location.startswith("file://")


class _HashingSink:
    """A write-only file that hashes what passes through it, so a shard's checksum costs no
    second read (on an object store, a second download)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self.inner.write(view)
        return view.nbytes

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True  # the store closes the stream under it: that is the commit


@dataclass
class Store:
    """A dataset's root on some file system. Pickles as its location alone, so a Ray worker
    on another node opens it with its own credentials."""

    location: str
    _fs: pafs.FileSystem | None = field(default=None, repr=False, compare=False)
    _base: str = field(default="", repr=False, compare=False)

    @classmethod
    def open(cls, location: str | Path) -> Store:
        if isinstance(location, Path) or not is_uri(location):
            text = str(location)
            if text.startswith("file://"):
                text = text[len("file://"):]
            return cls(str(Path(text).absolute()))
        return cls(str(location).rstrip("/"))

    def __getstate__(self) -> dict[str, Any]:
        return {"location": self.location}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.location = state["location"]
        self._fs = None
        self._base = ""

    @property
    def is_local(self) -> bool:
        return not is_uri(self.location)

    @property
    def local_root(self) -> Path | None:
        return Path(self.location) if self.is_local else None

    @property
    def root(self) -> Path | str:
        """What the user named: a Path for a local folder, the URI otherwise."""
        return Path(self.location) if self.is_local else self.location

    @property
    def fs(self) -> pafs.FileSystem:
        if self._fs is None:
            if self.is_local:
                self._fs, self._base = pafs.LocalFileSystem(), self.location
            else:
                try:
                    self._fs, self._base = pafs.FileSystem.from_uri(self.location)
                except (ValueError, OSError) as exc:  # ArrowInvalid is a ValueError
                    raise ValueError(f"cannot open {self.location!r}: {exc}") from None
                self._base = self._base.rstrip("/")
        return self._fs

    def path(self, rel: str) -> str:
        fs = self.fs  # sets _base
        del fs
        return f"{self._base}/{rel}" if rel else self._base

    def __str__(self) -> str:
        return self.location

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.path(rel)).type == pafs.FileType.File

    def size(self, rel: str) -> int:
        return self.fs.get_file_info(self.path(rel)).size

    def list(self, folder: str) -> list[str]:
        """File names directly in `folder` (sorted); none if it does not exist."""
        selector = pafs.FileSelector(self.path(folder), allow_not_found=True)
        return sorted(info.base_name for info in self.fs.get_file_info(selector)
                      if info.type == pafs.FileType.File)

    def makedirs(self, folder: str) -> None:
        if self.is_local:  # an object store has no folders: a key's prefix is enough
            self.fs.create_dir(self.path(folder), recursive=True)

    def delete(self, rel: str) -> None:
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.path(rel)) as fh:
            return fh.read()

    def open_input(self, rel: str) -> Any:
        """A random-access file, for pyarrow.parquet."""
        return self.fs.open_input_file(self.path(rel))

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(self.path(rel)) as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                digest.update(block)
        return digest.hexdigest()

    @contextmanager
    def writer(self, rel: str) -> Iterator[_HashingSink]:
        """A file written whole or not at all; the sink's `digest` and `size` describe it."""
        final = self.path(rel)
        if self.is_local:
            # unique per attempt: two attempts at one shard (a worker presumed dead that
            # was not) never share a temporary file
            tmp = f"{os.path.dirname(final)}/.{os.path.basename(final)}.{uuid.uuid4().hex[:12]}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    sink = _HashingSink(fh)
                    yield sink
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)  # a full disk leaves no partial file
                raise
            fsync_dir(os.path.dirname(final))
            return
        stream = self.fs.open_output_stream(final)
        sink = _HashingSink(stream)
        try:
            yield sink
        except BaseException:
            # closing would complete the upload: the object appears, never committed, and
            # the next run's clean-up removes it
            stream.close()
            self.delete(rel)
            raise
        stream.close()  # the upload completes here, all at once

    def write_bytes(self, rel: str, data: bytes) -> None:
        with self.writer(rel) as sink:
            sink.write(data)


def fsync_dir(path: str) -> None:
    """Make a rename in `path` durable (the folder's entry, not only the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
