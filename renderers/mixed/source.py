"""Content for `mixed-page`: a page plan of prose and OCR-2.0 objects.

An item's content is {"lang", "columns", "blocks"}: headings and paragraphs as text, and
objects as an item of another renderer's own source (`{"kind": "object", "renderer",
"item", "caption"}`), so that the object is drawn, and its target written, by that
renderer. The plan holds more than a page takes; the renderer places blocks in order until
the page is full and records what it placed. Nothing here knows an engine.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.text.prose import ChineseProse, EnglishProse

# The renderers whose objects a page may hold, with their share of the objects drawn.
OBJECTS = {"latex-formula": 3, "latex-table": 2, "molecule": 2, "tikz": 2, "chart-mpl": 1,
           "chart-echarts": 1, "music": 1}
CATEGORY = {"latex-formula": "formula", "latex-table": "table", "molecule": "molecule",
            "tikz": "geometry", "chart-mpl": "chart", "chart-echarts": "chart",
            "music": "music"}
CAPTION = {"en": {"latex-table": "Table"}, "zh": {"latex-table": "表"}}
FIGURE = {"en": "Figure", "zh": "图"}


def object_seed(seed: int, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}:object:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class MixedPages(Source):
    """Generated page plans: English or Chinese prose with 2-4 captioned objects (a
    caption is its label, "Figure" or "Table", and its text)."""

    def __init__(self, zh_share: float = 0.2, objects: list[str] | None = None) -> None:
        from ocr2synth.renderers.registry import get_spec

        self.zh_share = zh_share
        names = [n for n in (objects or OBJECTS) if n in OBJECTS]
        self.objects = names or list(OBJECTS)
        self._sources = {name: get_spec(name).make_source(None, {}) for name in self.objects}

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        lang = "zh" if rng.random() < self.zh_share else "en"
        columns = rng.choice([1, 1, 2])
        # two narrower columns hold about twice the prose around the same objects, and a
        # Chinese sentence is shorter than an English one
        paras = {(1, "en"): (1, 2), (1, "zh"): (2, 3), (2, "en"): (2, 4),
                 (2, "zh"): (3, 6)}[(columns, lang)]
        prose = ChineseProse(rng) if lang == "zh" else EnglishProse(rng)
        sentences = (4, 8) if lang == "zh" else (2, 5)
        blocks: list[dict[str, Any]] = [{"kind": "heading", "text": prose.title()}]
        weights = [OBJECTS[n] for n in self.objects]
        for n in range(rng.randint(2, 4)):
            blocks += [{"kind": "para", "text": prose.paragraph(sentences)}
                       for _ in range(rng.randint(*paras))]
            name = rng.choices(self.objects, weights)[0]
            sub = self._sources[name].item(object_seed(seed, n), k * 16 + n)
            # the number is the renderer's to give: only placed figures are counted
            blocks.append({"kind": "object", "renderer": name, "item": sub,
                           "label": CAPTION[lang].get(name, FIGURE[lang]),
                           "caption": prose.words(4, 10).capitalize()})
            if rng.random() < 0.3:
                blocks.append({"kind": "heading", "text": prose.title()})
        blocks += [{"kind": "para", "text": prose.paragraph(sentences)}
                   for _ in range(2 * columns)]
        return Item(k=k, seed=seed, content={"lang": lang, "columns": columns,
                                             "blocks": blocks},
                    meta={"source": "generated", "lang": lang})
