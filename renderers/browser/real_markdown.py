"""markdown-page content from real prose: documents of `pages` pages cut from the Debian
Reference or a user's Parquet/JSONL/text corpus (`renderers/text/real_pages.py`), mixed
with generated math, tables and lists, as Mathpix markdown (`markdown_source.py`).

Sample k is page k % pages of document k // pages; the document is passage k // pages of
the prose, so a document's pages are consecutive samples and continue one another.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.browser.markdown_source import markdown_document
from ocr2synth.renderers.latex.page_source import PageGrammar
from ocr2synth.renderers.text.passages import mix, renumber
from ocr2synth.renderers.text.real_pages import Prose, make_prose

# Characters of real text per page, with room to spare (as for generated documents):
# what does not fit on the last page is left unused.
PAGE_CHARS = {"en": 6000, "zh": 3200}


class RealMarkdown(Source):
    def __init__(self, prose: Prose, pages: int = 4, mixed: bool = True) -> None:
        if pages < 1:
            raise ValueError(f"pages must be >= 1, got {pages}")
        self.prose = prose
        self.pages = pages
        self.mixed = mixed

    @classmethod
    def from_params(cls, path: str | None, params: dict[str, Any]) -> RealMarkdown:
        pages = int(params.get("pages", 4))
        budget = {lang: chars * pages for lang, chars in PAGE_CHARS.items()}
        return cls(make_prose(path, params, budget), pages, bool(params.get("mix", True)))

    @lru_cache(maxsize=8)  # noqa: B019 - sources live as long as their worker
    def document(self, number: int, doc_seed: int) -> tuple:
        passage = self.prose.passage(number, doc_seed)
        if passage.error:
            return passage, None
        rng = random.Random(doc_seed)
        blocks = renumber(passage.blocks)
        blocks = mix(blocks, rng, passage.lang) if self.mixed else blocks
        prose = PageGrammar(rng, passage.lang).prose  # words for generated tables
        return passage, markdown_document(rng, blocks, passage.lang, prose)

    def size(self) -> int:
        return self.prose.size() * self.pages

    def item_at(self, k: int, seed_of: Callable[[int], int]) -> Item:
        page = k % self.pages
        number = k // self.pages
        doc_seed = seed_of(k - page)
        passage, doc = self.document(number, doc_seed)
        meta = {"source": "real", **passage.meta, "lang": passage.lang, "doc": doc_seed,
                "page": page}
        if doc is None:
            return Item(k=k, seed=seed_of(k), content={"lang": passage.lang, "blocks": [],
                                                       "notes": [], "error": passage.error},
                        meta=meta)
        return Item(k=k, seed=seed_of(k),
                    content={**doc, "doc": f"real:{doc_seed}", "doc_seed": doc_seed,
                             "page": page}, meta=meta)

    def item(self, seed: int, k: int) -> Item:
        """Sample k with `seed` as its document's seed: what `item_at` gives for a
        document's first page, which is what a stage-3 task keeps of a base page."""
        return self.item_at(k, lambda _: seed)
