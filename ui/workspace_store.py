"""Workspaces on disk and in the server process: ids, the autosaved scenario, run numbers, registry, cleanup.

A workspace is one folder ``<S3_RUNS_DIR>/<id>/`` named by a random 32-digit hex id; the id is
also in the page's URL (``?ws=<id>``), so a reload or a bookmark finds the same work. While the
server runs, the workspace object itself (with its live run and batch jobs) is kept in a
``Registry``; after a restart it is rebuilt from its folder: the scenario autosaved as TOML,
the network that scenario names, and every run file already there. Folders unused for
``S3_WORKSPACE_MAX_AGE_DAYS`` days are deleted, never one that is in use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from s3core import scenario as S
from s3core.trace_lock import holder

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
QUERY_KEY = "ws"  # the URL's query parameter: ?ws=<id>
SCENARIO_FILE = "scenario.toml"
META_FILE = "workspace.json"
MAX_AGE_ENV = "S3_WORKSPACE_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 14.0
IDLE_ENV = "S3_WORKSPACE_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 60.0
MAX_IN_MEMORY = 32  # workspaces kept in memory at most; beyond, the least recently used idle ones are closed
CLEANUP_EVERY = 3600.0  # seconds between two sweeps of old workspace folders (the first at the first page)
EVICT_EVERY = 300.0  # seconds between two looks for idle workspaces in memory
_RUN_NUMBER = re.compile(r"^(\d+)-")


class WorkspaceError(ValueError):
    """A workspace id or folder that cannot be used; the message names it."""


def valid_id(text: object) -> bool:
    """True for a workspace id: exactly 32 lower-case hex digits (``uuid4().hex``), nothing else."""
    return isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None


def folder(base: Path, workspace_id: str) -> Path:
    """``base/<id>``; raises WorkspaceError for anything but a valid id, so no id can name another path."""
    if not valid_id(workspace_id):
        shown = repr(workspace_id)[:60]
        raise WorkspaceError(f"workspace id {shown}: not a workspace id (32 hex digits, as in ?ws=...)")
    return Path(base) / workspace_id


# -- the autosaved scenario -----------------------------------------------------------------------
def save_scenario(run_dir: Path, scenario: S.Scenario, network_label: str = "") -> Path:
    """Write the scenario as TOML into the workspace folder (atomically) with a small JSON beside it.

    The JSON records when and what was saved (the network's label) and the scenario's ``base_dir``
    (where a shipped scenario came from), which TOML does not carry. Returns the TOML's path.
    Raises OSError when the folder cannot be written.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SCENARIO_FILE
    _write_atomic(path, S.dumps(scenario))
    meta = {
        "saved_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "network": network_label,
        "base_dir": scenario.base_dir,
    }
    _write_atomic(run_dir / META_FILE, json.dumps(meta, indent=1))
    return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_scenario(run_dir: Path) -> S.Scenario | None:
    """The autosaved scenario of a workspace folder, or None when it never saved one.

    Raises ScenarioError naming the file when it is there but cannot be read.
    """
    path = Path(run_dir) / SCENARIO_FILE
    if not path.is_file():
        return None
    try:
        base_dir = str(json.loads((Path(run_dir) / META_FILE).read_text(encoding="utf-8")).get("base_dir", ""))
    except (OSError, ValueError, AttributeError):
        base_dir = ""
    return S.load(path).replace(base_dir=base_dir)


# -- run numbers ----------------------------------------------------------------------------------
def highest_run_number(run_dir: Path) -> int:
    """The largest ``NNN-`` prefix among the folder's files (0 when there is none), so new runs never reuse a name."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return 0
    numbers = [int(m.group(1)) for p in run_dir.iterdir() if (m := _RUN_NUMBER.match(p.name))]
    return max(numbers, default=0)


# -- cleanup of old folders ---------------------------------------------------------------------
def max_age_days() -> float:
    """$S3_WORKSPACE_MAX_AGE_DAYS (default 14; 0 or less turns cleanup off); raises WorkspaceError for a non-number."""
    return _env_number(MAX_AGE_ENV, DEFAULT_MAX_AGE_DAYS)


def idle_minutes() -> float:
    """$S3_WORKSPACE_IDLE_MINUTES (default 60): unused this long with nothing running, a workspace leaves memory."""
    return _env_number(IDLE_ENV, DEFAULT_IDLE_MINUTES)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise WorkspaceError(f"${name} = {raw!r}: not a number (e.g. {default:g})") from None


def last_used(path: Path) -> float:
    """The newest modification time (epoch seconds) of the folder and everything in it."""
    newest = path.stat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.stat(os.path.join(root, name), follow_symlinks=False).st_mtime)
            except OSError:
                continue
    return newest


def _being_written(path: Path) -> bool:
    """True when some process holds the writer's lock of a trace in the folder (any depth)."""
    return any(holder(lock.with_suffix("")) is not None for lock in path.rglob("*.duckdb.lock"))


def cleanup(base: Path, max_age: float, busy: set[str] = frozenset(), now: float | None = None) -> list[Path]:
    """Delete workspace folders under ``base`` unused for more than ``max_age`` days; returns those deleted.

    Only folders named by a workspace id are considered; ``busy`` ids (in use in this process) and
    folders holding a trace some process is writing are kept whatever their age. ``max_age <= 0``
    deletes nothing.
    """
    base = Path(base)
    if max_age <= 0 or not base.is_dir():
        return []
    now = time.time() if now is None else now
    limit = now - max_age * 86400.0
    removed = []
    for path in sorted(base.iterdir()):
        if not valid_id(path.name) or path.name in busy or path.is_symlink() or not path.is_dir():
            continue
        try:
            if last_used(path) >= limit or _being_written(path):
                continue
            shutil.rmtree(path)
        except OSError:
            continue  # a file vanished or cannot be removed: try again at the next sweep
        removed.append(path)
    return removed


# -- the registry of workspaces in this process ----------------------------------------------------
class Closable(Protocol):
    session_id: str

    def busy(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class _Entry:
    workspace: Closable
    seen: float


class Registry:
    """Workspaces of this server process by id, shared by every browser session (thread-safe).

    A reload or a second tab with the same id gets the same object back, so a run that is going
    on is still there. Workspaces unused for ``idle_minutes`` with nothing running are closed and
    dropped (their files stay; the next visit rebuilds them from disk), and so are the least
    recently used idle ones beyond ``capacity``.
    """

    def __init__(self, capacity: int = MAX_IN_MEMORY):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: dict[str, _Entry] = {}
        self._last_sweep: float | None = None
        self._last_evict = time.monotonic()

    def get(self, workspace_id: str):
        """The workspace with this id, or None; marks it used."""
        with self._lock:
            entry = self._items.get(workspace_id)
            if entry is None:
                return None
            entry.seen = time.monotonic()
            return entry.workspace

    def adopt(self, workspace):
        """Keep ``workspace`` under its id, unless one is already kept: then that one is returned instead.

        Beyond ``capacity``, the least recently used workspaces that run nothing are closed and dropped.
        """
        with self._lock:
            entry = self._items.get(workspace.session_id)
            if entry is None:
                entry = self._items[workspace.session_id] = _Entry(workspace, time.monotonic())
            entry.seen = time.monotonic()
            extra = len(self._items) - self.capacity
            old = []
            if extra > 0:
                idle = sorted((e.seen, k) for k, e in self._items.items() if e is not entry and not e.workspace.busy())
                old = [self._items.pop(k).workspace for _, k in idle[:extra]]
        for item in old:
            item.close()
        return entry.workspace

    def forget(self, workspace_id: str) -> None:
        """Drop a workspace from memory without closing it (tests, and a workspace that was deleted)."""
        with self._lock:
            self._items.pop(workspace_id, None)

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._items)

    def busy_ids(self) -> set[str]:
        """Ids of the workspaces kept here that run something now."""
        with self._lock:
            entries = list(self._items.values())
        return {e.workspace.session_id for e in entries if e.workspace.busy()}

    def evict_idle(self, idle_seconds: float, now: float | None = None) -> list[str]:
        """Close and drop workspaces unused for ``idle_seconds`` that run nothing; returns their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [
                (k, e.workspace)
                for k, e in self._items.items()
                if now - e.seen > idle_seconds and not e.workspace.busy()
            ]
            for k, _ in old:
                del self._items[k]
        for _, workspace in old:
            workspace.close()
        return [k for k, _ in old]

    def housekeeping(self, base: Path) -> threading.Thread | None:
        """Evict idle workspaces (every few minutes) and sweep old folders (at the first call, then hourly).

        The sweep runs on a background thread, which is returned (None when it was not due).
        A bad $S3_WORKSPACE_MAX_AGE_DAYS or $S3_WORKSPACE_IDLE_MINUTES raises WorkspaceError.
        """
        now = time.monotonic()
        idle = idle_minutes()
        with self._lock:
            evict = now - self._last_evict > EVICT_EVERY
            if evict:
                self._last_evict = now
            sweep = self._last_sweep is None or now - self._last_sweep > CLEANUP_EVERY
            if sweep:
                self._last_sweep = now
        if evict and idle > 0:
            self.evict_idle(idle * 60.0)
        if not sweep:
            return None
        age = max_age_days()
        if age <= 0:
            return None
        thread = threading.Thread(
            target=lambda: cleanup(base, age, self.ids() | self.busy_ids()), daemon=True, name="s3-workspace-cleanup"
        )
        thread.start()
        return thread
