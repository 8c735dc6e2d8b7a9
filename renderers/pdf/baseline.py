"""The bench's corpus and naive baseline for pdf-page."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pymupdf
from ocr2synth.renderers.base import Item, Reject
from ocr2synth.renderers.imaging import encode_image


def bench_pdf(items: list[Item], path: Path) -> int:
    """One PDF of the pages `pdf-page` would pick for these items from its default source,
    typeset beforehand so that the timed part is PDF -> sample only."""
    from ocr2synth.renderers.pdf.page import PdfPageRenderer

    renderer = PdfPageRenderer({}, timeout_s=20)
    with pymupdf.open() as out:
        try:
            for _, typeset in renderer.typeset(items, list(range(len(items)))):
                if not isinstance(typeset, Reject):
                    pdf, number, _, _ = typeset
                    out.insert_pdf(pdf, from_page=number, to_page=number)
        finally:
            renderer.close()
        out.save(path)
        return out.page_count


def bench_corpus(items: list[Item], folder: Path) -> str:
    """The --source folder the bench measures pdf-page on."""
    bench_pdf(items, folder / "bench.pdf")
    return str(folder)


def naive_pdf_page(items: list[Item]) -> float:
    """pdf2image's default path: one `convert_from_path(first_page=p, last_page=p)` call
    (a pdftoppm process) per page of the same PDF, then the same text-layer read and
    encode."""
    from ocr2synth.renderers.pdf.text import read_page
    from pdf2image import convert_from_path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "bench.pdf")
        pages = bench_pdf(items, path)
        started = time.perf_counter()
        with pymupdf.open(path) as doc:
            for number in range(pages):
                image = convert_from_path(path, dpi=150, first_page=number + 1,
                                          last_page=number + 1)[0]
                read_page(doc[number])
                encode_image(image, "png", 1, "auto")
        return pages / (time.perf_counter() - started)
