"""The fitted quote-versus-repost split and the depth decay of engagement, on small hand-made cases."""

import json

import numpy as np
import pytest

from s3core import quote_model as Q
from s3core.interventions import SeedPost
from s3core.keyed_random import KeyedRandom
from s3core.params import PolicyParams
from s3core.policy import DecisionBatch, HeuristicPolicy
from s3core.scenario import Scenario, ScenarioError, from_dict, loads
from s3core.types import Action, Attitude, Emotion, Source, UserCategory

SHIPPED = "quote-model-weibo.json"


def model_file(tmp_path, coef=None, intercept=0.0, a=2.0, b=3.0, name="model.json") -> str:
    """A quote model with unit scaling and wide clipping, so its log-odds are ``coef . x + intercept``."""
    k = len(Q.FEATURES)
    data = {
        "format": Q.FORMAT,
        "features": list(Q.FEATURES),
        "scaler": {"mean": [0.0] * k, "scale": [1.0] * k},
        "low": [-1e9] * k,
        "high": [1e9] * k,
        "coef": list(coef or [0.0] * k),
        "intercept": intercept,
        "thread_prior": 0.5,
        "shrinkage": 5.0,
        "propensity_beta": {"a": a, "b": b},
    }
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def batch(n, focal_depth=None, **changes) -> DecisionBatch:
    """``n`` regular agents who each received one fresh, relevant followee post."""
    zeros, ones = np.zeros(n), np.ones(n)
    values = dict(
        step=1,
        agent=np.arange(n, dtype=np.int64),
        received=ones,
        mean_intensity=ones,
        max_relevance=ones * 0.3,
        focal_post=np.zeros(n, np.int32),
        focal_source=np.full(n, Source.FOLLOWEE, np.int8),
        focal_stance=np.ones(n, np.int8),
        focal_emotion=np.ones(n, np.int8),
        focal_age=ones,
        focal_relevance=ones * 0.3,
        focal_labelled=np.zeros(n, bool),
        emotion=np.ones(n, np.int8),
        attitude=np.ones(n, np.int8),
        pool_positive=ones * 0.5,
        pool_weight=ones,
        category=np.full(n, UserCategory.REGULAR, np.uint8),
        age=np.full(n, 30.0),
        gender=np.zeros(n, np.int8),
        occupation=np.zeros(n, np.int8),
        actions_taken=zeros,
        was_aware=np.ones(n, bool),
        focal_depth=None if focal_depth is None else np.asarray(focal_depth),
        focal_quoted=np.zeros(n, bool),
        thread_quotes=zeros,
        thread_forwards=zeros,
        quote_propensity=np.full(n, 0.5),
    )
    values.update(changes)
    return DecisionBatch(**values)


def probabilities(params: PolicyParams, b: DecisionBatch) -> np.ndarray:
    return HeuristicPolicy(params=params).action_probabilities(b, b.emotion, b.attitude)


def quote_share(probs: np.ndarray) -> np.ndarray:
    return probs[:, Action.QUOTE] / (probs[:, Action.QUOTE] + probs[:, Action.REPOST])


def test_the_split_follows_the_fitted_coefficients_over_depth(tmp_path):
    coef = [0.0, 0.0, -1.0, 0.0, 0.0, 0.0]  # only log(depth of the forwarder) matters, and lowers quoting
    path = model_file(tmp_path, coef=coef, intercept=0.5)
    probs = probabilities(PolicyParams(quote_model=path), batch(4, focal_depth=[0, 1, 2, 3]))
    depth = np.arange(4) + 1.0
    assert quote_share(probs) == pytest.approx(1 / (1 + np.exp(-(0.5 - np.log(depth)))))
    # The shipped Weibo fit: the forwarder of a source quotes more often than one hop further down.
    shipped = quote_share(probabilities(PolicyParams(quote_model=SHIPPED), batch(2, focal_depth=[0, 1])))
    assert shipped[0] > shipped[1]
    model = Q.load(SHIPPED)
    assert model.coef[Q.FEATURES.index("direct")] > 0 and model.coef[Q.FEATURES.index("user_propensity_logit")] > 0


def test_the_split_leaves_total_engagement_unchanged(tmp_path):
    b = batch(
        5,
        focal_depth=[0, 1, 2, 0, 4],
        focal_quoted=np.array([False, True, False, True, True]),
        quote_propensity=np.array([0.1, 0.3, 0.5, 0.7, 0.9]),
        emotion=np.array([0, 1, 2, 2, 0], np.int8),
    )
    old = probabilities(PolicyParams(quote_model=""), b)
    for model in (SHIPPED, model_file(tmp_path, coef=[1.0, -2.0, 0.5, 0.3, 1.0, 2.0], intercept=-1.0)):
        new = probabilities(PolicyParams(quote_model=model), b)
        assert new.sum(axis=1) == pytest.approx(1.0)
        assert new[:, Action.IGNORE] == pytest.approx(old[:, Action.IGNORE])
        assert new[:, Action.POST] == pytest.approx(old[:, Action.POST])
        assert new[:, Action.REPOST] + new[:, Action.QUOTE] == pytest.approx(
            old[:, Action.REPOST] + old[:, Action.QUOTE]
        )
        assert not np.allclose(quote_share(new), quote_share(old))
        shifted = probabilities(PolicyParams(quote_model=model, quote_shift=0.7), b)

        def logit(q):
            return np.log(q / (1 - q))

        assert logit(quote_share(shifted)) - logit(quote_share(new)) == pytest.approx(np.full(5, 0.7))
        assert shifted[:, Action.IGNORE] == pytest.approx(new[:, Action.IGNORE])


def test_the_propensity_is_keyed_by_agent_reproducible_and_beta_distributed(tmp_path):
    model = Q.load(model_file(tmp_path, a=2.0, b=3.0))
    agents = np.arange(20_000)
    first = model.propensity(KeyedRandom(7), agents)
    assert np.array_equal(first, model.propensity(KeyedRandom(7), agents))
    order = np.random.default_rng(0).permutation(agents)[:500]
    assert np.array_equal(model.propensity(KeyedRandom(7), order), first[order])  # independent of who else is drawn
    assert not np.allclose(model.propensity(KeyedRandom(8), agents), first)
    assert first.mean() == pytest.approx(0.4, abs=0.01)  # Beta(2, 3)
    assert first.var() == pytest.approx(2 * 3 / (25 * 6), rel=0.05)


def test_depth_decay_lowers_engagement_per_hop():
    hops = np.arange(5)
    for model in ("", SHIPPED):
        base = probabilities(PolicyParams(quote_model=model), batch(5, focal_depth=hops))
        decayed = probabilities(PolicyParams(quote_model=model, depth_decay=0.8), batch(5, focal_depth=hops))
        engage = decayed[:, Action.REPOST] + decayed[:, Action.QUOTE]
        assert np.all(np.diff(engage) < 0)
        # Exactly ``depth_decay`` log-odds of forwarding against ignoring per hop, the split untouched.
        odds = engage / decayed[:, Action.IGNORE]
        base_odds = (base[:, Action.REPOST] + base[:, Action.QUOTE]) / base[:, Action.IGNORE]
        assert np.log(odds / base_odds) == pytest.approx(-0.8 * hops)
        assert quote_share(decayed) == pytest.approx(quote_share(base))
    default = probabilities(PolicyParams(), batch(5, focal_depth=hops))
    assert default[:, Action.IGNORE] == pytest.approx(probabilities(PolicyParams(), batch(5))[:, Action.IGNORE])


def test_a_bad_quote_model_is_refused_naming_the_key_and_file(tmp_path):
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ScenarioError, match=r"quote_model.*nowhere\.json"):
        loads(f'[policy]\nquote_model = "{missing}"\n')
    with pytest.raises(ScenarioError, match=r"quote_model.*nowhere\.json"):
        from_dict({"policy": {"quote_model": str(missing)}})
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"quote_model.*broken\.json.*not a quote model"):
        from_dict({"policy": {"quote_model": str(broken)}})
    with pytest.raises(ScenarioError, match="quote_model"):
        from_dict({"policy": {"quote_model": 3}})
    with pytest.raises(ScenarioError, match="depth_decay"):
        from_dict({"policy": {"depth_decay": 6.0}})
    assert from_dict({"policy": {"quote_model": "", "depth_decay": 1.5}}).policy.depth_decay == 1.5
    assert Scenario().policy.quote_model == SHIPPED


def test_a_run_fills_the_quote_inputs_from_its_posts(make_sim):
    seed = SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    )
    sim = make_sim(steps=8, interventions=(seed,))
    seen = []
    inner = sim.policy

    class Recorder:
        def decide(self, b, draws):
            seen.append(b)
            return inner.decide(b, draws)

    sim.policy = Recorder()
    sim.run(8)
    posts = sim.posts
    assert seen and any(len(b) for b in seen)
    for b in seen:
        assert np.array_equal(b.focal_depth, posts.depth[b.focal_post])
        assert np.array_equal(b.focal_quoted, posts.action[b.focal_post] == Action.QUOTE)
        assert np.all(b.thread_quotes <= b.thread_forwards)
        assert np.array_equal(b.quote_propensity, sim.quote_propensity()[b.agent])
        assert b.minutes_per_step == sim.scenario.minutes_per_step
    assert np.all((sim.quote_propensity() > 0) & (sim.quote_propensity() < 1))
    later = [b for b in seen if b.thread_forwards.max(initial=0) > 0]
    assert later, "the event is forwarded during the run"
