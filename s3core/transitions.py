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


def emotion_rise_probability(
    params: EmotionParams, received: np.ndarray, mean_intensity: np.ndarray, max_relevance: np.ndarray,
) -> np.ndarray:
    """Chance of rising one level, from how much arrived, how intense and how relevant it was."""
    return sigmoid(
        params.rise_bias
        + params.rise_per_exposure * np.log1p(received)
        + params.rise_per_intensity * mean_intensity
        + params.rise_relevance * max_relevance
    )


def emotion_moves(level: np.ndarray, p_rise: np.ndarray, fall_on_exposure: float) -> tuple[np.ndarray, np.ndarray]:
    """The one definition of an exposed agent's emotion chain: (chance up one level, chance down one).

    The stimulus arrives with ``p_rise``; below intense it lifts the agent one level, at intense it
    holds it there. Without the stimulus the agent habituates one level down with
    ``fall_on_exposure`` (S3's emotion as a Markov chain with decay, Gao et al. 2023, sec. 3.2).
    """
    level = np.asarray(level)
    p_rise = np.asarray(p_rise, dtype=np.float64)
    up = np.where(level < Emotion.INTENSE, p_rise, 0.0)
    down = np.where(level > Emotion.CALM, (1.0 - p_rise) * fall_on_exposure, 0.0)
    return up, down


def emotion_matrix(p_rise: float, p_fall: float) -> np.ndarray:
    """The 3x3 transition matrix ``emotion_step`` runs for a rise and a fall chance (rows: from, cols: to)."""
    levels = np.arange(3)
    up, down = emotion_moves(levels, np.full(3, p_rise), p_fall)
    m = np.zeros((3, 3))
    m[levels, np.minimum(levels + 1, 2)] += up
    m[levels, np.maximum(levels - 1, 0)] += down
    m[levels, levels] += 1.0 - up - down
    return m


def emotion_step(params: EmotionParams, current: np.ndarray, p_rise: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Markov step for exposed agents, from one uniform per agent (see ``emotion_moves``)."""
    up, down = emotion_moves(current, p_rise, params.fall_on_exposure)
    rise = u < up
    fall = u >= 1.0 - down
    return (current + rise.astype(np.int8) - fall.astype(np.int8)).astype(np.int8)


def emotion_decay(params: EmotionParams, current: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quiet agents drift one level toward calm with the decay coefficient; ``u``: one uniform per agent."""
    fall = (u < params.decay) & (current > Emotion.CALM)
    return (current - fall.astype(np.int8)).astype(np.int8)


def attitude_switch_probability(params: AttitudeParams, current: np.ndarray, positive_share: np.ndarray) -> np.ndarray:
    """Chance of switching attitude, from the weighted share of opposing stance in memory."""
    opposing = np.where(current == 1, 1.0 - positive_share, positive_share)
    return sigmoid(params.inertia + params.persuasion * (2.0 * opposing - 1.0))


def attitude_step(
    params: AttitudeParams, current: np.ndarray, positive_share: np.ndarray, u: np.ndarray,
    newcomer: np.ndarray | None = None,
) -> np.ndarray:
    """One Markov step of the binary attitude from one uniform per agent; newcomers are persuaded less."""
    p = attitude_switch_probability(params, current, positive_share)
    if newcomer is not None:
        p = np.where(newcomer, p * params.first_exposure, p)
    switch = u < p
    return np.where(switch, 1 - current, current).astype(np.int8)
