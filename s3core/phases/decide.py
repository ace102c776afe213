"""Phase 3 of a step: group the deliveries by receiver, update memory pools and ask the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import feeds, memory
from ..frontier import padded
from ..policy import DecisionBatch, Decisions
from ..types import Action

if TYPE_CHECKING:
    from ..engine import Simulation


LEVELS = {"emotion": 3, "attitude": 2, "action": 4}  # codes 0 .. n-1 (types.Emotion, Attitude, Action)


def checked(policy, decisions: Decisions, rows: int) -> Decisions:
    """``decisions`` as the engine needs them: one int8 code per batch row in each of emotion, attitude
    and action (``types``), and text/fallback of the batch's length when given.

    Raises:
        ValueError: naming the policy and what is wrong, before anything of the run changes.
    """
    name = type(policy).__name__
    if not isinstance(decisions, Decisions):
        raise ValueError(f"{name}.decide returned {type(decisions).__name__}, not s3core.policy.Decisions")
    for field, levels in LEVELS.items():
        values = np.asarray(getattr(decisions, field))
        if values.shape != (rows,):
            raise ValueError(f"{name}.decide: {field} has shape {values.shape}; the batch has {rows} rows")
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{name}.decide: {field} must hold integer codes, not {values.dtype}")
        if rows and (values.min() < 0 or values.max() >= levels):
            bad = int(values[(values < 0) | (values >= levels)][0])
            raise ValueError(f"{name}.decide: {field} = {bad}; codes are 0 to {levels - 1}")
        setattr(decisions, field, values.astype(np.int8, copy=False))
    for field in ("text", "fallback"):
        values = getattr(decisions, field)
        if values is not None and len(values) != rows:
            raise ValueError(f"{name}.decide: {field} has {len(values)} entries; the batch has {rows} rows")
    return decisions


def reads_memory(policy) -> bool:
    """Whether a policy reads what memory gives (pools, relevance, pool stance, quote inputs); True unless
    it says otherwise with ``reads_memory = False`` (the classical cascade models)."""
    return getattr(policy, "reads_memory", True)


def decide(sim: "Simulation", t: int, ex: feeds.Exposures) -> tuple[Decisions, DecisionBatch]:
    """The step's decisions and the batch they were made on (one row per agent that received something).

    For a policy that does not read memory (``reads_memory``), the batch is built from the
    deliveries alone: no relevance, no pool update, and NaN or None in the fields that need them.
    """
    if not reads_memory(sim.policy):
        return _decide_from_deliveries(sim, t, ex)
    mem = sim.scenario.memory
    relevance = sim.relevance(ex.viewer, ex.post)
    static = memory.static_score(mem, relevance, ex.source)
    grouping = memory.group_by_receiver(ex.viewer, static)
    order, starts, agents = grouping
    focal_row = order[starts]
    received = np.diff(starts, append=len(order)).astype(np.float64)
    posts = sim.posts
    intensity = (
        np.add.reduceat(posts.emotion[ex.post[order]].astype(np.float64), starts) / received
        if len(starts)
        else received
    )
    max_rel = np.maximum.reduceat(relevance[order], starts) if len(starts) else received
    memory.merge(sim.state, mem, t, ex.viewer, ex.post, ex.source, static, posts.removed, grouping=grouping)
    was_aware = _become_aware(sim, agents, t, ex.post, order, starts)
    pool_positive, pool_weight = memory.pool_stance(
        sim.state, mem, agents, t, posts, sim.scenario.attitude.label_discount
    )
    batch = _batch(
        sim,
        t,
        ex,
        agents,
        focal_row,
        received,
        was_aware,
        mean_intensity=intensity,
        max_relevance=max_rel,
        focal_relevance=relevance[focal_row],
        pool_positive=pool_positive,
        pool_weight=pool_weight,
        **quote_inputs(sim, agents, ex.post[focal_row]),
    )
    return checked(sim.policy, sim.policy.decide(batch, sim.random.at(t)), len(batch)), batch


def _decide_from_deliveries(sim: "Simulation", t: int, ex: feeds.Exposures) -> tuple[Decisions, DecisionBatch]:
    """``decide`` for policies that read deliveries, not memory: each receiver's focal post is its
    first delivery from the most authentic source (mutual, followee, own, recommended)."""
    source_score = np.asarray(sim.scenario.memory.source_scores(), dtype=np.float32)[ex.source]
    order, starts, agents = memory.group_by_receiver(ex.viewer, source_score)
    received = np.diff(starts, append=len(order)).astype(np.float64)
    was_aware = _become_aware(sim, agents, t, ex.post, order, starts)
    unknown = np.full(len(agents), np.nan)
    batch = _batch(
        sim,
        t,
        ex,
        agents,
        order[starts],
        received,
        was_aware,
        mean_intensity=unknown,
        max_relevance=unknown,
        focal_relevance=unknown,
        pool_positive=unknown,
        pool_weight=unknown,
    )
    return checked(sim.policy, sim.policy.decide(batch, sim.random.at(t)), len(batch)), batch


def _become_aware(
    sim: "Simulation", agents: np.ndarray, t: int, post: np.ndarray, order: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Mark the step's receivers aware (noting them in the journal first) and aware of the seeds whose
    cascades they received (``post[order]``: the posts delivered, grouped by receiver, each group starting
    at ``starts``); returns who already was aware (bool)."""
    sim.seed_awareness.receive_grouped(agents, post, order, starts)
    sim.journal.note(sim.state, agents)
    was_aware = sim.state.aware[agents].copy()
    newly = agents[~was_aware]
    sim.state.aware[newly] = True
    sim.state.aware_step[newly] = t
    return was_aware


def _batch(sim: "Simulation", t: int, ex, agents, focal_row, received, was_aware, **derived) -> DecisionBatch:
    """The batch of the step's receivers: what the deliveries and the agents' state give, plus ``derived``
    (what memory gives, or NaN where the policy does not read memory)."""
    posts, state, population = sim.posts, sim.state, sim.population
    focal = ex.post[focal_row]
    return DecisionBatch(
        step=t,
        agent=agents,
        received=received,
        focal_post=focal,
        focal_source=ex.source[focal_row],
        focal_stance=posts.stance[focal],
        focal_emotion=posts.emotion[focal],
        focal_age=t - posts.step[focal],
        focal_labelled=posts.labelled[focal],
        emotion=state.emotion[agents],
        attitude=state.attitude[agents],
        category=population.category[agents],
        age=population.age[agents],
        gender=population.gender[agents],
        occupation=population.occupation[agents],
        actions_taken=state.actions_taken[agents],
        was_aware=was_aware,
        minutes_per_step=sim.scenario.minutes_per_step,
        context=sim.view,
        **derived,
    )


def quote_inputs(sim: "Simulation", agents: np.ndarray, focal: np.ndarray) -> dict:
    """What the quote model reads: the focal post's depth and kind, its event's forwards so far, and
    each agent's own quote propensity (a keyed draw from the model's Beta law; NaN without a model)."""
    posts = sim.posts
    focal_root = posts.root[focal]
    return dict(
        focal_depth=posts.depth[focal],
        focal_quoted=posts.action[focal] == Action.QUOTE,
        thread_quotes=padded(sim.thread_quotes, len(posts))[focal_root].astype(np.float64),
        thread_forwards=padded(sim.thread_forwards, len(posts))[focal_root].astype(np.float64),
        quote_propensity=sim.quote_propensity()[agents],
    )
