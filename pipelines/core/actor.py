"""The runner's Ray side: the session, and the actor that keeps one warm RenderWorker for
its life, renders chunks and writes shards. It knows Ray and the dataset's files, not the
job's plan (pipelines/core/runner.py drives it)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ocr2synth.pipelines.core.plan import ChunkSpec
from ocr2synth.pipelines.core.worker import ChunkResult, RendererFailed, RenderWorker
from ocr2synth.pipelines.format.manifest import Layout, write_shard
from ocr2synth.pipelines.format.shards import is_disk_full

# A local output folder holds this file while a job runs: a worker that does not see it
# is on a node without the folder, and hands that shard's writing to the driver.
MARKER = ".ocr2synth-job"


def actor_errors() -> tuple[type[Exception], ...]:
    import ray

    # ObjectLostError: a result was made, but on a node that died before it was fetched.
    return (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
            ray.exceptions.RayTaskError, ray.exceptions.ObjectLostError)


def render_actor_class():
    import ray

    @ray.remote
    class RenderActor:
        """One warm RenderWorker per actor, for the actor's whole life."""

        def __init__(self, image, timeout_s: float) -> None:
            self.worker = RenderWorker(image, timeout_s)

        @ray.method(num_returns=2)
        def render(self, chunk: ChunkSpec) -> tuple[tuple[float, ChunkResult, str], list]:
            """Returns the small summary, which the driver reads, and the rows, which stay
            in the object store until the actor that writes their shard fetches them."""
            started = time.perf_counter()
            try:
                result = self.worker.render_chunk(chunk)
            except RendererFailed as exc:
                result = ChunkResult(error=str(exc))
            rows, result.rows = result.rows, []
            # The node is recorded per shard (manifest `nodes`): which machine made what.
            node = ray.get_runtime_context().get_node_id()
            return (time.perf_counter() - started, result, node), rows

        def write(self, out: str, name: str, rejects: list[dict[str, Any]],
                  *row_lists: list[dict[str, Any]]) -> dict[str, Any]:
            """Writes a shard (Ray resolves `row_lists` from the object store here). An
            error is returned, not raised: a raised one would read as a dead worker."""
            layout = Layout(out)
            if layout.is_local and not layout.store.exists(MARKER):
                return {"unseen": True}
            return write_here(layout, name, (row for part in row_lists for row in part),
                               rejects)

        def ping(self) -> bool:
            return True

        def close(self) -> None:
            self.worker.close()

    return RenderActor


@contextmanager
def ray_session(workers: int, address: str | None) -> Iterator[None]:
    """Join the given cluster, reuse a running session, or start a small local one."""
    import ray

    if ray.is_initialized():
        yield
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            object_store_memory=256 * 1024 * 1024,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    try:
        yield
    finally:
        ray.shutdown()


def write_here(layout: Layout, name: str, rows: Any,
                rejects: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        return {"written": write_shard(layout, name, rows, rejects)}
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "disk_full": is_disk_full(exc)}
