"""Stage-3 tasks: fine-grained box/colour prompts, multi-crop tiles, multi-page stacks.

The labels are checked against the base renderer's own record, rendered again here
independently of the code that picked them: a region's target must be exactly the text of
the base page's line boxes that lie inside the prompt's box.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.format.tiling import tile_boxes, tile_grid
from ocr2synth.renderers.base import Sample
from ocr2synth.renderers.registry import get_spec
from ocr2synth.renderers.tasks.fine_grained import COLORS
from ocr2synth.renderers.tasks.tokens import count_tokens
from PIL import Image

BOX_PROMPT = re.compile(r"^\[(\d+), (\d+), (\d+), (\d+)\] OCR: $")


def render(name: str, n: int, params: dict | None = None, seed: int = 90210,
           split: bool = False) -> list:
    params = params or {}
    spec = get_spec(name)
    source = spec.make_source(None, params)
    items = [source.item(seed + k, k) for k in range(n)]
    renderer = spec.make_renderer(params, 30)
    try:
        if split:
            return [out for item in items for out in renderer.render_batch([item])]
        return renderer.render_batch(items)
    finally:
        renderer.close()


@pytest.fixture(scope="module")
def latex_page():
    """latex-page's own renderer, to render base samples again, apart from the tasks."""
    renderer = get_spec("latex-page").make_renderer({}, 30)
    yield renderer
    renderer.close()


def bases_again(renderer, refs: list[dict], params: dict | None = None) -> list[Sample]:
    """The base samples named by a task's meta, rendered again by the base renderer."""
    source = get_spec("latex-page").make_source(None, params or {})
    out = renderer.render_batch([source.item(ref["seed"], ref["k"]) for ref in refs])
    assert all(isinstance(o, Sample) for o in out)
    return out


def text_inside(base: Sample, box: tuple[float, float, float, float]) -> tuple[str, int]:
    """The base's line boxes whose centre lies in `box`, as rows top to bottom (fragments
    of one row left to right); and how many other lines the box cuts into."""
    lines = base.boxes[base.meta["paragraph_boxes"]:]
    inside, cut = [], 0
    for b in lines:
        cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
        if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]:
            inside.append(b)
        elif (min(b.x1, box[2]) - max(b.x0, box[0]) > 0
              and min(b.y1, box[3]) - max(b.y0, box[1]) > 0.2 * (b.y1 - b.y0)):
            cut += 1
    rows: list[list] = []
    for b in sorted(inside, key=lambda b: (b.y0 + b.y1) / 2):
        if rows and abs((b.y0 + b.y1) / 2 - (rows[-1][0].y0 + rows[-1][0].y1) / 2) < 3:
            rows[-1].append(b)
        else:
            rows.append([b])
    text = "\n".join(" ".join(b.text for b in sorted(row, key=lambda b: b.x0))
                     for row in rows)
    return text.replace("\x88", "\u2022"), cut


def asked_region(task: str, prompt: str, meta: dict, size: tuple[int, int]
                 ) -> tuple[float, float, float, float]:
    """The region a prompt asks for, in pixels: its 0-1000 box, or inside its frame."""
    w, h = size
    if task == "box":
        m = BOX_PROMPT.match(prompt)
        assert m, prompt
        x0, y0, x1, y1 = (int(v) for v in m.groups())
        return (x0 * w / 1000, y0 * h / 1000, x1 * w / 1000, y1 * h / 1000)
    assert prompt == f"[{meta['color']}] OCR: "
    fx0, fy0, fx1, fy1 = meta["frame"]
    width = meta["frame_width"]
    return (fx0 + width, fy0 + width, fx1 - width, fy1 - width)


@pytest.fixture(scope="module")
def fine() -> list:
    return render("fine-grained", 10)


def test_box_and_colour_prompts_ask_for_exactly_the_text_the_base_page_shows_there(
    fine, latex_page
):
    samples = [s for s in fine if isinstance(s, Sample)]
    assert len(samples) >= 8
    assert {s.task for s in samples} == {"box", "color"}
    multi_line = 0
    again = bases_again(latex_page, [s.meta["base_sample"] for s in samples])
    for s, base in zip(samples, again, strict=True):
        w, h = s.image.size
        if s.task == "box":
            assert s.image.tobytes() == base.image.tobytes()  # nothing drawn on a box prompt
        text, cut = text_inside(base, asked_region(s.task, s.prompt, s.meta, (w, h)))
        assert text == s.target, (s.prompt, s.meta)
        assert cut == 0, f"the region cuts into {cut} other lines"
        multi_line += "\n" in s.target
    assert multi_line >= 1


def test_a_page_too_dense_for_a_frame_asks_by_box_instead_of_being_rejected(latex_page):
    # colour on every sample: single lines on dense pages leave no room for a frame (the
    # generated pages have such pages among their first twelve)
    generated = {"content": "generated"}
    out = render("fine-grained", 12, {"color_share": 1.0, "base_params": generated})
    assert all(isinstance(o, Sample) for o in out), [o.reason for o in out
                                                      if not isinstance(o, Sample)]
    boxes = [s for s in out if s.task == "box"]
    assert boxes and len(boxes) < len(out)
    refs = [s.meta["base_sample"] for s in boxes]
    for s, base in zip(boxes, bases_again(latex_page, refs, generated), strict=True):
        assert s.image.tobytes() == base.image.tobytes() and "frame" not in s.meta
        text, cut = text_inside(base, asked_region("box", s.prompt, s.meta, s.image.size))
        assert text == s.target and cut == 0


def test_box_prompt_is_what_gots_processor_writes_and_the_trainer_parses(fine):
    from ocr2synth.trainer.prompts import Query

    for s in fine:
        if isinstance(s, Sample) and s.task == "box":
            query = Query.parse(s.prompt)
            assert query.parsed and query.box == tuple(s.meta["region_norm"])
            # GotOcr2Processor: f"{str(box)} OCR: " with box a list of ints on 0-1000
            assert query.processor_text() == f"{list(query.box)} OCR: " == s.prompt
            assert all(0 <= v <= 1000 for v in query.box)


def test_colour_frame_is_drawn_in_its_colour_around_the_region_and_nowhere_else(
    fine, latex_page
):
    checked = 0
    samples = [s for s in fine if isinstance(s, Sample) and s.task == "color"]
    for s, base in zip(samples, bases_again(latex_page, [s.meta["base_sample"]
                                                         for s in samples]), strict=True):
        rgb = np.asarray(s.image.convert("RGB")).astype(int)
        before = np.asarray(base.image.convert("RGB")).astype(int)
        changed = np.argwhere((rgb != before).any(axis=2))
        y0, x0 = changed.min(axis=0)
        y1, x1 = changed.max(axis=0)
        assert [x0, y0, x1, y1] == s.meta["frame"]
        colour = np.array(COLORS[s.meta["color"]])
        assert (rgb[changed[:, 0], changed[:, 1]] == colour).all()
        # the frame encloses the region and leaves its inside untouched
        rx0, ry0, rx1, ry1 = s.meta["region_px"]
        assert x0 < rx0 and y0 < ry0 and x1 > rx1 and y1 > ry1
        inner = (changed[:, 1] > x0 + 5) & (changed[:, 1] < x1 - 5) \
            & (changed[:, 0] > y0 + 5) & (changed[:, 0] < y1 - 5)
        assert not inner.any()
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize(("size", "grid"), [
    ((1000, 1000), (1, 1)),  # small square: one tile, no crop
    ((2048, 2048), (2, 2)),  # a tie between 1x1 and 2x2 goes to the grid the image fills
    ((2048, 1024), (2, 1)),
    ((1000, 3000), (1, 3)),
    ((4000, 3000), (4, 3)),
    ((12000, 1000), (12, 1)),
    ((2984, 1353), (2, 1)),
    ((1100, 1400), (3, 4)),
])
def test_tile_grid_follows_gots_rule_for_many_aspect_ratios(size, grid):
    assert tile_grid(*size, 1024, 12) == grid
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import (
        get_optimal_tiled_canvas,
    )

    assert get_optimal_tiled_canvas((size[1], size[0]), (1024, 1024), 1, 12) == grid


def test_multi_crop_tiles_cover_the_picture_without_gap_and_target_reads_every_page(
    latex_page
):
    out = render("multi-crop", 3)
    samples = [s for s in out if isinstance(s, Sample)]
    assert len(samples) == 3
    for s in samples:
        cols, rows = s.meta["grid"]
        assert (cols, rows) == tile_grid(*s.image.size, 1024, 12) and cols * rows > 1
        assert len(s.images) == cols * rows + 1
        assert all(t.size == (1024, 1024) for t in s.images)
        # the tiles, put back in reading order, are exactly the picture at grid size
        canvas = Image.new(s.image.mode, (cols * 1024, rows * 1024))
        boxes = tile_boxes(cols, rows, 1024)
        assert boxes[-1][2:] == (cols * 1024, rows * 1024)
        for tile, box in zip(s.images, boxes, strict=False):
            canvas.paste(tile, box[:2])
        expected = s.image.resize(canvas.size, Image.Resampling.BICUBIC)
        assert canvas.tobytes() == expected.tobytes()
        thumb = s.images[-1]
        assert thumb.tobytes() == s.image.resize((1024, 1024),
                                                 Image.Resampling.BICUBIC).tobytes()
        # every page is in the picture and in the target, left to right
        bases = s.meta["base_samples"]
        assert len(bases) in (2, 3) and s.meta["offsets"] == sorted(s.meta["offsets"])
        parts = s.target.split("\n\n")
        pages = bases_again(latex_page, bases)
        assert s.target == "\n\n".join(p.target for p in pages) and len(parts) > 1
        for page, dx in zip(pages, s.meta["offsets"], strict=True):
            shown = s.image.crop((dx, 0, dx + page.image.width, page.image.height))
            assert shown.tobytes() == page.image.convert(s.image.mode).tobytes()


def test_multi_page_stacks_two_to_eight_short_pages_in_order(latex_page):
    source = get_spec("multi-page").make_source(None, {})
    out = render("multi-page", 2)
    assert all(isinstance(s, Sample) for s in out)
    for k, s in enumerate(out):
        assert 2 <= len(s.images) <= 8 and s.meta["pages"] == len(s.images)
        assert s.image.tobytes() == s.images[0].tobytes()
        assert sum(s.meta["page_tokens"]) < 8000 and max(s.meta["page_tokens"]) < 650
        # the same (shortened) base items, rendered again, give the same pages in order
        named = {b.k: b for b in source.item(90210 + k, k).content.items}
        used = [named[b["k"]] for b in s.meta["base_samples"]]
        assert [b.k for b in used] == sorted(b.k for b in used)
        again = latex_page.render_batch(used)
        assert [a.image.tobytes() for a in again] == [im.tobytes() for im in s.images]
        assert s.target == "\n\n".join(a.target for a in again)
        assert all(count_tokens(a.target) < 650 for a in again)


def test_token_estimate_errs_high():
    prose = "The quick brown fox jumps over the lazy dog near the river bank."
    assert count_tokens(prose) >= len(prose.split())  # GOT's Qwen2: about a token a word
    assert count_tokens("12345") == 5  # Qwen2 splits numbers into digits
    assert count_tokens("研究结果") == 8
    assert count_tokens(r"\(x^{2}\)") >= 5


def test_same_seed_same_bytes_whatever_the_batching(fine):
    split = render("fine-grained", 4, split=True)  # the fixture's first items, one by one
    for a, b in zip(fine[:4], split, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Sample):
            assert (a.prompt, a.target, a.task) == (b.prompt, b.target, b.task)
            assert a.image.tobytes() == b.image.tobytes()
    other = render("fine-grained", 2, seed=8)
    assert [getattr(s, "prompt", None) for s in fine[:2]] != [getattr(s, "prompt", None)
                                                              for s in other]


def test_tasks_render_through_ray_into_shards_with_images(ray_address, tmp_path: Path):
    recipe = tmp_path / "tasks.yaml"
    recipe.write_text(
        "name: tasks\nseed: 3\nshard_size: 4\nmax_reject_rate: 0.5\nentries:\n"
        "  - {renderer: fine-grained, count: 4, params: {base: markdown-page}}\n"
        "  - {renderer: multi-crop, count: 2}\n"
        "  - {renderer: multi-page, count: 2, params: {pages: [2, 3]}}\n")
    out = tmp_path / "out"
    assert main(["render", str(recipe), "--out", str(out), "--workers", "2",
                 "--no-progress"]) == 0
    rows = pq.read_table(out / "shards").to_pylist()
    by_task: dict[str, list] = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append(row)
    assert set(by_task) >= {"multi-crop", "multi-page"} and by_task.keys() & {"box", "color"}
    for row in by_task["multi-crop"]:
        cols, rows_ = json.loads(row["meta"])["grid"]
        assert len(row["images"]) == cols * rows_ + 1
        assert row["prompt"] == "OCR with format upon the patch reference: "
    for row in by_task["multi-page"]:
        assert 2 <= len(row["images"]) <= 3
        assert row["prompt"] == "OCR with format across multi pages: "
        first = Image.open(io.BytesIO(row["images"][0]["bytes"]))
        assert first.size == (row["width"], row["height"])
    # regions on markdown-page, whose DOM line text leaves formulas out, are just as true
    regions = by_task.get("box", []) + by_task.get("color", [])
    spec = get_spec("markdown-page")
    renderer = spec.make_renderer({}, 30)
    try:
        refs = [json.loads(row["meta"])["base_sample"] for row in regions]
        source = spec.make_source(None, {})
        again = renderer.render_batch([source.item(r["seed"], r["k"]) for r in refs])
    finally:
        renderer.close()
    for row, base in zip(regions, again, strict=True):
        assert row["images"] == [] and row["renderer"] == "fine-grained"
        region = asked_region(row["task"], row["prompt"], json.loads(row["meta"]),
                              (row["width"], row["height"]))
        assert text_inside(base, region) == (row["target"], 0)
    assert main(["verify", str(out)]) == 0


def test_only_paragraphs_whose_lines_spell_the_target_give_regions():
    from ocr2synth.renderers.base import Box
    from ocr2synth.renderers.tasks.regions import paragraph_runs, visual_lines

    def line(y: float, text: str, x0: float = 10, x1: float = 300) -> Box:
        return Box(x0, y, x1, y + 10, text)

    target = ("# Intro\n\nA hyphenated word and more text.\n\nMath \\(x^2\\) here.\n\n"
              "- Bullet item\n\n[^1]: A note")
    lines = [
        line(0, "Intro"),
        line(20, "A hyphen-"), line(32, "ated word and more"),
        line(32, "text.", 310, 340),  # a wide space splits a visual line in the text layer
        line(60, "Math here."),  # an engine that drops formula glyphs from the text
        line(80, "\x88 Bullet item"),  # TeX's bullet glyph as the text layer reports it
        line(100, "A note"),  # a footnote whose mark the engine left out
    ]
    merged = visual_lines(lines)
    runs = paragraph_runs(merged, target)
    assert [[merged[k].text for k in run] for run in runs] == [
        ["Intro"], ["A hyphen-", "ated word and more text."], ["\x88 Bullet item"]]
