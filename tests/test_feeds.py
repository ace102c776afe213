"""Feeds: followees' posts, the recommender and boosts."""

import numpy as np
import pytest

from s3core import feeds
from s3core.interventions import Audience, Boost
from s3core.keyed_random import KeyedRandom
from s3core.network import Network
from s3core.params import PlatformParams
from s3core.state import OFFICIAL, PostStore
from s3core.types import Attitude, Gender, Source, UserCategory


def _chain_network():
    # 0 <-> 1 mutual; 2 follows 0; 3 follows nobody.
    return Network.from_edges("t", np.array(["a", "b", "c", "d"]), np.array([1, 0, 2]), np.array([0, 1, 0]))


def _posts(authors, step=0, stance=0):
    store = PostStore()
    n = len(authors)
    store.append(
        author=np.asarray(authors),
        parent=np.full(n, -1),
        root=np.arange(n),
        step=np.full(n, step),
        action=np.full(n, 3),
        stance=np.full(n, stance),
        emotion=np.ones(n),
        depth=np.zeros(n),
        text_id=np.zeros(n),
        key=np.arange(n, dtype=np.uint64) + 1000,
    )
    return store


def test_followee_posts_reach_exactly_the_followers_with_source():
    net = _chain_network()
    posts = _posts([0])
    ex = feeds.from_followees(
        net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=1.0), KeyedRandom(0), 0
    )
    got = dict(zip(ex.viewer.tolist(), ex.source.tolist()))
    assert got == {1: Source.MUTUAL, 2: Source.FOLLOWEE}


def test_attention_and_downrank_thin_the_feed():
    n = 5001
    follower = np.arange(1, n)
    net = Network.from_edges("star", np.arange(n).astype(str), follower, np.zeros(n - 1, np.int64))
    posts = _posts([0])
    rng = KeyedRandom(1)
    full = feeds.from_followees(net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=0.5), rng, 1)
    posts.column("visibility")[0] = 0.2
    thin = feeds.from_followees(net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=0.5), rng, 1)
    assert len(full) == pytest.approx(2500, rel=0.06) and len(thin) == pytest.approx(500, rel=0.15)
    assert set(thin.viewer.tolist()) <= set(full.viewer.tolist()), "keyed draws: a down-rank only removes viewers"
    posts.column("removed")[0] = True
    assert (
        len(
            feeds.from_followees(
                net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=1.0), rng, 1
            )
        )
        == 0
    )


def test_official_posts_reach_the_official_followers():
    net = _chain_network()
    posts = _posts([OFFICIAL])
    ex = feeds.from_followees(
        net, posts, np.array([0]), np.array([2, 3]), PlatformParams(attention=1.0), KeyedRandom(0), 0
    )
    assert sorted(ex.viewer.tolist()) == [2, 3]


class _Pop:
    def __init__(self, n, rng):
        self.size = n
        self.age = rng.integers(15, 70, n)
        self.gender = rng.integers(0, 2, n)
        self.occupation = rng.integers(0, 10, n)
        self.category = rng.integers(0, 3, n).astype(np.uint8)
        v = rng.normal(size=(n, 4)).astype(np.float32)
        self.user_vectors = v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["popularity", "similarity"])
def test_recommender_shows_recent_posts_to_a_share_of_agents(kind):
    rng = np.random.default_rng(2)
    pop = _Pop(20_000, rng)
    posts = _posts([1, 2, 3, 4], step=5)
    posts.column("reposts")[:] = [100, 0, 0, 0]
    vectors = np.eye(4, dtype=np.float32)
    draws = KeyedRandom(2)
    ex = feeds.from_recommender(posts, pop, vectors, 6, PlatformParams(recommender=kind, recommend_rate=0.05), draws)
    assert len(ex) == pytest.approx(1000, rel=0.15)
    assert (ex.source == Source.RECOMMENDED).all()
    if kind == "popularity":
        assert (ex.post == 0).mean() > 0.9
    assert len(feeds.from_recommender(posts, pop, vectors, 50, PlatformParams(recommend_window=3), draws)) == 0, (
        "stale posts are not recommended"
    )
    assert len(feeds.from_recommender(posts, pop, vectors, 6, PlatformParams(recommender="none"), draws)) == 0


@pytest.mark.parametrize(
    "audience, check",
    [
        (Audience(kind="everyone"), lambda pop, v: len(v) > 0),
        (
            Audience(kind="fraction", fraction=0.1),
            lambda pop, v: len(v) == pytest.approx(0.1 * 0.5 * pop.size, rel=0.1),
        ),
        (
            Audience(kind="group", gender=Gender.FEMALE, age_min=20, age_max=30),
            lambda pop, v: ((pop.gender[v] == 0) & (pop.age[v] >= 20) & (pop.age[v] <= 30)).all(),
        ),
        (Audience(kind="category", category=UserCategory.INFLUENTIAL), lambda pop, v: (pop.category[v] == 0).all()),
    ],
)
def test_boost_reaches_only_its_audience(audience, check):
    rng = np.random.default_rng(3)
    pop = _Pop(20_000, rng)
    posts = _posts([1, 2], step=0, stance=1)
    boost = Boost(step=0, strength=0.5, post=0, audience=audience)
    ex = feeds.from_boost(boost, 11, np.array([0]), posts, pop, 0, PlatformParams(), KeyedRandom(3))
    assert check(pop, ex.viewer) and (ex.post == 0).all()


def test_stance_boost_pushes_posts_of_that_stance():
    rng = np.random.default_rng(4)
    pop = _Pop(5000, rng)
    posts = _posts([1, 2, 3], step=0)
    posts.column("stance")[:] = [0, 1, 1]
    ex = feeds.from_boost(
        Boost(step=0, strength=0.5, stance=Attitude.POSITIVE),
        12,
        np.zeros(0, np.int64),
        posts,
        pop,
        1,
        PlatformParams(),
        KeyedRandom(4),
    )
    assert len(ex) and set(ex.post.tolist()) <= {1, 2}


def _star(n=5001):
    follower = np.arange(1, n)
    return Network.from_edges("star", np.arange(n).astype(str), follower, np.zeros(n - 1, np.int64))


def test_feed_delay_spreads_deliveries_over_later_steps_and_each_follower_sees_a_post_once():
    from s3core.feed_queue import FeedQueue

    net, posts = _star(), _posts([0])
    params = PlatformParams(attention=0.5, feed_delay_median=60.0, feed_delay_sigma=1.0)
    due, rows = feeds.fan_out(net, posts, np.array([0]), np.zeros(0, np.int64), params, KeyedRandom(1), 3, 10.0)
    assert len(due) == pytest.approx(2500, rel=0.06) and due.min() >= 3
    assert np.median(due - 3) == pytest.approx(6, abs=1), "median delay 60 min = 6 steps of 10 min"
    queue = FeedQueue()
    queue.add(due, **rows)
    seen = [feeds.deliver(queue.pop(t), posts, params) for t in range(3, int(due.max()) + 1)]
    viewers = np.concatenate([s.viewer for s in seen])
    assert len(viewers) == len(due) and len(np.unique(viewers)) == len(viewers)
    assert sum(len(s) > 0 for s in seen) > 10, "deliveries arrive over many steps"
    assert len(queue) == 0


def test_a_removal_stops_deliveries_still_pending_and_a_downrank_thins_them():
    from s3core.feed_queue import FeedQueue

    net, posts = _star(), _posts([0])
    params = PlatformParams(attention=0.5, feed_delay_median=120.0, feed_delay_sigma=0.5)
    due, rows = feeds.fan_out(net, posts, np.array([0]), np.zeros(0, np.int64), params, KeyedRandom(2), 0, 10.0)
    queue = FeedQueue()
    queue.add(due, **rows)
    early = feeds.deliver(queue.pop(5), posts, params)
    posts.column("visibility")[0] = 0.2
    middle = feeds.deliver(queue.pop(12), posts, params)
    posts.column("removed")[0] = True
    late = feeds.deliver(queue.pop(10_000), posts, params)
    pending_middle = int(((due > 5) & (due <= 12)).sum())
    assert len(early) == int((due <= 5).sum()) > 0
    assert len(middle) == pytest.approx(0.2 * pending_middle, rel=0.2)
    assert len(late) == 0


def test_zero_median_delay_delivers_in_the_same_step():
    net, posts = _star(101), _posts([0])
    due, _ = feeds.fan_out(
        net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=1.0), KeyedRandom(0), 7, 60.0
    )
    assert (due == 7).all() and len(due) == 100


def test_feed_queue_survives_a_checkpoint_round_trip():
    from s3core.feed_queue import FeedQueue

    queue = FeedQueue()
    queue.add(
        np.array([5, 3, 5]),
        viewer=np.array([1, 2, 3]),
        post=np.array([0, 0, 1]),
        source=np.array([0, 1, 0]),
        u=np.array([0.1, 0.2, 0.3]),
    )
    back = FeedQueue.from_arrays(queue.arrays())
    assert back.pop(4)["viewer"].tolist() == [2]
    assert sorted(back.pop(5)["viewer"].tolist()) == [1, 3]


def test_recommender_half_life_fades_old_posts():
    rng = np.random.default_rng(5)
    pop = _Pop(20_000, rng)
    posts = PostStore()
    posts.append(
        author=np.array([1, 2]),
        parent=np.full(2, -1),
        root=np.arange(2),
        step=np.array([0, 10]),
        action=np.full(2, 3),
        stance=np.zeros(2),
        emotion=np.ones(2),
        depth=np.zeros(2),
        text_id=np.zeros(2),
        key=np.array([11, 12], dtype=np.uint64),
    )
    posts.column("reposts")[:] = [9, 9]  # equally popular; the first is 10 steps older
    vectors = np.eye(4, dtype=np.float32)
    flat = feeds.from_recommender(
        posts, pop, vectors, 10, PlatformParams(recommend_rate=0.2, recommend_window=20), KeyedRandom(1)
    )
    fading = feeds.from_recommender(
        posts,
        pop,
        vectors,
        10,
        PlatformParams(recommend_rate=0.2, recommend_window=20, recommend_half_life=5.0),
        KeyedRandom(1),
    )
    assert (flat.post == 0).mean() == pytest.approx(0.5, abs=0.03)
    assert (fading.post == 0).mean() == pytest.approx(0.2, abs=0.03)  # weight 1/4 against 1: a share of 1/5
    np.testing.assert_array_equal(flat.viewer, fading.viewer)
