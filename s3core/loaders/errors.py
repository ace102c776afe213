"""One error type for every bad input file, so the app can show a single clear message."""

from __future__ import annotations

import os
from pathlib import Path


class LoadError(ValueError):
    """A file could not be loaded; says where (file, line, column), what is wrong and how to fix it."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.problem = problem.rstrip(". ")
        self.fix = fix.rstrip(". ") + "."
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [Path(self.path).name or self.path]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.problem}. Fix: {self.fix}"

    def __reduce__(self):  # keyword-only fields need an explicit recipe to survive pickling
        return (_rebuild, (self.path, self.problem, self.fix, self.line, self.column))


def _rebuild(path: str, problem: str, fix: str, line: int | None, column: str | None) -> LoadError:
    """Unpickle helper for LoadError (the error travels between processes, e.g. in Streamlit)."""
    return LoadError(path, problem, fix, line=line, column=column)


class CellError(Exception):
    """A bad value found by a column parser; the caller knows the file and turns it into a LoadError."""

    def __init__(self, row: int, column: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.row = row
        self.column = column
        self.problem = problem
        self.fix = fix
