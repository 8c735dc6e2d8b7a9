"""Sources of SMILES: the MOSES set carried by the `molsets` wheel, or the user's file.

Only the wheel's CSVs are used. `make setup` extracts them into the environment's
`share/ocr2synth/moses`; importing the `moses` package itself would pull in PyTorch.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
import random
import sys
import zipfile
from pathlib import Path

import numpy as np
from ocr2synth.renderers.base import Item, Source

MOSES_FILES = {"train": "moses/dataset/data/train.csv.gz",
               "test": "moses/dataset/data/test.csv.gz"}
ORDERS = ("random", "sequential")


class SmilesLines:
    """Many lines held compactly: one bytes blob and offset arrays (the 1.6M MOSES rows
    take ~80 MB this way, and load in a fraction of a second)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 10)
        starts = np.concatenate(([0], ends + 1))
        ends = np.concatenate((ends, [len(blob)]))
        keep = ends > starts
        self.starts, self.ends = starts[keep], ends[keep]

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> str:
        return self.blob[self.starts[i]: self.ends[i]].decode("utf-8", "replace").strip()


def moses_dir() -> Path:
    """Where `make setup` or `ocr2synth setup-assets` puts the MOSES CSVs
    (OCR2SYNTH_MOSES_DIR overrides)."""
    default = Path(sys.prefix) / "share" / "ocr2synth" / "moses"
    return Path(os.environ.get("OCR2SYNTH_MOSES_DIR", default))


def moses_csv(split: str = "train") -> Path:
    name = Path(MOSES_FILES[split]).name
    path = moses_dir() / name
    if path.exists():
        return path
    try:  # a molsets installed by other means carries the same file
        located = Path(str(importlib.metadata.distribution("molsets").locate_file(
            MOSES_FILES[split])))
        if located.exists():
            return located
    except importlib.metadata.PackageNotFoundError:
        pass
    raise ValueError(f"the MOSES SMILES are missing ({path}): run `make setup`, which "
                     "extracts them from the molsets wheel")


def extract_from_wheel(wheel: Path, target: Path) -> None:
    """Copy the MOSES CSVs out of a molsets wheel, each file complete or absent."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in MOSES_FILES.values():
            out = target / Path(member).name
            partial = out.with_suffix(".partial")
            partial.write_bytes(archive.read(member))
            partial.replace(out)


def _pick(order: str, seed: int, k: int, size: int) -> int:
    if order == "sequential":
        return k % size
    return random.Random(seed).randrange(size)


class MosesSmiles(Source):
    """Real drug-like molecules; `random` order draws a seeded subset, `sequential` walks
    the file from its start."""

    _cache: dict[str, SmilesLines] = {}

    def __init__(self, order: str = "random", split: str = "train") -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
        self.order, self.split = order, split

    @property
    def lines(self) -> SmilesLines:
        if self.split not in self._cache:
            with gzip.open(moses_csv(self.split), "rb") as f:
                text = f.read()
            # rows after the header; an item keeps only the first column (the second is
            # the split name)
            self._cache[self.split] = SmilesLines(text[text.index(b"\n") + 1:])
        return self._cache[self.split]

    def size(self) -> int:
        return len(self.lines)

    def item(self, seed: int, k: int) -> Item:
        index = _pick(self.order, seed, k, len(self.lines))
        return Item(k=k, seed=seed, content=self.lines[index].split(",", 1)[0],
                    meta={"source": f"moses-{self.split}", "index": index})


class SmilesFile(Source):
    """A user's file: one SMILES per line, optionally followed by whitespace and a name;
    blank lines and `#` comments skipped."""

    def __init__(self, path: str | Path, order: str = "sequential") -> None:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
        self.path, self.order = Path(path), order
        self.entries: list[tuple[int, str]] = []
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if fields and not fields[0].startswith("#"):
                self.entries.append((number, fields[0]))
        if self.entries and self.entries[0][1].lower() == "smiles":
            self.entries.pop(0)  # a CSV-style header
        if not self.entries:
            raise ValueError(f"{self.path}: no SMILES (one per line expected)")

    def size(self) -> int:
        return len(self.entries)

    def item(self, seed: int, k: int) -> Item:
        number, smiles = self.entries[_pick(self.order, seed, k, len(self.entries))]
        return Item(k=k, seed=seed, content=smiles,
                    meta={"source": self.path.name, "line": number})


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "--extract":
        sys.exit("usage: python -m ocr2synth.renderers.molecule.smiles_source --extract WHEEL DIR")
    extract_from_wheel(Path(sys.argv[2]), Path(sys.argv[3]))
