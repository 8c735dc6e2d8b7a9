"""Humdrum **kern documents as records of tab-separated spines.

What the music sources need: read a whole-movement file, follow its spines through splits
and joins, and cut it at barlines into excerpts that are valid documents on their own (each
carries the header interpretations in force where it starts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Sticky tandem interpretations an excerpt must restate, in the order a header gives them.
_STATE_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("instrument", re.compile(r"^\*I[^:]")),
    ("staff", re.compile(r"^\*staff\d")),
    ("clef", re.compile(r"^\*clef")),
    ("keysig", re.compile(r"^\*k\[")),
    ("key", re.compile(r"^\*[A-Ga-g][#-]*:")),
    ("meter", re.compile(r"^\*M\d")),
    ("metsym", re.compile(r"^\*met\(")),
]
# Section labels and expansion lists only make sense for the whole work.
_SECTION = re.compile(r"^\*>")
_MANIPULATORS = {"*^", "*v", "*x", "*+", "*-"}


class KernFormatError(ValueError):
    """The document is not well-formed Humdrum (spine counts, manipulators)."""


@dataclass
class Spine:
    """One column: its exclusive interpretation, the original spine it descends from (a
    split spine stays on its parent's staff) and its sticky interpretations."""

    exclusive: str
    origin: int
    state: dict[str, str] = field(default_factory=dict)

    def copy(self) -> Spine:
        return Spine(self.exclusive, self.origin, dict(self.state))


@dataclass(frozen=True)
class Record:
    kind: str  # exclusive | interp | barline | data | local | global
    tokens: tuple[str, ...]
    spines: tuple[Spine, ...]  # spines in force before this record

    @property
    def text(self) -> str:
        return "\t".join(self.tokens)


def _kind(line: str) -> str:
    if line.startswith("!!"):
        return "global"
    if line.startswith("**"):
        return "exclusive"
    if line.startswith("*"):
        return "interp"
    if line.startswith("="):
        return "barline"
    if line.startswith("!"):
        return "local"
    return "data"


def _apply_manipulators(spines: list[Spine], tokens: list[str], line_no: int) -> list[Spine]:
    result: list[Spine] = []
    i = 0
    while i < len(tokens):
        token, spine = tokens[i], spines[i]
        if token == "*^":
            result += [spine.copy(), spine.copy()]
        elif token == "*v":
            j = i
            while j + 1 < len(tokens) and tokens[j + 1] == "*v":
                j += 1
            if j == i:
                raise KernFormatError(f"line {line_no}: a lone *v joins nothing")
            result.append(spine.copy())
            i = j
        elif token == "*x":
            if i + 1 >= len(tokens) or tokens[i + 1] != "*x":
                raise KernFormatError(f"line {line_no}: *x needs a partner on its right")
            result += [spines[i + 1].copy(), spine.copy()]
            i += 1
        elif token == "*+":
            raise KernFormatError(f"line {line_no}: *+ (added spines) is not supported")
        elif token == "*-":
            pass
        else:
            result.append(spine)
        i += 1
    return result


def parse_kern(text: str) -> list[Record]:
    """Records of a Humdrum document, each with the spines in force before it."""
    records: list[Record] = []
    spines: list[Spine] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        kind = _kind(line)
        if kind == "global":
            records.append(Record(kind, (line,), tuple(spines)))
            continue
        tokens = line.split("\t")
        if kind == "exclusive" and not spines:
            spines = [Spine(t, i) for i, t in enumerate(tokens)]
            if not all(t.startswith("**") for t in tokens):
                raise KernFormatError(f"line {line_no}: exclusive interpretation expected")
            records.append(Record(kind, tuple(tokens), ()))
            continue
        if not spines:
            raise KernFormatError(f"line {line_no}: data before the exclusive interpretation")
        if len(tokens) != len(spines):
            raise KernFormatError(
                f"line {line_no}: {len(tokens)} tokens for {len(spines)} spines")
        records.append(Record(kind, tuple(tokens), tuple(s.copy() for s in spines)))
        if kind != "interp":
            continue
        for token, spine in zip(tokens, spines, strict=True):
            for name, pattern in _STATE_KINDS:
                if pattern.match(token):
                    spine.state[name] = token
        if any(t in _MANIPULATORS for t in tokens):
            spines = _apply_manipulators(spines, tokens, line_no)
            if not spines:
                break
    return records


def _header(spines: tuple[Spine, ...]) -> list[str] | None:
    """Lines that recreate these spines from scratch, or None when a split spine's parts
    are not side by side (exchanged spines cannot be recreated by splits)."""
    origins = [s.origin for s in spines]
    groups: list[int] = []
    for origin in origins:
        if groups and groups[-1] == origin:
            continue
        if origin in groups:
            return None
        groups.append(origin)
    first = {o: next(s for s in spines if s.origin == o) for o in groups}
    lines = ["\t".join(first[o].exclusive for o in groups)]
    counts = {o: origins.count(o) for o in groups}
    current = {o: 1 for o in groups}
    # one split per line per spine group, until every group has its parts
    while any(current[o] < counts[o] for o in groups):
        tokens = []
        for o in groups:
            split = current[o] < counts[o]
            tokens += ["*^" if split else "*"] + ["*"] * (current[o] - 1)
            current[o] += 1 if split else 0
        lines.append("\t".join(tokens))
    for name, _ in _STATE_KINDS:
        tokens = [s.state.get(name, "*") for s in spines]
        if any(t != "*" for t in tokens):
            lines.append("\t".join(tokens))
    return lines


@dataclass(frozen=True)
class Excerpt:
    text: str
    first_measure: str  # the barline label it starts at ("" before the first barline)
    measures: int


def _strip_sections(record: Record) -> str | None:
    if record.kind == "interp" and any(_SECTION.match(t) for t in record.tokens):
        tokens = ["*" if _SECTION.match(t) else t for t in record.tokens]
        return None if all(t == "*" for t in tokens) else "\t".join(tokens)
    return record.text


def cut_excerpts(records: list[Record], measures_per_excerpt: int) -> list[Excerpt]:
    """Consecutive excerpts of whole measures, each a standalone **kern document.

    Global comments and reference records belong to the whole work and are left out; local
    comments and layout records inside an excerpt stay with their music.
    """
    body = [r for r in records if r.kind not in ("global", "exclusive")]
    # measure starts: index of each barline; music before the first barline is a pickup
    starts = [i for i, r in enumerate(body) if r.kind == "barline"]
    if not starts:
        return []
    bounds = ([0] if any(r.kind == "data" for r in body[: starts[0]]) else []) + starts
    excerpts: list[Excerpt] = []
    for n in range(0, len(bounds) - 1, measures_per_excerpt):
        lo = bounds[n]
        hi = bounds[min(n + measures_per_excerpt, len(bounds) - 1)]
        chunk = body[lo: hi + 1]  # through the closing barline
        if not any(r.kind == "data" for r in chunk):
            continue
        if any(t in _MANIPULATORS - {"*-"} for r in chunk for t in r.tokens if r.kind == "interp"):
            # keep excerpts whose spine layout is fixed: a split or join inside an
            # excerpt is valid but its staff layout depends on context we would drop
            continue
        if any("*-" in r.tokens for r in chunk[:-1]):
            continue
        header = _header(chunk[0].spines)
        if header is None:
            continue
        # a tandem interpretation at the excerpt's first lines already restates itself
        lines = header + [t for r in chunk if (t := _strip_sections(r)) is not None]
        last = chunk[-1]
        lines.append("\t".join("*-" for _ in last.spines))
        label = body[lo].tokens[0] if body[lo].kind == "barline" else ""
        excerpts.append(Excerpt("\n".join(lines) + "\n", label,
                                sum(1 for r in chunk if r.kind == "barline") - (lo in starts)))
    return excerpts
