"""Emotion and attitude Markov transitions."""
import numpy as np
import pytest

from s3core import transitions as T
from s3core.params import AttitudeParams, EmotionParams


def test_emotion_matrix_rows_are_distributions():
    m = T.emotion_matrix(0.3, 0.2)
    assert m.shape == (3, 3)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    assert m[0, 0] == pytest.approx(0.7) and m[2, 1] == pytest.approx(0.7 * 0.2)


def test_emotion_step_matches_its_matrix():
    params = EmotionParams(fall_on_exposure=0.2)
    rng = np.random.default_rng(0)
    n = 200_000
    matrix = T.emotion_matrix(0.3, 0.2)
    for level in range(3):
        current = np.full(n, level, dtype=np.int8)
        nxt = T.emotion_step(params, current, np.full(n, 0.3), rng.random(n))
        freq = np.bincount(nxt, minlength=3) / n
        # every row within 4.5 binomial standard errors of the matrix
        tolerance = 4.5 * np.sqrt(matrix[level] * (1 - matrix[level]) / n) + 1e-12
        assert (np.abs(freq - matrix[level]) <= tolerance).all(), (level, freq, matrix[level])


def test_emotion_stays_in_range():
    rng = np.random.default_rng(1)
    cur = np.array([0, 2, 2, 0], dtype=np.int8)
    for _ in range(50):
        cur = T.emotion_step(EmotionParams(fall_on_exposure=0.5), cur, np.full(4, 0.9), rng.random(4))
        assert cur.min() >= 0 and cur.max() <= 2


def test_rise_grows_with_intensity_and_volume():
    p = EmotionParams()
    low = T.emotion_rise_probability(p, np.array([1.0]), np.array([0.0]), np.array([0.0]))
    high = T.emotion_rise_probability(p, np.array([10.0]), np.array([2.0]), np.array([0.5]))
    assert high[0] > low[0]


def test_decay_pulls_toward_calm_and_zero_decay_keeps_level():
    rng = np.random.default_rng(2)
    cur = np.full(10_000, 2, dtype=np.int8)
    after = T.emotion_decay(EmotionParams(decay=0.4), cur, rng.random(len(cur)))
    assert 0.37 < (after == 1).mean() < 0.43
    assert (T.emotion_decay(EmotionParams(decay=0.0), cur, rng.random(len(cur))) == 2).all()


def test_attitude_switches_toward_the_pool_majority():
    params = AttitudeParams()
    neg = np.zeros(4, dtype=np.int8)
    p_pos_pool = T.attitude_switch_probability(params, neg, np.array([1.0]))
    p_neg_pool = T.attitude_switch_probability(params, neg, np.array([0.0]))
    assert p_pos_pool[0] > 0.5 > p_neg_pool[0]
    pos = np.ones(1, dtype=np.int8)
    assert T.attitude_switch_probability(params, pos, np.array([0.0]))[0] == pytest.approx(p_pos_pool[0])


def test_initial_attitude_follows_history():
    rng = np.random.default_rng(3)
    params = AttitudeParams(initial_positive=0.5, history_weight=3.0)
    positive_history = T.initial_attitude(params, np.full(20_000, 1.0, dtype=np.float32), rng.random(20_000))
    negative_history = T.initial_attitude(params, np.full(20_000, 0.0, dtype=np.float32), rng.random(20_000))
    unknown = T.initial_attitude(params, np.full(20_000, np.nan, dtype=np.float32), rng.random(20_000))
    assert positive_history.mean() > 0.9 and negative_history.mean() < 0.1
    assert 0.47 < unknown.mean() < 0.53
