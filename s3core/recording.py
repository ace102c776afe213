"""Frozen per-step records: what changed, what was posted and the population metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .types import Action

if TYPE_CHECKING:
    from .engine import Simulation

BREAKDOWN_DIMENSIONS = ("category", "gender", "occupation", "age_bracket")


@dataclass(frozen=True)
class StepRecord:
    """Everything a step produced; traces, charts and metrics read these, never the live model."""

    step: int
    minutes: float
    metrics: dict
    changes: dict  # agent, aware, emotion, attitude arrays of agents whose state changed
    posts: dict  # column arrays of the posts made this step, plus their texts
    breakdown: dict  # dimension, group, agents, aware, positive, intense, mean_emotion arrays
    exposure_sources: dict = None  # deliveries this step by channel: followee, mutual, recommended
    # one dict per seed post injected so far: seed (name or "#<index in interventions>"), root (its post id),
    # aware (agents who received a post of its cascade, cumulative), new_aware (this step), posts (of its
    # cascade made this step); ``seed_awareness`` says which posts a seed's cascade holds
    seed_metrics: list = None


def population_metrics(aware: np.ndarray, emotion: np.ndarray, attitude: np.ndarray) -> dict:
    """Aware count, emotion shares and positive share among aware agents."""
    n_aware = int(aware.sum())
    levels = np.bincount(emotion[aware], minlength=3) if n_aware else np.zeros(3, np.int64)
    denom = max(n_aware, 1)
    return {
        "aware": n_aware,
        "calm": float(levels[0] / denom),
        "moderate": float(levels[1] / denom),
        "intense": float(levels[2] / denom),
        "positive": float(attitude[aware].sum() / denom) if n_aware else 0.0,
    }


def cell_counts(sim: "Simulation") -> dict[str, np.ndarray]:
    """Per joint demographic cell: aware agents, positive ones, intense ones and the sum of emotion levels."""
    pop, state = sim.population, sim.state
    joint, dims = pop.groups()
    aware = np.flatnonzero(state.aware)
    cell = joint[aware]
    cells = len(dims["category"][0])
    emotion = state.emotion[aware]
    return {
        "aware": np.bincount(cell, minlength=cells),
        "positive": np.bincount(cell, weights=state.attitude[aware], minlength=cells),
        "intense": np.bincount(cell, weights=emotion == 2, minlength=cells),
        "emotion": np.bincount(cell, weights=emotion, minlength=cells),
    }


def breakdown(sim: "Simulation", per_cell: dict[str, np.ndarray] | None = None) -> dict:
    """Per-group awareness, attitude and emotion for each demographic dimension and user category.

    Counts are taken once over the joint cells of all dimensions (``per_cell``, from
    ``cell_counts`` or a running tally), then summed per dimension.
    """
    _, dims = sim.population.groups()
    per_cell = per_cell if per_cell is not None else cell_counts(sim)
    columns = {k: [] for k in ("dimension", "group", "agents", "aware", "positive", "intense", "mean_emotion")}
    for dim in BREAKDOWN_DIMENSIONS:
        cell_group, agents = dims[dim]
        size = len(agents)
        n_aware, positive, intense, emo = (
            np.bincount(cell_group, weights=per_cell[k], minlength=size)
            for k in ("aware", "positive", "intense", "emotion")
        )
        denom = np.maximum(n_aware, 1)
        present = np.flatnonzero(agents)
        columns["dimension"].extend([dim] * len(present))
        columns["group"].extend(present.tolist())
        columns["agents"].extend(agents[present].tolist())
        columns["aware"].extend(n_aware[present].astype(np.int64).tolist())
        columns["positive"].extend((positive[present] / denom[present]).tolist())
        columns["intense"].extend((intense[present] / denom[present]).tolist())
        columns["mean_emotion"].extend((emo[present] / denom[present]).tolist())
    return columns


def record_step(
    sim: "Simulation", t: int, before: tuple | None, exposures, batch, decisions, first_post: int
) -> StepRecord:
    """Build the frozen record of step ``t`` from the state before it and the live state after.

    ``before``: the (aware, emotion, attitude) arrays of every agent before the step (the
    reference: a scan of every agent), or None to read the step's touched agents from
    ``sim.journal`` and the metrics from ``sim.tally`` (work proportional to the frontier).
    """
    state = sim.state
    if before is None:
        touched, aware0, emotion0, attitude0 = sim.journal.touched()
        differs = (aware0 != state.aware[touched]) | (emotion0 != state.emotion[touched])
        differs |= attitude0 != state.attitude[touched]
        changed = touched[differs]
        sim.tally.move(changed, aware0[differs], emotion0[differs], attitude0[differs], state)
        new_aware = int((state.aware[changed] & ~aware0[differs]).sum())
        metrics = sim.tally.metrics()
        per_cell = sim.tally.per_cell()
    else:
        aware0, emotion0, attitude0 = before
        changed = np.flatnonzero((aware0 != state.aware) | (emotion0 != state.emotion) | (attitude0 != state.attitude))
        new_aware = int((state.aware & ~aware0).sum())
        metrics = population_metrics(state.aware, state.emotion, state.attitude)
        per_cell = None
    counts = np.bincount(decisions.action, minlength=4) if len(batch) else np.zeros(4, np.int64)
    posts = sim.posts
    new = slice(first_post, len(posts))
    depth_levels = np.flatnonzero(sim.depth_counts)
    metrics.update(
        {
            "new_aware": new_aware,
            "exposures": int(len(exposures)),
            "exposed": int(len(batch)),
            **{a.name.lower(): int(counts[a]) for a in Action},
            "posts": int(len(posts) - first_post),
            "max_depth": int(depth_levels.max()) if len(depth_levels) else 0,
            "max_breadth": int(sim.depth_counts.max()),
            "fallbacks": int(decisions.fallback.sum()) if decisions.fallback is not None else 0,
        }
    )
    post_columns = {
        name: posts.column(name)[new].copy()
        for name in ("author", "parent", "root", "action", "stance", "emotion", "depth", "text_id")
    }
    post_columns["post_id"] = np.arange(first_post, len(posts), dtype=np.int64)
    post_columns["text"] = sim.texts_of(post_columns["text_id"])
    return StepRecord(
        step=t,
        minutes=(t + 1) * sim.scenario.minutes_per_step,
        metrics=metrics,
        changes={
            "agent": changed,
            "aware": state.aware[changed].copy(),
            "emotion": state.emotion[changed].copy(),
            "attitude": state.attitude[changed].copy(),
        },
        posts=post_columns,
        breakdown=breakdown(sim, per_cell),
        exposure_sources={
            name: int(n)
            for name, n in zip(("followee", "mutual", "recommended"), np.bincount(exposures.source, minlength=3)[:3])
        },
        seed_metrics=sim.seed_awareness.rows(post_columns["post_id"]),
    )
