"""Build the real repost network of a normalized cascade dataset (weibo-ced, twitter15) with DuckDB.

A reposter follows whom they reposted: follower = user_id, followee = parent_user_id.
Self-loops and repeated pairs are dataset artefacts, so they are dropped and merged here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import duckdb
import numpy as np
import pandas as pd

from ..network import Network
from .columns import parse_user_columns, users_frame
from .errors import CellError, LoadError

_EDGE_TABLES = ("reposts.parquet", "edges.parquet")
_NEEDED = MappingProxyType(
    {"edges": ("cascade_id", "user_id", "parent_user_id", "t_min"), "sources": ("cascade_id", "user_id", "text")}
)
_AUTHOR_COLUMNS = MappingProxyType({"user_followers": "followers", "user_friends": "friends", "user_gender": "gender"})
_DATASET_HELP = "pass the datasets folder (e.g. /work/shared/datasets) and dataset='weibo-ced' or 'twitter15'"


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _tables(dataset_dir: str | os.PathLike[str], dataset: str) -> tuple[Path, Path]:
    """Find (edges, sources) parquet files in dataset_dir/dataset, or in dataset_dir itself."""
    root = Path(dataset_dir)
    folder = root if (root / "sources.parquet").exists() else root / dataset
    if not folder.is_dir():
        raise LoadError(folder, "dataset folder not found", _DATASET_HELP)
    sources = folder / "sources.parquet"
    edges = next((folder / t for t in _EDGE_TABLES if (folder / t).exists()), None)
    for path, what in ((edges or folder / _EDGE_TABLES[0], "repost/edge table"), (sources, "sources table")):
        if not path.is_file():
            raise LoadError(path, f"the {what} is missing", f"restore the dataset's Parquet files, or {_DATASET_HELP}")
    return edges, sources


def _columns(con: duckdb.DuckDBPyConnection, path: Path, needed: Sequence[str]) -> set[str]:
    """Column names of a Parquet table; unreadable files and missing columns are LoadErrors."""
    try:
        names = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_literal(path)})").fetchall()}
    except duckdb.Error as exc:
        raise LoadError(
            path, f"not a readable Parquet table ({exc})", "restore the file from the dataset release"
        ) from None
    for column in needed:
        if column not in names:
            raise LoadError(
                path,
                f"missing column '{column}' (found {', '.join(sorted(names))})",
                "use the normalized dataset tables described in the datasets README",
                column=column,
            )
    return names


def _select(con: duckdb.DuckDBPyConnection, sources: Path, cascade_ids: Sequence[str] | None) -> None:
    """Table sel(cascade_id, rank): the chosen cascades in the sources file's order."""
    con.execute(
        f"CREATE TEMP TABLE sel AS SELECT cascade_id, file_row_number AS rank "
        f"FROM read_parquet({_literal(sources)}, file_row_number = true)"
    )
    if cascade_ids is None:
        return
    con.execute("CREATE TEMP TABLE wanted AS SELECT DISTINCT unnest(?::VARCHAR[]) AS cascade_id", [list(cascade_ids)])
    unknown = [
        r[0]
        for r in con.execute("SELECT cascade_id FROM wanted EXCEPT SELECT cascade_id FROM sel ORDER BY 1").fetchall()
    ]
    if unknown:
        raise LoadError(
            sources,
            f"unknown cascade ids: {', '.join(map(repr, unknown[:5]))}"
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            "use ids from the cascade_id column of sources.parquet",
            column="cascade_id",
        )
    con.execute("DELETE FROM sel WHERE cascade_id NOT IN (SELECT cascade_id FROM wanted)")


def _edges(con: duckdb.DuckDBPyConnection, reposts: str, max_edges: int | None) -> None:
    """Table e(follower, followee, cascade_id): distinct non-loop pairs, earliest first when capped."""
    seq = "row_number() OVER (ORDER BY s.rank, r.t_min, r.user_id)" if max_edges is not None else "0"
    limit = f"ORDER BY min(seq) LIMIT {int(max_edges)}" if max_edges is not None else ""
    con.execute(
        f"CREATE TEMP TABLE e AS SELECT follower, followee, arg_min(cascade_id, seq) AS cascade_id FROM ("
        f"SELECT r.user_id AS follower, r.parent_user_id AS followee, r.cascade_id, {seq} AS seq "
        f"FROM {reposts} r JOIN sel s USING (cascade_id) WHERE r.user_id <> r.parent_user_id"
        f") GROUP BY follower, followee {limit}"
    )


def _nodes(con: duckdb.DuckDBPyConnection, reposts: str, sources: str, kept: str, attrs: list[str], order: str) -> None:
    """Tables authors (latest attributes per source author) and nodes(id, idx), ids sorted."""
    picks = "".join(f", arg_max({c}, {order}) AS {c}" for c in attrs)
    con.execute(
        f"CREATE TEMP TABLE authors AS SELECT user_id{picks} FROM {sources} "
        f"WHERE cascade_id IN (SELECT cascade_id FROM {kept}) GROUP BY user_id"
    )
    if kept == "sel":  # every participant, also one whose only repost was of themselves
        people = (
            f"SELECT user_id AS id FROM {reposts} WHERE cascade_id IN (SELECT cascade_id FROM sel) "
            f"UNION SELECT parent_user_id FROM {reposts} WHERE cascade_id IN (SELECT cascade_id FROM sel)"
        )
    else:
        people = "SELECT follower AS id FROM e UNION SELECT followee FROM e"
    con.execute(
        f"CREATE TEMP TABLE nodes AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx "
        f"FROM ({people} UNION SELECT user_id FROM authors)"
    )


def load_cascades(
    dataset_dir: str | os.PathLike[str],
    dataset: str = "weibo-ced",
    cascade_ids: Sequence[str] | None = None,
    max_edges: int | None = None,
) -> Network:
    """The repost network of some or all cascades, with source-author attributes and post history.

    dataset_dir is the datasets folder (dataset names the subfolder) or the dataset folder
    itself. max_edges keeps the earliest distinct edges, cascade by cascade in file order.
    Users are ordered by id; posts are non-empty repost comments plus source texts.
    """
    if max_edges is not None and max_edges < 0:
        raise ValueError("max_edges must be >= 0")
    edges_path, sources_path = _tables(dataset_dir, dataset)
    with duckdb.connect() as con:
        edge_cols = _columns(con, edges_path, _NEEDED["edges"])
        source_cols = _columns(con, sources_path, _NEEDED["sources"])
        reposts, sources = f"read_parquet({_literal(edges_path)})", f"read_parquet({_literal(sources_path)})"
        _select(con, sources_path, cascade_ids)
        _edges(con, reposts, max_edges)
        kept = "sel" if max_edges is None else "(SELECT DISTINCT cascade_id FROM e)"
        attrs = [c for c in _AUTHOR_COLUMNS if c in source_cols]
        timed = "time_utc" in source_cols
        _nodes(con, reposts, sources, kept, attrs, "time_utc" if timed else "cascade_id")
        ids = con.sql("SELECT id FROM nodes ORDER BY idx").to_arrow_table().column(0)
        pairs = con.execute(
            "SELECT a.idx AS follower, b.idx AS followee FROM e JOIN nodes a ON e.follower = a.id "
            "JOIN nodes b ON e.followee = b.id"
        ).fetchnumpy()
        known = con.execute(
            f"SELECT n.idx{''.join(', a.' + c for c in attrs)} FROM authors a "
            "JOIN nodes n ON a.user_id = n.id ORDER BY n.idx"
        ).df()
        posts = _posts(con, reposts, sources, kept, edge_cols, timed)
    user_ids = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    try:
        parsed = parse_user_columns({_AUTHOR_COLUMNS[c]: known[c] for c in attrs})
    except CellError as exc:
        raise LoadError(
            sources_path,
            f"source author {user_ids[known['idx'][exc.row]]!r}: {exc.problem}",
            "repair the sources table",
            column=exc.column,
        ) from None
    users = users_frame(user_ids, known["idx"].to_numpy(), parsed)
    name = edges_path.parent.name + (f" ({len(cascade_ids)} cascades)" if cascade_ids is not None else "")
    return Network.from_edges(name, user_ids, pairs["follower"], pairs["followee"], users=users, posts=posts)


def _posts(
    con: duckdb.DuckDBPyConnection, reposts: str, sources: str, kept: str, edge_cols: set[str], timed: bool
) -> pd.DataFrame:
    """Posting history: non-empty repost comments (when the table has texts) and source texts."""
    when = ", s.time_utc + to_microseconds(CAST(r.t_min * 60e6 AS BIGINT)) AS time" if timed else ""
    parts = [
        f"SELECT n.idx AS user_index, s.text{', s.time_utc AS time' if timed else ''} FROM {sources} s "
        f"JOIN nodes n ON s.user_id = n.id WHERE s.text <> '' AND s.cascade_id IN (SELECT cascade_id FROM {kept})"
    ]
    if "text" in edge_cols:
        parts.append(
            f"SELECT n.idx, r.text{when} FROM {reposts} r JOIN nodes n ON r.user_id = n.id "
            f"JOIN {sources} s USING (cascade_id) "
            f"WHERE r.text <> '' AND r.cascade_id IN (SELECT cascade_id FROM sel)"
        )
    sql = " UNION ALL ".join(parts) + " ORDER BY user_index" + (", time" if timed else "")
    table = con.sql(sql).to_arrow_table()
    frame = pd.DataFrame(
        {
            "user_index": table.column("user_index").to_numpy().astype(np.int64),
            "text": pd.Series(table.column("text").to_numpy(zero_copy_only=False), dtype=object),
        }
    )
    if timed:
        frame["time"] = table.column("time").to_pandas()
    return frame
