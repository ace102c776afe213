"""S3's memory pool: score received messages by recency, relevance and source; keep the top-k."""

from __future__ import annotations

import numpy as np

from . import compiled, memory_kernels
from .frontier import run_starts
from .params import MemoryParams
from .state import NO_POST, AgentState


def temporal_factor(age_steps: np.ndarray, half_life: float) -> np.ndarray:
    """The forgetting function: exponential decay with the given half-life in steps."""
    return np.exp2(-np.asarray(age_steps, dtype=np.float32) / np.float32(half_life))


def static_score(params: MemoryParams, relevance: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The part of the influence score fixed at arrival: content relevance and source authenticity."""
    source_score = np.asarray(params.source_scores(), dtype=np.float32)
    return (params.weight_relevance * relevance + params.weight_source * source_score[source]).astype(np.float32)


def temporal_table(params: MemoryParams, step: int) -> np.ndarray:
    """``temporal_factor`` of every age 0..step (float32, shape (step + 1,)), for the compiled kernels."""
    return temporal_factor(np.arange(step + 1), params.half_life)


def influence(params: MemoryParams, static: np.ndarray, arrived: np.ndarray, step: int) -> np.ndarray:
    """Full influence score of stored messages at ``step``."""
    return static + params.weight_time * temporal_factor(step - arrived, params.half_life)


def group_by_receiver(viewer: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order deliveries by receiver, best score first; returns (order, group starts, receivers).

    One argsort of a packed int64 key (receiver, then the score quantized to 2^20 levels)
    replaces a two-key lexsort, which is about twice as slow on large steps.
    """
    if len(viewer) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = float(score.min()), float(score.max())
    rank = np.zeros(len(score), np.int64) if hi <= lo else ((hi - score) * ((2**20 - 1) / (hi - lo))).astype(np.int64)
    rank_bits = int(rank.max()).bit_length()  # as few as the ranks need: the order is the same, the radix sort shorter
    key = (viewer.astype(np.int64) << rank_bits) | rank
    if compiled.compiled():
        order = memory_kernels.stable_argsort_keys(key, rank_bits + int(viewer.max()).bit_length())
    else:
        order = np.argsort(key, kind="stable")
    v = viewer[order]
    starts = run_starts(v)
    return order, starts, v[starts]


def merge(
    state: AgentState,
    params: MemoryParams,
    step: int,
    viewer: np.ndarray,
    post: np.ndarray,
    source: np.ndarray,
    static: np.ndarray,
    removed: np.ndarray,
    grouping: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> None:
    """Add this step's messages to the receivers' pools, keeping each receiver's top-k distinct posts.

    Each receiver's new messages are inserted best first, each evicting the pool's weakest
    entry when it scores higher (or refreshing its own older copy), which yields the top-k
    of pool and messages together without sorting the pools. Evicted messages are forgotten. ``grouping`` is
    ``group_by_receiver(viewer, static)`` when the caller already has it. Pools are unordered.
    ``removed`` posts are never delivered, and removal purges pools, so pools hold none.
    """
    if len(viewer) == 0:
        return
    order, starts, receivers = grouping if grouping is not None else group_by_receiver(viewer, static)
    if compiled.compiled():
        memory_kernels.merge_groups(
            state.mem_post,
            state.mem_step,
            state.mem_source,
            state.mem_static,
            order,
            starts,
            receivers,
            post,
            source,
            static,
            np.float32(params.weight_time),
            temporal_table(params, step),
            step,
        )
        return
    counts = np.diff(starts, append=len(order))
    fresh = np.float32(params.weight_time)  # temporal factor of a message that arrives now
    alive = np.ones(len(receivers), dtype=bool)  # receivers whose later messages may still get in
    for j in range(int(counts.max())):
        sel = np.flatnonzero((counts > j) & alive)
        if len(sel) == 0:
            break
        rows = receivers[sel]
        e = order[starts[sel] + j]
        new_post, new_score = post[e], static[e] + fresh
        pool = state.mem_post[rows]
        dup = pool == new_post[:, None]
        has_dup = dup.any(axis=1)
        empty = pool == NO_POST
        slot = np.where(has_dup, dup.argmax(axis=1), empty.argmax(axis=1))
        better = ~has_dup & empty.any(axis=1)  # a free slot takes any new post without scoring
        contest = np.flatnonzero(~better)
        if len(contest):
            c_rows = rows[contest]
            score = influence(params, state.mem_static[c_rows], state.mem_step[c_rows], step)
            score[empty[contest]] = -np.inf
            c_slot = np.where(has_dup[contest], slot[contest], score.argmin(axis=1))
            slot[contest] = c_slot
            better[contest] = new_score[contest] > score[np.arange(len(contest)), c_slot]
        alive[sel[~better & ~has_dup]] = False  # messages come best first: the rest would fail too
        rows, slot, e = rows[better], slot[better], e[better]
        state.mem_post[rows, slot] = post[e]
        state.mem_step[rows, slot] = step
        state.mem_source[rows, slot] = source[e]
        state.mem_static[rows, slot] = static[e]


def forget(state: AgentState, posts: np.ndarray) -> None:
    """Drop the given posts from every pool (moderation removed them from the platform)."""
    gone = np.isin(state.mem_post, posts)
    state.mem_post[gone] = NO_POST


def stance_share(
    state: AgentState,
    params: MemoryParams,
    agents: np.ndarray,
    step: int,
    post_stance: np.ndarray,
    post_weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Influence-weighted share of positive stance in each agent's pool, and the total weight.

    ``post_weight`` scales each post's pull (moderation labels lower it; removed posts are 0).
    """
    posts = state.mem_post[agents]
    held = posts != NO_POST
    safe = np.where(held, posts, 0)
    weight = influence(params, state.mem_static[agents], state.mem_step[agents], step)
    weight = np.where(held, np.maximum(weight, 0.0) * post_weight[safe], 0.0)
    total = weight.sum(axis=1)
    positive = (weight * post_stance[safe]).sum(axis=1)
    share = np.divide(positive, total, out=np.full(len(agents), 0.5), where=total > 0)
    return share, total


def pool_stance(
    state: AgentState, params: MemoryParams, agents: np.ndarray, step: int, posts, label_discount: float
) -> tuple[np.ndarray, np.ndarray]:
    """``stance_share`` of ``agents`` (float64, shape (len(agents),) each) with each post's pull: 0 for removed
    posts, ``label_discount`` for labelled ones, else 1 (``posts``: the run's ``PostStore``).

    The compiled kernel reads the pull of the posts in the pools only; the reference builds it for every post.
    """
    if compiled.compiled():
        return memory_kernels.stance_share_rows(
            state.mem_post,
            state.mem_step,
            state.mem_static,
            agents,
            np.float32(params.weight_time),
            temporal_table(params, step),
            step,
            posts.stance,
            posts.removed,
            posts.labelled,
            float(label_discount),
        )
    pull = np.where(posts.removed, 0.0, np.where(posts.labelled, label_discount, 1.0))
    return stance_share(state, params, agents, step, posts.stance.astype(np.float64), pull)


def pool_rows(state: AgentState, params: MemoryParams, agent: int, step: int) -> list[dict]:
    """One agent's pool with every influence factor, for inspectors and tests."""
    out = []
    for j in range(state.mem_post.shape[1]):
        post = int(state.mem_post[agent, j])
        if post == NO_POST:
            continue
        age = step - int(state.mem_step[agent, j])
        temporal = float(temporal_factor(np.array([age]), params.half_life)[0])
        out.append(
            {
                "post": post,
                "arrived_step": int(state.mem_step[agent, j]),
                "source": int(state.mem_source[agent, j]),
                "temporal": temporal,
                "static": float(state.mem_static[agent, j]),
                "score": float(state.mem_static[agent, j] + params.weight_time * temporal),
            }
        )
    return out
