"""A follower graph synthesized around a loaded repost network: every real edge kept, density and ranks as asked."""

import numpy as np
import pandas as pd
import pytest

from s3core import scenario as S
from s3core.augment import augment_follow_graph
from s3core.engine import Simulation
from s3core.network import Network
from s3core.sources import load_bundled


def _keys(net: Network) -> np.ndarray:
    follower, followee = net.edges()
    return follower * net.n_users + followee


@pytest.fixture(scope="module")
def bundled():
    return load_bundled()


@pytest.fixture(scope="module")
def grown(bundled):
    return augment_follow_graph(bundled, 17.0, rng=np.random.default_rng(3))


def test_every_loaded_edge_is_kept_and_the_density_is_reached(bundled, grown):
    assert np.isin(_keys(bundled), _keys(grown)).all()
    assert grown.n_users == bundled.n_users and (grown.user_ids == bundled.user_ids).all()
    assert abs(grown.n_edges / grown.n_users - 17.0) < 0.5
    follower, followee = grown.edges()
    assert not (follower == followee).any() and len(np.unique(_keys(grown))) == grown.n_edges
    assert abs(grown.follower_mutual.mean() - 0.3) < 0.01
    assert grown.users is bundled.users and grown.posts is bundled.posts


def test_users_with_real_follower_counts_are_the_most_followed(bundled, grown):
    known = pd.to_numeric(bundled.users["followers"], errors="coerce").notna().to_numpy()
    assert known.sum() > 10
    followers = grown.follower_count
    assert np.median(followers[known]) > 10 * np.median(followers[~known])
    real = pd.to_numeric(bundled.users["followers"], errors="coerce").to_numpy()[known]
    assert np.corrcoef(np.argsort(np.argsort(real)), np.argsort(np.argsort(followers[known])))[0, 1] > 0.5


def test_the_same_generator_seed_gives_the_same_graph(bundled, grown):
    again = augment_follow_graph(bundled, 17.0, rng=np.random.default_rng(3))
    other = augment_follow_graph(bundled, 17.0, rng=np.random.default_rng(4))
    assert (_keys(again) == _keys(grown)).all()
    assert not np.array_equal(_keys(other), _keys(grown))


def test_a_target_at_or_below_the_loaded_density_changes_nothing(bundled):
    assert augment_follow_graph(bundled, 1.0, rng=np.random.default_rng(0)) is bundled
    with pytest.raises(ValueError, match="mean_followees"):
        augment_follow_graph(bundled, -1.0, rng=np.random.default_rng(0))


def test_a_scenario_augments_the_bundled_network_and_refuses_the_key_for_a_synthetic_one():
    sc = S.Scenario(steps=1, network=S.NetworkSpec(source="bundled", augment_followees=8.0))
    sim = Simulation(sc)
    assert abs(sim.network.n_edges / sim.network.n_users - 8.0) < 0.5
    assert "augment_followees = 8.0" in S.dumps(sc)
    with pytest.raises(S.ScenarioError, match="augment_followees"):
        S.loads('[network]\nsource = "synthetic"\naugment_followees = 5.0\n')
