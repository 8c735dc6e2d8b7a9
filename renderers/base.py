"""The contracts between sources, renderers and the pipeline.

A source turns (seed, k) into content; a renderer turns a batch of content into images and
targets. Neither knows about Ray, shards or files: the pipeline drives them.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

PROMPT_OCR = "OCR: "
PROMPT_FORMAT = "OCR with format: "
PROMPT_MULTI_CROP = "OCR with format upon the patch reference: "
PROMPT_MULTI_PAGE = "OCR with format across multi pages: "
# The layout target's prompt (`--param target=layout`; renderers/layout.py holds the
# format). It follows dots.ocr's `prompt_layout_all_en` in shape, in our own words: that
# convention asks for exactly this target (a JSON list in reading order of bbox, category
# and text, each text in its block's own format) and is the one public layout prompt that
# open document models since GOT are run with; boxes here are on GOT's 0-1000 scale and the
# categories are DocLayNet's names plus GOT's OCR-2.0 objects.
PROMPT_LAYOUT = (
    "Give the layout of this page as a JSON list in reading order, one object per block: "
    '"category" (one of title, section-header, text, list-item, caption, footnote, '
    "page-header, page-footer, formula, table, picture, chart, molecule, music, geometry), "
    '"bbox" [x1, y1, x2, y2] on a 0-1000 scale, and "text": markdown for prose, LaTeX for '
    "formulas and tables, SMILES, **kern, TikZ or the chart's table for objects. ")


@dataclass(frozen=True)
class Item:
    """One piece of content for one sample: sample k of an entry, with its own seed."""

    k: int
    seed: int
    content: Any
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Sample:
    """A rendered, validated (image, target) pair."""

    image: Image.Image
    target: str
    prompt: str
    task: str
    boxes: list[Box] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # The model's inputs where one image is not enough: multi-page pages, multi-crop tiles
    # and thumbnail. `image` then stays a whole picture for previews and checks.
    images: list[Image.Image] = field(default_factory=list)


@dataclass(frozen=True)
class Reject:
    """Why an item produced no sample. `reason` is short and groupable; `detail` is free."""

    reason: str
    detail: str = ""


class RenderError(Exception):
    """A whole batch could not be rendered (engine crash, missing binary)."""


class Source(ABC):
    """Content for a renderer, a pure function of (seed, k)."""

    @abstractmethod
    def item(self, seed: int, k: int) -> Item: ...

    def item_at(self, k: int, seed_of: Callable[[int], int]) -> Item:
        """Sample k, given the seed of any sample of the entry. Sources whose items belong
        together (consecutive pages of one document, seeded by its first page) override it;
        the pipeline calls this."""
        return self.item(seed_of(k), k)

    def size(self) -> int | None:
        """Number of distinct items for a finite corpus; None for a generator."""
        return None


class Renderer(ABC):
    """Owns a warm engine and renders batches of items.

    `render_batch` returns one `Sample` or `Reject` per item, in order. A bad item must
    become a `Reject` without losing the rest of its batch.
    """

    name: str = ""

    def __init__(self, params: dict[str, Any], timeout_s: float) -> None:
        self.params = dict(params)
        self.timeout_s = timeout_s

    @abstractmethod
    def render_batch(self, items: list[Item]) -> list[Sample | Reject]: ...

    def close(self) -> None:  # noqa: B027 - engines without resources need no close
        """Release the engine (temp folders, processes)."""

    @staticmethod
    def style_rng(item: Item) -> random.Random:
        """Randomness for rendering style, independent of the source's content stream."""
        return random.Random(item.seed ^ 0x5EED_57E1)


def render_isolated(renderer: Renderer, items: list[Item]) -> list[Sample | Reject]:
    """Render a batch; if the batch as a whole fails (raises, or answers for the wrong
    number of items), render item by item, so a poisonous item costs only itself and
    becomes a `render-error` reject. The worker renders every chunk so, and a stage-3 task
    its base items."""
    try:
        outcomes = renderer.render_batch(items) if items else []
        if len(outcomes) == len(items):
            return outcomes
        problem = f"renderer returned {len(outcomes)} outcomes for {len(items)} items"
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if len(items) == 1:
        return [Reject("render-error", problem)]
    return [out for item in items for out in render_isolated(renderer, [item])]
