"""Page building blocks shared by several pages: charts, the post feed, network views, run pickers."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from s3core.network import Network

from . import netview, traces
from .export import CHART_CONFIG, csv_bytes, html_bytes, parquet_bytes, png_bytes, png_status

ACTION_BADGES = {
    "repost": ("blue", ":material/repeat:"),
    "quote": ("orange", ":material/format_quote:"),
    "post": ("green", ":material/edit:"),
    "ignore": ("gray", None),
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """Text safe to place inside markdown (user ids and names from uploads may contain markup)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def chart(fig: go.Figure, key: str | None = None) -> None:
    """A plotly chart with our own styling kept (no theme override) and a PNG toolbar button."""
    st.plotly_chart(fig, theme=None, config=CHART_CONFIG, key=key, width="stretch")


def chart_exports(fig: go.Figure, name: str, key: str) -> None:
    """HTML and PNG downloads for one chart; PNG is rendered only when clicked."""
    cols = st.columns(2)
    cols[0].download_button(
        "Download HTML",
        data=lambda: html_bytes(fig),
        file_name=f"{name}.html",
        mime="text/html",
        key=f"{key}_html",
        icon=":material/download:",
        on_click="ignore",
    )
    reason = png_status()
    cols[1].download_button(
        "Download PNG",
        data=lambda: png_bytes(fig),
        file_name=f"{name}.png",
        mime="image/png",
        key=f"{key}_png",
        icon=":material/image:",
        disabled=reason is not None,
        on_click="ignore",
        help=reason or "Rendered on click by kaleido with the local Chromium (a few seconds the first time).",
    )
    if reason is not None:
        st.caption(f"{reason} Meanwhile, use the camera icon in the chart's toolbar to save a PNG from the browser.")


def table_exports(df_fn, name: str, key: str) -> None:
    """CSV and Parquet downloads of a table; the table is built only when a button is clicked."""
    cols = st.columns(2)
    cols[0].download_button(
        "Download CSV",
        data=lambda: csv_bytes(df_fn()),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    cols[1].download_button(
        "Download Parquet",
        data=lambda: parquet_bytes(df_fn()),
        file_name=f"{name}.parquet",
        mime="application/vnd.apache.parquet",
        key=f"{key}_parquet",
        icon=":material/download:",
        on_click="ignore",
    )


def feed(posts: list[dict], height: int = 620) -> None:
    """Newest posts first, each with its action badge; post text is shown as plain text, never HTML."""
    box = st.container(height=height, border=False)
    if not posts:
        box.caption("No posts yet: press Step or Run.")
        return
    for p in posts:
        item = box.container(border=True)
        color, icon = ACTION_BADGES.get(p["action"], ("gray", None))
        head = item.container(horizontal=True, gap="small", vertical_alignment="center")
        head.badge(p["action"], color=color, icon=icon)
        reply = f" · on post {p['parent']}" if p["parent"] >= 0 else ""
        head.caption(
            md_escape(f"step {p['step']} · post {p['post_id']} · {p['author']} · {p['stance']}, {p['emotion']}{reply}")
        )
        item.text(p["text"])


# -- network views ------------------------------------------------------------------------------
@st.cache_resource(max_entries=4, show_spinner=False)
def adjacency(key: str, _network: Network):
    """Undirected adjacency of a network, cached under the network's content key."""
    return netview.undirected_adjacency(_network)


@st.cache_data(max_entries=16, show_spinner="Laying out the network...")
def sample_layout(key: str, mode: str, size: int, center: int, _network: Network) -> netview.Layout:
    adj = adjacency(key, _network)
    nodes = netview.ego_sample(adj, center, size) if mode == "ego" else netview.hub_sample(adj, size)
    return netview.layout(_network, nodes)


def resolve_agent(network: Network, text: str) -> int | None:
    """An agent index from a user id, or from an agent index written ``#N``, typed by a person; None if neither.

    A bare number is read as an index only when no user id is a number: with numeric ids, user
    ``7`` missing must not silently become agent 7, another person.
    """
    text = str(text or "").strip()
    if not text:
        return None
    ids = network.user_ids.astype(str)
    hits = np.flatnonzero(ids == text)
    if len(hits):
        return int(hits[0])
    index = text.removeprefix("#")
    if index.isdigit() and int(index) < network.n_users:
        if text.startswith("#") or not np.char.isdigit(ids).any():
            return int(index)
    return None


def agent_suggestions(network: Network, extra: list[int] = (), n: int = 12) -> list[str]:
    """User ids to offer in pickers: the given agents first, then the most-followed users."""
    top = np.argsort(-network.follower_count, kind="stable")[:n]
    out: list[str] = []
    for a in list(extra) + top.tolist():
        uid = str(network.user_ids[a])
        if a >= 0 and uid not in out:
            out.append(uid)
    return out


def sample_controls(net: Network, prefix: str, extra: list[int] = ()) -> tuple[str, int, int]:
    """Sample kind, size and ego centre widgets; returns (mode, size, centre agent)."""
    cols = st.columns([1.2, 1, 1.6])
    mode = cols[0].radio(
        "Show",
        ["hubs", "ego"],
        horizontal=True,
        key=f"{prefix}_mode",
        format_func={"hubs": "sample around hubs", "ego": "ego network"}.get,
        help="A snowball sample from the best-connected users, or one user's neighbourhood.",
    )
    if net.n_users > 20:
        size = cols[1].slider(
            "Nodes",
            20,
            min(netview.MAX_VIEW_NODES, net.n_users),
            min(300, net.n_users),
            step=10,
            key=f"{prefix}_size",
            help="Each sample is laid out once per network and kept, so coming back to it is instant.",
        )
    else:
        size = net.n_users
        cols[1].caption(f"All {net.n_users} users shown.")
    center = 0
    if mode == "ego":
        options = agent_suggestions(net, extra)
        pick = cols[2].selectbox(
            "Centre user (id or agent index)",
            options,
            key=f"{prefix}_center",
            accept_new_options=True,
            help="Pick a suggested user or type any user id.",
        )
        found = resolve_agent(net, pick)
        if found is None:
            cols[2].error(f"No user {md_escape(pick)} in this network; showing {md_escape(options[0])}.")
            found = resolve_agent(net, options[0])
        center = found
    return mode, int(size), int(center)


def show_network(fig: go.Figure) -> None:
    """A network view (ui.netview.render): plotly's pan and zoom tools, the wheel zooms too."""
    st.plotly_chart(fig, theme=None, config={**CHART_CONFIG, "scrollZoom": True}, width="stretch")


def run_picker(label: str, key: str, runs: list[traces.RunInfo]) -> traces.RunInfo | None:
    """A select box over the session's runs (newest first)."""
    if not runs:
        return None
    by_name = {r.run: r for r in runs}
    names = list(by_name)[::-1]
    choice = st.selectbox(
        label,
        names,
        key=key,
        format_func=lambda n: f"{n} · {by_name[n].name} · {by_name[n].steps} steps · {by_name[n].status}",
    )
    return by_name.get(choice)
