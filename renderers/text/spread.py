"""Which unit of a corpus sample k takes: spread over the corpus, or in file order.

`order=spread` (the default) maps k through a seeded permutation, so any prefix of
`--count` samples covers the corpus evenly instead of reading its first files; `order=
sequential` keeps file order. Both are pure functions of k (SPREAD_SEED): determinism
holds, and sample k of any entry names the same unit.

`Permutation` is an affine map k -> (a*k + b) mod n with gcd(a, n) = 1: a bijection of
0..n-1 in O(1) memory, whatever n (a corpus of ten million rows costs two integers). `a` is
near n times the golden ratio's fractional part, so consecutive samples land far apart
and a prefix of length m visits points about n/m apart.

`Rounds` spreads over (file, page) where files have known, uneven unit counts: round r
visits every file with more than r units, in a seeded file order, taking each file's own
seeded r-th unit. The first round covers every file before any file repeats, so 200
samples over 60 PDFs come from all 60; a file's units are each visited once before the
whole corpus starts again.
"""

from __future__ import annotations

import bisect
import hashlib
import math

ORDERS = ("spread", "sequential")
# The permutation's seed is the same for every entry and recipe: an item stays a pure
# function of (its seed, k), so a stage-3 task that keeps a base sample's (seed, k)
# renders exactly it again. Variety across samples comes from their own seeds (style,
# language, the mix).
SPREAD_SEED = 0x5EED_C0DE
_PHI = (math.sqrt(5) - 1) / 2


def _hash(seed: int, *words: object) -> int:
    digest = hashlib.blake2b(repr((seed, *words)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class Permutation:
    """A seeded bijection of range(n); identity when `sequential`."""

    def __init__(self, n: int, seed: int, sequential: bool = False) -> None:
        if n < 1:
            raise ValueError(f"a permutation of {n} items")
        self.n = n
        if sequential or n == 1:
            self.a, self.b = 1, 0
            return
        a = max(1, round(n * _PHI)) + _hash(seed, "a") % max(1, n // 64 or 1)
        while math.gcd(a, n) != 1:
            a += 1
        self.a, self.b = a % n or 1, _hash(seed, "b") % n

    def __call__(self, k: int) -> int:
        return (self.a * (k % self.n) + self.b) % self.n


class Rounds:
    """k -> (file, unit) over files with `counts[i]` units each (see the module doc)."""

    def __init__(self, counts: list[int], seed: int, sequential: bool = False) -> None:
        if not counts or min(counts) < 1:
            raise ValueError("every file needs at least one unit")
        self.counts = counts
        self.seed = seed
        self.sequential = sequential
        self.total = sum(counts)
        if sequential:
            self._starts = [0]
            for count in counts[:-1]:
                self._starts.append(self._starts[-1] + count)
            return
        order = Permutation(len(counts), seed)
        self._order = [order(i) for i in range(len(counts))]  # the files, in round order
        # rounds come in runs where the same files take part: a run's files (in round
        # order) and the first round and first sample where it starts
        thresholds = sorted(set(counts))
        self._runs: list[tuple[int, int, list[int]]] = []  # (first round, first k, files)
        first_round, first_k = 0, 0
        for threshold in thresholds:
            files = [f for f in self._order if counts[f] >= threshold]
            self._runs.append((first_round, first_k, files))
            first_k += (threshold - first_round) * len(files)
            first_round = threshold
        self._run_ks = [run[1] for run in self._runs]
        self._units: dict[int, Permutation] = {}

    def __call__(self, k: int) -> tuple[int, int]:
        k %= self.total
        if self.sequential:
            file = bisect.bisect_right(self._starts, k) - 1
            return file, k - self._starts[file]
        first_round, first_k, files = self._runs[bisect.bisect_right(self._run_ks, k) - 1]
        rounds, at = divmod(k - first_k, len(files))
        file = files[at]
        units = self._units.get(file)
        if units is None:
            units = self._units[file] = Permutation(self.counts[file], _hash(self.seed, file))
        return file, units(first_round + rounds)
