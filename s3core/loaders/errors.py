"""One error type for every bad input file, so the app can show a single clear message."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

MAX_CELLS = 20  # bad cells named one by one in an error; the rest are counted
ECHO_LIMIT = 120  # characters of a file's own text quoted back in an error

Cell = tuple[int | None, str | None, str]  # line (1-based) or None, column or None, problem


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters plus "… (N more characters)", so junk is never echoed in full."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def clipped_repr(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` of a cell's text, clipped like ``clip``."""
    text = str(value)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text) - limit:,} more characters)"


def _place(line: int | None, column: str | None) -> str:
    parts = ([f"line {line}"] if line is not None else []) + ([f"column '{column}'"] if column is not None else [])
    return ", ".join(parts)


class LoadError(ValueError):
    """A file could not be loaded; says where (file, line, column), what is wrong and how to fix it.

    ``cells`` lists up to ``MAX_CELLS`` bad cells as (line, column, problem), the first being the one
    that ``line``, ``column`` and ``problem`` describe; ``more`` counts further bad cells not listed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        column: str | None = None,
        cells: Sequence[Cell] = (),
        more: int = 0,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.problem = problem.rstrip(". ")
        self.fix = fix.rstrip(". ") + "."
        self.cells = tuple(cells) or ((line, column, self.problem),)
        self.more = int(more)
        super().__init__(str(self))

    @property
    def n_bad(self) -> int:
        """Bad cells found: those listed plus those only counted."""
        return len(self.cells) + self.more

    def __str__(self) -> str:
        where = ", ".join([Path(self.path).name or self.path, *filter(None, [_place(self.line, self.column)])])
        text = f"{where}: {self.problem}"
        if self.n_bad > 1:
            text += f". {self.n_bad:,} bad values in all"
            others = [f"{_place(li, co) or 'elsewhere'}: {pr.rstrip('. ')}" for li, co, pr in self.cells[1:]]
            if others:
                text += "; also " + "; ".join(others)
            if self.more:
                text += f"; and {self.more:,} more not listed"
        return f"{text}. Fix: {self.fix}"

    def as_lines(self) -> list[str]:
        """The message as lines for a screen: where and what, then one line per further bad cell, then the fix."""
        if self.n_bad <= 1:
            return [str(self)]
        where = ", ".join([Path(self.path).name or self.path, *filter(None, [_place(self.line, self.column)])])
        lines = [f"{where}: {self.problem}. {self.n_bad:,} bad values in all:"]
        lines += [f"{_place(li, co) or 'elsewhere'}: {pr.rstrip('. ')}" for li, co, pr in self.cells[1:]]
        if self.more:
            lines.append(f"and {self.more:,} more not listed")
        return [*lines, f"Fix: {self.fix}"]

    def __reduce__(self):  # keyword-only fields need an explicit recipe to survive pickling
        return (_rebuild, (self.path, self.problem, self.fix, self.line, self.column, self.cells, self.more))


def _rebuild(
    path: str,
    problem: str,
    fix: str,
    line: int | None,
    column: str | None,
    cells: Sequence[Cell] = (),
    more: int = 0,
) -> LoadError:
    """Unpickle helper for LoadError (the error travels between processes, e.g. in Streamlit)."""
    return LoadError(path, problem, fix, line=line, column=column, cells=cells, more=more)


class CellError(Exception):
    """Bad values found by a column parser; the caller knows the file and turns them into a LoadError.

    ``row``, ``column``, ``problem`` describe the first; ``cells`` holds up to ``MAX_CELLS`` as
    (row, column, problem), rows 0-based in the parsed data, and ``total`` counts them all.
    """

    def __init__(
        self,
        row: int,
        column: str,
        problem: str,
        fix: str,
        *,
        cells: Sequence[tuple[int, str, str]] = (),
        total: int | None = None,
    ) -> None:
        super().__init__(problem)
        self.row = row
        self.column = column
        self.problem = problem
        self.fix = fix
        self.cells = list(cells) or [(row, column, problem)]
        self.total = max(int(total if total is not None else len(self.cells)), len(self.cells))

    @property
    def more(self) -> int:
        return self.total - len(self.cells)
