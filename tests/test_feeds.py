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
    store.append(author=np.asarray(authors), parent=np.full(n, -1), root=np.arange(n), step=np.full(n, step),
                 action=np.full(n, 3), stance=np.full(n, stance), emotion=np.ones(n), depth=np.zeros(n), text_id=np.zeros(n),
                 key=np.arange(n, dtype=np.uint64) + 1000)
    return store


def test_followee_posts_reach_exactly_the_followers_with_source():
    net = _chain_network()
    posts = _posts([0])
    ex = feeds.from_followees(net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=1.0), KeyedRandom(0), 0)
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
    assert len(feeds.from_followees(net, posts, np.array([0]), np.zeros(0, np.int64), PlatformParams(attention=1.0), rng, 1)) == 0


def test_official_posts_reach_the_official_followers():
    net = _chain_network()
    posts = _posts([OFFICIAL])
    ex = feeds.from_followees(net, posts, np.array([0]), np.array([2, 3]), PlatformParams(attention=1.0), KeyedRandom(0), 0)
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
    assert len(feeds.from_recommender(posts, pop, vectors, 50, PlatformParams(recommend_window=3), draws)) == 0, "stale posts are not recommended"
    assert len(feeds.from_recommender(posts, pop, vectors, 6, PlatformParams(recommender="none"), draws)) == 0


@pytest.mark.parametrize("audience, check", [
    (Audience(kind="everyone"), lambda pop, v: len(v) > 0),
    (Audience(kind="fraction", fraction=0.1), lambda pop, v: len(v) == pytest.approx(0.1 * 0.5 * pop.size, rel=0.1)),
    (Audience(kind="group", gender=Gender.FEMALE, age_min=20, age_max=30), lambda pop, v: ((pop.gender[v] == 0) & (pop.age[v] >= 20) & (pop.age[v] <= 30)).all()),
    (Audience(kind="category", category=UserCategory.INFLUENTIAL), lambda pop, v: (pop.category[v] == 0).all()),
])
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
    ex = feeds.from_boost(Boost(step=0, strength=0.5, stance=Attitude.POSITIVE), 12, np.zeros(0, np.int64), posts, pop, 1, PlatformParams(), KeyedRandom(4))
    assert len(ex) and set(ex.post.tolist()) <= {1, 2}
