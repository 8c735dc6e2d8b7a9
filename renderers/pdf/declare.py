"""The renderer this package provides: pdf-page (PDF pages and their line and paragraph
slices, with the text layer as target)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.page_targets import kind_by_task, target_param
from ocr2synth.renderers.params import choice, number, pair
from ocr2synth.renderers.specs import RendererSpec, ref
from ocr2synth.renderers.text.corpus_params import LICENSE, ORDER

_HERE = __package__  # this package, for the spec references below


def _pdf_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.pdf.source import GeneratedPdfs, PdfFolder

    sequential = params.get("order", "spread") == "sequential"
    if path:
        return PdfFolder(path, sequential, license=str(params.get("license", "")))
    if params.get("content", "real") == "generated":
        return GeneratedPdfs(float(params.get("zh", 0.2)))
    from ocr2synth.renderers.pdf import texlive_docs

    if not texlive_docs.available():
        raise FileNotFoundError(f"{texlive_docs.ROOT}: no PDFs; install Debian's "
                                f"{' and '.join(texlive_docs.PACKAGES)} (make setup), or "
                                "pass --param content=generated")
    return PdfFolder(texlive_docs.ROOT, sequential, "texlive-doc", texlive_docs.license_of)


SPECS = [
    RendererSpec(
        "pdf-page", _pdf_source, ref(f"{_HERE}.page:PdfPageRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('by default the TeX Live manuals Debian ships (about 630 real typeset PDFs, '
             '`texlive-*-doc`), or `--source DIR` of PDFs; pages spread over the files (round '
             'r takes a seeded page of every file with more than r pages; `order: sequential` '
             "walks the files in path order); `content: generated`: `latex-page`'s generated "
             'documents compiled to PDF in-process; rasterized by PyMuPDF or poppler (`backend: '
             'pymupdf\\|poppler`) at a per-sample dpi (`dpi: [100, 200]`); `unit: '
             'page\\|line\\|paragraph` (or a list)'),
            ("the page's plain text from its own text layer (prompt `OCR: `), lines in reading "
             "order with a blank line between paragraphs; slices: the line, or the paragraph's "
             'lines; boxes: paragraph boxes, then line boxes, in pixels'),
        ),
        description="PDF pages (TeX Live's manuals, a --source folder, or latex-page documents "
        "compiled to PDF) rasterized by PyMuPDF or poppler (target: the text layer in reading "
        "order; line/paragraph boxes); `unit: line|paragraph` gives stage-1 slices",
        target_note="plain text from the PDF's own text layer: lines in reading order "
        "(two-column pages column by column), a blank line between paragraphs; pages "
        "with an empty, garbled or scanned (image-only) text layer are rejected. "
        "target=layout (whole pages): generated documents get latex-page's layout of "
        "the page (from pdfTeX's marks); a PDF file is rejected (no-roles): its text layer "
        "records where text is, not which blocks are headings, captions or running heads",
        params=(
            pair("dpi", [100, 200], "resolution drawn per item, [lo, hi]", 36, 600),
            choice("backend", "pymupdf", "rasterizer; poppler (pdf2image) renders whole "
                   "pages only", ("pymupdf", "poppler")),
            choice("unit", "page", "page, or a line or paragraph slice; a list is drawn from "
                   "per item", ("page", "line", "paragraph"), kind="choice-or-list"),
            choice("color", "auto", "auto keeps RGB only for pages that show colour",
                   ("auto", "gray", "rgb")),
            number("zh", 0.2, "share of Chinese documents in the generated source", 0, 1),
            target_param(),
            choice("content", "real", "real: the TeX Live manuals Debian ships (or the "
                   "--source folder); generated: latex-page documents compiled to PDF",
                   ("real", "generated")),
            ORDER,
            LICENSE,
        ),
        target_kind=kind_by_task("text"),
        naive=ref(f"{_HERE}.baseline:naive_pdf_page"),
        bench_params={"dpi": [150, 150]},  # its speed goal names 150 dpi
        bench_corpus=ref(f"{_HERE}.baseline:bench_corpus"),
        got_mix={1: 2_000_000},  # PDF pages 1.2M + line/paragraph slices 0.8M
        demo=({"count": 8},
              {"name": "pdf-page-layout", "count": 4,
               "params": {"target": "layout", "content": "generated"}},
              {"name": "pdf-slices", "count": 8, "params": {"unit": ["line", "paragraph"]},
               "degrade": {"p": 0.5}}),
        rejects=("bad-content", "bad-page", "corrupt-pdf", "encrypted", "zero-page",
                 "missing-page", "raster-error", "slice-cut", "slice-overlap", "no-line",
                 "no-paragraph", "scanned-page", "no-text-layer", "garbled-text",
                 "tex-error", "timeout", "lost-block", "split-block", "layout-text",
                 "layout-ink", "blank", "no-roles"),
        pair_proof="the target is the page's own text layer; a slice's text inside its crop "
        "must be exactly the target and no ink may touch the crop's edge. Layout (whole "
        "pages): generated documents only, as latex-page's layout of the page",
    ),
]
