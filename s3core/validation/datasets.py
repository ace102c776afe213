"""Read a validation dataset folder in the normalized formats, and check every table and column.

Formats (see ``../shared/datasets/README.md``):
- cascades with post-level reposts: ``sources.parquet`` + ``reposts.parquet`` (Weibo CED);
- cascades with user-level edges: ``sources.parquet`` + ``edges.parquet`` (Twitter15);
- stance threads: ``posts.parquet`` (RumourEval 2017).

Only files inside the given folder are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

NUMERIC, TEXT, TIME = "numeric", "text", "timestamp"
SOURCES_REQUIRED = {"cascade_id": TEXT, "user_id": TEXT, "text": TEXT}
SOURCES_OPTIONAL = {"time_utc": TIME, "user_followers": NUMERIC, "user_friends": NUMERIC, "user_verified": None}
REPOSTS_REQUIRED = {"cascade_id": TEXT, "user_id": TEXT, "parent_user_id": TEXT, "t_min": NUMERIC, "text": TEXT}
REPOSTS_OPTIONAL = {"post_id": TEXT, "parent_id": TEXT}
EDGES_REQUIRED = {"cascade_id": TEXT, "parent_user_id": TEXT, "user_id": TEXT, "t_min": NUMERIC}
EDGES_OPTIONAL = {"kind": TEXT}
POSTS_REQUIRED = {"thread_id": TEXT, "post_id": TEXT, "parent_id": TEXT, "time_utc": TIME, "text": TEXT, "stance": TEXT}
STANCES = ("support", "deny", "query", "comment")


class DatasetError(ValueError):
    """A dataset folder that cannot be validated on, naming the table and column at fault."""


@dataclass(frozen=True)
class CascadeData:
    """Real cascades: one row per source post, one row per repost or retweet.

    ``events`` columns: cascade_id, user_id, parent_user_id, t_min (minutes after the source),
    text ('' for a plain repost; '' everywhere when the format has no texts), quote (bool: the
    repost adds a comment; all False when unknown) and, for edges, kind.
    """

    name: str
    format: str  # "reposts" or "edges"
    sources: pd.DataFrame
    events: pd.DataFrame
    has_text: bool  # events carry comment texts (quotes are known)


@dataclass(frozen=True)
class StanceThreads:
    """Reply threads with human stance labels (support / deny / query / comment)."""

    name: str
    posts: pd.DataFrame


def _read(folder: Path, table: str, required: dict, optional: dict) -> pd.DataFrame:
    path = folder / f"{table}.parquet"
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DatasetError(f"{path}: not a readable Parquet table ({type(exc).__name__}: {exc})") from None
    missing = [c for c in required if c not in schema.names]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}; this table needs {', '.join(required)}")
    columns = list(required) + [c for c in optional if c in schema.names]
    frame = pq.read_table(path, columns=columns).to_pandas()
    for column, kind in {**required, **optional}.items():
        if column in frame:
            _check_column(path, frame, column, kind, required=column in required)
    return frame


def _check_column(path: Path, frame: pd.DataFrame, column: str, kind: str | None, required: bool) -> None:
    values = frame[column]
    if kind == NUMERIC:
        if not pd.api.types.is_numeric_dtype(values):
            raise DatasetError(f"{path}: column {column} must be numeric, found {values.dtype}")
        if required and values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise DatasetError(f"{path}: column {column} is empty in row {row}")
    elif kind == TIME:
        if not pd.api.types.is_datetime64_any_dtype(values):
            raise DatasetError(f"{path}: column {column} must be a timestamp, found {values.dtype}")
    elif kind == TEXT:
        if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
            raise DatasetError(f"{path}: column {column} must hold text, found {values.dtype}")
        if column.endswith("_id") and column not in ("parent_id",) and values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise DatasetError(f"{path}: column {column} is empty in row {row}")


def load_dataset(folder: str | Path) -> CascadeData | StanceThreads:
    """The dataset in ``folder``, checked; raises DatasetError naming the table and column at fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such dataset folder")
    has = {p.stem for p in folder.glob("*.parquet")}
    if "posts" in has and "sources" not in has:
        return _stance_threads(folder)
    if "sources" not in has:
        raise DatasetError(f"{folder}: no sources.parquet (cascades) or posts.parquet (stance threads) found")
    if "reposts" in has:
        return _cascades(folder, "reposts")
    if "edges" in has:
        return _cascades(folder, "edges")
    raise DatasetError(f"{folder}: sources.parquet needs reposts.parquet or edges.parquet beside it")


def _cascades(folder: Path, fmt: str) -> CascadeData:
    sources = _read(folder, "sources", SOURCES_REQUIRED, SOURCES_OPTIONAL)
    if sources["cascade_id"].duplicated().any():
        dup = sources["cascade_id"][sources["cascade_id"].duplicated()].iloc[0]
        raise DatasetError(f"{folder / 'sources.parquet'}: cascade_id {dup!r} appears more than once")
    if fmt == "reposts":
        events = _read(folder, "reposts", REPOSTS_REQUIRED, REPOSTS_OPTIONAL)
        events["text"] = events["text"].fillna("").astype(str)
        events["quote"] = events["text"].str.strip() != ""
        has_text = True
    else:
        events = _read(folder, "edges", EDGES_REQUIRED, EDGES_OPTIONAL)
        events["text"] = ""
        events["quote"] = False
        has_text = False
    unknown = ~events["cascade_id"].isin(sources["cascade_id"])
    if unknown.all() and len(events):
        raise DatasetError(
            f"{folder / (fmt + '.parquet')}: no cascade_id matches sources.parquet "
            f"(e.g. {events['cascade_id'].iloc[0]!r})"
        )
    events = events[~unknown].reset_index(drop=True)
    sources = sources.copy()
    sources["text"] = sources["text"].fillna("").astype(str)
    return CascadeData(folder.name, fmt, sources.reset_index(drop=True), events, has_text)


def _stance_threads(folder: Path) -> StanceThreads:
    posts = _read(folder, "posts", POSTS_REQUIRED, {})
    labels = posts["stance"].dropna()
    bad = labels[~labels.isin(STANCES)]
    if len(bad):
        raise DatasetError(
            f"{folder / 'posts.parquet'}: column stance holds {bad.iloc[0]!r}; expected one of {', '.join(STANCES)} or empty"
        )
    posts["text"] = posts["text"].fillna("").astype(str)
    return StanceThreads(folder.name, posts)
