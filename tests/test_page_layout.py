"""Layout targets (`--param target=layout`): every box holds ink and no other block's ink,
the categories are what the page placed, the texts are the page's own, the image is the
same page as the format target's, and the checks reject what breaks them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ocr2synth.renderers.base import PROMPT_LAYOUT, Item, Reject, Sample
from ocr2synth.renderers.layout import CATEGORIES, INK_BELOW, LayoutBlock, layout_target
from PIL import Image, ImageDraw


def pixel_boxes(target: str, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    w, h = size
    return [(round(b["bbox"][0] * w / 1000), round(b["bbox"][1] * h / 1000),
             round(b["bbox"][2] * w / 1000), round(b["bbox"][3] * h / 1000))
            for b in json.loads(target)]


def assert_boxes_hold_their_own_ink(sample: Sample) -> None:
    """Each box (read back from the 0-1000 target) holds ink; a box shrunk by the
    rounding (a unit each side) shares no ink with any other."""
    ink = np.asarray(sample.image.convert("L")) < INK_BELOW
    boxes = pixel_boxes(sample.target, sample.image.size)
    w, h = sample.image.size
    unit_x, unit_y = int(np.ceil(w / 1000)), int(np.ceil(h / 1000))
    for n, (x0, y0, x1, y1) in enumerate(boxes):
        assert ink[y0:y1, x0:x1].any(), f"box {n} holds no ink"
    inner = [(x0 + unit_x, y0 + unit_y, x1 - unit_x, y1 - unit_y) for x0, y0, x1, y1 in boxes]
    for a in range(len(inner)):
        for b in range(a + 1, len(inner)):
            x0, y0 = max(inner[a][0], inner[b][0]), max(inner[a][1], inner[b][1])
            x1, y1 = min(inner[a][2], inner[b][2]), min(inner[a][3], inner[b][3])
            if x1 > x0 and y1 > y0:
                assert not ink[y0:y1, x0:x1].any(), f"boxes {a} and {b} share ink"


@pytest.mark.unit
def test_layout_target_tightens_and_scales():
    image = Image.new("L", (200, 100), 255)
    ImageDraw.Draw(image).rectangle((20, 10, 59, 29), fill=0)
    target, problem = layout_target([LayoutBlock("text", 10, 5, 80, 40, "a")], image)
    assert problem is None
    assert json.loads(target) == [{"category": "text", "bbox": [100, 100, 300, 300],
                                   "text": "a"}]


@pytest.mark.unit
def test_layout_target_rejects_empty_shared_and_unknown():
    image = Image.new("L", (200, 100), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 10, 59, 29), fill=0)
    draw.rectangle((100, 10, 139, 29), fill=0)
    # a box over blank paper
    assert layout_target([LayoutBlock("text", 150, 50, 190, 90, "")], image)[1]
    # two boxes that both reach into the first rectangle's ink
    both = [LayoutBlock("text", 10, 5, 80, 40, "a"), LayoutBlock("text", 50, 5, 150, 40, "b")]
    assert "share ink" in layout_target(both, image)[1]
    # boxes side by side, each around its own ink, pass
    apart = [LayoutBlock("text", 10, 5, 80, 40, "a"), LayoutBlock("table", 90, 5, 150, 40, "b")]
    assert layout_target(apart, image)[1] is None
    assert "category" in layout_target([LayoutBlock("figure", 10, 5, 80, 40, "")], image)[1]


def latex_categories(content: dict, shown: list[int]) -> list[str]:
    """What latex-page placed on the page, from the source document: its blocks' kinds,
    then one footnote per note their prose calls."""
    out, notes = [], 0
    for i in shown:
        block = content["blocks"][i]
        kind = block["kind"]
        out.append({"heading": "title" if block.get("level") == 1 else "section-header",
                    "para": "text", "item": "list-item", "display": "formula",
                    "table": "table"}[kind])
        notes += sum(1 for part in block.get("parts", []) if part[0] == "f")
    return out + ["footnote"] * notes


@pytest.fixture(scope="module")
def latex_pages():
    from ocr2synth.renderers.registry import get_spec

    spec = get_spec("latex-page")
    source = spec.make_source(None, {})
    items = [source.item(7100 + k, k) for k in range(10)]
    outcomes = {}
    for target in ("format", "layout"):
        renderer = spec.make_renderer({"target": target}, 30)
        try:
            outcomes[target] = renderer.render_batch(items)
        finally:
            renderer.close()
    return items, outcomes


@pytest.mark.engine
def test_latex_page_layout_is_the_format_pages_blocks(latex_pages):
    items, outcomes = latex_pages
    kept = 0
    seen: set[str] = set()
    for item, fmt, lay in zip(items, outcomes["format"], outcomes["layout"], strict=True):
        if not isinstance(lay, Sample):
            assert lay.reason in ("layout-text", "layout-ink", "split-block", "lost-block",
                                  "overfull", "clipped", "blank"), lay
            continue
        assert isinstance(fmt, Sample)
        assert lay.task == "layout" and lay.prompt == PROMPT_LAYOUT
        # the same page, pixel for pixel: the layout marks change nothing drawn
        assert lay.image.tobytes() == fmt.image.tobytes()
        rows = json.loads(lay.target)
        assert [r["category"] for r in rows] == latex_categories(item.content,
                                                                 lay.meta["blocks"])
        assert all(isinstance(v, int) and 0 <= v <= 1000 for r in rows for v in r["bbox"])
        # the texts are the format target's pieces, in its order
        for row in rows:
            assert row["text"] in fmt.target
        assert fmt.target.startswith(rows[0]["text"])
        assert_boxes_hold_their_own_ink(lay)
        seen.update(r["category"] for r in rows)
        kept += 1
    assert kept >= 6
    assert {"text", "list-item", "section-header", "formula"} <= seen <= set(CATEGORIES)


@pytest.mark.engine
def test_latex_text_check_refuses_another_blocks_text(latex_pages):
    """The text check that keeps a box honest fails when the box holds another block."""
    import pymupdf
    from ocr2synth.renderers.latex.page_layout import _spans, text_in, text_problem

    items, outcomes = latex_pages
    item, lay = next((i, o) for i, o in zip(items, outcomes["layout"], strict=True)
                     if isinstance(o, Sample))
    rows = json.loads(lay.target)
    paras = [(n, item.content["blocks"][b]) for n, b in enumerate(lay.meta["blocks"])
             if item.content["blocks"][b]["kind"] == "para"]
    assert len(paras) >= 2
    renderer_pdf = _typeset_alone(item)
    page = renderer_pdf[0]
    scale = page.rect.width / 1000
    (na, a), (_, b) = paras[0], paras[1]
    rect_a = [v * (scale if i % 2 == 0 else page.rect.height / 1000)
              for i, v in enumerate(rows[na]["bbox"])]
    rect_a = pymupdf.Rect(rect_a[0] - 1, rect_a[1] - 1, rect_a[2] + 1, rect_a[3] + 1)
    inside = text_in(_spans(page), tuple(rect_a))
    assert text_problem(inside, a) == ""
    assert text_problem(inside, b) != ""


def _typeset_alone(item: Item):
    """The item's chosen page alone, as latex-page typesets it (a one-page PDF)."""
    from ocr2synth.renderers.latex.page import LatexPageRenderer, pick_page

    renderer = LatexPageRenderer({"target": "layout"}, 30)
    try:
        style = renderer.style(item)
        key = f"{style['layout']}|{style['lang']}"
        import pymupdf

        with renderer.engine.typeset(renderer.preamble(key), [renderer.body(item, style)],
                                     multipage=True) as batch:
            number = pick_page(batch.page_ranges[0], style["page_pick"])
            out = pymupdf.open()
            out.insert_pdf(batch.pdf, from_page=number, to_page=number)
            return out
    finally:
        renderer.close()


@pytest.mark.engine
def test_reject_reasons_are_declared(latex_pages):
    from ocr2synth.renderers.registry import get_spec

    declared = set(get_spec("latex-page").rejects)
    for outcome in latex_pages[1]["layout"]:
        if isinstance(outcome, Reject):
            assert outcome.reason in declared


def render(name: str, params: dict, items: list[Item]) -> list:
    from ocr2synth.renderers.registry import get_spec

    renderer = get_spec(name).make_renderer(params, 30)
    try:
        return renderer.render_batch(items)
    finally:
        renderer.close()


@pytest.mark.engine
def test_markdown_page_layout_is_the_pages_blocks():
    from ocr2synth.renderers.browser.markdown_page import target_markdown
    from ocr2synth.renderers.registry import get_spec

    source = get_spec("markdown-page").make_source(None, {})
    items = [source.item(7300 + k, k) for k in range(8)]
    kept = 0
    for item, lay in zip(items, render("markdown-page", {"target": "layout"}, items),
                         strict=True):
        if not isinstance(lay, Sample):
            assert lay.reason in ("split-block", "layout-ink", "document-ended"), lay
            continue
        assert lay.task == "layout" and lay.prompt == PROMPT_LAYOUT
        rows = json.loads(lay.target)
        blocks = [item.content["blocks"][i] for i in lay.meta["blocks"]]
        body = rows[:len(blocks)]
        want = [{"heading": "title" if b["md"].startswith("# ") else "section-header",
                 "para": "text", "item": "list-item", "display": "formula", "table": "table",
                 "mdtable": "table"}[b["kind"]] for b in blocks]
        assert [r["category"] for r in body] == want
        assert [r["text"] for r in body] == [b["md"] for b in blocks]
        notes = rows[len(blocks):]
        assert all(r["category"] == "footnote" for r in notes)
        # the texts are the page's markdown, block by block
        shown_notes = [{"n": int(r["text"][2:].split("]")[0]), "md": r["text"].split(": ", 1)[1]}
                       for r in notes]
        assert target_markdown(blocks, shown_notes).startswith(body[0]["text"])
        assert_boxes_hold_their_own_ink(lay)
        kept += 1
    assert kept >= 5


@pytest.mark.engine
def test_pdf_page_layout_generated_pages_and_refused_files(tmp_path):
    from ocr2synth.renderers.registry import get_spec

    spec = get_spec("pdf-page")
    generated = {"content": "generated"}  # the default, real PDFs, carry no block roles
    items = [spec.make_source(None, generated).item(7400 + k, k) for k in range(4)]
    layouts = render("pdf-page", {"target": "layout", **generated}, items)
    pages = [o for o in layouts if isinstance(o, Sample)]
    assert len(pages) >= 3
    for sample in pages:
        rows = json.loads(sample.target)
        assert sample.task == "layout" and rows
        assert {r["category"] for r in rows} <= set(CATEGORIES)
        assert_boxes_hold_their_own_ink(sample)
    # a PDF file says nothing of its blocks' roles: no guessed layout
    pdf = tmp_path / "one.pdf"
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Hello layout", fontsize=12)
    doc.save(pdf)
    files = spec.make_source(str(tmp_path), {})
    outcome = render("pdf-page", {"target": "layout"}, [files.item(1, 0)])[0]
    assert isinstance(outcome, Reject) and outcome.reason == "no-roles"


@pytest.mark.unit
def test_gallery_draws_layout_boxes_over_the_page():
    import io

    from ocr2synth.pipelines.tools.preview import LAYOUT_COLOUR, _Drawings, target_kind

    page = Image.new("L", (400, 200), 255)
    buf = io.BytesIO()
    page.save(buf, "PNG")
    target = json.dumps([{"category": "table", "bbox": [250, 500, 750, 900], "text": "x"}])
    png, note = _Drawings.layout(buf.getvalue(), target)
    drawn = Image.open(io.BytesIO(png)).convert("RGB")
    assert drawn.size == page.size and "boxes" in note
    assert drawn.getpixel((100, 150)) == LAYOUT_COLOUR["table"]  # the box's left edge
    assert drawn.getpixel((200, 150)) == (255, 255, 255)  # inside: the page untouched
    assert _Drawings.layout(buf.getvalue(), "not json")[0] is None
    for renderer in ("latex-page", "markdown-page", "pdf-page"):
        assert target_kind(renderer, "layout", target, {"target": "layout"}) == "layout"
    assert target_kind("latex-page", "format", "# x", {}) == "markdown"
    assert target_kind("chart-mpl", "format", "<table></table>", {"target": "html"}) == "code"


@pytest.mark.unit
def test_latex_text_check_reads_a_tilde_and_an_underscore_as_the_font_sets_them():
    # Debian Reference prose: "~/.bashrc" reads back from TeX's text layer as U+0303
    from ocr2synth.renderers.latex.page_layout import text_problem

    block = {"kind": "paragraph", "parts": [["t", "by adding these lines to “~/.bashrc”."]]}
    assert text_problem("by adding these lines to “\u0303/.bashrc”.", block) == ""
    assert text_problem("by adding the lines to “̃/.bashrc”.", block) != ""
    underscore = {"kind": "paragraph", "parts": [["t", "the libpam_winbind package"]]}
    assert text_problem("the libpam winbind package", underscore) == ""
    accents = {"kind": "paragraph", "parts": [["t", "Loïc Minier; press ^D"]]}
    assert text_problem("Lo¨ıc Minier; press ˆD", accents) == ""
