"""The heuristic policy compiled (numba) into one pass per agent, bit-identical to ``HeuristicPolicy.decide``.

One agent at a time, the kernel runs the reference's emotion step (``transitions.emotion_moves``),
attitude step, quote model and action logit with the same operations in the same order and the
same float types (``relevance`` times a float32 column stays float32, as numpy computes it), and
``exp``/``log1p``/``log`` from the same C library, so every probability and every choice equals
the reference's to the last bit (``tests/test_kernel_identity.py``).
"""

from __future__ import annotations

import math

import numpy as np

from . import quote_model as Q
from .compiled import jit
from .keyed_random import Purpose, StepDraws
from .types import Action, Source, UserCategory

LOGE2 = math.log(2.0)


@jit(inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@jit(inline="always")
def _logaddexp(x, y):
    """numpy's ``npy_logaddexp``, operation for operation."""
    if x == y:
        return x + LOGE2
    tmp = x - y
    if tmp > 0:
        return x + math.log1p(math.exp(-tmp))
    return y + math.log1p(math.exp(tmp))


@jit(inline="always")
def _logit(p, eps):
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


@jit(inline="always")
def _clip(x, low, high):
    return min(max(x, low), high)


@jit
def _log1p_table(counts):
    """log1p(k) for k = 0 .. max(counts), as float64, for whole-number counts."""
    top = 0
    for c in counts:
        if c > top and c == np.floor(c):
            top = c
    table = np.empty(np.int64(top) + 1)
    for k in range(len(table)):
        table[k] = math.log1p(np.float64(k))
    return table


@jit(inline="always")
def _lookup(table, x):
    """log1p(x) from the table when x is a whole number in it, else computed."""
    k = np.int64(x)
    if k == x and 0 <= k < len(table):
        return table[k]
    return math.log1p(np.float64(x))


@jit(inline="always")
def _logaddexp_pair(x):
    """(logaddexp(0, -x), logaddexp(0, x)) as numpy computes each, sharing their one exp and log1p."""
    if x == 0.0:
        return 0.0 + LOGE2, 0.0 + LOGE2
    if x > 0:
        shared = math.log1p(math.exp(-x))
        return 0.0 + shared, x + shared
    shared = math.log1p(math.exp(x))
    return -x + shared, 0.0 + shared


@jit(inline="always")
def _exp_below(x, top):
    """exp(x - top), exactly 1 when x is the top (exp(0) = 1)."""
    return 1.0 if x == top else math.exp(x - top)


@jit
def decide_rows(
    # the batch (one entry per agent)
    received,
    focal_relevance,
    focal_source,
    focal_stance,
    focal_emotion,
    focal_age,
    focal_labelled,
    emotion,
    attitude,
    pool_positive,
    pool_weight,
    category,
    actions_taken,
    was_aware,
    focal_depth,
    focal_quoted,
    thread_quotes,
    thread_forwards,
    quote_propensity,
    minutes_per_step,
    # keyed uniforms
    u_emotion,
    u_attitude,
    u_action,
    # emotion parameters
    echo_bias,
    echo_relevance,
    echo_volume,
    react_moderate,
    react_intense,
    keep_share,
    fall_on_exposure,
    # attitude parameters
    inertia,
    persuasion,
    first_exposure,
    # action parameters
    w_exposure,
    w_relevance32,
    w_mutual,
    w_staleness,
    w_fatigue,
    w_low_impact,
    w_agreement,
    w_label_penalty,
    w_depth_decay,
    w_emotion,
    w_influential,
    base_repost,
    base_quote,
    base_post,
    # quote model (use_quote_model False: the remaining arguments are ignored)
    use_quote_model,
    quote_shift,
    mean_propensity,
    prior_weight,
    shrinkage,
    q_low,
    q_high,
    q_mean,
    q_scale,
    q_coef,
    q_intercept,
    eps,
):
    """New emotion, attitude and action (int8 arrays of len(received)) as ``HeuristicPolicy.decide``."""
    n = len(received)
    # The logarithms of small counts (posts received, ages, actions, depths) come from tables of the
    # same functions, filled once per batch: fewer calls, the same values.
    log1p_received = _log1p_table(received)
    log1p_age = _log1p_table(np.maximum(focal_age, 0))
    log1p_actions = _log1p_table(actions_taken)
    top_depth = np.int64(focal_depth.max()) if n else 0
    log_depth = np.empty(top_depth + 2)
    log1p_delay = np.empty(len(log1p_age))
    for d in range(top_depth + 2):
        log_depth[d] = math.log(max(np.float64(d) + 1.0, 1.0))
    for a in range(len(log1p_delay)):
        log1p_delay[a] = math.log1p(max(np.float64(a) * minutes_per_step, 0.0))
    new_emotion = np.empty(n, np.int8)
    new_attitude = np.empty(n, np.int8)
    action = np.empty(n, np.int8)
    moves = np.zeros(3)
    features = np.empty(6)
    utility = np.zeros(4)
    for i in range(n):
        # emotion: the mixture of echo, own reaction and habituation
        rec = max(received[i], 1.0)
        p_echo = _sigmoid(echo_bias + echo_relevance * np.float64(focal_relevance[i]) + echo_volume * (1.0 - 1.0 / rec))
        level = min(max(np.int64(emotion[i]), 0), 2)
        content = min(max(np.int64(focal_emotion[i]), 0), 2)
        moves[0] = 0.0
        moves[1] = 0.0
        moves[2] = 0.0
        moves[content] += p_echo
        rest = 1.0 - p_echo
        moves[1] += rest * react_moderate
        moves[2] += rest * react_intense
        keep = rest * keep_share
        fall = keep * fall_on_exposure if level > 0 else 0.0
        moves[max(level - 1, 0)] += fall
        moves[level] += keep - fall
        c0 = moves[0]
        c1 = c0 + moves[1]
        u = u_emotion[i]
        emo = np.int8((u >= c0) + (u >= c1))
        new_emotion[i] = emo
        # attitude: pulled by the pool's stance
        current = attitude[i]
        att = current
        if pool_weight[i] > 0:
            share = pool_positive[i]
            opposing = 1.0 - share if current == 1 else share
            p_switch = _sigmoid(inertia + persuasion * (2.0 * opposing - 1.0))
            if not was_aware[i]:
                p_switch = p_switch * first_exposure
            if u_attitude[i] < p_switch:
                att = np.int8(1 - current)
        new_attitude[i] = att
        # action: a logit over ignore, repost, quote and post
        relevance_term = np.float64(w_relevance32 * focal_relevance[i])
        common = (
            w_exposure * _lookup(log1p_received, received[i])
            + relevance_term
            + w_mutual * (1.0 if focal_source[i] == Source.MUTUAL else 0.0)
            - w_staleness * _lookup(log1p_age, max(focal_age[i], 0))
            - w_fatigue * _lookup(log1p_actions, actions_taken[i])
            + w_low_impact * (1.0 if category[i] == UserCategory.LOW_IMPACT else 0.0)
        )
        agree = w_agreement * (1.0 if focal_stance[i] == att else 0.0)
        label = w_label_penalty * (1.0 if focal_labelled[i] else 0.0)
        forward = agree - label - w_depth_decay * np.float64(focal_depth[i])
        utility[Action.IGNORE] = 0.0
        utility[Action.REPOST] = base_repost + common + forward
        utility[Action.QUOTE] = base_quote + common + forward + w_emotion * emo
        if use_quote_model:
            engage = _logaddexp(utility[Action.REPOST], utility[Action.QUOTE])
            propensity = quote_propensity[i]
            if np.isnan(propensity):
                propensity = mean_propensity
            depth = max(np.float64(focal_depth[i]) + 1.0, 1.0)
            features[0] = _logit(propensity, eps)
            features[1] = 1.0 if depth == 1 else 0.0
            features[2] = log_depth[focal_depth[i]] if focal_depth[i] >= 0 else math.log(depth)
            features[3] = (
                log1p_delay[focal_age[i]]
                if focal_age[i] >= 0
                else math.log1p(max(np.float64(focal_age[i]) * minutes_per_step, 0.0))
            )
            features[4] = 1.0 if focal_quoted[i] else 0.0
            features[5] = _logit((thread_quotes[i] + prior_weight) / (thread_forwards[i] + shrinkage), eps)
            log_odds = ((_clip(features[0], q_low[0], q_high[0]) - q_mean[0]) / q_scale[0]) * q_coef[0]
            for j in range(1, 6):
                log_odds = log_odds + ((_clip(features[j], q_low[j], q_high[j]) - q_mean[j]) / q_scale[j]) * q_coef[j]
            log_odds = log_odds + q_intercept + quote_shift
            to_quote, to_repost = _logaddexp_pair(log_odds)
            utility[Action.QUOTE] = engage - to_quote
            utility[Action.REPOST] = engage - to_repost
        utility[Action.POST] = (
            base_post
            + common
            + w_emotion * emo
            + w_influential * (1.0 if category[i] == UserCategory.INFLUENTIAL else 0.0)
        )
        top = max(max(utility[0], utility[1]), max(utility[2], utility[3]))
        w0 = _exp_below(utility[0], top)
        w1 = _exp_below(utility[1], top)
        w2 = _exp_below(utility[2], top)
        w3 = _exp_below(utility[3], top)
        total = (((0.0 + w0) + w1) + w2) + w3
        p0, p1, p2 = w0 / total, w1 / total, w2 / total
        c0 = p0
        c1 = c0 + p1
        c2 = c1 + p2
        u = u_action[i]
        action[i] = np.int8((u >= c0) + (u >= c1) + (u >= c2))
    return new_emotion, new_attitude, action


def compilable(batch) -> bool:
    """True when the batch carries every field the compiled kernel reads (the engine's batches do)."""
    return all(
        getattr(batch, name) is not None
        for name in ("focal_depth", "focal_quoted", "thread_quotes", "thread_forwards", "quote_propensity")
    )


def decide(policy, batch, draws: StepDraws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``HeuristicPolicy.decide``'s emotion, attitude and action arrays, from the compiled kernel."""
    e, a, p = policy.emotion_params, policy.attitude_params, policy.params
    model = Q.load(p.quote_model) if p.quote_model else None
    empty = np.zeros(6)
    return decide_rows(
        np.asarray(batch.received, np.float64),
        batch.focal_relevance,
        batch.focal_source,
        batch.focal_stance,
        batch.focal_emotion,
        batch.focal_age,
        batch.focal_labelled,
        batch.emotion,
        batch.attitude,
        batch.pool_positive,
        batch.pool_weight,
        batch.category,
        batch.actions_taken,
        batch.was_aware,
        batch.focal_depth,
        batch.focal_quoted,
        np.asarray(batch.thread_quotes, np.float64),
        np.asarray(batch.thread_forwards, np.float64),
        np.asarray(batch.quote_propensity, np.float64),
        float(batch.minutes_per_step),
        draws.uniform(Purpose.EMOTION, batch.agent),
        draws.uniform(Purpose.ATTITUDE, batch.agent),
        draws.uniform(Purpose.ACTION, batch.agent),
        e.echo_bias,
        e.echo_relevance,
        e.echo_volume,
        e.react_moderate,
        e.react_intense,
        max(0.0, 1.0 - e.react_moderate - e.react_intense),
        e.fall_on_exposure,
        a.inertia,
        a.persuasion,
        a.first_exposure,
        p.exposure,
        np.float32(p.relevance),
        p.mutual,
        p.staleness,
        p.fatigue,
        p.low_impact,
        p.agreement,
        p.label_penalty,
        p.depth_decay,
        p.emotion,
        p.influential,
        p.base_repost,
        p.base_quote,
        p.base_post,
        model is not None,
        p.quote_shift,
        model.mean_propensity if model else 0.0,
        model.shrinkage * model.prior if model else 0.0,
        model.shrinkage if model else 1.0,
        model.low if model else empty,
        model.high if model else empty,
        model.mean if model else empty,
        model.scale if model else empty,
        model.coef if model else empty,
        float(model.intercept) if model else 0.0,
        Q.EPS,
    )
