"""Stage-3 tasks composed from a dataset rendered before (`--from DIR`, `base: {from: DIR}`):
the pairs are the base's own samples, the base ids are in each sample's meta, the output
is a function of the task's seed and the base's content, and a changed base is refused."""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.recipe import RecipeError, parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.manifest import dataset_hash, load_manifest
from ocr2synth.renderers.registry import REGISTRY
from PIL import Image

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def _rows(root: Path) -> dict[str, dict]:
    return {r["id"]: r for p in sorted((root / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()}


def _bare(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _recipe(renderer: str, base: Path | str, count: int, shard_size: int = 4, seed: int = 3,
            **params):
    raw = {"name": "from", "seed": seed, "shard_size": shard_size,
           "entries": [{"renderer": renderer, "count": count, "base": {"from": str(base)},
                        "params": params}]}
    return parse_recipe(raw, None, set(REGISTRY))


@pytest.fixture(scope="module")
def base(ray_address, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base")
    raw = {"name": "base", "seed": 2, "shard_size": 4,
           "entries": [{"renderer": "latex-page", "count": 6}]}
    run_recipe(parse_recipe(raw, None, set(REGISTRY)), out, workers=2, progress=False)
    return out


@pytest.fixture(scope="module")
def fine(base, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fine")
    run_recipe(_recipe("fine-grained", base, 8), out, workers=2, progress=False)
    return out


def test_fine_grained_regions_are_the_base_pages_own_lines(base, fine):
    bases, rows = _rows(base), _rows(fine)
    assert len(rows) >= 6  # a page without a usable region is a reject, not a wrong pair
    used = set()
    for row in rows.values():
        meta = json.loads(row["meta"])
        page = bases[meta["base_sample"]["id"]]
        used.add(page["id"])
        # sample k reads base row k (wrapping round the six pages)
        assert meta["base_sample"]["row"] == int(row["id"].rsplit("-", 1)[1]) % 6
        assert meta["base_sample"]["dataset"] == dataset_hash(load_manifest(base))
        # (a list item's line starts with the bullet the page prints, "- " in markdown;
        # spaces compared away: between Chinese and Latin the text layer may drop them)
        assert row["target"] and all(_bare(re.sub(r"^\u2022 ", "- ", line))
                                     in _bare(page["target"])
                                     for line in row["target"].splitlines())
        if row["task"] == "box":  # the base page itself, pixel for pixel
            assert np.array_equal(_pixels(row["image"]["bytes"]), _pixels(page["image"]["bytes"]))
        else:  # a frame drawn on it: only the frame's pixels differ
            diff = np.any(_pixels(row["image"]["bytes"]) != _pixels(page["image"]["bytes"]), -1)
            x0, y0, x1, y1 = meta["frame"]
            ys, xs = np.nonzero(diff)
            assert xs.min() >= x0 and xs.max() <= x1 and ys.min() >= y0 and ys.max() <= y1
    assert len(used) == 6


def test_a_task_from_a_base_is_the_same_in_any_shard_split(base, fine, tmp_path):
    out = tmp_path / "again"
    run_recipe(_recipe("fine-grained", base, 8, shard_size=3), out, workers=1, progress=False)
    again, first = _rows(out), _rows(fine)
    assert again.keys() == first.keys()
    for sid, row in first.items():
        assert again[sid]["image"]["bytes"] == row["image"]["bytes"]
        assert (again[sid]["prompt"], again[sid]["target"]) == (row["prompt"], row["target"])


def test_multi_crop_joins_the_named_base_pages_targets(base, tmp_path, capsys):
    out = tmp_path / "crop"
    assert main(["render", "--renderer", "multi-crop", "--from", str(base), "--count", "3",
                 "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    bases = _rows(base)
    for row in _rows(out).values():
        ids = [b["id"] for b in json.loads(row["meta"])["base_samples"]]
        assert row["target"] == "\n\n".join(bases[i]["target"] for i in ids)
        assert row["images"]  # the tiles and the thumbnail


def test_the_recipe_records_the_base_hash_and_a_changed_base_is_refused(base, fine, tmp_path):
    recipe = _recipe("fine-grained", base, 8)
    params = recipe.entries[0].params
    assert params["from"] == str(base.resolve())
    assert params["from_hash"] == dataset_hash(load_manifest(base))
    changed = tmp_path / "changed"
    shutil.copytree(base, changed)
    manifest = json.loads((changed / "manifest.json").read_text())
    manifest["shards"].pop("part-000001")  # a base with fewer pages is another base
    (changed / "manifest.json").write_text(json.dumps(manifest))
    other = _recipe("fine-grained", changed, 8)
    assert other.content_hash() != recipe.content_hash()
    # the recipe checked against one base, run against another: the job stops
    raw = json.loads(json.dumps(recipe.to_dict()))
    raw["entries"][0]["params"]["from"] = str(changed)
    with pytest.raises(Exception, match="changed since the recipe was checked"):
        run_recipe(parse_recipe(raw, None, set(REGISTRY)), tmp_path / "o", workers=1,
                   progress=False)
    with pytest.raises(RecipeError, match="no manifest.json"):
        _recipe("fine-grained", tmp_path / "nothing-here", 2)


# multi-page from stored markdown pages: each page cut after a few of its blocks

@pytest.fixture(scope="module")
def pages(ray_address, tmp_path_factory) -> Path:
    """Eight generated markdown pages: four English single-column, four Chinese in two
    columns (recipe seed 6)."""
    out = tmp_path_factory.mktemp("pages")
    raw = {"name": "pages", "seed": 6, "shard_size": 4,
           "entries": [{"renderer": "markdown-page", "count": 8,
                        "params": {"content": "generated"}}]}
    run_recipe(parse_recipe(raw, None, set(REGISTRY)), out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def multi(pages, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("multi")
    run_recipe(_recipe("multi-page", pages, 8, pages=[2, 3], blocks=[2, 5]), out, workers=1,
               progress=False)
    return out


def _block_ends(page: dict) -> list[int]:
    """Where each block's text ends in the stored page's target, found in order."""
    ends, at = [], 0
    for box in page["boxes"][:len(json.loads(page["meta"])["blocks"])]:
        at = page["target"].index(box["text"], at) + len(box["text"])
        ends.append(at)
    return ends


def _gray(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


def test_multi_page_from_stored_pages_keeps_a_prefix_of_each_page(pages, multi):
    bases, rows = _rows(pages), _rows(multi)
    assert len(rows) >= 6  # a sample short of cuttable pages is a reject, not a wrong pair
    layouts = set()
    for row in rows.values():
        meta = json.loads(row["meta"])
        expected = []
        for used in meta["base_samples"]:
            page = bases[used["id"]]
            kept = used["blocks_kept"]
            assert 2 <= kept <= 5 and used["dataset"] == dataset_hash(load_manifest(pages))
            # the stored target through exactly the first `kept` blocks' text
            expected.append(page["target"][:_block_ends(page)[kept - 1]])
            page_meta = json.loads(page["meta"])
            layouts.add((page_meta["lang"], page_meta["columns"]))
        assert row["target"] == "\n\n".join(expected)
        assert "[^" not in row["target"]  # no reference to a footnote that was cut away
        assert len(row["images"]) == len(expected) == meta["pages"]
    assert layouts == {("en", 1), ("zh", 2)}


def test_multi_page_from_stored_pages_shows_the_kept_blocks_only(pages, multi):
    bases, rows = _rows(pages), _rows(multi)
    assert len(rows) >= 6
    for row in rows.values():
        meta = json.loads(row["meta"])
        for used, image in zip(meta["base_samples"], row["images"], strict=True):
            page = bases[used["id"]]
            stored, shown = _gray(page["image"]["bytes"]), _gray(image["bytes"])
            assert shown.shape == stored.shape
            right, bottom = used["cut"]
            columns = json.loads(page["meta"])["columns"]
            assert (right == stored.shape[1]) == (columns == 1)
            # the stored pixels inside the kept area, white everywhere else
            assert np.array_equal(shown[:bottom, :right], stored[:bottom, :right])
            assert (shown[bottom:] == 255).all() and (shown[:, right:] == 255).all()
            assert (stored[bottom:] < 255).any()  # something was cut away
            # the kept area holds the kept blocks, the next block starts below the cut
            boxes = page["boxes"][:len(json.loads(page["meta"])["blocks"])]
            kept = boxes[:used["blocks_kept"]]
            assert all(b["y1"] <= bottom + 3 and b["x1"] <= right for b in kept)
            following = boxes[used["blocks_kept"]]
            if following["x1"] <= right:
                assert following["y0"] >= bottom - 3


def test_multi_page_from_a_base_is_the_same_in_any_shard_split(pages, multi, tmp_path):
    out = tmp_path / "again"
    run_recipe(_recipe("multi-page", pages, 8, shard_size=3, pages=[2, 3], blocks=[2, 5]),
               out, workers=1, progress=False)
    again, first = _rows(out), _rows(multi)
    assert len(first) >= 6 and again.keys() == first.keys()
    for sid, row in first.items():
        assert [i["bytes"] for i in again[sid]["images"]] == [i["bytes"] for i in row["images"]]
        assert (again[sid]["target"], again[sid]["meta"]) == (row["target"], row["meta"])


def test_a_stored_page_whose_block_text_is_not_in_its_target_is_skipped(pages, monkeypatch):
    from ocr2synth.renderers.tasks.multi_page import MultiPageRenderer, MultiPageSource
    from ocr2synth.renderers.tasks.stored import StoredBases

    params = {"from": str(pages), "pages": [2, 2], "blocks": [2, 5]}
    source = MultiPageSource(None, params)
    item = source.item(11, 0)  # names rows 0-3: two pages, two spares
    renderer = MultiPageRenderer(params, timeout_s=20)
    try:
        honest = renderer.render_batch([item])[0]
        first = json.loads(json.dumps(honest.meta))["base_samples"][0]["row"]
        row = StoredBases.row

        def altered(self, index):  # that page's first block says something its target does not
            out = row(self, index)
            if index == first:
                out = {**out, "boxes": [{**out["boxes"][0], "text": "not on the page"},
                                        *out["boxes"][1:]]}
            return out

        monkeypatch.setattr(StoredBases, "row", altered)
        skipped = renderer.render_batch([item])[0]
        rows = [b["row"] for b in skipped.meta["base_samples"]]
        assert first not in rows and len(rows) == 2  # a spare stood in for it
        # with no spare left the sample is a reject that says why
        bad = item.content.items[first]
        narrow = replace(item, content=replace(item.content, items=(bad, bad)))
        reject = renderer.render_batch([narrow])[0]
        assert reject.reason == "too-few-pages" and "block-not-in-target" in reject.detail
    finally:
        renderer.close()


def test_a_cut_is_refused_where_the_pixels_do_not_prove_it(pages):
    from ocr2synth.renderers.tasks import cut
    from ocr2synth.renderers.tasks.stored import StoredBases, stored_sample
    from PIL import ImageDraw

    bases = StoredBases(str(pages))
    page = next(p for p in (stored_sample(bases.row(i), bases.hash) for i in range(bases.size))
                if cut.first_cut(cut.read_page(p), [2], 10_000)[0])
    good, _ = cut.first_cut(cut.read_page(page), [2], 10_000)
    blocks = page.boxes[:2]
    x = int(blocks[0].x0) + 1

    def drawn(shape: tuple[int, int, int, int]) -> cut.Page:
        image = page.image.copy()
        ImageDraw.Draw(image).rectangle(shape, fill=0)
        return cut.read_page(replace(page, image=image))

    # ink across the cut line (a rule from the top block to the page foot)
    assert cut.first_cut(drawn((x, int(blocks[0].y0), x, page.image.height - 1)), [2],
                         10_000) == (None, ["straddle"])
    # a mark in the margin beside the first block belongs to no block
    y = int((blocks[0].y0 + blocks[0].y1) / 2)
    assert cut.first_cut(drawn((x - 12, y, x - 10, y + 2)), [2], 10_000) == (
        None, ["stray-ink"])
    # the same page untouched is cut where it was
    assert cut.first_cut(cut.read_page(page), [2], 10_000) == (good, [])


def test_multi_page_uses_a_stored_page_that_records_no_blocks_whole(ray_address, tmp_path):
    tables, out = tmp_path / "tables", tmp_path / "multi"
    raw = {"name": "tables", "seed": 2, "shard_size": 6,
           "entries": [{"renderer": "latex-table", "count": 6}]}
    run_recipe(parse_recipe(raw, None, set(REGISTRY)), tables, workers=1, progress=False)
    run_recipe(_recipe("multi-page", tables, 2, pages=[2, 3]), out, workers=1, progress=False)
    bases, rows = _rows(tables), _rows(out)
    assert len(rows) == 2
    for row in rows.values():
        used = json.loads(row["meta"])["base_samples"]
        assert all("cut" not in u for u in used)
        assert row["target"] == "\n\n".join(bases[u["id"]]["target"] for u in used)
        for u, image in zip(used, row["images"], strict=True):
            stored = bases[u["id"]]["image"]["bytes"]
            assert np.array_equal(_pixels(image["bytes"]), _pixels(stored))
