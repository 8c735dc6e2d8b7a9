"""Corpus readers, spreading and real prose: Parquet, JSONL and folders read one document
at a time; hostile cells become rejects with reasons; a prefix of samples spreads over the
corpus; the Debian Reference gives real sentences with their provenance."""

from __future__ import annotations

import html as html_module
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pymupdf
import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.pipelines.core.recipe import RecipeError, parse_recipe
from ocr2synth.renderers.registry import REGISTRY, get_spec
from ocr2synth.renderers.text import corpus as corpus_module
from ocr2synth.renderers.text.corpus import CorpusError, open_corpus
from ocr2synth.renderers.text.spread import Permutation, Rounds
from ocr2synth.renderers.text.tex_prose import tex_blocks

pytestmark = pytest.mark.unit

PROSE = ("The quick brown fox jumps over the lazy dog near the river bank. "
         "It then rests under a tall tree until the evening comes.")


def seed_of(j: int) -> int:
    return sample_seed(7, "entry", j)


def _parquet(path: Path, texts: list, column: str = "text", row_group: int = 3,
             kind: pa.DataType | None = None) -> Path:
    table = pa.table({column: pa.array(texts, type=kind or pa.string()),
                      "id": list(range(len(texts)))})
    pq.write_table(table, path, row_group_size=row_group)
    return path


def test_parquet_rows_are_read_by_row_group(tmp_path):
    texts = [f"Document number {i}. {PROSE}" for i in range(10)]
    corpus = open_corpus(_parquet(tmp_path / "c.parquet", texts), "text")
    assert len(corpus) == 10
    assert [corpus.doc(i).text for i in (9, 0, 4, 5)] == [texts[i] for i in (9, 0, 4, 5)]
    assert corpus.doc(4).position == "row 4"
    # one row group decoded at a time: the cache holds the group of the last row read
    assert len(corpus._cached[1]) == 3


def test_jsonl_offsets_index_every_line(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "BLOCK", 64)  # many blocks over a small file
    lines = [json.dumps({"body": f"line {i} " + "x" * (i % 7 * 20)}) for i in range(300)]
    (tmp_path / "c.jsonl").write_text("\n".join(lines))  # no final newline
    corpus = open_corpus(tmp_path, "body")
    assert len(corpus) == 300
    assert all(corpus.doc(i).text.startswith(f"line {i} ") for i in range(300))
    assert len(corpus._blocks) > 1


def test_missing_column_is_one_line_before_work(tmp_path):
    path = _parquet(tmp_path / "c.parquet", [PROSE], column="body")
    raw = {"name": "t", "seed": 0, "entries": [
        {"renderer": "latex-page", "count": 3, "source": str(path),
         "params": {"column": "text"}}]}
    with pytest.raises(RecipeError) as error:
        parse_recipe(raw, None, set(REGISTRY))
    message = str(error.value)
    assert "\n" not in message and "'text'" in message and "body" in message
    raw["entries"][0]["params"]["column"] = "body"
    parse_recipe(raw, None, set(REGISTRY))  # the right column passes
    (tmp_path / "c.parquet").unlink()
    (tmp_path / "d.jsonl").write_text(json.dumps({"body": PROSE}) + "\n")
    raw["entries"][0]["source"] = str(tmp_path)
    raw["entries"][0]["params"]["column"] = "text"
    with pytest.raises(RecipeError, match="no field 'text'"):
        parse_recipe(raw, None, set(REGISTRY))


def _passages(renderer: str, source: str, count: int, **params):
    spec = get_spec(renderer)
    src = spec.make_source(source, params)
    return [src.item_at(k, seed_of) for k in range(count)]


def test_hostile_cells_are_rejects_with_reasons(tmp_path):
    huge = "word " * (11 << 20)  # 55 MB
    cells = [None, huge, "", "<script>alert(1)</script><p>" + PROSE + "</p>",
             "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd " * 40, "a\x00b" * 10]
    path = _parquet(tmp_path / "c.parquet", cells, row_group=2)
    items = _passages("latex-page", str(path), len(cells), order="sequential", mix=False)
    reasons = [it.content.get("error", "").partition(":")[0] for it in items]
    assert reasons == ["empty", "too-long", "empty", "", "unsupported-script", "binary"]
    page = items[3].content["blocks"]
    text = " ".join(t for b in page for _, t in b["parts"])
    assert "script" not in text and "alert" not in text and "<" not in text
    assert text.startswith("The quick brown fox")
    assert items[3].meta["position"].startswith("row 3")


def test_invalid_utf8_and_bad_json_lines(tmp_path):
    data = (json.dumps({"text": PROSE}).encode() + b"\n" + b'{"text": "\xff\xfe bad"}\n'
            + b"not json\n" + json.dumps({"other": 1}).encode() + b"\n"
            + json.dumps({"text": 5}).encode() + b"\n")
    (tmp_path / "c.jsonl").write_bytes(data)
    items = _passages("markdown-page", str(tmp_path), 5, order="sequential", pages=1)
    reasons = [it.content.get("error", "").partition(":")[0] for it in items]
    assert reasons == ["", "bad-encoding", "bad-json", "missing-field", "not-text"]
    # binary Parquet cells: decoded, or a reject
    path = _parquet(tmp_path / "b.parquet", [PROSE.encode(), b"\xff\xfe\x00"],
                    kind=pa.binary())
    corpus = open_corpus(path)
    assert corpus.doc(0).text == PROSE and corpus.doc(1).error.startswith("bad-encoding")


def test_non_text_column_and_no_files(tmp_path):
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "n.parquet")
    with pytest.raises(CorpusError, match="not text"):
        open_corpus(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no Parquet"):
        open_corpus(tmp_path / "empty")


def test_permutation_is_a_bijection_that_spreads():
    for n in (1, 2, 7, 60, 1000, 4096):
        perm = Permutation(n, 123)
        assert sorted(perm(k) for k in range(n)) == list(range(n))
    perm = Permutation(1000, 5)
    first = sorted(perm(k) for k in range(10))
    assert max(b - a for a, b in zip([0, *first], [*first, 1000], strict=True)) < 250
    assert [Permutation(9, 5, sequential=True)(k) for k in range(9)] == list(range(9))


def test_rounds_cover_every_file_first_and_every_page_once():
    counts = [1, 500, 3, 3, 40, 2, 1, 900]
    rounds = Rounds(counts, 11)
    units = [rounds(k) for k in range(sum(counts))]
    assert len(set(units)) == sum(counts)  # a permutation of (file, page)
    assert {f for f, _ in units[:len(counts)]} == set(range(len(counts)))
    assert all(0 <= page < counts[f] for f, page in units)
    assert Rounds(counts, 11, sequential=True)(2) == (1, 1)


def test_pdf_folder_spreads_over_files(tmp_path):
    for i in range(60):
        doc = pymupdf.open()
        for p in range(1 + (i * 7) % 12):
            doc.new_page().insert_text((72, 72), f"file {i} page {p}")
        doc.save(tmp_path / f"f{i:02d}.pdf")
    spread = _passages("pdf-page", str(tmp_path), 200)
    sequential = _passages("pdf-page", str(tmp_path), 200, order="sequential")
    assert len({it.content["path"] for it in spread}) == 60
    assert len({it.content["path"] for it in sequential}) < 50
    assert len({(it.content["path"], it.content["page"]) for it in spread}) == 200
    assert spread[0].meta["position"].startswith("page ")
    again = _passages("pdf-page", str(tmp_path), 5)
    assert [it.content for it in again] == [it.content for it in spread[:5]]


def test_corpus_documents_spread_and_show_windows(tmp_path):
    texts = [f"Story {i}.\n\n" + "\n\n".join([PROSE] * 60) for i in range(50)]
    path = _parquet(tmp_path / "c.parquet", texts, row_group=10)
    items = _passages("latex-page", str(path), 120, mix=False)
    rows = [int(it.meta["position"].split()[1].rstrip(",")) for it in items]
    assert sorted(rows[:50]) == list(range(50))  # the first pass reads every document once
    # the second pass shows each document's next window
    first = next(it for it in items[:50] if it.meta["position"].startswith("row 0,"))
    second = next(it for it in items[50:100] if it.meta["position"].startswith("row 0,"))
    assert first.meta["position"] != second.meta["position"]


def test_debian_reference_gives_real_prose_with_provenance():
    items = _passages("latex-page", None, 40, zh=0.5)
    langs = {it.meta["lang"] for it in items}
    assert langs == {"en", "zh"}
    for item in items:
        meta = item.meta
        assert meta["corpus"].startswith("debian-reference-")
        assert meta["license"] == "GPL-2+" and re.match(r"(pr|ch|ap)\w*\.", meta["source"])
        html = re.sub(r"\s+", " ", html_module.unescape(re.sub(
            r"<[^>]+>", "", (Path("/usr/share/debian-reference") / meta["source"]).read_text())))
        paragraphs = [t for b in item.content["blocks"] if b["kind"] == "para"
                      for k, t in b["parts"] if k == "t"]
        assert paragraphs
        # a real sentence: its opening is in the chapter it names
        def plain(text: str) -> str:  # quotes as typeset_quotes may have curled them
            return re.sub("[\u201c\u201d]", '"', text.replace("\u2019", "'").replace(
                "\u2018", "`").replace("\u00a0", " "))

        assert plain(paragraphs[0])[:20] in plain(html)
    assert len({(it.meta["source"], it.meta["position"]) for it in items}) == 40
    # markdown-page reads the same prose as markdown
    page = _passages("markdown-page", None, 1)[0]
    assert page.meta["corpus"].startswith("debian-reference-") and page.content["blocks"]


def test_tex_sources_give_prose_and_math_never_raw_macros():
    tex = r"""\documentclass{article}\usepackage{amsmath}
\newcommand{\R}{\mathbb{R}}
\begin{document}
\section{Intro}\label{s}
We study \emph{sparse} maps $f\colon X \to Y$ as in~\cite{k}. % a comment
See Table~\ref{t}.
\begin{table}\begin{tabular}{ll}a & b\end{tabular}\end{table}

\begin{equation}\label{e} E = mc^2 \end{equation}
\foo{hidden} text with \unknownmacro[opt]{arg} left.
\end{document}"""
    blocks = tex_blocks(tex)
    kinds = [b["kind"] for b in blocks]
    assert kinds == ["heading", "para", "display", "para"]
    assert blocks[0]["text"] == "Intro" and blocks[2]["math"] == "E = mc^2"
    first = blocks[1]["parts"]
    assert first[0] == ["t", "We study sparse maps "] and first[1] == ["m", "f\\colon X \\to Y"]
    text = " ".join(t for b in blocks for k, t in b.get("parts", []) if k == "t")
    assert "\\" not in text and "{" not in text and "hidden" not in text
    assert "comment" not in text and "tabular" not in text


def test_formulas_and_tables_from_corpora(tmp_path):
    tex = (r"\begin{document} Let $a^2 + b^2 = c^2$ hold, and $x$ too."
           "\n\\[ \\int_0^1 f(x)\\,dx \\]\n\\begin{align} a &= b \\\\ c &= d \\end{align}"
           "\n\\end{document}")
    (tmp_path / "paper.tex").write_text(tex)
    items = _passages("latex-formula", str(tmp_path), 2, order="sequential")
    # reading order; `$x$` is too short to be a sample, aligned math is left out
    assert [it.content for it in items] == ["a^2 + b^2 = c^2", "\\int_0^1 f(x)\\,dx"]
    assert items[1].meta["position"].endswith("formula 1")
    table = "\\begin{tabular}{ll}\na & b \\\\\n\\end{tabular}"
    path = _parquet(tmp_path / "t.parquet", [f"Intro.\n{table}\nEnd.", "no table here"])
    spec = get_spec("latex-table")
    source = spec.make_source(str(path), {"order": "sequential"})
    assert source.item_at(0, seed_of).content == table
    with pytest.raises(ValueError, match="empty: no table"):
        source.item_at(1, seed_of)  # the worker's `source-error` reject, with the reason


def test_latex_page_prose_is_typeset_as_written():
    from ocr2synth.renderers.text.passages import keep_breakable, typeset_quotes

    blocks = [{"kind": "para", "parts": [["t", 'Say "hi" to Bob\'s `cat` --- run --help.']]},
              {"kind": "para", "parts": [["t", "See https://example.org/a/very/long/path now."]]},
              {"kind": "display", "math": "x'"}]
    kept = keep_breakable(blocks)
    assert [b["kind"] for b in kept] == ["para", "display"]  # the URL paragraph left out
    quoted = typeset_quotes(kept)
    assert quoted[0]["parts"][0][1] == ("Say \u201chi\u201d to Bob\u2019s \u2018cat\u2018 "
                                        "\u2014 run \u2013help.")
    assert quoted[1]["math"] == "x'"  # math is TeX, never re-quoted


def test_ordered_items_are_renumbered_after_filtering():
    from ocr2synth.renderers.text.passages import renumber

    item = {"kind": "item", "ordered": True, "parts": [["t", "x"]]}
    blocks = [{**item, "number": 1}, {**item, "number": 3}, {"kind": "display", "math": "y"},
              {**item, "number": 4}, {"kind": "para", "parts": [["t", "z"]]},
              {**item, "number": 9}]
    assert [b.get("number") for b in renumber(blocks)] == [1, 2, None, 3, None, 1]


@pytest.mark.parametrize("renderer", ["latex-page", "pdf-page"])
def test_real_items_are_a_pure_function_of_seed_and_k(renderer):
    """A stage-3 task keeps a base sample's (seed, k) and renders it again from them."""
    source = get_spec(renderer).make_source(None, {})
    for k in (0, 5, 123):
        through_entry = source.item_at(k, seed_of)
        alone = source.item(seed_of(k), k)
        assert alone.content == through_entry.content and alone.meta == through_entry.meta
