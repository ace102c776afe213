"""Parse the canonical user attribute columns (age, gender, ...) shared by every loader."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..demographics import VALID_AGE
from ..types import OCCUPATION_LABELS, Gender, Occupation
from .errors import MAX_CELLS, CellError, clipped_repr

USER_COLUMNS = ("age", "gender", "occupation", "description", "followers", "friends")

_GENDER_WORDS = MappingProxyType(
    {
        "m": Gender.MALE,
        "male": Gender.MALE,
        "男": Gender.MALE,
        "f": Gender.FEMALE,
        "female": Gender.FEMALE,
        "女": Gender.FEMALE,
        "unknown": Gender.UNKNOWN,
    }
)
_GENDER_HELP = "write m, f, male, female, 男 or 女 (any case), or leave the cell empty"
_OCCUPATION_HELP = (
    "use one of the ten S3 occupation labels (e.g. 'engineer', 'media personnel'), "
    "an enum name such as ENGINEER, or a number 0-9; or leave the cell empty"
)


def _occupation_words() -> dict[str, int]:
    """Every accepted spelling of an occupation, lower-cased, mapped to its code."""
    words: dict[str, int] = {}
    for member in Occupation:
        words[OCCUPATION_LABELS[member].lower()] = int(member)
        words[member.name.lower()] = int(member)
        words[member.name.lower().replace("_", " ")] = int(member)
        words[str(int(member))] = int(member)
    return words


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped strings with '' for missing, whatever type the source gave."""
    obj = values.astype(object)
    return obj.where(obj.notna(), "").astype(str).str.strip().reset_index(drop=True)


def _cells(mask: pd.Series | np.ndarray, column: str, problem: Callable[[int], str], fix: str) -> CellError:
    """A CellError for every True row of ``mask`` (the first ``MAX_CELLS`` described, all counted)."""
    rows = np.flatnonzero(np.asarray(mask))
    cells = [(int(r), column, problem(int(r))) for r in rows[:MAX_CELLS]]
    return CellError(cells[0][0], column, cells[0][2], fix, cells=cells, total=len(rows))


def _numeric(values: pd.Series, column: str, low: float, high: float, integer: bool, fix: str) -> pd.Series:
    """A float column (NaN where empty); non-numbers and out-of-range cells raise one CellError naming them."""
    text = _text(values)
    empty = text == ""
    number = pd.to_numeric(text.where(~empty), errors="coerce").astype(np.float64)
    bad = (~empty & number.isna()).to_numpy()
    out = (number.notna() & ((number < low) | (number > high) | (integer & (number % 1 != 0)))).to_numpy()
    if bad.any() or out.any():
        kind = "a whole number" if integer else "a number"
        limits = f">= {low:g}" if np.isinf(high) else f"between {low:g} and {high:g}"

        def problem(row: int) -> str:
            what = "is not a number" if bad[row] else f"is not {kind} {limits}"
            return f"{column} {clipped_repr(text[row])} {what}"

        raise _cells(bad | out, column, problem, fix)
    return number


def parse_age(values: pd.Series) -> pd.Series:
    """Age in years as float (NaN where unknown); ages outside VALID_AGE (10-100) are refused, not replaced."""
    low, high = VALID_AGE
    return _numeric(
        values,
        "age",
        low,
        high,
        False,
        f"write the age in years ({low}-{high}), or leave the cell empty so that it is inferred or drawn",
    )


def parse_count(values: pd.Series, column: str) -> pd.Series:
    """Follower/friend counts as float (NaN where unknown) so they mix with graph-derived counts."""
    return _numeric(values, column, 0, np.inf, True, f"write {column} as a whole number >= 0, or leave the cell empty")


def parse_gender(values: pd.Series, column: str = "gender") -> pd.Series:
    """Gender codes (int8 `Gender`); empty cells mean UNKNOWN, which is what that member is for."""
    text = _text(values)
    codes = text.str.lower().map(_GENDER_WORDS)
    bad = (text != "") & codes.isna()
    if bad.any():
        raise _cells(bad, column, lambda row: f"unknown gender {clipped_repr(text[row])}", _GENDER_HELP)
    return codes.fillna(int(Gender.UNKNOWN)).astype(np.int8)


def parse_occupation(values: pd.Series) -> pd.Series:
    """Occupation codes (nullable Int8 `Occupation`), from a label, an enum name or a number."""
    text = _text(values)
    codes = text.str.lower().map(_occupation_words())
    unmatched = (text != "") & codes.isna()
    if unmatched.any():  # numbers written as 3.0 (e.g. GraphML doubles)
        number = pd.to_numeric(text.where(unmatched), errors="coerce")
        whole = number.notna() & (number % 1 == 0) & number.between(0, 9)
        codes = codes.where(~whole, number)
        bad = unmatched & ~whole
        if bad.any():
            problem = lambda row: f"unknown occupation {clipped_repr(text[row])}"  # noqa: E731
            raise _cells(bad, "occupation", problem, _OCCUPATION_HELP)
    return codes.astype("Int8")


def parse_description(values: pd.Series) -> pd.Series:
    """Free-text self-description; empty cells become None."""
    text = _text(values)
    return text.astype(object).where(text != "", None)


_PARSERS: Mapping[str, Callable[[pd.Series], pd.Series]] = MappingProxyType(
    {
        "age": parse_age,
        "gender": parse_gender,
        "occupation": parse_occupation,
        "description": parse_description,
        "followers": lambda v: parse_count(v, "followers"),
        "friends": lambda v: parse_count(v, "friends"),
    }
)


def parse_user_columns(raw: Mapping[str, pd.Series]) -> dict[str, pd.Series]:
    """Parse whichever canonical columns are present; other keys are ignored.

    Raises:
        CellError: naming the bad cells of every column, in row order (the first ``MAX_CELLS``), and
            counting them all; its fix joins the fixes of the columns concerned.
    """
    parsed, errors = {}, []
    for name in (n for n in USER_COLUMNS if n in raw):
        try:
            parsed[name] = _PARSERS[name](raw[name])
        except CellError as exc:
            errors.append(exc)
    if not errors:
        return parsed
    if len(errors) == 1:
        raise errors[0]
    order = {name: i for i, name in enumerate(USER_COLUMNS)}
    cells = sorted((c for e in errors for c in e.cells), key=lambda c: (c[0], order.get(c[1], 0)))[:MAX_CELLS]
    fix = "; ".join(f"{e.column}: {e.fix.rstrip('. ')}" for e in errors)
    raise CellError(*cells[0], fix, cells=cells, total=sum(e.total for e in errors))


def _missing(column: str, n: int) -> pd.Series:
    """A column of n missing values with the dtype that column has when present."""
    if column == "gender":
        return pd.Series(np.full(n, int(Gender.UNKNOWN), dtype=np.int8))
    if column == "occupation":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int8"))
    if column == "description":
        return pd.Series([None] * n, dtype=object)
    return pd.Series(np.full(n, np.nan))


def users_frame(user_ids: np.ndarray, positions: np.ndarray, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """The users table aligned with user_ids: parsed row i goes to node positions[i]."""
    n = len(user_ids)
    frame = {"user_id": pd.Series(user_ids, dtype=object)}
    for name, values in columns.items():
        full = _missing(name, n)
        full.iloc[np.asarray(positions, dtype=np.int64)] = values.to_numpy()
        frame[name] = full
    return pd.DataFrame(frame)
