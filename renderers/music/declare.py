"""The renderer this package provides: music (Humdrum **kern engraved by Verovio)."""

from __future__ import annotations

from typing import Any

from ocr2synth.renderers.base import Source
from ocr2synth.renderers.params import integer, number
from ocr2synth.renderers.specs import RendererSpec, ref

_HERE = __package__  # this package, for the spec references below


def _kern_source(path: str | None, params: dict[str, Any]) -> Source:
    from ocr2synth.renderers.music.kern_source import GeneratedKern, KernCorpus

    return KernCorpus(path, int(params.get("measures", 3))) if path else GeneratedKern()


SPECS = [
    RendererSpec(
        "music", _kern_source, ref(f"{_HERE}.renderer:MusicRenderer"),
        batch_size=64,
        # its row in the README's renderer tables (`ocr2synth renderers --markdown`)
        readme=(
            ('generated single-system pieces (treble, bass or grand staff; keys, meters, rests, '
             'accidentals, dots, ties, beams, chords) or `--source DIR` of `.krn` movements cut '
             'into excerpts'),
            ('the excerpt as a standalone Humdrum **kern document'),
        ),
        description="single-system scores engraved by Verovio (target: Humdrum **kern)",
        target_note="a standalone **kern document: the excerpt with the clef, key, "
        "meter and instrument interpretations in force where it starts; `!!!COM:` and "
        "`!!!OTL:` records exactly when the picture shows a composer and title",
        params=(
            number("title_rate", 0.3, "share of samples with a made-up title and composer",
                   0, 1),
            number("paper_rate", 0.7, "share of samples on tinted, grained paper", 0, 1),
            integer("measures", 3, "measures per excerpt of a --source corpus", 1),
        ),
        target_kind="kern",
        naive=ref(f"{_HERE}.baseline:naive_music"),
        got_mix={2: 500_000},
        demo=({"count": 32},),
        rejects=("clipped", "empty", "engine-crash", "engraving-mismatch", "kern-error",
                 "malformed-kern", "multi-system", "too-long", "verovio-load"),
        pair_proof="the target loads without importer errors, engraves to one system, and "
        "the engraving holds as many measures and notes as the kern",
    ),
]
