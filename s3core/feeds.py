"""Build each step's feeds: followees' new posts, the platform recommender and boosts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .interventions import Audience, Boost
from .keyed_random import KeyedRandom, Purpose
from .network import Network
from .params import PlatformParams
from .population import Population
from .state import OFFICIAL, PostStore
from .types import Source


@dataclass(frozen=True)
class Exposures:
    """Who received which post through which channel this step (one row per delivery)."""

    viewer: np.ndarray  # int64 agent index
    post: np.ndarray    # int32 post id
    source: np.ndarray  # int8 Source

    @classmethod
    def concat(cls, parts: list["Exposures"]) -> "Exposures":
        parts = [p for p in parts if len(p.viewer)]
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("viewer", "post", "source")))

    def __len__(self) -> int:
        return len(self.viewer)


def _rows(viewer, post, source) -> Exposures:
    return Exposures(np.asarray(viewer, np.int64), np.asarray(post, np.int32), np.asarray(source, np.int8))


def from_followees(
    network: Network, posts: PostStore, fresh: np.ndarray, official_followers: np.ndarray,
    params: PlatformParams, random: KeyedRandom, step: int,
) -> Exposures:
    """Deliver fresh posts to their authors' followers, each seen with the attention probability.

    Whether a follower sees a post is keyed by the (viewer, post key) pair, so it is the same
    in every arm where that post exists.
    """
    attention = random.stream(Purpose.ATTENTION, step)
    fresh = fresh[~posts.removed[fresh]]
    author = posts.author[fresh]
    by_user = fresh[author != OFFICIAL]
    authors = posts.author[by_user].astype(np.int64)
    start = network.follower_ptr[authors]
    count = network.follower_ptr[authors + 1] - start
    total = int(count.sum())
    post = np.repeat(by_user, count)
    group_start = np.repeat(np.cumsum(count) - count, count)
    offset = np.arange(total, dtype=np.int64) - group_start + np.repeat(start, count)
    viewer = network.follower_idx[offset]
    source = np.where(network.follower_mutual[offset], Source.MUTUAL, Source.FOLLOWEE)
    seen = attention.uniform(viewer, posts.key[post]) < params.attention * posts.visibility[post]
    parts = [_rows(viewer[seen], post[seen], source[seen])]
    for p in fresh[author == OFFICIAL]:
        key = np.full(len(official_followers), posts.key[p])
        seen = attention.uniform(official_followers, key) < params.attention * posts.visibility[p]
        parts.append(_rows(official_followers[seen], np.full(int(seen.sum()), p), np.full(int(seen.sum()), Source.FOLLOWEE)))
    return Exposures.concat(parts)


def recent_candidates(posts: PostStore, step: int, window: int, pool: int, stance: int | None = None) -> np.ndarray:
    """The most reposted visible posts of the last ``window`` steps, best first."""
    recent = np.flatnonzero((posts.step >= step - window) & ~posts.removed)
    if stance is not None:
        recent = recent[posts.stance[recent] == stance]
    if len(recent) == 0:
        return recent
    weight = (1.0 + posts.reposts[recent]) * posts.visibility[recent]
    top = np.argsort(-weight, kind="stable")[:pool]
    return recent[top]


def _pick_by_popularity(posts: PostStore, candidates: np.ndarray, viewer: np.ndarray, stream) -> Exposures:
    """Each viewer's pick among the candidates, with chance proportional to (1 + reposts) x visibility.

    Viewers get nothing when every candidate has zero visibility.
    """
    weight = (1.0 + posts.reposts[candidates]) * posts.visibility[candidates]
    pick = stream.choose(viewer, posts.key[candidates], weight)
    shown = pick >= 0
    return _rows(viewer[shown], candidates[pick[shown]], np.full(int(shown.sum()), Source.RECOMMENDED))


SIMILARITY_NOISE = 0.1  # Gumbel scale added to relevance, so near-ties between candidates vary by viewer


def from_recommender(
    posts: PostStore, population: Population, text_vectors: np.ndarray, step: int,
    params: PlatformParams, random: KeyedRandom,
) -> Exposures:
    """Show a random share of agents one recommended post: popular, or the most relevant of the popular.

    Who is shown a post is keyed by agent and step, and the pick by (viewer, post key), so the
    same agents get the same recommendations in every arm unless the candidates differ.
    """
    if params.recommender == "none" or params.recommend_rate <= 0:
        return Exposures.concat([])
    candidates = recent_candidates(posts, step, params.recommend_window, params.recommend_pool)
    if len(candidates) == 0:
        return Exposures.concat([])
    n = population.size
    viewer = np.flatnonzero(random.stream(Purpose.RECOMMEND_REACH, step).bernoulli(np.arange(n), params.recommend_rate))
    m = len(viewer)
    pick = random.stream(Purpose.RECOMMEND_PICK, step)
    if params.recommender == "similarity":
        cand_vec = text_vectors[posts.text_id[candidates]]
        relevance = population.user_vectors[viewer] @ cand_vec.T
        u = pick.uniform(np.repeat(viewer, len(candidates)), np.tile(posts.key[candidates], m)).reshape(m, len(candidates))
        noise = -np.log(-np.log(u + 2.0 ** -54)) * SIMILARITY_NOISE
        chosen = candidates[np.argmax(relevance + noise, axis=1)]
        return _rows(viewer, chosen, np.full(m, Source.RECOMMENDED))
    return _pick_by_popularity(posts, candidates, viewer, pick)


def audience_mask(audience: Audience, population: Population, random: KeyedRandom, boost_key: int) -> np.ndarray:
    """Boolean mask of agents an intervention reaches; a random-fraction audience is fixed per boost."""
    n = population.size
    if audience.kind == "everyone":
        return np.ones(n, dtype=bool)
    if audience.kind == "fraction":
        return random.stream(Purpose.BOOST_AUDIENCE, -1, boost_key).bernoulli(np.arange(n), audience.fraction)
    if audience.kind == "category":
        if audience.category is None:
            raise ValueError("a category audience needs category = influential, regular or low_impact")
        return population.category == int(audience.category)
    mask = (population.age >= audience.age_min) & (population.age <= audience.age_max)
    if audience.gender is not None:
        mask &= population.gender == int(audience.gender)
    if audience.occupation is not None:
        mask &= population.occupation == int(audience.occupation)
    return mask


def most_popular(posts: PostStore, candidates: np.ndarray, pool: int) -> np.ndarray:
    """The ``pool`` candidates with the highest (1 + reposts) x visibility, best first."""
    weight = (1.0 + posts.reposts[candidates]) * posts.visibility[candidates]
    return candidates[np.argsort(-weight, kind="stable")[:pool]]


def from_boost(
    boost: Boost, boost_key: int, target_posts: np.ndarray, posts: PostStore, population: Population,
    step: int, params: PlatformParams, random: KeyedRandom,
) -> Exposures:
    """Push a post (or its most popular forwards), or popular posts of a stance, to the boost's audience.

    Each audience member sees it with the boost's strength; draws are keyed by the boost's
    identity (``boost_key``), the agent and the step.
    """
    if boost.stance is not None:
        target_posts = recent_candidates(posts, step, params.recommend_window, params.recommend_pool, int(boost.stance))
    target_posts = target_posts[~posts.removed[target_posts]] if len(target_posts) else target_posts
    if len(target_posts) == 0:
        return Exposures.concat([])
    target_posts = most_popular(posts, target_posts, params.recommend_pool)
    agents = np.arange(population.size)
    reach = audience_mask(boost.audience, population, random, boost_key)
    reach &= random.stream(Purpose.BOOST_REACH, step, boost_key).bernoulli(agents, boost.strength)
    return _pick_by_popularity(posts, target_posts, np.flatnonzero(reach), random.stream(Purpose.BOOST_PICK, step, boost_key))
