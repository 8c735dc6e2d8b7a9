"""mixed-page: every placed object is in the target and in the image, each object's target
is its own renderer's for the same item, the layout target is the page's blocks, and the
checks reject a page whose record and pixels disagree."""

from __future__ import annotations

import json

import pytest
from ocr2synth.renderers.base import PROMPT_FORMAT, PROMPT_LAYOUT, Reject, Sample
from ocr2synth.renderers.mixed.page import MixedPageRenderer, object_markdown
from ocr2synth.renderers.mixed.source import CATEGORY
from ocr2synth.renderers.mixed.text import wrap

from tests.test_page_layout import assert_boxes_hold_their_own_ink


@pytest.fixture(scope="module")
def pages():
    from ocr2synth.renderers.registry import get_spec

    spec = get_spec("mixed-page")
    source = spec.make_source(None, {"zh": 0.3})
    items = [source.item(4400 + k, k) for k in range(8)]
    out = {}
    for target in ("format", "layout"):
        renderer = spec.make_renderer({"target": target}, 30)
        try:
            out[target] = renderer.render_batch(items)
        finally:
            renderer.close()
    return items, out


@pytest.mark.unit
def test_object_formats_and_wrapping():
    assert object_markdown("molecule", "CCO") == "<smiles>CCO</smiles>"
    assert object_markdown("latex-formula", "x^2") == "\\[\nx^2\n\\]"
    assert object_markdown("latex-table", "\\begin{tabular}{c}a\\end{tabular}").startswith(
        "\\begin{tabular}")
    # a target's own closing newline is kept, and still closes the fence's last line
    assert object_markdown("music", "**kern\n*-\n") == "```kern\n**kern\n*-\n```"
    assert object_markdown("tikz", "\\draw (0,0);") == "```tikz\n\\draw (0,0);\n```"
    from PIL import ImageFont

    font = ImageFont.load_default(size=14)
    text = "every line of this paragraph fits the width it is wrapped to " * 4
    lines = wrap(text, font, 200, cjk=False)
    assert len(lines) > 3 and all(font.getlength(line) <= 200 for line in lines)
    assert " ".join(lines) == text.strip()
    from ocr2synth.renderers.mixed.text import NO_LINE_START, load_font

    cjk_font = load_font("Noto Sans CJK SC", 16)
    chinese = "总的来说，可靠的经济控制了基本的文化。同时，准确的系统扩展了基本的环境。" * 6
    for width in (150, 181, 203, 240):
        lines = wrap(chinese, cjk_font, width, cjk=True)
        assert "".join(lines) == chinese
        assert all(cjk_font.getlength(line) <= width for line in lines)
        assert not any(line[0] in NO_LINE_START for line in lines)


@pytest.mark.engine
def test_placed_objects_are_the_targets_objects(pages):
    items, out = pages
    kept = 0
    langs, columns, kinds = set(), set(), set()
    for item, fmt, lay in zip(items, out["format"], out["layout"], strict=True):
        if not isinstance(fmt, Sample):
            assert fmt.reason in ("no-object", "layout-ink"), fmt
            continue
        assert isinstance(lay, Sample) and lay.image.tobytes() == fmt.image.tobytes()
        assert fmt.prompt == PROMPT_FORMAT and lay.prompt == PROMPT_LAYOUT
        placed = fmt.meta["objects"]
        rows = json.loads(lay.target)
        objects = [r for r in rows if r["category"] in set(CATEGORY.values())]
        # every placed object is in both targets, in order, and nothing else is
        assert [r["category"] for r in objects] == [CATEGORY[p["renderer"]] for p in placed]
        for p, row in zip(placed, objects, strict=True):
            assert object_markdown(p["renderer"], row["text"]) in fmt.target
            block = item.content["blocks"][p["block"]]
            assert (block["item"].k, block["item"].seed) == (p["k"], p["seed"])
        # every object has the page's caption right after it, in the page's language
        label = {"en": ("Figure ", "Table "), "zh": ("图 ", "表 ")}[fmt.meta["lang"]]
        for n, row in enumerate(rows):
            if row in objects:
                assert rows[n + 1]["category"] == "caption"
                assert rows[n + 1]["bbox"][1] >= row["bbox"][3]
                assert rows[n + 1]["text"].startswith(label[row["category"] == "table"])
        assert_boxes_hold_their_own_ink(lay)
        langs.add(fmt.meta["lang"])
        columns.add(fmt.meta["columns"])
        kinds.update(p["renderer"] for p in placed)
        kept += 1
    assert kept >= 6
    assert langs == {"en", "zh"} and len(kinds) >= 3


@pytest.mark.engine
def test_each_objects_target_is_its_renderers_own(pages):
    """The same object items, drawn by their renderers alone, give the targets the pages
    carry: the truth is carried, never re-derived."""
    from ocr2synth.renderers.mixed.page import sub_params
    from ocr2synth.renderers.registry import get_spec

    items, out = pages
    by_renderer: dict[tuple[str, int], list] = {}
    for item, lay in zip(items, out["layout"], strict=True):
        if not isinstance(lay, Sample):
            continue
        rows = [r for r in json.loads(lay.target) if r["category"] in set(CATEGORY.values())]
        for p, row in zip(lay.meta["objects"], rows, strict=True):
            by_renderer.setdefault((p["renderer"], lay.meta["columns"]), []).append(
                (item.content["blocks"][p["block"]]["item"], row["text"]))
    checked = 0
    for (name, columns), pairs in by_renderer.items():
        renderer = get_spec(name).make_renderer(sub_params(name, columns), 30)
        try:
            alone = renderer.render_batch([sub for sub, _ in pairs])
        finally:
            renderer.close()
        for (_, carried), sample in zip(pairs, alone, strict=True):
            assert isinstance(sample, Sample) and sample.target == carried
            checked += 1
    assert checked >= 6


@pytest.mark.engine
def test_a_page_whose_pixels_miss_an_object_is_rejected(pages, monkeypatch):
    """The page's own proof: an object recorded as placed but not in the pixels."""
    items, _ = pages
    renderer = MixedPageRenderer({}, 30)
    real_draw = MixedPageRenderer.draw

    def draw_without_objects(style, placed):
        image, _ = real_draw(style, [p for p in placed if p["kind"] != "object"])
        return image, None

    monkeypatch.setattr(MixedPageRenderer, "draw", staticmethod(draw_without_objects))
    try:
        outcomes = renderer.render_batch(items[:3])
    finally:
        renderer.close()
    assert outcomes and all(isinstance(o, Reject) and o.reason in ("not-drawn", "no-object")
                            for o in outcomes)
    assert any(o.reason == "not-drawn" for o in outcomes)


def _passage_texts(meta: dict) -> list[str]:
    """The texts of the passage a row's provenance names: the kept blocks of the Debian
    Reference from `source`'s block S to block L (of the same or a later chapter)."""
    import re

    from ocr2synth.renderers.text import debian_docs
    from ocr2synth.renderers.text.passages import keep_drawable

    chapters = {c.name: keep_drawable(c.blocks, meta["lang"])
                for c in debian_docs.chapters(meta["lang"])}
    names = list(chapters)
    same = re.fullmatch(r"blocks (\d+)-(\d+)", meta["position"])
    if same:
        spans = [(meta["source"], int(same[1]), int(same[2]) + 1)]
    else:
        start, last_name, last = re.fullmatch(r"block (\d+) to (\S+) block (\d+)",
                                              meta["position"]).groups()
        first, end = names.index(meta["source"]), names.index(last_name)
        spans = [(meta["source"], int(start), None), *[(n, 0, None) for n in
                                                      names[first + 1:end]],
                 (last_name, 0, int(last) + 1)]
    texts = []
    for name, lo, hi in spans:
        for block in chapters[name][lo:hi]:
            texts.append(block.get("text") or " ".join(t for _, t in block["parts"]))
    return texts


def _plain(markdown: str, category: str) -> str:
    import re

    if category in ("title", "section-header"):
        markdown = re.sub(r"^#+ ", "", markdown)
    elif category == "list-item":
        markdown = re.sub(r"^(- |\d+\. )", "", markdown)
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.engine
def test_real_prose_is_the_passage_its_provenance_names(pages):
    """Default content is real: every prose block of the page is a block of the Debian
    Reference passage named by meta source/position, in the passage's order."""
    _, out = pages
    checked, langs = 0, set()
    for lay in out["layout"]:
        if not isinstance(lay, Sample):
            continue
        meta = lay.meta
        assert meta["corpus"] == {"en": "debian-reference-en",
                                  "zh": "debian-reference-zh-cn"}[meta["lang"]]
        assert meta["license"] == "GPL-2+" and meta["position"] and meta["captions"] == "generated"
        texts = _passage_texts(meta)
        at = -1
        rows = json.loads(lay.target)
        for heading, after in zip(rows, rows[1:], strict=False):
            if heading["category"] == "section-header" and after["category"] == "text":
                # a heading never ends a column with its paragraph in the next one
                assert after["bbox"][1] > heading["bbox"][3], (heading, after)
        for row in rows:
            if row["category"] in ("text", "list-item", "section-header", "title"):
                text = _plain(row["text"], row["category"])
                assert text in texts, (meta["source"], meta["position"], text[:80])
                assert texts.index(text) > at  # reading order is the passage's
                at = texts.index(text)
                checked += 1
        langs.add(meta["lang"])
    assert checked >= 40 and langs == {"en", "zh"}


@pytest.mark.unit
def test_generated_content_is_still_available():
    from ocr2synth.renderers.registry import get_spec

    source = get_spec("mixed-page").make_source(None, {"content": "generated"})
    item = source.item(7, 0)
    assert item.meta == {"source": "generated", "lang": item.content["lang"]}
    real = get_spec("mixed-page").make_source(None, {}).item(7, 0)
    assert real.meta["corpus"].startswith("debian-reference-")
    assert {b["kind"] for b in real.content["blocks"]} >= {"para", "object"}


@pytest.mark.unit
def test_chinese_lines_keep_latin_runs_whole():
    from ocr2synth.renderers.mixed.page import load_font

    font = load_font("Noto Sans CJK SC", 16)
    text = "使用 systemd-networkd 的系统中，可以在 /etc/systemd/network/ 里配置网络。" * 4
    assert font.getlength("/etc/systemd/network/") < 200
    for width in (200, 260, 330):
        lines = wrap(text, font, width, cjk=True)
        assert all(font.getlength(line) <= width for line in lines)
        assert not any(line != line.strip() for line in lines)
        # only the spaces where lines break are gone; no Latin run is cut
        joined = " ".join(lines)
        assert joined.replace(" ", "") == text.replace(" ", "")
        for run in ("systemd-networkd", "/etc/systemd/network/"):
            assert joined.count(run) == 4


@pytest.mark.engine
def test_a_block_the_font_cannot_draw_is_left_off(pages):
    """Text with a character the page's font has no glyph for would show as boxes: the
    block is left off the page and out of the target."""
    items, _ = pages
    item = next(it for it in items if it.content["lang"] == "en")
    blocks = [dict(b) for b in item.content["blocks"]]
    para = next(n for n, b in enumerate(blocks) if b["kind"] == "para")
    blocks[para]["text"] = "A word in Devanagari: \u0928\u092e\u0938\u094d\u0924\u0947."
    from ocr2synth.renderers.base import Item

    changed = Item(k=item.k, seed=item.seed, content={**item.content, "blocks": blocks},
                   meta=item.meta)
    renderer = MixedPageRenderer({}, 30)
    try:
        sample = renderer.render_batch([changed])[0]
    finally:
        renderer.close()
    assert isinstance(sample, Sample)
    assert sample.meta["dropped"][str(para)] == "no-glyph"
    assert "Devanagari" not in sample.target


@pytest.mark.unit
def test_cached_tokens_draw_what_pillow_draws_for_the_whole_line():
    """Text is drawn from glyphs rasterised once per token and font; the page must still
    show exactly Pillow's own rendering of each line, and a line's measured width must be
    Pillow's (kerning at token boundaries included: DejaVu kerns around spaces)."""
    import random

    from ocr2synth.renderers.mixed.page import FONTS, INK
    from ocr2synth.renderers.mixed.text import TextMask, line_width, load_font
    from ocr2synth.renderers.text.prose import ChineseProse, EnglishProse
    from PIL import Image, ImageDraw

    samples = {"en": " ".join(EnglishProse(random.Random(3)).paragraph((6, 6)) for _ in
                              range(2)) + ' Type "T. Y. Wave", AV; To (e.g. "yes").',
               "zh": ChineseProse(random.Random(3)).paragraph((8, 8))
               + "在 /etc/systemd/network/ 里配置 ping(8) 的“MTU”。"}
    for lang, fonts in FONTS.items():
        cjk = lang == "zh"
        for pattern in [name for pair in fonts for name in pair]:
            for size in (14, 17, 23):
                font = load_font(pattern, size)
                lines = wrap(samples[lang], font, 380, cjk)
                old = Image.new("RGB", (420, 20 + 30 * len(lines)), (255, 255, 255))
                pen, mask = ImageDraw.Draw(old), TextMask(*old.size)
                for n, line in enumerate(lines):
                    assert line_width(font, line, cjk) == font.getlength(line), (pattern, line)
                    pen.text((10, 10 + 30 * n), line, font=font, fill=INK)
                    mask.line(font, 10, 10 + 30 * n, line, cjk)
                new = mask.render("RGB", INK[0])
                assert new.tobytes() == old.tobytes(), (pattern, size)
                assert mask.render("L", INK[0]).tobytes() == old.convert("L").tobytes()


@pytest.mark.engine
def test_objects_past_the_pages_reach_are_not_drawn_and_change_nothing():
    """Objects after the block where the text alone fills the page are never rendered;
    the pages are the same bytes as when every object of the plan is drawn. (Generated
    plans hold more than their pages take; real passages place their objects early.)"""
    from ocr2synth.renderers.registry import get_spec

    source = get_spec("mixed-page").make_source(None, {"content": "generated"})
    items = [source.item(4400 + k, k) for k in range(6)]
    renderer = MixedPageRenderer({"target": "layout"}, 30)
    try:
        reaches = [renderer.reach(item) for item in items]
        planned = [n for item in items for n, b in enumerate(item.content["blocks"])
                   if b["kind"] == "object"]
        skipped = sum(1 for item, reach in zip(items, reaches, strict=True)
                      for n, b in enumerate(item.content["blocks"])
                      if b["kind"] == "object" and n >= reach)
        assert 0 < skipped < len(planned)
        pruned = renderer.render_batch(items)
        renderer.prune = False
        full = renderer.render_batch(items)
    finally:
        renderer.close()
    assert sum(isinstance(o, Sample) for o in full) >= 4
    for one, other in zip(pruned, full, strict=True):
        assert type(one) is type(other)
        if isinstance(other, Sample):
            assert one.image.tobytes() == other.image.tobytes()
            assert (one.target, one.meta) == (other.target, other.meta)


@pytest.mark.unit
def test_text_reaching_under_an_object_is_a_clash():
    """Objects are pasted over the text: ink of a line inside an object's box would be
    hidden, so the page reports the clash (and `page` rejects it as not-drawn)."""
    from ocr2synth.renderers.mixed.text import load_font
    from PIL import Image

    font = load_font("DejaVu Serif", 16)
    picture = Image.new("L", (120, 60), 255)
    picture.paste(0, (10, 10, 110, 50))
    style = {"width": 400, "height": 300, "lang": "en"}

    def page(text_y: int):
        obj = {"kind": "object", "box": (100, 100, 220, 160), "image": picture, "gray": True,
               "index": 1}
        text = {"kind": "body", "box": (40, text_y, 360, text_y + 20), "x": 40,
                "lines": ["words that run across the page"], "step": 20, "font": font}
        return MixedPageRenderer.draw(style, [text, obj])

    image, clash = page(20)
    assert clash is None and image.mode == "L"
    assert image.crop((100, 100, 220, 160)).tobytes() == picture.tobytes()
    _, clash = page(130)
    assert clash == "text under object 1"


@pytest.mark.engine
def test_a_heading_keeps_with_its_paragraph_across_columns():
    """A page (real Chinese prose, two columns) whose heading fell at the foot of the first
    column while its paragraph opened the second, before the gap between them counted."""
    from ocr2synth.renderers.registry import get_spec

    item = get_spec("mixed-page").make_source(None, {"zh": 0.5}).item(7002, 2)
    renderer = MixedPageRenderer({"target": "layout"}, 30)
    try:
        page = renderer.render_batch([item])[0]
    finally:
        renderer.close()
    assert isinstance(page, Sample) and page.meta["columns"] == 2
    rows = json.loads(page.target)
    pairs = [(a, b) for a, b in zip(rows, rows[1:], strict=False)
             if a["category"] == "section-header" and b["category"] == "text"]
    assert len(pairs) >= 5
    for heading, text in pairs:
        assert text["bbox"][1] > heading["bbox"][3], (heading, text)


@pytest.mark.unit
def test_a_table_object_carries_no_caption_of_its_own():
    """latex-table's source captions some tables "Table N: ..." in English, numbered apart
    from the page: on a page such a table would print that caption (on Chinese pages
    too). A page's table items come without it; the page captions them itself."""
    from ocr2synth.renderers.registry import get_spec

    source = get_spec("mixed-page").make_source(None, {"zh": 0.5, "objects": ["latex-table"]})
    tables = get_spec("latex-table").make_source(None, {})
    uncaptioned = 0
    for k in range(40):
        for block in source.item(900 + k, k).content["blocks"]:
            if block["kind"] != "object":
                continue
            sub = block["item"]
            assert block["renderer"] == "latex-table"
            assert sub.content.startswith("\\begin{tabular}"), sub.content[:60]
            # the table latex-table's own source gives for the same seed
            own = tables.item(sub.seed, sub.k).content
            assert own.endswith(sub.content)
            uncaptioned += own.startswith("\\caption*{Table ")
    assert uncaptioned >= 5


@pytest.mark.engine
def test_a_table_on_a_chinese_page_is_captioned_in_chinese():
    """A Chinese page's table (one whose source item had an English caption) is drawn
    without it, and the page captions it in Chinese with its own numbering."""
    from ocr2synth.renderers.registry import get_spec

    source = get_spec("mixed-page").make_source(None, {"zh": 1.0, "objects": ["latex-table"]})
    tables = get_spec("latex-table").make_source(None, {})
    item = next(it for it in (source.item(900 + k, k) for k in range(40))
                if tables.item(next(b for b in it.content["blocks"] if b["kind"] == "object")
                               ["item"].seed, 0).content.startswith("\\caption*"))
    renderer = MixedPageRenderer({"target": "layout"}, 30)
    try:
        page = renderer.render_batch([item])[0]
    finally:
        renderer.close()
    assert isinstance(page, Sample) and page.meta["lang"] == "zh"
    rows = json.loads(page.target)
    tables_at = [n for n, row in enumerate(rows) if row["category"] == "table"]
    assert tables_at
    for number, n in enumerate(tables_at, 1):
        assert "caption" not in rows[n]["text"] and "Table" not in rows[n]["text"]
        assert rows[n + 1]["category"] == "caption"
        assert rows[n + 1]["text"].startswith(f"表 {number}：")


@pytest.mark.unit
def test_a_lead_in_goes_with_the_code_it_introduced():
    """The Debian Reference's code blocks are left out of pages: a paragraph that led into
    one ("as follows:", "如下所示。") would introduce the next paragraph instead, so it is
    left out with it; a paragraph before code that does not point on is kept, and so is
    a lead-in whose block the page does show."""
    from ocr2synth.renderers.mixed.source import prose_only
    from ocr2synth.renderers.text.debian_docs import chapter_blocks

    html = ("<h2>Shells</h2><p>Set the prompt as follows:</p><pre class='screen'>$ PS1=x"
            "</pre><p>The prompt is now set.</p><p>Debian ships bash.</p><pre>$ bash</pre>"
            "<p>或者，如下所示。</p><div class='informalexample'><pre>ls</pre></div>"
            "<p>Lists follow:</p><ul><li><p>one</p></li></ul>")
    blocks = chapter_blocks(html)
    texts = [b["text"] for b in prose_only(blocks)]
    assert texts == ["Shells", "The prompt is now set.", "Debian ships bash.",
                     "Lists follow:", "one"]
    # display math and tables the page cannot show take their lead-in with them too
    passage = [{"kind": "para", "parts": [["t", "The energy is given by the following."]]},
               {"kind": "display", "math": "E = mc^2"},
               {"kind": "para", "parts": [["t", "So it is."]]}]
    assert [b["text"] for b in prose_only(passage)] == ["So it is."]


@pytest.mark.unit
def test_real_page_plans_keep_no_lead_in_to_left_out_code():
    """On the Debian Reference itself: page plans hold none of the passage's paragraphs
    that lead into code, a table or an example left out of the page."""
    from ocr2synth.renderers.registry import get_spec
    from ocr2synth.renderers.text.passages import leads_in

    source = get_spec("mixed-page").make_source(None, {"zh": 0.5})
    seen = lead_ins = 0
    for k in range(80):
        item = source.item(7700 + k, k)
        plan = {b.get("text") for b in item.content["blocks"]}
        passage = source.prose.passage(k, 7700 + k)
        for block in passage.blocks:
            text = " ".join(t for _, t in block.get("parts", []))
            if block.get("before_left_out") and block["kind"] != "heading" and leads_in(text):
                assert text not in plan, text
                seen += 1
        # nor is an object set between a lead-in and the block it leads into
        blocks = item.content["blocks"]
        for block, after in zip(blocks, blocks[1:], strict=False):
            if block["kind"] in ("para", "item") and leads_in(block["text"]):
                assert after["kind"] != "object", block["text"]
                lead_ins += 1
    assert seen >= 10 and lead_ins >= 10
