"""Random and adversarial content: every item renders or becomes a reject with a reason;
nothing raises and nothing takes the renderer down."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocr2synth.renderers.base import Item, Reject, Sample
from ocr2synth.renderers.molecule.renderer import MoleculeRenderer
from ocr2synth.renderers.music.kern_source import GeneratedKern
from ocr2synth.renderers.music.renderer import MusicRenderer

SMILES_ALPHABET = "CNOSPFIBrcnos()[]=#+-@/\\%0123456789H. "
KERN_TOKENS = ["4c", "8d", "2e", "4r", ".", "=1", "==", "*-", "*^", "*v", "*x", "*clefG2",
               "*M3/4", "*k[f#]", "!comment", "**kern", "**text", "L", "J", "[4c", "4c]",
               "16ccc#L", "4.GG-", "q", "8r", "*", "!!!OTL: x"]


@pytest.fixture(scope="module")
def molecule_renderer():
    renderer = MoleculeRenderer({}, timeout_s=10)
    yield renderer
    renderer.close()


@pytest.fixture(scope="module")
def music_renderer():
    renderer = MusicRenderer({}, timeout_s=10)
    yield renderer
    renderer.close()


def check(outcome: Sample | Reject) -> None:
    if isinstance(outcome, Reject):
        assert outcome.reason and outcome.reason.replace("-", "").isalpha()
    else:
        assert outcome.target.strip() and outcome.image.size[0] > 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=SMILES_ALPHABET, max_size=80) | st.text(max_size=40))
def test_any_smiles_text_renders_or_is_rejected(molecule_renderer, text):
    outcome = molecule_renderer.render_batch([Item(0, 1, text)])
    assert len(outcome) == 1
    check(outcome[0])


@st.composite
def kern_documents(draw):
    spines = draw(st.integers(1, 3))
    lines = ["\t".join(["**kern"] * spines)]
    for _ in range(draw(st.integers(0, 12))):
        width = draw(st.sampled_from([spines, spines, spines, spines + 1, max(1, spines - 1)]))
        lines.append("\t".join(draw(st.sampled_from(KERN_TOKENS)) for _ in range(width)))
    if draw(st.booleans()):
        lines.append("\t".join(["*-"] * spines))
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kern_documents())
def test_any_kern_document_renders_or_is_rejected(music_renderer, text):
    outcomes = music_renderer.render_batch([Item(0, 1, text)])
    assert len(outcomes) == 1
    check(outcomes[0])


def test_music_renderer_still_works_after_the_fuzzing(music_renderer):
    item = GeneratedKern().item(123, 0)
    assert isinstance(music_renderer.render_one(item), Sample)
