"""Build each step's feeds: followees' new posts, the platform recommender and boosts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .interventions import Audience, Boost
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
    params: PlatformParams, rng: np.random.Generator,
) -> Exposures:
    """Deliver fresh posts to their authors' followers, each seen with the attention probability."""
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
    seen = rng.random(total) < params.attention * posts.visibility[post]
    parts = [_rows(viewer[seen], post[seen], source[seen])]
    for p in fresh[author == OFFICIAL]:
        seen = rng.random(len(official_followers)) < params.attention * posts.visibility[p]
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


def _pick_by_popularity(posts: PostStore, candidates: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    weight = (1.0 + posts.reposts[candidates]) * posts.visibility[candidates]
    return candidates[rng.choice(len(candidates), size=m, p=weight / weight.sum())]


def from_recommender(
    posts: PostStore, population: Population, text_vectors: np.ndarray, step: int,
    params: PlatformParams, rng: np.random.Generator,
) -> Exposures:
    """Show a random share of agents one recommended post: popular, or the most relevant of the popular."""
    if params.recommender == "none" or params.recommend_rate <= 0:
        return Exposures.concat([])
    candidates = recent_candidates(posts, step, params.recommend_window, params.recommend_pool)
    if len(candidates) == 0:
        return Exposures.concat([])
    n = population.size
    m = int(rng.binomial(n, params.recommend_rate))
    viewer = rng.choice(n, size=m, replace=False)
    if params.recommender == "similarity":
        cand_vec = text_vectors[posts.text_id[candidates]]
        relevance = population.user_vectors[viewer] @ cand_vec.T
        noise = rng.gumbel(size=relevance.shape) * 0.1
        chosen = candidates[np.argmax(relevance + noise, axis=1)]
    else:
        chosen = _pick_by_popularity(posts, candidates, m, rng)
    return _rows(viewer, chosen, np.full(m, Source.RECOMMENDED))


def audience_mask(audience: Audience, population: Population, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of agents an intervention reaches."""
    n = population.size
    if audience.kind == "everyone":
        return np.ones(n, dtype=bool)
    if audience.kind == "fraction":
        return rng.random(n) < audience.fraction
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


def from_boost(
    boost: Boost, target_posts: np.ndarray, posts: PostStore, population: Population,
    step: int, params: PlatformParams, rng: np.random.Generator,
) -> Exposures:
    """Push a post, or popular posts of a stance, to each audience member with the boost's strength."""
    if boost.stance is not None:
        target_posts = recent_candidates(posts, step, params.recommend_window, params.recommend_pool, int(boost.stance))
    target_posts = target_posts[~posts.removed[target_posts]] if len(target_posts) else target_posts
    if len(target_posts) == 0:
        return Exposures.concat([])
    reach = audience_mask(boost.audience, population, rng) & (rng.random(population.size) < boost.strength)
    viewer = np.flatnonzero(reach)
    chosen = _pick_by_popularity(posts, target_posts, len(viewer), rng)
    return _rows(viewer, chosen, np.full(len(viewer), Source.RECOMMENDED))
