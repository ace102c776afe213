"""The per-post cascade view: each seed post's reach, depth and breadth over time, and a chosen post's tree.

Used by the Traces page (a recorded run) and the Simulate page (the live run). The numbers come
from ``s3core.cascade_tree``; the two figure builders here are pure (data in, figure out).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from s3core import cascade_tree as C
from s3core import trace_queries as Q
from s3core.plotstyle import (
    ACTION_COLORS,
    COLORWAY,
    GREY,
    clock,
    count_axis,
    step_axis,
    step_end_minutes,
    step_time,
    styled,
    time_axis,
)

from .widgets import chart

MAX_TREE_NODES = 400  # posts drawn in one tree; a browser draws this many markers and lines at once without lag
OTHERS_LISTED = 20  # cascades started by agents' own posts listed beside the seed posts
MEASURES = {
    "reach": ("Reach: distinct users who posted in the cascade", "users (count)"),
    "posts": ("Posts in the cascade (root, reposts and quotes)", "posts (count)"),
    "depth": ("Depth: most hops from the root", "hops"),
    "breadth": ("Breadth: most posts at one depth", "posts at the widest level (count)"),
    "aware": ("Aware: agents who received a post of the seed's cascade", "agents (count)"),
}


def growth_figure(curves: pd.DataFrame, labels: Mapping[int, str], measure: str, minutes_per_step: float) -> go.Figure:
    """One line per cascade of ``measure`` over steps; ``curves`` has a root, a step and the measure column."""
    title, y_label = MEASURES[measure]
    fig = go.Figure()
    for i, (root, c) in enumerate(curves.groupby("root", sort=False)):
        fig.add_scatter(
            x=c["step"],
            y=c[measure],
            name=labels.get(int(root), f"post {int(root)}"),
            mode="lines+markers" if len(c) <= 60 else "lines",
            line={"color": COLORWAY[i % len(COLORWAY)], "width": 2.2},
            marker={"size": 5},
            customdata=[clock(step_end_minutes(s, minutes_per_step)) for s in c["step"]],
            hovertemplate="%{y:,} after step %{x} (%{customdata})",
        )
    fig = styled(fig, title, step_axis(minutes_per_step), y_label)
    steps = curves["step"] if len(curves) else pd.Series([0])
    time_axis(fig, int(steps.max()), minutes_per_step, first_step=int(steps.min()))
    return count_axis(fig, float(curves[measure].max()) if len(curves) else 0.0)


def _who(post) -> str:
    """A post's author: the official account, or the user id (when known) and the agent index."""
    if int(post.author) < 0:
        return "official account"
    uid = getattr(post, "user_id", None)
    return f"user {uid} (agent {int(post.author)})" if uid is not None else f"agent {int(post.author)}"


def tree_figure(layout: C.TreeLayout, label: str, minutes_per_step: float) -> go.Figure:
    """The cascade tree left to right: the root at hop 0, each post right of the post it forwards,
    coloured by action; hovering a post shows its step, real time, author and text (as plain text)."""
    fig = go.Figure()
    e = layout.edges
    if len(e):
        xs = np.column_stack([e[:, 0], e[:, 2], np.full(len(e), np.nan)]).ravel()
        ys = np.column_stack([e[:, 1], e[:, 3], np.full(len(e), np.nan)]).ravel()
        fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": GREY, "width": 1}, hoverinfo="skip", showlegend=False)
    nodes = layout.nodes
    actions = nodes["action"] if "action" in nodes.columns else pd.Series("repost", index=nodes.index)
    for action in ("post", "repost", "quote"):
        part = nodes[actions == action]
        if part.empty:
            continue
        texts = part["text"].fillna("") if "text" in part.columns else pd.Series("", index=part.index)
        hover = [
            html.escape(
                f"post {int(r.post_id)} · {action} · step {int(r.step)} (to {clock(step_end_minutes(r.step, minutes_per_step))}) · "
                + _who(r)
            )
            + "<br>"
            + html.escape(str(t)[:120])
            for r, t in zip(part.itertuples(), texts)
        ]
        fig.add_scatter(
            x=part["x"],
            y=part["y"],
            mode="markers",
            name="root" if action == "post" else action,
            marker={"color": ACTION_COLORS[action], "size": 11 if action == "post" else 7, "line": {"width": 0}},
            hovertext=hover,
            hoverinfo="text",
        )
    shown = (
        f"first {layout.shown:,} of {layout.total:,} posts"
        if layout.shown < layout.total
        else f"{layout.total:,} posts"
    )
    fig = styled(
        fig,
        f"Cascade tree of {label} ({shown})",
        "hops from the root",
        "",
        height=max(360, min(900, 12 * int(nodes["y"].max() + 1) + 140)),
        hovermode="closest",
    )
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(dtick=1, tickformat=",d")
    return fig


def _table(summary: pd.DataFrame, posts: pd.DataFrame, minutes_per_step: float, awareness) -> pd.DataFrame:
    out = summary.assign(
        started=[step_time(s, minutes_per_step) for s in summary["step"]],
        author=["official account" if a < 0 else f"agent {int(a)}" for a in summary["author"]],
    )
    if "user_id" in posts.columns:  # "user <id> (agent <index>)": the id people know, the index the trace uses
        uid = posts.set_index("post_id")["user_id"]
        out["author"] = [
            a if a == "official account" else f"user {uid.get(r, '?')} ({a})"
            for r, a in zip(out["root"], out["author"])
        ]
    if "text" in posts.columns:
        text = posts.set_index("post_id")["text"]
        out["text"] = [str(text.get(r, ""))[:80] for r in out["root"]]
    if awareness is not None and len(awareness):
        last = awareness.sort_values("step").groupby("root")["aware"].last()
        reached = out["root"].map(last)  # agent-started cascades have no per-seed awareness: blank, not None
        out["aware"] = ["" if pd.isna(v) else f"{int(v):,}" for v in reached]
    columns = ["label", "root", "started", "author", "posts", "reach", "depth", "breadth"]
    columns += ["aware"] if "aware" in out.columns else []
    columns += ["structural_virality"] + (["text"] if "text" in out.columns else [])
    return out[columns].rename(columns={"label": "cascade", "root": "root post", "structural_virality": "virality"})


def live_inputs(live) -> tuple[pd.DataFrame, dict[int, str], pd.DataFrame | None]:
    """The cascade view's inputs for a live run (``ui.live.LiveRun``): the posts its trace holds so far,
    {seed root post id: seed name} and its per-seed awareness rows (None when the engine reports none).

    Use as ``render_cascades(posts, mps, key, seeds=seeds, awareness=awareness)``.
    """
    posts = live.query(Q.CASCADE_POSTS) if live.has_trace else None
    if posts is None:  # no step yet, or the run was closed
        posts = pd.DataFrame({c: pd.Series(dtype="int64") for c in C.NEEDED})
    frame = live.seed_frame() if hasattr(live, "seed_frame") else None
    awareness = frame if frame is not None and len(frame) else None
    if awareness is not None:
        named = awareness.drop_duplicates("root")
        seeds = {int(r): str(n) for r, n in zip(named["root"], named["seed"])}
    else:
        seeds = {int(pid): str(name) for name, pid in live.sim.seed_ids.items()}
        seeds.update({r: f"seed post {r}" for r in C.seed_labels(posts) if r not in seeds})
    return posts, seeds, awareness


def render_cascades(
    posts: pd.DataFrame,
    minutes_per_step: float,
    key: str,
    seeds: Mapping[int, str] | None = None,
    awareness: pd.DataFrame | None = None,
) -> None:
    """Draw the cascade view of one run.

    Args:
        posts: the run's posts with the trace's columns (post_id, step, author, parent, root, depth;
            action and text are used when present).
        minutes_per_step: real minutes per step, for the time shown beside steps.
        key: a prefix for this view's widget keys (unique on the page).
        seeds: {root post id: name} of the seed posts; default: the official account's root posts.
        awareness: the trace's ``seed_metrics`` rows (step, seed, root, aware, ...), when it has them:
            adds each seed's awareness curve.

    Raises:
        ValueError: ``posts`` lacks one of the needed columns.
    """
    C.check_posts(posts)
    if posts.empty:
        st.info("No posts yet, so no cascades: press Step or Run.", icon=":material/info:")
        return
    labels = C.seed_labels(posts, seeds)
    summary = C.summary(posts, labels, minutes_per_step, others=OTHERS_LISTED)
    n_roots = int((posts["parent"] < 0).sum())
    n_others = n_roots - len(labels)
    st.caption(
        f"{len(labels)} seed post(s) and {n_others:,} cascade(s) started by agents' own posts"
        + (f" (the {OTHERS_LISTED} largest listed)" if n_others > OTHERS_LISTED else "")
        + ". Reach: distinct users who posted in the cascade; depth: most hops from the root; breadth: most "
        "posts at one depth; virality: structural virality (mean hops between two posts of the tree)."
    )
    st.dataframe(
        _table(summary, posts, minutes_per_step, awareness),
        hide_index=True,
        width="stretch",
        key=f"{key}_table",
        column_config={"virality": st.column_config.NumberColumn(format="%.2f")},
    )
    names = {int(r): lab for r, lab in zip(summary["root"], summary["label"])}
    roots = list(names)
    default = [r for r in roots if r in labels] or roots[:3]
    has_awareness = awareness is not None and len(awareness) > 0
    c = st.columns([3, 2])
    picked = c[0].multiselect(
        "Cascades over time",
        roots,
        default=default,
        key=f"{key}_pick",
        format_func=lambda r: names.get(r, f"post {r}"),
    )
    options = [m for m in MEASURES if m != "aware" or has_awareness]
    measure = (
        c[1].segmented_control(
            "Measure",
            options,
            default="aware" if has_awareness else "reach",
            key=f"{key}_measure",
            help="'aware' counts agents who received a post of the seed's cascade (recorded per seed in this run)."
            if has_awareness
            else None,
        )
        or options[0]
    )
    if picked:
        last = int(posts["step"].max())
        if measure == "aware":
            curves = awareness[awareness["root"].isin(picked)][["root", "step", "aware"]].sort_values(["root", "step"])
            missing = [names[r] for r in picked if r not in set(curves["root"])]
            if missing:
                st.caption(f"No awareness recorded for {', '.join(missing)} (only seed posts have it).")
        else:
            curves = C.growth(posts, picked, last)
        chart(growth_figure(curves, names, measure, minutes_per_step), key=f"{key}_growth")
    else:
        st.caption("Pick one or more cascades to draw their growth.")
    root = st.selectbox(
        "Cascade tree of",
        roots,
        index=roots.index(default[0]) if default else 0,
        key=f"{key}_tree_of",
        format_func=lambda r: names.get(r, f"post {r}"),
    )
    layout = C.tree_layout(posts, int(root), MAX_TREE_NODES)
    if layout.shown < layout.total:
        st.caption(
            f"The tree has {layout.total:,} posts; the first {layout.shown:,} (in the order they were posted) are "
            f"drawn, so the browser stays responsive. The table above counts all of them."
        )
    chart(tree_figure(layout, names[int(root)], minutes_per_step), key=f"{key}_tree")
