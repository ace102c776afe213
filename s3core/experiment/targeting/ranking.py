"""Rank candidate targets by their followers (whoever a post of theirs reaches) and by PageRank.

PageRank runs on the follower graph with edges follower -> followee (attention flows to the
followed), through ``networkx.pagerank``. Scores are averaged over several networks when a
scenario synthesizes part of its follower graph per seed, so a ranking uses only those seeds.
"""

from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np

from ...network import Network

PAGERANK_ALPHA = 0.85


def degree(network: Network) -> np.ndarray:
    """Followers of each user: how many feeds a post of theirs enters."""
    return network.follower_count.astype(np.float64)


def pagerank(network: Network, alpha: float = PAGERANK_ALPHA) -> np.ndarray:
    """PageRank of each user on the graph follower -> followee (networkx; dangling users spread uniformly)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.n_users))
    follower, followee = network.edges()
    graph.add_edges_from(zip(follower.tolist(), followee.tolist()))
    scores = nx.pagerank(graph, alpha=alpha)
    return np.fromiter((scores[i] for i in range(network.n_users)), np.float64, network.n_users)


def mean_scores(networks: Sequence[Network], score) -> np.ndarray:
    """A score averaged over networks of the same users (one per fit seed)."""
    return np.mean([score(n) for n in networks], axis=0)


def order(scores: np.ndarray) -> np.ndarray:
    """Agent indices best first; ties keep the network's user order."""
    return np.lexsort((np.arange(len(scores)), -scores))


def candidate_pool(by_degree: np.ndarray, by_pagerank: np.ndarray, c: int) -> np.ndarray:
    """The union of the top ``c`` by degree and by PageRank: degree's order, then PageRank's additions."""
    pool = list(by_degree[:c])
    seen = set(pool)
    pool += [i for i in by_pagerank[:c] if i not in seen]
    return np.asarray(pool, dtype=np.int64)
