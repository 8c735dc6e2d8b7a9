"""`ocr2synth export` and the Hub-ready folder: each format read back by its framework's
reader (or as its loader documents it) maps every sample to its shard row; a killed export
resumes; `datasets.load_dataset(DIR)` returns every row."""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.recipe import parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.manifest import DatasetError
from ocr2synth.pipelines.format.schema import model_images
from ocr2synth.pipelines.tools.export import FORMATS, export_dataset

RECIPE = {"name": "exp", "seed": 7, "shard_size": 4,
          "entries": [{"renderer": "latex-formula", "count": 10},
                      {"renderer": "multi-page", "count": 3}]}


@pytest.fixture(scope="module")
def dataset(ray_address, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "set"
    recipe = parse_recipe(RECIPE, Path.cwd(), {"latex-formula", "multi-page"})
    run_recipe(recipe, out, workers=2, progress=False)
    return out


def shard_rows(root: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted((root / "shards").glob("*.parquet")):
        rows.update({r["id"]: r for r in pq.read_table(path).to_pylist()})
    return rows


def _id_of(path: str) -> str:
    """The sample an exported image belongs to: its file stem, or its folder's name."""
    p = Path(path)
    return p.parent.name if re.fullmatch(r"\d\d", p.stem) else p.stem


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def read_ms_swift(out: Path) -> list[dict]:
    got = []
    for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        assert set(rec) == {"query", "response", "images"}
        n = len(rec["images"])
        assert rec["query"].startswith("<image>" * n) and rec["query"].count("<image>") == n
        got.append({"id": _id_of(rec["images"][0]), "prompt": rec["query"][7 * n:],
                    "target": rec["response"],
                    "images": [(out / p).read_bytes() for p in rec["images"]]})
    return got


def read_sharegpt(out: Path) -> list[dict]:
    import datasets

    info = json.loads((out / "dataset_info.json").read_text())
    (entry,) = info.values()
    assert entry["formatting"] == "sharegpt" and entry["columns"] == {
        "messages": "messages", "images": "images"}
    # LLaMA-Factory reads a local file with datasets' own loader, then maps the columns
    ds = datasets.load_dataset("json", data_files=str(out / entry["file_name"]),
                               split="train", cache_dir=str(out.parent / "hf-cache"))
    got = []
    for rec in ds:
        user, assistant = rec["messages"]
        assert (user["role"], assistant["role"]) == ("user", "assistant")
        n = len(rec["images"])
        assert user["content"].count("<image>") == n  # LLaMA-Factory's plugin checks this
        got.append({"id": _id_of(rec["images"][0]), "prompt": user["content"][7 * n:],
                    "target": assistant["content"],
                    "images": [(out / p).read_bytes() for p in rec["images"]]})
    return got


def read_got(out: Path) -> list[dict]:
    """As GOT's ConversationDataset reads it: one json.load, the image root and `image`
    joined as strings, a name without an image extension globbed as a prefix of PNGs."""
    constants = json.loads((out / "got_constants.json").read_text())
    (where,) = constants.values()
    root = where["images"]
    got = []
    for rec in json.loads(Path(where["annotations"]).read_text(encoding="utf-8")):
        human, gpt = rec["conversations"]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        assert human["value"].startswith("<image>\n")
        name = rec["image"]
        if any(ext in name for ext in (".png", ".jpg", ".jpeg")):
            files = [Path(root + name)]
        else:
            files = [Path(f) for f in sorted(glob.glob(root + name + "*.png"), key=_natural)]
        got.append({"id": _id_of(str(files[0])), "prompt": human["value"][len("<image>\n"):],
                    "target": gpt["value"], "images": [f.read_bytes() for f in files]})
    return got


def read_webdataset(out: Path) -> list[dict]:
    import webdataset as wds

    urls = sorted(str(p) for p in out.glob("*.tar"))
    got = []
    for sample in wds.WebDataset(urls, shardshuffle=False, empty_check=False):
        meta = json.loads(sample["json"])
        keys = ["png"] if meta["images"] == 1 else [f"{i:02d}.png"
                                                    for i in range(meta["images"])]
        assert sample["__key__"] == meta["id"]
        got.append({"id": meta["id"], "prompt": sample["prompt.txt"].decode(),
                    "target": sample["target.txt"].decode(),
                    "images": [sample[k] for k in keys]})
    return got


READERS = {"ms-swift": read_ms_swift, "sharegpt": read_sharegpt, "got": read_got,
           "webdataset": read_webdataset}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_exported_sample_maps_back_to_its_shard_row(dataset, tmp_path, fmt):
    result = export_dataset(dataset, fmt, tmp_path / fmt, progress=False,
                            samples_per_tar=3)
    rows = shard_rows(dataset)
    got = READERS[fmt](tmp_path / fmt)
    assert result.rows == len(rows) == len(got)
    assert sorted(g["id"] for g in got) == sorted(rows)
    multi = 0
    for sample in got:
        row = rows[sample["id"]]
        assert sample["target"] == row["target"] and sample["prompt"] == row["prompt"]
        assert sample["images"] == [im["bytes"] for im in model_images(row)]
        multi += len(sample["images"]) > 1
    assert multi == 3  # the multi-page samples carry their pages, in order


def test_a_killed_export_resumes_and_ends_identical(dataset, tmp_path):
    whole = export_dataset(dataset, "ms-swift", tmp_path / "whole", progress=False)

    class Killed(Exception):
        pass

    def kill_after_two(shard: str) -> None:
        if shard == "part-000001":
            raise Killed

    with pytest.raises(Killed):
        export_dataset(dataset, "ms-swift", tmp_path / "cut", progress=False,
                       after_shard=kill_after_two)
    assert not (tmp_path / "cut" / "train.jsonl").exists()
    again = export_dataset(dataset, "ms-swift", tmp_path / "cut", progress=False)
    assert (again.exported_shards, again.skipped_shards) == (whole.exported_shards - 2, 2)
    assert ((tmp_path / "cut" / "train.jsonl").read_bytes()
            == (tmp_path / "whole" / "train.jsonl").read_bytes())


def test_export_refuses_what_it_cannot_do_before_any_work(dataset, tmp_path, capsys):
    assert main(["export", str(dataset), "--format", "llava", "--out",
                 str(tmp_path / "x"), "--no-progress"]) == 2
    assert "unknown format 'llava'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    export_dataset(dataset, "got", tmp_path / "got", progress=False)
    with pytest.raises(DatasetError, match="holds another export"):
        export_dataset(dataset, "webdataset", tmp_path / "got", progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        export_dataset(dataset, "got", tmp_path / "busy", progress=False)


def test_the_final_check_finds_a_file_changed_under_it(dataset, tmp_path):
    export_dataset(dataset, "webdataset", tmp_path / "w", progress=False)
    tar = sorted((tmp_path / "w").glob("*.tar"))[0]
    tar.write_bytes(tar.read_bytes()[:-1024])
    with pytest.raises(DatasetError, match="changed since it was written"):
        export_dataset(dataset, "webdataset", tmp_path / "w", progress=False)


def test_load_dataset_on_the_folder_returns_every_row_and_each_entry(dataset, tmp_path):
    import datasets

    cache = str(tmp_path / "hf-cache")
    rows = shard_rows(dataset)
    card = (dataset / "README.md").read_text()
    assert card.startswith("---\n") and "task_categories:" in card
    ds = datasets.load_dataset(str(dataset), split="train", cache_dir=cache)
    assert len(ds) == len(rows) and sorted(ds["id"]) == sorted(rows)
    assert ds[0]["image"].size == (ds[0]["width"], ds[0]["height"])
    pages = datasets.load_dataset(str(dataset), "multi-page", split="train", cache_dir=cache)
    assert sorted(pages["id"]) == sorted(i for i in rows if i.startswith("multi-page"))


@pytest.mark.unit
def test_the_front_matter_names_the_recipes_licence_languages_and_size():
    import yaml
    from ocr2synth.pipelines.core.recipe import RecipeError
    from ocr2synth.pipelines.format.card import front_matter
    from ocr2synth.pipelines.format.figures import DatasetFigures

    raw = {**RECIPE, "license": "cc-by-4.0"}
    recipe = parse_recipe(raw, Path.cwd(), {"latex-formula", "multi-page"})
    assert recipe.license == "cc-by-4.0"
    assert "license" not in parse_recipe(RECIPE, Path.cwd(), {"latex-formula",
                                                              "multi-page"}).to_dict()
    with pytest.raises(RecipeError, match="licence id"):
        parse_recipe({**RECIPE, "license": "My Licence"}, Path.cwd(), {"latex-formula",
                                                                       "multi-page"})
    manifest = {"name": "exp", "recipe": recipe.to_dict(), "totals": {"rows": 12_345},
                "shards": {"part-000000": {"entry": "a", "file": "shards/part-000000.parquet"},
                           "part-000001": {"entry": "b", "file": "shards/part-000001.parquet"}}}
    text = front_matter(manifest, DatasetFigures(han_rows=3))
    assert text.startswith("---\n") and text.endswith("---\n\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["zh"]
    assert meta["size_categories"] == ["10K<n<100K"]
    assert [c["config_name"] for c in meta["configs"]] == ["default", "a", "b"]
    assert meta["configs"][1]["data_files"] == [{"split": "train",
                                                 "path": ["shards/part-000000.parquet"]}]
