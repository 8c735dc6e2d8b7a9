"""GOT's OCR metrics, computed here with no downloads: edit distance, P/R/F1, BLEU, METEOR.

GOT reports, per task, the mean over samples of:
- normalized edit distance: character Levenshtein distance / the longer string's length;
- precision, recall, F1: bag-of-words overlap (words matched with multiplicity);
- BLEU: sentence BLEU-4 over words, uniform weights, brevity penalty, no smoothing (nltk's
  `sentence_bleu` default, which GOT's scripts call);
- METEOR: unigram alignment by *exact* match only (no stemming or WordNet synonyms, which
  would need nltk's WordNet download), Fmean with alpha 0.9 and the standard fragmentation
  penalty 0.5 * (chunks / matches) ** 3. On texts without synonyms/stems it equals nltk's.

Words are whitespace-separated tokens; a text with CJK characters is split per character
instead, as GOT does for Chinese.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

NAMES = ("edit_distance", "f1", "precision", "recall", "bleu", "meteor")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def words(text: str) -> list[str]:
    if _CJK.search(text):
        return [c for c in text if not c.isspace()]
    return text.split()


def levenshtein(a: Sequence[object], b: Sequence[object]) -> int:
    """Insertions, deletions and substitutions, each costing 1 (two rows of the DP table)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def normalized_edit_distance(pred: str, ref: str) -> float:
    """0 for identical strings, 1 for nothing in common (or one of them empty)."""
    longest = max(len(pred), len(ref))
    return levenshtein(pred, ref) / longest if longest else 0.0


def precision_recall_f1(pred: list[str], ref: list[str]) -> tuple[float, float, float]:
    if not pred and not ref:
        return 1.0, 1.0, 1.0
    common = sum((Counter(pred) & Counter(ref)).values())
    precision = common / len(pred) if pred else 0.0
    recall = common / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(pred: list[str], ref: list[str], max_n: int = 4) -> float:
    """Sentence BLEU: geometric mean of clipped n-gram precisions times the brevity penalty.

    Orders a hypothesis is too short to have are left out and the weights spread over the
    rest, so a two-word exact match scores 1 (nltk would score it 0 with a warning); any
    other zero precision makes the score 0, as unsmoothed BLEU does.
    """
    if not pred or not ref:
        return float(pred == ref)
    logs = []
    for n in range(1, max_n + 1):
        hyp = _ngrams(pred, n)
        total = sum(hyp.values())
        if total == 0:
            break
        matched = sum((hyp & _ngrams(ref, n)).values())
        if matched == 0:
            return 0.0
        logs.append(math.log(matched / total))
    penalty = 1.0 if len(pred) > len(ref) else math.exp(1 - len(ref) / len(pred))
    return penalty * math.exp(sum(logs) / len(logs))


def _align(pred: list[str], ref: list[str]) -> list[tuple[int, int]]:
    """Exact-match unigram alignment: each hypothesis word takes the first free reference
    occurrence of itself, left to right (nltk's exact stage does the same)."""
    used: set[int] = set()
    pairs = []
    for i, w in enumerate(pred):
        for j, r in enumerate(ref):
            if j not in used and r == w:
                used.add(j)
                pairs.append((i, j))
                break
    return pairs


def meteor(pred: list[str], ref: list[str], alpha: float = 0.9, beta: float = 3.0,
           gamma: float = 0.5) -> float:
    if not pred and not ref:
        return 1.0
    pairs = _align(pred, ref)
    m = len(pairs)
    if m == 0:
        return 0.0
    precision, recall = m / len(pred), m / len(ref)
    fmean = precision * recall / (alpha * precision + (1 - alpha) * recall)
    # A chunk is a run of matches adjacent in both texts.
    chunks = 1 + sum(1 for (i0, j0), (i1, j1) in zip(pairs, pairs[1:], strict=False)
                     if not (i1 == i0 + 1 and j1 == j0 + 1))
    return fmean * (1 - gamma * (chunks / m) ** beta)


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


def score(pred: str, ref: str) -> Scores:
    p, r = words(pred), words(ref)
    precision, recall, f1 = precision_recall_f1(p, r)
    return Scores(normalized_edit_distance(pred, ref), f1, precision, recall, bleu(p, r),
                  meteor(p, r))


def mean(scores: Iterable[Scores]) -> dict[str, float]:
    """Per-sample metrics averaged, as GOT's tables report them."""
    rows = [s.as_dict() for s in scores]
    if not rows:
        return {name: float("nan") for name in NAMES}
    return {name: sum(r[name] for r in rows) / len(rows) for name in NAMES}
