"""The batched TeX engine: bad items are pinned and rejected, the rest of the batch is kept,
and TeX cannot reach outside its temporary folder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from ocr2synth.renderers.latex.engine import TexEngine
from ocr2synth.renderers.latex.formula import LatexFormulaRenderer

PREAMBLE = LatexFormulaRenderer.preamble("computer-modern")


def page(formula: str) -> str:
    return f"\\begin{{preview}}${formula}$\\end{{preview}}"


@pytest.fixture()
def engine():
    eng = TexEngine(timeout_s=3)
    yield eng
    eng.close()
    assert not eng.root.exists()


def test_bad_items_are_rejected_and_good_ones_keep_their_pages(engine):
    bodies = [page("x^2"), page(r"\undefinedcs"), page(r"\frac{a}{b"), page("y_1"),
              page("a}b"), page(r"\alpha + \beta")]
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert set(batch.pages) == {0, 3, 5}
        assert batch.failures[1] == "tex-error: Undefined control sequence."
        assert batch.failures[2].startswith("tex-error: Missing }")
        assert batch.failures[4].startswith("tex-error:")
        texts = [batch.pdf[batch.pages[i]].get_text().strip() for i in (0, 3, 5)]
    assert texts[0].startswith("x") and texts[1].startswith("y") and "α" in texts[2]


def test_an_endless_loop_times_out_alone(engine):
    bodies = [page("a"), page(r"\loop\iftrue\repeat"), page("b"), page("c")]
    started = time.monotonic()
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert batch.failures == {1: "timeout: TeX ran past 3s"}
        assert sorted(batch.pages) == [0, 2, 3]
        assert [batch.pdf[batch.pages[i]].get_text().strip() for i in (0, 2, 3)] == list("abc")
    assert time.monotonic() - started < 3 + 0.25 * 4 + 10


def test_tex_cannot_read_or_write_outside_its_folder(engine, tmp_path: Path):
    secret = tmp_path / "secret.tex"
    secret.write_text("TOPSECRET")
    target = tmp_path / "written.txt"
    canary = tmp_path / "shell-ran"
    bodies = [
        page(f"\\input{{{secret}}}"),
        f"\\immediate\\openout5={target} \\immediate\\write5{{x}}\\immediate\\closeout5 "
        + page("q"),
        f"\\immediate\\write18{{touch {canary}}}" + page("z"),
        page("ok"),
    ]
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert "not found" in batch.failures[0]
        assert "can't write" in batch.failures[1]
        text = "".join(batch.pdf[i].get_text() for i in range(batch.pdf.page_count))
    assert "TOPSECRET" not in text
    assert not target.exists()
    assert not canary.exists()


def test_batch_folders_are_removed_after_each_batch(engine):
    with engine.typeset(PREAMBLE, [page("x")]) as batch:
        assert batch.pdf.page_count == 1
    assert [p.name for p in engine.root.iterdir()] == ["formats"]


def test_a_dead_engines_temp_folder_is_removed_by_the_next_engine(tmp_path: Path):
    import subprocess
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = Path(tempfile.gettempdir()) / f"ocr2synth-tex-{dead.pid}-abc"
    orphan.mkdir()
    (orphan / "left.tex").write_text("x")
    engine = TexEngine(timeout_s=3)
    try:
        assert not orphan.exists()
        assert engine.root.exists()
    finally:
        engine.close()


def test_multipage_items_own_whole_page_ranges(engine):
    # A body may fill several pages; each item starts on a fresh page, and a broken item
    # between two long ones costs only itself.
    preamble = "\\documentclass{article}\n\\pagestyle{empty}\n"
    long = "\\section*{Long}" + " ".join(f"Para{n} text.\\par" for n in range(120))
    bodies = ["One", long, "\\undefinedcs", "Three", long]
    with engine.typeset(preamble, bodies, multipage=True) as batch:
        assert batch.failures == {2: "tex-error: Undefined control sequence."}
        ranges = batch.page_ranges
        assert len(ranges[0]) == 1 and len(ranges[3]) == 1 and len(ranges[1]) >= 2
        assert ranges[1] == range(1, 1 + len(ranges[1]))
        assert ranges[4].stop == batch.pdf.page_count
        assert batch.pdf[ranges[0].start].get_text().strip() == "One"
        assert batch.pdf[ranges[3].start].get_text().strip() == "Three"
        assert "Para119" in batch.pdf[ranges[4][-1]].get_text()
        assert "Para0 " in batch.pdf[ranges[4][0]].get_text() + " "


def test_tex_cannot_reach_parent_folders_or_read_with_openin(engine, tmp_path: Path):
    # relative paths up the tree and \openin/\read, besides \input of an absolute path
    bodies = [
        "\\immediate\\openout5=../escaped.tex \\immediate\\write5{x}\\immediate\\closeout5 "
        + page("a"),
        "\\immediate\\openout6=../../../../../../tmp/ocr2synth-escaped.tex "
        "\\immediate\\write6{x}\\immediate\\closeout6 " + page("b"),
        "\\newread\\r \\immediate\\openin\\r=/etc/passwd "
        + page(r"\mbox{\ifeof\r NOREAD\else\read\r to\got GOT\got\fi}"),
        page("\\input{../../../../../../etc/hostname}"),
    ]
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert "can't write" in batch.failures[0] and "can't write" in batch.failures[1]
        assert "not found" in batch.failures[3]
        text = batch.pdf[batch.pages[2]].get_text()
    assert "NOREAD" in text and "GOT" not in text and "root" not in text
    assert not (engine.root / "escaped.tex").exists()
    assert not Path("/tmp/ocr2synth-escaped.tex").exists()
    assert [p.name for p in engine.root.iterdir()] == ["formats"]


def test_a_killed_tex_run_leaves_no_temp_folder_and_a_tex_killer_is_poison(
    engine, tmp_path: Path, monkeypatch
):
    from ocr2synth.renderers.faults import KILL_TEX_ENV

    monkeypatch.setenv(KILL_TEX_ENV, "KILLTEX")  # TeX is killed -9 inside this item, always
    bodies = [page("a"), page(r"\mathrm{KILLTEX}"), page("c")]
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert batch.failures == {1: "poison: TeX was killed 2 times typesetting this item"}
        assert batch.runs == 3  # two killed runs, then one without the item
        assert [batch.pdf[batch.pages[i]].get_text().strip() for i in (0, 2)] == ["a", "c"]
    assert [p.name for p in engine.root.iterdir()] == ["formats"]
    monkeypatch.setenv(KILL_TEX_ENV, f"KILLTEX:1:{tmp_path / 'tokens'}")  # killed once
    with engine.typeset(PREAMBLE, bodies) as batch:
        assert batch.failures == {} and batch.runs == 2 and batch.pdf.page_count == 3
    assert [p.name for p in engine.root.iterdir()] == ["formats"]


_LOOPING_CHILD = """
import sys
from ocr2synth.renderers.latex.engine import TexEngine
from ocr2synth.renderers.latex.formula import LatexFormulaRenderer
engine = TexEngine(timeout_s=600)
with engine.typeset(LatexFormulaRenderer.preamble("computer-modern"), [sys.argv[1]]):
    pass
"""


def _looping_tex(parent: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in parent.children(recursive=True):
        try:  # a short-lived child may exit between the listing and these reads
            cmd, name = child.cmdline(), child.name()
        except psutil.Error:
            continue
        if name == "pdflatex" and any(arg.startswith("-fmt=") for arg in cmd):
            found.append(child)
    return found


def test_a_looping_tex_dies_with_the_process_that_started_it():
    """The deadline lives in the worker: when the worker is killed, its TeX must not go on
    looping as an orphan."""
    proc = subprocess.Popen([sys.executable, "-c", _LOOPING_CHILD, page(r"\loop\iftrue\repeat")],
                            cwd=Path(__file__).parents[1])
    try:
        deadline = time.monotonic() + 60
        tex = []
        while not tex and proc.poll() is None and time.monotonic() < deadline:
            tex = _looping_tex(psutil.Process(proc.pid))
            time.sleep(0.05)
        assert tex, "the looping TeX run never started"
        proc.kill()
        proc.wait()
        gone, alive = psutil.wait_procs(tex, timeout=10)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()
