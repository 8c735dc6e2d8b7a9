"""Random and adversarial `--source` files for the LaTeX and markdown renderers: every item
renders or becomes a reject with a specific reason, and the renderer never raises.

Each example is a whole source file, read by the renderer's own source reader and rendered
as one batch, so a TeX run (or a browser page) serves many items and the example counts
stay small.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocr2synth.renderers.base import Reject, Sample
from ocr2synth.renderers.registry import get_spec

SETTINGS = settings(max_examples=5, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
REASON = re.compile(r"[a-z][a-z0-9-]*")

# Pieces of TeX that are fine alone and hostile in combination, or hostile alone.
TEX_TOKENS = [
    "x", "y_1", "2", "+", "=", "\\alpha", "\\frac{a}{b}", "\\sqrt{x}", "^", "_", "{", "}",
    "\\{", "\\}", "\\\\", "&", "#", "$", "%", "~", "\\left(", "\\right)", "\\right.",
    "\\begin{matrix}", "\\end{matrix}", "\\begin{array}{c}", "\\end{array}", "\\end{preview}",
    "\\end{document}", "\\begin{document}", "\\par", "\\(", "\\)", "\\[", "\\]",
    "\\input{/etc/passwd}", "\\write18{touch /tmp/x}", "\\openout1=x", "\\def\\x{y}",
    "\\csname relax\\endcsname", "\\catcode`\\^=13", "\\mathrm{abc}", "\\text{é ü}", "中文",
    "\\undefinedmacro", "\\hbox to 100cm{x}", "\\rule{50cm}{1pt}", "\\\\[-100cm]", "^^41",
    "\\makeatletter", "\\@gobble", "\\\\\\\\", "\\verb|x|", "\\char`\\{", "\u200b", "\x00",
    "\\scalebox{50}{x}", "\\phantom{x}", "\\,", "\\!", "\\quad", "\\hspace{-5cm}",
]


def tex_text(max_tokens: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(TEX_TOKENS) | st.text(max_size=6), max_size=max_tokens
                    ).map(" ".join)


def check(outcomes: list[Sample | Reject], count: int) -> None:
    assert len(outcomes) == count
    for outcome in outcomes:
        if isinstance(outcome, Reject):
            assert REASON.fullmatch(outcome.reason), outcome
            # the worker's catch-all would mean the renderer raised for one item
            assert outcome.reason not in ("render-error", "source-error"), outcome
        else:
            assert isinstance(outcome, Sample)
            assert outcome.target.strip()
            assert min(outcome.image.size) > 1


@pytest.fixture(scope="module")
def renderers():
    made: dict = {}

    def get(name: str):
        if name not in made:
            made[name] = get_spec(name).make_renderer({}, 5)
        return made[name]

    yield get
    for renderer in made.values():
        renderer.close()


def render_source(renderers, name: str, files: dict[str, str | bytes]) -> None:
    """Write `files` to a fresh folder, read it with the renderer's source, render one
    batch. A folder the source finds nothing in is refused with a one-line error."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        for file, text in files.items():
            data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
            (folder / file).write_bytes(data)
        path = folder / next(iter(files)) if len(files) == 1 else folder
        try:
            source = get_spec(name).make_source(str(path), {})
        except ValueError as exc:
            assert "\n" not in str(exc) and str(exc)
            return
        items = [source.item(1000 + k, k) for k in range(min(source.size(), 12))]
        check(renderers(name).render_batch(items), len(items))
    finally:
        shutil.rmtree(folder)


@SETTINGS
@given(st.lists(tex_text(8).map(lambda s: s.replace("\n", " ")), min_size=1, max_size=10))
def test_any_formula_file_renders_or_is_rejected(renderers, lines):
    render_source(renderers, "latex-formula", {"f.txt": "\n".join(lines) + "\n"})


@st.composite
def tabular_files(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        spec = draw(st.sampled_from(["ll", "l|c|r", "|p{2cm}|c", "@{}lr@{}", "x", "", "{l",
                                     "c" * 40]))
        rows = [" & ".join(draw(st.lists(tex_text(3), min_size=1, max_size=4)))
                for _ in range(draw(st.integers(0, 5)))]
        body = " \\\\\n".join(rows)
        rule = draw(st.sampled_from(["\\hline\n", "\\toprule\n", "\\cline{1-9}\n", ""]))
        end = draw(st.sampled_from(["\\end{tabular}", "\\end{tabular}", "", "\\end{table}"]))
        parts.append(f"\\begin{{tabular}}{{{spec}}}\n{rule}{body}\n{end}")
    return draw(st.sampled_from(["", "\\documentclass{article}\n", "%comment\n"])) + \
        "\n\n".join(parts)


@SETTINGS
@given(tabular_files())
def test_any_table_file_renders_or_is_rejected(renderers, text):
    render_source(renderers, "latex-table", {"t.tex": text})


TIKZ_COMMANDS = [
    "\\draw (0,0) -- (1,1);", "\\draw[thick,red] (0,0) circle (1);", "\\fill (1,0) circle (2pt);",
    "\\node at (0,1) {A};", "\\node[above] at (2,2) {$x^2$};", "\\draw (0,0) -- (1e6,0);",
    "\\foreach \\i in {1,...,100000} {\\draw (\\i,0) -- (\\i,1);}", "\\draw (0,0) -- ;",
    "\\pgfmathsetmacro{\\x}{1/0}", "\\draw (0,0) rectangle (nan,1);", "\\node {};",
    "\\draw plot[domain=0:1] (\\x,{ln(\\x)});", "\\draw (a) -- (b);", "\\coordinate (a) at (1,1);",
    "\\draw (0,0) arc (0:90:1);", "\\input{/etc/passwd}", "\\end{tikzpicture}", "{", "}",
]


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(TIKZ_COMMANDS) | tex_text(3), max_size=6),
                min_size=1, max_size=4))
def test_any_tikz_file_renders_or_is_rejected(renderers, pictures):
    text = "\n".join("\\begin{tikzpicture}\n" + "\n".join(cmds) + "\n\\end{tikzpicture}"
                     for cmds in pictures)
    render_source(renderers, "tikz", {"p.tex": text})


MD_PIECES = [
    "# Heading", "## Sub *heading*", "Plain words on the page.", "**bold** and _it_",
    "- item one\n- item two", "1. first\n2. second", "| a | b |\n|---|---|\n| 1 | 2 |",
    "| broken | table\n|---", "\\(x^2\\)", "\\[\\frac{a}{b}\\]", "$$\n\\int_0^1 f\n$$",
    "$$ unclosed", "\\(\\undefined{x}\\)", "\\begin{tabular}{ll}a & b\\end{tabular}",
    "```python\nprint(1)\n```", "> quote", "[^1] note\n\n[^1]: the note", "<b>html</b>",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](javascript:x)",
    "中文段落。", "مرحبا بالعالم", "\u202eRTL override", "word" * 300, "\\", "`", "***",
    "![img](/etc/passwd)", "&#x3C;script&#x3E;", "\\begin{document}", "~~~", "<!-- c -->",
]


@st.composite
def markdown_files(draw) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    for n in range(draw(st.integers(1, 3))):
        blocks = draw(st.lists(st.sampled_from(MD_PIECES) | st.text(max_size=40), max_size=8))
        files[f"d{n}.md"] = "\n\n".join(blocks)
    if draw(st.booleans()):
        files["bad.mmd"] = b"\xff\xfe not utf-8 \xc3"
    return files


@pytest.mark.parametrize("name", ["markdown-page", "latex-page"])
@SETTINGS
@given(files=markdown_files())
def test_any_markdown_folder_renders_or_is_rejected(renderers, name, files):
    render_source(renderers, name, files)
