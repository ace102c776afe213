"""Phase 4 of a step: emotion decay and the decided transitions, then the new posts (reposts, quotes, posts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import compiled, memory
from ..frontier import add_counts, members, padded, sorted_unique
from ..keyed_random import Purpose
from ..policy import DecisionBatch, Decisions
from ..state import NO_POST
from ..transitions import emotion_decay
from ..types import Action, Source
from . import decide, inject

if TYPE_CHECKING:
    from ..engine import Simulation


def apply(sim: "Simulation", t: int, batch: DecisionBatch, dec: Decisions) -> np.ndarray:
    """Decay the quiet agents above calm, apply the batch's decisions, and make their posts; returns the new post ids."""
    agents = batch.agent
    state = sim.state
    if compiled.compiled():  # the maintained set of agents above calm, less those exposed now
        excited = sim.excited
        quiet_idx = excited[~members(excited, agents)]
    else:
        quiet = state.aware.copy()
        quiet[agents] = False
        quiet_idx = np.flatnonzero(quiet & (state.emotion > 0))
    u = sim.random.stream(Purpose.EMOTION_DECAY, t).uniform(quiet_idx)
    sim.journal.note(state, quiet_idx)
    state.emotion[quiet_idx] = emotion_decay(sim.scenario.emotion, state.emotion[quiet_idx], u)
    state.emotion[agents] = dec.emotion
    state.attitude[agents] = dec.attitude
    sim.excited = sorted_unique(
        np.concatenate([quiet_idx[state.emotion[quiet_idx] > 0], agents[state.emotion[agents] > 0]])
    )
    state.last_action[agents] = dec.action
    acting = dec.action != Action.IGNORE
    state.actions_taken[agents[acting]] += 1
    return create_posts(sim, t, batch, dec, acting)


def create_posts(sim: "Simulation", t: int, batch: DecisionBatch, dec: Decisions, acting: np.ndarray) -> np.ndarray:
    """The posts of the batch rows that act (``acting``: bool per row): reposts forward the focal post's text,
    quotes and posts take the text the backend wrote, else a pool text; each author remembers its post. Returns
    their ids. The text-choice draw is made for every row (keyed by agent), but only rows without a written text
    look up pool texts near the focal text, so a written text costs no neighbour search."""
    idx = np.flatnonzero(acting)
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    posts = sim.posts
    action = dec.action[idx]
    author = batch.agent[idx]
    focal = batch.focal_post[idx].astype(np.int64)
    emotion, attitude = dec.emotion[idx], dec.attitude[idx]
    forward = action != Action.POST
    text_id = posts.text_id[focal].copy()
    quote, new = action == Action.QUOTE, action == Action.POST
    rows_written, written = written_texts(dec.text, idx, action == Action.REPOST)
    given = np.zeros(len(idx), dtype=bool)
    given[rows_written] = True
    u = sim.random.stream(Purpose.TEXT_CHOICE, t).uniform(author)  # drawn for every row, used or not
    for kind, rows in (("comment", quote & ~given), ("original", new & ~given)):
        text_id[rows] = choose_texts(sim, kind, u[rows], emotion[rows], attitude[rows], posts.text_id[focal[rows]])
    if len(rows_written):
        text_id[rows_written] = sim.add_texts(written)
    start = len(posts)
    ids = np.arange(start, start + len(idx), dtype=np.int64)
    parent = np.where(forward, focal, NO_POST)
    depth = np.where(forward, posts.depth[focal] + 1, 0)
    ids = posts.append(
        author=author,
        parent=parent,
        root=np.where(forward, posts.root[focal], ids),
        step=np.full(len(idx), t),
        action=action,
        stance=np.where(action == Action.REPOST, posts.stance[focal], attitude),
        emotion=emotion,
        depth=depth,
        text_id=text_id,
        labelled=np.where(forward, posts.labelled[focal], False),
        visibility=np.where(forward, posts.forwarded_visibility[focal], 1.0),
        forwarded_visibility=np.where(forward, posts.forwarded_visibility[focal], 1.0),
        key=sim.random.stream(Purpose.POST_KEY, t).bits(author),
    )
    sim.seed_awareness.add_posts(ids, focal)  # a forward's parent, or the post an original post reacts to
    add_counts(posts.column("reposts"), focal[forward])
    count_forwards(sim, posts.root[ids[forward]], action[forward] == Action.QUOTE)
    inject.apply_stance_rules(sim, ids)
    if depth.max() >= len(sim.depth_counts):
        sim.depth_counts = np.concatenate(
            [sim.depth_counts, np.zeros(depth.max() + 1 - len(sim.depth_counts), np.int64)]
        )
    sim.depth_counts += np.bincount(depth, minlength=len(sim.depth_counts))
    if decide.reads_memory(sim.policy):  # an agent remembers its own posts
        own_rel = sim.relevance(author, ids.astype(np.int32))
        own_static = memory.static_score(sim.scenario.memory, own_rel, np.full(len(ids), Source.OWN, np.int8))
        memory.merge(
            sim.state,
            sim.scenario.memory,
            t,
            author,
            ids.astype(np.int32),
            np.full(len(ids), Source.OWN, np.int8),
            own_static,
            posts.removed,
        )
    return ids


def written_texts(text: list[str | None] | None, idx: np.ndarray, repost: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The rows (positions in ``idx``) whose post or quote text the backend wrote, and those texts.

    ``text``: the decisions' texts (one per batch row, None or empty where not written; None for backends that
    write none); ``idx``: the acting batch rows; ``repost``: bool per acting row (a repost forwards its focal text).
    """
    if text is None:
        return np.zeros(0, dtype=np.int64), []
    rows = [j for j, (i, r) in enumerate(zip(idx.tolist(), repost.tolist())) if not r and text[i]]
    return np.asarray(rows, dtype=np.int64), [text[i] for i in idx[rows].tolist()]


def count_forwards(sim: "Simulation", roots: np.ndarray, quoted: np.ndarray) -> None:
    """Add this step's forwards to their events' counts of forwards and quotes."""
    size = len(sim.posts)
    sim.thread_forwards = padded(sim.thread_forwards, size)
    sim.thread_quotes = padded(sim.thread_quotes, size)
    add_counts(sim.thread_forwards, roots)
    add_counts(sim.thread_quotes, roots[quoted])


def choose_texts(
    sim: "Simulation", kind: str, u: np.ndarray, emotion: np.ndarray, attitude: np.ndarray, focal_text: np.ndarray
) -> np.ndarray:
    """Pool texts for quotes or new posts: near the focal post's text when ``text_neighbours`` > 0."""
    pool, k = sim.text.pool, sim.scenario.policy.text_neighbours
    if k <= 0 or len(u) == 0:
        return pool.sample(u, kind, emotion, attitude)
    in_pool = focal_text < len(sim.text.texts)  # pool texts' neighbours are shared by every run
    candidates = np.empty((len(focal_text), 6, k), np.int64)
    for cache, rows in ((sim.text.pool_neighbours, in_pool), (sim.neighbour_cache, ~in_pool)):
        if rows.any():
            candidates[rows] = cache.lookup(
                kind, k, focal_text[rows], lambda missing: pool.neighbours(kind, sim.text_vectors[missing], k)
            )
    return pool.sample_near(u, kind, emotion, attitude, candidates)
