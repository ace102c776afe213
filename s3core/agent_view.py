"""One agent as a person reads it: profile, current state, memory pool with every influence factor, and its last
decision (where the policy records decisions). The dashboard's inspector and agent interviews both read this."""

from __future__ import annotations

import numpy as np

from .memory import pool_rows
from .state import OFFICIAL
from .types import Attitude, Emotion, Source


def inspect(sim, agent: int) -> dict:
    """A plain dict of agent ``agent`` of ``sim`` now (``step`` is the next step to run).

    Keys: agent, user_id, step, age, gender, occupation, category (enum codes), followers, followees,
    history_stance (share positive, None without history), aware, aware_step, emotion, attitude, actions_taken,
    ``pool`` (one dict per remembered post: post, author, arrived_step, source, temporal, relevance, authenticity,
    score, stance, emotion, labelled, removed, text) and ``decision`` (the policy's ``last(agent)`` with
    ``focal_text`` and ``focal_author``, or None).
    """
    pop, state, net, params = sim.population, sim.state, sim.network, sim.scenario.memory
    step = sim.step_index
    pool = pool_rows(state, params, agent, step)
    source_scores = params.source_scores()
    for row in pool:
        src = source_scores[row["source"]]
        row["source"] = Source(row["source"]).name.lower()
        row["authenticity"] = src
        row["relevance"] = (
            (row["static"] - params.weight_source * src) / params.weight_relevance
            if params.weight_relevance > 0
            else float("nan")
        )
        p = row["post"]
        row["stance"] = Attitude(int(sim.posts.stance[p])).name.lower()
        row["emotion"] = Emotion(int(sim.posts.emotion[p])).name.lower()
        author = int(sim.posts.author[p])
        row["author"] = "official account" if author == OFFICIAL else str(net.user_ids[author])
        row["removed"] = bool(sim.posts.removed[p])
        row["labelled"] = bool(sim.posts.labelled[p])
        row["text"] = sim.text_of(int(sim.posts.text_id[p]))
    last = getattr(sim.policy, "last", None)  # policies that record decisions (the dashboard's)
    decision = last(agent) if callable(last) else None
    if decision is not None:
        p = int(decision["focal_post"])
        decision["focal_text"] = sim.text_of(int(sim.posts.text_id[p]))
        author = int(sim.posts.author[p])
        decision["focal_author"] = "official account" if author == OFFICIAL else str(net.user_ids[author])
    history = pop.history_stance[agent]
    return {
        "agent": agent,
        "user_id": str(net.user_ids[agent]),
        "step": step,
        "age": int(pop.age[agent]),
        "gender": int(pop.gender[agent]),
        "occupation": int(pop.occupation[agent]),
        "category": int(pop.category[agent]),
        "followers": int(net.follower_count[agent]),
        "followees": int(net.followee_count[agent]),
        "history_stance": None if np.isnan(history) else float(history),
        "aware": bool(state.aware[agent]),
        "aware_step": int(state.aware_step[agent]),
        "emotion": int(state.emotion[agent]),
        "attitude": int(state.attitude[agent]),
        "actions_taken": int(state.actions_taken[agent]),
        "pool": pool,
        "decision": decision,
    }
