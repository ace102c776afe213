"""Load a follow network from an edge-list CSV, with an optional users CSV and posts CSV.

Loaders are pure: they return a new Network (plus notes on what they noticed) or raise
LoadError, and touch nothing else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..network import Network
from .columns import USER_COLUMNS, parse_user_columns, users_frame
from .crosscheck import Note, check_users_match, merged_spellings, spelling_notes
from .csvfile import DELIMITERS, CsvTable, read_csv
from .errors import CellError, LoadError, clipped_repr
from .ids import IdError, Ids, normalize_ids

PathLike = str | os.PathLike[str]
MAX_BYTES = 200_000_000
LOG = logging.getLogger("s3core.loaders")

_EDGE_ALIASES = MappingProxyType(
    {
        "source": "follower",
        "src": "follower",
        "from": "follower",
        "user": "follower",
        "user_id": "follower",
        "target": "followee",
        "dst": "followee",
        "to": "followee",
        "friend": "followee",
        "following": "followee",
    }
)
_USER_ALIASES = MappingProxyType(
    {"id": "user_id", "user": "user_id", "uid": "user_id", "userid": "user_id", "node": "user_id"}
)
_POST_ALIASES = MappingProxyType(
    {**_USER_ALIASES, "content": "text", "message": "text", "post": "text", "body": "text"}
)
_EDGE_NOTE = "; each line reads <follower>,<followee>: the first user follows the second"


@dataclass(frozen=True, eq=False)
class LoadResult:
    """A loaded network and the notes the loader made (id rewrites, cross-file mismatches)."""

    network: Network
    notes: tuple[Note, ...] = ()

    @property
    def warnings(self) -> list[str]:
        """The notes that need the user's attention, as sentences."""
        return [n.text for n in self.notes if n.level == "warning"]


def log_notes(result: LoadResult) -> Network:
    """Send warnings to the 's3core.loaders' logger (stderr when nothing is configured); return the network."""
    for note in result.notes:
        LOG.log(logging.WARNING if note.level == "warning" else logging.INFO, "warning: %s", note.text)
    return result.network


def separator_note(table: CsvTable) -> Note:
    """An info note that a file was read with another separator than the comma."""
    name = DELIMITERS[table.delimiter]
    # The sentence opens with a word, not the file name: pages capitalise a note's first letter.
    return Note("info", f"Read {Path(table.path).name} as {name}-separated (its header has no commas between names)")


def _ids(table: CsvTable, column: str) -> Ids:
    """An id column of a CSV under the id rules; untrustworthy ids are LoadErrors with their line."""
    try:
        return normalize_ids(table.ids(column))
    except IdError as exc:
        raise table.fail(exc.row, column, exc.problem, exc.fix) from None


def _encode(parts: Sequence[Ids]) -> tuple[np.ndarray, pa.Array, list[np.ndarray]]:
    """Users in order of first appearance (shown with their first spelling), the key dictionary,
    and each part as int64 indices into them."""
    keys = pa.chunked_array([c for part in parts for c in part.keys.chunks], type=pa.string()).combine_chunks()
    encoded = keys.dictionary_encode()
    codes = encoded.indices.to_numpy().astype(np.int64)
    spellings = pa.chunked_array([c for part in parts for c in part.spellings.chunks], type=pa.string())
    _, first = np.unique(codes, return_index=True)
    user_ids = spellings.take(pa.array(first)).to_numpy(zero_copy_only=False).astype(object)
    bounds = np.cumsum([0] + [len(p.keys) for p in parts])
    return user_ids, encoded.dictionary, [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _read_users(users: CsvTable, ids: Ids, codes: np.ndarray, user_ids: np.ndarray) -> pd.DataFrame:
    """Check users.csv ids are unique and parse its attribute columns into the aligned users table."""
    clash = np.flatnonzero(codes != np.arange(len(codes)))  # ids come first, so unique ids get 0..k-1
    if len(clash):
        row, earlier = int(clash[0]), int(codes[clash[0]])
        first, again = users.lines(earlier, row)
        written = ids.spellings[row].as_py()
        same = "" if written == user_ids[earlier] else f" as {clipped_repr(written)}, the same number"
        raise LoadError(
            users.path,
            f"user {clipped_repr(user_ids[earlier])} is listed twice (also on line {first}{same})",
            "keep one line per user",
            line=again,
            column="user_id",
        )
    raw = {c: users.columns[c].to_pandas() for c in USER_COLUMNS if c in users.columns}
    try:
        parsed = parse_user_columns(raw)
    except CellError as exc:
        raise users.fail_cells(exc) from None
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
        raise posts.fail_rows(
            bad.to_numpy(),
            "time",
            lambda row: f"time {clipped_repr(text[row])} is neither a number nor an ISO date",
            "use one kind for the whole column: numbers (e.g. minutes) or dates like 2024-05-01 12:30",
        )
    return when


def _read_posts(path: PathLike, dictionary: pa.Array, known_in: str, max_bytes: int, notes: list) -> pd.DataFrame:
    """The posting history: each row's user must already be a node of the network."""
    posts = read_csv(path, ("user_id", "text"), ("time",), max_bytes=max_bytes, aliases=_POST_ALIASES)
    if posts.delimiter != ",":
        notes.append(separator_note(posts))
    ids = _ids(posts, "user_id")
    index = pc.index_in(ids.keys, value_set=dictionary)
    if index.null_count:
        raise posts.fail_rows(
            pc.is_null(index).to_numpy(zero_copy_only=False),
            "user_id",
            lambda row: f"user {clipped_repr(ids.spellings[row].as_py())} appears in neither {known_in}",
            "add the user to the users file (or to an edge), or remove the post",
        )
    frame = pd.DataFrame(
        {
            "user_index": index.to_numpy().astype(np.int64),
            "text": pd.Series(posts.columns["text"].to_pandas(), dtype=object),
        }
    )
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
    return LoadError(
        edges.path,
        f"duplicate edge ({clipped_repr(who)} follows {clipped_repr(whom)} already on line {line_first})",
        f"remove line {line_again} or line {line_first}",
        line=line_again,
    )


def read_edge_list(
    edges_path: PathLike,
    users_path: PathLike | None = None,
    posts_path: PathLike | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    name: str | None = None,
) -> LoadResult:
    """Load a `follower,followee` CSV (+ optional users and posts CSVs), with notes on the ids.

    Ids follow the rules of `loaders.ids` (the same number is the same user; ids whose digits
    were lost are refused). With a users file, the notes count edge ids missing from it and
    users in no edge; no overlap at all is a LoadError. Users only in the users file become
    isolated nodes. Self-loops, duplicate edges, bad values and unknown ids raise LoadError
    with file, line and fix. Each file is capped at max_bytes.
    """
    edges = read_csv(
        edges_path,
        ("follower", "followee"),
        max_bytes=max_bytes,
        multiline=False,
        aliases=_EDGE_ALIASES,
        note=_EDGE_NOTE,
    )
    follower, followee = _ids(edges, "follower"), _ids(edges, "followee")
    loops = pc.equal(follower.keys, followee.keys)
    if pc.any(loops).as_py():
        raise edges.fail_rows(
            loops.to_numpy(zero_copy_only=False),
            "followee",
            lambda row: f"self-loop (user {clipped_repr(follower.spellings[row].as_py())} follows itself)",
            "remove the line or correct the id",
        )
    users = (
        read_csv(users_path, ("user_id",), USER_COLUMNS, max_bytes=max_bytes, aliases=_USER_ALIASES)
        if users_path is not None
        else None
    )
    listed = _ids(users, "user_id") if users is not None else None
    parts = ([listed] if listed is not None else []) + [follower, followee]
    user_ids, dictionary, codes = _encode(parts)
    edges_name = Path(edges_path).name
    notes = spelling_notes(
        edges_name,
        [("follower", follower.rewritten, follower.example), ("followee", followee.rewritten, followee.example)],
    )
    if users is not None:
        notes += spelling_notes(Path(users_path).name, [("user_id", listed.rewritten, listed.example)])
        frame = _read_users(users, listed, codes[0], user_ids)
        notes += check_users_match(
            str(edges_path), str(users_path), user_ids, len(codes[0]), np.concatenate(codes[-2:])
        )
    else:
        frame = users_frame(user_ids, np.arange(0), {})
    if any(p.rewritten or p.keys is not p.spellings for p in parts):
        spellings = np.concatenate([p.spellings.to_numpy() for p in parts]).astype(object)
        files = " and ".join(Path(p).name for p in (users_path, edges_path) if p is not None)
        notes += merged_spellings(np.concatenate(codes), spellings, files)
    for table in (edges, users):
        if table is not None and table.delimiter != ",":
            notes.append(separator_note(table))
    known_in = " nor ".join(Path(p).name for p in (edges_path, users_path) if p is not None)
    posts = _read_posts(posts_path, dictionary, known_in, max_bytes, notes) if posts_path is not None else None
    network = Network.from_edges(
        name or Path(edges_path).stem, user_ids, codes[-2], codes[-1], users=frame, posts=posts
    )
    if network.n_edges != edges.n_rows:
        raise _duplicate_error(edges, codes[-2], codes[-1], user_ids)
    return LoadResult(network, tuple(notes))


def load_edge_list(
    edges_path: PathLike,
    users_path: PathLike | None = None,
    posts_path: PathLike | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    name: str | None = None,
) -> Network:
    """`read_edge_list`, with its warnings sent to the 's3core.loaders' logger (stderr by default)."""
    return log_notes(read_edge_list(edges_path, users_path, posts_path, max_bytes=max_bytes, name=name))
