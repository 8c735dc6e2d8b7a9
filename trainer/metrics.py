"""GOT's OCR metrics as GOT-OCR2.0's evaluation scripts define them, with no downloads.

GOT scores each (prediction, ground truth) pair with `nougat_per_metrics` in
GOT/eval/pyevaltools/eval_ocr.py and reports, per benchmark, the mean over the pairs kept:

- tokens: when either text has a Chinese character (U+4E00-U+9FA5) both are cut with
  jieba (`jieba.lcut`: default dictionary, HMM on; its spaces are tokens too); otherwise
  both are split on whitespace. GOT's scene-text script (eval_ocr_scene.py) uses single
  characters for every language instead: `unit="char"`.
- edit distance: character Levenshtein distance (nltk's `edit_distance`) divided by the
  longer text's length.
- precision, recall, F1: over the *sets* of tokens, as nltk.metrics' `precision`,
  `recall` and `f_measure` compute them (a repeated word counts once).
- BLEU: nltk's `sentence_bleu` with one reference: BLEU-4, uniform weights, brevity
  penalty, no smoothing. A pair sharing no n-gram of some order scores practically 0
  (nltk keeps a tiny positive number, about 1e-77 or less, not exactly 0).
- METEOR: nltk's `meteor_score`: exact, then Porter-stem, then WordNet-synonym alignment
  (lower-cased), alpha 0.9, beta 3, gamma 0.5, with WordNet 3.0 read from Debian's
  `wordnet-base` files (/usr/share/wordnet) rather than nltk's downloader.
- a pair where either side has no tokens (an empty prediction, say) is dropped, not
  scored: GOT skips empty texts (and would crash on whitespace-only ones).

GOT's scripts call `nougat_per_metrics(label, answer)` although its parameters are
`(pred, gt)`: the truth is scored as the hypothesis and the model's output as the
reference. GOT's published "precision" is therefore the recall defined above (and the
other way round), and its BLEU and METEOR, which are not symmetric, use the model's output
as the reference. `got_compat=True` calls the same way round to reproduce GOT's numbers;
the default scores the prediction against the truth. Edit distance and F1 are symmetric.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

NAMES = ("edit_distance", "f1", "precision", "recall", "bleu", "meteor")

Unit = Literal["word", "char"]

# GOT's test for Chinese text (contain_chinese_string in its eval scripts).
_CHINESE = re.compile(r"[\u4e00-\u9fa5]")

# Where Debian's wordnet-base package puts WordNet 3.0's database files.
WORDNET_DIR = "/usr/share/wordnet"
WORDNET_ENV = "OCR2SYNTH_WORDNET"

# WordNet's lexicographer files, numbered as in lexnames(5WN). nltk's reader needs them in a
# `lexnames` file, which Debian does not ship (WordNet's C library has them built in).
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food "
    "noun.group noun.location noun.motive noun.object noun.person noun.phenomenon "
    "noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape "
    "noun.state noun.substance noun.time verb.body verb.change verb.cognition "
    "verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative "
    "verb.weather adj.ppl"
).split()
_SYNTACTIC_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


class WordNetMissing(ValueError):
    """METEOR needs WordNet's files; they come from a Debian package, never a download.

    A ValueError, so that the CLI reports it in one line (exit status 2)."""


def has_chinese(text: str) -> bool:
    return bool(_CHINESE.search(text))


def tokens(pred: str, ref: str, unit: Unit = "word") -> tuple[list[str], list[str]]:
    """Both texts cut the same way: jieba when either has Chinese, else whitespace."""
    if unit == "char":
        return list(pred), list(ref)
    if has_chinese(pred) or has_chinese(ref):
        import jieba

        jieba.setLogLevel(logging.WARNING)  # not its "Building prefix dict" notes per run
        return jieba.lcut(pred), jieba.lcut(ref)
    return pred.split(), ref.split()


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Insertions, deletions and substitutions, each costing 1 (nltk's `edit_distance`).

    Bit-parallel (Myers 1999, in Hyyro's form for whole-string distance): one column of
    the DP table's vertical differences is kept as bits of a Python int, so a pair of
    4,000-token pages takes milliseconds where the cell-by-cell table takes minutes.
    """
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    match: dict[Hashable, int] = {}  # per symbol: the positions of b where it occurs
    for i, c in enumerate(b):
        match[c] = match.get(c, 0) | (1 << i)
    full, last = (1 << m) - 1, 1 << (m - 1)
    plus, minus, dist = full, 0, m  # vertical +1/-1 differences; D[len(b)][j]
    for c in a:
        eq = match.get(c, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        h_plus = minus | (~(xh | plus) & full)
        h_minus = plus & xh
        if h_plus & last:
            dist += 1
        elif h_minus & last:
            dist -= 1
        # Row 0 of the table grows by 1 per column: shift a +1 in at the bottom.
        h_plus = ((h_plus << 1) | 1) & full
        h_minus = (h_minus << 1) & full
        plus = h_minus | (~(xv | h_plus) & full)
        minus = h_plus & xv
    return dist


def normalized_edit_distance(pred: str, ref: str) -> float:
    """0 for identical strings, 1 for nothing in common (or one of them empty)."""
    longest = max(len(pred), len(ref))
    return levenshtein(pred, ref) / longest if longest else 0.0


def precision_recall_f1(pred: Iterable[str], ref: Iterable[str]) -> tuple[float, float, float]:
    """Set overlap: precision |P & R| / |P|, recall |P & R| / |R|, F1 their harmonic mean.

    Either set empty: all 0 (nltk returns None there; such pairs are dropped before this).
    """
    p, r = set(pred), set(ref)
    common = len(p & r)
    if not p or not r or not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / len(p), common / len(r)
    return precision, recall, 2 / (1 / precision + 1 / recall)


def bleu(pred: list[str], ref: list[str]) -> float:
    """nltk's sentence BLEU-4 of `pred` against the one reference `ref`, unsmoothed."""
    from nltk.translate.bleu_score import sentence_bleu

    with warnings.catch_warnings():
        # nltk warns on every pair missing some n-gram order; the score says it already.
        warnings.simplefilter("ignore")
        return float(sentence_bleu([ref], pred))


def _debian_wordnet_reader() -> type:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class DebianWordNet(WordNetCorpusReader):
        """nltk's WordNet reader on Debian's files: `lexnames` supplied from lexnames(5WN),
        and no mapping to other WordNet versions (only the multilingual OMW data needs it,
        and it would look for nltk's downloaded copy)."""

        def open(self, file: str) -> Any:
            if file == "lexnames":
                return io.StringIO("".join(
                    f"{i:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}\n"
                    for i, name in enumerate(_LEXNAMES)))
            return super().open(file)

        def map_wn(self, version: str = "wordnet") -> None:
            return None

    return DebianWordNet


@functools.cache
def wordnet(root: str | None = None) -> Any:
    """WordNet 3.0 from `root`, $OCR2SYNTH_WORDNET or Debian's /usr/share/wordnet."""
    folder = Path(root or os.environ.get(WORDNET_ENV) or WORDNET_DIR)
    if not (folder / "data.noun").is_file():
        raise WordNetMissing(
            f"METEOR needs WordNet's database files, not found in {folder}: install Debian's "
            f"`wordnet-base` package (apt-get install wordnet-base, or `make setup`), or "
            f"point {WORDNET_ENV} at a folder with WordNet 3.0's data.* and index.* files")
    import nltk.data

    # nltk reads corpora only under folders on its data path (its path sandbox).
    if str(folder) not in nltk.data.path:
        nltk.data.path.append(str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        return _debian_wordnet_reader()(str(folder), None)


def meteor(pred: list[str], ref: list[str]) -> float:
    """nltk's METEOR of `pred` against the one reference `ref` (stems and synonyms)."""
    from nltk.translate.meteor_score import meteor_score

    return float(meteor_score([ref], pred, wordnet=wordnet()))


@dataclass(frozen=True)
class Scores:
    edit_distance: float
    f1: float
    precision: float
    recall: float
    bleu: float
    meteor: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def score(pred: str, ref: str, got_compat: bool = False, unit: Unit = "word") -> Scores | None:
    """One pair's metrics, or None where GOT drops the pair (a side with no tokens)."""
    if got_compat:
        pred, ref = ref, pred  # GOT's nougat_per_metrics(label, answer); see the top
    hyp, refs = tokens(pred, ref, unit)
    if not hyp or not refs:
        return None
    precision, recall, f1 = precision_recall_f1(hyp, refs)
    return Scores(normalized_edit_distance(pred, ref), f1, precision, recall, bleu(hyp, refs),
                  meteor(hyp, refs))


# GOT's eval_ocr_format.py scores a formatted page three times: whole (stripped), its math,
# its tables. Inline `\( \)` and display `\[ \]` math stay on one line (no DOTALL) and
# end at the first delimiter not escaped; a tabular runs to its end or the text's end.
_INLINE_MATH = re.compile(r"\\\((.*?)(?<!\\)\\\)")
_DISPLAY_MATH = re.compile(r"\\\[(.+?)(?<!\\)\\\]")
_TABULAR = re.compile(r"\\begin\{tabular\}(.+?)(?:\\end\{tabular\}|$)", re.S)
FORMAT_PARTS = ("text", "math", "table")


def format_parts(text: str) -> dict[str, str]:
    """A formatted text cut as GOT's format script does. Math is the inline formulas, one a
    line, followed directly (GOT adds no separator) by the display ones, one a line; the
    table part is the tabulars' bodies, one a line."""
    return {
        "text": text.strip(),
        "math": "\n".join(_INLINE_MATH.findall(text)) + "\n".join(_DISPLAY_MATH.findall(text)),
        "table": "\n".join(_TABULAR.findall(text)),
    }


def score_format_parts(pred: str, ref: str, got_compat: bool = False
                       ) -> dict[str, Scores | None]:
    """Each part of `format_parts` scored on its own; None where a side lacks it."""
    p, r = format_parts(pred), format_parts(ref)
    return {part: score(p[part], r[part], got_compat) for part in FORMAT_PARTS}


def mean(scores: Iterable[Scores]) -> dict[str, float]:
    """Per-sample metrics averaged over the pairs kept, as GOT's tables report them."""
    rows = [s.as_dict() for s in scores]
    if not rows:
        return {name: float("nan") for name in NAMES}
    return {name: sum(r[name] for r in rows) / len(rows) for name in NAMES}
