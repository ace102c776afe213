"""Who has a trace file open: an advisory lock beside every trace being written, and DuckDB's own lock.

A process that writes ``X.duckdb`` holds an exclusive ``flock`` on ``X.duckdb.lock``, which
also records its pid, host, command and start time; the kernel drops the lock when the
process ends, however it ends, so a lock is never stale. DuckDB's own file lock covers
processes that open the file without this module (readers included). Both become one
``TraceInUse`` error that names the file and the other process.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; DuckDB's own (mandatory) lock still refuses a second opener
    fcntl = None

_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
_INFO_WAIT = 1.0  # seconds to wait for a new holder to finish writing its details
_READER_GRACE = 0.25  # seconds a writer retries: readers hold the lock shared only for an instant


class TraceFileError(Exception):
    """A trace file that cannot be used as asked; the message is one line naming the file."""


class TraceInUse(TraceFileError):
    """Another process (or another run in this process) has the trace file open."""

    def __init__(self, path: Path, holder: "Holder | None", hint: str):
        who = holder.describe() if holder else "another process"
        super().__init__(f"{path} is in use by {who}; {hint}")
        self.path = Path(path)
        self.holder = holder


class TraceExists(TraceFileError):
    """The file already holds something that a new run would destroy."""


@dataclass(frozen=True)
class Holder:
    """The process that holds a trace: what the one-line error says about it (pid 0: not known)."""

    pid: int
    host: str = ""
    command: str = ""
    started: str = ""

    def describe(self) -> str:
        details = [
            d
            for d in (
                self.command,
                self.started and f"started {self.started}",
                self.host and self.host != socket.gethostname() and f"on {self.host}",
            )
            if d
        ]
        who = f"process {self.pid}" if self.pid else "another process"
        return who + (f" ({', '.join(details)})" if details else "")


def lock_path(path: str | Path) -> Path:
    """The lock file beside a trace: ``X.duckdb`` -> ``X.duckdb.lock``."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


def _command(pid: int) -> str:
    """A process's command line, one line, shortened (empty when it cannot be read).

    Paths are cut to their file names (the trace's full path is already in the message) so that
    the subcommand and its options stay readable however deep the working folder is.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return " ".join(sys.argv) if pid == os.getpid() else ""
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    words = [_file_name_only(w) for w in words]
    text = " ".join(words).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _file_name_only(word: str) -> str:
    """`/deep/dir/run.duckdb` -> `run.duckdb`, `--out=/deep/dir/x` -> `--out=x`; other words unchanged."""
    option, equals, value = word.partition("=") if word.startswith("-") else ("", "", word)
    return option + equals + Path(value).name if "/" in value else word


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_holder(fd: int) -> Holder | None:
    """The details a holder wrote into its lock file, or None while they are missing or stale."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode())
        found = Holder(
            int(info["pid"]), str(info.get("host", "")), str(info.get("command", "")), str(info.get("started", ""))
        )
    except (ValueError, KeyError, TypeError, OSError):
        return None
    if found.host == socket.gethostname() and not _alive(found.pid):
        return None  # left by an earlier holder that died; the new one has not written yet
    return found


class TraceLock:
    """The exclusive right to write one trace file, held from before it is created until it is closed."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self._fd: int | None = None

    def acquire(self, hint: str = "wait for it to finish or choose another --out") -> "TraceLock":
        """Take the lock without waiting.

        Raises:
            TraceInUse: another process (or another store in this process) holds it; names that process.
            TraceFileError: the lock file cannot be created (e.g. a folder without write permission).
        """
        if fcntl is None:
            return self
        while True:
            try:
                fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise TraceFileError(f"{self.path} cannot be written: {exc.strerror} ({self.lock_file})") from None
            if not _try_exclusive(fd):
                holder = _wait_for_holder(fd)
                os.close(fd)
                raise TraceInUse(self.path, holder, hint)
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_file).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a file its last holder removed while we waited to open it
                break
            os.close(fd)
        info = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": _command(os.getpid()),
                "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            }
        ).encode()
        os.pwrite(fd, info, 0)  # overwrite, then cut: a reader never sees an empty file
        os.ftruncate(fd, len(info))
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up and remove the lock file (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.unlink(self.lock_file)
        except FileNotFoundError:
            pass
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "TraceLock":
        return self.acquire() if not self.held else self

    def __exit__(self, *exc) -> None:
        self.release()


def _try_exclusive(fd: int) -> bool:
    """Take the exclusive lock, allowing a moment for a reader's brief shared check (see ``holder``) to end."""
    deadline = time.monotonic() + _READER_GRACE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def _wait_for_holder(fd: int) -> Holder | None:
    deadline = time.monotonic() + _INFO_WAIT
    while True:
        found = _read_holder(fd)
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def holder(path: str | Path) -> Holder | None:
    """The process writing ``path`` now, or None if no writer holds its lock (readers do not take it)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(lock_path(path), os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _wait_for_holder(fd) or Holder(0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def from_duckdb_error(path: str | Path, exc: duckdb.Error, hint: str) -> TraceFileError | None:
    """DuckDB's "Could not set lock ... (PID n)", "not a valid DuckDB database" or another I/O error as one line, else None."""
    text = str(exc)
    found = _DUCKDB_HOLDER.search(text)
    if found:
        pid = int(found.group(2))
        return TraceInUse(Path(path), Holder(pid, command=_command(pid) or Path(found.group(1)).name), hint)
    if "Could not set lock" in text:
        return TraceInUse(Path(path), None, hint)
    if "not a valid DuckDB database" in text:
        return TraceFileError(f"{path} is not a DuckDB trace file")
    if isinstance(exc, duckdb.IOException):
        return TraceFileError(f"{path} cannot be opened: {text.splitlines()[0] if text else type(exc).__name__}")
    return None


def connect(path: str | Path, read_only: bool, hint: str) -> duckdb.DuckDBPyConnection:
    """Open a trace with DuckDB, turning a file held elsewhere into ``TraceInUse``.

    Raises:
        TraceInUse: a writer holds the trace's lock, or DuckDB reports a conflicting lock.
        TraceFileError: the file is not a DuckDB database, or cannot be opened at all.
    """
    if read_only:
        writer = holder(path)
        if writer is not None:
            raise TraceInUse(Path(path), writer, hint)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        mapped = from_duckdb_error(path, exc, hint)
        if mapped is None:
            raise
        raise mapped from None


def recorded_run(path: str | Path, hint: str) -> str | None:
    """What an existing file at ``path`` holds, in words, or None when there is nothing to lose.

    Opens the file read-write, so it also fails while any other process has it open (``hint``: what to do then).

    Raises:
        TraceInUse: another process has the file open.
        TraceExists: the file exists but is not a trace (it is never replaced).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        con = connect(path, read_only=False, hint=hint)
    except TraceFileError as exc:
        if isinstance(exc, TraceInUse):
            raise
        raise TraceExists(f"{path} exists and is not a trace file; choose another --out") from None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if not tables:
            return None
        if not {"run", "metrics"} <= tables:
            raise TraceExists(f"{path} is a DuckDB file but not a trace; choose another --out")
        meta = dict(con.execute("SELECT key, value FROM run").fetchall())
        steps = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    finally:
        con.close()
    if not meta and not steps:
        return None
    try:
        planned = int(tomllib.loads(meta.get("scenario", "")).get("steps", 0)) or None
    except (tomllib.TOMLDecodeError, TypeError, ValueError):
        planned = None
    state = "an unfinished" if planned and steps < planned else "a"
    of = f"{steps} of {planned} steps" if planned else f"{steps} steps"
    return (
        f"{state} run of '{meta.get('name', '?')}' ({of}, seed {meta.get('seed', '?')}, "
        f"created {meta.get('created_utc', '?')})"
    )
