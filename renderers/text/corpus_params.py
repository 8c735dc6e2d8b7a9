"""The parameters every corpus-reading page source shares (declared by each renderer's
`declare.py`), and the check of a --source corpus that runs before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocr2synth.renderers.params import ParamError, choice, flag, text

CONTENT = choice("content", "real", "real: prose of the Debian Reference (English, "
                 "Simplified Chinese) or the --source corpus; generated: the prose grammar",
                 ("real", "generated"))
ORDER = choice("order", "spread", "spread: a seeded permutation over the corpus, so any "
               "prefix covers it evenly; sequential: file order", ("spread", "sequential"))
LICENSE = text("license", "", "the licence of a --source corpus, for the dataset card")
COLUMN = text("column", "text", "the text column of a Parquet --source, the field of a "
              "JSONL one")
TEXT_FORMAT = choice("text_format", "plain", "how a Parquet or JSONL cell is read (tex: "
                     "prose, math and tables are extracted from LaTeX source)",
                     ("plain", "markdown", "tex"))
# What a renderer that takes pieces (formulas, tables) of a corpus reads.
SOURCE_PARAMS = (COLUMN, TEXT_FORMAT, ORDER, LICENSE)
CORPUS_PARAMS = (
    CONTENT,
    COLUMN,
    TEXT_FORMAT,
    ORDER,
    LICENSE,
    flag("mix", True, "mix generated display math, tables and lists among real paragraphs"),
)


def check_source(path: str | None, params: dict[str, Any]) -> None:
    """A Parquet or JSONL --source without the column named: one line, before work."""
    if not path:
        return
    from ocr2synth.renderers.text.corpus import CorpusError, check_column

    try:
        check_column(Path(path), str(params.get("column", "text")))
    except CorpusError as exc:
        raise ParamError(str(exc)) from exc
