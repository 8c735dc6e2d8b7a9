"""mixed-page: every placed object is in the target and in the image, each object's target
is its own renderer's for the same item, the layout target is the page's blocks, and the
checks reject a page whose record and pixels disagree."""

from __future__ import annotations

import json

import pytest
from ocr2synth.renderers.base import PROMPT_FORMAT, PROMPT_LAYOUT, Reject, Sample
from ocr2synth.renderers.mixed.page import MixedPageRenderer, object_markdown, wrap
from ocr2synth.renderers.mixed.source import CATEGORY

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
    from ocr2synth.renderers.mixed.page import NO_LINE_START, load_font

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
        # every object has its caption right after it (a table may typeset its own)
        for n, row in enumerate(rows):
            if row in objects and not row["text"].startswith("\\caption*{"):
                assert rows[n + 1]["category"] == "caption"
                assert rows[n + 1]["bbox"][1] >= row["bbox"][3]
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
    from ocr2synth.renderers.mixed.page import SUB_PARAMS
    from ocr2synth.renderers.registry import get_spec

    items, out = pages
    by_renderer: dict[str, list] = {}
    for item, lay in zip(items, out["layout"], strict=True):
        if not isinstance(lay, Sample):
            continue
        rows = [r for r in json.loads(lay.target) if r["category"] in set(CATEGORY.values())]
        for p, row in zip(lay.meta["objects"], rows, strict=True):
            by_renderer.setdefault(p["renderer"], []).append(
                (item.content["blocks"][p["block"]]["item"], row["text"]))
    checked = 0
    for name, pairs in by_renderer.items():
        renderer = get_spec(name).make_renderer(SUB_PARAMS.get(name, {}), 30)
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
        return real_draw(style, [p for p in placed if p["kind"] != "object"])

    monkeypatch.setattr(MixedPageRenderer, "draw", staticmethod(draw_without_objects))
    try:
        outcomes = renderer.render_batch(items[:3])
    finally:
        renderer.close()
    assert outcomes and all(isinstance(o, Reject) and o.reason in ("not-drawn", "no-object")
                            for o in outcomes)
    assert any(o.reason == "not-drawn" for o in outcomes)
