"""The engine: determinism, reset, snapshots and branches, and the step phases."""

import numpy as np
import pytest

from s3core.interventions import Moderation, SeedPost
from s3core.types import Action, Attitude, Emotion

SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)


def _curves(records):
    return [(r.metrics, r.changes["agent"].tolist(), r.posts["post_id"].tolist(), r.posts["text"]) for r in records]


def test_same_seed_same_run_and_different_seed_differs(make_sim):
    a = _curves(make_sim(seed=4, interventions=SEED).run(8))
    b = _curves(make_sim(seed=4, interventions=SEED).run(8))
    c = _curves(make_sim(seed=5, interventions=SEED).run(8))
    assert a == b
    assert a != c


def test_reset_replays_the_run(make_sim):
    sim = make_sim(interventions=SEED)
    first = _curves(sim.run(5))
    sim.reset()
    assert sim.step_index == 0 and not sim.state.aware.any() and len(sim.posts) == 0
    assert _curves(sim.run(5)) == first


def test_branch_without_change_replays_and_with_change_diverges(make_sim):
    sim = make_sim(interventions=SEED)
    sim.run(3)
    snap = sim.snapshot()
    same = sim.branch(snap)
    rest = _curves(sim.run(4))
    assert _curves(same.run(4)) == rest
    removed = sim.branch(snap, interventions=SEED + (Moderation(step=3, action="remove", post="event"),))
    assert _curves(removed.run(4)) != rest
    assert snap.step == 3


def test_the_event_spreads_and_agents_act(make_sim):
    records = make_sim(interventions=SEED).run(10)
    aware = [r.metrics["aware"] for r in records]
    assert aware[-1] > aware[0] > 0
    assert aware == sorted(aware), "awareness never decreases"
    totals = {a: sum(r.metrics[a] for r in records) for a in ("repost", "quote", "post")}
    assert all(v > 0 for v in totals.values()), totals
    for r in records:
        shares = r.metrics["calm"] + r.metrics["moderate"] + r.metrics["intense"]
        assert shares == pytest.approx(1.0)


def test_posts_follow_their_actions(make_sim):
    sim = make_sim(interventions=SEED)
    sim.run(8)
    posts = sim.posts
    reposts = posts.action == Action.REPOST
    quotes = posts.action == Action.QUOTE
    new = (posts.action == Action.POST) & (posts.author >= 0)
    assert (posts.text_id[reposts] == posts.text_id[posts.parent[reposts]]).all(), (
        "a repost forwards the text unchanged"
    )
    assert (posts.parent[new] == -1).all() and (posts.depth[new] == 0).all()
    assert (posts.depth[quotes] == posts.depth[posts.parent[quotes]] + 1).all()
    pool_texts = set(sim.text.texts)
    assert all(sim.text_of(int(t)) in pool_texts for t in posts.text_id[quotes | new]), "generated texts are real texts"


def test_a_quote_carries_a_comment_text_matching_the_author_state(make_sim):
    sim = make_sim(interventions=SEED)
    sim.run(8)
    posts, pool = sim.posts, sim.text.pool
    quotes = np.flatnonzero(posts.action == Action.QUOTE)
    assert len(quotes)
    tid = posts.text_id[quotes]
    matched = (pool.attitude[tid] == posts.stance[quotes]).mean()
    assert matched > 0.9, "retrieval matches the author's stance (falls back only when a bucket is empty)"


def test_memory_pools_hold_received_posts(make_sim):
    sim = make_sim(interventions=SEED)
    sim.run(4)
    held = sim.state.mem_post >= 0
    assert held.any(axis=1)[sim.state.aware].mean() > 0.9
    assert not held[~sim.state.aware].any(), "unaware agents have received nothing"


def test_breakdowns_add_up_to_the_population(make_sim):
    sim = make_sim(interventions=SEED)
    rec = sim.run(4)[-1]
    b = rec.breakdown
    for dim in ("category", "gender", "occupation", "age_bracket"):
        rows = [i for i, d in enumerate(b["dimension"]) if d == dim]
        assert sum(b["agents"][i] for i in rows) == sim.network.n_users
        assert sum(b["aware"][i] for i in rows) == rec.metrics["aware"]
        positive = sum(b["positive"][i] * b["aware"][i] for i in rows)
        assert positive == pytest.approx(rec.metrics["positive"] * rec.metrics["aware"])
    cat = {b["group"][i]: b["aware"][i] for i, d in enumerate(b["dimension"]) if d == "category"}
    for group, count in cat.items():
        assert count == int((sim.state.aware & (sim.population.category == group)).sum())
