"""Interactive network views: samples and ego networks, laid out once in Python, drawn by plotly.

Layouts are computed in compiled code (igraph's grid Fruchterman-Reingold, about 0.1 s for 1,000
nodes) and drawn at fixed positions as one plotly figure (``render``): edges as one SVG path per
kind, users as one marker trace. Pages cache layouts per network and sample (ui.widgets.sample_layout).
"""

from __future__ import annotations

import html
import random
import threading
from dataclasses import dataclass

import igraph
import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

from s3core.network import Network

from .charts import ATTITUDE_COLORS, CATEGORY_COLORS, EMOTION_COLORS, GREY

MAX_VIEW_NODES = 1000  # the largest sample the views offer
LAYOUT_ITERATIONS = 200  # Fruchterman-Reingold rounds: settled for 1,000 nodes, about 0.1 s
VIEW_HEIGHT = 560  # CSS pixels
_IGRAPH_RNG = threading.Lock()


def undirected_adjacency(network: Network) -> sp.csr_matrix:
    """Who is connected to whom, either direction, as a boolean CSR matrix."""
    follower, followee = network.edges()
    n = network.n_users
    data = np.ones(len(follower), dtype=bool)
    a = sp.csr_matrix((data, (followee, follower)), shape=(n, n))
    return (a + a.T).tocsr()


def snowball(adj: sp.csr_matrix, seeds: np.ndarray, size: int) -> np.ndarray:
    """Breadth-first from the seeds, best-connected neighbours first, until ``size`` nodes.

    Each ring is the unseen neighbours of the previous one in order of first appearance, sorted by
    degree (stable); whole rings are handled as arrays, so hubs with 10,000s of followers cost
    milliseconds. Returns the chosen agent indices, sorted.
    """
    degree = np.diff(adj.indptr)
    seen = np.zeros(adj.shape[0], dtype=bool)
    seeds = np.asarray(seeds, dtype=np.int64)
    _, first = np.unique(seeds, return_index=True)
    frontier = seeds[np.sort(first)]
    seen[frontier] = True
    chosen: list[np.ndarray] = []
    count = 0
    while len(frontier) and count < size:
        chosen.append(frontier[: size - count])
        count += len(chosen[-1])
        if count >= size:
            break
        ring = adj[frontier].indices.astype(np.int64)
        ring = ring[~seen[ring]]
        _, first = np.unique(ring, return_index=True)
        ring = ring[np.sort(first)]
        seen[ring] = True
        frontier = ring[np.argsort(-degree[ring], kind="stable")]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def hub_sample(adj: sp.csr_matrix, size: int) -> np.ndarray:
    """A snowball from the best-connected users: the part of the graph where spreading is visible."""
    degree = np.diff(adj.indptr)
    seeds = np.argsort(-degree, kind="stable")[: max(1, size // 50)]
    nodes = snowball(adj, seeds, size)
    if len(nodes) < size:  # small components: fill up with the next hubs
        rest = np.setdiff1d(np.argsort(-degree, kind="stable"), nodes, assume_unique=False)
        nodes = np.union1d(nodes, rest[: size - len(nodes)])
    return nodes


def ego_sample(adj: sp.csr_matrix, center: int, size: int) -> np.ndarray:
    """The user, its neighbours, then neighbours of neighbours, up to ``size`` nodes."""
    return snowball(adj, np.array([center]), size)


@dataclass(frozen=True)
class Layout:
    """A sample's nodes, its internal edges and fixed positions in pixels."""

    nodes: np.ndarray  # agent indices
    src: np.ndarray  # positions in ``nodes`` of each edge's follower
    dst: np.ndarray  # ... and followee
    mutual: np.ndarray  # bool, the edge is reciprocated
    x: np.ndarray
    y: np.ndarray


def layout(network: Network, nodes: np.ndarray, seed: int = 1) -> Layout:
    """Induced edges of the sample and a force-directed layout scaled to the node count.

    Args:
        network: the whole follow graph.
        nodes: agent indices of the sample (each once), shape (k,).
        seed: the layout's seed; the same sample and seed always give the same positions.

    Returns:
        The sample's induced edges and positions in pixels (about 45 * sqrt(k) across).
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    position = np.full(network.n_users, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    follower, followee = network.edges()
    keep = (position[follower] >= 0) & (position[followee] >= 0)
    src, dst = position[follower[keep]], position[followee[keep]]
    mutual = network.follower_mutual[keep]
    xy = spring_positions(len(nodes), src, dst, seed)
    scale = 45.0 * np.sqrt(max(len(nodes), 1))
    return Layout(nodes, src, dst, mutual, xy[:, 0] * scale, xy[:, 1] * scale)


def spring_positions(n: int, src: np.ndarray, dst: np.ndarray, seed: int = 1) -> np.ndarray:
    """Fruchterman-Reingold positions of ``n`` nodes joined by edges ``src[i] - dst[i]`` (direction ignored).

    igraph's grid variant (repulsion only between nearby nodes) runs in C; the start is drawn from
    ``numpy.random.default_rng(seed)`` and igraph's own random nudges from ``random.Random(seed)``,
    so the result is reproducible. Returns an (n, 2) float array centred on 0, with 98% of the
    nodes within radius 1 (a few far-flung ones do not shrink the rest).
    """
    if n == 0:
        return np.zeros((0, 2))
    if n == 1:
        return np.zeros((1, 2))
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    pairs = np.unique((lo * n + hi)[lo != hi])
    graph = igraph.Graph(n=n, edges=np.column_stack([pairs // n, pairs % n]).tolist())
    start = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 2)) * np.sqrt(n)
    with _IGRAPH_RNG:  # igraph draws from one process-wide generator: seed it for this call only
        igraph.set_random_number_generator(random.Random(seed))
        try:
            coords = graph.layout_fruchterman_reingold(seed=start.tolist(), niter=LAYOUT_ITERATIONS, grid=True).coords
        finally:
            igraph.set_random_number_generator(random)
    xy = np.asarray(coords, dtype=np.float64)
    xy -= np.median(xy, axis=0)
    radius = np.quantile(np.hypot(xy[:, 0], xy[:, 1]), 0.98)
    return xy / radius if radius > 0 else xy


def render(
    lay: Layout,
    colors: list[str],
    titles: list[str],
    sizes: np.ndarray,
    labels: list[str] | None = None,
    height: int = VIEW_HEIGHT,
) -> go.Figure:
    """One plotly figure of the sample: each kind of follow edge as ONE SVG path, users as one trace.

    Args:
        lay: the sample and its positions (``layout``); positions are in layout pixels.
        colors: CSS colour per node, in ``lay.nodes`` order.
        titles: hover text per node (plain text: ``<``, ``>`` and ``&`` are escaped, so user ids
            from uploads show as typed and cannot add markup); "" shows no hover box.
        sizes: dot radius per node in layout pixels (``node_sizes``); drawn as marker diameters
            scaled down for large samples (``marker_sizes``).
        labels: optional text drawn under each node (escaped like the titles).
        height: the figure's height in CSS pixels.

    Returns:
        A figure with two path shapes under the data, named ``"one-way follows"`` (light grey)
        and ``"mutual follows"`` (darker; a mutual pair is drawn once), each one ``M..L..``
        path in data coordinates (``edge_path``), and one ``go.Scatter`` trace ``"users"`` of
        ``len(lay.nodes)`` markers; ``layout.meta`` holds ``{"network_nodes", "network_edges"}``.
        Axes hidden, one unit the same length on both axes, pan by drag and zoom by wheel
        (plotly's own tools). Edge direction is not drawn.

    Raises:
        ValueError: a per-node list's length differs from the node count.
    """
    n = len(lay.nodes)
    per_node = {"colors": colors, "titles": titles, "sizes": sizes}
    if labels is not None:
        per_node["labels"] = labels
    wrong = [f"{name} has {len(v)}" for name, v in per_node.items() if len(v) != n]
    if wrong:
        raise ValueError(f"network view: {n} nodes and {len(lay.src)} edges, but " + ", ".join(wrong))
    fig = go.Figure(
        go.Scatter(
            x=lay.x.astype(np.float32),
            y=lay.y.astype(np.float32),
            mode="markers" if labels is None else "markers+text",
            name="users",
            marker={
                "color": list(colors),
                "size": marker_sizes(np.asarray(sizes, dtype=np.float64)),
                "line": {"color": "rgba(0,0,0,0.45)", "width": 0.5},
                "opacity": 1.0,
            },
            text=None if labels is None else [plain(t) for t in labels],
            textposition="bottom center",
            textfont={"size": 10},
            hovertext=[plain(t) for t in titles],
            hoverinfo="text",
            hoverlabel={"bgcolor": "#f5f4ed", "font": {"color": "#000000", "size": 13}},
        )
    )
    mutual = lay.mutual & (lay.src < lay.dst)  # both directions of a mutual pair are in the edges: draw one
    for name, keep, color, width in (
        ("one-way follows", ~lay.mutual, "#d0d0d0", 0.6),
        ("mutual follows", mutual, "#909090", 1.0),
    ):
        if keep.any():
            fig.add_shape(
                type="path", path=edge_path(lay, keep), name=name, line={"color": color, "width": width}, layer="below"
            )
    hidden = {"visible": False, "showgrid": False, "zeroline": False}
    fig.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        showlegend=False,
        dragmode="pan",
        hovermode="closest",
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        xaxis=hidden,
        yaxis={**hidden, "scaleanchor": "x", "scaleratio": 1},
        meta={"network_nodes": n, "network_edges": int(len(lay.src))},
    )
    return fig


def edge_path(lay: Layout, keep: np.ndarray) -> str:
    """The kept edges as one SVG path in data coordinates: ``M x0,y0L x1,y1`` per edge (0.1 px).

    plotly draws a path shape as one ``<path>`` element, moved and scaled with the axes. A line
    trace with gaps would not do: its SVG version makes one element per segment (12,000 for a
    1,000-node sample, 1-2 s to draw) and its WebGL version needs WebGL contexts, which software
    rendering (headless Chromium without a GPU) makes as slow.
    """
    src, dst = lay.src[keep], lay.dst[keep]
    xy = np.column_stack([lay.x[src], lay.y[src], lay.x[dst], lay.y[dst]])
    return "".join(f"M{a:.1f},{b:.1f}L{c:.1f},{d:.1f}" for a, b, c, d in xy.tolist())


def marker_sizes(radius: np.ndarray) -> np.ndarray:
    """Marker diameters in screen pixels: the layout radius (``node_sizes``), scaled down for big samples.

    The factor is 1 up to 100 nodes and 10 / sqrt(k) above, at least 0.5 (1,000 nodes: dots of
    2.5-15 px), so a view of any size keeps its edges visible between the dots.
    """
    k = max(len(radius), 1)
    factor = 1.0 if k <= 100 else max(0.5, 10.0 / np.sqrt(k))
    return np.round(radius * factor, 2)


def plain(text) -> str:
    """Text shown as typed in plotly's hover boxes and labels: ``&``, ``<`` and ``>`` escaped.

    plotly.js interprets a few tags (``<b>``, ``<br>``, ``<a href>`` ...) and entities in these
    strings; escaped, user ids and descriptions from uploads show literally.
    """
    return html.escape(str(text), quote=False)


# -- colouring ----------------------------------------------------------------------------------
def state_colors(aware: np.ndarray, emotion: np.ndarray, attitude: np.ndarray, by: str) -> list[str]:
    """Node colours for a state: unaware grey; aware by emotion level or by attitude."""
    if by == "attitude":
        palette = [ATTITUDE_COLORS["negative"], ATTITUDE_COLORS["positive"]]
        return [palette[int(a)] if w else GREY for w, a in zip(aware, attitude)]
    palette = [EMOTION_COLORS["calm"], EMOTION_COLORS["moderate"], EMOTION_COLORS["intense"]]
    return [palette[int(e)] if w else GREY for w, e in zip(aware, emotion)]


def category_colors(category: np.ndarray) -> list[str]:
    palette = [CATEGORY_COLORS["influential"], CATEGORY_COLORS["regular"], CATEGORY_COLORS["low-impact"]]
    return [palette[int(c)] for c in category]


def node_sizes(followers: np.ndarray) -> np.ndarray:
    """Dot size grows with the log of the follower count."""
    return np.minimum(5.0 + 2.0 * np.log1p(np.asarray(followers, dtype=np.float64)), 30.0)
