"""Every intervention kind, applied by the engine."""

import numpy as np
import pytest

from s3core.interventions import Audience, Boost, Moderation, SeedPost
from s3core.phases import decide, expose
from s3core.types import Action, Attitude, Emotion

EVENT = SeedPost(
    step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
)


def _exposed_to(sim, records, post_ids):
    """How many memory pools hold any of the given posts."""
    return int(np.isin(sim.state.mem_post, post_ids).any(axis=1).sum())


def test_seed_by_a_named_user_makes_them_aware_and_reaches_followers(make_sim, small_network):
    hub = int(np.argmax(small_network.follower_count))
    author = str(small_network.user_ids[hub])
    sim = make_sim(
        interventions=(SeedPost(step=0, text="测试", name="s", author=author),),
        platform=make_sim().scenario.platform.__class__(attention=1.0),
    )
    rec = sim.step()
    assert sim.posts.author[0] == hub and sim.state.aware[hub]
    assert rec.metrics["aware"] >= small_network.follower_count[hub]


def test_official_seed_reaches_official_followers(make_sim):
    sim = make_sim(interventions=(EVENT,))
    rec = sim.step()
    assert sim.posts.author[0] == -1
    assert 0 < rec.metrics["aware"] <= len(sim.official_followers)


def test_seed_at_a_later_step_starts_then(make_sim):
    sim = make_sim(interventions=(SeedPost(step=3, text="later", name="late"),))
    assert [sim.step().metrics["aware"] for _ in range(3)] == [0, 0, 0]
    assert sim.step().metrics["aware"] > 0


def test_remove_stops_the_post_and_its_reposts(make_sim):
    sim = make_sim(interventions=(EVENT,), seed=4)
    sim.run(3)
    snap = sim.snapshot()
    cascade = sim.resolve_posts("event")
    removed = sim.branch(snap, interventions=(EVENT, Moderation(step=3, action="remove", post="event")))
    plain_rec, removed_rec = sim.step(), removed.step()
    assert removed.posts.removed[cascade].all()
    assert removed_rec.metrics["exposures"] < plain_rec.metrics["exposures"]
    removed.run(4)
    new = np.arange(len(snap.arrays["post_author"]), len(removed.posts))
    assert not np.isin(removed.posts.parent[new], cascade).any(), "nobody reposts a removed post"
    assert not np.isin(removed.state.mem_post, cascade).any(), "removed posts leave memory pools"


def test_downrank_lowers_reach(make_sim):
    sim = make_sim(interventions=(EVENT,), seed=9, platform=make_sim().scenario.platform.__class__(attention=0.8))
    sim.run(2)
    snap = sim.snapshot()
    down = sim.branch(snap, interventions=(EVENT, Moderation(step=2, action="downrank", post="event", strength=0.1)))
    plain_rec, down_rec = sim.step(), down.step()
    assert down.posts.visibility[down.resolve_posts("event")].max() == pytest.approx(0.1)
    assert (
        down_rec.metrics["exposures"] < 0.75 * plain_rec.metrics["exposures"]
    )  # new posts and recommendations are untouched


def test_label_lowers_repost_probability(make_sim):
    sim = make_sim(interventions=(EVENT, Moderation(step=0, action="label", post="event")), seed=2)
    sim.run(1)
    sim.step()
    batch = None
    # Compare the policy's repost+quote probability for the same batch with and without the label.
    from s3core.engine import Simulation  # noqa: F401  (documentation of where the policy lives)

    policy = sim.policy
    exposures = expose.build_feeds(sim, sim.step_index, sim.fresh)
    _, batch = decide.decide(sim, sim.step_index, exposures)
    assert batch.focal_labelled.any()
    probs = policy.action_probabilities(batch, batch.emotion, batch.attitude)
    unlabelled = batch.__class__(**{**batch.__dict__, "focal_labelled": np.zeros(len(batch), bool)})
    probs0 = policy.action_probabilities(unlabelled, batch.emotion, batch.attitude)
    forward = [Action.REPOST, Action.QUOTE]
    assert (probs[:, forward].sum(1)[batch.focal_labelled] < probs0[:, forward].sum(1)[batch.focal_labelled]).all()


def test_labels_pass_to_reposts_and_stance_rules_cover_future_posts(make_sim):
    sim = make_sim(interventions=(EVENT, Moderation(step=0, action="label", stance=Attitude.NEGATIVE)), seed=3)
    sim.run(6)
    posts = sim.posts
    assert posts.labelled[posts.stance == Attitude.NEGATIVE].all()
    positive_labelled = np.flatnonzero(posts.labelled & (posts.stance == Attitude.POSITIVE))
    parents = posts.parent[positive_labelled]
    assert (parents >= 0).all() and posts.labelled[parents].all(), "only quotes of labelled posts inherit the label"


def test_boost_spreads_a_post_further(make_sim):
    correction = SeedPost(
        step=0, text="【辟谣】不存在第八级", name="fix", stance=Attitude.POSITIVE, emotion=Emotion.CALM
    )
    plain = make_sim(interventions=(EVENT, correction), seed=6)
    boosted = make_sim(
        interventions=(EVENT, correction, Boost(step=1, duration=3, strength=0.2, post="fix", audience=Audience())),
        seed=6,
    )
    plain.run(5)
    boosted.run(5)
    fix_plain = _exposed_to(plain, None, plain.resolve_posts("fix"))
    fix_boosted = _exposed_to(boosted, None, boosted.resolve_posts("fix"))
    assert fix_boosted > fix_plain + 0.3 * 2000 * 0.2


def test_references_to_unknown_seeds_or_authors_fail_clearly(make_sim):
    with pytest.raises(ValueError, match="no seed post has that name"):
        make_sim(interventions=(EVENT, Boost(step=1, post="nope")))
    with pytest.raises(ValueError, match="only posted at step 5"):
        make_sim(interventions=(SeedPost(step=5, text="x", name="late"), Moderation(step=1, post="late")))
    with pytest.raises(ValueError, match="not in the network"):
        make_sim(interventions=(SeedPost(step=0, text="x", author="nobody-here"),))
