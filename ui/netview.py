"""Interactive network views with pyvis: samples and ego networks, laid out once, rendered offline.

Layouts are computed in compiled code (igraph's grid Fruchterman-Reingold, about 0.1 s for 1,000
nodes) and passed to vis.js as fixed positions with physics off, since vis.js physics on a few
hundred nodes takes many seconds to settle. The HTML inlines vis-network (its stylesheet cut to
the rules the view uses) and loads nothing from the internet. Nodes and edges carry only what
differs between them; shared styling is in the vis options, which keeps a 1,000-node page small.
"""

from __future__ import annotations

import functools
import html
import json
import random
import re
import threading
from dataclasses import dataclass

import igraph
import numpy as np
import scipy.sparse as sp
from pyvis.network import Network as PyvisNetwork

from s3core.network import Network

from .charts import ATTITUDE_COLORS, CATEGORY_COLORS, EMOTION_COLORS, GREY, OKABE_ITO

PHYSICS_MAX_NODES = 150  # above this, positions are precomputed and physics is off
MAX_VIEW_NODES = 1000  # the largest sample the views offer (about 1 s to draw in Chromium)
_REMOTE = re.compile(r"<link[^>]*https?://[^>]*>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>", re.S)
_EMPTY_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>")
_DEAD_INCLUDES = re.compile(r"<!--(?:(?!-->).)*node_modules(?:(?!-->).)*-->", re.S)
_VIS_CSS = re.compile(r"<style>\s*\.vis-overlay\{.*?</style>", re.S)  # vis-network.css, 220 kB, mostly editor icons
_VIEW_CSS = (
    "div.vis-network{outline:none}"
    "div.vis-tooltip{background-color:#f5f4ed;border:1px solid #808074;border-radius:3px;"
    "box-shadow:3px 3px 10px rgba(0,0,0,.2);color:#000;font-family:verdana;font-size:13px;padding:5px;"
    "pointer-events:none;position:absolute;visibility:hidden;white-space:nowrap;z-index:5}"
)
LAYOUT_ITERATIONS = 200  # Fruchterman-Reingold rounds: settled for 1,000 nodes, about 0.1 s
MUTUAL_EDGE = {"color": {"color": "#888888"}, "width": 1.5}  # reciprocated follows stand out
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
    height: int = 560,
    physics: bool | None = None,
) -> str:
    """Self-contained HTML of the sample (vis-network inlined; no remote scripts or styles).

    ``colors``, ``titles`` (hover text, escaped here), ``sizes`` (dot radius in pixels) and the
    optional ``labels`` are per node, in ``lay.nodes`` order. Physics is on only up to
    PHYSICS_MAX_NODES nodes unless ``physics`` says otherwise.
    """
    n = len(lay.nodes)
    if not (len(colors) == len(titles) == len(sizes) == n) or (labels is not None and len(labels) != n):
        raise ValueError(
            f"render: {n} nodes but {len(colors)} colours, {len(titles)} titles, {len(sizes)} sizes"
            + ("" if labels is None else f", {len(labels)} labels")
        )
    physics = n <= PHYSICS_MAX_NODES if physics is None else physics
    ids = lay.nodes.tolist()
    net = PyvisNetwork(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line", bgcolor="#ffffff")
    net.templateEnv = _templates()
    # Built as plain dicts (pyvis's add_node/add_edge check for duplicates one by one and copy the
    # shared styling into every item); the template only reads these lists.
    net.nodes = [
        {"id": a, "title": html.escape(t), "color": c, "size": round(float(s), 2), "x": round(x, 1), "y": round(y, 1)}
        for a, t, c, s, x, y in zip(ids, titles, colors, sizes, lay.x.tolist(), lay.y.tolist())
    ]
    if labels:
        for node, text in zip(net.nodes, labels):
            node["label"] = text
    net.node_ids = ids
    net.node_map = {node["id"]: node for node in net.nodes}
    net.edges = [
        {"from": ids[s], "to": ids[d], **MUTUAL_EDGE} if m else {"from": ids[s], "to": ids[d]}
        for s, d, m in zip(lay.src.tolist(), lay.dst.tolist(), lay.mutual.tolist())
    ]
    net.set_options(_options(physics, large=n > 300))
    return offline_html(net.generate_html(notebook=False))


@functools.cache
def _templates():
    """pyvis's jinja environment, made once per process: compiling its template (which inlines the
    470 kB vis-network script) takes a quarter of a second, and pyvis makes a new one per network."""
    return PyvisNetwork(cdn_resources="in_line").templateEnv


def offline_html(page: str) -> str:
    """Drop pyvis's remote bootstrap includes, its empty headings and vis's unused stylesheet rules."""
    page = _DEAD_INCLUDES.sub("", _REMOTE.sub("", page))
    page = _VIS_CSS.sub(lambda _: f"<style>{_VIEW_CSS}</style>", page, count=1)
    return _EMPTY_HEADING.sub("", page)


def _options(physics: bool, large: bool = False) -> str:
    """vis options: the styling every node and edge shares, and physics only for small samples."""
    stabilization = {"enabled": True, "iterations": 150} if physics else {"enabled": False}
    options = {
        "physics": {
            "enabled": physics,
            "stabilization": stabilization,
            "barnesHut": {"gravitationalConstant": -3000, "springLength": 80},
        },
        "layout": {"improvedLayout": False},  # positions are given: no Kamada-Kawai pass in the browser
        "interaction": {
            "hover": True,
            "tooltipDelay": 80,
            "navigationButtons": False,
            "hideEdgesOnDrag": True,
            "hideEdgesOnZoom": large,
        },
        "edges": {
            "smooth": False,
            "color": {"color": "#CCCCCC", "highlight": "#555555", "hover": "#555555"},
            "width": 0.8,
            "arrows": {"to": {"enabled": True, "scaleFactor": 0.4}},
        },
        "nodes": {"shape": "dot", "borderWidth": 1, "font": {"size": 10, "color": OKABE_ITO["black"]}},
    }
    return json.dumps(options)


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
