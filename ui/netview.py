"""Interactive network views: samples and ego networks, laid out once in Python, drawn in the browser.

Layouts are computed in compiled code (igraph's grid Fruchterman-Reingold, about 0.1 s for 1,000
nodes) and drawn at fixed positions by a small canvas page (ui.netcanvas) that loads nothing from
the internet. Pages cache layouts per network and sample (ui.widgets.sample_layout).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import igraph
import numpy as np
import scipy.sparse as sp

from s3core.network import Network

from . import netcanvas
from .charts import ATTITUDE_COLORS, CATEGORY_COLORS, EMOTION_COLORS, GREY

MAX_VIEW_NODES = 1000  # the largest sample the views offer
LAYOUT_ITERATIONS = 200  # Fruchterman-Reingold rounds: settled for 1,000 nodes, about 0.1 s
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
) -> str:
    """Self-contained HTML drawing the sample on a canvas (ui.netcanvas): pan, zoom, hover titles.

    ``colors`` (CSS colours), ``titles`` (hover text, shown as plain text), ``sizes`` (dot radius
    in layout pixels) and the optional ``labels`` are per node, in ``lay.nodes`` order; ``height``
    is in CSS pixels. Raises ValueError when a list's length differs from the node count.
    """
    palette = sorted(set(colors))
    index = {c: i for i, c in enumerate(palette)}
    return netcanvas.page(
        lay.x.tolist(),
        lay.y.tolist(),
        np.asarray(sizes, dtype=np.float64).tolist(),
        [index[c] for c in colors],
        palette,
        [str(t) for t in titles],
        lay.src.tolist(),
        lay.dst.tolist(),
        lay.mutual.tolist(),
        labels,
        height,
    )


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
