"""The stage-3 tasks this package provides: fine-grained, multi-crop, multi-page. Each is
built on another renderer's samples (`base`, default latex-page; any renderer whose samples
carry line boxes; `--source` goes to the base's source)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.baselines import fresh_renderer_per_sample
from ocr2synth.renderers.params import (
    ParamError,
    check_params,
    choice,
    integer,
    mapping,
    number,
    pair,
    text,
)
from ocr2synth.renderers.specs import RendererSpec, ref
from ocr2synth.renderers.tasks.bases import DEFAULT_BASE, TASK_NAMES

_HERE = __package__  # this package, for the spec references below


def _bases() -> list[str]:
    from ocr2synth.renderers.registry import REGISTRY

    return sorted(name for name in REGISTRY if name not in TASK_NAMES)


def _check_base_params(params: dict[str, Any]) -> None:
    """`base_params` are the base renderer's params: its schema decides."""
    from ocr2synth.renderers.registry import get_spec

    base = get_spec(str(params.get("base", DEFAULT_BASE)))
    try:
        check_params(base.params, params.get("base_params") or {}, base.name)
        if base.check_params:
            base.check_params(params.get("base_params") or {})
    except ParamError as exc:
        raise ParamError(f"base_params.{str(exc).removeprefix('params.')}") from None


BASE_PARAMS = (
    choice("base", DEFAULT_BASE, "the renderer whose samples the task is built on "
           "(one whose samples carry line boxes)", _bases),
    mapping("base_params", {}, "the base renderer's params"),
    text("from", "", "a rendered dataset (folder or s3://) whose samples are the base "
         "pages, read instead of rendered (`--from DIR`, a recipe's `base: {from: DIR}`); "
         "`base` and `base_params` are then unused"),
    text("from_hash", "", "the base dataset's hash, recorded by the recipe check; a base "
         "that changed since stops the job"),
)
# GOT's stage 3 builds its region, multi-crop and multi-page data on document pages of the
# earlier stages; stage 2's markdown pages are those pages here. multi-page's pages must be
# short (under 650 tokens): it cuts each stored page after a few blocks (tasks/cut.py).
STAGE_2_PAGES = ("markdown-page", {"content": "generated"})
TASK_REJECTS = ("bad-content", "base-render-error", "no-region", "single-tile",
                "too-few-pages", "base-not-a-page")

SPECS = [
    RendererSpec(
        "fine-grained", ref(f"{_HERE}.bases:TaskSource"),
        ref(f"{_HERE}.fine_grained:FineGrainedRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('the base page; colour prompts draw a 2-4 px frame 2-4 px outside the region'),
            ("`[x1, y1, x2, y2] OCR: ` (`box`), box on GOT's 0-1000 scale written as "
             'GotOcr2Processor writes it, rounded outwards; or `[red] OCR: ` / green / blue '
             '(`color`); `color_share` (0.5) splits them'),
            ("the region's lines as the base's text layer reports them, one per line"),
        ),
        description="region OCR on a base page: `[x1, y1, x2, y2] OCR: ` (task box) or "
        "`[red|green|blue] OCR: ` with a frame of that colour drawn (task color)",
        target_note="the plain text of the region's lines as the base renderer's text "
        "layer reports them, one line per line; regions come only from paragraphs whose "
        "lines reproduce the page target's prose exactly (no math, marks or bullets), "
        "and show no other line; the box is on GOT's 0-1000 scale, rounded outwards; "
        "`boxes` holds the region in pixels",
        params=(
            *BASE_PARAMS,
            number("color_share", 0.5, "share of colour prompts (a page with no room for a "
                   "frame asks by box)", 0, 1),
            choice("colors", ["red", "green", "blue"], "frame colours drawn from",
                   ("red", "green", "blue"), kind="choices"),
        ),
        check_params=_check_base_params,
        target_kind="text",
        naive=fresh_renderer_per_sample("fine-grained"),
        bench_from=STAGE_2_PAGES,
        got_mix={3: 600_000},
        demo=({"count": 8},),
        rejects=TASK_REJECTS,
        pair_proof="regions come only from paragraphs whose text-layer lines spell the "
        "page target's paragraph letter for letter, and show no other line",
    ),
    RendererSpec(
        "multi-crop", ref(f"{_HERE}.multi_crop:MultiCropSource"),
        ref(f"{_HERE}.multi_crop:MultiCropRenderer"),
        batch_size=32,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('`image`: 2-3 base pages side by side (`pages: [2, 3]`; consecutive pages of one '
             'document where the base source makes documents, as `markdown-page` does); '
             '`images`: the tiles of GOT/InternVL-1.5 dynamic preprocessing (up to 12 of '
             '1024x1024, grid by closest aspect ratio, ties to the larger grid while the image '
             'fills over half of it; `pipelines/format/tiling.py`, the same code the trainer '
             'uses) in reading order, then a 1024x1024 thumbnail'),
            ('`OCR with format upon the patch reference: `'),
            ("the pages' formatted targets, left to right, joined by a blank line"),
        ),
        description="2-3 base pages side by side, cut into GOT/InternVL dynamic tiles "
        "(up to 12 of 1024x1024 + thumbnail) in `images`",
        target_note="the pages' formatted targets left to right, joined by a blank line; "
        "`image` is the whole picture, `images` the tiles in reading order then the "
        "1024x1024 thumbnail, `meta.grid` the (columns, rows) of the grid rule "
        "in pipelines/format/tiling.py; `boxes` are the pages' boxes moved onto the picture",
        params=(
            *BASE_PARAMS,
            pair("pages", [2, 3], "base pages per picture, [lo, hi]", 1, 12),
            integer("tile", 1024, "tile side in pixels", 64, 4096),
            integer("max_tiles", 12, "most tiles per picture", 1, 64),
        ),
        check_params=_check_base_params,
        target_kind="markdown",
        naive=fresh_renderer_per_sample("multi-crop"),
        bench_from=STAGE_2_PAGES,
        got_mix={3: 500_000},
        demo=({"count": 8},),
        rejects=TASK_REJECTS,
        pair_proof="the target joins the base pages' own proven targets in picture order",
    ),
    RendererSpec(
        "multi-page", ref(f"{_HERE}.multi_page:MultiPageSource"),
        ref(f"{_HERE}.multi_page:MultiPageRenderer"),
        batch_size=16,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('`images`: 2-8 pages (`pages: [2, 8]`), each a base document shortened to a few '
             'blocks (`blocks: [2, 6]`) so it fits the token limit, or from a stored base '
             '(`--from`) a stored page cut after that many blocks, white below the cut (and '
             "right of the first column); `image` is the first page"),
            ('`OCR with format across multi pages: `'),
            ("the pages' formatted targets in order, joined by a blank line"),
        ),
        description="2-8 short base pages as one input (`images`), GOT's multi-page OCR",
        target_note="the pages' formatted targets in page order, joined by a blank line; "
        "each page under 650 tokens and all under 8000 by a conservative estimate "
        "(renderers/tasks/tokens.py); `image` is the first page. A stored page (`--from`) "
        "is cut after its first blocks: its target is the stored target through those "
        "blocks' text, found verbatim in order, its image the stored one above the cut "
        "(in the first column of two) and white elsewhere; no kept block refers to a "
        "footnote; `meta.base_samples` names the rows and the blocks kept",
        params=(
            *BASE_PARAMS,
            pair("pages", [2, 8], "pages per sample, [lo, hi]", 1, 16),
            pair("blocks", [2, 6], "blocks each base document is shortened to (a stored "
                 "page is cut after), [lo, hi]", 1, 1000),
            integer("max_page_tokens", 650, "token limit of one page (estimated)", 1),
            integer("max_total_tokens", 8000, "token limit of all pages (estimated)", 1),
        ),
        check_params=_check_base_params,
        target_kind="markdown",
        naive=fresh_renderer_per_sample("multi-page"),
        bench_from=STAGE_2_PAGES,
        got_mix={3: 200_000},
        demo=({"count": 8},),
        rejects=TASK_REJECTS,
        pair_proof="the target joins the base pages' own proven targets in page order; a "
        "stored page's cut is proven on its pixels: a white line at the cut, every kept "
        "block inked and above it, no ink in the kept area outside the kept blocks' boxes "
        "nor inside a dropped block's",
    ),
]
