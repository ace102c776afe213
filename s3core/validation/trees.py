"""Cascade trees from participation events, built the same way for real and simulated cascades.

A cascade is the source author (the root, depth 0, time 0) and every user who forwarded it,
once: a user's first repost, with the user who was forwarded as parent. Depth is the number
of hops from the source along those parent links.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CascadeTree:
    """One cascade, one entry per participant (the root excluded), ordered by time.

    Arrays: ``t_min`` float64 minutes after the source; ``depth`` int32 hops from the source
    (1 = forwarded the source itself); ``parent`` int32 index of the forwarded participant,
    -1 for the root; ``quote`` bool (added a comment); ``text`` object array of the comments
    ('' for plain reposts); ``parent_text`` the forwarded post's text.
    """

    cascade_id: str
    t_min: np.ndarray
    depth: np.ndarray
    parent: np.ndarray
    quote: np.ndarray
    text: np.ndarray
    parent_text: np.ndarray
    orphans: int = 0  # participants whose parent was not in the cascade (attached to the root)

    def __len__(self) -> int:
        return len(self.t_min)

    def within(self, minutes: float) -> "CascadeTree":
        """The participants who joined within ``minutes`` (parents always join before children)."""
        keep = self.t_min <= minutes
        index = np.full(len(self), -1, dtype=np.int64)
        index[keep] = np.arange(int(keep.sum()))
        parent = np.where(self.parent[keep] >= 0, index[np.maximum(self.parent[keep], 0)], -1)
        return CascadeTree(
            self.cascade_id,
            self.t_min[keep],
            self.depth[keep],
            parent.astype(np.int32),
            self.quote[keep],
            self.text[keep],
            self.parent_text[keep],
            self.orphans,
        )


def build_trees(events: pd.DataFrame, sources: pd.DataFrame) -> dict[str, CascadeTree]:
    """Trees of every cascade in ``events`` (columns of ``datasets.CascadeData.events``).

    ``sources`` gives each cascade's root author (user_id) and text. Events of the root author,
    later repeats of a user, and negative times (clock noise, set to 0) are handled here, so
    real and simulated events go through one code path. Cycles from clock noise are cut at
    the root. Returns {cascade_id: CascadeTree}, cascades without events included (empty).
    """
    cascade_codes, cascade_names = pd.factorize(
        pd.concat([sources["cascade_id"], events["cascade_id"]], ignore_index=True)
    )
    users, _ = pd.factorize(
        pd.concat([sources["user_id"], events["user_id"], events["parent_user_id"]], ignore_index=True)
    )
    n_src, n_ev = len(sources), len(events)
    root_of = np.full(len(cascade_names), -1, dtype=np.int64)
    root_of[cascade_codes[:n_src]] = users[:n_src]
    text_of_root = np.empty(len(cascade_names), dtype=object)
    text_of_root[:] = ""
    text_of_root[cascade_codes[:n_src]] = sources["text"].to_numpy(dtype=object)
    cascade = cascade_codes[n_src:].astype(np.int64)
    user = users[n_src : n_src + n_ev].astype(np.int64)
    parent_user = users[n_src + n_ev :].astype(np.int64)
    t_all = np.maximum(events["t_min"].to_numpy(dtype=np.float64), 0.0)
    keep = user != root_of[cascade]
    order = np.lexsort((user[keep], t_all[keep], cascade[keep]))
    rows = np.flatnonzero(keep)[order]
    key = cascade[rows] * (users.max() + 1 if len(users) else 1) + user[rows]
    first = np.ones(len(rows), dtype=bool)
    seen_order = np.argsort(key, kind="stable")
    dup = np.zeros(len(rows), dtype=bool)
    dup[1:] = key[seen_order][1:] == key[seen_order][:-1]
    first[seen_order[dup]] = False
    rows = rows[first]
    key = key[first]
    n = len(rows)
    cascade, user, parent_user = cascade[rows], user[rows], parent_user[rows]
    t_min = t_all[rows]
    texts = events["text"].to_numpy(dtype=object)[rows]
    quote = events["quote"].to_numpy(dtype=bool)[rows]
    sorted_keys = np.argsort(key)
    wanted = cascade * (users.max() + 1 if len(users) else 1) + parent_user
    pos = np.searchsorted(key[sorted_keys], wanted)
    pos = np.minimum(pos, max(n - 1, 0))
    found = (key[sorted_keys][pos] == wanted) if n else np.zeros(0, bool)
    parent = np.where(found, sorted_keys[pos] if n else pos, -1).astype(np.int64)
    is_root_parent = parent_user == root_of[cascade]
    parent[is_root_parent] = -1
    orphan = ~found & ~is_root_parent
    depth = _depths(parent)
    cut = depth < 0  # in a cycle: attach to the root
    parent[cut] = -1
    depth[cut] = 1
    parent_text = np.where(parent >= 0, texts[np.maximum(parent, 0)] if n else texts, text_of_root[cascade])
    trees = {}
    bounds = np.flatnonzero(np.r_[True, cascade[1:] != cascade[:-1], True]) if n else np.zeros(0, np.int64)
    for start, end in zip(bounds[:-1], bounds[1:]):
        local = np.where(parent[start:end] >= 0, parent[start:end] - start, -1)
        cid = str(cascade_names[cascade[start]])
        trees[cid] = CascadeTree(
            cid,
            t_min[start:end],
            depth[start:end].astype(np.int32),
            local.astype(np.int32),
            quote[start:end],
            texts[start:end],
            parent_text[start:end],
            orphans=int((orphan[start:end] | cut[start:end]).sum()),
        )
    for cid in sources["cascade_id"].astype(str):
        if cid not in trees:
            trees[cid] = empty_tree(cid)
    return trees


def empty_tree(cascade_id: str) -> CascadeTree:
    """A cascade nobody forwarded."""
    z = np.zeros(0)
    return CascadeTree(
        cascade_id,
        z.astype(np.float64),
        z.astype(np.int32),
        z.astype(np.int32),
        z.astype(bool),
        z.astype(object),
        z.astype(object),
    )


def _depths(parent: np.ndarray) -> np.ndarray:
    """Hops from the root along parent links (-1 = the root's child has depth 1); -1 where a cycle."""
    depth = np.where(parent < 0, 1, -1).astype(np.int64)
    pending = np.flatnonzero(depth < 0)
    while len(pending):
        ready = depth[parent[pending]] > 0
        if not ready.any():
            break
        done = pending[ready]
        depth[done] = depth[parent[done]] + 1
        pending = pending[~ready]
    return depth
