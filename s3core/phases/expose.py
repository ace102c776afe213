"""Phase 2 of a step: who sees which post, from followees (with feed delays), the recommender and boosts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import feeds
from .. import interventions as iv

if TYPE_CHECKING:
    from ..engine import Simulation


def build_feeds(sim: "Simulation", t: int, fresh: np.ndarray) -> feeds.Exposures:
    """This step's deliveries: followees' posts due now (``fresh`` posts fan out first), the recommender's, boosts'."""
    p = sim.scenario.platform
    due, deliveries = feeds.fan_out(
        sim.network,
        sim.posts,
        fresh,
        sim.official_followers,
        p,
        sim.random,
        t,
        sim.scenario.minutes_per_step,
        delay_scale(sim),
    )
    sim.feed_queue.add(due, **deliveries)
    parts = [
        feeds.deliver(sim.feed_queue.pop(t), sim.posts, p),
        feeds.from_recommender(sim.posts, sim.population, sim.text_vectors, t, p, sim.random),
    ]
    for index, boost in iv.active_boosts(sim.scenario.interventions, t):
        target = sim.resolve_posts(boost.post) if boost.post is not None else np.zeros(0, np.int64)
        key = sim.intervention_keys[index]
        parts.append(
            feeds.from_boost(boost, key, target, sim.posts, sim.population, t, p, sim.random, sim.network.user_ids)
        )
    return feeds.Exposures.concat(parts)


def delay_scale(sim: "Simulation") -> np.ndarray | None:
    """Per agent, how many times sooner than typical it reads its feed: (posts made / median) ** activity_delay."""
    exponent = sim.scenario.platform.activity_delay
    if exponent <= 0:
        return None
    if sim.delay_scale_cache is None or sim.delay_scale_cache[0] != exponent:
        users = sim.network.users
        if users is not None and "messages" in users:
            activity = users["messages"].to_numpy(dtype=np.float64)
        else:
            activity = sim.network.activity().astype(np.float64)
        activity = np.maximum(activity, 1.0)
        sim.delay_scale_cache = (exponent, (activity / np.median(activity)) ** exponent)
    return sim.delay_scale_cache[1]
