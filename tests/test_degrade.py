"""The optional degradation stage: seeded, boxes follow the geometry, on from a recipe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pymupdf
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.degrade import EFFECTS, DegradeSettings, degrade, plan
from ocr2synth.pipelines.core.recipe import RecipeError, parse_recipe
from ocr2synth.renderers.base import Box, Sample
from ocr2synth.renderers.imaging import encode_image, ink_bbox
from PIL import Image, ImageDraw


def _page() -> Sample:
    """A white page with two dark bars standing for lines of text, boxed exactly."""
    image = Image.new("L", (400, 300), 255)
    draw = ImageDraw.Draw(image)
    boxes = [Box(60, 80, 340, 100, "first line"), Box(60, 190, 250, 215, "second")]
    for box in boxes:
        draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=0)
    return Sample(image=image, target="first line\nsecond", prompt="OCR: ", task="ocr",
                  boxes=boxes)


def _png(sample: Sample) -> bytes:
    return encode_image(sample.image, "png", 1, "auto")


def test_same_seed_same_bytes_and_seeds_differ():
    settings = DegradeSettings(p=1.0)
    first = [degrade(_page(), settings, seed) for seed in range(4)]
    again = [degrade(_page(), settings, seed) for seed in range(4)]
    assert [_png(s) for s in first] == [_png(s) for s in again]
    assert [s.boxes for s in first] == [s.boxes for s in again]
    assert len({_png(s) for s in first}) == 4
    for sample, seed in zip(first, range(4), strict=True):
        assert sample.meta["degrade"] == plan(settings, seed)
        assert set(sample.meta["degrade"]) <= set(EFFECTS)


def test_share_p_of_samples_is_degraded():
    settings = DegradeSettings(p=0.3)
    touched = sum(plan(settings, seed) is not None for seed in range(1000))
    assert 240 < touched < 360
    untouched = next(s for s in range(100) if plan(settings, s) is None)
    page = _page()
    assert degrade(page, settings, untouched) is page


@pytest.mark.parametrize("effects", [("rotate",), ("perspective",), ("rotate", "perspective")])
def test_boxes_enclose_their_ink_after_the_geometry(effects):
    settings = DegradeSettings(p=1.0, effects=effects, effect_p=1.0, max_rotation=6.0)
    for seed in range(5):
        out = degrade(_page(), settings, seed)
        gray = np.asarray(out.image.convert("L"))
        assert set(out.meta["degrade"]) == set(effects)
        for box in out.boxes:
            assert 0 <= box.x0 < box.x1 <= out.image.width
            assert 0 <= box.y0 < box.y1 <= out.image.height
        # each bar's ink, found apart from the other bar, lies inside its moved box, and
        # the box is no looser than the corners' enclosing box needs (a few pixels)
        top, bottom = out.boxes
        split = int((top.y1 + bottom.y0) / 2)
        for box, rows in ((top, gray[:split]), (bottom, gray[split:])):
            offset = 0 if box is top else split
            ink = ink_bbox(Image.fromarray(rows), threshold=128)
            assert ink is not None
            x0, y0, x1, y1 = ink[0], ink[1] + offset, ink[2], ink[3] + offset
            assert box.x0 - 1 <= x0 and x1 <= box.x1 + 1, (seed, box, ink)
            assert box.y0 - 1 <= y0 and y1 <= box.y1 + 1, (seed, box, ink)
            assert (box.x1 - box.x0) - (x1 - x0) < 6 and (box.y1 - box.y0) - (y1 - y0) < 6


def test_a_rotated_page_is_not_cut_off():
    settings = DegradeSettings(p=1.0, effects=("rotate",), max_rotation=5.0)
    out = degrade(_page(), settings, 3)
    assert abs(out.meta["degrade"]["rotate"]["degrees"]) > 0.5
    assert out.image.size != (400, 300)  # the canvas grew to fit the turned page


def _recipe(degrade_block) -> dict:
    return {"name": "d", "seed": 1, "entries": [
        {"renderer": "pdf-page", "count": 4, "degrade": degrade_block}]}


def test_recipe_degrade_block_is_checked():
    entry = parse_recipe(_recipe({"p": 0.25, "effects": ["blur", "rotate"]}), None,
                         {"pdf-page"}).entries[0]
    assert entry.degrade == DegradeSettings(p=0.25, effects=("blur", "rotate"))
    assert parse_recipe(_recipe(True), None, {"pdf-page"}).entries[0].degrade == \
        DegradeSettings()
    assert parse_recipe(_recipe(None), None, {"pdf-page"}).entries[0].degrade is None
    for block, message in (({"probability": 1}, "entries[0].degrade: unknown key 'probability'"),
                           ({"p": 2}, "entries[0].degrade.p: must be between 0 and 1"),
                           ({"effects": ["smudge"]}, "entries[0].degrade.effects: choose"),
                           ("yes", "entries[0].degrade: expected dict")):
        with pytest.raises(RecipeError) as err:
            parse_recipe(_recipe(block), None, {"pdf-page"})
        assert message in str(err.value) and "\n" not in str(err.value)


def test_cli_render_with_degradation(ray_address, tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    doc = pymupdf.open()
    for n in range(3):
        page = doc.new_page(width=300, height=200)
        for i in range(4):
            page.insert_text((30, 40 + 30 * i), f"page {n} line {i} of some text", fontsize=12)
    doc.save(pdfs / "doc.pdf")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps({
        "name": "degraded", "seed": 11, "shard_size": 6,
        "entries": [{"renderer": "pdf-page", "count": 6, "source": str(pdfs),
                     "params": {"dpi": [100, 100]},
                     "degrade": {"p": 1.0, "effects": ["rotate", "noise", "blur"]}}]}))
    out = tmp_path / "out"
    assert main(["render", str(recipe), "--out", str(out), "--no-progress"]) == 0
    assert main(["verify", str(out)]) == 0
    rows = pq.read_table(out / "shards" / "part-000000.parquet").to_pylist()
    assert len(rows) == 6
    for row in rows:
        applied = json.loads(row["meta"])["degrade"]
        assert set(applied) <= {"rotate", "noise", "blur"} and applied
        image = Image.open(io.BytesIO(row["image"]["bytes"]))
        assert image.size == (row["width"], row["height"])
        assert len(row["boxes"]) == 8  # 4 paragraphs (one line each) and 4 lines
        for box in row["boxes"]:
            assert 0 <= box["x0"] < box["x1"] <= row["width"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["entries"][0]["degrade"]["p"] == 1.0
    assert Path(out / "README.md").exists()
