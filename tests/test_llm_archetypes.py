"""The archetype mode of LLM agents (one request per cell of similar agents) against the scripted server over real HTTP."""

import json

import duckdb
import numpy as np
import pytest
from llm_server import by_marker, client_settings

from s3core.interventions import SeedPost
from s3core.keyed_random import KeyedRandom, Purpose
from s3core.llm.archetype_cells import COARSENINGS, cells_of
from s3core.llm.archetypes import flush_archetype_trace
from s3core.llm.cache import LLMCache
from s3core.llm.policy import HybridPolicy, LLMPolicy, heuristic_for
from s3core.llm.subset import SubsetSpec
from s3core.policy import DecisionBatch
from s3core.runner import run_to_trace
from s3core.types import Action, Attitude, Emotion, Occupation

SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)
KEY = "sk-test-archetype-0123456789"


def archetype_settings(srv, **kw):
    return client_settings(srv, KEY, agent_mode="archetype", **kw)


def reply(emotion=(0, 0, 1), attitude=(0, 1), action=(0, 1, 0, 0), texts=()) -> str:
    """A scripted archetype reply (probabilities in enum order)."""
    return "reply=" + json.dumps(
        {
            "emotion": dict(zip(("calm", "moderate", "intense"), emotion)),
            "attitude": dict(zip(("negative", "positive"), attitude)),
            "action": dict(zip(("ignore", "repost", "quote", "post"), action)),
            "texts": list(texts),
        },
        ensure_ascii=False,
    )


def always(behaviour: str):
    return lambda body: behaviour


def hand_batch(context=None, **fields) -> DecisionBatch:
    """A batch whose unspecified fields are neutral; ``fields`` give the arrays that matter."""
    n = len(fields["agent"])
    base = dict(
        step=1,
        received=np.ones(n),
        mean_intensity=np.ones(n),
        max_relevance=np.ones(n),
        focal_post=np.zeros(n, np.int32),
        focal_source=np.zeros(n, np.int8),
        focal_stance=np.zeros(n, np.int8),
        focal_emotion=np.full(n, 2, np.int8),
        focal_age=np.zeros(n, np.int64),
        focal_relevance=np.ones(n),
        focal_labelled=np.zeros(n, bool),
        emotion=np.zeros(n, np.int8),
        attitude=np.zeros(n, np.int8),
        pool_positive=np.zeros(n),
        pool_weight=np.zeros(n),
        category=np.ones(n, np.uint8),
        age=np.full(n, 30, np.int16),
        gender=np.zeros(n, np.int8),
        occupation=np.zeros(n, np.int8),
        actions_taken=np.zeros(n, np.int32),
        was_aware=np.ones(n, bool),
        context=context,
    )
    base.update(fields)
    base["agent"] = np.asarray(base["agent"], np.int64)
    return DecisionBatch(**base)


def exposed(sim, n: int, seed: int = 1) -> DecisionBatch:
    """``n`` agents of the sim's network who received the seed post, in varied states (as benchmarks/llm_bench.py)."""
    rng = np.random.default_rng(seed)
    agents = np.sort(rng.choice(sim.network.n_users, size=n, replace=False))
    pop = sim.population
    return hand_batch(
        context=sim.view,
        agent=agents,
        received=rng.integers(1, 4, n).astype(float),
        emotion=rng.integers(0, 3, n).astype(np.int8),
        attitude=rng.integers(0, 2, n).astype(np.int8),
        pool_positive=rng.random(n).round(1),
        pool_weight=(rng.random(n) < 0.5).astype(float),
        was_aware=rng.random(n) < 0.5,
        category=pop.category[agents],
        age=pop.age[agents],
        gender=pop.gender[agents],
        occupation=pop.occupation[agents],
        focal_relevance=rng.random(n),
    )


@pytest.fixture
def stepped(make_sim):
    sim = make_sim(seed=2, steps=5, interventions=SEED)
    sim.step()
    return sim


def decide(policy, batch):
    return policy.decide(batch, KeyedRandom(7).at(batch.step))


# ---- cells ---------------------------------------------------------------------------------------


def test_cells_group_by_profile_state_and_thread():
    roots = np.array([0, 1, 0, 1, 4])  # posts 0, 1 and 4 start threads; 2 and 3 answer 0 and 1
    b = hand_batch(
        agent=[10, 11, 12, 13, 14, 15, 16],
        focal_post=np.array([0, 2, 1, 2, 4, 0, 2], np.int32),  # threads 0, 0, 1, 0, 2, 0, 0
        occupation=np.array([0, 0, 0, 0, 0, 3, 0], np.int8),
        age=np.array([30, 30, 30, 30, 30, 30, 70], np.int16),
        received=np.array([1.0, 3.0, 1, 5, 1, 1, 1]),
        pool_weight=np.array([1.0, 0, 0, 1.0, 0, 0, 0]),
        pool_positive=np.array([0.2, 0.9, 0, 0.6, 0, 0, 0]),
    )
    cells = cells_of(b, roots)
    assert cells.fields == COARSENINGS[0] and cells.coarsened == 0
    # rows 0, 1, 3 share everything (thread 0); the others each differ in one field
    assert cells.of_row[0] == cells.of_row[1] == cells.of_row[3]
    assert len(set(cells.of_row.tolist())) == 5 and len(cells) == 5
    c = cells.of_row[0]
    assert cells.size[c] == 3 and cells.mean_received[c] == pytest.approx(3.0)
    assert cells.pool_positive[c] == pytest.approx(0.4)  # members with a pool only
    assert cells.representative[c] == 1  # post 2 is the cell's most common focal post; row 1 holds it first
    assert cells.key(c) == {
        "category": "regular",
        "age": "25-39",
        "gender": "female",
        "occupation": "education",
        "emotion": "calm",
        "attitude": "negative",
        "thread": 0,
    }
    assert np.isnan(cells.pool_positive[cells.of_row[2]])
    assert cells.key(cells.of_row[4])["thread"] == 4 and cells.key(cells.of_row[6])["age"] == "60 or older"
    assert cells.size.sum() == len(b)
    # coarsening: occupation goes first, then the age bracket
    two = cells_of(b, roots, max_cells=4)
    assert "occupation" not in two.fields and "age_bracket" in two.fields and two.coarsened == 1
    assert two.of_row[5] == two.of_row[0] and len(two) == 4
    three = cells_of(b, roots, max_cells=3)
    assert three.fields == COARSENINGS[2] and three.of_row[6] == three.of_row[0] and len(three) == 3
    # then the threads with fewest members fold into one: thread 0 (five members) stays, threads 1 and 4 merge
    folded = cells_of(b, roots, max_cells=2)
    assert folded.coarsened == len(COARSENINGS) and len(folded) == 2
    assert folded.of_row[2] == folded.of_row[4] != folded.of_row[0]
    assert folded.key(folded.of_row[2])["thread"] == "other" and folded.key(folded.of_row[0])["thread"] == 0


def test_threads_below_one_percent_of_the_deciders_share_one_value():
    roots = np.array([0, 1, 2])  # three threads: every post starts its own
    focal = np.r_[np.zeros(150), np.ones(49), [2]].astype(np.int32)
    cells = cells_of(hand_batch(agent=np.arange(200), focal_post=focal), roots)
    assert len(cells) == 3 and cells.size.tolist() == [150, 49, 1]
    assert [cells.key(c)["thread"] for c in range(3)] == [0, 1, "other"]  # 1 member < 1% of 200
    cells = cells_of(hand_batch(agent=np.arange(201), focal_post=np.r_[focal, [1]]), roots)
    assert [cells.key(c)["thread"] for c in range(len(cells))] == [0, 1, "other"]
    two = cells_of(hand_batch(agent=np.arange(200), focal_post=np.r_[focal[:-1], [1]]), roots)
    assert [two.key(c)["thread"] for c in range(len(two))] == [0, 1]


def test_cells_of_a_million_agents_take_well_under_a_second():
    import time

    n = 1_000_000
    rng = np.random.default_rng(0)
    b = hand_batch(
        agent=np.arange(n),
        focal_post=rng.integers(0, 50, n).astype(np.int32),
        emotion=rng.integers(0, 3, n).astype(np.int8),
        attitude=rng.integers(0, 2, n).astype(np.int8),
        category=rng.integers(0, 3, n).astype(np.uint8),
        age=rng.integers(15, 80, n).astype(np.int16),
        gender=rng.integers(0, 3, n).astype(np.int8),
        occupation=rng.integers(0, 10, n).astype(np.int8),
    )
    roots = np.repeat([0, 10], 25)  # two threads
    t = time.perf_counter()
    cells = cells_of(b, roots)
    seconds = time.perf_counter() - t
    assert cells.coarsened == 1 and len(cells) == 3 * 4 * 3 * 3 * 2 * 2  # 4,320 full cells: occupation dropped
    assert cells.size.sum() == n
    assert seconds < 1.0, seconds


# ---- draws from the cells -----------------------------------------------------------------------


def test_members_draw_from_their_cell_distribution(srv, stepped):
    batch = exposed(stepped, 1500)
    srv.rule = always(reply(emotion=(0, 0, 1), attitude=(0, 1), action=(0, 1, 0, 0)))
    policy = LLMPolicy(archetype_settings(srv))
    try:
        d = decide(policy, batch)
    finally:
        policy.close()
    cells = cells_of(batch)
    assert srv.count == len(cells) < len(batch)  # one request per occupied cell
    assert (d.action == Action.REPOST).all() and (d.emotion == Emotion.INTENSE).all()
    assert (d.attitude == Attitude.POSITIVE).all() and not d.fallback.any()
    assert policy.stats.decisions == len(batch) and policy.stats.fallbacks == 0

    # half ignore, half post with one of two texts: the members' keyed ACTION and TEXT_CHOICE draws decide who
    srv.reset()
    srv.rule = always(reply(action=(1, 0, 0, 1), texts=["甲说", "乙说", ""]))
    policy = LLMPolicy(archetype_settings(srv))
    try:
        d = decide(policy, batch)
    finally:
        policy.close()
    u = KeyedRandom(7).at(batch.step).uniform(Purpose.ACTION, batch.agent)
    assert np.array_equal(d.action == Action.POST, u >= 0.5)  # inverse CDF on the keyed uniforms
    assert set(d.action.tolist()) == {Action.IGNORE, Action.POST}
    written = [t for t in d.text if t is not None]
    assert len(written) == (d.action == Action.POST).sum() and set(written) == {"甲说", "乙说"}
    assert all(t is None for t, a in zip(d.text, d.action) if a == Action.IGNORE)


def test_too_many_cells_are_coarsened_and_the_user_told_once(srv, stepped, monkeypatch):
    from s3core.llm import archetypes

    monkeypatch.setattr(archetypes, "MAX_CELLS", 100)
    batch = exposed(stepped, 1500)
    assert len(cells_of(batch)) > 100
    policy = LLMPolicy(archetype_settings(srv))
    try:
        decide(policy, batch)
        decide(policy, batch)
    finally:
        policy.close()
    assert policy.stats.requests == srv.count <= 2 * 100  # two steps, no cache
    (notice,) = policy.stats.notices
    assert "coarsened (without age_bracket, occupation)" in notice
    assert all("occupation" not in json.loads(r[2]) for r in policy._archetype_rows)


def test_archetype_decisions_are_deterministic_for_a_seed(srv, stepped):
    batch = exposed(stepped, 800)
    runs = []
    for _ in range(2):
        policy = LLMPolicy(archetype_settings(srv))
        try:
            runs.append(decide(policy, batch))
        finally:
            policy.close()
    a, b = runs
    for field in ("emotion", "attitude", "action", "fallback"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert a.text == b.text and any(t is not None for t in a.text)
    assert len(set(a.action.tolist())) > 1  # the scripted numbers spread: members of one cell differ


def test_an_invalid_cell_falls_back_for_its_members_only(srv, stepped):
    batch = exposed(stepped, 1200)
    srv.rule = by_marker(
        {
            "occupation: engineer": [reply(emotion=(0, 0, 0))] * 1000,  # all-zero emotion: not a distribution
            "occupation: medical personnel": ["malformed"] * 1000,  # unusable twice: the call fails
        }
    )
    srv.default = reply(action=(0, 1, 0, 0))
    policy = LLMPolicy(archetype_settings(srv))
    try:
        base = heuristic_for(batch.context).decide(batch, KeyedRandom(7).at(batch.step))
        d = decide(policy, batch)
    finally:
        policy.close()
    bad = np.isin(batch.occupation, (Occupation.ENGINEER, Occupation.MEDICAL))
    assert bad.any() and (~bad).any()
    assert np.array_equal(d.fallback, bad)
    for field in ("emotion", "attitude", "action"):
        assert np.array_equal(getattr(d, field)[bad], getattr(base, field)[bad]), field
    assert (d.action[~bad] == Action.REPOST).all()
    assert policy.stats.fallbacks == bad.sum()
    rows = policy._trace
    assert sum(not r[3] for r in rows) == len({c for c in cells_of(batch).of_row[bad].tolist()})
    assert {r[5] for r in rows if not r[3]} == {"invalid"}


def test_a_rerun_makes_zero_requests(srv, stepped, tmp_path):
    batch = exposed(stepped, 600)
    results, counts = [], []
    for _ in range(2):
        policy = LLMPolicy(archetype_settings(srv), LLMCache(tmp_path / "cache"))
        try:
            results.append(decide(policy, batch))
        finally:
            policy.close()
        counts.append(srv.count)
    assert counts[0] == len(cells_of(batch)) and counts[1] == counts[0], "a rerun must not send a single request"
    assert np.array_equal(results[0].action, results[1].action) and results[0].text == results[1].text


# ---- whole runs ---------------------------------------------------------------------------------


def _run(make_sim, tmp_path, name, policy, steps=3):
    sim = make_sim(seed=2, steps=steps, interventions=SEED)
    sim.policy = policy
    out = tmp_path / f"{name}.duckdb"
    try:
        summary = run_to_trace(sim.scenario, out, sim=sim)
        con = duckdb.connect(str(out))
        policy.write_trace(con)
        flush_archetype_trace(policy.llm, con)  # a no-op once LLMPolicy.write_trace does it itself
        con.close()
    finally:
        policy.close()
    return summary, out


def test_the_trace_holds_one_row_per_cell(srv, make_sim, tmp_path):
    policy = HybridPolicy(LLMPolicy(archetype_settings(srv)), SubsetSpec(share=0.5))
    summary, out = _run(make_sim, tmp_path, "trace", policy)
    stats = policy.stats
    con = duckdb.connect(str(out), read_only=True)
    cells = con.execute(
        "SELECT step, cell, key, members, prompt, reply, ok, error, cached, tokens FROM llm_archetypes ORDER BY step, cell"
    ).fetchall()
    calls = con.execute("SELECT count(*), count(DISTINCT kind) FROM llm_calls").fetchone()
    fallbacks = con.execute("SELECT sum(fallbacks) FROM metrics").fetchone()[0]
    con.close()
    assert len(cells) == stats.requests == calls[0] > 0 and calls[1] == 1
    assert sum(r[3] for r in cells) == stats.decisions  # every LLM decision belongs to exactly one cell
    step, cell, key, members, prompt, answer, ok, error, cached, tokens = cells[0]
    assert cell == 0 and members >= 1 and ok and error is None and not cached and tokens > 0
    key = json.loads(key)
    assert {"category", "gender", "emotion", "attitude", "thread"} <= set(key)
    assert json.loads(prompt)[1]["content"].count(f"({members} users)") == 1
    assert set(json.loads(answer)) == {"emotion", "attitude", "action", "texts"}
    assert len({(r[0], r[1]) for r in cells}) == len(cells)  # cell ids are unique within a step
    assert fallbacks == stats.fallbacks == 0


def test_a_hybrid_population_mixes_modes(srv, stepped):
    batch = exposed(stepped, 1500)
    srv.rule = always(reply(action=(0, 0, 0, 1), texts=["群体文本"]))
    subset = np.zeros(stepped.network.n_users, bool)
    subset[batch.agent[::3]] = True  # a third of the deciding agents are LLM agents
    llm = LLMPolicy(archetype_settings(srv))
    policy = HybridPolicy(llm, subset)
    draws = KeyedRandom(7).at(batch.step)
    try:
        d = policy.decide(batch, draws)
    finally:
        policy.close()
    base = heuristic_for(batch.context).decide(batch, draws)
    mine = subset[batch.agent]
    assert (d.action[mine] == Action.POST).all() and all(d.text[i] == "群体文本" for i in np.flatnonzero(mine))
    for field in ("emotion", "attitude", "action"):
        assert np.array_equal(getattr(d, field)[~mine], getattr(base, field)[~mine]), field
    assert all(d.text[i] is None for i in np.flatnonzero(~mine))
    assert llm.stats.decisions == mine.sum() and srv.count == len(cells_of(batch.subset(mine)))
    assert (base.action[~mine] != Action.POST).any()  # the heuristic part really is not the LLM's
