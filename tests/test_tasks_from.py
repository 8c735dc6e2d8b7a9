"""Stage-3 tasks composed from a dataset rendered before (`--from DIR`, `base: {from: DIR}`):
the pairs are the base's own samples, the base ids are in each sample's meta, the output
is a function of the task's seed and the base's content, and a changed base is refused."""

from __future__ import annotations

import io
import json
import re
import shutil
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
