"""The renderer this package provides: mixed-page (prose with captioned OCR-2.0 objects,
each drawn by its own renderer)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.baselines import fresh_renderer_per_sample
from ocr2synth.renderers.page_targets import kind_by_task, target_param
from ocr2synth.renderers.params import choice, number, numbers
from ocr2synth.renderers.specs import RendererSpec, ref
from ocr2synth.renderers.text.corpus_params import CONTENT, SOURCE_PARAMS, check_source

_HERE = __package__  # this package, for the spec references below
_OBJECTS = ("latex-formula", "latex-table", "molecule", "tikz", "chart-mpl",
            "chart-echarts", "music")


def _source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.mixed.source import PAGE_BUDGET, MixedPages

    zh, objects = float(params.get("zh", 0.2)), params.get("objects")
    if params.get("content", "real") == "generated" and not path:
        return MixedPages(zh, objects)
    from ocr2synth.renderers.text.real_pages import make_prose

    return MixedPages(zh, objects, make_prose(path, params, PAGE_BUDGET))


SPECS = [
    RendererSpec(
        "mixed-page", _source, ref(f"{_HERE}.page:MixedPageRenderer"),
        # large batches: each object engine (TeX above all) starts once per batch
        batch_size=128,
        readme=(
            ("pages of real prose (the Debian Reference in English and Simplified Chinese, "
             "`--param zh=0.2`, or a `--source` Parquet/JSONL/text corpus: its headings, "
             "paragraphs and list items) with 2-4 captioned objects drawn by the project's "
             "own renderers (formulas, tables, charts of both engines, molecules, music, "
             "TikZ) set between its paragraphs, one or two columns; `content: generated` "
             "gives the prose grammar's text; captions are generated"),
            ("Mathpix markdown, each object inline in its own renderer's target (`\\[..\\]`, "
             "`tabular`, `<smiles>..</smiles>`, kern/tikz/chart fenced blocks); or "
             "`target=layout`"),
        ),
        description="pages mixing prose with captioned OCR-2.0 objects drawn by the other "
        "renderers (target: Mathpix markdown with each object's own target inline)",
        target_note="the page's blocks in reading order (column by column), a blank line "
        "between blocks: `# title`, `## heading`, prose, each object in its renderer's own "
        "target (formula `\\[ .. \\]`, table `tabular`, molecule `<smiles>..</smiles>`, "
        "music/TikZ/chart in ```kern/```tikz/```chart fences; a chart's fence holds its "
        "OneChart dict), then its caption as a paragraph; target=layout: the same blocks "
        "as {category, bbox, text}, objects' text their renderer's target verbatim",
        params=(
            choice("objects", "all", "the renderers whose objects pages hold", _OBJECTS,
                   kind="choices"),
            numbers("widths", [1000, 1100, 1240], "page widths drawn per page, px", 400, 4096),
            numbers("columns", None, "column counts drawn per page (default: the plan's, "
                    "one column in two pages of three, else two)", 1, 2),
            number("zh", 0.2, "share of Chinese pages (real prose or generated)", 0, 1),
            target_param(),
            CONTENT,
            *SOURCE_PARAMS,
        ),
        check_source=check_source,
        target_kind=kind_by_task("markdown"),
        # a fresh renderer per page: every object's engine started again for each page
        naive=fresh_renderer_per_sample("mixed-page"),
        got_mix={},
        demo=({"count": 8},
              {"name": "mixed-page-layout", "count": 4, "params": {"target": "layout"}}),
        # the corpus reader's reasons: a document that gives no passage
        rejects=("bad-content", "no-object", "not-drawn", "layout-ink", "empty",
                 "unsupported-script", "too-long", "bad-encoding", "not-text", "binary",
                 "unreadable"),
        pair_proof="each object's target is the one its own renderer emitted for it; the "
        "targets are written from the page's record of what it placed, and every placed "
        "object's pixels are checked in the page as pasted; no two blocks may share ink",
    ),
]
