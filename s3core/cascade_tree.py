"""Per-post cascades of a run: each root post's size, reach, depth and breadth over steps, and its tree.

Reads a posts table with the trace's columns (``trace.SCHEMA``: post_id, step, author, parent,
root, action, depth, ...). A cascade is a root post (parent -1) and every repost and quote whose
``root`` is it. Seed posts are the roots injected by the scenario; agents' own original posts
(action ``post``) start cascades too. Definitions, per cascade and cumulative up to a step:

- posts: the root and every repost and quote of it;
- reach: distinct users who posted in it (the official account, author -1, is no user);
- depth: the most hops from the root (a repost of the root has depth 1);
- breadth: the most posts at one depth below the root (the tree's widest level).

Structural virality (Goel et al. 2016) reuses ``validation.metrics.structural_virality``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .validation.metrics import structural_virality
from .validation.trees import CascadeTree

OFFICIAL = -1  # author of a seed post by the official account
NEEDED = ("post_id", "step", "author", "parent", "root", "depth")
SUMMARY_COLUMNS = (  # one row per cascade, in this order
    "root",
    "label",
    "seed",
    "step",
    "minutes",
    "author",
    "posts",
    "reach",
    "depth",
    "breadth",
    "last_step",
    "structural_virality",
)
GROWTH_COLUMNS = ("root", "step", "posts", "reach", "depth", "breadth")


def check_posts(posts: pd.DataFrame) -> None:
    """Raise ValueError naming the missing columns when ``posts`` is not a trace's posts table."""
    missing = [c for c in NEEDED if c not in posts.columns]
    if missing:
        raise ValueError(f"the posts table lacks column(s) {', '.join(missing)} (expected the trace's posts columns)")


def seed_labels(posts: pd.DataFrame, seeds: Mapping[int, str] | None = None) -> dict[int, str]:
    """{root post id: label} of the seed posts: ``seeds`` where given (post id -> name), else every
    root by the official account, labelled "seed post <id>"."""
    check_posts(posts)
    roots = posts[posts["parent"] < 0]
    if seeds is not None:
        present = set(roots["post_id"].astype(int))
        return {int(pid): str(name) for pid, name in seeds.items() if int(pid) in present}
    return {int(pid): f"seed post {int(pid)}" for pid in roots.loc[roots["author"] == OFFICIAL, "post_id"]}


def seeds_from_scenario(posts: pd.DataFrame, seed_posts: list[tuple[str, int, str]]) -> dict[int, str]:
    """{root post id: label} for the scenario's seed posts, given as (label, step, text) in schedule
    order: each is the first unmatched root posted at its step with its text."""
    check_posts(posts)
    roots = posts[posts["parent"] < 0].sort_values("post_id")
    out: dict[int, str] = {}
    for label, step, text in seed_posts:
        same = roots[(roots["step"] == step) & ~roots["post_id"].isin(list(out))]
        if "text" in same.columns:
            same = same[same["text"] == text]
        if len(same):
            out[int(same["post_id"].iloc[0])] = label
    return out


def summary(
    posts: pd.DataFrame, seeds: Mapping[int, str], minutes_per_step: float, others: int | None = 20
) -> pd.DataFrame:
    """One row per cascade: root, label, seed (bool), step, minutes, author, posts, reach, depth,
    breadth, last_step, structural_virality (NaN for a root nobody forwarded); seed posts first
    (by post id), then the ``others`` largest other cascades (all when None), largest first."""
    check_posts(posts)
    if posts.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    p = posts[list(NEEDED)].astype({"post_id": np.int64, "root": np.int64, "depth": np.int64})
    roots = p[p["parent"] < 0].set_index("post_id")
    grouped = p.groupby("root")
    users = p[p["author"] >= 0].groupby("root")["author"].nunique()
    below = p[p["depth"] > 0]
    breadth = below.groupby(["root", "depth"]).size().groupby("root").max()
    out = pd.DataFrame(
        {
            "root": roots.index.to_numpy(),
            "step": roots["step"].to_numpy(),
            "author": roots["author"].to_numpy(),
        }
    )
    out["label"] = [seeds.get(int(r), f"post {int(r)}") for r in out["root"]]
    out["seed"] = out["root"].isin(list(seeds))
    out["minutes"] = (out["step"] + 1) * float(minutes_per_step)  # the end of the step, as on the charts
    out["posts"] = out["root"].map(grouped.size()).fillna(1).astype(np.int64)
    out["reach"] = out["root"].map(users).fillna(0).astype(np.int64)
    out["depth"] = out["root"].map(grouped["depth"].max()).fillna(0).astype(np.int64)
    out["breadth"] = out["root"].map(breadth).fillna(0).astype(np.int64)
    out["last_step"] = out["root"].map(grouped["step"].max()).fillna(out["step"]).astype(np.int64)
    out = out.sort_values(["seed", "posts", "root"], ascending=[False, False, True], kind="stable")
    out = pd.concat([out[out["seed"]].sort_values("root"), out[~out["seed"]].iloc[slice(others)]])
    forwarded = set(out.loc[out["posts"] > 1, "root"].tolist())
    virality = {
        int(root): structural_virality(_tree(group, int(root), float(roots.at[root, "step"]), minutes_per_step))
        for root, group in p[p["root"].isin(forwarded)].groupby("root")
        if root in roots.index
    }
    out["structural_virality"] = out["root"].map(virality).astype(float)
    return out[list(SUMMARY_COLUMNS)].reset_index(drop=True)


def growth(posts: pd.DataFrame, roots: list[int], last_step: int | None = None) -> pd.DataFrame:
    """Cumulative posts, reach, depth and breadth of each cascade in ``roots`` at the end of every step
    from its root's step to ``last_step`` (default: the last step in ``posts``); columns ``GROWTH_COLUMNS``."""
    check_posts(posts)
    frames = []
    end = int(posts["step"].max()) if last_step is None and len(posts) else int(last_step or 0)
    for root in roots:
        c = posts[posts["root"] == root]
        if c.empty:
            continue
        first = int(c["step"].min())
        steps = np.arange(first, max(end, first) + 1)
        index = pd.Index(steps, name="step")
        n_posts = c.groupby("step").size().reindex(index, fill_value=0).cumsum()
        users = c[c["author"] >= 0].drop_duplicates("author")
        reach = users.groupby("step").size().reindex(index, fill_value=0).cumsum()
        depth = c.groupby("step")["depth"].max().reindex(index).cummax().ffill().fillna(0)
        below = c[c["depth"] > 0]
        if len(below):
            per_level = below.groupby(["step", "depth"]).size().unstack(fill_value=0)
            breadth = per_level.reindex(index, fill_value=0).cumsum().max(axis=1)
        else:
            breadth = pd.Series(0, index=index)
        frames.append(
            pd.DataFrame(
                {
                    "root": root,
                    "step": steps,
                    "posts": n_posts.to_numpy(),
                    "reach": reach.to_numpy(),
                    "depth": depth.to_numpy().astype(np.int64),
                    "breadth": breadth.to_numpy().astype(np.int64),
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in GROWTH_COLUMNS})
    return pd.concat(frames, ignore_index=True)


def cascade_tree(posts: pd.DataFrame, root: int, minutes_per_step: float = 1.0) -> CascadeTree:
    """The cascade of ``root`` as a ``validation.trees.CascadeTree`` of posts (the root excluded),
    so the validation metrics apply; times are minutes after the root."""
    start = posts.loc[posts["post_id"] == root, "step"]
    t0 = float(start.iloc[0]) if len(start) else 0.0
    return _tree(posts[posts["root"] == root], root, t0, minutes_per_step)


def _tree(cascade: pd.DataFrame, root: int, t0: float, minutes_per_step: float) -> CascadeTree:
    """``cascade_tree`` of the posts of one cascade (root step ``t0``)."""
    c = cascade[cascade["post_id"] != root].sort_values("post_id")
    ids = c["post_id"].to_numpy(np.int64)
    parent_ids = c["parent"].to_numpy(np.int64)
    position = np.searchsorted(ids, parent_ids)
    inside = (position < len(ids)) & (ids[np.minimum(position, max(len(ids) - 1, 0))] == parent_ids)
    parent = np.where(inside, position, -1).astype(np.int32)
    n = len(c)
    action = c["action"].to_numpy(object) if "action" in c.columns else np.full(n, "repost", dtype=object)
    text = c["text"].to_numpy(object) if "text" in c.columns else np.full(n, "", dtype=object)
    return CascadeTree(
        cascade_id=str(root),
        t_min=(c["step"].to_numpy(np.float64) - t0) * float(minutes_per_step),
        depth=c["depth"].to_numpy(np.int32),
        parent=parent,
        quote=action == "quote",
        text=text,
        parent_text=np.full(n, "", dtype=object),
    )


@dataclass(frozen=True)
class TreeLayout:
    """Positions of a cascade's first ``shown`` posts (of ``total``): ``nodes`` has the posts table's
    columns plus x (hops from the root) and y (leaf order, parents centred over their children);
    ``edges`` holds (parent x, parent y, child x, child y) per drawn post but the root."""

    nodes: pd.DataFrame
    edges: np.ndarray
    total: int
    shown: int


def tree_layout(posts: pd.DataFrame, root: int, max_nodes: int = 500) -> TreeLayout:
    """A tidy left-to-right layout of the cascade of ``root``, drawn to its first ``max_nodes`` posts
    in post order (a parent always precedes its posts, so the drawn part is one connected tree).

    Raises:
        ValueError: ``root`` is not a post of ``posts``, or ``max_nodes`` < 1.
    """
    check_posts(posts)
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    c = posts[posts["root"] == root].sort_values("post_id")
    if c.empty or int(c["post_id"].iloc[0]) != root:
        raise ValueError(f"post {root} is not the root of a cascade in this run")
    total = len(c)
    c = c.iloc[:max_nodes].reset_index(drop=True)
    n = len(c)
    ids = c["post_id"].to_numpy(np.int64)
    position = np.searchsorted(ids, c["parent"].to_numpy(np.int64))
    parent = np.where(
        (position < n) & (ids[np.minimum(position, n - 1)] == c["parent"].to_numpy(np.int64)), position, -1
    )
    parent[0] = -1
    children: list[list[int]] = [[] for _ in range(n)]
    for child in range(1, n):
        children[parent[child] if parent[child] >= 0 else 0].append(child)
    order, stack = [], [0]
    while stack:  # depth-first, children in post order
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(children[node]))
    y = np.zeros(n)
    x = np.zeros(n)
    leaf = 0
    for node in order:
        if not children[node]:
            y[node] = leaf
            leaf += 1
    for node in reversed(order):
        if children[node]:
            ys = y[children[node]]
            y[node] = (ys.min() + ys.max()) / 2
    for node in order[1:]:
        x[node] = x[parent[node] if parent[node] >= 0 else 0] + 1
    nodes = c.assign(x=x, y=y)
    kids = np.arange(1, n)
    up = np.where(parent[kids] >= 0, parent[kids], 0)
    edges = np.column_stack([x[up], y[up], x[kids], y[kids]]) if n > 1 else np.zeros((0, 4))
    return TreeLayout(nodes=nodes, edges=edges, total=total, shown=n)
