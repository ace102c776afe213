"""Synthetic follow graph: size, simple-graph invariants, reciprocity, heavy tail, determinism."""

from dataclasses import asdict, fields

import numpy as np
import pytest

from s3core.network import Network
from s3core.synthetic import SyntheticParams, synthetic_network


@pytest.fixture(scope="module")
def graph():
    return synthetic_network(50_000, mean_followees=10.0, reciprocity=0.3, rng=np.random.default_rng(11))


def _keys(net: Network) -> np.ndarray:
    follower, followee = net.edges()
    return follower * net.n_users + followee


def test_requested_size_and_ids(graph):
    assert graph.n_users == 50_000
    assert abs(graph.n_edges - 500_000) < 0.01 * 500_000
    assert graph.user_ids[0] == "u0000000" and graph.user_ids[-1] == "u0049999"
    assert len(np.unique(graph.user_ids)) == graph.n_users


def test_no_self_loops_or_duplicates(graph):
    follower, followee = graph.edges()
    assert not (follower == followee).any()
    assert len(np.unique(_keys(graph))) == graph.n_edges


def test_fast_csr_matches_network_from_edges(graph):
    follower, followee = graph.edges()
    ref = Network.from_edges("ref", graph.user_ids, follower, followee)
    for name in ("follower_ptr", "follower_idx", "follower_mutual", "followee_count"):
        assert np.array_equal(getattr(graph, name), getattr(ref, name)), name
    assert graph.follower_idx.dtype == ref.follower_idx.dtype


def test_users_table_carries_the_graphs_own_counts(graph):
    users = graph.users
    assert len(users) == graph.n_users
    assert np.array_equal(users["followers"].to_numpy(), graph.follower_count)
    assert np.array_equal(users["friends"].to_numpy(), graph.followee_count)
    assert (users["messages"] >= 0).all()
    assert not {"age", "gender", "occupation"} & set(users.columns)


@pytest.mark.parametrize("target", [0.0, 0.1, 0.3, 0.6])
def test_reciprocity_close_to_target(target):
    net = synthetic_network(50_000, reciprocity=target, rng=np.random.default_rng(2))
    assert abs(net.follower_mutual.mean() - target) <= 0.05


def test_heavy_tailed_followers_and_celebrities_stay_one_sided(graph):
    followers = graph.follower_count
    assert followers.max() > 100 * followers.mean()
    top = np.sort(followers)[::-1][: graph.n_users // 100]
    assert top.sum() > 0.2 * followers.sum()  # the top 1% hold a large share of all follows
    celebrity = np.argmax(followers)
    assert graph.followee_count[celebrity] < 0.05 * followers[celebrity]


def test_same_seed_same_graph_different_seed_different():
    a = synthetic_network(5_000, rng=np.random.default_rng(4))
    b = synthetic_network(5_000, rng=np.random.default_rng(4))
    c = synthetic_network(5_000, rng=np.random.default_rng(5))
    assert np.array_equal(a.follower_ptr, b.follower_ptr) and np.array_equal(a.follower_idx, b.follower_idx)
    assert a.users.equals(b.users)
    assert not np.array_equal(a.follower_count, c.follower_count)


def test_params_describe_themselves_and_feed_the_generator():
    for f in fields(SyntheticParams):
        assert {"min", "max", "help"} <= set(f.metadata), f.name
    net = synthetic_network(**asdict(SyntheticParams(n_users=300)), rng=np.random.default_rng(0))
    assert net.n_users == 300


@pytest.mark.parametrize(
    "kwargs", [{"n_users": 1}, {"n_users": 10, "reciprocity": 1.0}, {"n_users": 10, "tail_exponent": 1.0}]
)
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        synthetic_network(**kwargs, rng=np.random.default_rng(0))


def test_tiny_and_empty_graphs():
    assert synthetic_network(10, mean_followees=0.0, rng=np.random.default_rng(0)).n_edges == 0
    net = synthetic_network(2, mean_followees=1.0, rng=np.random.default_rng(0))
    assert net.n_edges <= 2
