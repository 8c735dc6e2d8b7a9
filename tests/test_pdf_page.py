"""`pdf-page`: boxes that hold exactly their text, slices, reading order, bad PDFs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from ocr2synth.pipelines.core.plan import ChunkSpec, ShardSpec, sample_seed
from ocr2synth.pipelines.core.recipe import ImageSettings, parse_recipe
from ocr2synth.pipelines.core.worker import RenderWorker
from ocr2synth.renderers.base import Reject, Sample
from ocr2synth.renderers.pdf.page import PdfPageRenderer, same_text
from ocr2synth.renderers.pdf.source import GeneratedPdfs, PdfFolder
from ocr2synth.renderers.pdf.text import PageText, Paragraph, clean, quality_problem
from PIL import Image

ZERO_PAGE_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                 b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                 b"trailer << /Root 1 0 R >>\n%%EOF\n")
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def _text_pdf(path: Path, pages: int, lines: int = 12, rotate: int = 0) -> None:
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=420, height=595)
        for i in range(lines):
            words = " ".join(WORDS[(n + i + j) % len(WORDS)] for j in range(6))
            page.insert_text((50, 60 + 22 * i), f"{n}.{i} {words}", fontsize=11)
        page.set_rotation(rotate)
    doc.save(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pdfs")
    _text_pdf(root / "a-text.pdf", 2)
    _text_pdf(root / "b-rotated.pdf", 1, rotate=90)
    secret = pymupdf.open()
    secret.new_page().insert_text((72, 72), "top secret")
    secret.save(root / "c-encrypted.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
                user_pw="user", owner_pw="owner")
    (root / "d-corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    (root / "e-zero.pdf").write_bytes(ZERO_PAGE_PDF)
    scan = pymupdf.open()
    page = scan.new_page(width=420, height=595)
    picture = Image.new("L", (420, 595), 235)
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    page.insert_image(page.rect, stream=buf.getvalue())
    # an OCR layer: invisible text over the picture, as scanners write it
    page.insert_text((50, 80), "invisible words of a scanner", render_mode=3)
    scan.save(root / "f-scanned.pdf")
    drawing = pymupdf.open()
    drawing.new_page().draw_rect(pymupdf.Rect(50, 50, 300, 300), color=(0, 0, 0), width=3)
    drawing.save(root / "g-drawing.pdf")
    # character codes Helvetica's encoding leaves empty: the text layer reads control codes
    codes = "".join(f"\\{c:03o}" for c in [*range(1, 8), *range(14, 30)])
    (root / "h-garbled.pdf").write_bytes(_raw_pdf([f"BT /F1 11 Tf 20 50 Td (ab{codes}cd) Tj ET"]))
    return root


def _render(renderer: PdfPageRenderer, source, ks: list[int]) -> list[Sample | Reject]:
    return renderer.render_batch([source.item(sample_seed(7, "pdf-page", k), k) for k in ks])


def test_folder_index_keeps_one_slot_per_unreadable_file(corpus):
    source = PdfFolder(corpus)
    assert [(Path(f.path).name, f.pages, (f.problem or "").split(":")[0])
            for f in source.files] == [
        ("a-text.pdf", 2, ""), ("b-rotated.pdf", 1, ""), ("c-encrypted.pdf", 1, "encrypted"),
        ("d-corrupt.pdf", 1, "corrupt-pdf"), ("e-zero.pdf", 1, "zero-page"),
        ("f-scanned.pdf", 1, ""), ("g-drawing.pdf", 1, ""), ("h-garbled.pdf", 1, "")]
    assert source.size() == 9
    assert source.item(1, 10).content["page"] == 1  # wraps around: 10 % 9 = page 1 of a-text


def test_bad_inputs_become_specific_rejects(corpus):
    renderer = PdfPageRenderer({"dpi": [72, 72]}, 10)
    try:
        outcomes = _render(renderer, PdfFolder(corpus), list(range(9)))
    finally:
        renderer.close()
    kinds = [o.reason if isinstance(o, Reject) else "ok" for o in outcomes]
    assert kinds == ["ok", "ok", "ok", "encrypted", "corrupt-pdf", "zero-page",
                     "scanned-page", "no-text-layer", "garbled-text"]


def test_garbled_text_layer_is_rejected():
    page = pymupdf.open().new_page()
    garbled = PageText([Paragraph()], chars=300, bad_chars=60, invisible_chars=0, columns=1)
    assert quality_problem(page, garbled)[0] == "garbled-text"
    fine = PageText([Paragraph()], chars=300, bad_chars=3, invisible_chars=0, columns=1)
    assert quality_problem(page, fine) is None
    assert clean("a\ufffdb\ue000c\x88  d") == "abc d"


def _points(sample: Sample, page: pymupdf.Page, box) -> pymupdf.Rect:
    """A pixel box of a page sample back in text-layer points of the unrotated page."""
    sx, sy = sample.image.width / page.rect.width, sample.image.height / page.rect.height
    shown = pymupdf.Rect(box.x0 / sx, box.y0 / sy, box.x1 / sx, box.y1 / sy)
    return shown * page.derotation_matrix


@pytest.mark.parametrize("backend", ["pymupdf", "poppler"])
def test_line_boxes_hold_exactly_their_text(corpus, backend):
    """Each line box, mapped back onto the page, reads (from the PDF's own text layer)
    exactly the box's text, and its pixels hold ink: boxes are where the text is drawn."""
    renderer = PdfPageRenderer({"dpi": [100, 150], "backend": backend}, 10)
    source = PdfFolder(corpus)
    try:
        outcomes = _render(renderer, source, [0, 1, 2])
    finally:
        renderer.close()
    for k, sample in zip([0, 1, 2], outcomes, strict=True):
        assert isinstance(sample, Sample), sample
        content = source.item(0, k).content
        page = pymupdf.open(content["path"])[content["page"]]
        lines = sample.boxes[sample.meta["paragraph_boxes"]:]
        assert len(lines) == 12
        assert sample.target.replace("\n\n", "\n").split("\n") == [b.text for b in lines]
        for box in lines:
            assert same_text(page.get_textbox(_points(sample, page, box)), box.text), box
            crop = sample.image.convert("L").crop((int(box.x0), int(box.y0),
                                                   int(box.x1) + 1, int(box.y1) + 1))
            assert crop.getextrema()[0] < 128, f"no ink under {box.text!r}"
    rotated = outcomes[2]
    assert rotated.image.width > rotated.image.height  # the page is shown turned


@pytest.fixture(scope="module")
def generated() -> list[Sample | Reject]:
    renderer = PdfPageRenderer({"dpi": [90, 110], "zh": 0.0}, 20)
    try:
        return _render(renderer, GeneratedPdfs(0.0), list(range(10)))
    finally:
        renderer.close()


def test_generated_pages_boxes_and_reading_order(generated):
    samples = [s for s in generated if isinstance(s, Sample)]
    assert len(samples) >= 8
    assert any(s.meta["columns"] == 2 for s in samples)
    for sample in samples:
        assert sample.prompt == "OCR: " and sample.task == "ocr"
        lines = sample.boxes[sample.meta["paragraph_boxes"]:]
        assert "\n".join(b.text for b in lines) == sample.target.replace("\n\n", "\n")
        if sample.meta["columns"] == 2:
            # column by column: once a line of the right column is read, no left-column
            # line follows until a full-width block starts a new band
            mid = sample.image.width / 2
            sides = [0 if b.x1 <= mid else 1 if b.x0 >= mid else -1 for b in lines]
            for prev, cur in zip(sides, sides[1:], strict=False):
                assert not (prev == 1 and cur == 0), sample.meta


def test_slices_are_one_line_or_paragraph_and_deterministic(tmp_path):
    doc = pymupdf.open()
    for n in range(2):
        page = doc.new_page(width=420, height=595)
        for i in range(3):
            words = " ".join(WORDS[(n + i + j) % len(WORDS)] for j in range(30))
            page.insert_textbox(pymupdf.Rect(50, 60 + 160 * i, 370, 200 + 160 * i),
                                f"{n}.{i} {words}", fontsize=11)
    doc.save(tmp_path / "paragraphs.pdf")
    params = {"dpi": [150, 150], "unit": ["line", "paragraph"]}
    source = PdfFolder(tmp_path)
    first = PdfPageRenderer(params, 10)
    second = PdfPageRenderer(params, 10)
    try:
        a = _render(first, source, [0, 1, 8, 9])
        b = _render(second, source, [0, 1, 8, 9])
    finally:
        first.close()
        second.close()
    assert [s.target for s in a] == [s.target for s in b]
    assert [s.image.tobytes() for s in a] == [s.image.tobytes() for s in b]
    assert {s.meta["unit"] for s in a} == {"line", "paragraph"}
    for sample in a:
        assert isinstance(sample, Sample), sample
        lines = sample.target.split("\n")
        assert len(lines) == 1 if sample.meta["unit"] == "line" else len(lines) >= 2
        # a line slice is a short, wide crop; its box covers the crop's ink
        assert [b.text for b in sample.boxes] == lines
        assert sample.image.height < 40 * len(lines) * 150 / 72


def _raw_pdf(streams: list[str]) -> bytes:
    """A PDF of one page per content stream, written directly (PyMuPDF takes seconds to
    make 2,000 pages; this takes milliseconds), all pages sharing one Helvetica font."""
    count = len(streams)
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(count))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for n, stream in enumerate(streams):
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * n} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def _many_pages(count: int) -> bytes:
    """`count` pages reading "page number N"."""
    return _raw_pdf([f"BT /F1 11 Tf 20 50 Td (page number {n}) Tj ET" for n in range(count)])


def test_two_thousand_page_pdf_is_indexed_and_rendered(tmp_path):
    (tmp_path / "big.pdf").write_bytes(_many_pages(2000))
    source = PdfFolder(tmp_path)
    assert source.size() == 2000
    worker = RenderWorker(ImageSettings(), timeout_s=10)
    # sequential: item k is page k, wrapping past the end (spread is tested in
    # test_corpus_sources.py)
    shard = ShardSpec(0, 0, "pdf-page", "pdf-page", {"dpi": [72, 72], "order": "sequential"},
                      str(tmp_path), 1995, 2003)
    try:
        result = worker.render_chunk(ChunkSpec(shard, 1995, 2003, 5))
    finally:
        worker.close()
    assert [r["target"] for r in result.rows] == [f"page number {n % 2000}"
                                                  for n in range(1995, 2003)]


def test_renders_through_ray(ray_address, corpus, tmp_path):
    import pyarrow.parquet as pq
    from ocr2synth.pipelines.core.runner import run_recipe

    raw = {"name": "pdf", "seed": 3, "shard_size": 4, "max_reject_rate": 1.0,
           "entries": [{"renderer": "pdf-page", "count": 9, "source": str(corpus),
                        "params": {"dpi": [72, 96]}}]}
    run_recipe(parse_recipe(raw, Path.cwd(), {"pdf-page"}), tmp_path, workers=1,
               progress=False)
    rows = [r for p in sorted((tmp_path / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()]
    rejects = [json.loads(line) for p in sorted((tmp_path / "rejects").glob("*.jsonl"))
               for line in p.read_text().splitlines()]
    assert len(rows) == 3 and all(r["prompt"] == "OCR: " for r in rows)
    assert sorted(r["reason"] for r in rejects) == [
        "corrupt-pdf", "encrypted", "garbled-text", "no-text-layer", "scanned-page",
        "zero-page"]


def test_colour_pages_stay_rgb_and_black_pages_are_grey(tmp_path):
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "black words on a page")
    doc.new_page().insert_text((72, 72), "red words on a page", color=(0.8, 0, 0))
    ruled = doc.new_page()
    ruled.insert_text((72, 72), "black words under a blue rule")
    ruled.draw_line((72, 80), (300, 80), color=(0, 0, 1), width=2)
    doc.save(tmp_path / "colours.pdf")
    renderer = PdfPageRenderer({"dpi": [72, 72]}, 10)
    try:
        samples = _render(renderer, PdfFolder(tmp_path), [0, 1, 2])
    finally:
        renderer.close()
    assert [s.image.mode for s in samples] == ["L", "RGB", "RGB"]
    red = np.asarray(samples[1].image)
    assert (red[..., 0].astype(int) - red[..., 2] > 100).any()
