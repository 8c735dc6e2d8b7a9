"""GOT's metrics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from trainer.metrics import (
    bleu,
    levenshtein,
    mean,
    meteor,
    normalized_edit_distance,
    precision_recall_f1,
    score,
    words,
)

REF = "the cat sat on the mat"


def test_perfect_match():
    s = score(REF, REF)
    assert s.edit_distance == 0.0
    assert (s.precision, s.recall, s.f1, s.bleu) == (1.0, 1.0, 1.0, 1.0)
    # One chunk of six matches: fragmentation penalty 0.5 * (1/6)^3.
    assert s.meteor == pytest.approx(1 - 0.5 / 216)


def test_empty_prediction():
    s = score("", REF)
    assert s.edit_distance == 1.0
    assert (s.precision, s.recall, s.f1, s.bleu, s.meteor) == (0.0, 0.0, 0.0, 0.0, 0.0)
    both = score("", "")
    assert both.edit_distance == 0.0 and both.f1 == 1.0 and both.meteor == 1.0


def test_bleu_known_case():
    # 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3, same length: no brevity penalty.
    hyp = "the cat sat on a mat".split()
    assert bleu(hyp, REF.split()) == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert bleu(hyp, REF.split()) == pytest.approx(0.537285, abs=1e-6)


def test_bleu_brevity_penalty_and_zero_order():
    # Every n-gram of "the cat" matches; the penalty is exp(1 - 6/2).
    assert bleu(["the", "cat"], REF.split()) == pytest.approx(math.exp(-2))
    # No shared bigram: unsmoothed BLEU is 0.
    assert bleu("mat the on".split(), REF.split()) == 0.0


def test_edit_distance_and_word_overlap():
    assert levenshtein("kitten", "sitting") == 3
    assert normalized_edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    p, r, f1 = precision_recall_f1("a b b c".split(), "a b c c d".split())
    assert (p, r) == (pytest.approx(3 / 4), pytest.approx(3 / 5))
    assert f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)


def test_meteor_fragmentation():
    # Both words match, in two chunks: penalty 0.5 * (2/2)^3 halves the score.
    assert meteor(["b", "a"], ["a", "b"]) == pytest.approx(0.5)
    # 2 of 3 hypothesis words match (P 2/3), 2 of 2 reference words (R 1), one chunk.
    p, r = 2 / 3, 1.0
    fmean = p * r / (0.9 * p + 0.1 * r)
    assert meteor(["a", "b", "z"], ["a", "b"]) == pytest.approx(fmean * (1 - 0.5 / 8))


def test_cjk_is_scored_per_character_and_means_average_samples():
    assert words("你好 世界") == ["你", "好", "世", "界"]
    avg = mean([score(REF, REF), score("", REF)])
    assert avg["f1"] == 0.5 and avg["edit_distance"] == 0.5
