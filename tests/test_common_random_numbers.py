"""Common random numbers: arms share every draw an intervention does not touch.

No-op interventions must leave every traced row bit-identical; arms that differ by a boost
must give every agent that decides in both the same uniforms; keyed uniforms must look
uniform and independent.
"""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import Audience, Boost, Moderation, SeedPost
from s3core.keyed_random import GENERATOR, GENERATOR_VERSION, KeyedRandom, Purpose, Stream, splitmix64_reference
from s3core.policy import HeuristicPolicy
from s3core.runner import run_to_trace
from s3core.types import Action, Attitude, Emotion

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "data" / "scenarios").glob("*.toml"))
TRACED_TABLES = {
    "posts": "post_id",
    "states": "step, agent",
    "metrics": "step",
    "breakdown": "step, dimension, grp",
}
EMPTY_AUDIENCE = Audience(kind="group", age_min=119, age_max=120)  # ages are 10..100


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY {order}").df() for t, order in TRACED_TABLES.items()}


def _assert_identical(a: dict, b: dict) -> None:
    for table in TRACED_TABLES:
        assert len(a[table]) > 0, f"{table} is empty: nothing was compared"
        pd.testing.assert_frame_equal(a[table], b[table], check_exact=True, obj=table)


def _never_reposted_post(sim: Simulation, window: int) -> tuple[int, int]:
    """An original post nobody ever forwards, and a step after which it is no longer delivered."""
    posts = sim.posts
    last = sim.scenario.steps - window - 2
    candidates = np.flatnonzero((posts.reposts == 0) & (posts.action == Action.POST) & (posts.step < last))
    assert len(candidates), "the baseline run made no original post that stayed unforwarded"
    pid = int(candidates[0])
    return pid, int(posts.step[pid]) + window + 1


def _no_op_interventions(scenario: S.Scenario, baseline: Simulation) -> dict[str, tuple]:
    seed_name = next(i.name for i in scenario.interventions if isinstance(i, SeedPost) and i.name)
    pid, later = _never_reposted_post(baseline, scenario.platform.recommend_window)
    return {
        "empty-audience boost": (Boost(step=1, duration=5, strength=0.5, post=seed_name, audience=EMPTY_AUDIENCE),),
        "downrank of a post never reposted": (Moderation(step=later, action="downrank", post=pid, strength=0.2),),
        "seed post after the last step": (SeedPost(step=scenario.steps + 3, text="迟到的帖子", name="late"),),
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed_offset", [0, 1])
def test_no_op_interventions_leave_every_traced_row_identical(path, seed_offset, tmp_path, text):
    scenario = S.load(path)
    # 90 ten-minute steps cover every shipped intervention (the last starts at step 84)
    scenario = scenario.replace(seed=scenario.seed + seed_offset, steps=min(scenario.steps, 90))
    assert all(item.step < scenario.steps for item in scenario.interventions)
    baseline = Simulation(scenario, text=text)
    assert not (baseline.population.age >= EMPTY_AUDIENCE.age_min).any(), "the empty audience is not empty"
    run_to_trace(scenario, tmp_path / "base.duckdb", sim=baseline)
    no_ops = _no_op_interventions(scenario, baseline)
    arms = dict(no_ops) if seed_offset == 0 and path.stem == "default" else {}
    arms["all three no-ops"] = sum(no_ops.values(), ())
    base_tables = _tables(tmp_path / "base.duckdb")
    for i, (name, extra) in enumerate(arms.items()):
        arm = scenario.replace(interventions=scenario.interventions + extra)
        out = tmp_path / f"arm{i}.duckdb"
        run_to_trace(arm, out, sim=Simulation(arm, network=baseline.network, text=text, population=baseline.population))
        try:
            _assert_identical(base_tables, _tables(out))
        except AssertionError as exc:
            raise AssertionError(f"{name} changed the run: {exc}") from None


class _RecordingDraws:
    """Passes a step's keyed draws through and remembers every uniform handed out."""

    def __init__(self, inner, log):
        self.inner, self.log = inner, log

    def uniform(self, purpose, agents):
        u = self.inner.uniform(purpose, agents)
        for agent, value in zip(np.asarray(agents).tolist(), u.tolist()):
            self.log[(self.inner.step, int(purpose), agent)] = value
        return u


class _RecordingPolicy:
    def __init__(self, inner):
        self.inner, self.log = inner, {}

    def decide(self, batch, draws):
        return self.inner.decide(batch, _RecordingDraws(draws, self.log))


def test_arms_differing_by_a_boost_share_every_decision_uniform(make_sim):
    seed = SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    )
    base = make_sim(seed=3, interventions=(seed,))
    boosted = base.branch(base.snapshot(), interventions=(seed, Boost(step=2, duration=3, strength=0.2, post="event")))
    logs = []
    for sim in (base, boosted):
        sim.policy = _RecordingPolicy(HeuristicPolicy(sim.scenario.emotion, sim.scenario.attitude, sim.scenario.policy))
        sim.run(8)
        logs.append(sim.policy.log)
    shared = logs[0].keys() & logs[1].keys()
    assert logs[0].keys() != logs[1].keys(), "the boost changed nobody's exposure: the test compares nothing"
    purposes = {key[1] for key in shared}
    assert purposes == {Purpose.EMOTION, Purpose.ATTITUDE, Purpose.ACTION}
    assert len(shared) > 300
    assert all(logs[0][k] == logs[1][k] for k in shared)


def test_splitmix64_known_answers():
    assert Stream(0).bits(np.arange(5)).tolist() == splitmix64_reference(0, 5)
    assert splitmix64_reference(0, 1) == [0xE220A8397B1DCDAF]  # the published first output for seed 0
    key = KeyedRandom(7).stream(Purpose.ACTION, 3).key
    assert Stream(key).bits(np.arange(1000)).tolist() == splitmix64_reference(key, 1000)


def test_draws_depend_on_keys_not_on_call_order():
    random = KeyedRandom(11)
    agents = np.array([5, 900, 17, 3])
    whole = random.stream(Purpose.ACTION, 4).uniform(agents)
    part = random.at(4).uniform(Purpose.ACTION, agents[[2, 0]])
    np.testing.assert_array_equal(part, whole[[2, 0]])
    assert not np.array_equal(whole, random.stream(Purpose.ACTION, 5).uniform(agents))
    assert not np.array_equal(whole, KeyedRandom(12).stream(Purpose.ACTION, 4).uniform(agents))


N = 1_000_000


@pytest.mark.parametrize("purpose", [Purpose.ACTION, Purpose.ATTENTION, Purpose.RECOMMEND_REACH])
def test_keyed_uniforms_pass_chi_square(purpose):
    u = KeyedRandom(2024).stream(purpose, 9).uniform(np.arange(N))
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount((u * 1000).astype(np.int64), minlength=1000)
    assert stats.chisquare(counts).pvalue > 1e-4
    pairs = KeyedRandom(2024).stream(purpose, 9).uniform(np.arange(N) // 1000, np.arange(N) % 1000)
    assert stats.chisquare(np.bincount((pairs * 1000).astype(np.int64), minlength=1000)).pvalue > 1e-4


def test_no_correlation_between_adjacent_keys_purposes_and_steps():
    random = KeyedRandom(99)
    agents = np.arange(N)
    action = random.stream(Purpose.ACTION, 1).uniform(agents)
    limit = 5.0 / np.sqrt(N)  # five standard errors of a correlation under independence
    assert abs(np.corrcoef(action[:-1], action[1:])[0, 1]) < limit
    for other in (
        random.stream(Purpose.EMOTION, 1),
        random.stream(Purpose.ACTION, 2),
        KeyedRandom(100).stream(Purpose.ACTION, 1),
    ):
        assert abs(np.corrcoef(action, other.uniform(agents))[0, 1]) < limit
    viewers = np.repeat(np.arange(1000), 1000)
    posts = np.tile(np.arange(1000), 1000)
    pair = random.stream(Purpose.ATTENTION, 1).uniform(viewers, posts)
    shifted = random.stream(Purpose.ATTENTION, 1).uniform(viewers, posts + 1)
    assert abs(np.corrcoef(pair, shifted)[0, 1]) < limit
    swapped = random.stream(Purpose.ATTENTION, 1).uniform(posts, viewers)
    assert abs(np.corrcoef(pair, swapped)[0, 1]) < limit


def test_keyed_race_picks_in_proportion_to_weight_and_is_stable_when_a_candidate_joins():
    stream = KeyedRandom(5).stream(Purpose.RECOMMEND_PICK, 2)
    viewers = np.arange(200_000)
    keys = np.array([101, 202, 303, 404], dtype=np.uint64)
    pick = stream.choose(viewers, keys, [1.0, 2.0, 3.0, 0.0])
    share = np.bincount(pick, minlength=4) / len(viewers)
    np.testing.assert_allclose(share, [1 / 6, 2 / 6, 3 / 6, 0.0], atol=0.005)
    grown = stream.choose(viewers, np.append(keys, 505), [1.0, 2.0, 3.0, 0.0, 6.0])
    kept = grown != 4
    assert (grown[kept] == pick[kept]).all(), "a new candidate only takes viewers it wins"
    assert (stream.choose(viewers[:3], keys, [0.0, 0.0, 0.0, 0.0]) == -1).all()


@pytest.mark.parametrize("strength", [0.5, 0.2])
def test_stance_downrank_keeps_the_stated_visibility_at_every_depth(make_sim, strength):
    seed = SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    )
    rule = Moderation(step=0, action="downrank", stance=Attitude.NEGATIVE, strength=strength)
    sim = make_sim(seed=2, interventions=(seed, rule))
    sim.run(10)
    posts = sim.posts
    negative = posts.stance == Attitude.NEGATIVE
    depths = np.unique(posts.depth[negative])
    assert depths.max() >= 3, f"the cascade is too shallow to test compounding: depths {depths}"
    np.testing.assert_array_equal(posts.visibility[negative], np.float32(strength))
    np.testing.assert_array_equal(posts.visibility[~negative], np.float32(1.0))


def test_post_downrank_keeps_the_stated_visibility_for_the_post_and_all_its_forwards(make_sim):
    seed = SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    )
    sim = make_sim(
        seed=2,
        interventions=(
            seed,
            Moderation(step=3, action="downrank", post="event", strength=0.4),
            Moderation(step=3, action="downrank", stance=Attitude.NEGATIVE, strength=0.5),
        ),
    )
    sim.run(10)
    cascade = sim.resolve_posts("event")
    posts = sim.posts
    assert posts.depth[cascade].max() >= 3
    expected = np.where(posts.stance[cascade] == Attitude.NEGATIVE, np.float32(0.4) * np.float32(0.5), np.float32(0.4))
    np.testing.assert_allclose(posts.visibility[cascade], expected, rtol=1e-6)


def test_trace_records_the_seed_and_the_generator(tmp_path, text):
    scenario = S.load(SCENARIOS[0]).replace(steps=2)
    run_to_trace(scenario, tmp_path / "t.duckdb", sim=Simulation(scenario, text=text))
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM run").fetchall())
    assert meta["seed"] == str(scenario.seed)
    assert meta["rng"] == f"{GENERATOR} v{GENERATOR_VERSION}"


def test_keyed_subset_is_bernoulli_per_index_and_depends_on_the_key_alone():
    random = KeyedRandom(8)
    counts = np.zeros(1000)
    for step in range(2000):
        counts[random.stream(Purpose.RECOMMEND_REACH, step).subset(1000, 0.05)] += 1
    share = counts / 2000
    assert abs(share.mean() - 0.05) < 0.002
    assert stats.chisquare(counts).pvalue > 1e-4, "every index is equally likely"
    a = random.stream(Purpose.RECOMMEND_REACH, 3).subset(10_000, 0.1)
    assert (np.diff(a) > 0).all() and np.array_equal(a, random.stream(Purpose.RECOMMEND_REACH, 3).subset(10_000, 0.1))
    assert len(random.stream(Purpose.RECOMMEND_REACH, 3).subset(10, 0.0)) == 0
    assert len(random.stream(Purpose.RECOMMEND_REACH, 3).subset(10, 1.0)) == 10
