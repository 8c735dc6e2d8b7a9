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

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# ray_session: imported by others from here, where it always was
from ocr2synth.pipelines.core.actor import (  # noqa: F401
    MARKER,
    actor_errors,
    ray_session,
    render_actor_class,
    write_here,
)
from ocr2synth.pipelines.core.assembly import Piece, ShardAssembly, Write, retry, shard_pieces
from ocr2synth.pipelines.core.plan import ShardSpec, plan_shards
from ocr2synth.pipelines.core.recipe import Recipe
from ocr2synth.pipelines.core.worker import RendererFailed
from ocr2synth.pipelines.format.card import write_card
from ocr2synth.pipelines.format.manifest import (
    DatasetError,
    Layout,
    Manifest,
    stats_by_entry,
)
from ocr2synth.pipelines.format.shards import is_disk_full
from ocr2synth.pipelines.format.verify import verify_dataset
from tqdm import tqdm

# Chunks queued per actor beyond the one it is rendering: hides the driver's write time.
_QUEUE_DEPTH = 2
# The manifest is rewritten at most this often (and at the end): each rewrite holds every
# record, so committing each shard at once would cost the driver O(shards) per shard.
_COMMIT_S = 1.0
# Attempts at writing one shard (each after rendering it again) before the job gives up.
_WRITE_ATTEMPTS = 3
# How long a dead actor may take to come back (its pings failing) before the job gives up.
# A ping to an actor whose node died waits, rather than fails, while no CPU is free.
_RECOVERY_S = 600.0


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


def run_recipe(
    recipe: Recipe,
    out: str | Path,
    workers: int = 2,
    address: str | None = None,
    progress: bool = True,
    forward_credentials: bool = False,
) -> RunSummary:
    """Render `recipe` into `out` (a folder or s3://), resuming what is there.
    `forward_credentials`: send the driver's AWS credentials to the workers in the job's
    runtime_env, for a cluster whose nodes have none of their own."""
    layout = Layout(out)
    try:
        return _run_recipe(recipe, layout, workers, address, progress, forward_credentials)
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(layout, getattr(exc, "filename", None) or "the manifest or card"
                             ) from None
        if not layout.is_local:  # a missing bucket, refused credentials, an unreachable server
            raise DatasetError(f"cannot write to {layout.root}: {exc}") from None
        raise


def _run_recipe(recipe: Recipe, layout: Layout, workers: int, address: str | None,
                progress: bool, forward_credentials: bool) -> RunSummary:
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
        with _job_marker(layout):
            _render(recipe, layout, manifest, planned, pending, workers, address, progress,
                    forward_credentials)
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


# The secrets among the AWS_* settings. A job's runtime_env is stored by the Ray cluster
# and shown by its dashboard, so they travel in it only when asked for
# (`--forward-aws-credentials`); a local cluster's workers inherit them from the driver.
AWS_CREDENTIALS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_SECURITY_TOKEN"})


def forwarded_env(layout: Layout, credentials: bool = False) -> dict[str, str]:
    """What the workers need from the driver's environment: the project's own settings, and
    for an object store the standard AWS_* settings (the endpoint, the region), with the
    credentials only if `credentials`."""
    prefixes = ("OCR2SYNTH_",) if layout.is_local else ("OCR2SYNTH_", "AWS_")
    return {k: v for k, v in os.environ.items() if k.startswith(prefixes)
            and (credentials or k not in AWS_CREDENTIALS)}


@contextmanager
def _job_marker(layout: Layout) -> Iterator[None]:
    """The file by which an actor tells it sees a local output folder (actor.write_here),
    present while the job renders."""
    if layout.is_local:
        layout.store.write_bytes(MARKER, b"")
    try:
        yield
    finally:
        if layout.is_local:
            layout.store.delete(MARKER)


def _render(
    recipe: Recipe,
    layout: Layout,
    manifest: Manifest,
    planned: list[ShardSpec],
    pending: list[ShardSpec],
    workers: int,
    address: str | None,
    progress: bool,
    forward_credentials: bool,
) -> None:
    import ray

    _ACTOR_ERRORS = actor_errors()  # noqa: N806 - a constant, once Ray is imported
    queue: list[Piece] = []
    assemblies: dict[str, ShardAssembly] = {}
    for shard in pending:
        assemblies[shard.name], parts = shard_pieces(shard, recipe)
        queue.extend(parts)
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
        actor_class = render_actor_class()
        # Ray restarts a dead actor (on another node where its node died, wherever a CPU
        # is free); the runner decides what to render again (see _retry). SPREAD puts
        # actors on as many nodes as it can, so a lost node costs the fewest of them.
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": -1, "max_task_retries": 0,
                                   "scheduling_strategy": "SPREAD"}
        env = forwarded_env(layout, forward_credentials)
        if env:
            options["runtime_env"] = {"env_vars": env}
        actors = [
            actor_class.options(**options).remote(recipe.image, recipe.sample_timeout_s)
            for _ in range(max(1, workers))
        ]
        # piece None: a ping to an actor that died, answered once Ray has restarted it;
        # a Write: a shard being written
        in_flight: dict[Any, tuple[int, Piece | Write | None]] = {}
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
            assemblies[shard.name], parts = shard_pieces(shard, recipe)
            queue.extend(reversed(parts))

        # The loop's cost per event must not grow with the cluster: only actors whose load
        # fell (or that came back) are refilled, and every result ready is taken per wait.
        refill = set(range(len(actors)))
        queued = len(queue)
        busy = 0  # pieces and writes in flight (pings aside)
        try:
            while queue or busy:
                if len(queue) > queued:  # pieces came back (a crash, a lost write): anyone
                    refill = set(range(len(actors)))
                for index in sorted(refill):
                    actor = actors[index]
                    while (queue and load[index] < _QUEUE_DEPTH and not alone[index]
                           and recovering[index] is None):
                        if queue[-1].suspect and load[index]:
                            break  # a suspect runs alone, so a crash is its own
                        piece = queue.pop()
                        summary_ref, rows_ref = actor.render.remote(piece.chunk)
                        in_flight[summary_ref] = (index, replace(piece, rows=rows_ref))
                        load[index] += 1
                        busy += 1
                        alone[index] = piece.suspect
                refill.clear()
                queued = len(queue)
                refs = list(in_flight)
                done, rest = ray.wait(refs, num_returns=1)
                if rest:
                    done += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
                for ref in done:
                    index, piece = in_flight.pop(ref)
                    refill.add(index)
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
                    busy -= 1
                    if isinstance(piece, Write):
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
                            answer = write_here(layout, piece.shard.name, rows,
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
                        result = retry(piece, exc, assembly, queue)
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
                        in_flight[write_ref] = (target, Write(piece.shard))
                        load[target] += 1
                        busy += 1
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
