"""User ids as they come back from pandas and spreadsheets: one user per number, untrustworthy ids refused.

Rules (vectorized with pyarrow, one pass per rule over an id column):

- Ids are text. Surrounding spaces are trimmed by the CSV reader.
- A whole number is one user however it is written: ``1002``, ``1002.0`` (pandas writes an
  integer column that held a gap as floats), ``1,002`` (a spreadsheet's thousands separator)
  and ``001002`` (leading zeros) are the same user. The user keeps the first spelling met,
  without the float suffix and separators (leading zeros are kept, users file first).
- Scientific notation (``1.00E+15``, ``1.2345678901234568e+18``) means a tool turned the id
  into a rounded number: the digits are lost, so the id is refused.
- A decimal-written id beyond 2**53 (``12345678901234567.0``) passed through a float and may
  have changed; long ids whose digits after the 15th are all zeros were cut by a spreadsheet
  (it keeps 15 significant digits). Both are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import clipped_repr

_WHOLE = r"^(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.0+)?$"  # a whole number, maybe with separators or a .0 suffix
_DECIMAL = r"\.0+$"
_SCIENTIFIC = r"^[+-]?\d+(?:\.\d+)?[eE][+-]\d{1,3}$"  # an explicit exponent sign: hex hashes like 12e345 never match
_EXACT_DIGITS = 15  # significant digits a spreadsheet keeps
_FLOAT_EXACT = 2**53  # integers above this do not survive a float64 column
TEXT_FIX = (
    "save the id column as text: in a spreadsheet, format the column as Text before typing or "
    "importing the ids; in pandas, read with dtype=str (or dtype={'user_id': str}) and write the "
    "column unchanged; then export the file again from the original ids"
)


class IdError(Exception):
    """An id that cannot be trusted; the caller knows the file and turns it into a LoadError."""

    def __init__(self, row: int, problem: str, fix: str = TEXT_FIX) -> None:
        super().__init__(problem)
        self.row = row
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Ids:
    """One id column after the rules: ``keys`` decide identity, ``spellings`` are shown to people.

    Both are pyarrow string arrays of the column's length. ``rewritten`` counts the ids whose
    spelling lost a float suffix or separators; ``example`` is one such (before, after) pair.
    """

    keys: pa.ChunkedArray
    spellings: pa.ChunkedArray
    rewritten: int
    example: tuple[str, str] | None


def _first(mask) -> int:
    return int(np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))[0])


def _check_lost_digits(values: pa.ChunkedArray, whole: pa.ChunkedArray) -> None:
    """Refuse scientific notation, floats beyond 2**53 and spreadsheet-cut long numbers."""
    scientific = pc.match_substring_regex(values, _SCIENTIFIC)
    if pc.any(scientific).as_py():
        row = _first(scientific)
        raise IdError(
            row,
            f"id {clipped_repr(values[row].as_py())} is in scientific notation: a spreadsheet or "
            "pandas rounded the number and its digits are lost, so it cannot be matched to a user",
        )
    digits = pc.replace_substring_regex(pc.replace_substring(values, ",", ""), _DECIMAL, "")
    digits = pc.if_else(whole, pc.replace_substring_regex(digits, r"^0+", ""), "")
    length = pc.utf8_length(digits)
    floated = pc.and_(pc.match_substring_regex(values, _DECIMAL), pc.greater(length, 15))
    if pc.any(floated).as_py():
        rows = np.flatnonzero(floated.to_numpy(zero_copy_only=False))
        big = [int(r) for r in rows if int(digits[int(r)].as_py()) > _FLOAT_EXACT]
        if big:
            raise IdError(
                big[0],
                f"id {clipped_repr(values[big[0]].as_py())} has more digits than a decimal (float) column keeps "
                "exactly, so its last digits may have changed",
            )
    long = pc.greater(length, _EXACT_DIGITS)
    if pc.any(long).as_py():
        tails = pc.utf8_slice_codeunits(pc.filter(digits, long), _EXACT_DIGITS)
        zeros = pc.match_substring_regex(tails, r"^0+$")
        if pc.all(zeros).as_py() and pc.sum(pc.utf8_length(tails)).as_py() >= 4:
            row = _first(long)
            raise IdError(
                row,
                f"id {clipped_repr(values[row].as_py())} and every other id longer than {_EXACT_DIGITS} digits end "
                f"in zeros after the {_EXACT_DIGITS}th digit, which is what a spreadsheet does to long "
                "numbers: the real digits are lost",
            )


def normalize_ids(values: pa.ChunkedArray | pa.Array) -> Ids:
    """Apply the id rules to one trimmed id column. Raises IdError (with the row) for lost digits."""
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], type=pa.string())
    if len(values) == 0:
        return Ids(values, values, 0, None)
    whole = pc.match_substring_regex(values, _WHOLE)
    _check_lost_digits(values, whole)
    if not pc.any(whole).as_py():
        return Ids(values, values, 0, None)
    plain = pc.replace_substring_regex(pc.replace_substring(values, ",", ""), _DECIMAL, "")
    spellings = pc.if_else(whole, plain, values)
    keys = pc.if_else(whole, pc.replace_substring_regex(spellings, r"^0+(\d)", r"\1"), values)
    changed = pc.not_equal(spellings, values)
    rewritten = int(pc.sum(changed).as_py() or 0)
    example = None
    if rewritten:
        row = _first(changed)
        example = (values[row].as_py(), spellings[row].as_py())
    return Ids(keys, spellings, rewritten, example)


def canonical_id(text: str) -> str:
    """One id (e.g. a scenario's seed author) under the same rules; raises IdError for lost digits."""
    ids = normalize_ids(pa.array([str(text).strip()], type=pa.string()))
    return ids.spellings[0].as_py()


def quoted(values, limit: int = 3) -> str:
    """A few values for a message: 'a', 'b', 'c' and 7 more."""
    values = list(values)
    shown = ", ".join(clipped_repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
