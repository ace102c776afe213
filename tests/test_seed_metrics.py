"""Awareness per seed post: a rumour and its correction each have their own reach, in records and traces."""

import duckdb
import numpy as np

from s3core import compiled
from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.runner import open_run, record, run_to_trace
from s3core.trace import TraceStore
from s3core.types import Attitude, Emotion

CORRECTION_STEP = 4
SEEDS = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="rumour", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
    SeedPost(step=CORRECTION_STEP, text="辟谣：核电站没有泄漏", stance=Attitude.POSITIVE, emotion=Emotion.CALM),
)
KEYS = {"seed", "root", "aware", "new_aware", "posts"}


def _rows(records):
    return [(r.step, r.seed_metrics) for r in records]


def test_each_seed_has_its_own_reach_and_together_they_make_aware(make_sim):
    sim = make_sim(seed=3, interventions=SEEDS)
    records = sim.run(10)
    for r in records[:CORRECTION_STEP]:
        assert [row["seed"] for row in r.seed_metrics] == ["rumour"], "the correction has no row before its step"
        assert r.seed_metrics[0]["aware"] == r.metrics["aware"], "with one seed its reach is the aware count"
    correction = [r.seed_metrics[1] for r in records[CORRECTION_STEP:]]
    assert correction[0]["seed"] == "#1" and correction[0]["root"] == int(sim.seed_awareness.roots[1])
    assert correction[0]["aware"] == correction[0]["new_aware"], "the correction starts from 0 at its step"
    assert sim.posts.step[correction[0]["root"]] == CORRECTION_STEP and sim.posts.author[correction[0]["root"]] == -1
    running = {"rumour": 0, "#1": 0}
    for r in records:
        assert {row["seed"] for row in r.seed_metrics} <= set(running)
        for row in r.seed_metrics:
            assert row.keys() == KEYS
            assert 0 <= row["aware"] <= r.metrics["aware"]
            running[row["seed"]] += row["new_aware"]
            assert row["aware"] == running[row["seed"]], "aware is the running sum of new_aware"
        assert sum(row["posts"] for row in r.seed_metrics) == len(r.posts["post_id"]), "every post has one seed"
    assert 0 < correction[-1]["aware"] < records[-1].metrics["aware"]
    mask = sim.seed_awareness.mask
    assert np.count_nonzero(mask) == records[-1].metrics["aware"], "the seeds' reaches together are the aware agents"
    assert not (mask.astype(bool) & ~sim.state.aware).any()
    assert np.count_nonzero(mask == 3) == sum(row["aware"] for row in records[-1].seed_metrics) - np.count_nonzero(
        mask
    ), "agents aware of both seeds are counted in both reaches"


def test_the_rumour_reach_is_the_cascade_of_posts_descending_from_it(make_sim):
    sim = make_sim(seed=3, interventions=SEEDS)
    sim.run(8)
    posts, seeds = sim.posts, sim.seed_awareness
    of_post = seeds.seed_of(np.arange(len(posts)))
    forwards = posts.parent >= 0
    assert (of_post[forwards] == of_post[posts.parent[forwards]]).all(), "a forward is in its parent's cascade"
    assert (of_post[posts.root] == of_post).all(), "a post is in its root's cascade"
    assert of_post[seeds.roots[0]] == 0 and of_post[seeds.roots[1]] == 1
    assert (of_post >= 0).all()


def test_deterministic_for_a_seed_and_the_same_with_either_kernels(make_sim):
    a = _rows(make_sim(seed=7, interventions=SEEDS).run(8))
    assert a == _rows(make_sim(seed=7, interventions=SEEDS).run(8))
    assert a != _rows(make_sim(seed=8, interventions=SEEDS).run(8))
    with compiled.use_kernels("numpy"):
        reference = _rows(make_sim(seed=7, interventions=SEEDS).run(8))
    assert reference == a


def test_a_branch_from_a_snapshot_continues_the_per_seed_counts(make_sim):
    sim = make_sim(seed=3, interventions=SEEDS)
    sim.run(CORRECTION_STEP + 1)
    snap = sim.snapshot()
    branch = sim.branch(snap)
    assert _rows(branch.run(4)) == _rows(sim.run(4))


def test_a_checkpoint_without_per_seed_arrays_still_restores(make_sim):
    sim = make_sim(seed=3, interventions=SEEDS)
    sim.run(2)
    old = {k: v for k, v in sim.state_arrays().items() if not k.startswith("seed_aware_")}
    other = make_sim(seed=3, interventions=SEEDS)
    other.restore(old)
    later = other.run(4)
    assert [row["seed"] for row in later[-1].seed_metrics] == ["#1"], "only seeds posted after the resume are known"
    assert later[-1].metrics == sim.run(4)[-1].metrics, "the population metrics do not depend on it"


def test_the_trace_table_survives_resume_and_old_traces_open(tmp_path, text, small_network):
    sc = S.Scenario(seed=3, steps=9, run=S.RunOptions(checkpoint_every=3)).replace(interventions=SEEDS)
    run_to_trace(sc, tmp_path / "full.duckdb", sim=Simulation(sc, network=small_network, text=text))
    sim, store = open_run(sc, tmp_path / "part.duckdb", sim=Simulation(sc, network=small_network, text=text))
    for _ in range(7):  # checkpoint after step 5 (correction at step 4): step 6 is redone
        record(sim, store, sim.step(), sc.steps - 1)
    store.close()
    run_to_trace(sc, tmp_path / "part.duckdb", resume=True, sim=Simulation(sc, network=small_network, text=text))
    with (
        TraceStore(tmp_path / "full.duckdb", read_only=True) as full,
        TraceStore(tmp_path / "part.duckdb", read_only=True) as part,
    ):
        expected = full.seed_metrics()
        assert expected.equals(part.seed_metrics())
        metrics = full.metrics()
    assert list(expected.columns) == ["step", "seed", "root", "aware", "new_aware", "posts"]
    assert len(expected) == CORRECTION_STEP + 2 * (sc.steps - CORRECTION_STEP)
    last = expected[expected.step == sc.steps - 1]
    assert set(last.seed) == {"rumour", "#1"} and (last.aware <= int(metrics.aware.iloc[-1])).all()
    con = duckdb.connect(str(tmp_path / "full.duckdb"))
    con.execute("DROP TABLE seed_metrics")
    con.close()
    with TraceStore(tmp_path / "full.duckdb", read_only=True) as old:
        assert old.seed_metrics().empty and list(old.seed_metrics().columns) == list(expected.columns)
        assert len(old.metrics()) == sc.steps


def test_seeds_past_the_63rd_share_the_last_bit(make_sim):
    many = tuple(SeedPost(step=0, text=f"消息 {i}", name=f"s{i}") for i in range(66))
    sim = make_sim(seed=1, interventions=many)
    records = sim.run(2)
    rows = records[-1].seed_metrics
    assert [row["seed"] for row in rows] == [f"s{i}" for i in range(66)] and len({row["root"] for row in rows}) == 66
    shared = np.count_nonzero(sim.seed_awareness.mask >> np.uint64(63))
    assert rows[63]["aware"] == rows[64]["aware"] == rows[65]["aware"] == shared > 0
    assert np.count_nonzero(sim.seed_awareness.mask) == records[-1].metrics["aware"]
    assert sum(sum(row["posts"] for row in r.seed_metrics) for r in records) == len(sim.posts), "post counts stay exact"
