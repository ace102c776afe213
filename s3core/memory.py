"""S3's memory pool: score received messages by recency, relevance and source; keep the top-k."""
from __future__ import annotations

import numpy as np

from .params import MemoryParams
from .state import NO_POST, AgentState


def temporal_factor(age_steps: np.ndarray, half_life: float) -> np.ndarray:
    """The forgetting function: exponential decay with the given half-life in steps."""
    return np.exp2(-np.asarray(age_steps, dtype=np.float32) / np.float32(half_life))


def static_score(params: MemoryParams, relevance: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The part of the influence score fixed at arrival: content relevance and source authenticity."""
    source_score = np.asarray(params.source_scores(), dtype=np.float32)
    return (params.weight_relevance * relevance + params.weight_source * source_score[source]).astype(np.float32)


def influence(params: MemoryParams, static: np.ndarray, arrived: np.ndarray, step: int) -> np.ndarray:
    """Full influence score of stored messages at ``step``."""
    return static + params.weight_time * temporal_factor(step - arrived, params.half_life)


def merge(
    state: AgentState,
    params: MemoryParams,
    step: int,
    viewer: np.ndarray,
    post: np.ndarray,
    source: np.ndarray,
    static: np.ndarray,
    removed: np.ndarray,
) -> None:
    """Add this step's messages to the receivers' pools, keeping each receiver's top-k distinct posts.

    ``removed`` is the per-post removal flag: removed posts drop out of pools when they are rebuilt.
    """
    if len(viewer) == 0:
        return
    k = state.mem_post.shape[1]
    receivers = np.unique(viewer)
    old_post = state.mem_post[receivers]
    held = old_post != NO_POST
    rows = np.broadcast_to(receivers[:, None], old_post.shape)[held]
    cand_viewer = np.concatenate([rows, viewer]).astype(np.int64)
    cand_post = np.concatenate([old_post[held], post]).astype(np.int32)
    cand_step = np.concatenate([state.mem_step[receivers][held], np.full(len(viewer), step, np.int32)])
    cand_source = np.concatenate([state.mem_source[receivers][held], source]).astype(np.int8)
    cand_static = np.concatenate([state.mem_static[receivers][held], static]).astype(np.float32)
    score = influence(params, cand_static, cand_step, step)
    live = ~removed[cand_post]
    if not live.all():
        cand_viewer, cand_post, cand_step, cand_source, cand_static, score = (
            a[live] for a in (cand_viewer, cand_post, cand_step, cand_source, cand_static, score))
    # Best copy of each (receiver, post) pair, then the receiver's k best pairs.
    order = np.lexsort((-score, cand_post, cand_viewer))
    v, p = cand_viewer[order], cand_post[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (v[1:] != v[:-1]) | (p[1:] != p[:-1])
    order = order[first]
    order = order[np.lexsort((-score[order], cand_viewer[order]))]
    v = cand_viewer[order]
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    rank = np.arange(len(v)) - np.repeat(starts, np.diff(np.r_[starts, len(v)]))
    keep = rank < k
    order, rank = order[keep], rank[keep]
    row = np.searchsorted(receivers, cand_viewer[order])
    new_post = np.full((len(receivers), k), NO_POST, dtype=np.int32)
    new_step = np.zeros((len(receivers), k), dtype=np.int32)
    new_source = np.zeros((len(receivers), k), dtype=np.int8)
    new_static = np.zeros((len(receivers), k), dtype=np.float32)
    new_post[row, rank] = cand_post[order]
    new_step[row, rank] = cand_step[order]
    new_source[row, rank] = cand_source[order]
    new_static[row, rank] = cand_static[order]
    state.mem_post[receivers] = new_post
    state.mem_step[receivers] = new_step
    state.mem_source[receivers] = new_source
    state.mem_static[receivers] = new_static


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


def pool_rows(state: AgentState, params: MemoryParams, agent: int, step: int) -> list[dict]:
    """One agent's pool with every influence factor, for inspectors and tests."""
    out = []
    for j in range(state.mem_post.shape[1]):
        post = int(state.mem_post[agent, j])
        if post == NO_POST:
            continue
        age = step - int(state.mem_step[agent, j])
        temporal = float(temporal_factor(np.array([age]), params.half_life)[0])
        out.append({
            "post": post,
            "arrived_step": int(state.mem_step[agent, j]),
            "source": int(state.mem_source[agent, j]),
            "temporal": temporal,
            "static": float(state.mem_static[agent, j]),
            "score": float(state.mem_static[agent, j] + params.weight_time * temporal),
        })
    return out
