"""Byte identity: a recipe covering every renderer and task renders exactly the rows (and,
under the same pyarrow, exactly the shard files) recorded in tests/data/golden/.

The goldens were written by the code this test guards; a change that moves one byte of
one sample fails here and names the sample. A deliberate change of output rewrites them
(`python -m tests.golden_digests OUT tests/data/golden/digests.json`) and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow
import pytest
from ocr2synth.pipelines.core.recipe import load_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.renderers.registry import REGISTRY

from tests.conftest import DATA
from tests.golden_digests import dataset_digests, differences

GOLDEN = DATA / "golden"

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_the_golden_recipe_covers_every_renderer() -> None:
    recipe = load_recipe(GOLDEN / "recipe.yaml", set(REGISTRY))
    assert {e.renderer for e in recipe.entries} == set(REGISTRY)


def test_the_golden_recipe_renders_byte_identical_rows(ray_address, tmp_path: Path) -> None:
    recipe = load_recipe(GOLDEN / "recipe.yaml", set(REGISTRY))
    out = tmp_path / "golden"
    summary = run_recipe(recipe, out, workers=2, progress=False)
    want = json.loads((GOLDEN / "digests.json").read_text())
    problems = differences(dataset_digests(out), want)
    assert not problems, "\n".join(problems)
    shards = json.loads((GOLDEN / "shards.json").read_text())
    if shards["pyarrow"] == pyarrow.__version__:  # another writer may lay bytes out otherwise
        got = {name: record["sha256"] for name, record in summary.manifest["shards"].items()}
        assert got == shards["shards"]
