"""The renderer this package provides: markdown-page (Mathpix markdown in Chromium)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.page_targets import target_param
from ocr2synth.renderers.params import choice, flag, integer, mapping, number, numbers, text
from ocr2synth.renderers.specs import RendererSpec, ref
from ocr2synth.renderers.text.corpus_params import CORPUS_PARAMS, check_source

_HERE = __package__  # this package, for the spec references below


BROWSER_PARAMS = (
    integer("restart_every", 2000, "pages (or charts) per browser before a fresh one", 1),
    text("tag", "", "a mark on the browser's processes, for tests to find them"),
)


def _fonts_problem(value: dict[str, Any]) -> str | None:
    for lang, families in value.items():
        if lang not in ("en", "zh"):
            return f"unknown language {lang!r} (en, zh)"
        if (not isinstance(families, list) or not families
                or not all(isinstance(f, str) for f in families)):
            return f"{lang}: expected a non-empty list of CSS font families"
    return None


def _markdown_source(path: str | None, params: dict[str, Any]) -> Source:
    if params.get("mode") == "formula":
        from ocr2synth.renderers.latex.formula_source import FormulaFile, GeneratedFormulas

        return FormulaFile(path) if path else GeneratedFormulas()  # latex-formula's source
    from ocr2synth.renderers.browser.markdown_source import GeneratedMarkdown, MarkdownFiles
    from ocr2synth.renderers.text.corpus import is_table_corpus

    if path and not is_table_corpus(path) and not _has_plain_files(path):
        # .md/.mmd files keep their own markdown, page after page
        return MarkdownFiles(path, int(params.get("page_chars", 3000)),
                             params.get("order", "spread") == "sequential")
    if params.get("content", "real") == "generated" and not path:
        return GeneratedMarkdown(float(params.get("zh", 0.2)), int(params.get("pages", 4)))
    from ocr2synth.renderers.browser.real_markdown import RealMarkdown

    return RealMarkdown.from_params(path, params)


def _has_plain_files(path: str) -> bool:
    """A folder (or file) of .tex sources: read as prose, not as markdown."""
    from pathlib import Path

    root = Path(path)
    files = [root] if root.is_file() else list(root.rglob("*.tex"))
    return any(f.suffix == ".tex" for f in files)


def _kind(task: str, target: str, meta: dict[str, Any]) -> str:
    # formula mode: a formula typeset by MathJax, its target the LaTeX
    if task == "layout":
        return "layout"
    return "math" if meta.get("engine") == "mathjax" else "markdown"


SPECS = [
    RendererSpec(
        "markdown-page", _markdown_source,
        ref(f"{_HERE}.markdown_page:MarkdownPageRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('real prose by default (the Debian Reference in English and Simplified Chinese, '
             '`--param zh=0.2`, mixed with generated math, tables and lists, as `latex-page`), '
             'or `--source` Parquet/JSONL (`column`) or `.tex`; `content: generated` gives '
             'generated Mathpix-markdown documents (the `latex-page` grammar plus bold/italic '
             'and markdown tables: headings, paragraphs, lists, `\\(..\\)`/`\\[..\\]` math, '
             '`tabular` and markdown tables, footnotes); documents of `pages` pages (default '
             '4); or `--source DIR` of `.md`/`.mmd`, each '
             'file one document of about (its characters / `page_chars`, default 3000) pages, '
             'after removing raw HTML, images and link targets; a page starts where the one '
             'before it stopped; rendered by mathpix-markdown-it in headless Chromium, one or '
             'two columns, 896-1152 px wide, varied fonts, sizes, line spacing and margins; '
             '`--param mode=formula` renders the formula sources through MathJax instead'),
            ('Mathpix markdown of exactly the blocks the page shows (a block that does not fit '
             'whole goes to the next page), footnotes last as `[^n]: text`; boxes: block boxes, '
             'then line boxes from the DOM, in pixels (formula mode: the LaTeX)'),
        ),
        description="Mathpix-markdown pages rendered by mathpix-markdown-it in headless "
        "Chromium (target: Mathpix markdown; block/line boxes); `mode: formula` renders "
        "single formulas with MathJax (target: the LaTeX)",
        target_note="the Mathpix markdown of exactly the blocks the page shows, in "
        "reading order (a block that does not fit whole starts the next page, which is "
        "the next sample); "
        "footnotes last as `[^n]: text`, drawn as superscript marks and a page foot",
        params=(
            choice("mode", "page", "page: markdown documents; formula: formulas by MathJax",
                   ("page", "formula")),
            numbers("widths", [896, 1024, 1152], "page widths drawn per document, px", 200,
                    4096),
            numbers("columns", [1, 1, 2], "column counts drawn per document", 1, 2),
            mapping("fonts", {}, "CSS font families per language (en, zh), replacing the "
                    "built-in lists", _fonts_problem),
            flag("page_text", False, "keep the page's DOM text in meta, for checks"),
            integer("per_capture", 2, "pages laid out side by side and captured at once",
                    1, 2),
            integer("window_chars", 0, "markdown characters first handed to a page (0: from "
                    "its style)", 0),
            flag("frame_control", True, "Chromium draws only the frames captured"),
            *BROWSER_PARAMS,
            number("zh", 0.2, "share of Chinese documents (real prose or generated)", 0, 1),
            integer("pages", 4, "pages per document (real prose or generated)", 1),
            integer("page_chars", 3000, "characters per page when estimating a --source "
                    "file's pages", 1),
            target_param(),
            *CORPUS_PARAMS,
        ),
        check_source=check_source,
        target_kind=_kind,
        naive=ref(f"{_HERE}.baseline:naive_markdown_page"),
        got_mix={2: 1_000_000},
        demo=({"count": 8},
              {"name": "markdown-page-layout", "count": 4, "params": {"target": "layout"}}),
        rejects=("bad-content", "document-ended", "empty", "mathjax-error", "no-math",
                 "nothing-fits", "raw-math", "too-large", "browser-crash", "timeout",
                 "too-long", "bad-encoding", "unreadable", "screenshot", "layout-ink",
                 "split-block"),
        pair_proof="every block that does not fit whole is removed from the DOM before the "
        "capture, so the target is the markdown of exactly what the page shows. Layout: "
        "each block's box is its element's client rects, tightened to its ink; no two "
        "boxes may share ink",
    ),
]
