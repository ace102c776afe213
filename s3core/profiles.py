"""Profiles files: per-user age, gender, occupation and initial attitude inferred once (S3's profiling
module, e.g. by ``python -m s3core profile``) and reused by every run of a scenario that names the file.

A profiles file is Parquet (or CSV) with one row per user and the columns of ``PROFILE_COLUMNS``:

- ``user_id``: text, the network's user id (required, unique);
- ``age``: whole years in ``VALID_AGE``, or empty;
- ``gender``: ``female`` or ``male`` (also ``f``/``m``, ``女``/``男``), or empty;
- ``occupation``: one of S3's ten, by name (``engineer``, ``media``, ``unemployed_student`` ...) or code 0-9, or empty;
- ``attitude``: initial attitude toward the event, ``negative`` or ``positive`` (or 0/1), or empty;
- ``source``: who filled the row, e.g. ``llm:openai/gpt-4o-mini`` or ``rules`` (optional, informational).

Empty cells mean "not known": the usual order (given users columns, text rules, draws) fills them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .types import Attitude, Gender, Occupation

PROFILE_COLUMNS = ("user_id", "age", "gender", "occupation", "attitude", "source")
VALUE_COLUMNS = ("age", "gender", "occupation", "attitude")
VALID_AGE = (10, 100)  # as the users loaders: an inferred age outside it is no answer
MAX_BAD_SHOWN = 5
_GENDER_WORDS = {"female": Gender.FEMALE, "f": Gender.FEMALE, "女": Gender.FEMALE, "0": Gender.FEMALE}
_GENDER_WORDS |= {"male": Gender.MALE, "m": Gender.MALE, "男": Gender.MALE, "1": Gender.MALE}
_OCCUPATION_WORDS = {o.name.lower(): int(o) for o in Occupation} | {str(int(o)): int(o) for o in Occupation}
_OCCUPATION_WORDS |= {"student": int(Occupation.UNEMPLOYED_STUDENT), "unemployed": int(Occupation.UNEMPLOYED_STUDENT)}
_ATTITUDE_WORDS = {"negative": Attitude.NEGATIVE, "0": Attitude.NEGATIVE, "positive": Attitude.POSITIVE}
_ATTITUDE_WORDS |= {"1": Attitude.POSITIVE}


class ProfilesError(ValueError):
    """A profiles file that cannot be used; the message names the file, and the row and column where it applies."""


@dataclass(frozen=True)
class ProfileValues:
    """A profiles file's values aligned with a network's agents: float arrays of shape (n_users,), NaN = not given.

    ``gender`` holds Gender codes, ``occupation`` Occupation codes, ``attitude`` Attitude codes.
    ``matched`` counts the file's rows whose user is in the network; ``unmatched`` the others (ignored).
    """

    age: np.ndarray
    gender: np.ndarray
    occupation: np.ndarray
    attitude: np.ndarray
    matched: int
    unmatched: int

    def filled(self) -> dict[str, int]:
        """Users with a value, per column."""
        return {name: int((~np.isnan(getattr(self, name))).sum()) for name in VALUE_COLUMNS}


def empty_profiles() -> pd.DataFrame:
    """A profiles table with no rows and the file's columns and types."""
    return pd.DataFrame(
        {
            "user_id": pd.Series(dtype="string"),
            "age": pd.Series(dtype="Int16"),
            "gender": pd.Series(dtype="string"),
            "occupation": pd.Series(dtype="string"),
            "attitude": pd.Series(dtype="string"),
            "source": pd.Series(dtype="string"),
        }
    )


def read_profiles(path: str | Path) -> pd.DataFrame:
    """Read and check a profiles file (``.parquet`` or ``.csv``) into the canonical table of ``PROFILE_COLUMNS``.

    Values are normalised to words (``female``, ``engineer``, ``positive``) and ages to whole years.
    Raises ProfilesError naming the file and the first bad rows (row numbers count data rows from 1),
    or FileNotFoundError when the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"profiles file {path} does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False) if path.suffix.lower() == ".csv" else None
        if raw is None:
            raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow and pandas raise many kinds for a file that is not what it says
        raise ProfilesError(f"profiles file {path}: cannot be read as {path.suffix or 'Parquet'} ({exc})") from None
    return check_profiles(raw, str(path))


def check_profiles(raw: pd.DataFrame, where: str = "profiles") -> pd.DataFrame:
    """The canonical profiles table from any table with a ``user_id`` column and some of ``VALUE_COLUMNS``.

    Raises ProfilesError naming ``where`` for a missing ``user_id`` column, unknown columns, repeated or empty
    user ids, and values that are not ages, genders, occupations or attitudes.
    """
    if "user_id" not in raw.columns:
        raise ProfilesError(f"{where}: no user_id column (columns: {', '.join(map(str, raw.columns)) or 'none'})")
    unknown = [c for c in raw.columns if c not in PROFILE_COLUMNS]
    if unknown:
        raise ProfilesError(f"{where}: unknown column {unknown[0]!r}; a profiles file has {', '.join(PROFILE_COLUMNS)}")
    out = empty_profiles().reindex(range(len(raw)))
    ids = raw["user_id"].astype("string").str.strip()
    _refuse(where, "user_id", ids.isna() | (ids == ""), raw["user_id"], "an empty user id")
    _refuse(where, "user_id", ids.duplicated(keep="first"), raw["user_id"], "a user id already listed above")
    out["user_id"] = pd.array(ids.tolist(), dtype="string")
    if "age" in raw:
        text = _blank_to_na(raw["age"])
        age = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & (age.isna() | (age < VALID_AGE[0]) | (age > VALID_AGE[1]) | (age % 1 != 0))
        _refuse(where, "age", bad, raw["age"], f"a whole number of years in [{VALID_AGE[0]}, {VALID_AGE[1]}]")
        out["age"] = pd.array(age.round().to_numpy(dtype=float, na_value=np.nan), dtype="Int16")
    for column, words in (("gender", _GENDER_WORDS), ("occupation", _OCCUPATION_WORDS), ("attitude", _ATTITUDE_WORDS)):
        if column not in raw:
            continue
        text = _blank_to_na(raw[column]).str.lower()
        names = [None if v is pd.NA else _name(column, words.get(v)) for v in text.tolist()]
        bad = text.notna().to_numpy() & np.array([n is None for n in names], dtype=bool)
        expected = sorted({_name(column, c) for c in words.values()})
        _refuse(where, column, bad, raw[column], f"one of {', '.join(expected)}")
        out[column] = pd.array(names, dtype="string")
    if "source" in raw:
        out["source"] = pd.array(_blank_to_na(raw["source"]).tolist(), dtype="string")
    return out


def write_profiles(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a profiles table (checked first) to ``path``: Parquet, or CSV for a ``.csv`` name. Returns the path.

    The file is written next to its final name and moved into place, so a reader never sees half a file.
    """
    path = Path(path)
    table = check_profiles(table, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    if path.suffix.lower() == ".csv":
        table.to_csv(part, index=False)
    else:
        table.to_parquet(part, index=False)
    part.replace(path)
    return path


def align(table: pd.DataFrame, user_ids, where: str = "profiles") -> ProfileValues:
    """The canonical table's values per agent of a network whose ids are ``user_ids`` (shape (n_users,)).

    Rows for users not in the network are ignored and counted; a file that matches none of them is refused
    (ProfilesError), since it was made for another network.
    """
    ids = pd.Index(np.asarray(user_ids).astype(str))
    position = ids.get_indexer(table["user_id"].astype(str))
    hit = position >= 0
    if len(table) and not hit.any():
        raise ProfilesError(
            f"{where}: none of its {len(table):,} user ids is in the network (first: {table['user_id'].iloc[0]!r}); "
            "it was made for another network"
        )
    n = len(ids)
    values = {}
    codes = {
        "gender": {"female": Gender.FEMALE, "male": Gender.MALE},
        "occupation": {o.name.lower(): int(o) for o in Occupation},
        "attitude": {a.name.lower(): int(a) for a in Attitude},
    }
    for column in VALUE_COLUMNS:
        out = np.full(n, np.nan)
        if column == "age":
            given = pd.to_numeric(table["age"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            given = table[column].map(codes[column]).to_numpy(dtype=float, na_value=np.nan)
        out[position[hit]] = given[hit]
        values[column] = out
    return ProfileValues(**values, matched=int(hit.sum()), unmatched=int((~hit).sum()))


def load_for(path: str | Path, user_ids) -> ProfileValues:
    """Read a profiles file and align it with a network's user ids (see ``read_profiles`` and ``align``)."""
    return align(read_profiles(path), user_ids, str(path))


def _name(column: str, code: int | None) -> str | None:
    """The canonical word of a code: ``female``, ``engineer``, ``positive``."""
    if code is None:
        return None
    kind = {"gender": Gender, "occupation": Occupation, "attitude": Attitude}[column]
    return kind(int(code)).name.lower()


def _blank_to_na(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip()
    return text.mask(text == "")


def _refuse(where: str, column: str, bad: pd.Series, raw: pd.Series, expected: str) -> None:
    rows = np.flatnonzero(np.asarray(bad, dtype=bool))
    if not len(rows):
        return
    shown = ", ".join(f"row {r + 1} ({str(raw.iloc[r])[:40]!r})" for r in rows[:MAX_BAD_SHOWN])
    more = f" and {len(rows) - MAX_BAD_SHOWN:,} more" if len(rows) > MAX_BAD_SHOWN else ""
    raise ProfilesError(f"{where}: column {column} expects {expected}; {shown}{more}")


def for_scenario(scenario, network) -> ProfileValues | None:
    """The profiles file a scenario names (``[population] profiles``), aligned with ``network``; None without one.

    Raises ProfilesError (a ValueError) naming ``population.profiles`` when the file is missing or unusable.
    """
    if not scenario.profiles:
        return None
    path = scenario.resolve(scenario.profiles)
    where = f"population.profiles = {scenario.profiles!r}"
    if not path.is_file():
        raise ProfilesError(f"{where}: no such file {path}")
    return align(read_profiles(path), network.user_ids, where)  # read errors name the file itself
