"""latex-table: varied generated tables whose target is the typeset tabular; user tables
with hostile content are rejected one by one."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from ocr2synth.pipelines.core.plan import sample_seed
from ocr2synth.renderers.base import Item, Sample
from ocr2synth.renderers.imaging import encode_image, ink_bbox
from ocr2synth.renderers.latex.table import LatexTableRenderer, lint_table
from ocr2synth.renderers.latex.table_source import GeneratedTables, TableFiles, split_tabulars

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def renderer():
    r = LatexTableRenderer({}, timeout_s=10)
    yield r
    r.close()


def items(count: int, offset: int = 0) -> list[Item]:
    source = GeneratedTables()
    return [source.item(sample_seed(7, "latex-table", k), k) for k in range(offset, offset + count)]


def test_generated_tables_vary_and_pass_the_lint():
    tables = [item.content for item in items(300)]
    assert all(lint_table(t) is None for t in tables)
    columns = {len(re.findall(r"[lcrp]", t.split("\n\\begin{tabular}")[-1].split("}")[1]))
               for t in tables if "p{" not in t}
    assert {2, 5, 10} <= columns
    for feature in [r"\multirow", r"\multicolumn", r"\toprule", r"\cmidrule", r"\hline",
                    r"\cline", "$", r"\caption*", r"\textbf", r"\%"]:
        assert sum(feature in t for t in tables) >= 5, feature
    assert len(set(tables)) == len(tables)


def test_samples_are_cropped_tables_whose_words_are_the_pdf_words(renderer):
    batch = items(30)
    out = renderer.render_batch(batch)
    assert all(isinstance(s, Sample) for s in out)
    for item, sample in zip(batch, out, strict=True):
        assert sample.target == item.content and sample.task == "format"
        margin = sample.meta["margin"]
        x0, y0, x1, y1 = ink_bbox(sample.image)
        assert (x0, y0) == (margin, margin)
        assert (sample.image.width - x1, sample.image.height - y1) == (margin, margin)
    # the words of the target's cells are the words typeset on its page, and only those
    style = renderer.style(batch[0])
    bodies = [renderer.body(i.content, style) for i in batch]
    with renderer.engine.typeset(renderer.preamble(style["font"]), bodies) as tex:
        for index, item in enumerate(batch):
            text = re.sub(r"\$[^$]*\$", " ", item.content)  # math glyphs are not words
            text = re.sub(r"\\(multirow|multicolumn)\{[^}]*\}\{[^}]*\}", " ", text)
            text = re.sub(r"\\(cmidrule\(lr\)|cline)\{[^}]*\}", " ", text)
            text = re.sub(r"\\(begin|end)\{tabular\}(\{[^\n]*)?", " ", text)
            text = re.sub(r"\\[A-Za-z]+\*?", " ", text)
            want = Counter(re.findall(r"[A-Za-z]{2,}", text))
            page = Counter(re.findall(r"[A-Za-z]{2,}", tex.pdf[tex.pages[index]].get_text()))
            assert not want - page, "a target word is missing from the image"
            # what the page has beyond the target is math: short symbol runs like "Pm", "sin"
            assert all(len(word) <= 3 for word in page - want), page - want


def test_an_item_renders_to_the_same_bytes_in_any_batch(renderer):
    batch = items(8)
    alone = renderer.render_batch(batch[3:4])[0]
    mixed = renderer.render_batch(list(reversed(batch)))[4]
    assert encode_image(alone.image, "png", 1, "auto") == encode_image(mixed.image, "png", 1,
                                                                        "auto")


def test_hostile_user_tables_are_rejected_and_the_rest_render(renderer, tmp_path):
    canary = Path("/tmp/ocr2synth-canary-table")
    canary.unlink(missing_ok=True)
    huge = tmp_path / "huge.tex"
    huge.write_text("\\begin{tabular}{c}\n" + "x \\\\\n" * 2_200_000 + "\\end{tabular}\n")
    assert huge.stat().st_size > 10 * 2**20
    (tmp_path / "user.tex").write_text((DATA / "tables" / "user.tex").read_text())
    source = TableFiles(tmp_path)
    assert source.size() == 9
    batch = [source.item(100 + k, k) for k in range(source.size())]
    out = renderer.render_batch(batch)
    reasons = [o.reason if not isinstance(o, Sample) else "ok" for o in out]
    assert reasons == ["too-long", "ok", "tex-error", "forbidden", "forbidden", "forbidden",
                       "unbalanced-braces", "ok", "not-a-table"]
    assert out[3].detail == r"forbidden: \input"
    assert "Undefined control sequence" in out[2].detail
    assert out[1].target.startswith("\\begin{tabular}{lr}")
    assert not canary.exists()


def test_split_tabulars_keeps_nesting_together():
    text = r"x \begin{tabular}{c} \begin{tabular}{c} a \end{tabular} \end{tabular} y"
    assert split_tabulars(text) == [text[2:-2]]
