"""Engine faults inside a running job: TeX and Chromium killed with SIGKILL mid-shard.

The fault hooks (renderers/faults.py) make an engine kill its own child when an item holds
a marker: once (the shard completes after a retry) or every time (the item is a `poison`
reject and the rest of its shard renders). Afterwards no TeX or Chromium of the job is left
and the job's temp folder is empty.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from ocr2synth.pipelines.core.recipe import parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.faults import KILL_BROWSER_ENV, KILL_TEX_ENV, SCRATCH_ENV


def rows_and_rejects(out: Path) -> tuple[dict[str, dict], list[dict]]:
    rows = {r["id"]: r for p in sorted((out / "shards").glob("*.parquet"))
            for r in pq.read_table(p).to_pylist()}
    rejects = [json.loads(line) for p in sorted((out / "rejects").glob("*.jsonl"))
               for line in p.read_text().splitlines()]
    return rows, rejects


def job_processes(scratch: Path, tag: str) -> list[int]:
    """TeX runs of this job (their format path lies under its temp folder) and Chromium
    processes carrying its browser tag; other jobs' engines on this machine are not ours."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            name = proc.info["name"] or ""
            if "tex" in name and str(scratch) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
            elif "chrom" in name and proc.environ().get("OCR2SYNTH_BROWSER_TAG") == tag:
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


def assert_nothing_left(scratch: Path, tag: str = "-") -> None:
    deadline = time.monotonic() + 20
    while job_processes(scratch, tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job_processes(scratch, tag) == []
    # each engine removed its temp folder when the runner closed the actors
    assert sorted(p.name for p in scratch.iterdir()) == []


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setenv(SCRATCH_ENV, str(folder))  # the runner forwards it to the actors
    return folder


def fault(marker: str, times: str, tokens: Path) -> str:
    return f"{marker}:1:{tokens}" if times == "once" else marker


# One job renders a formula file and a markdown folder; TeX is killed inside one formula
# and Chromium inside one page, once (the item renders on the retry) or every time (the item
# is poison). Two jobs cover the four cases.
@pytest.mark.parametrize(("tex", "browser"), [("once", "always"), ("always", "once")])
def test_tex_and_browser_killed_mid_shard(ray_address, tmp_path: Path, scratch: Path,
                                          monkeypatch, tex, browser):
    formulas = [f"a_{{{i}}} + b^{{{i}}}" for i in range(12)]
    formulas[4] = r"\mathrm{KILLTEX} + 4"
    (tmp_path / "formulas.txt").write_text("\n".join(formulas) + "\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        word = "KILLBROWSER" if i == 2 else "quiet"
        (docs / f"d{i}.md").write_text(f"# Part {i}\n\nA {word} page of plain words, "
                                       f"number {i}.\n")
    monkeypatch.setenv(KILL_TEX_ENV, fault("KILLTEX", tex, tmp_path / "tex-kills"))
    monkeypatch.setenv(KILL_BROWSER_ENV, fault("KILLBROWSER", browser,
                                               tmp_path / "browser-kills"))
    tag = uuid.uuid4().hex
    raw = {"name": "kills", "seed": 1, "shard_size": 6, "entries": [
        # sequential: item k is line k / file k, the ones the markers are in
        {"renderer": "latex-formula", "count": 12, "source": str(tmp_path / "formulas.txt"),
         "params": {"order": "sequential"}},
        {"renderer": "markdown-page", "count": 4, "source": str(docs),
         "params": {"tag": tag, "order": "sequential"}}]}
    out = tmp_path / "out"
    summary = run_recipe(parse_recipe(raw, Path.cwd(), {"latex-formula", "markdown-page"}),
                         out, workers=2, progress=False)
    assert summary.manifest["complete"] and verify_dataset(out).ok
    rows, rejects = rows_and_rejects(out)
    poison = {r["id"]: r["detail"] for r in rejects if r["reason"] == "poison"}
    assert len(poison) == len(rejects)  # nothing else went wrong
    for mode, sid, marker, tokens in (
            (tex, "latex-formula-00000004", "KILLTEX", "tex-kills"),
            (browser, "markdown-page-00000002", "KILLBROWSER", "browser-kills")):
        if mode == "once":
            assert [p.name for p in (tmp_path / tokens).iterdir()] == ["kill-0"]  # it was killed
            assert marker in rows[sid]["target"] and sid not in poison
        else:
            assert sid in poison and sid not in rows
    assert len(rows) == 15 and len(poison) == 1
    if tex == "always":
        assert "killed 2 times" in poison["latex-formula-00000004"]
    assert_nothing_left(scratch, tag)


def _mount_command(*args: str) -> list[str]:
    import os
    import shutil

    if os.geteuid() == 0:
        return list(args)
    if shutil.which("sudo"):
        return ["sudo", "-n", *args]
    pytest.skip("mounting a size-limited tmpfs needs root or passwordless sudo")
    return []


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 1 MiB file system (tmpfs), unmounted afterwards."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(_mount_command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                                         str(mount)), capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(_mount_command("umount", "-l", str(mount)), check=True)


def test_a_full_output_disk_is_a_clear_error_and_a_rerun_after_freeing_space_completes(
    ray_address, small_disk: Path, capsys
):
    from ocr2synth.pipelines.cli import main
    from ocr2synth.pipelines.format.manifest import load_manifest
    from ocr2synth.pipelines.format.shards import file_sha256

    # 24 formulas make ~180 KB of shards; 96 KB are left free
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (928 << 10))
    out = small_disk / "data"
    command = ["render", "--renderer", "latex-formula", "--count", "24", "--shard-size", "4",
               "--workers", "1", "--out", str(out), "--no-progress"]
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: no space left on device"), err
    assert "ENOSPC" in err and "writing shard part-0000" in err and "run the same command" in err
    # no partial file anywhere, every shard under a final name whole, the manifest intact
    assert not list(out.rglob("*.tmp"))
    manifest = load_manifest(out)
    assert manifest["complete"] is False
    finished = sorted(p.stem for p in (out / "shards").glob("part-*.parquet"))
    assert 1 <= len(finished) < 6
    for name in finished:
        rows = pq.read_table(out / "shards" / f"{name}.parquet").num_rows  # reads whole
        assert (out / "rejects" / f"{name}.jsonl").exists()
        record = manifest["shards"].get(name)
        if record:  # a shard renamed just before the manifest could be saved has none yet
            assert record["rows"] == rows
            assert record["sha256"] == file_sha256(out / "shards" / f"{name}.parquet")
    assert set(manifest["shards"]) <= set(finished)
    assert sorted(p.stem for p in (out / "rejects").glob("*.jsonl")) == finished

    ballast.unlink()
    assert main(command) == 0
    assert f"{6 - len(finished)} shards rendered, {len(finished)} already done" in \
        capsys.readouterr().out
    assert verify_dataset(out).ok
    rows, rejects = rows_and_rejects(out)
    assert len(rows) + len(rejects) == 24
