"""Honest baselines for replayed cascades: an independent cascade and the mean training curve.

Both know no more than the simulator: the synthesized network (independent cascade) or the
training cascades' shape scaled by N (mean curve).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..classical import follower_edges
from ..keyed_random import KeyedRandom, Purpose
from ..network import Network
from .metrics import CURVES, WINDOW_MINUTES, curves, nrmse
from .trees import CascadeTree, build_trees

IC_GRID = tuple(float(p) for p in np.geomspace(0.01, 1.0, 17))


def independent_cascade(
    network: Network, author: int, p: float, steps: int, minutes_per_step: float, seed: int, cascade_id: str
) -> CascadeTree:
    """The independent-cascade model (Kempe, Kleinberg and Tardos 2003) from ``author``.

    Each user who adopts at step s gives each follower one chance ``p`` to adopt at step s + 1
    (the author's post reaches followers in step 0, as in the simulator). Draws are keyed by
    (step, follower, adopter); a follower reached by several adopters takes the first success as
    parent. Times are the step's start plus a keyed offset within the step, in minutes.
    """
    random = KeyedRandom(seed)
    active = np.zeros(network.n_users, dtype=bool)
    active[author] = True
    frontier = np.array([author], dtype=np.int64)
    users, parents, times = [], [], []
    for step in range(steps):
        if len(frontier) == 0:
            break
        source, follower = follower_edges(network, frontier)
        hit = random.stream(Purpose.BASELINE_CASCADE, step).uniform(follower, source) < p
        hit &= ~active[follower]
        follower, source = follower[hit], source[hit]
        follower, first = np.unique(follower, return_index=True)
        source = source[first]
        active[follower] = True
        jitter = random.stream(Purpose.EVENT_TIME, step).uniform(follower)
        users.append(follower)
        parents.append(source)
        times.append((step + jitter) * minutes_per_step)
        frontier = follower
    user = np.concatenate(users) if users else np.zeros(0, np.int64)
    events = pd.DataFrame(
        {
            "cascade_id": cascade_id,
            "user_id": user.astype(str),
            "parent_user_id": (np.concatenate(parents) if parents else np.zeros(0, np.int64)).astype(str),
            "t_min": np.concatenate(times) if times else np.zeros(0),
            "text": "",
            "quote": False,
        }
    )
    sources = pd.DataFrame({"cascade_id": [cascade_id], "user_id": [str(author)], "text": [""]})
    return build_trees(events, sources)[cascade_id]


def ic_steps(minutes_per_step: float) -> int:
    """Steps that cover the evaluation window."""
    return max(1, math.ceil(WINDOW_MINUTES / minutes_per_step))


def mean_nrmse(simulated: dict[str, np.ndarray], real: dict[str, np.ndarray]) -> float:
    """The mean of the scale, depth and max-breadth NRMSE (NaN-aware)."""
    return float(np.nanmean([nrmse(simulated[c], real[c]) for c in CURVES]))


def fit_ic_probability(replays: list[tuple[Network, int, str, dict]], minutes_per_step: float, seed: int) -> float:
    """The single adoption probability on ``IC_GRID`` with the least mean NRMSE over training replays.

    ``replays``: (synthesized network, author index, cascade id, real curves) per training cascade.
    """
    steps = ic_steps(minutes_per_step)
    best, best_score = IC_GRID[0], math.inf
    for p in IC_GRID:
        scores = [
            mean_nrmse(curves(independent_cascade(net, author, p, steps, minutes_per_step, seed, cid)), real)
            for net, author, cid, real in replays
        ]
        score = float(np.nanmean(scores)) if scores else math.inf
        if score < best_score:
            best, best_score = p, score
    return best


def mean_curve_model(training: list[dict[str, np.ndarray]], sizes: list[int]) -> dict[str, np.ndarray]:
    """The training cascades' average curve: scale and breadth as fractions of N, depth as is."""
    if not training:
        raise ValueError("the mean-curve baseline needs at least one training cascade with participants in the window")
    n = np.asarray(sizes, dtype=np.float64)[:, None]
    return {
        "scale": np.mean(np.array([c["scale"] for c in training]) / n, axis=0),
        "max_breadth": np.mean(np.array([c["max_breadth"] for c in training]) / n, axis=0),
        "depth": np.mean([c["depth"] for c in training], axis=0),
    }


def mean_curve_prediction(model: dict[str, np.ndarray], n_users: int) -> dict[str, np.ndarray]:
    """The mean-curve baseline's curves for a cascade of ``n_users`` participants in the window."""
    return {"scale": model["scale"] * n_users, "max_breadth": model["max_breadth"] * n_users, "depth": model["depth"]}
