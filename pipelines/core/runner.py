"""The runner: plans shards, renders their chunks on long-lived Ray actors, and commits the
shards the actors write.

It knows Ray and files, nothing about content. Actors render, encode and write: a shard's
rows go from the actors that rendered them to the one that writes the shard, through Ray's
object store, never through the driver. The driver only commits: a shard counts once the
manifest lists it with its checksum (an object store has no rename to make it count), and
a shard file the manifest does not list is an attempt, removed when the job starts. Where
a worker cannot see a local output folder (a node without the shared mount), the driver
writes that shard itself, as it once wrote all of them.
"""

from __future__ import annotations

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
    write_shard,
)
from ocr2synth.pipelines.format.shards import is_disk_full
from ocr2synth.pipelines.format.verify import verify_dataset
from ocr2synth.renderers.registry import get_spec
from tqdm import tqdm

# Chunks queued per actor beyond the one it is rendering: hides the driver's write time.
_QUEUE_DEPTH = 2
# The manifest is rewritten at most this often (and at the end): each rewrite holds every
# record, so committing each shard at once would cost the driver O(shards) per shard.
_COMMIT_S = 1.0
# Attempts at writing one shard (each after rendering it again) before the job gives up.
_WRITE_ATTEMPTS = 3
# A local output folder holds this file while a job runs: a worker that does not see it
# is on a node without the folder, and hands that shard's writing to the driver.
_MARKER = ".ocr2synth-job"
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
    if not layout.is_local:
        return OutputFull(f"the object store refused {what} under {layout.root} (quota?); "
                          "finished shards are kept: run the same command again to resume")
    return OutputFull(f"no space left on device (ENOSPC) writing {what} under {layout.root}; "
                      "finished shards are kept: free some space and run the same command "
                      "again to resume")


@dataclass
class RunSummary:
    out: Path | str
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
            if layout.is_local and not layout.store.exists(_MARKER):
                return {"unseen": True}
            return _write_here(layout, name, (row for part in row_lists for row in part),
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


class _ShardAssembly:
    """Collects a shard's chunk results, in plan order, until the shard is whole. A chunk
    that was split after a worker crash arrives in parts, merged in item order."""

    def __init__(self, shard: ShardSpec, chunks: int) -> None:
        self.shard = shard
        self.results: list[tuple[float, ChunkResult] | None] = [None] * chunks
        self.rows: list[list[Any]] = [[] for _ in range(chunks)]  # refs, in item order
        self.parts: dict[int, list[tuple[int, float, ChunkResult, Any]]] = {}
        self.outstanding = dict.fromkeys(range(chunks), 1)
        self.nodes: set[str] = set()  # Ray node ids that rendered a part of this shard

    def split(self, position: int) -> None:
        self.outstanding[position] += 1  # one piece became two

    def add(self, position: int, start: int, result: tuple[float, ChunkResult],
            rows: Any = None) -> bool:
        """`rows`: the object ref of the piece's rows (None: a piece that has none)."""
        self.parts.setdefault(position, []).append((start, *result, rows))
        self.outstanding[position] -= 1
        if self.outstanding[position] == 0:
            parts = sorted(self.parts.pop(position), key=lambda p: p[0])
            merged = ChunkResult(
                rejects=sorted((rej for _, _, r, _ in parts for rej in r.rejects),
                               key=lambda rej: rej["id"]),
                render_s=sum(r.render_s for _, _, r, _ in parts),
                encode_s=sum(r.encode_s for _, _, r, _ in parts),
            )
            self.results[position] = (sum(s for _, s, _, _ in parts), merged)
            self.rows[position] = [ref for *_, ref in parts if ref is not None]
        return all(r is not None for r in self.results)

    def row_refs(self) -> list[Any]:
        return [ref for refs in self.rows for ref in refs]

    def rejects(self) -> list[dict[str, Any]]:
        return [rej for _, res in self._results() for rej in res.rejects]

    def _results(self) -> list[tuple[float, ChunkResult]]:
        return [r for r in self.results if r is not None]

    def record(self, written: dict[str, Any], recipe_hash: str) -> dict[str, Any]:
        results = self._results()
        return shard_record(
            self.shard, recipe_hash, written,
            seconds=sum(s for s, _ in results),
            render_s=sum(r.render_s for _, r in results),
            encode_s=sum(r.encode_s for _, r in results),
            nodes=sorted(self.nodes),
        )


def run_recipe(
    recipe: Recipe,
    out: str | Path,
    workers: int = 2,
    address: str | None = None,
    progress: bool = True,
) -> RunSummary:
    layout = Layout(out)
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
    present = set(layout.shard_names())
    present_rejects = set(layout.store.list("rejects"))
    pending: list[ShardSpec] = []
    skipped = 0
    for shard in planned:
        committed = shard.name in manifest.data["shards"]
        if committed and shard.name in present and not _damaged(layout, manifest, shard):
            skipped += 1
            continue
        # Never committed (a writer finished after the last manifest save, or a job was
        # killed mid-write), or changed since (bit rot, a bad copy): render it again.
        manifest.data["shards"].pop(shard.name, None)
        if shard.name in present or f"{shard.name}.jsonl" in present_rejects:
            layout.remove_shard(shard.name)
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
    record = manifest.data["shards"][shard.name]
    store, rel = layout.store, layout.shard_rel(shard.name)
    if not store.exists(layout.rejects_rel(shard.name)):
        return True
    return store.size(rel) != record["bytes"] or store.sha256(rel) != record["sha256"]


def _pieces(shard: ShardSpec, recipe: Recipe) -> tuple[_ShardAssembly, list[_Piece]]:
    chunks = plan_chunks(shard, recipe.seed, get_spec(shard.renderer).batch_size)
    pieces = [_Piece(shard, position, chunk) for position, chunk in enumerate(chunks)]
    return _ShardAssembly(shard, len(chunks)), pieces


def _forwarded_env(layout: Layout) -> dict[str, str]:
    """What the workers need from the driver's environment: the project's own settings, and
    for an object store the standard AWS_* settings (credentials included: a worker node
    may have none of its own; they travel in the job's runtime_env)."""
    prefixes = ("OCR2SYNTH_",) if layout.is_local else ("OCR2SYNTH_", "AWS_")
    return {k: v for k, v in os.environ.items() if k.startswith(prefixes)}


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
    if layout.is_local:
        layout.store.write_bytes(_MARKER, b"")
    try:
        _render(recipe, layout, manifest, planned, pending, workers, address, progress)
    finally:
        if layout.is_local:
            layout.store.delete(_MARKER)


def _render(
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
        assemblies[shard.name], pieces = _pieces(shard, recipe)
        queue.extend(pieces)
    queue.reverse()  # pop() from the end takes chunks in plan order
    write_attempts: dict[str, int] = {}
    recipe_hash = manifest.data["recipe_hash"]
    last_commit = 0.0
    unsaved = False
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
        env = _forwarded_env(layout)
        if env:
            options["runtime_env"] = {"env_vars": env}
        actors = [
            actor_class.options(**options).remote(recipe.image, recipe.sample_timeout_s)
            for _ in range(max(1, workers))
        ]
        # piece None: a ping to an actor that died, answered once Ray has restarted it;
        # a _Write: a shard being written
        in_flight: dict[Any, tuple[int, _Piece | _Write | None]] = {}
        load = {i: 0 for i in range(len(actors))}
        alone = {i: False for i in range(len(actors))}
        # Actors that died and are not known to be back. Nothing is sent to them until a
        # ping returns: a piece sent in the moment before Ray notices the death fails too
        # (ActorUnavailableError), and would be blamed, split and rejected as poison.
        recovering: dict[int, float | None] = dict.fromkeys(range(len(actors)))  # since

        def died(index: int) -> None:
            if recovering[index] is None:
                recovering[index] = time.monotonic()
                in_flight[actors[index].ping.remote()] = (index, None)

        def commit(name: str, record: dict[str, Any]) -> None:
            nonlocal last_commit, unsaved
            manifest.add(name, record)
            unsaved = True
            if time.monotonic() - last_commit >= _COMMIT_S:
                manifest.save(planned)
                last_commit, unsaved = time.monotonic(), False

        def render_again(shard: ShardSpec, why: str) -> None:
            write_attempts[shard.name] = write_attempts.get(shard.name, 0) + 1
            if write_attempts[shard.name] >= _WRITE_ATTEMPTS:
                raise RuntimeError(f"shard {shard.name} could not be written "
                                   f"{_WRITE_ATTEMPTS} times: {why}")
            assemblies[shard.name], pieces = _pieces(shard, recipe)
            queue.extend(reversed(pieces))

        try:
            while queue or any(p is not None for _, p in in_flight.values()):
                for index, actor in enumerate(actors):
                    while (queue and load[index] < _QUEUE_DEPTH and not alone[index]
                           and recovering[index] is None):
                        if queue[-1].suspect and load[index]:
                            break  # a suspect runs alone, so a crash is its own
                        piece = queue.pop()
                        summary_ref, rows_ref = actor.render.remote(piece.chunk)
                        in_flight[summary_ref] = (index, replace(piece, rows=rows_ref))
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
                    if isinstance(piece, _Write):
                        try:
                            answer = ray.get(ref)
                        except _ACTOR_ERRORS as exc:
                            # the writer died, or a node holding some of the rows did
                            died(index)
                            del assemblies[piece.shard.name]
                            render_again(piece.shard, f"{type(exc).__name__}: {exc}")
                            continue
                        assembly = assemblies.pop(piece.shard.name)
                        if answer.get("unseen"):
                            # that node lacks the output folder: the driver writes it
                            rows = (row for part in ray.get(assembly.row_refs())
                                    for row in part)
                            answer = _write_here(layout, piece.shard.name, rows,
                                                 assembly.rejects())
                        if "error" in answer:
                            if answer["disk_full"]:
                                raise _disk_full(layout, f"shard {piece.shard.name}")
                            raise OSError(f"writing shard {piece.shard.name}: "
                                          f"{answer['error']}")
                        commit(piece.shard.name, assembly.record(answer["written"],
                                                                 recipe_hash))
                        continue
                    alone[index] = False
                    assembly = assemblies[piece.shard.name]
                    rows_ref = piece.rows
                    try:
                        seconds, chunk_result, node = ray.get(ref)
                        if chunk_result.error:
                            raise RendererFailed(chunk_result.error)
                        result = seconds, chunk_result
                        assembly.nodes.add(node)
                    except _ACTOR_ERRORS as exc:
                        died(index)
                        result = _retry(piece, exc, assembly, queue)
                        if result is None:
                            continue
                        rows_ref = None  # a poison reject has no rows
                    chunk = piece.chunk
                    bar.update(chunk.stop - chunk.start)
                    if assembly.add(piece.position, chunk.start, result, rows_ref):
                        # written by the actor that made the last piece: some of the rows
                        # are on its node already
                        target = index if recovering[index] is None else _any_live(recovering)
                        write_ref = actors[target].write.remote(
                            str(layout.store), piece.shard.name, assembly.rejects(),
                            *assembly.row_refs())
                        in_flight[write_ref] = (target, _Write(piece.shard))
                        load[target] += 1
            if unsaved:
                manifest.save(planned)
                unsaved = False
        finally:
            bar.close()
            if unsaved:
                try:  # what was written and committed in memory counts, if it can be saved
                    manifest.save(planned)
                except OSError:
                    pass  # the disk is full: those shards are rendered again next time
            try:  # let renderers remove their temp folders and stop their engines
                ray.get([actor.close.remote() for actor in actors], timeout=60)
            except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
                pass
            for actor in actors:
                ray.kill(actor)


def _any_live(recovering: dict[int, float | None]) -> int:
    live = [i for i, since in recovering.items() if since is None]
    return live[0] if live else 0


def _write_here(layout: Layout, name: str, rows: Any,
                rejects: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        return {"written": write_shard(layout, name, rows, rejects)}
    except OSError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "disk_full": is_disk_full(exc)}


@dataclass(frozen=True)
class _Write:
    """A whole shard on its way to a writer."""

    shard: ShardSpec


@dataclass(frozen=True)
class _Piece:
    """A chunk, or part of one, on its way to a worker."""

    shard: ShardSpec
    position: int  # the chunk's place in its shard
    chunk: ChunkSpec
    # Its worker died while it was queued or running: it now runs alone on its actor.
    suspect: bool = False
    rows: Any = None  # once sent: the object ref of its rows


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
