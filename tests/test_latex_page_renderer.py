"""latex-page: the target is exactly the page's text (word F1 against the PDF), every block
lands on exactly one page's target, boxes come from the PDF, hostile input is rejected."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.latex.batching import render_grouped
from ocr2synth.renderers.latex.page import PROBE_RGB, LatexPageRenderer, page_markdown
from ocr2synth.renderers.latex.page_source import GeneratedPages, PageFiles, parse_markdown

# Math is drawn in this (visually black) colour under `probe_math`, so its glyphs can be
# told apart from prose in the PDF.
PROBE_COLOR = (round(PROBE_RGB[0] * 255) << 16) | (round(PROBE_RGB[1] * 255) << 8)
WORD = re.compile(r"[A-Za-z]+|[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def renderer():
    r = LatexPageRenderer({"probe_math": True}, timeout_s=20)
    yield r
    r.close()


def items(count: int, zh: float = 0.3) -> list[Item]:
    source = GeneratedPages(zh)
    return [source.item(sample_seed(7, "latex-page", k), k) for k in range(count)]


def target_words(target: str) -> Counter:
    text = re.sub(r"\\\(.*?\\\)|\\\[.*?\\\]", " ", target, flags=re.S)  # math
    text = re.sub(r"(?<!\\)\$[^$]*\$", " ", text)  # math in table cells
    text = re.sub(r"\\begin\{tabular\}\{[^\n]*|\\end\{tabular\}", " ", text)
    text = re.sub(r"\\(multicolumn|multirow)\{[^}]*\}\{[^}]*\}|\\(cline|cmidrule\(lr\))\{[^}]*\}",
                  " ", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return Counter(WORD.findall(text))


def pdf_words(page) -> Counter:
    """The page's words outside math, with hyphenated line ends joined."""
    lines = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            lines.append("".join(s["text"] for s in line["spans"] if s["color"] != PROBE_COLOR))
    text = unicodedata.normalize("NFKC", "\n".join(lines))
    text = re.sub(r"([A-Za-z])-\n([a-z])", r"\1\2", text)
    return Counter(WORD.findall(text))


def f1(a: Counter, b: Counter) -> float:
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(b.values()), common / sum(a.values())
    return 2 * precision * recall / (precision + recall)


def render_with_pdf(renderer, batch, picks=None):
    """Like render_batch, but also hands back each sample's PDF page words, and lets the
    test choose the page (`picks`: item index -> list of page_pick values)."""
    styles = [renderer.style(item) for item in batch]
    collected = []

    def sample(pdf, pages, item, style):
        for pick in (picks or {}).get(item.k, [style["page_pick"]]):
            chosen = {**style, "page_pick": pick}
            outcome = renderer.page_sample(pdf, pages, item, chosen)
            if isinstance(outcome, Sample):
                number = pages.start + outcome.meta["page"]
                collected.append((item, outcome, pdf_words(pdf[number]), len(pages)))
        return outcome

    render_grouped(renderer.engine, batch, styles, lint=lambda item: None,
                   group=lambda s: f"{s['layout']}|{s['lang']}", preamble=renderer.preamble,
                   body=renderer.body, sample=sample, multipage=True)
    return collected


def test_target_words_are_the_page_words(renderer):
    batch = items(16)
    rendered = render_with_pdf(renderer, batch)
    assert len(rendered) >= 15
    langs, layouts, scores = set(), set(), []
    for _item, sample, words, _ in rendered:
        score = f1(target_words(sample.target), words)
        scores.append(score)
        assert score >= 0.98, (score, sample.target[:300])
        langs.add(sample.meta["lang"])
        layouts.add(sample.meta["layout"])
    assert langs == {"en", "zh"} and len(layouts) == 3


def test_every_block_is_on_exactly_one_page(renderer):
    # A long document: every page's target together is the whole document, in order.
    source = GeneratedPages(0.0)
    blocks = [b for seed in range(100, 104) for b in source.item(seed, 0).content["blocks"]]
    long = Item(k=0, seed=5, content={"lang": "en", "blocks": blocks})
    picks = {long.k: [(i + 0.5) / 20 * 0.85 for i in range(20)] + [0.99]}
    rendered = render_with_pdf(renderer, [long], picks)
    by_page = {sample.meta["page"]: sample for _, sample, _, _ in rendered}
    pages = rendered[0][3]
    assert pages >= 3 and sorted(by_page) == list(range(pages))
    blocks = [b for page in range(pages) for b in by_page[page].meta["blocks"]]
    assert blocks == list(range(len(long.content["blocks"])))
    # footnote numbers continue across pages as on paper
    whole = page_markdown(long.content["blocks"])
    marks = [m for page in range(pages) for m in re.findall(r"\[\^(\d+)\]:", by_page[page].target)]
    assert marks == re.findall(r"\[\^(\d+)\]:", whole)


def test_boxes_are_lines_and_paragraphs_inside_the_image(renderer):
    out = renderer.render_batch(items(6, zh=0.0))
    for sample in out:
        assert isinstance(sample, Sample)
        width, height = sample.image.size
        paragraphs = sample.meta["paragraph_boxes"]
        assert 0 < paragraphs < len(sample.boxes)
        for box in sample.boxes:
            assert 0 <= box.x0 < box.x1 <= width and 0 <= box.y0 < box.y1 <= height
        lines = sample.boxes[paragraphs:]
        for line in lines:
            assert any(p.x0 - 1 <= line.x0 and line.x1 <= p.x1 + 1 and
                       p.y0 - 1 <= line.y0 and line.y1 <= p.y1 + 1
                       for p in sample.boxes[:paragraphs])
        # the image has ink where the line boxes are, and only white far outside them
        assert sample.image.mode == "L"


def test_user_markdown_renders_and_hostile_input_is_rejected(renderer, tmp_path: Path):
    docs = {
        "a-good.md": "# Notes\n\nPlain text with $x^2$ and a literal \\input{/etc/passwd}.\n\n"
                     "- first item\n- second item\n\n$$\\int_0^1 f(x)\\,dx$$\n",
        "b-read.md": "Reading $\\input{/etc/passwd}$ fails.\n",
        "c-shell.md": "Shell $\\immediate\\write18{touch /tmp/ocr2synth-canary-page}$\n",
        "d-loop.md": "Loop $\\loop\\iftrue\\repeat$\n",
        "e-broken.md": "Broken $\\frac{a}{b$ math\n",
        "f-undefined.md": "Undefined $\\undefinedmacro{x}$ math\n",
        "g-huge.md": "word " * 2_200_000,
        "h-zh.md": "# 标题\n\n这是一个中文段落，包含公式 $a+b$。\n",
    }
    for name, text in docs.items():
        (tmp_path / name).write_text(text)
    source = PageFiles(tmp_path)
    out = renderer.render_batch([source.item(k, k) for k in range(source.size())])
    reasons = [o.reason if not isinstance(o, Sample) else "ok" for o in out]
    assert reasons == ["ok", "forbidden", "forbidden", "forbidden", "unbalanced-braces",
                       "tex-error", "too-long", "ok"]
    good = out[0]
    assert good.target.startswith("# Notes\n\nPlain text with \\(x^2\\) and a literal "
                                  "\\input{/etc/passwd}.\n\n- first item\n- second item")
    assert "/etc/passwd" in " ".join(box.text for box in good.boxes)  # printed, not read
    assert "标题" in out[7].target
    assert not Path("/tmp/ocr2synth-canary-page").exists()


def test_markdown_parser_reads_blocks():
    doc = parse_markdown("## Title\n\nSome $a$ text\nwrapped.\n\n1. one\n2) two\n\n\\[x\\]\n")
    kinds = [b["kind"] for b in doc["blocks"]]
    assert kinds == ["heading", "para", "item", "item", "display"]
    assert doc["blocks"][1]["parts"] == [["t", "Some "], ["m", "a"], ["t", " text wrapped."]]


def test_a_page_renders_to_the_same_bytes_in_any_batch(renderer):
    from ocr2synth.renderers.imaging import encode_image

    batch = items(6)
    alone = renderer.render_batch(batch[2:3])[0]
    mixed = renderer.render_batch(list(reversed(batch)))[3]
    assert isinstance(alone, Sample) and isinstance(mixed, Sample)
    assert alone.target == mixed.target and alone.boxes == mixed.boxes
    assert encode_image(alone.image, "png", 1, "auto") == encode_image(mixed.image, "png", 1,
                                                                        "auto")


def test_a_paragraph_taller_than_a_page_is_rejected_not_cut(renderer):
    from ocr2synth.renderers.text.prose import EnglishProse

    prose = EnglishProse(__import__("random").Random(1))
    text = " ".join(prose.sentence() for _ in range(260))
    text = " $x$ ".join(text[i:i + 4000] for i in range(0, len(text), 4000))
    doc = parse_markdown(f"# Big\n\n{text}\n\nAfter.\n")
    item = Item(k=0, seed=3, content=doc)
    style = renderer.style(item)
    outcomes = []

    def sample(pdf, pages, item, style):
        for page in pages:
            index = page - pages.start
            pick = (index + 0.5) / (len(pages) - 1) * 0.85 if page < pages[-1] else 0.99
            outcomes.append(renderer.page_sample(pdf, pages, item, {**style, "page_pick": pick}))
        return outcomes[0]

    render_grouped(renderer.engine, [item], [style], lint=lambda i: None,
                   group=lambda s: f"{s['layout']}|{s['lang']}", preamble=renderer.preamble,
                   body=renderer.body, sample=sample, multipage=True)
    shown = [o for o in outcomes if isinstance(o, Sample)]
    assert any(getattr(o, "reason", "") == "clipped" for o in outcomes)
    # the giant paragraph (block 1) is in no shipped target
    assert all(1 not in o.meta["blocks"] for o in shown)


def test_generated_sections_are_numbered_in_order_and_never_empty():
    """The page grammar numbers sections 1, 2, ... and subsections n.1, n.2, ... in order;
    a heading is followed by content or by a heading one level down, never ends a
    document; and markdown documents joined from several grammar documents start each
    one, whose numbering restarts, under a title."""
    import random

    from ocr2synth.renderers.browser.markdown_source import generated_document
    from ocr2synth.renderers.latex.page_source import PageGrammar

    def check(blocks: list[dict]) -> None:
        section = subsection = 0
        for before, block in zip([None, *blocks[:-1]], blocks, strict=True):
            if block["kind"] != "heading":
                continue
            if before is not None and before["kind"] == "heading":
                assert block["level"] > before["level"], (before, block)
            number = block["text"].split()[0]
            if block["level"] == 1:
                section = subsection = 0
            elif block["level"] == 2:
                section, subsection = section + 1, 0
                assert number == str(section), (number, section)
            else:
                subsection += 1
                assert number == f"{section}.{subsection}", (number, section, subsection)
        assert not blocks or blocks[-1]["kind"] != "heading"

    for seed in range(200):
        for lang in ("en", "zh"):
            check(PageGrammar(random.Random(seed), lang).document()["blocks"])
    for seed in range(40):
        doc = generated_document(random.Random(seed), "en" if seed % 2 else "zh", 12000)
        headings = [{"kind": "heading", "level": len(b["md"].split()[0]),
                     "text": b["md"].split(" ", 1)[1]} if b["kind"] == "heading" else b
                    for b in doc["blocks"]]
        check(headings)
