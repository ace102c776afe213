"""Read a user CSV into string columns fast, and say exactly where it is broken when it is.

The success path is vectorized (pyarrow); line numbers are only worked out, with a
Python scan, once something is known to be wrong.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import MAX_CELLS, CellError, LoadError, clip

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    *((b"\x80" + bytes([v]), "a Python pickle (never loaded, for safety)") for v in (2, 3, 4, 5)),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_UTF8_FIX = "save the file as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet, or iconv -t utf-8)"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def check_file(path: str | os.PathLike[str], max_bytes: int) -> int:
    """Stat the file before reading a byte: missing, folder, empty and oversize files fail here."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise LoadError(path, "file not found", "check the path, or upload the file again") from None
    except OSError as exc:
        raise LoadError(path, f"cannot open the file ({exc.strerror})", "check the path and its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise LoadError(path, "this is a folder, not a file", "choose a file inside the folder")
    if info.st_size > max_bytes:
        raise LoadError(
            path,
            f"the file is {_mb(info.st_size)}, over the {_mb(max_bytes)} limit",
            "load a smaller file (e.g. a sample of the edges), or raise max_bytes if the machine has the memory",
        )
    if info.st_size == 0:
        raise LoadError(path, "the file is empty", "choose the right file; it needs a header line and at least one row")
    return info.st_size


def check_not_binary(path: str | os.PathLike[str], data: bytes, expected: str = "a CSV text file") -> None:
    """Reject images, archives, spreadsheets and pickles by their magic bytes, before parsing."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            fix = _UTF8_FIX if "UTF-16" in kind else f"choose {expected}; export or convert the data first"
            raise LoadError(path, f"this is {kind}, not {expected}", fix, line=1)


def _locate_byte(data: bytes, pos: int) -> tuple[int, int]:
    """1-based (line, byte-in-line) of a byte offset."""
    start = data.rfind(b"\n", 0, pos) + 1
    return data.count(b"\n", 0, pos) + 1, pos - start + 1


def check_text(path: str | os.PathLike[str], data: bytes) -> None:
    """Fail on NUL bytes or invalid UTF-8, naming the line and byte; pyarrow alone would not say where."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _locate_byte(data, nul)
        raise LoadError(
            path,
            f"binary data: a NUL byte at byte {col} of the line (file offset {nul})",
            "this is not a text file; export the table as 'CSV UTF-8'",
            line=line,
        )
    try:
        pa.array([data], pa.large_binary()).cast(pa.large_string())
    except pa.ArrowInvalid:
        try:
            data.decode("utf-8")
            return
        except UnicodeDecodeError as exc:
            line, col = _locate_byte(data, exc.start)
            guess = ""
            try:
                data.decode("gb18030")
                guess = "; it looks like GBK/GB18030 (Chinese Windows encoding)"
            except UnicodeDecodeError:
                pass
            raise LoadError(
                path,
                f"not UTF-8: invalid byte 0x{data[exc.start]:02x} at byte {col} of the line{guess}",
                _UTF8_FIX,
                line=line,
            ) from None


DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _fields_fix(delimiter: str = ",") -> str:
    name = DELIMITERS.get(delimiter, repr(delimiter))
    return f"make every line have as many {name}-separated fields as the header (quote values that contain a {name})"


_FIELDS_FIX = _fields_fix()
_QUOTE_FIX = 'close the quote, or remove the stray " character'
Fault = tuple[int, str, str]  # line, problem, fix


def _scan(
    data: bytes, n_fields: int, targets: Iterable[int] = (), delimiter: str = ","
) -> tuple[dict[int, int], Fault | None]:
    """Walk the records with the csv module: lines of target rows, and the first structural fault."""
    wanted = set(targets)
    found: dict[int, int] = {}
    text = io.StringIO(data.decode("utf-8", errors="replace"), newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    row, end = -1, 0  # row -1 is the header
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not record:
                continue
            if row >= 0 and len(record) != n_fields:
                fields = f"{len(record)} field" + ("s" if len(record) != 1 else "")
                return found, (start, f"this line has {fields} but the header has {n_fields}", _fields_fix(delimiter))
            if row in wanted:
                found[row] = start
                if len(found) == len(wanted):
                    return found, None
            row += 1
    except csv.Error as exc:  # the broken record starts on the line after the last good one
        return found, (end + 1, f'unreadable CSV ({exc}): a quote (") opened here is never closed', _QUOTE_FIX)
    return found, None


def _rename_hint(missing: Sequence[str], found: Sequence[str], aliases: Mapping[str, str], taken: set[str]) -> str:
    """Suggest renames from known aliases or near-spellings, e.g. 'source' -> 'follower'."""
    pairs = []
    for name in (f for f in found if f not in taken):
        target = aliases.get(name) or next(iter(difflib.get_close_matches(name, missing, n=1, cutoff=0.75)), None)
        if target in missing:
            pairs.append(f"'{name}' -> '{target}'")
    return f" (rename {', '.join(pairs)})" if pairs else ""


def _header_only(path: str | os.PathLike[str]) -> LoadError:
    return LoadError(
        path, "the file has a header but no data rows", "add rows below the header, or do not pass this file", line=1
    )


@dataclass(frozen=True)
class CsvTable:
    """The wanted columns of one CSV as pyarrow strings, plus what is needed to find lines later."""

    path: str
    data: bytes
    n_fields: int
    columns: dict[str, pa.ChunkedArray]
    spaced: bool  # any whitespace byte that trimming could remove
    quoted: bool  # any quote, without which no value can hold a line break
    delimiter: str = ","  # the field separator found in the header line

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values())))

    def lines(self, *rows: int) -> list[int | None]:
        """1-based line numbers of data rows (failure path only: a Python scan)."""
        found, _ = _scan(self.data, self.n_fields, rows, self.delimiter)
        return [found.get(int(r)) for r in rows]

    def fail(self, row: int, column: str | None, problem: str, fix: str) -> LoadError:
        """A LoadError pointing at a data row of this file."""
        return LoadError(self.path, problem, fix, line=self.lines(row)[0], column=column)

    def fail_cells(self, error: CellError) -> LoadError:
        """A LoadError naming every bad cell of ``error`` (rows of this file) by line and column."""
        lines = self.lines(*(row for row, _, _ in error.cells))
        cells = [(line, column, problem) for line, (_, column, problem) in zip(lines, error.cells)]
        return LoadError(
            self.path, cells[0][2], error.fix, line=cells[0][0], column=cells[0][1], cells=cells, more=error.more
        )

    def fail_rows(self, mask: np.ndarray, column: str | None, problem, fix: str) -> LoadError:
        """A LoadError naming the first ``MAX_CELLS`` rows where ``mask`` is True (``problem(row)`` says what
        is wrong with each) and counting the rest."""
        rows = np.flatnonzero(mask)
        cells = [(int(r), column, problem(int(r))) for r in rows[:MAX_CELLS]]
        return self.fail_cells(CellError(*cells[0], fix, cells=cells, total=len(rows)))

    def ids(self, column: str) -> pa.ChunkedArray:
        """An id column, whitespace-trimmed; empty ids and ids with line breaks are errors."""
        values = self.columns[column]
        if self.spaced:
            values = pc.utf8_trim_whitespace(values)
        empty = pc.equal(pc.utf8_length(values), 0)
        if pc.any(empty).as_py():
            mask = empty.to_numpy(zero_copy_only=False)
            raise self.fail_rows(mask, column, lambda row: "empty user id", "fill in the id or remove the line")
        broken = pc.match_substring_regex(values, r"[\r\n]") if self.quoted else None
        if broken is not None and pc.any(broken).as_py():
            row = int(np.flatnonzero(broken.to_numpy(zero_copy_only=False))[0])
            raise self.fail(
                row,
                column,
                "user id contains a line break (an unclosed quote?)",
                "close the quote or remove the line break from the id",
            )
        return values


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def detect_delimiter(header_line: str, required: Sequence[str], next_line: str | None = None) -> str:
    """The field separator of a header line: the comma, unless a semicolon, tab or vertical bar splits it
    into the required columns (as spreadsheets in many locales write CSV), or splits both it and
    ``next_line`` into the same number of several fields where the comma gives one."""
    names = {d: [h.strip().lower().lstrip("\ufeff") for h in _split(header_line, d)] for d in DELIMITERS}
    for delimiter in DELIMITERS:  # the comma first
        if all(r in names[delimiter] for r in required):
            return delimiter
    if len(names[","]) == 1 and next_line is not None:
        for delimiter in DELIMITERS:
            if len(names[delimiter]) > 1 and len(_split(next_line, delimiter)) == len(names[delimiter]):
                return delimiter
    return ","


def _missing_columns(header: list[str], missing: Sequence[str], delimiter: str) -> str:
    """What the header holds, clipped, and why it may not be what was meant (e.g. spaces between names)."""
    shown = clip(", ".join(f"'{h}'" for h in header))
    separated = f" ({DELIMITERS[delimiter]}-separated)" if delimiter != "," else ""
    words = header[0].lower().split() if len(header) == 1 else []
    if len(words) > 1 and any(m in words for m in missing):
        return f"found a single column {shown}: its names are separated by spaces, which is not a CSV separator"
    return f"found columns {shown}{separated}"


def _header(
    path: str | os.PathLike[str],
    data: bytes,
    required: Sequence[str],
    optional: Sequence[str],
    aliases: Mapping[str, str],
    note: str,
) -> tuple[list[str], str]:
    """Lower-cased, stripped header names and the separator; empty, repeated or missing required names are
    LoadErrors."""
    newline = data.find(b"\n")
    first = data[: newline if newline >= 0 else len(data)].decode("utf-8").lstrip("\ufeff").rstrip("\r")
    second = data[newline + 1 :].split(b"\n", 1)[0].decode("utf-8").rstrip("\r") if newline >= 0 else None
    delimiter = detect_delimiter(first, required, second)
    header = _split(first, delimiter)
    names = [h.strip().lower() for h in header]
    if not any(names):
        raise LoadError(
            path,
            "the first line is empty; it must be the header",
            f"put the header '{','.join(required)}' on the first line",
            line=1,
        )
    missing = [r for r in required if r not in names]
    if missing:
        extra = f" (optional: {', '.join(optional)})" if optional else ""
        hint = _rename_hint(missing, names, aliases, {*required, *optional})
        raise LoadError(
            path,
            f"missing column '{missing[0]}': {_missing_columns(header, missing, delimiter)}; "
            f"expected {', '.join(required)}{extra}",
            f"make the first line the header '{','.join(required)}'{hint}{note}",
            line=1,
            column=missing[0],
        )
    for i, name in enumerate(names):
        if name and name in names[:i]:
            raise LoadError(
                path,
                f"column '{clip(name)}' appears twice in the header",
                "remove or rename one of them",
                line=1,
                column=clip(name),
            )
    return names, delimiter


def read_csv(
    path: str | os.PathLike[str],
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    max_bytes: int,
    multiline: bool = True,
    aliases: Mapping[str, str] | None = None,
    note: str = "",
) -> CsvTable:
    """Check and parse a CSV into string columns; every failure is a LoadError naming file, line and column.

    The separator is the comma, or a semicolon, tab or vertical bar found in the header line
    (``CsvTable.delimiter`` says which).
    """
    check_file(path, max_bytes)
    with open(path, "rb") as handle:
        data = handle.read()
    check_not_binary(path, data)
    check_text(path, data)
    names, delimiter = _header(path, data, required, optional, aliases or {}, note)
    quotes = data.count(b'"')
    if quotes % 2:  # an unclosed quote swallows the rest of the file without complaint
        _, fault = _scan(data, len(names), delimiter=delimiter)
        if fault:
            raise LoadError(path, fault[1], fault[2], line=fault[0])
    wanted = {n: f"c{i}" for i, n in enumerate(names) if n in required or n in optional}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=[f"c{i}" for i in range(len(names))]),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=multiline),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(wanted.values()),
                column_types={c: pa.string() for c in wanted.values()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        if not data.partition(b"\n")[2].strip():
            raise _header_only(path) from None
        _, fault = _scan(data, len(names), delimiter=delimiter)
        line, problem, fix = fault or (None, f"unreadable CSV ({clip(str(exc))})", _fields_fix(delimiter))
        raise LoadError(path, problem, fix, line=line) from None
    if table.num_rows == 0:
        raise _header_only(path)
    spaced = any(space in data for space in (b" ", b"\t", b"\xc2\xa0", b"\xe3\x80\x80"))
    columns = {n: table.column(c) for n, c in wanted.items()}
    return CsvTable(str(path), data, len(names), columns, spaced, quotes > 0, delimiter)
