"""The render pipeline end to end on a real Ray cluster: shards, manifest, determinism,
resume after a kill, and what other tools read back."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.plan import plan_shards
from ocr2synth.pipelines.core.recipe import parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.manifest import DatasetError, load_manifest
from ocr2synth.pipelines.format.shards import file_sha256
from PIL import Image

from tests.conftest import DATA

KNOWN = {"latex-formula"}


def recipe(seed: int = 11, count: int = 24, shard_size: int = 8, **extra):
    raw = {"name": "t", "seed": seed, "shard_size": shard_size,
           "entries": [{"renderer": "latex-formula", "count": count, **extra}]}
    return parse_recipe(raw, Path.cwd(), KNOWN)


def read_rows(root: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted((root / "shards").glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            assert row["id"] not in rows, f"{row['id']} twice"
            rows[row["id"]] = row
    return rows


def read_reject_ids(root: Path) -> list[str]:
    return [json.loads(line)["id"] for path in sorted((root / "rejects").glob("*.jsonl"))
            for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def rendered(ray_address, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two-workers")
    run_recipe(recipe(), out, workers=2, progress=False)
    return out


def test_one_and_two_workers_and_other_shard_sizes_give_identical_samples(
    rendered, tmp_path: Path
):
    run_recipe(recipe(), tmp_path / "one", workers=1, progress=False)
    run_recipe(recipe(shard_size=5), tmp_path / "split", workers=2, progress=False)
    two = read_rows(rendered)
    assert len(two) >= 22
    for other in (read_rows(tmp_path / "one"), read_rows(tmp_path / "split")):
        assert other.keys() == two.keys()
        for sid, row in two.items():
            assert other[sid]["target"] == row["target"]
            assert other[sid]["image"]["bytes"] == row["image"]["bytes"]
            assert other[sid]["seed"] == row["seed"]
    # and a different seed gives different content
    run_recipe(recipe(seed=12, count=8), tmp_path / "other", workers=2, progress=False)
    other_targets = {r["target"] for r in read_rows(tmp_path / "other").values()}
    assert not other_targets & {r["target"] for r in two.values()}


def test_every_planned_id_is_a_row_or_a_reject_exactly_once(rendered):
    planned = {sid for shard in plan_shards(recipe()) for sid in shard.ids()}
    rows, rejects = read_rows(rendered), read_reject_ids(rendered)
    assert len(rejects) == len(set(rejects))
    assert set(rows).isdisjoint(rejects)
    assert set(rows) | set(rejects) == planned


def test_manifest_records_each_shard_with_checksum_and_id_range(rendered):
    manifest = load_manifest(rendered)
    assert manifest["complete"] is True
    assert manifest["recipe_hash"] == recipe().content_hash()
    assert len(manifest["shards"]) == 3
    for name, record in manifest["shards"].items():
        path = rendered / record["file"]
        assert record["sha256"] == file_sha256(path)
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        assert record["rows"] == len(ids) and record["id_range"] == [min(ids), max(ids)]
        assert record["code_version"].startswith("0.1.0")
        assert (rendered / "rejects" / f"{name}.jsonl").exists()
    assert not list(rendered.rglob("*.tmp"))


def test_datasets_pyarrow_and_duckdb_read_the_shards(rendered):
    import datasets
    import duckdb
    from PIL import Image

    files = sorted(str(p) for p in (rendered / "shards").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    rows = read_rows(rendered)
    assert len(ds) == len(rows)
    first = ds[0]
    assert isinstance(first["image"], Image.Image)
    assert first["image"].size == (first["width"], first["height"])
    assert first["target"] == rows[first["id"]]["target"]
    assert first["prompt"] == "OCR with format: " and first["images"] == []
    table = pq.read_table(files[0])
    assert table.schema.field("image").type.field("bytes").type == "binary"
    count, renderer = duckdb.sql(
        f"SELECT count(*), any_value(renderer) FROM read_parquet({files!r})"
    ).fetchall()[0]
    assert (count, renderer) == (len(rows), "latex-formula")


def test_a_worker_that_cannot_see_the_output_folder_hands_its_shards_to_the_driver(
    rendered, tmp_path: Path, monkeypatch
):
    """Workers write where they see the job's marker file; here none does (the driver writes
    its marker under another name, as if the folder were on another machine), so the
    driver writes every shard, with the same bytes."""
    from ocr2synth.pipelines.core import runner

    monkeypatch.setattr(runner, "MARKER", ".ocr2synth-job-elsewhere")
    here: list[str] = []  # shards written in this process, the driver's
    write_here = runner.write_here
    monkeypatch.setattr(runner, "write_here",
                        lambda layout, name, *a: here.append(name) or write_here(layout, name, *a))
    out = tmp_path / "driver-writes"
    run_recipe(recipe(), out, workers=2, progress=False)
    assert sorted(here) == ["part-000000", "part-000001", "part-000002"]
    names = sorted(p.name for p in (rendered / "shards").iterdir())
    assert sorted(p.name for p in (out / "shards").iterdir()) == names
    for name in names:
        assert (out / "shards" / name).read_bytes() == (rendered / "shards" / name).read_bytes()
    assert not (out / ".ocr2synth-job-elsewhere").exists()


def test_rerun_skips_finished_shards_and_refuses_another_recipe(rendered):
    before = {p.name: p.stat().st_mtime_ns for p in (rendered / "shards").iterdir()}
    summary = run_recipe(recipe(), rendered, workers=2, progress=False)
    assert (summary.skipped_shards, summary.rendered_shards) == (3, 0)
    assert before == {p.name: p.stat().st_mtime_ns for p in (rendered / "shards").iterdir()}
    with pytest.raises(DatasetError, match="another recipe"):
        run_recipe(recipe(seed=99), rendered, workers=2, progress=False)


def _render_command(out: Path, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ocr2synth.pipelines.cli", "render",
            "--renderer", "latex-formula",
            "--count", "48", "--shard-size", "6", "--seed", "5", "--workers", "1",
            "--address", address, "--out", str(out), "--no-progress", *extra]


def test_a_killed_job_resumes_to_exactly_the_planned_ids(ray_address, tmp_path: Path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_render_command(out, ray_address), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120

    def committed() -> int:  # a shard counts once the manifest lists it
        try:
            return len(json.loads((out / "manifest.json").read_text())["shards"])
        except (OSError, ValueError):
            return 0

    while time.monotonic() < deadline and proc.poll() is None and committed() < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = committed()
    assert 2 <= finished < 8, "the kill must land mid-job"
    result = subprocess.run(_render_command(out, ray_address), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{8 - finished} shards rendered, {finished} already done" in result.stdout
    rows, rejects = read_rows(out), read_reject_ids(out)  # read_rows: no id twice
    planned = {f"latex-formula-{k:08d}" for k in range(48)}
    assert set(rows) | set(rejects) == planned
    assert len(rows) + len(rejects) == 48
    assert load_manifest(out)["complete"] is True
    assert not list(out.rglob("*.tmp"))
    assert main(["verify", str(out)]) == 0


def test_hostile_source_lines_become_rejects_and_good_lines_render(
    ray_address, tmp_path: Path, capsys
):
    out = tmp_path / "hostile"
    for canary in ("/tmp/ocr2synth-canary-write18", "/tmp/ocr2synth-canary-openout"):
        Path(canary).unlink(missing_ok=True)
    started = time.monotonic()
    code = main(["render", "--renderer", "latex-formula", "--source",
                 str(DATA / "bad_formulas.txt"), "--out", str(out), "--no-progress"])
    assert time.monotonic() - started < 120
    # 7 of 11 lines are bad: far above the default 20% limit, so the job reports failure
    assert code == 3
    assert "reject rate above the recipe's limit" in capsys.readouterr().err
    targets = sorted(r["target"] for r in read_rows(out).values())
    assert targets == sorted([
        r"x^{2} + y^{2} = r^{2}", r"\int_{0}^{1} f(x) \, dx",
        r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}", r"\sqrt{\alpha^{2} + \beta^{2}}",
    ])
    rejects = {json.loads(line)["excerpt"]: json.loads(line)["reason"]
               for line in (out / "rejects" / "part-000000.jsonl").read_text().splitlines()}
    assert rejects == {
        r"\frac{a}{b": "unbalanced-braces", "a + b}": "unbalanced-braces",
        r"\undefinedmacro{x}": "tex-error", r"\input{/etc/passwd}": "forbidden",
        r"\immediate\write18{touch /tmp/ocr2synth-canary-write18}": "forbidden",
        r"\loop\iftrue\repeat": "forbidden",
        r"\openout1=/tmp/ocr2synth-canary-openout": "forbidden",
    }
    assert not Path("/tmp/ocr2synth-canary-write18").exists()
    assert not Path("/tmp/ocr2synth-canary-openout").exists()


def test_inspect_and_card_report_the_counts(rendered, capsys):
    assert main(["inspect", str(rendered)]) == 0
    text = capsys.readouterr().out
    rows = len(read_rows(rendered))
    assert f"latex-formula  latex-formula  {rows:>7}" in text
    assert "format: " in text and "image: struct<bytes: binary, path: string>" in text
    card = (rendered / "README.md").read_text()
    assert f"{rows:>7}" in card and "load_dataset" in card and "latex-formula" in card
    assert json.dumps(load_manifest(rendered)["recipe"]["seed"]) in card
    manifest = load_manifest(rendered)
    assert f"code version: `{manifest['code_version']}`" in card
    assert "duckdb" in card and "pd.read_parquet" in card and "ocr2synth train" in card
    # rows per renderer and task, sizes, and the plots, which exist and show something
    assert re.search(rf"latex-formula\s+{rows}\s+{rows}\n", card)
    assert "KiB/sample" in card and "median image" in card
    for name in ("card-samples.png", "card-target-length.png", "card-image-size.png"):
        assert f"]({name})" in card
        with Image.open(rendered / name) as plot:
            assert plot.width > 300 and plot.height > 200
            lo, hi = plot.convert("L").getextrema()
            assert hi - lo > 150
            # not a blank page: a good share of the pixels is ink
            dark = sum(plot.convert("L").point(lambda v: v < 200).histogram()[1:])
            assert dark > 0.005 * plot.width * plot.height
    # inspect prints the same histograms: one bar row per renderer and figure
    lengths = [len(r["target"]) for r in read_rows(rendered).values()]
    assert f"min {min(lengths)}  median" in text and f"max {max(lengths)}" in text
    assert re.search(r"latex-formula\s+\|[ ▁▂▃▄▅▆▇█]{32}\|", text)
    assert "image width" in text and "image height" in text and "target length" in text


def test_more_workers_than_cluster_cpus_is_a_clear_error(ray_address, tmp_path: Path, capsys):
    code = main(["render", "--renderer", "latex-formula", "--count", "2", "--workers", "3",
                 "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2
    assert "--workers 3 needs 3 CPUs; the Ray cluster has 2" in capsys.readouterr().err


def test_music_and_molecule_entries_render_through_ray_and_leave_no_engine_behind(
    ray_address, tmp_path: Path
):
    import psutil

    raw = {"name": "mm", "seed": 5, "shard_size": 4,
           "entries": [{"renderer": "music", "count": 6}, {"renderer": "molecule", "count": 6}]}
    run_recipe(parse_recipe(raw, Path.cwd(), {"music", "molecule"}), tmp_path, workers=2,
               progress=False)
    rows = read_rows(tmp_path)
    by_renderer = {r: [row for row in rows.values() if row["renderer"] == r]
                   for r in ("music", "molecule")}
    assert len(by_renderer["music"]) + len(read_reject_ids(tmp_path)) >= 6
    assert len(by_renderer["music"]) >= 5 and len(by_renderer["molecule"]) == 6
    assert all("**kern" in row["target"] for row in by_renderer["music"])
    assert all(row["task"] == "format" for row in rows.values())
    card = (tmp_path / "README.md").read_text()
    assert "Kekulé form" in card and "standalone **kern document" in card

    def engines() -> list[int]:
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "ocr2synth.renderers.music.engine" in cmdline:
                found.append(proc.pid)
        return found

    # the actors are gone; each Verovio child sees its stdin close and exits
    deadline = time.monotonic() + 20
    while engines() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert engines() == []


def test_verify_passes_a_rendered_set_and_names_a_corrupted_shard_that_render_repairs(
    ray_address, tmp_path: Path, capsys
):
    run_recipe(recipe(count=16), tmp_path, workers=1, progress=False)
    assert main(["verify", str(tmp_path)]) == 0
    assert "- ok" in capsys.readouterr().out
    shard = tmp_path / "shards" / "part-000001.parquet"
    good = shard.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    shard.write_bytes(bytes(damaged))
    assert main(["verify", str(tmp_path)]) == 4
    out = capsys.readouterr().out
    assert "part-000001: checksum differs" in out and "part-000000" not in out
    run_recipe(recipe(count=16), tmp_path, workers=1, progress=False)
    assert shard.read_bytes() == good  # rendered again, byte for byte
    assert main(["verify", str(tmp_path)]) == 0


def test_verify_finds_a_row_the_plan_does_not_have(rendered, tmp_path: Path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(rendered, copy)
    path = copy / "shards" / "part-000000.parquet"
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)  # a row twice
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["shards"]["part-000000"].update(sha256=file_sha256(path),
                                             bytes=path.stat().st_size)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert main(["verify", str(copy)]) == 4
    out = capsys.readouterr().out
    assert "also in part-000000" in out and "repeated" in out


def test_an_item_that_kills_its_worker_becomes_a_poison_reject(
    ray_address, tmp_path: Path, monkeypatch
):
    from ocr2synth.pipelines.core.worker import KILL_MARKER_ENV

    formulas = [f"x_{{{i}}} + y^{{{i}}} = z" for i in range(12)]
    formulas[7] = r"\mathrm{POISONPILL} + 1"
    source = tmp_path / "formulas.txt"
    source.write_text("\n".join(formulas) + "\n")
    monkeypatch.setenv(KILL_MARKER_ENV, "POISONPILL")
    raw = {"name": "poison", "seed": 3, "shard_size": 6,
           "entries": [{"renderer": "latex-formula", "count": 12, "source": str(source)}]}
    summary = run_recipe(parse_recipe(raw, Path.cwd(), KNOWN), tmp_path / "out", workers=1,
                         progress=False)
    rows = read_rows(tmp_path / "out")
    rejects = [json.loads(line) for line in
               (tmp_path / "out" / "rejects" / "part-000001.jsonl").read_text().splitlines()]
    assert [r["reason"] for r in rejects] == ["poison"]
    assert rejects[0]["id"].endswith("00000007")
    assert len(rows) == 11 and all("POISONPILL" not in r["target"] for r in rows.values())
    # every other item rendered, on the restarted actor, and the set verifies
    assert sorted(sid[-2:] for sid in rows) == [f"{k:02d}" for k in range(12) if k != 7]
    assert summary.manifest["complete"]


def test_publish_copies_a_verified_set_to_a_pyarrow_fs_uri(rendered, tmp_path, capsys):
    target = tmp_path / "published"
    assert main(["publish", str(rendered), target.as_uri()]) == 0
    assert "copied to file://" in capsys.readouterr().out
    from ocr2synth.pipelines.format.verify import verify_dataset

    assert verify_dataset(target).ok
    for path in rendered.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            assert (target / path.relative_to(rendered)).read_bytes() == path.read_bytes()
    # a damaged set is not published, and an unknown scheme is a clear error
    broken = tmp_path / "broken"
    shutil.copytree(rendered, broken)
    shard = next((broken / "shards").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-10])
    assert main(["publish", str(broken), (tmp_path / "nowhere").as_uri()]) == 2
    assert "fails verification" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
    assert main(["publish", str(rendered), "nosuchscheme://x/y"]) == 2
