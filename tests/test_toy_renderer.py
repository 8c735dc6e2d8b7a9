"""Adding a renderer is one package: a toy one (tests/data/toy_renderer, joined through
OCR2SYNTH_RENDERERS) shows up in `--help`, the parameter check, the demo recipe, the bench,
a render through Ray and the gallery, with no other file touched. And a renderer whose own
code raises stops the job with that error and its entry, where a dying process would
become a `poison` reject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.recipe import demo_recipe, parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.core.worker import RendererFailed
from ocr2synth.pipelines.tools.bench import run_bench
from ocr2synth.pipelines.tools.bench_report import stage_mixes
from ocr2synth.pipelines.tools.preview import build_preview, target_kind
from ocr2synth.renderers.registry import EXTRA_ENV, REGISTRY, load_registry

from tests.conftest import DATA

TOY = DATA / "toy_renderer"


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setenv(EXTRA_ENV, str(TOY))
    load_registry()
    yield REGISTRY["toy"]
    monkeypatch.delenv(EXTRA_ENV)
    load_registry()


def toy_recipe(**params) -> object:
    raw = {"name": "toy", "seed": 3, "shard_size": 4,
           "entries": [{"renderer": "toy", "count": 6, "params": params}]}
    return parse_recipe(raw, None, set(REGISTRY))


@pytest.mark.unit
def test_the_toy_is_in_help_and_its_params_are_listed(toy, capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert "toy             a word drawn by Pillow" in capsys.readouterr().out
    assert main(["renderers", "toy"]) == 0
    assert "size: an integer in 16..512 (default 64)" in capsys.readouterr().out


@pytest.mark.unit
def test_the_toy_params_are_checked_before_work(toy, tmp_path, capsys):
    code = main(["render", "--renderer", "toy", "--count", "2", "--out", str(tmp_path / "o"),
                 "--param", "sise=3"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "params.sise" in err and "did you mean 'size'" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.unit
def test_the_toy_is_in_the_demo_recipe_the_bench_and_the_gallery_kinds(toy):
    assert {"renderer": "toy", "count": 4} in demo_recipe()["entries"]
    assert stage_mixes()[1]["toy"] == 1000
    report = run_bench("toy", count=8, naive_count=4, repeats=1, memory=False)
    assert "renderer: toy" in report and "naive baseline (4 samples): 4.00" in report
    assert target_kind("toy", "ocr", "alpha", {}) == "text"


@pytest.mark.engine
def test_the_toy_renders_through_ray_and_shows_in_the_gallery(toy, ray_address, tmp_path):
    out = tmp_path / "set"
    summary = run_recipe(toy_recipe(size=32), out, workers=2, progress=False)
    assert summary.planned == 6 and summary.rendered_shards == 2
    result = build_preview(out, None, per_group=10, page_size=4)
    assert result.shown == 6
    index = (out / "preview_files" / "index.js").read_text()
    data = json.loads(index.split("=", 1)[1].rstrip().rstrip(";"))
    assert data["renderers"] == ["toy"]


@pytest.mark.engine
def test_a_renderer_that_raises_fails_the_job_naming_its_entry(toy, ray_address, tmp_path):
    with pytest.raises(RendererFailed, match=r"entry 'toy' \(toy\): RuntimeError: the toy was"):
        run_recipe(toy_recipe(fail=True), tmp_path / "set", workers=1, progress=False)
    assert not list(Path(tmp_path / "set").glob("rejects/*.jsonl"))  # no poison rejects
