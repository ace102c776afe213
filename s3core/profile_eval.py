"""Scores of an inferred binary attribute (gender) against self-reported labels, as S3 reports them.

S3 (Gao et al. 2023, Table 2) gives gender inference as accuracy 0.710, F1 0.667 and AUC 0.708.
These functions compute the same figures for any inferrer, with the two things a fair reading
needs beside them: how many labelled users the inferrer answered at all (coverage) and the
accuracy of always answering the majority class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class BinaryScores:
    """Scores over the users an inferrer answered; ``coverage`` is answered / labelled."""

    labelled: int
    answered: int
    coverage: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    auc: float  # NaN when the answered users hold only one class or no scores were given
    majority_accuracy: float  # always answering the labelled users' majority class


def binary_scores(truth, guess, score=None) -> BinaryScores:
    """Accuracy, precision, recall and F1 of ``guess`` for the positive class 1, and ROC AUC of ``score``.

    Args:
        truth: shape (n,), 0/1 labels of n labelled users.
        guess: shape (n,), 0/1 guesses, NaN where the inferrer gave no answer (left out of the scores,
            counted in ``coverage``).
        score: shape (n,), optional; higher means more likely 1 (e.g. a model's probability). Defaults
            to ``guess`` (an AUC of hard answers). NaN where there is no answer.

    Raises:
        ValueError: when the shapes differ or a label or guess is not 0, 1 (or NaN for a guess).
    """
    truth = np.asarray(truth, dtype=float)
    guess = np.asarray(guess, dtype=float)
    score = guess if score is None else np.asarray(score, dtype=float)
    if not (truth.shape == guess.shape == score.shape) or truth.ndim != 1:
        raise ValueError(
            f"truth, guess and score must be 1-D of one length: {truth.shape}, {guess.shape}, {score.shape}"
        )
    if not np.isin(truth, (0.0, 1.0)).all():
        raise ValueError("truth holds values other than 0 and 1")
    answered = ~np.isnan(guess)
    if not np.isin(guess[answered], (0.0, 1.0)).all():
        raise ValueError("guess holds values other than 0, 1 and NaN")
    y, g = truth[answered], guess[answered]
    tp = float(np.sum((g == 1) & (y == 1)))
    precision = tp / max(float(np.sum(g == 1)), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return BinaryScores(
        labelled=len(truth),
        answered=int(answered.sum()),
        coverage=float(answered.mean()) if len(truth) else 0.0,
        accuracy=float(np.mean(g == y)) if len(y) else float("nan"),
        precision=precision,
        recall=recall,
        f1=f1,
        auc=roc_auc(y, score[answered]),
        majority_accuracy=float(max(truth.mean(), 1 - truth.mean())) if len(truth) else float("nan"),
    )


def roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U of the positives' scores over the negatives' (ties count one half).

    NaN scores are left out; NaN when either class is then empty.
    """
    keep = ~np.isnan(score)
    positives, negatives = score[keep & (truth == 1)], score[keep & (truth == 0)]
    if not len(positives) or not len(negatives):
        return float("nan")
    u = stats.mannwhitneyu(positives, negatives, alternative="two-sided").statistic
    return float(u) / (len(positives) * len(negatives))
