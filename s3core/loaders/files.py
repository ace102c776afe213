"""Load a follow network from user files: an edge-list CSV (+ users, posts) or a GraphML/GEXF graph.

Loaders are pure: they return a new Network or raise LoadError, and touch nothing else.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..network import Network
from .columns import USER_COLUMNS, parse_user_columns, users_frame
from .csvfile import CsvTable, check_file, check_not_binary, read_csv
from .errors import CellError, LoadError

PathLike = str | os.PathLike[str]
MAX_BYTES = 200_000_000

_EDGE_ALIASES = MappingProxyType({
    "source": "follower", "src": "follower", "from": "follower", "user": "follower", "user_id": "follower",
    "target": "followee", "dst": "followee", "to": "followee", "friend": "followee", "following": "followee",
})
_USER_ALIASES = MappingProxyType({"id": "user_id", "user": "user_id", "uid": "user_id", "userid": "user_id", "node": "user_id"})
_POST_ALIASES = MappingProxyType({**_USER_ALIASES, "content": "text", "message": "text", "post": "text", "body": "text"})
_EDGE_NOTE = "; each line reads <follower>,<followee>: the first user follows the second"


def _first(mask: pa.ChunkedArray | np.ndarray) -> int:
    values = mask.to_numpy(zero_copy_only=False) if isinstance(mask, pa.ChunkedArray) else mask
    return int(np.flatnonzero(values)[0])


def _encode(parts: Sequence[pa.ChunkedArray]) -> tuple[np.ndarray, pa.Array, list[np.ndarray]]:
    """Ids in order of first appearance, and each part as int64 indices into them."""
    chunks = [chunk for part in parts for chunk in part.chunks]
    encoded = pa.chunked_array(chunks, type=pa.string()).combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy().astype(np.int64)
    bounds = np.cumsum([0] + [len(p) for p in parts])
    return (encoded.dictionary.to_numpy(zero_copy_only=False).astype(object), encoded.dictionary,
            [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])])


def _read_users(users: CsvTable, codes: np.ndarray, user_ids: np.ndarray) -> pd.DataFrame:
    """Check users.csv ids are unique and parse its attribute columns into the aligned users table."""
    clash = np.flatnonzero(codes != np.arange(len(codes)))  # ids come first, so unique ids get 0..k-1
    if len(clash):
        first, again = users.lines(int(codes[clash[0]]), int(clash[0]))
        raise LoadError(users.path, f"user {user_ids[codes[clash[0]]]!r} is listed twice (also on line {first})",
                        "keep one line per user", line=again, column="user_id")
    raw = {c: users.columns[c].to_pandas() for c in USER_COLUMNS if c in users.columns}
    try:
        parsed = parse_user_columns(raw)
    except CellError as exc:
        raise users.fail(exc.row, exc.column, exc.problem, exc.fix) from None
    return users_frame(user_ids, np.arange(len(codes)), parsed)


def _parse_time(posts: CsvTable) -> pd.Series:
    """Post times as numbers (e.g. minutes) or as UTC timestamps from ISO dates, NaN/NaT where empty."""
    text = pd.Series(pc.utf8_trim_whitespace(posts.columns["time"]).to_pandas(), dtype=object)
    empty = text == ""
    number = pd.to_numeric(text.where(~empty), errors="coerce")
    if (number.notna() | empty).all():
        return number.astype(np.float64)
    when = pd.to_datetime(text.where(~empty), format="ISO8601", errors="coerce", utc=True)
    bad = ~empty & when.isna()
    if bad.any():
        row = _first(bad.to_numpy())
        raise posts.fail(row, "time", f"time {text[row]!r} is neither a number nor an ISO date",
                         "use one kind for the whole column: numbers (e.g. minutes) or dates like 2024-05-01 12:30")
    return when


def _read_posts(path: PathLike, dictionary: pa.Array, known_in: str, max_bytes: int) -> pd.DataFrame:
    """The posting history: each row's user must already be a node of the network."""
    posts = read_csv(path, ("user_id", "text"), ("time",), max_bytes=max_bytes, aliases=_POST_ALIASES)
    ids = posts.ids("user_id")
    index = pc.index_in(ids, value_set=dictionary)
    if index.null_count:
        row = _first(pc.is_null(index))
        raise posts.fail(row, "user_id", f"user {ids[row].as_py()!r} appears in neither {known_in}",
                         "add the user to the users file (or to an edge), or remove the post")
    frame = pd.DataFrame({
        "user_index": index.to_numpy().astype(np.int64),
        "text": pd.Series(posts.columns["text"].to_pandas(), dtype=object),
    })
    if "time" in posts.columns:
        frame["time"] = _parse_time(posts)
    return frame


def _duplicate_error(edges: CsvTable, follower: np.ndarray, followee: np.ndarray, user_ids: np.ndarray) -> LoadError:
    """Name both lines of the first repeated edge (failure path only)."""
    key = follower * len(user_ids) + followee
    order = np.argsort(key, kind="stable")
    repeats = order[1:][key[order][1:] == key[order][:-1]]
    again = int(repeats.min())
    first = int(np.flatnonzero(key == key[again])[0])
    line_first, line_again = edges.lines(first, again)
    who, whom = user_ids[follower[again]], user_ids[followee[again]]
    return LoadError(edges.path, f"duplicate edge ({who!r} follows {whom!r} already on line {line_first})",
                     f"remove line {line_again} or line {line_first}", line=line_again)


def load_edge_list(
    edges_path: PathLike,
    users_path: PathLike | None = None,
    posts_path: PathLike | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    name: str | None = None,
) -> Network:
    """Load a `follower,followee` CSV (+ optional users and posts CSVs) into a Network.

    Ids are kept as strings (leading zeros survive, surrounding spaces are trimmed); users
    only in the users file become isolated nodes. Self-loops, duplicate edges, bad values
    and unknown ids raise LoadError with file, line and fix. Each file is capped at max_bytes.
    """
    edges = read_csv(edges_path, ("follower", "followee"), max_bytes=max_bytes, multiline=False,
                     aliases=_EDGE_ALIASES, note=_EDGE_NOTE)
    follower, followee = edges.ids("follower"), edges.ids("followee")
    loops = pc.equal(follower, followee)
    if pc.any(loops).as_py():
        row = _first(loops)
        raise edges.fail(row, "followee", f"self-loop (user {follower[row].as_py()!r} follows itself)",
                         "remove the line or correct the id")
    users = None
    if users_path is not None:
        users = read_csv(users_path, ("user_id",), USER_COLUMNS, max_bytes=max_bytes, aliases=_USER_ALIASES)
    parts = ([users.ids("user_id")] if users is not None else []) + [follower, followee]
    user_ids, dictionary, codes = _encode(parts)
    if users is not None:
        frame = _read_users(users, codes[0], user_ids)
    else:
        frame = users_frame(user_ids, np.arange(0), {})
    known_in = " nor ".join(Path(p).name for p in (edges_path, users_path) if p is not None)
    posts = _read_posts(posts_path, dictionary, known_in, max_bytes) if posts_path is not None else None
    network = Network.from_edges(name or Path(edges_path).stem, user_ids, codes[-2], codes[-1],
                                 users=frame, posts=posts)
    if network.n_edges != edges.n_rows:
        raise _duplicate_error(edges, codes[-2], codes[-1], user_ids)
    return network


def _xml_lines(text: str, tag: str, **attrs: str) -> list[int]:
    """Lines of the <tag> elements carrying all the given attribute values (failure path only)."""
    lines = []
    for match in re.finditer(rf"<{tag}\b[^>]*>", text):
        element = match.group(0)
        if all(re.search(rf"""\b{k}\s*=\s*["']{re.escape(v)}["']""", element) for k, v in attrs.items()):
            lines.append(text.count("\n", 0, match.start()) + 1)
    return lines


def _read_graph(path: PathLike, kind: str) -> nx.Graph:
    """Parse with networkx; XML and schema faults become LoadErrors with the line where known."""
    try:
        if kind == "GraphML":
            return nx.read_graphml(path)
        return nx.read_gexf(path, relabel=False)
    except ET.ParseError as exc:
        line, col = exc.position
        problem = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise LoadError(path, f"malformed XML ({problem} at character {col + 1})",
                        "repair the XML there (every tag closed, attributes quoted), or export the graph again",
                        line=line) from None
    except nx.NetworkXError as exc:
        raise LoadError(path, f"not a valid {kind} file ({exc})",
                        f"export the graph again as {kind}, or use load_edge_list for a CSV edge list") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        quoted = re.search(r"'([^']*)'$", str(exc))
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        spot = max(text.find(f">{quoted.group(1)}<"), text.find(f'"{quoted.group(1)}"')) if quoted else -1
        raise LoadError(path, f"a value does not match its declared type ({type(exc).__name__}: {exc})",
                        "make each attribute value match its declared type, or declare the attribute as string",
                        line=text.count("\n", 0, spot) + 1 if spot >= 0 else None) from None


def _graph_edges(path: PathLike, graph: nx.Graph, user_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow edges as index arrays (both directions when undirected); self-loops and repeats raise."""
    index = {v: i for i, v in enumerate(graph.nodes)}
    pairs = np.array([(index[u], index[v]) for u, v in graph.edges()], dtype=np.int64).reshape(-1, 2)
    follower, followee = pairs[:, 0], pairs[:, 1]
    loops = np.flatnonzero(follower == followee)
    if len(loops):
        who = user_ids[follower[loops[0]]]
        lines = _xml_lines(Path(path).read_text(encoding="utf-8", errors="replace"), "edge", source=who, target=who)
        raise LoadError(path, f"self-loop (user {who!r} follows itself)", "remove the edge or correct its ids",
                        line=lines[0] if lines else None)
    if not graph.is_directed():
        follower, followee = np.concatenate([follower, followee]), np.concatenate([followee, follower])
    key = follower * len(user_ids) + followee
    ordered = np.sort(key)
    if (ordered[1:] == ordered[:-1]).any():
        again = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        u, v = user_ids[follower[again]], user_ids[followee[again]]
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        lines = _xml_lines(text, "edge", source=u, target=v)
        if not graph.is_directed():
            lines = sorted(lines + _xml_lines(text, "edge", source=v, target=u))
        raise LoadError(path, f"duplicate edge ({u!r} -> {v!r} appears more than once)",
                        "keep one edge per pair of users", line=lines[1] if len(lines) > 1 else None)
    return follower, followee


def _graph_users(path: PathLike, graph: nx.Graph, user_ids: np.ndarray) -> pd.DataFrame:
    """The users table from node attributes that carry the canonical column names."""
    attributes = [data for _, data in graph.nodes(data=True)]
    raw = {c: pd.Series([data.get(c) for data in attributes], dtype=object)
           for c in USER_COLUMNS if any(c in data for data in attributes)}
    try:
        parsed = parse_user_columns(raw)
    except CellError as exc:
        node = user_ids[exc.row]
        lines = _xml_lines(Path(path).read_text(encoding="utf-8", errors="replace"), "node", id=node)
        raise LoadError(path, f"node {node!r}: {exc.problem}", exc.fix,
                        line=lines[0] if lines else None, column=exc.column) from None
    return users_frame(user_ids, np.arange(len(user_ids)), parsed)


def load_graph_file(path: PathLike, *, max_bytes: int = MAX_BYTES, name: str | None = None) -> Network:
    """Load a .graphml or .gexf graph; an edge u -> v means u follows v.

    Undirected graphs become mutual follows (each edge is two follow edges). Node
    attributes named like the users-CSV columns (age, gender, ...) form the users table.
    Parsing goes through networkx, so this suits graphs up to a few hundred thousand edges.
    """
    suffix = Path(path).suffix.lower()
    kinds = {".graphml": "GraphML", ".gexf": "GEXF"}
    if suffix not in kinds:
        raise LoadError(path, f"unknown file extension {suffix or '(none)'!r}",
                        "use .graphml or .gexf for graphs, or load_edge_list for a follower,followee CSV")
    check_file(path, max_bytes)
    with open(path, "rb") as handle:
        check_not_binary(path, handle.read(64), f"a {kinds[suffix]} file")
    graph = _read_graph(path, kinds[suffix])
    user_ids = np.array([str(v) for v in graph.nodes], dtype=object)
    follower, followee = _graph_edges(path, graph, user_ids)
    users = _graph_users(path, graph, user_ids)
    return Network.from_edges(name or Path(path).stem, user_ids, follower, followee, users=users)
