"""The render loop the LaTeX renderers share: lint, group by preamble, one TeX run per
group, then one sample (or a reject) per item, in order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pymupdf
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.imaging import crop_to_ink
from ocr2synth.renderers.latex.engine import TexBatch, TexEngine
from PIL import Image

Style = dict[str, Any]


def chosen_names(renderer: str, what: str, params: dict[str, Any],
                 known: dict[str, Any]) -> list[str]:
    """The `what` param (e.g. fonts), all of `known` by default; unknown names refused."""
    chosen = list(params.get(what, list(known)))
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise ValueError(f"{renderer}: unknown {what} {unknown} (known: {list(known)})")
    return chosen


def cropped_page(page: pymupdf.Page, style: Style, max_side: int, nothing: str,
                 gray: bool = True) -> Image.Image | Reject:
    """One typeset page at the item's dpi, cropped to its ink plus the item's margin;
    `nothing` says what an empty page means for this renderer."""
    if gray:
        pix = page.get_pixmap(dpi=style["dpi"], colorspace=pymupdf.csGRAY, alpha=False)
        raw = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    else:
        pix = page.get_pixmap(dpi=style["dpi"], alpha=False)
        raw = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    image = crop_to_ink(raw, style["margin"])
    if image is None:
        return Reject("blank", nothing)
    if max(image.size) > max_side:
        return Reject("too-large", f"{image.size[0]}x{image.size[1]} px > {max_side}")
    return image


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
