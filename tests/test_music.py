"""`music`: generated and corpus **kern, engraved by Verovio, checked against the kern."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
import verovio
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.imaging import encode_image
from ocr2synth.renderers.music.engine import EngineCrash, VerovioProcess
from ocr2synth.renderers.music.kern import cut_excerpts, parse_kern
from ocr2synth.renderers.music.kern_source import GeneratedKern, KernCorpus, duration_of
from ocr2synth.renderers.music.renderer import MusicRenderer, kern_counts

MUSIC21_CORPUS = Path(__import__("music21").__file__).parent / "corpus"


@pytest.fixture(scope="module")
def renderer():
    r = MusicRenderer({"title_rate": 0.5}, timeout_s=10)
    try:
        yield r
    finally:
        r.close()


def generated(n: int, seed: int = 5) -> list[Item]:
    source = GeneratedKern()
    return [source.item(sample_seed(seed, "music", k), k) for k in range(n)]


def measure_lengths(kern: str) -> list[list[Fraction]]:
    """Per measure, the summed note and rest durations of each spine (null tokens skip)."""
    measures: list[list[Fraction]] = []
    current: list[Fraction] | None = None
    for line in kern.splitlines():
        tokens = line.split("\t")
        if line.startswith("**"):
            current = [Fraction(0)] * len(tokens)
        elif line.startswith("=") or line.startswith("*-"):
            if current is not None and any(current):
                measures.append(current)
            current = [Fraction(0)] * len(tokens)
        elif not line.startswith(("*", "!")) and current is not None:
            for i, token in enumerate(tokens):
                if token != ".":
                    first = token.split(" ")[0]
                    current[i] += duration_of(re.match(r"[\[]?(\d+\.*)", first).group(1))
    return measures


def test_generated_kern_fills_every_measure_of_its_meter_in_every_staff():
    for item in generated(60):
        meter = re.search(r"\*M(\d+)/(\d+)", item.content)
        bar = Fraction(int(meter.group(1)), int(meter.group(2)))
        lengths = measure_lengths(item.content)
        assert len(lengths) >= 2, item.content
        for measure in lengths:
            assert all(total == bar for total in measure), (measure, item.content)


def test_generated_kern_uses_the_notation_the_issue_lists():
    text = "\n".join(item.content for item in generated(120))
    for feature, pattern in {
        "grand staff": r"^\*\*kern\t\*\*kern$", "bass clef": r"\*clefF4",
        "key signature": r"\*k\[[a-g]", "rest": r"\d\.?r", "sharp": r"[a-gA-G]#",
        "flat": r"[a-gA-G]-", "dot": r"\d\.[a-gA-G]", "tie": r"\[\d", "beam": r"[a-g#-]L",
        "chord": r"[a-gA-G][#-]* \d", "final barline": r"^==", "compound meter": r"\*M6/8",
    }.items():
        assert re.search(pattern, text, re.MULTILINE), f"no {feature} in 120 pieces"


def test_rendered_scores_match_their_kern_when_loaded_again(renderer):
    items = generated(8)
    outcomes = renderer.render_batch(items)
    samples = [o for o in outcomes if isinstance(o, Sample)]
    assert len(samples) >= 7, [o for o in outcomes if isinstance(o, Reject)]
    toolkit = verovio.toolkit()
    verovio.enableLog(verovio.LOG_OFF)
    for sample in samples:
        assert sample.prompt == "OCR with format: " and sample.task == "format"
        # the target alone, in a fresh toolkit: one system with every measure and note
        toolkit.setOptions({"pageWidth": 4000, "breaks": "auto", "adjustPageHeight": True})
        assert toolkit.loadData(sample.target)
        svg = toolkit.renderToSVG(1)
        assert toolkit.getPageCount() == 1 and svg.count('class="system"') == 1
        measures, notes = kern_counts(parse_kern(sample.target))
        assert svg.count('class="note"') == notes > 0
        assert svg.count('class="measure"') == measures
        gray = sample.image.convert("L")
        assert gray.getextrema()[0] < 80  # real ink, not a faint smudge
        width, height = sample.image.size
        assert 150 < width < 2600 and 60 < height < 1600


def test_title_text_drawn_is_in_the_target(renderer):
    samples = [o for o in renderer.render_batch(generated(12, seed=9)) if isinstance(o, Sample)]
    titled = [s for s in samples if "text_font" in s.meta]
    assert titled and len(titled) < len(samples)
    for sample in titled:
        assert sample.target.startswith("!!!COM: ") and "\n!!!OTL: " in sample.target
    for sample in samples:
        if sample not in titled:
            assert "!!!" not in sample.target


def test_same_item_gives_the_same_image_bytes(renderer):
    item = generated(1, seed=3)[0]
    first, again = renderer.render_one(item), MusicRenderer({}, 10)
    try:
        second = again.render_one(item)
    finally:
        again.close()
    assert first.target == second.target
    assert encode_image(first.image, "png", 1, "auto") == encode_image(second.image, "png", 1,
                                                                        "auto")


def test_corpus_movements_cut_into_standalone_one_system_excerpts(renderer):
    folder = MUSIC21_CORPUS / "beethoven" / "opus18no1"
    source = KernCorpus(folder)
    assert source.size() > 100
    items = [source.item(0, k) for k in range(0, source.size(), source.size() // 12)]
    for item in items:
        head = item.content.splitlines()
        assert head[0].split("\t").count("**kern") == 4  # a string quartet
        assert any(line.startswith("*clef") for line in head[:8])
        assert any(line.startswith("*M") for line in head[:10])
        assert head[-1] == "\t".join(["*-"] * len(head[-1].split("\t")))
    outcomes = renderer.render_batch(items)
    samples = [o for o in outcomes if isinstance(o, Sample)]
    assert len(samples) >= len(items) - 1, [o for o in outcomes if isinstance(o, Reject)]


def test_excerpt_inside_split_spines_recreates_the_split():
    kern = ("**kern\t**kern\n*clefF4\t*clefG2\n*M2/4\t*M2/4\n4C\t4c\n4D\t4d\n=1\t=1\n"
            "*\t*^\n4E\t4e\t4g\n4F\t4f\t4a\n=2\t=2\t=2\n4G\t4g\t4b\n4A\t4a\t4cc\n=3\t=3\t=3\n"
            "*\t*v\t*v\n2B\t2b\n==\t==\n*-\t*-\n")
    excerpts = cut_excerpts(parse_kern(kern), 1)
    second = next(e for e in excerpts if e.first_measure == "=2")
    lines = second.text.splitlines()
    assert lines[0] == "**kern\t**kern" and lines[1] == "*\t*^"
    assert lines[2] == "*clefF4\t*clefG2\t*clefG2" and lines[-1] == "*-\t*-\t*-"
    toolkit = verovio.toolkit()
    assert toolkit.loadData(second.text)
    assert toolkit.renderToSVG(1).count('class="staff"') == 2  # a split stays on its staff


def test_broken_kern_becomes_rejects_and_the_rest_of_the_batch_renders(renderer):
    good = generated(1, seed=21)[0]
    bad = {
        "mismatched spines": "**kern\t**kern\n*M2/4\t*M2/4\n4c\n=1\t=1\n*-\t*-\n",
        "not kern": "hello, world\n",
        "empty": "   ",
        "rhythm": "**kern\t**kern\n*M2/4\t*M2/4\n4c\t4e\n8d\t4f\n=1\t=1\n4c\t2g\n4d\t.\n==\t==\n"
                  "*-\t*-\n",
        "huge": "**kern\n" + "4c\n" * 20000 + "*-\n",
        "lone join": "**kern\n4c\n*v\n*-\n",
    }
    items = [Item(i, 1, text) for i, text in enumerate(bad.values())] + [good]
    outcomes = renderer.render_batch(items)
    reasons = dict(zip(bad, [o.reason for o in outcomes[:-1]], strict=True))
    assert reasons == {"mismatched spines": "malformed-kern", "not kern": "malformed-kern",
                       "empty": "empty", "rhythm": "kern-error", "huge": "too-long",
                       "lone join": "malformed-kern"}
    assert isinstance(outcomes[-1], Sample)


def test_a_verovio_abort_costs_one_item_and_the_engine_restarts():
    engine = VerovioProcess(timeout_s=10)
    try:
        options = {"breaks": "auto"}
        assert engine.engrave(generated(1)[0].content, options).ok
        # fewer tokens than spines: Verovio's Humdrum importer calls abort()
        with pytest.raises(EngineCrash):
            engine.engrave("**kern\t**kern\n4c\n=1\t=1\n*-\t*-\n", options)
        assert engine.engrave(generated(1, seed=2)[0].content, options).ok
        assert engine.crashes == 1
    finally:
        engine.close()


def test_music_source_is_deterministic_per_seed():
    assert generated(5, seed=8) == generated(5, seed=8)
    assert generated(5, seed=8) != generated(5, seed=9)
    rng_pieces = {item.content for item in generated(40)}
    assert len(rng_pieces) == 40
