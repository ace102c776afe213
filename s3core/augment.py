"""A follower graph synthesized around a loaded network, for spread at a realistic density.

A repost network (the bundled Weibo sample, a cascades folder) holds only the edges along which
something was forwarded: 1.25 edges per user in the bundled sample, against tens of followees
per user on Weibo (S3's own crawl: 25,656 relations among 8,563 users, 3.0 per user, inside a
far larger platform; the Weibo calibration in ``data/params/weibo-ced.json`` fits 17). On such
a forest, spread needs the recommender to carry it. ``augment_follow_graph`` keeps every loaded
edge and adds Chung-Lu edges (follower ~ activity, followee ~ popularity) until the mean number
of followees reaches the target, as ``synthetic_network`` draws them, with the same Pareto
popularity tail and log-normal activity, but assigned by rank to the users the data show as
prominent:

- popularity follows the users' real follower counts where the users file has them (the
  authors of source posts), then their in-degree in the loaded graph (how often they were
  reposted), ties broken at random;
- activity follows the length of the users' posting history, then their out-degree (how often
  they reposted), ties broken at random.

Follow-backs are then added, preferring users with few followers, until ``reciprocity`` of all
edges are mutual. The users and posts tables are kept unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .network import Network
from .synthetic import ACTIVITY_SIGMA, _csr_network, _draw_unique_codes, _set_reciprocity


def augment_follow_graph(
    network: Network,
    mean_followees: float,
    *,
    rng: np.random.Generator,
    reciprocity: float = 0.3,
    tail_exponent: float = 2.2,
) -> Network:
    """``network`` plus synthesized follow edges up to ``mean_followees`` per user.

    Args:
        network: the loaded graph; every edge of it is kept.
        mean_followees: target edges per user (followees per follower); at or below the
            loaded density nothing is added.
        rng: the network's generator stream (the scenario seed's "network" stream).
        reciprocity: share of all edges reciprocated after augmentation (realised when the
            loaded graph has fewer mutual edges than that).
        tail_exponent: Pareto exponent of the popularity that ranks followees (as in
            ``synthetic.SyntheticParams``).

    Returns:
        A Network with the same users, ids, users and posts tables; its name gains "+followers".

    Raises:
        ValueError: for a negative target or an exponent at or below 1.
    """
    if mean_followees < 0:
        raise ValueError(f"mean_followees = {mean_followees}: must be at least 0")
    if tail_exponent <= 1.0:
        raise ValueError(f"tail_exponent = {tail_exponent}: must exceed 1")
    n = network.n_users
    target = min(int(round(n * mean_followees)), n * (n - 1))
    if n < 2 or target <= network.n_edges:
        return network
    follower, followee = network.edges()
    low, high = np.minimum(follower, followee), np.maximum(follower, followee)
    existing = np.unique(((low * n + high) << 1) | (follower > followee))
    in_degree = np.bincount(followee, minlength=n).astype(float)
    out_degree = np.bincount(follower, minlength=n).astype(float)
    popularity = _by_rank(
        np.sort(rng.pareto(tail_exponent - 1.0, n) + 1.0), (_known_count(network, "followers"), in_degree), rng
    )
    activity = _by_rank(
        np.sort(rng.lognormal(-(ACTIVITY_SIGMA**2) / 2, ACTIVITY_SIGMA, n)),
        (network.activity().astype(float), out_degree),
        rng,
    )
    base = int(round(target * (2.0 - reciprocity) / 2.0))  # follow-backs make up the rest, as in synthetic_network
    added = _draw_unique_codes(n, max(base - len(existing), 0), activity, popularity, rng)
    codes = np.unique(np.concatenate([existing, added]))  # a new draw may repeat a loaded edge
    mutual = _pairs(codes)
    if mutual.mean() < reciprocity:  # only follow-backs are added: no loaded edge is ever dropped
        codes, mutual = _set_reciprocity(codes, n, reciprocity, rng)
    grown = _csr_network(f"{network.name}+followers", network.user_ids, codes, mutual)
    return replace(grown, users=network.users, posts=network.posts)


def _known_count(network: Network, column: str) -> np.ndarray:
    """A users-file count where known, -1 elsewhere (so known users rank first)."""
    if network.users is None or column not in network.users:
        return np.full(network.n_users, -1.0)
    values = pd.to_numeric(network.users[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(values), -1.0, values)


def _by_rank(ascending_values: np.ndarray, keys: tuple[np.ndarray, ...], rng: np.random.Generator) -> np.ndarray:
    """Give the largest value to the user ranked highest by ``keys`` (first key most significant)."""
    jitter = rng.random(len(ascending_values))
    order = np.lexsort((jitter, *reversed(keys)))  # ascending: the most prominent user last
    out = np.empty_like(ascending_values)
    out[order] = ascending_values
    return out


def _pairs(codes: np.ndarray) -> np.ndarray:
    """Mutual flags of sorted unique edge codes (both directions present)."""
    pair = (codes[1:] >> 1) == (codes[:-1] >> 1)
    mutual = np.zeros(len(codes), dtype=bool)
    mutual[:-1] |= pair
    mutual[1:] |= pair
    return mutual
