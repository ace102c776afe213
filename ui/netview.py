"""Interactive network views with pyvis: samples and ego networks, laid out once, rendered offline.

Layouts are computed in Python (networkx spring layout on the sample) and passed as fixed
positions with physics off, since vis.js physics on a few hundred nodes takes many seconds to
settle. The HTML inlines vis-network and loads nothing from the internet.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from pyvis.network import Network as PyvisNetwork

from s3core.network import Network

from .charts import ATTITUDE_COLORS, CATEGORY_COLORS, EMOTION_COLORS, GREY, OKABE_ITO

PHYSICS_MAX_NODES = 150  # above this, positions are precomputed and physics is off
_REMOTE = re.compile(r"<link[^>]*https?://[^>]*>|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>", re.S)
_EMPTY_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>")
_DEAD_INCLUDES = re.compile(r"<!--(?:(?!-->).)*node_modules(?:(?!-->).)*-->", re.S)


def undirected_adjacency(network: Network) -> sp.csr_matrix:
    """Who is connected to whom, either direction, as a boolean CSR matrix."""
    follower, followee = network.edges()
    n = network.n_users
    data = np.ones(len(follower), dtype=bool)
    a = sp.csr_matrix((data, (followee, follower)), shape=(n, n))
    return (a + a.T).tocsr()


def _neighbours(adj: sp.csr_matrix, node: int) -> np.ndarray:
    return adj.indices[adj.indptr[node] : adj.indptr[node + 1]]


def snowball(adj: sp.csr_matrix, seeds: np.ndarray, size: int) -> np.ndarray:
    """Breadth-first from the seeds, best-connected neighbours first, until ``size`` nodes."""
    degree = np.diff(adj.indptr)
    chosen: list[int] = []
    seen = np.zeros(adj.shape[0], dtype=bool)
    frontier = [int(s) for s in seeds]
    seen[frontier] = True
    while frontier and len(chosen) < size:
        chosen.extend(frontier[: size - len(chosen)])
        nxt = []
        for node in frontier:
            nb = _neighbours(adj, node)
            nb = nb[~seen[nb]]
            seen[nb] = True
            nxt.extend(nb.tolist())
        frontier = sorted(nxt, key=lambda v: -degree[v])
    return np.array(sorted(chosen), dtype=np.int64)


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
    """Induced edges of the sample and a spring layout scaled to the node count."""
    nodes = np.asarray(nodes, dtype=np.int64)
    position = np.full(network.n_users, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    follower, followee = network.edges()
    keep = (position[follower] >= 0) & (position[followee] >= 0)
    src, dst = position[follower[keep]], position[followee[keep]]
    mutual = network.follower_mutual[keep]
    graph = nx.Graph()
    graph.add_nodes_from(range(len(nodes)))
    graph.add_edges_from(zip(src.tolist(), dst.tolist()))
    pos = nx.spring_layout(graph, seed=seed, iterations=60, k=1.5 / np.sqrt(max(len(nodes), 1)))
    xy = np.array([pos[i] for i in range(len(nodes))]) if len(nodes) else np.zeros((0, 2))
    scale = 45.0 * np.sqrt(max(len(nodes), 1))
    return Layout(nodes, src, dst, mutual, xy[:, 0] * scale, xy[:, 1] * scale)


def render(
    lay: Layout,
    colors: list[str],
    titles: list[str],
    sizes: np.ndarray,
    labels: list[str] | None = None,
    height: int = 560,
    physics: bool | None = None,
) -> str:
    """Self-contained HTML of the sample (vis-network inlined; no remote scripts or styles)."""
    physics = len(lay.nodes) <= PHYSICS_MAX_NODES if physics is None else physics
    net = PyvisNetwork(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line", bgcolor="#ffffff")
    for i, agent in enumerate(lay.nodes.tolist()):
        net.add_node(
            int(agent),
            label=labels[i] if labels else " ",
            title=html.escape(titles[i]),
            color=colors[i],
            size=float(sizes[i]),
            x=float(lay.x[i]),
            y=float(lay.y[i]),
            physics=physics,
            font={"size": 10, "color": OKABE_ITO["black"]},
            borderWidth=1,
        )
    for s, d, m in zip(lay.src.tolist(), lay.dst.tolist(), lay.mutual.tolist()):
        net.add_edge(
            int(lay.nodes[s]),
            int(lay.nodes[d]),
            color="#888888" if m else "#CCCCCC",
            width=1.5 if m else 0.8,
            arrows={"to": {"enabled": True, "scaleFactor": 0.4}},
        )
    net.set_options(_options(physics))
    page = net.generate_html(notebook=False)
    return offline_html(page)


def offline_html(page: str) -> str:
    """Drop pyvis's remote bootstrap includes and its empty headings, so the page works offline."""
    page = _DEAD_INCLUDES.sub("", _REMOTE.sub("", page))
    return _EMPTY_HEADING.sub("", page)


def _options(physics: bool) -> str:
    stabilization = '{"enabled": true, "iterations": 150}' if physics else '{"enabled": false}'
    return f"""{{
      "physics": {{"enabled": {str(physics).lower()}, "stabilization": {stabilization},
                   "barnesHut": {{"gravitationalConstant": -3000, "springLength": 80}}}},
      "interaction": {{"hover": true, "tooltipDelay": 80, "navigationButtons": false, "hideEdgesOnDrag": true}},
      "edges": {{"smooth": false}},
      "nodes": {{"shape": "dot"}}
    }}"""


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
