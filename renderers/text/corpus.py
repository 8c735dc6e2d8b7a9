"""Corpus readers: a user's text corpus as numbered documents, read one at a time.

`--source` may name Parquet (one text column, the way Hugging Face datasets keep corpora:
one file or a folder of them), JSON Lines (one text field per line), or a folder (or one
file) of `.txt`/`.md`/`.mmd`/`.tex`. The column or field is `--param column=NAME`.

Nothing is loaded whole: a Parquet corpus is indexed by its row groups' row counts (file
metadata only) and a document is read by decoding its row group's one column; a JSONL
corpus is indexed by the byte offset of the first line starting in each block of
`BLOCK` bytes; a folder by its file list. Memory stays flat in the corpus size: one row
group (or one block of lines) is held at a time.

This module does not know pages or renderers: it hands out a document's text (or why it
cannot, as `Doc.error`, "reason: detail"), its name and its position for provenance.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# A document larger than this is a `too-long` reject: a page shows a few KB, and a 50 MB
# cell must not become a 50 MB target, nor stall a worker's text processing.
MAX_CHARS = 1 << 20
BLOCK = 1 << 20  # JSONL index granularity in bytes
TEXT_SUFFIXES = (".txt", ".md", ".mmd", ".markdown", ".tex")
PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class CorpusError(ValueError):
    """A corpus that cannot be used at all (no files, missing column); one line."""


@dataclass(frozen=True)
class Doc:
    text: str
    name: str  # the source file
    position: str  # where in it: "row 12", "line 7", "" for a whole file
    suffix: str  # how to read the text: ".tex", ".md", ".txt" (Parquet/JSONL: the param)
    error: str | None = None  # "reason: detail" when the document is unusable


class Corpus:
    """Documents 0..total-1 of a corpus, read from the files `_paths`."""

    path: Path
    _paths: list[Path]
    total: int

    def __len__(self) -> int:
        return self.total

    def doc(self, index: int) -> Doc:
        raise NotImplementedError

    def files(self) -> list[str]:
        return [str(p) for p in self._paths]


def _decode(value: object, name: str, position: str, suffix: str) -> Doc:
    """A cell's value as a document, or the reason it is not one."""
    if value is None:
        return Doc("", name, position, suffix, "empty: a null cell")
    if isinstance(value, bytes | bytearray):
        if len(value) > 4 * MAX_CHARS:
            return Doc("", name, position, suffix, f"too-long: {len(value)} bytes")
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            return Doc("", name, position, suffix, f"bad-encoding: {exc}"[:200])
    if not isinstance(value, str):
        return Doc("", name, position, suffix, f"not-text: a {type(value).__name__} value")
    if len(value) > MAX_CHARS:
        return Doc("", name, position, suffix,
                   f"too-long: {len(value)} characters (limit {MAX_CHARS})")
    if "\x00" in value:
        return Doc("", name, position, suffix, "binary: the text holds NUL bytes")
    if not value.strip():
        return Doc("", name, position, suffix, "empty: a blank document")
    return Doc(value, name, position, suffix)


class ParquetCorpus(Corpus):
    """Rows of one text column over one or more Parquet files."""

    def __init__(self, path: Path, files: list[Path], column: str, suffix: str) -> None:
        self.path, self.column, self.suffix = path, column, suffix
        self._paths = files
        self._groups: list[tuple[int, int]] = []  # (file index, row group) per group
        self._starts: list[int] = []  # first row of each group
        total = 0
        for index, file in enumerate(files):
            meta = pq.read_metadata(file)
            schema = meta.schema.to_arrow_schema()
            if column not in schema.names:
                raise CorpusError(f"{file}: no column {column!r} (columns: "
                                  f"{', '.join(schema.names)}); set --param column=NAME")
            kind = schema.field(column).type
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                    or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
                raise CorpusError(f"{file}: column {column!r} is {kind}, not text")
            for group in range(meta.num_row_groups):
                self._groups.append((index, group))
                self._starts.append(total)
                total += meta.row_group(group).num_rows
        self.total = total
        self._cached: tuple[int, pa.Array] | None = None  # one row group at a time

    def doc(self, index: int) -> Doc:
        group = bisect.bisect_right(self._starts, index) - 1
        file, row_group = self._groups[group]
        if self._cached is None or self._cached[0] != group:
            self._cached = None  # free the last group before reading the next
            table = pq.ParquetFile(self._paths[file]).read_row_group(
                row_group, columns=[self.column])
            self._cached = (group, table.column(0).combine_chunks())
        row = index - self._starts[group]
        array = self._cached[1]
        value = array[row]
        # the cell's bytes, decoded here: invalid UTF-8 then fails its own cell, with a
        # reason, and a 50 MB cell is measured before it becomes a Python string
        raw = value.as_buffer() if value.is_valid else None
        if raw is not None and len(raw) > 4 * MAX_CHARS:
            return Doc("", self._paths[file].name, f"row {index}", self.suffix,
                       f"too-long: {len(raw)} bytes")
        return _decode(raw.to_pybytes() if raw is not None else None,
                       self._paths[file].name, f"row {index}", self.suffix)


class JsonlCorpus(Corpus):
    """Lines of one or more JSON Lines files, each an object with a text field."""

    def __init__(self, path: Path, files: list[Path], column: str, suffix: str) -> None:
        self.path, self.column, self.suffix = path, column, suffix
        self._paths = files
        # per indexed block: (file index, byte offset of its first line, that line's number)
        self._blocks: list[tuple[int, int]] = []
        self._starts: list[int] = []
        total = 0
        for index, file in enumerate(files):
            self._check_field(file)
            for offset, lines in self._index(file):
                self._blocks.append((index, offset))
                self._starts.append(total)
                total += lines
        self.total = total

    def _check_field(self, file: Path) -> None:
        self._check_field_of(file, self.column)

    @staticmethod
    def _check_field_of(file: Path, column: str) -> None:
        with open(file, "rb") as handle:
            for _, line in zip(range(100), handle, strict=False):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a bad line is that line's reject, not the corpus's
                if isinstance(row, dict) and column in row:
                    return
                keys = ", ".join(row) if isinstance(row, dict) else type(row).__name__
                raise CorpusError(f"{file}: no field {column!r} in its first object "
                                  f"(fields: {keys}); set --param column=NAME")

    @staticmethod
    def _index(file: Path) -> Iterator[tuple[int, int]]:
        """(offset, line count) per block: the offset is the first line starting in it."""
        with open(file, "rb") as handle:
            offset = 0  # where the current block's first line starts
            lines = 0
            position = 0
            carry = False  # the previous read ended inside a line
            while True:
                chunk = handle.read(BLOCK)
                if not chunk:
                    break
                ends = chunk.count(b"\n")
                lines += ends
                position += len(chunk)
                carry = not chunk.endswith(b"\n")
                if lines >= 1024 or position - offset >= 64 * BLOCK:
                    # close the block at a line boundary: finish the line we are in
                    if carry:
                        rest = handle.readline()
                        position += len(rest)
                        lines += 1 if rest else 0
                        carry = bool(rest) and not rest.endswith(b"\n")
                    yield offset, lines
                    offset, lines = position, 0
            if carry:
                lines += 1  # a last line without a newline
            if lines:
                yield offset, lines

    def doc(self, index: int) -> Doc:
        block = bisect.bisect_right(self._starts, index) - 1
        file, offset = self._blocks[block]
        name, position = self._paths[file].name, f"line {index + 1}"
        with open(self._paths[file], "rb") as handle:
            handle.seek(offset)
            for _ in range(index - self._starts[block]):
                handle.readline()
            line = handle.readline(4 * MAX_CHARS + 1)
        if len(line) > 4 * MAX_CHARS:
            return Doc("", name, position, self.suffix, f"too-long: over {4 * MAX_CHARS} bytes")
        try:
            row = json.loads(line)
        except ValueError as exc:  # UnicodeDecodeError is one
            reason = "bad-encoding" if isinstance(exc, UnicodeDecodeError) else "bad-json"
            return Doc("", name, position, self.suffix, f"{reason}: {exc}"[:200])
        if not isinstance(row, dict) or self.column not in row:
            return Doc("", name, position, self.suffix,
                       f"missing-field: no {self.column!r} on this line")
        return _decode(row[self.column], name, position, self.suffix)


class FileCorpus(Corpus):
    """Text files, one document each."""

    def __init__(self, path: Path, files: list[Path]) -> None:
        self.path = path
        self._paths = files
        self.total = len(files)

    def doc(self, index: int) -> Doc:
        file = self._paths[index]
        suffix = file.suffix.lower()
        try:
            size = file.stat().st_size
            if size > 4 * MAX_CHARS:
                return Doc("", file.name, "", suffix, f"too-long: {size} bytes")
            raw = file.read_bytes()
        except OSError as exc:
            return Doc("", file.name, "", suffix, f"unreadable: {exc.strerror or exc}"[:200])
        return _decode(raw, file.name, "", suffix)


def _under(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix.lower() in suffixes else []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())


def is_table_corpus(path: str | Path) -> bool:
    """Whether `path` is Parquet or JSONL (read through a column), not a folder of texts."""
    root = Path(path)
    return bool(_under(root, PARQUET_SUFFIXES) or _under(root, JSONL_SUFFIXES))


def open_corpus(path: str | Path, column: str = "text", text_format: str = "plain",
                suffixes: tuple[str, ...] = TEXT_SUFFIXES) -> Corpus:
    """The corpus at `path`: Parquet files win over JSONL, which win over text files.
    `text_format` (plain, markdown, tex) says how a Parquet or JSONL cell is read."""
    root = Path(path)
    if not root.exists():
        raise CorpusError(f"{root}: does not exist")
    suffix = {"plain": ".txt", "markdown": ".md", "tex": ".tex"}[text_format]
    if parquet := _under(root, PARQUET_SUFFIXES):
        try:
            return ParquetCorpus(root, parquet, column, suffix)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorpusError(f"{root}: not readable as Parquet: {exc}") from exc
    if jsonl := _under(root, JSONL_SUFFIXES):
        return JsonlCorpus(root, jsonl, column, suffix)
    if texts := _under(root, suffixes):
        return FileCorpus(root, texts)
    raise CorpusError(f"{root}: no Parquet, JSONL or {'/'.join(suffixes)} files")


def check_column(path: Path, column: str) -> None:
    """Raise CorpusError when a Parquet or JSONL corpus lacks `column`; reads the Parquet
    schemas and the first JSONL objects only, so a 10 GB corpus is checked at once."""
    for file in _under(path, PARQUET_SUFFIXES):
        try:
            names = pq.read_schema(file).names
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorpusError(f"{file}: not readable as Parquet: {exc}") from exc
        if column not in names:
            raise CorpusError(f"{file}: no column {column!r} (columns: {', '.join(names)}); "
                              "set --param column=NAME")
    if not _under(path, PARQUET_SUFFIXES):
        for file in _under(path, JSONL_SUFFIXES):
            JsonlCorpus._check_field_of(file, column)
