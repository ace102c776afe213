"""Emotion and attitude as Markov processes: next state from current state and this step's inputs."""

from __future__ import annotations

import numpy as np

from .params import AttitudeParams, EmotionParams
from .types import Emotion


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def initial_attitude(params: AttitudeParams, history_stance: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Initial attitude from the population prior, shifted by the stance of the user's own history.

    ``u``: one uniform in [0, 1) per agent (keyed draws); returns int8 Attitude per agent.
    """
    lean = np.where(np.isnan(history_stance), 0.0, 2.0 * history_stance - 1.0)
    p = sigmoid(logit(params.initial_positive) + params.history_weight * lean)
    return (u < p).astype(np.int8)


def echo_probability(params: EmotionParams, relevance: np.ndarray, received: np.ndarray) -> np.ndarray:
    """Chance that a reader takes on the focal post's emotion level: relevance counts, raw volume
    at most weakly and saturating (``echo_volume`` times 1 - 1/received)."""
    received = np.maximum(np.asarray(received, dtype=np.float64), 1.0)
    return sigmoid(
        params.echo_bias
        + params.echo_relevance * np.asarray(relevance, dtype=np.float64)
        + params.echo_volume * (1.0 - 1.0 / received)
    )


def emotion_moves(params: EmotionParams, level: np.ndarray, content: np.ndarray, p_echo: np.ndarray) -> np.ndarray:
    """The one definition of an exposed agent's emotion kernel: next-level probabilities, shape (n, 3).

    A mixture of three moves (S3's emotion as a Markov chain, Gao et al. 2023, sec. 3.2):
    - echo, with ``p_echo``: the reader takes on the ``content`` level of the post it read, in one jump;
    - its own reaction, with (1 - p_echo) * react_moderate (or react_intense): the level becomes moderate
      (intense), whatever it was;
    - otherwise it keeps its level, falling one level with ``fall_on_exposure`` (habituation).
    Nothing here grows with the number of posts received, so many calm posts keep readers calm.
    """
    level = np.clip(np.asarray(level, dtype=np.int64), 0, 2)
    content = np.clip(np.asarray(content, dtype=np.int64), 0, 2)
    p_echo = np.broadcast_to(np.asarray(p_echo, dtype=np.float64), level.shape)
    rows = np.arange(len(level))
    out = np.zeros((len(level), 3))
    out[rows, content] += p_echo
    rest = 1.0 - p_echo
    out[:, Emotion.MODERATE] += rest * params.react_moderate
    out[:, Emotion.INTENSE] += rest * params.react_intense
    keep = rest * max(0.0, 1.0 - params.react_moderate - params.react_intense)
    fall = np.where(level > Emotion.CALM, keep * params.fall_on_exposure, 0.0)
    out[rows, np.maximum(level - 1, 0)] += fall
    out[rows, level] += keep - fall
    return out


def emotion_matrix(params: EmotionParams, content: int, p_echo: float) -> np.ndarray:
    """The 3x3 kernel ``emotion_step`` runs for posts of one ``content`` level (rows: from, cols: to)."""
    levels = np.arange(3)
    return emotion_moves(params, levels, np.full(3, content), np.full(3, p_echo))


def emotion_step(
    params: EmotionParams, current: np.ndarray, content: np.ndarray, p_echo: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """One Markov step for exposed agents, from one uniform per agent (see ``emotion_moves``)."""
    cum = np.cumsum(emotion_moves(params, current, content, p_echo), axis=1)
    u = np.asarray(u, dtype=np.float64)[:, None]
    return (u >= cum[:, :2]).sum(axis=1).astype(np.int8)


def emotion_rise_probability(
    params: EmotionParams,
    received: np.ndarray,
    mean_intensity: np.ndarray,
    max_relevance: np.ndarray,
) -> np.ndarray:
    """Chance that a calm reader leaves calm on posts of this (rounded) mean level and relevance.

    A summary of ``emotion_moves`` for callers that only need calm versus not (charts, the action
    validation's first exposure).
    """
    received = np.asarray(received, dtype=np.float64)
    content = np.rint(np.broadcast_to(np.asarray(mean_intensity, dtype=np.float64), received.shape))
    p_echo = echo_probability(params, np.broadcast_to(max_relevance, received.shape), received)
    moves = emotion_moves(params, np.zeros(len(received), np.int64), content.astype(np.int64), p_echo)
    return 1.0 - moves[:, Emotion.CALM]


def emotion_decay(params: EmotionParams, current: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quiet agents drift one level toward calm with the decay coefficient; ``u``: one uniform per agent."""
    fall = (u < params.decay) & (current > Emotion.CALM)
    return (current - fall.astype(np.int8)).astype(np.int8)


def attitude_switch_probability(params: AttitudeParams, current: np.ndarray, positive_share: np.ndarray) -> np.ndarray:
    """Chance of switching attitude, from the weighted share of opposing stance in memory."""
    opposing = np.where(current == 1, 1.0 - positive_share, positive_share)
    return sigmoid(params.inertia + params.persuasion * (2.0 * opposing - 1.0))


def attitude_step(
    params: AttitudeParams,
    current: np.ndarray,
    positive_share: np.ndarray,
    u: np.ndarray,
    newcomer: np.ndarray | None = None,
) -> np.ndarray:
    """One Markov step of the binary attitude from one uniform per agent; newcomers are persuaded less."""
    p = attitude_switch_probability(params, current, positive_share)
    if newcomer is not None:
        p = np.where(newcomer, p * params.first_exposure, p)
    switch = u < p
    return np.where(switch, 1 - current, current).astype(np.int8)
