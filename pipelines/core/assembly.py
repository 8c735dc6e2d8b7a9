"""A shard on its way: its chunks as pieces sent to actors, the results collected in plan
order until the shard is whole, and what a worker's death does to a piece. Pure
bookkeeping: no Ray, no files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ocr2synth.pipelines.core.plan import ChunkSpec, ShardSpec, plan_chunks
from ocr2synth.pipelines.core.recipe import Recipe
from ocr2synth.pipelines.core.worker import ChunkResult, RenderWorker
from ocr2synth.pipelines.format.manifest import shard_record
from ocr2synth.renderers.registry import get_spec


class ShardAssembly:
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


def shard_pieces(shard: ShardSpec, recipe: Recipe) -> tuple[ShardAssembly, list[Piece]]:
    chunks = plan_chunks(shard, recipe.seed, get_spec(shard.renderer).batch_size)
    parts = [Piece(shard, position, chunk) for position, chunk in enumerate(chunks)]
    return ShardAssembly(shard, len(chunks)), parts


@dataclass(frozen=True)
class Write:
    """A whole shard on its way to a writer."""

    shard: ShardSpec


@dataclass(frozen=True)
class Piece:
    """A chunk, or part of one, on its way to a worker."""

    shard: ShardSpec
    position: int  # the chunk's place in its shard
    chunk: ChunkSpec
    # Its worker died while it was queued or running: it now runs alone on its actor.
    suspect: bool = False
    rows: Any = None  # once sent: the object ref of its rows


def retry(piece: Piece, exc: Exception, assembly: ShardAssembly,
           queue: list[Piece]) -> tuple[float, ChunkResult] | None:
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
