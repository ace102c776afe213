"""Gender-inference scores on small labelled samples whose accuracy, F1 and AUC are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from s3core.profile_eval import binary_scores, roc_auc

NAN = float("nan")


def test_scores_of_a_worked_example_with_unanswered_users():
    truth = [1, 1, 1, 0, 0, 0, 1, 0]
    guess = [1, 0, 1, 0, 1, 0, NAN, NAN]  # tp 2, fp 1, fn 1, tn 2 over 6 answered
    s = binary_scores(truth, guess)
    assert (s.labelled, s.answered, s.coverage) == (8, 6, 0.75)
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.majority_accuracy == 0.5
    # hard answers: AUC = P(score+ > score-) + half the ties = (2*2 + 0.5*(2*1 + 1*2)) / 9
    assert s.auc == pytest.approx((4 + 0.5 * 4) / 9)


def test_auc_of_scores_ranks_pairs_and_counts_ties_as_half():
    truth = np.array([1, 1, 0, 0])
    assert roc_auc(truth, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert roc_auc(truth, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert roc_auc(truth, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(truth, np.array([0.9, 0.3, 0.5, 0.1])) == pytest.approx(3 / 4)
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_majority_baseline_and_an_inferrer_that_always_answers_the_majority():
    truth = [0] * 62 + [1] * 38  # 62% male (0), as in the Weibo-CED source authors
    s = binary_scores(truth, [0] * 100)
    assert s.accuracy == pytest.approx(0.62) == s.majority_accuracy
    assert s.f1 == 0.0 and s.auc == 0.5


@pytest.mark.parametrize(
    "truth, guess, fragment",
    [([1, 0], [1], "one length"), ([2, 0], [1, 0], "truth holds"), ([1, 0], [0.5, 0], "guess holds")],
)
def test_bad_inputs_are_named(truth, guess, fragment):
    with pytest.raises(ValueError, match=fragment):
        binary_scores(truth, guess)
