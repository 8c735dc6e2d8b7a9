"""Sources of **kern: a generator of plausible single-system scores, and a corpus reader
that cuts the user's whole movements into one-system excerpts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ocr2synth.renderers.base import Item, Source
from ocr2synth.renderers.music.kern import Excerpt, KernFormatError, cut_excerpts, parse_kern

# Keys by number of sharps (+) or flats (-): major tonic, relative minor tonic.
KEYS: dict[int, tuple[str, str]] = {
    -5: ("D-", "b-"), -4: ("A-", "f"), -3: ("E-", "c"), -2: ("B-", "g"), -1: ("F", "d"),
    0: ("C", "a"), 1: ("G", "e"), 2: ("D", "b"), 3: ("A", "f#"), 4: ("E", "c#"),
    5: ("B", "g#"),
}
SHARP_ORDER = "fcgdaeb"
FLAT_ORDER = "beadgcf"
STEPS = "cdefgab"

# (numerator, denominator, beat length in whole notes)
METERS: list[tuple[int, int, Fraction]] = [
    (4, 4, Fraction(1, 4)), (3, 4, Fraction(1, 4)), (2, 4, Fraction(1, 4)),
    (6, 8, Fraction(3, 8)), (2, 2, Fraction(1, 2)), (3, 8, Fraction(3, 8)),
    (9, 8, Fraction(3, 8)), (5, 4, Fraction(1, 4)),
]
METER_WEIGHTS = [6, 5, 3, 4, 1, 2, 1, 1]

# Ways to fill one beat, as kern durations (reciprocal, dots).
SIMPLE_BEAT = [["4"], ["8", "8"], ["8.", "16"], ["16", "16", "8"], ["8", "16", "16"],
               ["16", "16", "16", "16"], ["16", "8."]]
SIMPLE_WEIGHTS = [10, 8, 2, 1, 1, 2, 1]
COMPOUND_BEAT = [["4."], ["8", "8", "8"], ["4", "8"], ["8", "4"], ["8.", "16", "8"],
                 ["16", "16", "8", "8"]]
COMPOUND_WEIGHTS = [6, 6, 4, 2, 1, 1]

TITLE_FORMS = ["Minuet", "Sonatina", "Prelude", "Chorale", "Waltz", "Study", "Air", "Gavotte",
               "Romance", "Bourrée", "Lullaby", "March", "Etude", "Invention", "Song",
               "Scherzo", "Rondo", "Allemande", "Sarabande", "Nocturne", "Fantasia"]
GIVEN = ["Anna", "Johann", "Clara", "Louis", "Maria", "Franz", "Elise", "Carl", "Sofia",
         "Henri", "Ada", "Pietro", "Lena", "Jean", "Fanny", "Emil", "Teresa", "Oskar", "Mei",
         "Hiro", "Ines", "Pavel", "Nora", "Tomas"]
FAMILY = ["Weber", "Albrecht", "Moreau", "Lindqvist", "Rossi", "Kovac", "Hartmann",
          "Duval", "Novak", "Bianchi", "Schreiber", "Lang", "Castell", "Varga", "Holm",
          "Bergmann", "Okada", "Silva", "Petrov", "Marchetti", "Haas", "Dvorak", "Fontaine"]
OPUS = ["", "", "Op. {n}", "No. {n}", "BWV {n}", "K. {n}"]


def duration_of(token: str) -> Fraction:
    """Length in whole notes of a kern duration like "8." or "2"."""
    digits = token.rstrip(".")
    base = Fraction(1, int(digits))
    dots = len(token) - len(digits)
    return base * (2 - Fraction(1, 2 ** dots))


def pitch_name(degree: int, alter: int) -> str:
    """Kern pitch of a diatonic degree (0 = middle C) with a chromatic alteration."""
    letter = STEPS[degree % 7]
    octave = 4 + degree // 7
    name = letter * (octave - 3) if octave >= 4 else letter.upper() * (4 - octave)
    return name + ("#" * alter if alter > 0 else "-" * -alter)


@dataclass
class Key:
    fifths: int
    minor: bool

    def alter(self, degree: int) -> int:
        """Alteration of a degree in this key signature."""
        letter = STEPS[degree % 7]
        if self.fifths > 0 and letter in SHARP_ORDER[: self.fifths]:
            return 1
        if self.fifths < 0 and letter in FLAT_ORDER[: -self.fifths]:
            return -1
        return 0

    @property
    def tonic_degree(self) -> int:
        tonic = KEYS[self.fifths][1 if self.minor else 0][0].lower()
        return STEPS.index(tonic)

    def signature(self) -> str:
        letters = SHARP_ORDER[: self.fifths] if self.fifths >= 0 else FLAT_ORDER[: -self.fifths]
        accidental = "#" if self.fifths > 0 else "-"
        return "*k[" + "".join(c + accidental for c in letters) + "]"

    def designation(self) -> str:
        return "*" + KEYS[self.fifths][1 if self.minor else 0] + ":"


@dataclass
class Event:
    duration: str
    pitches: list[tuple[int, int]]  # (degree, alteration); empty = rest
    tie: str = ""  # "[", "]" or "_"
    beam: str = ""

    def token(self) -> str:
        if not self.pitches:
            return f"{self.duration}r"
        notes = []
        for i, (degree, alter) in enumerate(self.pitches):
            head = self.tie if self.tie == "[" else ""
            tail = self.tie if self.tie in ("]", "_") else ""
            beam = self.beam if i == 0 else ""
            notes.append(f"{head}{self.duration}{pitch_name(degree, alter)}{tail}{beam}")
        return " ".join(notes)


class KernGrammar:
    """A short piece: a melody that mostly steps through its key, a bass that outlines
    harmony, and rhythms that fill every measure of the chosen meter."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def rhythm(self, meter: tuple[int, int, Fraction]) -> list[list[str]]:
        """Per beat, the durations that fill it; sometimes two beats merge into one note."""
        num, den, beat = meter
        compound = beat == Fraction(3, 8)
        beats = int(Fraction(num, den) / beat)
        patterns, weights = ((COMPOUND_BEAT, COMPOUND_WEIGHTS) if compound
                             else (SIMPLE_BEAT, SIMPLE_WEIGHTS))
        result: list[list[str]] = []
        i = 0
        while i < beats:
            if beat == Fraction(1, 2):
                result.append(self.rng.choices([["2"], ["4", "4"], ["4", "8", "8"]],
                                               [3, 4, 2])[0])
                i += 1
                continue
            if not compound and beats - i >= 2 and self.rng.random() < 0.2:
                long = "2." if beats - i >= 3 and self.rng.random() < 0.3 else "2"
                result.append([long])
                i += 3 if long == "2." else 2
                continue
            if compound and beats - i >= 2 and self.rng.random() < 0.12:
                result.append(["2."])
                i += 2
                continue
            result.append(list(self.rng.choices(patterns, weights)[0]))
            i += 1
        return result

    def melody_step(self, degree: int, low: int, high: int) -> int:
        step = self.rng.choices([0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5],
                                [5, 22, 22, 12, 12, 5, 5, 3, 3, 1, 1])[0]
        nxt = degree + step
        if nxt < low or nxt > high:
            nxt = degree - step
        return max(low, min(high, nxt))

    def voice(self, key: Key, meter: tuple[int, int, Fraction], measures: int, low: int,
              high: int, chord_rate: float, rest_rate: float) -> list[list[Event]]:
        """Events per measure of one staff."""
        degree = self.rng.randint(low + 2, high - 2)
        leading = (key.tonic_degree + 6) % 7
        out: list[list[Event]] = []
        for _ in range(measures):
            bar: list[Event] = []
            for beat in self.rhythm(meter):
                group: list[Event] = []
                for duration in beat:
                    if self.rng.random() < rest_rate:
                        group.append(Event(duration, []))
                        continue
                    degree = self.melody_step(degree, low, high)
                    alter = key.alter(degree)
                    roll = self.rng.random()
                    if key.minor and degree % 7 == leading and roll < 0.6:
                        alter += 1  # the raised leading tone (a double sharp in G# minor)
                    elif roll < 0.05:
                        # a chromatic neighbour; no double accidentals from chance alone
                        alter = max(-1, min(1, alter + self.rng.choice([-1, 1])))
                    pitches = [(degree, alter)]
                    if self.rng.random() < chord_rate:
                        for interval in self.rng.choice([[-2], [-2, -4], [-5], [-3], [-2, -5]]):
                            d = degree + interval
                            if d >= low - 3:
                                pitches.insert(0, (d, key.alter(d)))
                    group.append(Event(duration, pitches))
                _beam(group)
                bar += group
            out.append(bar)
        self._tie_across(out)
        return out

    def _tie_across(self, measures: list[list[Event]]) -> None:
        for left, right in zip(measures, measures[1:], strict=False):
            last, first = left[-1], right[0]
            if not last.pitches or not first.pitches or self.rng.random() > 0.15:
                continue
            first.pitches = list(last.pitches)
            last.tie = "_" if last.tie == "]" else "["
            first.tie = "]"

    def piece(self) -> str:
        rng = self.rng
        layout = rng.choices(["treble", "bass", "grand"], [4, 2, 4])[0]
        key = Key(rng.choice(list(KEYS)), rng.random() < 0.35)
        meter = rng.choices(METERS, METER_WEIGHTS)[0]
        bar_len = Fraction(meter[0], meter[1])
        most = 4 if bar_len <= Fraction(3, 4) else 3
        measures = rng.randint(2, most + (1 if layout != "grand" else 0))
        staves: list[tuple[str, list[list[Event]]]] = []
        if layout in ("bass", "grand"):
            # bass: slower, low, chords sometimes (degree -12 is E2, 0 is C4)
            staves.append(("*clefF4", self.voice(key, meter, measures, -12, -1,
                                                 0.25 if layout == "grand" else 0.05, 0.05)))
        if layout in ("treble", "grand"):
            staves.append(("*clefG2", self.voice(key, meter, measures, 1, 12, 0.12, 0.06)))
        return _spines_to_kern(staves, key, meter, measures, rng.random() < 0.2)


def _beam(group: list[Event]) -> None:
    """Beam the notes of one beat that are shorter than a quarter, as engravers do: one
    primary beam over the group, a secondary beam (or a hook) over sixteenths."""
    if len(group) < 2 or any(not e.pitches for e in group):
        return
    durations = [duration_of(e.duration) for e in group]
    if any(d >= Fraction(1, 4) for d in durations):
        return
    levels = [2 if d < Fraction(1, 8) else 1 for d in durations]
    last = len(group) - 1
    for i, event in enumerate(group):
        primary = "L" if i == 0 else "J" if i == last else ""
        secondary = ""
        if levels[i] == 2:
            left = i > 0 and levels[i - 1] == 2
            right = i < last and levels[i + 1] == 2
            if right and not left:
                secondary = "L"
            elif left and not right:
                secondary = "J"
            elif not left and not right:
                secondary = "K" if i == 0 else "k"
        event.beam = primary + secondary


def _spines_to_kern(staves: list[tuple[str, list[list[Event]]]], key: Key,
                    meter: tuple[int, int, Fraction], measures: int, common: bool) -> str:
    n = len(staves)
    lines = ["\t".join(["**kern"] * n)]
    lines.append("\t".join(clef for clef, _ in staves))
    lines.append("\t".join([key.signature()] * n))
    lines.append("\t".join([key.designation()] * n))
    lines.append("\t".join([f"*M{meter[0]}/{meter[1]}"] * n))
    if common and meter[:2] in ((4, 4), (2, 2)):
        lines.append("\t".join(["*met(C)" if meter[0] == 4 else "*met(C|)"] * n))
    for m in range(measures):
        # one line per onset in any staff; a staff with nothing new there holds a null token
        onsets: dict[Fraction, list[str]] = {}
        for s, (_, bars) in enumerate(staves):
            t = Fraction(0)
            for event in bars[m]:
                onsets.setdefault(t, ["."] * n)[s] = event.token()
                t += duration_of(event.duration)
        for t in sorted(onsets):
            lines.append("\t".join(onsets[t]))
        bar = "==" if m == measures - 1 else f"={m + 2}"
        lines.append("\t".join([bar] * n))
    lines.append("\t".join(["*-"] * n))
    return "\n".join(lines) + "\n"


class GeneratedKern(Source):
    """The built-in source: short single-system pieces for treble, bass or grand staff."""

    def item(self, seed: int, k: int) -> Item:
        rng = random.Random(seed)
        return Item(k=k, seed=seed, content=KernGrammar(rng).piece(),
                    meta={"source": "generated"})


def random_title(rng: random.Random) -> tuple[str, str]:
    """A made-up (title, composer) pair for the optional header text."""
    form = rng.choice(TITLE_FORMS)
    key = KEYS[rng.choice(list(KEYS))][rng.random() < 0.3]
    key_name = key[0].upper() + {"#": "-sharp", "-": "-flat"}.get(key[1:], "")
    title = rng.choice([f"{form} in {key_name}", form, f"{form} No. {rng.randint(1, 12)}"])
    opus = rng.choice(OPUS).format(n=rng.randint(1, 120))
    title = f"{title}, {opus}" if opus else title
    return title, f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"


class KernCorpus(Source):
    """A folder of `.krn` files (searched recursively), cut into excerpts of a few measures.

    Item k is excerpt k of the corpus in file order, so a run covers the corpus before it
    repeats. Files that are not valid Humdrum are skipped and counted.
    """

    def __init__(self, path: str | Path, measures: int = 3) -> None:
        # scores of four or more staves get shorter excerpts, so they still fit one system
        self.root = Path(path)
        files = sorted(self.root.rglob("*.krn")) if self.root.is_dir() else [self.root]
        if not files:
            raise ValueError(f"{self.root}: no .krn files")
        self.excerpts: list[tuple[str, Excerpt]] = []
        self.skipped: dict[str, str] = {}
        for file in files:
            name = str(file.relative_to(self.root)) if self.root.is_dir() else file.name
            try:
                records = parse_kern(file.read_text(encoding="utf-8", errors="replace"))
            except KernFormatError as exc:
                self.skipped[name] = str(exc)
                continue
            staves = max((len([s for s in r.spines if s.exclusive == "**kern"])
                          for r in records[:50]), default=0)
            length = max(1, measures - 1) if staves >= 4 else measures
            self.excerpts += [(name, e) for e in cut_excerpts(records, length)]
        if not self.excerpts:
            raise ValueError(f"{self.root}: no usable **kern excerpts "
                             f"({len(self.skipped)} files skipped)")

    def size(self) -> int:
        return len(self.excerpts)

    def item(self, seed: int, k: int) -> Item:
        name, excerpt = self.excerpts[k % len(self.excerpts)]
        return Item(k=k, seed=seed, content=excerpt.text,
                    meta={"source": name, "measure": excerpt.first_measure,
                          "measures": excerpt.measures})
