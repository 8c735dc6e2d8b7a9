"""`multi-page`: 2-8 short base pages read as one document, GOT's multi-page OCR.

The pages go in `images` in order (`image` is the first page); the target is the pages'
formatted texts in the same order, joined by a blank line. Each page's target stays under
650 tokens and the whole under 8K (GOT's limits), counted by `tokens.count_tokens`.
Base documents are shortened to a few blocks so most pages fit; a page over the limit is
replaced by the next spare page of the item. Pages read from a stored dataset (`from`) are
full pages: each is cut after a few of its blocks instead (renderers/tasks/cut.py), and a
page that cannot be cut truthfully is replaced by the next spare too.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ocr2synth.renderers.base import PROMPT_MULTI_PAGE, Item, Reject, Sample
from ocr2synth.renderers.tasks import cut
from ocr2synth.renderers.tasks.bases import Bases, TaskRenderer, TaskSource, base_meta
from ocr2synth.renderers.tasks.stored import StoredBaseRenderer, StoredPage, StoredRef
from ocr2synth.renderers.tasks.tokens import count_tokens

PAGE_JOIN = "\n\n"
MAX_PAGE_TOKENS = 650
MAX_TOTAL_TOKENS = 8000
ROUNDS = 3  # rendering rounds for spare pages before an item is rejected


class MultiPageSource(TaskSource):
    """`pages: [lo, hi]` pages per sample (default [2, 8]); twice as many base items are
    named, the second half spares. `blocks: [lo, hi]` keeps that many blocks of a base
    document whose content is a list of blocks (latex-page, markdown-page)."""

    def pages(self, rng: random.Random) -> int:
        lo, hi = self.params.get("pages", [2, 8])
        return rng.randint(max(2, int(lo)), min(8, int(hi)))

    def count(self, rng: random.Random) -> int:
        return 2 * self.pages(rng)

    def most(self) -> int:
        return 2 * min(8, int(self.params.get("pages", [2, 8])[1]))

    def base_item(self, k: int, seed_of: Callable[[int], int]) -> Item:
        # Pages are cut to a few blocks to stay under GOT's 650 tokens, so each page is its
        # own short document: a document's later pages would hold nothing.
        return self.base_source.item(seed_of(k), k)

    def shape(self, item: Item, rng: random.Random) -> Item:
        lo, hi = self.params.get("blocks", [2, 6])
        content = item.content
        if not isinstance(content, dict) or not isinstance(content.get("blocks"), list):
            return item
        keep = rng.randint(int(lo), int(hi))
        short = {**content, "blocks": content["blocks"][:keep]}
        if isinstance(content.get("notes"), list):  # markdown-page footnotes by owner block
            short["notes"] = [n for n in content["notes"] if n.get("owner", 0) < keep]
        return replace(item, content=short, meta={**item.meta, "blocks_kept": keep})


class MultiPageRenderer(TaskRenderer):
    """Params (all optional): `base`, `base_params`, `pages`, `blocks` (source; for a
    stored base, the cut), `max_page_tokens` (650), `max_total_tokens` (8000)."""

    name = "multi-page"

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        super().__init__(params, timeout_s)
        self.max_page = int(params.get("max_page_tokens", MAX_PAGE_TOKENS))
        self.max_total = int(params.get("max_total_tokens", MAX_TOTAL_TOKENS))
        self.blocks = [int(v) for v in params.get("blocks", [2, 6])]

    def render_batch(self, items: list[Item]) -> list[Sample | Reject]:
        if not all(isinstance(it.content, Bases) for it in items):
            return [Reject("bad-content", "a task item names no base items")] * len(items)
        want = [len(it.content.items) // 2 for it in items]
        chosen: list[list[tuple[Item, Sample]]] = [[] for _ in items]
        tokens = [0] * len(items)
        next_base = [0] * len(items)
        problems: list[list[str]] = [[] for _ in items]
        # a stored base's pages come undecoded: a page cut near its top decodes that much
        stored = isinstance(self.base, StoredBaseRenderer)
        for _ in range(ROUNDS):
            # every item asks for as many base pages as it still lacks, all in one batch
            asks = []
            for i, it in enumerate(items):
                need = min(want[i] - len(chosen[i]), len(it.content.items) - next_base[i])
                asks += [(i, it.content.items[next_base[i] + j]) for j in range(need)]
                next_base[i] += need
            if not asks:
                break
            outs = (self.base.render_lazy if stored else self.base.render)([b for _, b in asks])
            for (i, base), out in zip(asks, outs, strict=True):
                if isinstance(out, Reject):
                    problems[i].append(f"base-{out.reason}")
                    continue
                if isinstance(out, StoredPage):
                    # a base smaller than the rows a sample names wraps round: a row
                    # already among this sample's pages is not shown twice
                    if any(b.content == base.content for b, _ in chosen[i]):
                        problems[i].append(f"{base.content}: repeated")
                        continue
                    out = self.shorten(base, out)
                    if isinstance(out, Reject):
                        problems[i].append(f"{base.content}: {out.reason}")
                        continue
                n = count_tokens(out.target)
                if n >= self.max_page or tokens[i] + n >= self.max_total:
                    problems[i].append(f"{n}-tokens")
                    continue
                chosen[i].append((base, out))
                tokens[i] += n
        return [self.compose(it, chosen[i], tokens[i]) if len(chosen[i]) == want[i]
                else Reject("too-few-pages", f"{len(chosen[i])} of {want[i]} pages; "
                                             f"dropped: {', '.join(problems[i])}")
                for i, it in enumerate(items)]

    def shorten(self, base: Item, page: StoredPage) -> Sample | Reject:
        """A stored page cut after `blocks: [lo, hi]` of its blocks: the numbers in an
        order drawn from the base item's seed, the first whose cut is true and under the
        page limit taken. A page that records no blocks (a base of tables, say) is used
        whole, as an in-process base page is: the token limit then decides."""
        try:
            read = cut.read_page(page.sample, page.size, page.top)
        except cut.NoBlocks:
            return replace(page.sample, image=page.top(page.size[1]))
        except cut.Uncuttable as exc:
            return Reject(str(exc).split(":")[0])
        lo, hi = self.blocks
        counts = list(range(max(1, lo), min(hi, len(read.blocks)) + 1))
        self.style_rng(base).shuffle(counts)
        chosen, why = cut.first_cut(read, counts, self.max_page)
        if chosen is None:
            return Reject("no-cut(" + ",".join(sorted(set(why)) or ["too-few-blocks"]) + ")")
        return cut.apply(read, chosen)

    def compose(self, item: Item, pages: list[tuple[Item, Sample]], tokens: int) -> Sample:
        # spares fill in base order, so the pages keep the source's order
        pages = sorted(pages, key=lambda p: p[0].k)
        targets = [p.target for _, p in pages]
        meta = {"base": self.base.name, "pages": len(pages), "tokens_estimate": tokens,
                "page_tokens": [count_tokens(t) for t in targets],
                "base_samples": [self.page_meta(b, p) for b, p in pages]}
        return Sample(image=pages[0][1].image, target=PAGE_JOIN.join(targets),
                      prompt=PROMPT_MULTI_PAGE, task="multi-page", meta=meta,
                      images=[p.image for _, p in pages])

    @staticmethod
    def page_meta(base: Item, page: Sample) -> dict[str, Any]:
        """A page's base sample; for a stored page also where it was cut."""
        meta = base_meta(base, page)
        if isinstance(base.content, StoredRef) and "cut" in page.meta:
            meta.update(blocks_kept=page.meta["blocks_kept"], cut=page.meta["cut"])
        return meta
