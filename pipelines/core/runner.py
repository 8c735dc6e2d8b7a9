"""The runner: plans shards, renders their chunks on long-lived Ray actors, writes shards.

It knows Ray and files, nothing about content. Actors render and encode; the driver alone
writes, so a cluster needs no shared file system and every file has one writer.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ocr2synth.pipelines.core.plan import ChunkSpec, ShardSpec, plan_chunks, plan_shards
from ocr2synth.pipelines.core.recipe import Recipe
from ocr2synth.pipelines.core.worker import ChunkResult, RendererFailed, RenderWorker
from ocr2synth.pipelines.format.card import write_card
from ocr2synth.pipelines.format.manifest import (
    DatasetError,
    Layout,
    Manifest,
    shard_record,
    stats_by_entry,
)
from ocr2synth.pipelines.format.shards import (
    ShardWriter,
    atomic_write_bytes,
    file_sha256,
    is_disk_full,
)
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.registry import get_spec
from tqdm import tqdm

# Chunks queued per actor beyond the one it is rendering: hides the driver's write time.
_QUEUE_DEPTH = 2
# How long a dead actor may take to come back (its pings failing) before the job gives up.
# A ping to an actor whose node died waits, rather than fails, while no CPU is free.
_RECOVERY_S = 600.0


def _actor_errors() -> tuple[type[Exception], ...]:
    import ray

    # ObjectLostError: a result was made, but on a node that died before it was fetched.
    return (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
            ray.exceptions.RayTaskError, ray.exceptions.ObjectLostError)


class RejectRateExceeded(RuntimeError):
    pass


class OutputFull(DatasetError):
    """The output disk filled: finished shards are kept and nothing partial is left."""


def _disk_full(layout: Layout, what: str) -> OutputFull:
    return OutputFull(f"no space left on device (ENOSPC) writing {what} under {layout.root}; "
                      "finished shards are kept: free some space and run the same command "
                      "again to resume")


@dataclass
class RunSummary:
    out: Path
    planned: int
    skipped_shards: int
    rendered_shards: int
    wall_s: float
    manifest: dict[str, Any] = field(default_factory=dict)


def _render_actor_class():
    import ray

    @ray.remote
    class RenderActor:
        """One warm RenderWorker per actor, for the actor's whole life."""

        def __init__(self, image, timeout_s: float) -> None:
            self.worker = RenderWorker(image, timeout_s)

        def render(self, chunk: ChunkSpec) -> tuple[float, ChunkResult, str]:
            started = time.perf_counter()
            try:
                result = self.worker.render_chunk(chunk)
            except RendererFailed as exc:
                result = ChunkResult(error=str(exc))
            # The node is recorded per shard (manifest `nodes`): which machine made what.
            node = ray.get_runtime_context().get_node_id()
            return time.perf_counter() - started, result, node

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


class _ShardAssembly:
    """Collects a shard's chunk results, in plan order, until the shard is whole. A chunk
    that was split after a worker crash arrives in parts, merged in item order."""

    def __init__(self, shard: ShardSpec, chunks: int) -> None:
        self.shard = shard
        self.results: list[tuple[float, ChunkResult] | None] = [None] * chunks
        self.parts: dict[int, list[tuple[int, float, ChunkResult]]] = {}
        self.outstanding = dict.fromkeys(range(chunks), 1)
        self.nodes: set[str] = set()  # Ray node ids that rendered a part of this shard

    def split(self, position: int) -> None:
        self.outstanding[position] += 1  # one piece became two

    def add(self, position: int, start: int, result: tuple[float, ChunkResult]) -> bool:
        self.parts.setdefault(position, []).append((start, *result))
        self.outstanding[position] -= 1
        if self.outstanding[position] == 0:
            parts = sorted(self.parts.pop(position), key=lambda p: p[0])
            merged = ChunkResult(
                rows=[row for _, _, r in parts for row in r.rows],
                rejects=sorted((rej for _, _, r in parts for rej in r.rejects),
                               key=lambda rej: rej["id"]),
                render_s=sum(r.render_s for _, _, r in parts),
                encode_s=sum(r.encode_s for _, _, r in parts),
            )
            self.results[position] = (sum(s for _, s, _ in parts), merged)
        return all(r is not None for r in self.results)


def _write_shard(layout: Layout, assembly: _ShardAssembly, recipe_hash: str) -> dict[str, Any]:
    shard = assembly.shard
    results = [r for r in assembly.results if r is not None]
    rejects = [rej for _, res in results for rej in res.rejects]
    lines = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rejects)
    try:
        atomic_write_bytes(layout.rejects_file(shard.name), lines.encode("utf-8"))
        with ShardWriter(layout.shard_file(shard.name)) as writer:
            for _, res in results:
                for row in res.rows:
                    writer.write(row)
    except OSError:
        # without its shard, the rejects file alone does not count as a finished shard;
        # removed all the same so that the folder holds only whole shards
        layout.rejects_file(shard.name).unlink(missing_ok=True)
        raise
    return shard_record(
        layout, shard, recipe_hash,
        seconds=sum(s for s, _ in results),
        render_s=sum(r.render_s for _, r in results),
        encode_s=sum(r.encode_s for _, r in results),
        nodes=sorted(assembly.nodes),
    )


def run_recipe(
    recipe: Recipe,
    out: str | Path,
    workers: int = 2,
    address: str | None = None,
    progress: bool = True,
) -> RunSummary:
    layout = Layout(Path(out))
    try:
        return _run_recipe(recipe, layout, workers, address, progress)
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(layout, getattr(exc, "filename", None) or "the manifest or card"
                             ) from None
        raise


def _run_recipe(recipe: Recipe, layout: Layout, workers: int, address: str | None,
                progress: bool) -> RunSummary:
    started = time.perf_counter()
    layout.create()
    recipe_hash = recipe.content_hash()
    manifest = Manifest.open(layout, recipe.to_dict(), recipe_hash)
    layout.remove_partial_files()
    planned = plan_shards(recipe)
    pending: list[ShardSpec] = []
    skipped = 0
    for shard in planned:
        if layout.is_complete(shard) and _damaged(layout, manifest, shard):
            # changed since it was written (bit rot, a bad copy): render it again
            layout.shard_file(shard.name).unlink()
            layout.rejects_file(shard.name).unlink(missing_ok=True)
        if layout.is_complete(shard):
            skipped += 1
            if shard.name not in manifest.data["shards"]:
                # Killed between the shard's rename and the manifest's: rebuild its record.
                manifest.add(shard.name, shard_record(layout, shard, recipe_hash, 0.0))
        else:
            manifest.data["shards"].pop(shard.name, None)
            pending.append(shard)
    manifest.save(planned)
    if pending:
        _render_pending(recipe, layout, manifest, planned, pending, workers, address, progress)
    write_card(layout.root, manifest.data)
    report = verify_dataset(layout.root)
    if not report.ok:
        raise DatasetError("the finished dataset fails verification:\n" + report.text())
    return RunSummary(
        out=layout.root,
        planned=sum(s.count for s in planned),
        skipped_shards=skipped,
        rendered_shards=len(pending),
        wall_s=time.perf_counter() - started,
        manifest=manifest.data,
    )


def _damaged(layout: Layout, manifest: Manifest, shard: ShardSpec) -> bool:
    record = manifest.data["shards"].get(shard.name)
    if record is None:
        return False
    path = layout.shard_file(shard.name)
    return path.stat().st_size != record["bytes"] or file_sha256(path) != record["sha256"]


def _render_pending(
    recipe: Recipe,
    layout: Layout,
    manifest: Manifest,
    planned: list[ShardSpec],
    pending: list[ShardSpec],
    workers: int,
    address: str | None,
    progress: bool,
) -> None:
    import ray

    _ACTOR_ERRORS = _actor_errors()  # noqa: N806 - a constant, once Ray is imported
    queue: list[_Piece] = []
    assemblies: dict[str, _ShardAssembly] = {}
    for shard in pending:
        chunks = plan_chunks(shard, recipe.seed, get_spec(shard.renderer).batch_size)
        assemblies[shard.name] = _ShardAssembly(shard, len(chunks))
        queue.extend(_Piece(shard, position, chunk) for position, chunk in enumerate(chunks))
    queue.reverse()  # pop() from the end takes chunks in plan order
    with ray_session(workers, address):
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < workers:
            # Actors of one CPU each would wait for CPUs that never come.
            raise ValueError(f"--workers {workers} needs {workers} CPUs; the Ray cluster "
                             f"has {cpus:g}")
        bar = tqdm(total=sum(s.count for s in pending), unit="sample", disable=not progress,
                   file=sys.stderr, desc="render", smoothing=0.1, dynamic_ncols=True)
        actor_class = _render_actor_class()
        # Ray restarts a dead actor (on another node where its node died, wherever a CPU
        # is free); the runner decides what to render again (see _retry). SPREAD puts
        # actors on as many nodes as it can, so a lost node costs the fewest of them.
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": -1, "max_task_retries": 0,
                                   "scheduling_strategy": "SPREAD"}
        env = {k: v for k, v in os.environ.items() if k.startswith("OCR2SYNTH_")}
        if env:
            options["runtime_env"] = {"env_vars": env}
        actors = [
            actor_class.options(**options).remote(recipe.image, recipe.sample_timeout_s)
            for _ in range(max(1, workers))
        ]
        # piece None: a ping to an actor that died, answered once Ray has restarted it
        in_flight: dict[Any, tuple[int, _Piece | None]] = {}
        load = {i: 0 for i in range(len(actors))}
        alone = {i: False for i in range(len(actors))}
        # Actors that died and are not known to be back. Nothing is sent to them until a
        # ping returns: a piece sent in the moment before Ray notices the death fails too
        # (ActorUnavailableError), and would be blamed, split and rejected as poison.
        recovering: dict[int, float | None] = dict.fromkeys(range(len(actors)))  # since
        try:
            while queue or any(p is not None for _, p in in_flight.values()):
                for index, actor in enumerate(actors):
                    while (queue and load[index] < _QUEUE_DEPTH and not alone[index]
                           and recovering[index] is None):
                        if queue[-1].suspect and load[index]:
                            break  # a suspect runs alone, so a crash is its own
                        piece = queue.pop()
                        in_flight[actor.render.remote(piece.chunk)] = (index, piece)
                        load[index] += 1
                        alone[index] = piece.suspect
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    index, piece = in_flight.pop(ref)
                    if piece is None:
                        try:
                            ray.get(ref)
                            recovering[index] = None
                        except _ACTOR_ERRORS:
                            if time.monotonic() - recovering[index] > _RECOVERY_S:
                                raise RuntimeError("a renderer actor does not come back "
                                                   "after dying; see the Ray logs") from None
                            time.sleep(0.05)  # Ray has not noticed the death yet
                            in_flight[actors[index].ping.remote()] = (index, None)
                        continue
                    load[index] -= 1
                    alone[index] = False
                    assembly = assemblies[piece.shard.name]
                    try:
                        seconds, chunk_result, node = ray.get(ref)
                        if chunk_result.error:
                            raise RendererFailed(chunk_result.error)
                        result = seconds, chunk_result
                        assembly.nodes.add(node)
                    except _ACTOR_ERRORS as exc:
                        if recovering[index] is None:
                            recovering[index] = time.monotonic()
                            in_flight[actors[index].ping.remote()] = (index, None)
                        result = _retry(piece, exc, assembly, queue)
                        if result is None:
                            continue
                    chunk = piece.chunk
                    bar.update(chunk.stop - chunk.start)
                    if assembly.add(piece.position, chunk.start, result):
                        try:
                            record = _write_shard(layout, assembly,
                                                  manifest.data["recipe_hash"])
                            manifest.add(piece.shard.name, record)
                            manifest.save(planned)
                        except OSError as exc:
                            if is_disk_full(exc):
                                raise _disk_full(layout, f"shard {piece.shard.name}") from None
                            raise
                        del assemblies[piece.shard.name]
        finally:
            bar.close()
            try:  # let renderers remove their temp folders and stop their engines
                ray.get([actor.close.remote() for actor in actors], timeout=60)
            except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
                pass
            for actor in actors:
                ray.kill(actor)


@dataclass(frozen=True)
class _Piece:
    """A chunk, or part of one, on its way to a worker."""

    shard: ShardSpec
    position: int  # the chunk's place in its shard
    chunk: ChunkSpec
    # Its worker died while it was queued or running: it now runs alone on its actor.
    suspect: bool = False


def _retry(piece: _Piece, exc: Exception, assembly: _ShardAssembly,
           queue: list[_Piece]) -> tuple[float, ChunkResult] | None:
    """After a worker died: run a piece that shared the worker again, alone; split a piece
    that killed its worker running alone, until the item that kills stands alone and
    becomes a `poison` reject. A poison item costs about log2(batch) + 2 worker restarts."""
    chunk = piece.chunk
    if not piece.suspect:
        queue.append(replace(piece, suspect=True))
        return None
    if chunk.stop - chunk.start > 1:
        middle = (chunk.start + chunk.stop) // 2
        assembly.split(piece.position)
        for start, stop in ((middle, chunk.stop), (chunk.start, middle)):
            queue.append(replace(piece, chunk=replace(chunk, start=start, stop=stop)))
        return None
    detail = f"its worker died rendering it alone ({type(exc).__name__})"
    return 0.0, ChunkResult(rejects=[RenderWorker.poison_reject(chunk, detail)])


def check_reject_rates(manifest: dict[str, Any], limit: float) -> None:
    too_high = [
        f"{entry}: {stats.reject_rate:.1%} rejected (top reason: "
        f"{stats.reasons.most_common(1)[0][0] if stats.reasons else 'n/a'})"
        for entry, stats in sorted(stats_by_entry(manifest).items())
        if stats.reject_rate > limit
    ]
    if too_high:
        raise RejectRateExceeded(
            f"reject rate above the recipe's limit of {limit:.1%}: " + "; ".join(too_high)
        )
