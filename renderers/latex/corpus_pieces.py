"""latex-formula and latex-table content from a corpus: the formulas or `tabular`s its
documents hold (a Parquet/JSONL column of LaTeX, or `.tex` files), spread over the corpus.

Sample k reads document perm(k mod n) (`renderers/text/spread.py`) and takes its
(k div n)-th piece, so the first pass over the corpus takes one piece of every document.
A document without pieces (or unusable: null, binary, too long) raises, which the worker
records as a `source-error` reject naming the reason and the position.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.text.corpus import Corpus, open_corpus
from ocr2synth.renderers.text.spread import SPREAD_SEED, Permutation


def formulas_of(text: str, suffix: str) -> list[str]:
    """A `.tex` document's math; any other document is one formula (a cell, a file)."""
    if suffix == ".tex":
        from ocr2synth.renderers.text.tex_prose import tex_formulas

        return tex_formulas(text)
    return [text.strip()] if text.strip() else []


def tables_of(text: str, suffix: str) -> list[str]:
    from ocr2synth.renderers.latex.table_source import split_tabulars

    return split_tabulars(text)


class CorpusPieces(Source):
    def __init__(self, corpus: Corpus, extract: Callable[[str, str], list[str]], kind: str,
                 sequential: bool = False, license: str = "") -> None:
        self.corpus = corpus
        self.extract = extract
        self.kind = kind
        self.sequential = sequential
        self.license = license or "unknown (set --param license=...)"
        self._perm = Permutation(max(1, len(corpus)), SPREAD_SEED, sequential)

    @classmethod
    def open(cls, path: str, params: dict[str, Any], extract: Callable[[str, str], list[str]],
             kind: str) -> CorpusPieces:
        corpus = open_corpus(path, str(params.get("column", "text")),
                             str(params.get("text_format", "plain")), suffixes=(".tex",))
        return cls(corpus, extract, kind, params.get("order", "spread") == "sequential",
                   str(params.get("license", "")))

    def size(self) -> int:
        return len(self.corpus)

    @lru_cache(maxsize=16)  # noqa: B019 - sources live as long as their worker
    def pieces(self, index: int) -> tuple[str | None, list[str], str, str]:
        doc = self.corpus.doc(index)
        if doc.error:
            return doc.error, [], doc.name, doc.position
        return None, self.extract(doc.text, doc.suffix), doc.name, doc.position

    def item(self, seed: int, k: int) -> Item:
        n = max(1, len(self.corpus))
        index = self._perm(k)
        error, pieces, name, position = self.pieces(index)
        meta = {"source": name, "corpus": Path(self.corpus.path).name,
                "position": position or f"document {index}", "license": self.license}
        if error or not pieces:
            # a string is all a formula or table renderer takes: the worker turns this
            # into a `source-error` reject carrying the reason and the position
            reason = error or f"empty: no {self.kind} in this document"
            raise ValueError(f"{reason} ({name}, {meta['position']})")
        piece = (k // n) % len(pieces)
        return Item(k=k, seed=seed, content=pieces[piece],
                    meta={**meta, "position": f"{meta['position']}, {self.kind} {piece}"})
