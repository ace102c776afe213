"""Emotion and attitude Markov transitions."""

import numpy as np
import pytest

from s3core import transitions as T
from s3core.params import AttitudeParams, EmotionParams


@pytest.mark.parametrize("content", [0, 1, 2])
@pytest.mark.parametrize("p_echo", [0.0, 0.3, 1.0])
def test_emotion_kernel_rows_are_distributions(content, p_echo):
    m = T.emotion_matrix(EmotionParams(), content, p_echo)
    assert m.shape == (3, 3)
    assert (m >= 0).all()
    np.testing.assert_allclose(m.sum(axis=1), 1.0)


def test_emotion_kernel_extremes():
    params = EmotionParams(react_moderate=0.2, react_intense=0.05, fall_on_exposure=0.5)
    echo = T.emotion_matrix(params, 2, 1.0)
    np.testing.assert_allclose(echo[:, 2], 1.0)  # a sure echo jumps every level to the post's
    own = T.emotion_matrix(params, 2, 0.0)
    assert own[0, 2] == pytest.approx(0.05) and own[0, 1] == pytest.approx(0.2)
    assert own[2, 1] == pytest.approx(0.2 + 0.75 * 0.5)  # reacting moderately or habituating


def test_emotion_step_matches_its_matrix():
    params = EmotionParams(fall_on_exposure=0.2)
    rng = np.random.default_rng(0)
    n = 200_000
    for content in range(3):
        matrix = T.emotion_matrix(params, content, 0.3)
        for level in range(3):
            current = np.full(n, level, dtype=np.int8)
            nxt = T.emotion_step(params, current, np.full(n, content), np.full(n, 0.3), rng.random(n))
            freq = np.bincount(nxt, minlength=3) / n
            # every row within 4.5 binomial standard errors of the matrix
            tolerance = 4.5 * np.sqrt(matrix[level] * (1 - matrix[level]) / n) + 1e-12
            assert (np.abs(freq - matrix[level]) <= tolerance).all(), (content, level, freq, matrix[level])


def test_emotion_stays_in_range():
    rng = np.random.default_rng(1)
    cur = np.array([0, 2, 2, 0], dtype=np.int8)
    for _ in range(50):
        cur = T.emotion_step(
            EmotionParams(fall_on_exposure=0.5), cur, rng.integers(0, 3, 4), np.full(4, 0.9), rng.random(4)
        )
        assert cur.min() >= 0 and cur.max() <= 2


def test_first_exposure_to_an_intense_post_can_make_a_reader_intense():
    params = EmotionParams()
    n = 20_000
    calm = np.zeros(n, dtype=np.int8)
    p_echo = T.echo_probability(params, np.full(n, 0.5), np.ones(n))
    after = T.emotion_step(params, calm, np.full(n, 2), p_echo, np.random.default_rng(4).random(n))
    after_calm_post = T.emotion_step(params, calm, np.zeros(n), p_echo, np.random.default_rng(4).random(n))
    assert (after == 2).mean() > 0.1
    assert (after == 2).mean() > 2 * (after_calm_post == 2).mean()


def test_echo_grows_with_relevance_not_with_volume():
    params = EmotionParams()
    one = T.echo_probability(params, np.array([0.3]), np.array([1.0]))
    many = T.echo_probability(params, np.array([0.3]), np.array([200.0]))
    relevant = T.echo_probability(params, np.array([0.9]), np.array([1.0]))
    assert many[0] == pytest.approx(one[0])  # the default volume term is zero
    assert relevant[0] > one[0]
    capped = EmotionParams(echo_volume=1.0)
    assert (
        T.echo_probability(capped, np.array([0.3]), np.array([1e6]))[0]
        <= T.sigmoid(capped.echo_bias + capped.echo_relevance * 0.3 + 1.0) + 1e-12
    )  # saturates


def test_many_calm_posts_keep_readers_mostly_calm():
    """Volume alone does not escalate: readers flooded with calm posts for many steps stay calm."""
    params = EmotionParams(echo_volume=1.0)
    rng = np.random.default_rng(5)
    n = 20_000
    cur = np.zeros(n, dtype=np.int8)
    for _ in range(40):
        p_echo = T.echo_probability(params, np.full(n, 0.3), np.full(n, 500.0))
        cur = T.emotion_step(params, cur, np.zeros(n), p_echo, rng.random(n))
    assert (cur == 0).mean() > 0.5
    assert (cur == 2).mean() < 0.1


def test_decay_without_input_ends_calm():
    rng = np.random.default_rng(6)
    cur = np.full(10_000, 2, dtype=np.int8)
    for _ in range(60):
        cur = T.emotion_decay(EmotionParams(), cur, rng.random(len(cur)))
    assert (cur == 0).mean() > 0.99


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
