"""The decision interface every backend implements, and the offline vectorized heuristic policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import compiled, policy_kernels
from . import quote_model as Q
from . import transitions as T
from .keyed_random import Purpose, StepDraws
from .params import AttitudeParams, EmotionParams, PolicyParams
from .types import Action, Source, UserCategory


@dataclass(frozen=True)
class DecisionBatch:
    """Everything an agent exposed this step decides on; one array entry per agent."""

    step: int
    agent: np.ndarray  # int64
    received: np.ndarray  # posts received this step
    mean_intensity: np.ndarray  # mean emotion level of the received posts
    max_relevance: np.ndarray  # relevance of the most relevant received post
    focal_post: np.ndarray  # int32 the highest-scoring post received this step
    focal_source: np.ndarray  # int8 Source of the focal post
    focal_stance: np.ndarray  # int8 Attitude of the focal post
    focal_emotion: np.ndarray  # int8 Emotion of the focal post
    focal_age: np.ndarray  # steps since the focal post was made
    focal_relevance: np.ndarray
    focal_labelled: np.ndarray  # bool
    emotion: np.ndarray  # int8 current Emotion
    attitude: np.ndarray  # int8 current Attitude
    pool_positive: np.ndarray  # influence-weighted positive share of the memory pool
    pool_weight: np.ndarray  # total influence in the pool (0 = empty)
    category: np.ndarray  # uint8 UserCategory
    age: np.ndarray
    gender: np.ndarray
    occupation: np.ndarray
    actions_taken: np.ndarray  # earlier non-ignore actions on the event
    was_aware: np.ndarray  # bool: knew of the event before this step
    # For the fitted quote model (``quote_model``) and depth decay; None reads as a source post
    # seen fresh, in an event without forwards yet, by an agent of average propensity.
    focal_depth: np.ndarray | None = None  # int hops of the focal post from its source (0 = the source)
    focal_quoted: np.ndarray | None = None  # bool: the focal post itself carries a comment
    thread_quotes: np.ndarray | None = None  # quotes among the focal event's forwards so far
    thread_forwards: np.ndarray | None = None  # reposts and quotes of the focal event so far
    quote_propensity: np.ndarray | None = None  # the agent's own quote propensity (NaN: none drawn)
    minutes_per_step: float = 60.0  # to read focal_age in minutes
    context: Any = field(default=None, compare=False)  # a read-only run_view.RunView, for backends that need text

    def __len__(self) -> int:
        return len(self.agent)

    def subset(self, mask: np.ndarray) -> "DecisionBatch":
        """The rows selected by a boolean mask or index array."""
        values = {k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}
        return DecisionBatch(**values)


@dataclass
class Decisions:
    """New emotion, attitude and action per agent of a batch; text only where a backend wrote it."""

    emotion: np.ndarray
    attitude: np.ndarray
    action: np.ndarray
    text: list[str | None] | None = None
    fallback: np.ndarray | None = None  # bool: the backend fell back to the heuristic for this agent


class DecisionPolicy(Protocol):
    """One interface for the offline heuristic, LLM backends and test doubles.

    ``draws`` gives the step's keyed uniforms (``draws.uniform(Purpose.ACTION, batch.agent)``), so
    an agent's draws do not depend on who else decides this step (common random numbers).
    """

    def decide(self, batch: DecisionBatch, draws: StepDraws) -> Decisions: ...


@dataclass(frozen=True)
class HeuristicPolicy:
    """S3's transitions and Qiu et al.'s action-first engagement as vectorized probability models."""

    emotion_params: EmotionParams = EmotionParams()
    attitude_params: AttitudeParams = AttitudeParams()
    params: PolicyParams = PolicyParams()

    def decide(self, batch: DecisionBatch, draws: StepDraws) -> Decisions:
        if compiled.compiled() and policy_kernels.compilable(batch):
            emotion, attitude, action = policy_kernels.decide(self, batch, draws)
            return Decisions(emotion=emotion, attitude=attitude, action=action)
        p_echo = T.echo_probability(self.emotion_params, batch.focal_relevance, batch.received)
        emotion = T.emotion_step(
            self.emotion_params, batch.emotion, batch.focal_emotion, p_echo, draws.uniform(Purpose.EMOTION, batch.agent)
        )
        switched = T.attitude_step(
            self.attitude_params,
            batch.attitude,
            batch.pool_positive,
            draws.uniform(Purpose.ATTITUDE, batch.agent),
            newcomer=~batch.was_aware,
        )
        attitude = np.where(batch.pool_weight > 0, switched, batch.attitude).astype(np.int8)
        probs = self.action_probabilities(batch, emotion, attitude)
        u = draws.uniform(Purpose.ACTION, batch.agent)
        action = (u[:, None] >= np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1).astype(np.int8)
        return Decisions(emotion=emotion, attitude=attitude, action=action)

    def action_probabilities(self, batch: DecisionBatch, emotion: np.ndarray, attitude: np.ndarray) -> np.ndarray:
        """Probabilities of ignore, repost, quote and post (columns in ``Action`` order)."""
        p = self.params
        common = (
            p.exposure * np.log1p(batch.received)
            + p.relevance * batch.focal_relevance
            + p.mutual * (batch.focal_source == Source.MUTUAL)
            - p.staleness * np.log1p(np.maximum(batch.focal_age, 0))
            - p.fatigue * np.log1p(batch.actions_taken)
            + p.low_impact * (batch.category == UserCategory.LOW_IMPACT)
        )
        agree = p.agreement * (batch.focal_stance == attitude)
        label = p.label_penalty * batch.focal_labelled
        hops = np.zeros(len(batch)) if batch.focal_depth is None else batch.focal_depth.astype(np.float64)
        forward = agree - label - p.depth_decay * hops
        utility = np.zeros((len(batch), 4))
        utility[:, Action.REPOST] = p.base_repost + common + forward
        utility[:, Action.QUOTE] = p.base_quote + common + forward + p.emotion * emotion
        if p.quote_model:
            # Keep the logit's total engagement (log-sum-exp of the two) and let the fitted model split it.
            engage = np.logaddexp(utility[:, Action.REPOST], utility[:, Action.QUOTE])
            model = Q.load(p.quote_model)
            log_odds = model.log_odds(quote_features(batch, model)) + p.quote_shift
            utility[:, Action.QUOTE] = engage - np.logaddexp(0.0, -log_odds)
            utility[:, Action.REPOST] = engage - np.logaddexp(0.0, log_odds)
        utility[:, Action.POST] = (
            p.base_post + common + p.emotion * emotion + p.influential * (batch.category == UserCategory.INFLUENTIAL)
        )
        utility -= utility.max(axis=1, keepdims=True)
        weight = np.exp(utility)
        return weight / weight.sum(axis=1, keepdims=True)


def quote_features(batch: DecisionBatch, model: Q.QuoteModel) -> np.ndarray:
    """The quote model's features of a batch; absent fields take the neutral values noted on ``DecisionBatch``."""
    n = len(batch)
    zeros = np.zeros(n)
    depth = zeros if batch.focal_depth is None else batch.focal_depth
    propensity = np.full(n, model.mean_propensity) if batch.quote_propensity is None else batch.quote_propensity
    propensity = np.where(np.isnan(propensity), model.mean_propensity, propensity)
    return Q.feature_matrix(
        propensity,
        np.asarray(depth, np.float64) + 1.0,
        np.asarray(batch.focal_age, np.float64) * batch.minutes_per_step,
        zeros if batch.focal_quoted is None else batch.focal_quoted,
        zeros if batch.thread_quotes is None else batch.thread_quotes,
        zeros if batch.thread_forwards is None else batch.thread_forwards,
        model.prior,
        model.shrinkage,
    )
