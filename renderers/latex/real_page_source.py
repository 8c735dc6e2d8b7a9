"""latex-page content from real prose: a passage of the Debian Reference or of a user's
corpus (`renderers/text/real_pages.py`), mixed with generated math, tables and lists.

The document is latex-page's (`page_source.py`): {"lang", "blocks"}. Straight quotes are
given as the curly ones TeX prints for them, so the target says what the page shows;
paragraphs with long unbreakable runs (URLs, paths) are left out, since TeX would set
them sticking out of the column.
"""

from __future__ import annotations

import random
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.text.passages import keep_breakable, mix, renumber, typeset_quotes
from ocr2synth.renderers.text.real_pages import Prose, make_prose


class RealPages(Source):
    """Sample k: passage k of the prose, mixed by the sample's own seed."""

    def __init__(self, prose: Prose, mixed: bool = True) -> None:
        self.prose = prose
        self.mixed = mixed

    @classmethod
    def from_params(cls, path: str | None, params: dict[str, Any]) -> RealPages:
        return cls(make_prose(path, params), bool(params.get("mix", True)))

    def size(self) -> int:
        return self.prose.size()

    def item(self, seed: int, k: int) -> Item:
        passage = self.prose.passage(k, seed)
        meta = {"source": "real", **passage.meta, "lang": passage.lang, "mix": self.mixed}
        if passage.error:
            return Item(k=k, seed=seed, content={"lang": passage.lang, "blocks": [],
                                                 "error": passage.error}, meta=meta)
        blocks = renumber(keep_breakable(passage.blocks))
        if self.mixed:
            blocks = mix(blocks, random.Random(seed), passage.lang)
        return Item(k=k, seed=seed, content={"lang": passage.lang,
                                             "blocks": typeset_quotes(blocks)}, meta=meta)
