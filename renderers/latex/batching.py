"""The render loop the LaTeX renderers share: lint, group by preamble, one TeX run per
group, then one sample (or a reject) per item, in order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pymupdf

from renderers.base import Item, Reject, Sample
from renderers.latex.engine import TexBatch, TexEngine

Style = dict[str, Any]


def reject_from(reason: str) -> Reject:
    """`"kind: detail"` (the engine's and the lint's format) as a Reject."""
    return Reject(reason.split(":")[0], reason)


def render_grouped(
    engine: TexEngine,
    items: list[Item],
    styles: list[Style],
    *,
    lint: Callable[[Item], str | None],
    group: Callable[[Style], str],
    preamble: Callable[[str], str],
    body: Callable[[Item, Style], str],
    sample: Callable[[pymupdf.Document, range, Item, Style], Sample | Reject],
    multipage: bool = False,
) -> list[Sample | Reject]:
    """Items whose lint passes are typeset in one batch per preamble group (a font, a
    layout), and `sample` turns each item's pages into its outcome."""
    results: list[Sample | Reject | None] = [None] * len(items)
    groups: dict[str, list[int]] = defaultdict(list)
    for pos, item in enumerate(items):
        problem = lint(item)
        if problem:
            results[pos] = reject_from(problem)
        else:
            groups[group(styles[pos])].append(pos)
    for key, positions in groups.items():
        bodies = [body(items[p], styles[p]) for p in positions]
        with engine.typeset(preamble(key), bodies, multipage=multipage) as batch:
            _collect(batch, positions, items, styles, sample, results)
    assert all(r is not None for r in results), "every item gets a sample or a reject"
    return results  # type: ignore[return-value]


def _collect(batch: TexBatch, positions: list[int], items: list[Item], styles: list[Style],
             sample: Callable, results: list) -> None:
    for local, pos in enumerate(positions):
        if local in batch.failures:
            results[pos] = reject_from(batch.failures[local])
        else:
            results[pos] = sample(batch.pdf, batch.page_ranges[local], items[pos], styles[pos])
