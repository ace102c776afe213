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


def initial_attitude(params: AttitudeParams, history_stance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Initial attitude from the population prior, shifted by the stance of the user's own history."""
    lean = np.where(np.isnan(history_stance), 0.0, 2.0 * history_stance - 1.0)
    p = sigmoid(logit(params.initial_positive) + params.history_weight * lean)
    return (rng.random(len(history_stance)) < p).astype(np.int8)


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


def emotion_matrix(p_rise: float, p_fall: float) -> np.ndarray:
    """The 3x3 transition matrix implied by a rise and a fall probability (rows: from, cols: to)."""
    m = np.zeros((3, 3))
    for level in range(3):
        up = p_rise if level < Emotion.INTENSE else 0.0
        down = p_fall * (1 - up) if level > Emotion.CALM else 0.0
        m[level, min(level + 1, 2)] += up
        m[level, max(level - 1, 0)] += down
        m[level, level] += 1 - up - down
    return m


def emotion_step(
    params: EmotionParams, current: np.ndarray, p_rise: np.ndarray, rng: np.random.Generator,
) -> np.ndarray:
    """One Markov step for exposed agents: rise with ``p_rise``, else fall by habituation."""
    u = rng.random(len(current))
    rise = (u < p_rise) & (current < Emotion.INTENSE)
    fall = (u >= 1.0 - (1.0 - p_rise) * params.fall_on_exposure) & ~rise & (current > Emotion.CALM)
    return (current + rise.astype(np.int8) - fall.astype(np.int8)).astype(np.int8)


def emotion_decay(params: EmotionParams, current: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Quiet agents drift one level toward calm with the decay coefficient."""
    fall = (rng.random(len(current)) < params.decay) & (current > Emotion.CALM)
    return (current - fall.astype(np.int8)).astype(np.int8)


def attitude_switch_probability(params: AttitudeParams, current: np.ndarray, positive_share: np.ndarray) -> np.ndarray:
    """Chance of switching attitude, from the weighted share of opposing stance in memory."""
    opposing = np.where(current == 1, 1.0 - positive_share, positive_share)
    return sigmoid(params.inertia + params.persuasion * (2.0 * opposing - 1.0))


def attitude_step(
    params: AttitudeParams, current: np.ndarray, positive_share: np.ndarray, rng: np.random.Generator,
    newcomer: np.ndarray | None = None,
) -> np.ndarray:
    """One Markov step of the binary attitude; newcomers are persuaded less (``first_exposure``)."""
    p = attitude_switch_probability(params, current, positive_share)
    if newcomer is not None:
        p = np.where(newcomer, p * params.first_exposure, p)
    switch = rng.random(len(current)) < p
    return np.where(switch, 1 - current, current).astype(np.int8)
