"""Rendering into an object store: a real S3-compatible server (moto's server mode) on
loopback, started here. Workers write the shards, the driver commits them: a job killed
with SIGKILL resumes, uncommitted attempts are replaced, `verify` and `inspect` read the
`s3://` dataset, and its bytes equal a local render of the same command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from ocr2synth.pipelines.cli import main
from ocr2synth.pipelines.core.runner import AWS_CREDENTIALS, forwarded_env
from ocr2synth.pipelines.format.manifest import Layout, load_manifest, write_shard
from ocr2synth.pipelines.format.shards import ShardWriter
from ocr2synth.pipelines.format.store import Store

from tests.trainer_helpers import png

BUCKET = "o2s-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> str:
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.fail("moto_server is missing: pip install 'moto[server]' (pyproject's dev extra)")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def s3(s3_server, monkeypatch) -> str:
    """A fresh bucket; the AWS_* settings a user would set."""
    for key, value in {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    fs, _ = pafs.FileSystem.from_uri(f"s3://{BUCKET}?allow_bucket_creation=true")
    fs.create_dir(BUCKET)
    yield f"s3://{BUCKET}"
    fs.delete_dir_contents(BUCKET, missing_dir_ok=True)


def _rows(n: int) -> list[dict]:
    return [{"id": f"e-{k:08d}", "image": {"bytes": png(f"t{k}", (96, 64)), "path": None},
             "images": [], "prompt": "OCR: ", "target": f"t{k}", "task": "ocr",
             "renderer": "toy", "width": 96, "height": 64, "boxes": [], "meta": "{}",
             "seed": k} for k in range(n)]


@pytest.mark.unit
def test_a_shard_written_to_s3_equals_the_local_one_and_reports_its_checksum(s3, tmp_path):
    rows = _rows(5)
    local = Layout(tmp_path)
    local.create()
    remote = Layout(f"{s3}/unit")
    here = write_shard(local, "part-000000", rows, [{"id": "e-9", "reason": "blank"}])
    there = write_shard(remote, "part-000000", rows, [{"id": "e-9", "reason": "blank"}])
    assert here == there and here["rows"] == 5 and here["rejects"] == 1
    data = remote.store.read_bytes("shards/part-000000.parquet")
    assert data == (tmp_path / "shards" / "part-000000.parquet").read_bytes()
    assert remote.store.sha256("shards/part-000000.parquet") == here["sha256"]
    assert remote.shard_names() == ["part-000000"]
    assert remote.read_rejects("part-000000") == [{"id": "e-9", "reason": "blank"}]


@pytest.mark.unit
def test_a_failed_upload_leaves_no_object(s3):
    store = Store.open(f"{s3}/failed")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), ShardWriter(store=store, rel="shards/part-000000.parquet") as w:
        w.write(_rows(1)[0])
        raise Boom
    assert store.list("shards") == []


@pytest.mark.unit
def test_an_s3_store_pickles_as_its_uri_alone(s3):
    import pickle

    store = Store.open(f"{s3}/p/")
    store.exists("x")  # opens the file system
    again = pickle.loads(pickle.dumps(store))
    assert again.location == f"{s3}/p" and again._fs is None


def _render(out: str, address: str) -> list[str]:
    # the test's Ray cluster may have started before the credentials were set, as a
    # cluster's nodes may have none: they travel with the job, as the user would ask
    s3 = ["--forward-aws-credentials"] if out.startswith("s3://") else []
    return [sys.executable, "-m", "ocr2synth.pipelines.cli", "render",
            "--renderer", "latex-formula", "--count", "48", "--shard-size", "6", "--seed", "5",
            "--workers", "1", "--address", address, "--out", out, "--no-progress", *s3]


@pytest.mark.unit
def test_aws_credentials_reach_the_workers_only_when_asked(s3, monkeypatch):
    monkeypatch.setenv("OCR2SYNTH_ASSETS", "/somewhere")
    remote, local = Layout(f"{s3}/set"), Layout("/tmp/set")
    plain = forwarded_env(remote)
    assert plain["AWS_ENDPOINT_URL"] and plain["AWS_REGION"] == "us-east-1"
    assert not set(plain) & AWS_CREDENTIALS
    assert forwarded_env(remote, credentials=True)["AWS_SECRET_ACCESS_KEY"] == "testing"
    kept = forwarded_env(local, credentials=True)  # a local folder needs no AWS_* at all
    assert kept["OCR2SYNTH_ASSETS"] == "/somewhere" and not any(k.startswith("AWS_") for k in kept)


def _committed(store: Store) -> int:
    try:
        return len(json.loads(store.read_bytes("manifest.json"))["shards"])
    except (OSError, ValueError):
        return 0


@pytest.mark.engine
@pytest.mark.slow
def test_render_to_s3_killed_resumed_verified_equals_a_local_run(s3, ray_address, tmp_path,
                                                                   capsys):
    uri = f"{s3}/set"
    store = Store.open(uri)
    proc = subprocess.Popen(_render(uri, ray_address), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and _committed(store) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    committed = _committed(store)
    assert 2 <= committed < 8, "the kill must land mid-job"
    # an attempt the manifest never listed, as a writer killed mid-job leaves behind
    manifest = json.loads(store.read_bytes("manifest.json"))
    stray = next(f"part-{i:06d}" for i in range(8) if f"part-{i:06d}" not in manifest["shards"])
    store.write_bytes(f"shards/{stray}.parquet", b"not a finished shard")

    result = subprocess.run(_render(uri, ray_address), capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr
    assert f"{8 - committed} shards rendered, {committed} already done" in result.stdout
    assert main(["verify", uri]) == 0
    assert "8 shards, " in capsys.readouterr().out
    assert main(["inspect", uri]) == 0
    assert "shards    8 of 8 planned" in capsys.readouterr().out
    assert load_manifest(uri)["complete"] is True
    assert store.list("")  # the card and its plots are there
    assert "README.md" in store.list("") and "card-samples.png" in store.list("")

    local = tmp_path / "local"
    result = subprocess.run(_render(str(local), ray_address), capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (local / "shards").iterdir())
    assert len(names) == 8 and store.list("shards") == names
    for name in names:
        assert store.read_bytes(f"shards/{name}") == (local / "shards" / name).read_bytes()
    for name in sorted(p.name for p in (local / "rejects").iterdir()):
        assert store.read_bytes(f"rejects/{name}") == (local / "rejects" / name).read_bytes()
    shutil.rmtree(local)


@pytest.mark.unit
def test_verify_names_a_changed_shard_on_s3(s3, tmp_path, capsys):
    """The manifest's checksum is what makes a shard count: a changed object is found."""
    from ocr2synth.pipelines.core.plan import plan_shards
    from ocr2synth.pipelines.core.recipe import parse_recipe
    from ocr2synth.pipelines.format.manifest import Manifest, shard_record

    raw = {"name": "t", "seed": 1, "shard_size": 5,
           "entries": [{"renderer": "latex-formula", "count": 5}]}
    recipe = parse_recipe(raw, None, {"latex-formula"})
    layout = Layout(f"{s3}/changed")
    shard = plan_shards(recipe)[0]
    rows = [dict(r, id=f"latex-formula-{k:08d}", renderer="latex-formula")
            for k, r in enumerate(_rows(5))]
    manifest = Manifest(layout, recipe.to_dict(), recipe.content_hash())
    manifest.add(shard.name, shard_record(shard, recipe.content_hash(),
                                          write_shard(layout, shard.name, rows, []), 1.0))
    manifest.save([shard])
    assert main(["verify", str(layout.store)]) == 0
    layout.store.write_bytes("shards/part-000000.parquet", b"changed")
    capsys.readouterr()
    assert main(["verify", str(layout.store)]) == 4
    assert "part-000000: checksum differs from the manifest" in capsys.readouterr().out


@pytest.mark.unit
def test_a_missing_bucket_is_one_line_of_error_and_no_local_folder(s3, tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["render", "--renderer", "latex-formula", "--count", "2", "--workers", "1",
                 "--out", "s3://no-such-bucket/set", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    assert err.startswith("error: cannot write to s3://no-such-bucket/set") and "bucket" in err
    assert list(tmp_path.iterdir()) == []  # no folder named `s3:` as before
