"""Load a follow network from a GraphML or GEXF file written by Gephi, yEd, Cytoscape, igraph or networkx."""

from __future__ import annotations

import os
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa

from ..network import Network
from .columns import USER_COLUMNS, parse_user_columns, users_frame
from .crosscheck import Note, spelling_notes
from .csvfile import check_file, check_not_binary
from .errors import CellError, LoadError, clipped_repr
from .files import MAX_BYTES, LoadResult, log_notes
from .graphxml import read_graph
from .ids import IdError, normalize_ids

PathLike = str | os.PathLike[str]
KINDS = {".graphml": "GraphML", ".gexf": "GEXF"}
# Producers whose node ids are internal (n0, n1, ... or SUIDs): the user id is this node attribute.
ID_ATTRIBUTE = {"yEd": "label", "igraph": "name", "Cytoscape": "name"}


def user_column(attribute: str) -> str | None:
    """The users-table column a node attribute feeds: case-insensitive, Cytoscape 'namespace::' prefixes dropped."""
    name = str(attribute).rsplit("::", 1)[-1].strip().lower().replace(" ", "_")
    return name if name in USER_COLUMNS else None


def _xml_lines(text: str, tag: str, **attrs: str) -> list[int]:
    """Lines of the <tag> elements carrying all the given attribute values (failure path only)."""
    lines = []
    for match in re.finditer(rf"<(?:\w+:)?{tag}\b[^>]*>", text):
        element = match.group(0)
        if all(re.search(rf"""\b{k}\s*=\s*["']{re.escape(v)}["']""", element) for k, v in attrs.items()):
            lines.append(text.count("\n", 0, match.start()) + 1)
    return lines


def _node_line(path: PathLike, node_id: str) -> int | None:
    lines = _xml_lines(Path(path).read_text(encoding="utf-8", errors="replace"), "node", id=node_id)
    return lines[0] if lines else None


def _user_ids(path: PathLike, graph: nx.Graph, made_by: str) -> tuple[np.ndarray, list[Note]]:
    """User ids of the nodes, in node order: the node ids, or the producer's name attribute where
    its node ids are internal; then the id rules. Two nodes with one id are a LoadError."""
    nodes = [str(v) for v in graph.nodes]
    attribute = ID_ATTRIBUTE.get(made_by)
    notes: list[Note] = []
    if attribute:
        names = [str(data.get(attribute) or "").strip() for _, data in graph.nodes(data=True)]
        if all(names):
            nodes = names
        else:
            notes.append(
                Note(
                    "warning",
                    f"{Path(path).name}: written by {made_by}, but "
                    f"{sum(not n for n in names):,} nodes have no '{attribute}', so node ids "
                    f"({clipped_repr(nodes[names.index('')])}, ...) are the user ids",
                )
            )
            attribute = None
    try:
        ids = normalize_ids(pa.array(nodes, type=pa.string()))
    except IdError as exc:
        raise LoadError(
            path,
            f"node {clipped_repr(nodes[exc.row])}: {exc.problem}",
            exc.fix,
            line=_node_line(path, list(graph.nodes)[exc.row]),
        ) from None
    keys = pd.Series(ids.keys.to_numpy(zero_copy_only=False))
    again = keys.duplicated()
    if again.any():
        row = int(np.flatnonzero(again.to_numpy())[0])
        first = int(np.flatnonzero((keys == keys[row]).to_numpy())[0])
        what = f"'{attribute}'" if attribute else "id"
        raise LoadError(
            path,
            f"two nodes have the same user {what}: {clipped_repr(nodes[first])} and {clipped_repr(nodes[row])}",
            f"give every node its own {what}",
            line=_node_line(path, list(graph.nodes)[row]),
        )
    spellings = ids.spellings.to_numpy(zero_copy_only=False).astype(object)
    notes += spelling_notes(Path(path).name, [("node id" if not attribute else attribute, ids.rewritten, ids.example)])
    return spellings, notes


def _graph_edges(path: PathLike, graph: nx.Graph, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow edges as index arrays (both directions when undirected); self-loops and repeats raise."""
    index = {v: i for i, v in enumerate(graph.nodes)}
    pairs = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64).reshape(-1, 2)
    follower, followee = pairs[:, 0], pairs[:, 1]
    nodes = list(graph.nodes)
    loops = np.flatnonzero(follower == followee)
    if len(loops):
        who = nodes[follower[loops[0]]]
        lines = _xml_lines(Path(path).read_text(encoding="utf-8", errors="replace"), "edge", source=who, target=who)
        raise LoadError(
            path,
            f"self-loop (user {clipped_repr(user_ids[follower[loops[0]]])} follows itself)",
            "remove the edge or correct its ids",
            line=lines[0] if lines else None,
        )
    if not graph.is_directed():
        follower, followee = np.concatenate([follower, followee]), np.concatenate([followee, follower])
    key = follower * len(user_ids) + followee
    ordered = np.sort(key)
    if (ordered[1:] == ordered[:-1]).any():
        again = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        u, v = nodes[follower[again]], nodes[followee[again]]
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        lines = _xml_lines(text, "edge", source=u, target=v)
        if not graph.is_directed():
            lines = sorted(lines + _xml_lines(text, "edge", source=v, target=u))
        raise LoadError(
            path,
            f"duplicate edge ({clipped_repr(user_ids[follower[again]])} -> {clipped_repr(user_ids[followee[again]])} appears more than once)",
            "keep one edge per pair of users",
            line=lines[1] if len(lines) > 1 else None,
        )
    return follower, followee


def _graph_users(path: PathLike, graph: nx.Graph, user_ids: np.ndarray) -> pd.DataFrame:
    """The users table from node attributes named like the users-CSV columns (any case), with
    declared defaults filling nodes that have no value."""
    attributes = [data for _, data in graph.nodes(data=True)]
    defaults = graph.graph.get("node_default", {}) or {}
    names: dict[str, str] = {}
    for name in sorted({k for data in attributes for k in data} | set(defaults)):
        column = user_column(name)
        if column is None:
            continue
        if column in names:
            raise LoadError(
                path,
                f"node attributes {clipped_repr(names[column])} and {clipped_repr(name)} both give the {column}",
                "keep one of them, or rename the other",
            )
        names[column] = name
    raw = {
        column: pd.Series([data.get(name, defaults.get(name)) for data in attributes], dtype=object)
        for column, name in names.items()
    }
    try:
        parsed = parse_user_columns(raw)
    except CellError as exc:
        nodes = list(graph.nodes)
        cells = [
            (_node_line(path, str(nodes[row])), column, f"node {clipped_repr(user_ids[row])}: {problem}")
            for row, column, problem in exc.cells
        ]
        raise LoadError(
            path, cells[0][2], exc.fix, line=cells[0][0], column=cells[0][1], cells=cells, more=exc.more
        ) from None
    return users_frame(user_ids, np.arange(len(user_ids)), parsed)


def read_graph_file(path: PathLike, *, max_bytes: int = MAX_BYTES, name: str | None = None) -> LoadResult:
    """Load a .graphml or .gexf graph, with notes; an edge u -> v means u follows v.

    Undirected graphs become mutual follows (each edge is two follow edges); in a graph with
    both kinds, each undirected edge is a mutual follow. Node attributes named like the users-CSV
    columns (age, Gender, 'ns::age', ...) form the users table. Ids follow the rules of
    `loaders.ids`. Parsing goes through networkx, so this suits graphs up to a few hundred
    thousand edges. Time-varying graphs and attributes, nested graphs and hyperedges raise
    LoadError naming the feature.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        raise LoadError(
            path,
            f"unknown file extension {clipped_repr(suffix or '(none)')}",
            "use .graphml or .gexf for graphs, or load_edge_list for a follower,followee CSV",
        )
    check_file(path, max_bytes)
    with open(path, "rb") as handle:
        check_not_binary(path, handle.read(64), f"a {KINDS[suffix]} file")
    graph, made_by = read_graph(path, KINDS[suffix], user_column)
    user_ids, notes = _user_ids(path, graph, made_by)
    follower, followee = _graph_edges(path, graph, user_ids)
    users = _graph_users(path, graph, user_ids)
    network = Network.from_edges(name or Path(path).stem, user_ids, follower, followee, users=users)
    return LoadResult(network, tuple(notes))


def load_graph_file(path: PathLike, *, max_bytes: int = MAX_BYTES, name: str | None = None) -> Network:
    """`read_graph_file`, with its warnings sent to the 's3core.loaders' logger (stderr by default)."""
    return log_notes(read_graph_file(path, max_bytes=max_bytes, name=name))
