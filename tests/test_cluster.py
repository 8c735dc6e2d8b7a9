"""A job on a two-node Ray cluster on this machine, joined through `--address`.

The cluster is `ray.cluster_utils.Cluster`: a head and a worker node, each its own raylet
and object store, on loopback ports the OS picks and in a temp folder of their own, so
nothing is shared with other Ray sessions on the machine. Ray's `cluster_utils` records
its head in /tmp/ray/ray_current_cluster, where any `ray.init()` on the machine would find
it; that write is switched off here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.recipe import parse_recipe
from ocr2synth.pipelines.core.runner import run_recipe
from ocr2synth.pipelines.format.manifest import load_manifest
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
RENDERER = "molecule"  # fast, and one chunk per shard at these shard sizes


@pytest.fixture(scope="module")
def cluster():
    import ray._private.utils
    from ray.cluster_utils import Cluster

    patch = pytest.MonkeyPatch()
    patch.setattr(ray._private.utils, "write_ray_address", lambda *a, **k: None)
    # A dead node is noticed in about 2 s rather than Ray's default 15-30 s.
    patch.setenv("RAY_health_check_period_ms", "500")
    patch.setenv("RAY_health_check_failure_threshold", "4")
    patch.setenv("RAY_AUTH_MODE", "disabled")
    patch.setenv("PYTHONPATH", str(ROOT))
    patch.delenv("RAY_ADDRESS", raising=False)
    temp = tempfile.mkdtemp(prefix="o2s-cl-", dir="/tmp")  # short: socket paths are limited
    cluster = None
    try:
        # Two CPUs on the head: room for the actor of a worker node that dies.
        cluster = Cluster(initialize_head=True, shutdown_at_exit=True, head_node_args={
            "num_cpus": 2, "temp_dir": temp, "include_dashboard": False,
            "object_store_memory": 150 * 1024 * 1024})
        worker = cluster.add_node(num_cpus=1, object_store_memory=150 * 1024 * 1024)
        cluster.wait_for_nodes()
        yield cluster, worker
    finally:
        if cluster is not None:
            # Only this cluster's own processes, through the handles that started them.
            for node in list(cluster.worker_nodes):
                cluster.remove_node(node, allow_graceful=False)
            if cluster.head_node is not None:
                cluster.remove_node(cluster.head_node, allow_graceful=False)
        patch.undo()
        shutil.rmtree(temp, ignore_errors=True)


def _recipe(count: int, shard_size: int):
    raw = {"name": "cluster", "seed": 7, "shard_size": shard_size,
           "entries": [{"renderer": RENDERER, "count": count}]}
    return parse_recipe(raw, None, set(REGISTRY))


def _render_cmd(out: Path, address: str, count: int, shard_size: int) -> list[str]:
    return [sys.executable, "-m", "ocr2synth.pipelines.cli", "render", "--renderer", RENDERER,
            "--count", str(count), "--shard-size", str(shard_size), "--seed", "7",
            "--out", str(out), "--workers", "2", "--address", address, "--no-progress"]


def _files(root: Path) -> dict[str, bytes]:
    return {f"{p.parent.name}/{p.name}": p.read_bytes()
            for folder in ("shards", "rejects") for p in sorted((root / folder).iterdir())}


def _single_node(tmp_path: Path, count: int, shard_size: int) -> dict[str, bytes]:
    """The same job on the session's one-node Ray (in this process)."""
    out = tmp_path / "single"
    run_recipe(_recipe(count, shard_size), out, workers=2, progress=False)
    return _files(out)


def _nodes(out: Path) -> dict[str, list[str]]:
    return {name: r.get("nodes", []) for name, r in load_manifest(out)["shards"].items()}


def test_two_nodes_render_shards_equal_to_one_node(cluster, ray_address, tmp_path):
    cl, worker = cluster
    count, shard_size = 96, 24
    out = tmp_path / "two-nodes"
    run = subprocess.run(_render_cmd(out, cl.address, count, shard_size), cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    nodes = _nodes(out)
    assert len(nodes) == 4
    used = {n for shard_nodes in nodes.values() for n in shard_nodes}
    assert used == {cl.head_node.node_id, worker.node_id}, nodes
    assert _files(out) == _single_node(tmp_path, count, shard_size)
    assert verify_dataset(out).ok


def test_job_survives_the_loss_of_a_worker_node(cluster, ray_address, tmp_path):
    cl, worker = cluster
    count, shard_size = 192, 16
    out = tmp_path / "node-loss"
    proc = subprocess.Popen(_render_cmd(out, cl.address, count, shard_size), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Kill the worker node as soon as it has finished a shard: the job is mid-way.
        deadline = time.monotonic() + 240
        done_before: set[str] = set()
        while time.monotonic() < deadline and proc.poll() is None:
            manifest = out / "manifest.json"
            if manifest.exists():
                records = json.loads(manifest.read_text())["shards"]
                if any(worker.node_id in r.get("nodes", []) for r in records.values()):
                    done_before = set(records)
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the job ended before the worker node could be killed"
        assert done_before, "the worker node rendered nothing"
        worker_pids = [p.process.pid for procs in worker.all_processes.values() for p in procs]
        cl.remove_node(worker, allow_graceful=False)
        killed = time.time()
        assert all(not _alive(pid) for pid in worker_pids)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    nodes = _nodes(out)
    # The dead node's actors wrote the shards they rendered (one chunk per shard here), so
    # a shard that names it was written before the kill, though the driver may commit it
    # to the manifest up to a second later; whatever was written after is the head's.
    written = {name: (out / "shards" / f"{name}.parquet").stat().st_mtime for name in nodes}
    after = {name for name, mtime in written.items() if mtime > killed}
    assert len(nodes) == count // shard_size
    assert all(written[name] <= killed for name in nodes if worker.node_id in nodes[name])
    assert after and all(nodes[name] == [cl.head_node.node_id] for name in after), nodes
    check = subprocess.run([sys.executable, "-m", "ocr2synth.pipelines.cli", "verify", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout
    # Nothing lost, nothing doubled, the same bytes as an undisturbed job.
    assert _files(out) == _single_node(tmp_path, count, shard_size)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead: it only waits for its parent to read its status
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
