"""Passages of real prose for the page renderers: which window of which document sample k
shows, with its provenance.

Two kinds of prose: the Debian Reference (the default; `debian_docs.py`), whose chapters
are cut once into page-sized windows and spread over as (chapter, window) units; and a
user's corpus (`corpus.py`), spread over as documents, where the r-th pass over the
corpus shows each document's r-th window (a corpus of ten million rows is never read
whole to count its windows).

A passage is latex-page blocks (`passages.py`) plus meta naming its source: `corpus`,
`source` (file), `position` (row or line, block range) and `license`. Renderers never see
where text came from; sources never see an engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocr2synth.renderers.text import debian_docs
from ocr2synth.renderers.text.corpus import Corpus, open_corpus
from ocr2synth.renderers.text.passages import (
    document_language,
    keep_drawable,
    text_blocks,
    windows,
)
from ocr2synth.renderers.text.spread import SPREAD_SEED, Permutation

# Characters of real text per window: about a page and a bit, as latex-page's generated
# documents are (one page of the typeset result is sampled).
PAGE_BUDGET = {"en": 3000, "zh": 1100}


@dataclass
class Passage:
    lang: str
    blocks: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # "reason: detail": the item becomes that reject


class Prose:
    """Passages as a pure function of (k, the sample's seed)."""

    def passage(self, k: int, seed: int) -> Passage:
        raise NotImplementedError

    def size(self) -> int:
        """Passages in one pass over the prose (a corpus: one per document)."""
        raise NotImplementedError


class DebianProse(Prose):
    """Windows of the Debian Reference; `zh` of the samples Chinese."""

    def __init__(self, zh: float = 0.2, budget: dict[str, int] | None = None,
                 sequential: bool = False) -> None:
        self.zh = zh
        self.sequential = sequential
        budget = budget or PAGE_BUDGET
        # (chapter, first block, chapter of the last block, last block, blocks) per window;
        # windows run on across chapters (the book in reading order), so every window is
        # long enough for its pages
        self.units: dict[str, list[tuple[str, int, str, int, list[dict[str, Any]]]]] = {}
        for lang in ("en", "zh"):
            where: list[tuple[str, int]] = []
            blocks: list[dict[str, Any]] = []
            for chapter in debian_docs.chapters(lang):
                kept = keep_drawable(chapter.blocks, lang)
                where += [(chapter.name, index) for index in range(len(kept))]
                blocks += kept
            self.units[lang] = [(*where[start], *where[stop - 1], blocks[start:stop])
                                for start, stop in windows(blocks, budget[lang])]
        self.license = {lang: debian_docs.license_of(debian_docs.PACKAGES[lang])
                        for lang in ("en", "zh")}
        self._perms = {lang: Permutation(len(units), SPREAD_SEED, sequential)
                       for lang, units in self.units.items()}

    def passage(self, k: int, seed: int) -> Passage:
        lang = "zh" if random.Random(seed ^ 0x1A46).random() < self.zh else "en"
        unit = self._perms[lang](k)
        name, start, last_name, last, blocks = self.units[lang][unit]
        position = (f"blocks {start}-{last}" if last_name == name
                    else f"block {start} to {last_name} block {last}")
        return Passage(lang, [dict(b) for b in blocks],
                       {"corpus": debian_docs.PACKAGES[lang], "source": name,
                        "position": position, "license": self.license[lang]})

    def size(self) -> int:
        return sum(len(units) for units in self.units.values())


class CorpusProse(Prose):
    """A user's corpus: document perm(k mod n), window (k div n) of it."""

    def __init__(self, corpus: Corpus, budget: dict[str, int] | None = None,
                 sequential: bool = False, license: str = "") -> None:
        self.corpus = corpus
        self.budget = budget or PAGE_BUDGET
        self.sequential = sequential
        self.license = license or "unknown (set --param license=...)"
        self.name = Path(corpus.path).name
        self._perm = Permutation(max(1, len(corpus)), SPREAD_SEED, sequential)

    @classmethod
    def open(cls, path: str, params: dict[str, Any], budget: dict[str, int] | None = None
             ) -> CorpusProse:
        corpus = open_corpus(path, str(params.get("column", "text")),
                             str(params.get("text_format", "plain")))
        return cls(corpus, budget, params.get("order", "spread") == "sequential",
                   str(params.get("license", "")))

    def passage(self, k: int, seed: int) -> Passage:
        n = len(self.corpus)
        if n == 0:
            return Passage("en", [], error="empty: the corpus has no documents")
        index = self._perm(k)
        doc = self.corpus.doc(index)
        meta = {"corpus": self.name, "source": doc.name,
                "position": doc.position or f"document {index}", "license": self.license}
        if doc.error:
            return Passage("en", [], meta, doc.error)
        try:
            blocks = text_blocks(doc.text, doc.suffix)
        except Exception as exc:  # a parser's surprise is this document's reject
            return Passage("en", [], meta, f"bad-content: {type(exc).__name__}: {exc}"[:200])
        lang = document_language(blocks)
        blocks = keep_drawable(blocks, lang)
        spans = windows(blocks, self.budget[lang])
        if not spans:
            return Passage(lang, [], meta, "unsupported-script: no text the page fonts draw")
        start, stop = spans[(k // n) % len(spans)]
        position = f"{meta['position']}, blocks {start}-{stop - 1}"
        return Passage(lang, blocks[start:stop], {**meta, "position": position})

    def size(self) -> int:
        return len(self.corpus)


def make_prose(path: str | None, params: dict[str, Any],
               budget: dict[str, int] | None = None) -> Prose:
    """The prose a page source reads: a --source corpus, else the Debian Reference."""
    if path:
        return CorpusProse.open(path, params, budget)
    return DebianProse(float(params.get("zh", 0.2)), budget,
                       params.get("order", "spread") == "sequential")
