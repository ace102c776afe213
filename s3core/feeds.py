"""Build each step's feeds: followees' new posts, the platform recommender and boosts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from . import compiled, feeds_kernels
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
    post: np.ndarray  # int32 post id
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


MAX_DELAY_MINUTES = 7 * 24 * 60  # a follower who has not seen a post within a week never does


def fan_out(
    network: Network,
    posts: PostStore,
    fresh: np.ndarray,
    official_followers: np.ndarray,
    params: PlatformParams,
    random: KeyedRandom,
    step: int,
    minutes_per_step: float,
    delay_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Who will see each fresh post, and at which step: (due steps, columns viewer/post/source/u).

    A follower sees a post at all when a keyed uniform ``u`` of the (viewer, post key) pair falls
    below the attention probability (the visibility is checked again at delivery, with the same
    ``u``). The delay is log-normal with median ``feed_delay_median`` minutes and spread
    ``feed_delay_sigma``, divided by the viewer's ``delay_scale`` (activity); a zero median makes
    every delivery due in this step.
    """
    fresh = fresh[~posts.removed[fresh]]
    attended = _attended_compiled if compiled.compiled() else _attended_reference
    viewer, post, source, u = attended(
        network, posts, fresh, official_followers, params, random.stream(Purpose.ATTENTION, step)
    )
    due = np.full(len(viewer), step, dtype=np.int64)
    if params.feed_delay_median > 0 and len(viewer):
        z = special.ndtri(random.stream(Purpose.FEED_DELAY, step).uniform(viewer, posts.key[post]))
        minutes = params.feed_delay_median * np.exp(params.feed_delay_sigma * z)
        if delay_scale is not None:
            minutes = minutes / delay_scale[viewer]
        late = minutes > MAX_DELAY_MINUTES
        due += np.floor(np.minimum(minutes, MAX_DELAY_MINUTES) / minutes_per_step).astype(np.int64)
        viewer, post, source, u, due = viewer[~late], post[~late], source[~late], u[~late], due[~late]
    return due, {"viewer": viewer, "post": post, "source": source, "u": u}


def _attended_reference(network, posts, fresh, official_followers, params, stream):
    """Every (follower, fresh post) pair whose keyed attention draw falls under ``attention``:
    viewer, post, source and u arrays, user posts first (followers in CSR order), then the official account's."""
    author = posts.author[fresh]
    by_user = fresh[author != OFFICIAL]
    authors = posts.author[by_user].astype(np.int64)
    start = network.follower_ptr[authors]
    count = network.follower_ptr[authors + 1] - start
    total = int(count.sum())
    post = np.repeat(by_user, count)
    group_start = np.repeat(np.cumsum(count) - count, count)
    offset = np.arange(total, dtype=np.int64) - group_start + np.repeat(start, count)
    viewer = network.follower_idx[offset].astype(np.int64)
    source = np.where(network.follower_mutual[offset], Source.MUTUAL, Source.FOLLOWEE).astype(np.int8)
    official = fresh[author == OFFICIAL]
    if len(official):
        viewer = np.concatenate([viewer, np.tile(official_followers, len(official))])
        post = np.concatenate([post, np.repeat(official, len(official_followers))])
        source = np.concatenate([source, np.full(len(official) * len(official_followers), Source.FOLLOWEE, np.int8)])
    u = stream.uniform(viewer, posts.key[post])
    keep = u < params.attention
    return viewer[keep], post[keep], source[keep], u[keep]


def _attended_compiled(network, posts, fresh, official_followers, params, stream):
    """``_attended_reference`` with the followers' pass compiled (``feeds_kernels``): the same rows in the same order."""
    author = posts.author[fresh]
    by_user = fresh[author != OFFICIAL]
    viewer, post, source, u = feeds_kernels.followers_who_attend(
        network.follower_ptr,
        network.follower_idx,
        network.follower_mutual,
        posts.author[by_user].astype(np.int64),
        by_user.astype(np.int64),
        posts.key[by_user],
        np.uint64(stream.key),
        float(params.attention),
    )
    official = fresh[author == OFFICIAL]
    if len(official):
        o_viewer = np.tile(official_followers, len(official))
        o_post = np.repeat(official, len(official_followers))
        o_u = stream.uniform(o_viewer, posts.key[o_post])
        keep = o_u < params.attention
        viewer = np.concatenate([viewer, o_viewer[keep]])
        post = np.concatenate([post, o_post[keep]])
        source = np.concatenate([source, np.full(int(keep.sum()), Source.FOLLOWEE, np.int8)])
        u = np.concatenate([u, o_u[keep]])
    return viewer, post, source, u


def from_followees(
    network: Network,
    posts: PostStore,
    fresh: np.ndarray,
    official_followers: np.ndarray,
    params: PlatformParams,
    random: KeyedRandom,
    step: int,
) -> Exposures:
    """The fresh posts' followers who see them now, ignoring any feed delay (``fan_out`` then ``deliver``)."""
    now = replace(params, feed_delay_median=0.0)
    _, deliveries = fan_out(network, posts, fresh, official_followers, now, random, step, 1.0)
    return deliver(deliveries, posts, now)


def deliver(due: dict[str, np.ndarray], posts: PostStore, params: PlatformParams) -> Exposures:
    """The deliveries due now that are still visible: not removed, and ``u`` under attention x visibility."""
    post = due["post"]
    seen = ~posts.removed[post] & (due["u"] < params.attention * posts.visibility[post])
    return _rows(due["viewer"][seen], post[seen], due["source"][seen])


def recent_candidates(
    posts: PostStore, step: int, window: int, pool: int, stance: int | None = None, half_life: float = 0.0
) -> np.ndarray:
    """The most popular visible posts of the last ``window`` steps, best first (see ``popularity``)."""
    steps = posts.step  # stored in step order; the bound in its dtype, so the column is not converted
    first = int(np.searchsorted(steps, steps.dtype.type(max(step - window, np.iinfo(steps.dtype).min))))
    recent = first + np.flatnonzero(~posts.removed[first:])
    if stance is not None:
        recent = recent[posts.stance[recent] == stance]
    if len(recent) == 0:
        return recent
    weight = popularity(posts, recent, step, half_life)
    top = np.argsort(-weight, kind="stable")[:pool]
    return recent[top]


def popularity(posts: PostStore, candidates: np.ndarray, step: int, half_life: float = 0.0) -> np.ndarray:
    """A candidate's weight in the recommender: (1 + reposts) x visibility, halved every
    ``half_life`` steps of age when ``half_life`` > 0 (so an event fades unless people keep engaging)."""
    weight = (1.0 + posts.reposts[candidates]) * posts.visibility[candidates]
    if half_life > 0:
        weight = weight * np.exp2(-(step - posts.step[candidates]) / half_life)
    return weight


def _pick_by_popularity(
    posts: PostStore, candidates: np.ndarray, viewer: np.ndarray, stream, step: int = 0, half_life: float = 0.0
) -> Exposures:
    """Each viewer's pick among the candidates, with chance proportional to their ``popularity``.

    Viewers get nothing when every candidate has zero visibility.
    """
    weight = popularity(posts, candidates, step, half_life)
    pick = stream.choose(viewer, posts.key[candidates], weight)
    shown = pick >= 0
    return _rows(viewer[shown], candidates[pick[shown]], np.full(int(shown.sum()), Source.RECOMMENDED))


SIMILARITY_NOISE = 0.1  # Gumbel scale added to relevance, so near-ties between candidates vary by viewer


def from_recommender(
    posts: PostStore,
    population: Population,
    text_vectors: np.ndarray,
    step: int,
    params: PlatformParams,
    random: KeyedRandom,
) -> Exposures:
    """Show a random share of agents one recommended post: popular, or the most relevant of the popular.

    Who is shown a post is keyed by agent and step, and the pick by (viewer, post key), so the
    same agents get the same recommendations in every arm unless the candidates differ.
    """
    if params.recommender == "none" or params.recommend_rate <= 0:
        return Exposures.concat([])
    candidates = recent_candidates(
        posts, step, params.recommend_window, params.recommend_pool, half_life=params.recommend_half_life
    )
    if len(candidates) == 0:
        return Exposures.concat([])
    n = population.size
    viewer = random.stream(Purpose.RECOMMEND_REACH, step).subset(n, params.recommend_rate)
    m = len(viewer)
    pick = random.stream(Purpose.RECOMMEND_PICK, step)
    if params.recommender == "similarity":
        cand_vec = text_vectors[posts.text_id[candidates]]
        relevance = population.user_vectors[viewer] @ cand_vec.T
        u = pick.uniform(np.repeat(viewer, len(candidates)), np.tile(posts.key[candidates], m)).reshape(
            m, len(candidates)
        )
        noise = -np.log(-np.log(u + 2.0**-54)) * SIMILARITY_NOISE
        chosen = candidates[np.argmax(relevance + noise, axis=1)]
        return _rows(viewer, chosen, np.full(m, Source.RECOMMENDED))
    return _pick_by_popularity(posts, candidates, viewer, pick, step, params.recommend_half_life)


def audience_mask(
    audience: Audience, population: Population, random: KeyedRandom, boost_key: int, user_ids: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of agents an intervention reaches; a random-fraction audience is fixed per boost.

    A 'users' audience needs the network's ``user_ids`` (aligned with the agents); listed ids
    that are not in it reach nobody (``sources.check_authors`` refuses them when a scenario loads).
    """
    n = population.size
    if audience.kind == "everyone":
        return np.ones(n, dtype=bool)
    if audience.kind == "users":
        if user_ids is None:
            raise ValueError("a 'users' audience needs the network's user_ids to find its agents")
        return np.isin(np.asarray(user_ids).astype(str), np.asarray(audience.users, dtype=str))
    if audience.kind == "fraction":
        mask = np.zeros(n, dtype=bool)
        mask[random.stream(Purpose.BOOST_AUDIENCE, -1, boost_key).subset(n, audience.fraction)] = True
        return mask
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
    """The ``pool`` candidates with the highest (1 + reposts) x visibility, best first (boosts ignore age)."""
    return candidates[np.argsort(-popularity(posts, candidates, 0), kind="stable")[:pool]]


def from_boost(
    boost: Boost,
    boost_key: int,
    target_posts: np.ndarray,
    posts: PostStore,
    population: Population,
    step: int,
    params: PlatformParams,
    random: KeyedRandom,
    user_ids: np.ndarray | None = None,
) -> Exposures:
    """Push a post (or its most popular forwards), or popular posts of a stance, to the boost's audience.

    Each audience member sees it with the boost's strength; draws are keyed by the boost's
    identity (``boost_key``), the agent and the step. ``user_ids`` (the network's) finds the
    agents of a 'users' audience.
    """
    if boost.stance is not None:
        target_posts = recent_candidates(posts, step, params.recommend_window, params.recommend_pool, int(boost.stance))
    target_posts = target_posts[~posts.removed[target_posts]] if len(target_posts) else target_posts
    if len(target_posts) == 0:
        return Exposures.concat([])
    target_posts = most_popular(posts, target_posts, params.recommend_pool)
    reached = random.stream(Purpose.BOOST_REACH, step, boost_key).subset(population.size, boost.strength)
    viewer = reached[audience_mask(boost.audience, population, random, boost_key, user_ids)[reached]]
    return _pick_by_popularity(posts, target_posts, viewer, random.stream(Purpose.BOOST_PICK, step, boost_key))
