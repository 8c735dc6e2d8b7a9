"""GOT's metrics against values computed by hand, and against nltk run offline."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocr2synth.trainer.metrics import (
    WordNetMissing,
    bleu,
    format_parts,
    levenshtein,
    mean,
    meteor,
    normalized_edit_distance,
    precision_recall_f1,
    score,
    score_format_parts,
    tokens,
    wordnet,
)

# nltk warns on every unsmoothed BLEU missing an n-gram order (the oracle below calls it).
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:nltk.translate.bleu_score")

REF = "the cat sat on the mat"


def got_definition(pred: str, gt: str) -> dict[str, float] | None:
    """GOT's per-pair metrics, written out from its eval script's description with nltk's
    own functions (nltk.metrics takes (reference, test): the truth first)."""
    import jieba
    import nltk
    from nltk.metrics import f_measure, precision, recall
    from nltk.translate.meteor_score import meteor_score

    if not pred or not gt:
        return None
    chinese = any("\u4e00" <= c <= "\u9fa5" for c in pred + gt)
    ref, hyp = (jieba.lcut(gt), jieba.lcut(pred)) if chinese else (gt.split(), pred.split())
    return {
        "bleu": nltk.translate.bleu([ref], hyp),
        "meteor": meteor_score([ref], hyp, wordnet=wordnet()),
        "f1": f_measure(set(ref), set(hyp)),
        "precision": precision(set(ref), set(hyp)),
        "recall": recall(set(ref), set(hyp)),
        "edit_distance": nltk.edit_distance(pred, gt) / max(len(pred), len(gt)),
    }


PAIRS = [
    ("the cat sat on a mat", REF),
    ("the cats are sitting on the mats", REF),  # stems
    ("a fast car stopped", "a fast auto stopped here"),  # a WordNet synonym
    ("The Quick brown fox", "the quick brown fox jumps"),  # METEOR lower-cases
    ("x^2 + y^2 = z^2", "x^2 + y^2 = z^3"),
    ("我爱北京天安门", "我爱北京"),  # jieba
    ("今天 天气 good", "今天天气很好 good"),
    ("mat the on", REF),
]


def test_perfect_match():
    s = score(REF, REF)
    assert s is not None and s.edit_distance == 0.0
    assert (s.precision, s.recall, s.f1, s.bleu) == (1.0, 1.0, 1.0, 1.0)
    # One chunk of six matches: fragmentation penalty 0.5 * (1/6)^3.
    assert s.meteor == pytest.approx(1 - 0.5 / 216)


def test_empty_pairs_are_dropped_as_got_drops_them():
    assert score("", REF) is None and score(REF, "") is None and score("", "") is None
    assert score("   \n", REF) is None  # no words (GOT's script would crash here)
    assert score("   ", "x", unit="char") is not None  # spaces are characters
    kept = [s for s in (score(REF, REF), score("", REF)) if s is not None]
    assert len(kept) == 1 and mean(kept)["f1"] == 1.0


def test_precision_recall_f1_are_over_word_sets():
    # Sets {a, b, c} and {a, b, c, d}: a repeated word counts once.
    p, r, f1 = precision_recall_f1("a b b c".split(), "a b c c d".split())
    assert (p, r) == (1.0, 0.75)
    assert f1 == pytest.approx(2 * 0.75 / 1.75)
    assert precision_recall_f1(["a"], ["b"]) == (0.0, 0.0, 0.0)


def test_bleu_known_cases():
    # 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3, same length: no brevity penalty.
    hyp = "the cat sat on a mat".split()
    assert bleu(hyp, REF.split()) == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert bleu(hyp, REF.split()) == pytest.approx(0.537285, abs=1e-6)
    # One word longer than the reference: 6/7, 5/6, 4/5, 3/4 and no penalty.
    longer = (REF + " today").split()
    assert bleu(longer, REF.split()) == pytest.approx((3 / 7) ** 0.25)
    # Shorter: every n-gram matches, penalty exp(1 - 7/6).
    assert bleu(REF.split(), longer) == pytest.approx(math.exp(-1 / 6))
    # Unsmoothed: no 3-gram in a two-word hypothesis, so practically 0 (as nltk scores it).
    assert 0.0 <= bleu(["the", "cat"], REF.split()) < 1e-150
    assert bleu("mat the on".split(), REF.split()) < 1e-70


def test_meteor_stems_synonyms_and_fragmentation():
    # cats/cat match on their Porter stem: 3 matches in one chunk, P = R = 1.
    assert meteor("the cats sat".split(), "the cat sat".split()) == pytest.approx(1 - 1 / 54)
    # car/auto are WordNet synonyms (car.n.01).
    assert meteor("a fast car".split(), "a fast auto".split()) == pytest.approx(1 - 1 / 54)
    assert meteor("The Cat".split(), "the cat".split()) == pytest.approx(1 - 0.5 / 8)
    # Both words match, in two chunks: penalty 0.5 * (2/2)^3 halves the score.
    assert meteor(["green", "red"], ["red", "green"]) == pytest.approx(0.5)
    # 2 of 3 hypothesis words match (P 2/3), both reference words (R 1), one chunk.
    p, r = 2 / 3, 1.0
    fmean = p * r / (0.9 * p + 0.1 * r)
    assert meteor("red green zebra".split(), "red green".split()) == pytest.approx(
        fmean * (1 - 0.5 / 8))


def test_edit_distance():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3 and levenshtein("a", "") == 1
    assert levenshtein(["the", "cat"], ["a", "cat"]) == 1  # any sequence of symbols
    assert normalized_edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    assert normalized_edit_distance("", "") == 0.0


@settings(max_examples=300, deadline=None)
@given(st.text("abc d", max_size=40), st.text("abcde", max_size=80))
def test_edit_distance_equals_nltks(a, b):
    import nltk

    assert levenshtein(a, b) == nltk.edit_distance(a, b) == levenshtein(b, a)


def test_edit_distance_of_long_pages_is_fast():
    import random
    import time

    rng = random.Random(0)
    page = "".join(rng.choice("abcdefgh \n") for _ in range(10_000))
    other = "".join(rng.choice("abcdefgh \n") for _ in range(9_000))
    t0 = time.perf_counter()
    levenshtein(page, other)
    assert time.perf_counter() - t0 < 5  # the cell-by-cell table: about 2 minutes


def test_chinese_is_cut_with_jieba_for_both_texts():
    assert tokens("我爱北京天安门", "我爱北京") == (["我", "爱", "北京", "天安门"],
                                             ["我", "爱", "北京"])
    # Chinese on one side cuts both with jieba, whose spaces are tokens.
    assert tokens("hello world", "你好") == (["hello", " ", "world"], ["你好"])
    assert tokens("ab c", "x", unit="char") == (["a", "b", " ", "c"], ["x"])
    s = score("我爱北京天安门", "我爱北京")
    assert s is not None
    assert (s.precision, s.recall) == (0.75, 1.0) and s.f1 == pytest.approx(6 / 7)
    assert s.edit_distance == pytest.approx(3 / 7)


@pytest.mark.parametrize(("pred", "gt"), PAIRS)
def test_scores_equal_gots_definition_computed_with_nltk(pred, gt):
    """The default order scores the prediction against the truth; --got-compat swaps
    them as GOT's scripts do (nougat_per_metrics(label, answer) with parameters
    (pred, gt)), so its numbers equal GOT's definition called the swapped way."""
    expected = got_definition(pred, gt)
    s = score(pred, gt)
    assert s is not None and expected is not None
    assert s.as_dict() == pytest.approx(expected, rel=1e-12, abs=1e-300)
    swapped = got_definition(gt, pred)
    s_compat = score(pred, gt, got_compat=True)
    assert s_compat is not None and swapped is not None
    assert s_compat.as_dict() == pytest.approx(swapped, rel=1e-12, abs=1e-300)


def test_got_compat_swaps_precision_recall_bleu_and_meteor():
    pred, gt = REF + " today", REF
    plain, compat = score(pred, gt), score(pred, gt, got_compat=True)
    assert plain is not None and compat is not None
    # Words {the, cat, sat, on, mat, today} against {the, cat, sat, on, mat}.
    assert (plain.precision, plain.recall) == (5 / 6, 1.0)
    assert (compat.precision, compat.recall) == (1.0, 5 / 6)
    assert plain.f1 == compat.f1 and plain.edit_distance == compat.edit_distance
    assert plain.bleu == pytest.approx((3 / 7) ** 0.25)
    assert compat.bleu == pytest.approx(math.exp(-1 / 6))
    # METEOR: 6 matches in one chunk; P and R trade places in the recall-weighted mean.
    penalty = 1 - 0.5 * (1 / 6) ** 3
    assert plain.meteor == pytest.approx(6 / 7 / (0.9 * 6 / 7 + 0.1) * penalty)
    assert compat.meteor == pytest.approx(6 / 7 / (0.9 + 0.1 * 6 / 7) * penalty)


def test_wordnet_comes_from_debian_files_and_missing_files_say_what_to_install(tmp_path):
    assert wordnet().get_version() == "3.0"
    assert "auto" in {lemma.name() for s in wordnet().synsets("car") for lemma in s.lemmas()}
    with pytest.raises(WordNetMissing, match="wordnet-base"):
        wordnet(str(tmp_path))


def test_format_parts_are_cut_as_gots_format_script_cuts_them():
    page = ("Let \\(a+b\\) and \\(c\\) be.\n\\[ x^2 \\]\n"
            "\\begin{tabular}{cc} 1 & 2 \\end{tabular} then \\begin{tabular}{c} z ")
    parts = format_parts(" " + page + "\n")
    assert parts["text"] == page.strip()
    # Inline formulas one a line, then the display ones with no separator in between.
    assert parts["math"] == "a+b\nc x^2 "
    assert parts["table"] == "{cc} 1 & 2 \n{c} z "  # the last tabular runs to the end
    assert format_parts("\\(a\n b\\)")["math"] == ""  # inline math stays on one line
    scored = score_format_parts(page, "no math here")
    assert scored["text"] is not None and scored["math"] is None and scored["table"] is None


def test_means_average_the_samples_kept():
    kept = [s for s in (score(REF, REF), score("dog", REF)) if s is not None]
    avg = mean(kept)
    assert avg["f1"] == 0.5 and avg["edit_distance"] == pytest.approx(
        (0 + normalized_edit_distance("dog", REF)) / 2)
    assert math.isnan(mean([])["bleu"])
