"""Where `pdf-page` items come from: a user's folder of PDFs, or generated LaTeX documents
that the renderer compiles to PDF itself (so the demo needs no download).

A folder item is a reference, {"path", "page", "pages"}: the index holds page counts only,
so a 2,000-page file costs one entry, not 2,000 loaded pages. Files that cannot be read
(encrypted, corrupt, no pages) keep one slot in the index and become a reject with their
reason when that item renders; indexing itself never fails on them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.latex.page_source import GeneratedPages
from ocr2synth.renderers.text.spread import SPREAD_SEED, Rounds


@dataclass(frozen=True)
class PdfFile:
    path: str
    pages: int  # 1 for a file that cannot be read: its single slot is the reject
    problem: str | None = None  # "reason: detail" when the file cannot be read


def inspect_pdf(path: Path) -> PdfFile:
    """Page count, or why the file is unusable; reads the page tree, not the pages."""
    try:
        with pymupdf.open(path) as doc:
            if doc.needs_pass:
                return PdfFile(str(path), 1, "encrypted: the PDF needs a password")
            if not doc.is_pdf:
                return PdfFile(str(path), 1, "corrupt-pdf: not a PDF document")
            if doc.page_count == 0:
                return PdfFile(str(path), 1, "zero-page: the PDF has no pages")
            return PdfFile(str(path), doc.page_count)
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        return PdfFile(str(path), 1, f"corrupt-pdf: {type(exc).__name__}: {exc}"[:300])


class PdfFolder(Source):
    """Every page of every `*.pdf` under a folder (or of one file). In `sequential` order
    item k is page k of the files in sorted path order; spread (the default through the
    spec), round r takes a seeded page of every file with more than r pages, in a seeded
    file order (`renderers/text/spread.py`), so a prefix covers the files evenly. Both
    wrap around past the end. `corpus` and `license` name the source in each item's meta
    (a licence function of the file's path, for the TeX Live documentation)."""

    def __init__(self, path: str | Path, sequential: bool = True, corpus: str = "",
                 license: str | Callable[[str], str] = "") -> None:
        root = Path(path)
        self.sequential = sequential
        self.corpus = corpus or root.name
        self.license = license or "unknown (set --param license=...)"
        if root.is_dir():
            paths = sorted(p for p in root.rglob("*") if p.suffix.lower() == ".pdf"
                           and p.is_file())
        else:
            paths = [root]
        if not paths:
            raise ValueError(f"{root}: no .pdf files")
        self.files = [inspect_pdf(p) for p in paths]
        self.starts: list[int] = []
        total = 0
        for file in self.files:
            self.starts.append(total)
            total += file.pages
        self.total = total
        self._rounds = None if sequential else Rounds([f.pages for f in self.files],
                                                      SPREAD_SEED)

    def size(self) -> int:
        return self.total

    def _unit(self, k: int) -> tuple[int, int]:
        if self._rounds is not None:
            return self._rounds(k)
        position = k % self.total
        index = bisect.bisect_right(self.starts, position) - 1
        return index, position - self.starts[index]

    def item(self, seed: int, k: int) -> Item:
        index, page = self._unit(k)
        file = self.files[index]
        content: dict = {"path": file.path, "page": page, "pages": file.pages}
        if file.problem:
            content["error"] = file.problem
        license = self.license(file.path) if callable(self.license) else self.license
        return Item(k=k, seed=seed, content=content,
                    meta={"source": Path(file.path).name, "source_page": page,
                          "corpus": self.corpus, "position": f"page {page + 1}",
                          "license": license})


class GeneratedPdfs(Source):
    """LaTeX documents of `latex-page`'s generator; the renderer typesets a batch of them
    into one PDF and reads each back as a PDF page, text layer and all."""

    def __init__(self, zh: float = 0.2) -> None:
        self.pages = GeneratedPages(zh)

    def item(self, seed: int, k: int) -> Item:
        doc = self.pages.item(seed, k)
        return Item(k=k, seed=seed, content={"latex": doc.content},
                    meta={**doc.meta, "source": "latex-page"})
