"""Say how the ids of an edge list and a users file match: counts, a few examples, a refusal when nothing does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import LoadError, clipped_repr
from .ids import quoted


@dataclass(frozen=True)
class Note:
    """One finding about a loaded network, for stderr and the dashboard; ``level`` is 'warning' or 'info'."""

    level: str
    text: str


def spelling_notes(source: str, rewritten: Sequence[tuple[str, int, tuple[str, str] | None]]) -> list[Note]:
    """Notes on ids read as whole numbers: (column, count, (before, after)) per id column."""
    notes = []
    for column, count, example in rewritten:
        if count:
            before, after = example
            one = count == 1
            notes.append(
                Note(
                    "warning",
                    f"{source}, column '{column}': {count:,} id{'' if one else 's'} written "
                    f"as a decimal or with separators (e.g. {clipped_repr(before)}) {'was' if one else 'were'} "
                    "read as whole numbers "
                    f"(e.g. {clipped_repr(after)}), so they match the same user written without them",
                )
            )
    return notes


def merged_spellings(codes: np.ndarray, spellings: np.ndarray, files: str) -> list[Note]:
    """A note when one user is written in more than one way (e.g. '007' and '7'): they were joined."""
    pairs = pd.DataFrame({"code": codes, "spelling": spellings}).drop_duplicates()
    many = pairs[pairs["code"].duplicated(keep=False)]
    if many.empty:
        return []
    groups = many.groupby("code", sort=False)["spelling"].apply(list)
    examples = "; ".join(" = ".join(repr(s) for s in group) for group in groups.iloc[:3])
    return [
        Note(
            "warning",
            f"{files}: {len(groups)} user{'s are' if len(groups) != 1 else ' is'} written in more than "
            f"one way ({examples}); ids that are the same number are read as one user",
        )
    ]


def check_users_match(
    edges_path: str, users_path: str, user_ids: np.ndarray, n_listed: int, edge_codes: np.ndarray
) -> list[Note]:
    """Compare the ids of the users file (codes 0..n_listed-1) with those used by the edges.

    Returns notes with counts and examples. Raises LoadError when no edge id is in the users
    file at all, since then the users file describes a different network.
    """
    edges_name, users_name = _name(edges_path), _name(users_path)
    used = np.unique(edge_codes)
    listed_used = used[used < n_listed]
    missing = used[used >= n_listed]
    unused = np.setdiff1d(np.arange(n_listed), listed_used, assume_unique=True)
    if len(listed_used) == 0:
        raise LoadError(
            users_path,
            f"none of the {len(used):,} user ids in {edges_name} is in {users_name} "
            f"({edges_name} has e.g. {quoted(user_ids[missing])}; {users_name} has e.g. "
            f"{quoted(user_ids[:n_listed])})",
            "use the same ids in both files: check that the users file belongs to this edge list and "
            "that both id columns were saved as text",
            column="user_id",
        )
    notes = []
    if len(missing):
        notes.append(
            Note(
                "warning",
                f"{len(missing):,} of the {len(used):,} user ids in {edges_name} are not in "
                f"{users_name} (e.g. {quoted(user_ids[missing])}); their age, gender and "
                "occupation are inferred or drawn",
            )
        )
    if len(unused):
        notes.append(
            Note(
                "warning",
                f"{len(unused):,} of the {n_listed:,} users in {users_name} appear in no edge of "
                f"{edges_name} (e.g. {quoted(user_ids[unused])}); they are isolated agents",
            )
        )
    if not notes:
        notes.append(
            Note(
                "info",
                f"all {n_listed:,} users in {users_name} appear in {edges_name}, "
                "and every id there is in the users file",
            )
        )
    return notes


def _name(path: str) -> str:
    return Path(path).name or str(path)
