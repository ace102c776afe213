"""DuckDB traces: one file per run; steps are buffered and committed together with the checkpoint that ends them."""

from __future__ import annotations

import json
import platform
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from .keyed_random import GENERATOR, GENERATOR_VERSION
from .recording import StepRecord
from .state import PackedArrays, unpack
from .trace_lock import TraceFileError, TraceLock, connect
from .trace_rows import (
    CHECKPOINT_COLUMNS,
    SEED_METRIC_COLUMNS,
    insert,
    replace_checkpoint,
    seed_metric_table,
    step_tables,
    stored_array,
)

# DuckDB folds its WAL into the file once the WAL passes this (default 16 MB: at 1M agents, every commit).
WAL_THRESHOLD = "1GB"
SCHEMA = """
CREATE TABLE IF NOT EXISTS run (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS agents (agent INTEGER, user_id VARCHAR, age SMALLINT, gender TINYINT,
    occupation TINYINT, category TINYINT, initial_attitude TINYINT);
CREATE TABLE IF NOT EXISTS states (step INTEGER, agent INTEGER, aware BOOLEAN, emotion TINYINT, attitude TINYINT);
CREATE TABLE IF NOT EXISTS posts (post_id BIGINT, step INTEGER, author INTEGER, parent BIGINT, root BIGINT,
    action VARCHAR, stance VARCHAR, emotion VARCHAR, depth SMALLINT, text VARCHAR);
CREATE TABLE IF NOT EXISTS metrics (step INTEGER, minutes DOUBLE, aware BIGINT, new_aware BIGINT,
    calm DOUBLE, moderate DOUBLE, intense DOUBLE, positive DOUBLE, exposures BIGINT, exposed BIGINT,
    "ignore" BIGINT, repost BIGINT, quote BIGINT, post BIGINT, posts BIGINT, max_depth INTEGER,
    max_breadth BIGINT, fallbacks BIGINT);
CREATE TABLE IF NOT EXISTS breakdown (step INTEGER, dimension VARCHAR, grp INTEGER, agents BIGINT, aware BIGINT,
    positive DOUBLE, intense DOUBLE, mean_emotion DOUBLE);
CREATE TABLE IF NOT EXISTS seed_metrics (step INTEGER, seed VARCHAR, root BIGINT, aware BIGINT, new_aware BIGINT,
    posts BIGINT);
CREATE TABLE IF NOT EXISTS checkpoint_arrays ({checkpoint});
""".format(checkpoint=CHECKPOINT_COLUMNS)
METRIC_COLUMNS = (
    "step",
    "minutes",
    "aware",
    "new_aware",
    "calm",
    "moderate",
    "intense",
    "positive",
    "exposures",
    "exposed",
    "ignore",
    "repost",
    "quote",
    "post",
    "posts",
    "max_depth",
    "max_breadth",
    "fallbacks",
)
READ_HINT = "wait for it to finish, then read the trace again"
WRITE_HINT = "wait for it to finish or choose another --out"
STEP_TABLES = ("states", "posts", "metrics", "breakdown", "seed_metrics", "checkpoint_arrays", "checkpoints")


TRACED_PACKAGES = ("numpy", "pandas", "duckdb", "networkx", "scikit-learn", "pyarrow")


def package_versions(packages: tuple[str, ...] = TRACED_PACKAGES, absent: str = "missing") -> dict:
    """Python's version and each package's (``absent`` when it is not installed), recorded with every trace."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = absent
    return out


class TraceWriteError(RuntimeError):
    """A trace whose writer failed earlier: it ends before the failed write, and takes no more steps."""


class TraceStore:
    """A run's DuckDB file: metadata, agents, per-step changes, posts, metrics and the latest checkpoint.

    ``write_step`` buffers up to ``buffer_steps`` steps and commits them in one transaction with the
    checkpoint that ends them (a step with a checkpoint always ends a buffer), so a killed run keeps
    every committed checkpoint and every step before it; later steps may be lost, and resuming from
    the checkpoint redoes them. With ``background`` one writer thread commits while the caller
    computes the next steps (at most one write in flight); its error is raised by the next
    ``write_step``, ``flush`` or ``close``. Every read method, and ``con``, flushes first, so this
    store's readers see every step written. A cursor taken from ``con`` earlier sees committed steps
    only: that is every step written with the defaults (``buffer_steps=1``, no background), which
    the dashboard relies on.
    """

    def __init__(
        self,
        path: str | Path,
        read_only: bool = False,
        lock: TraceLock | None = None,
        buffer_steps: int = 1,
        background: bool = False,
    ):
        """Open a trace: read-only to read a recorded run, else for writing under the trace's lock.

        A writer takes ``lock`` (already held, e.g. by ``runner.open_run``) or acquires one, and
        releases it on ``close``.

        Raises:
            FileNotFoundError: read-only and there is no such file.
            TraceInUse: another process writes the file (read-only), or has it open at all (writing).
            TraceFileError: the file is not a trace.
        """
        self.path = Path(path)
        self.buffer_steps = max(1, int(buffer_steps))
        self._lock = None
        self._guard = threading.RLock()  # buffer, in-flight write and error
        self._pending: list[tuple[StepRecord, PackedArrays | None]] = []
        self._inflight: Future | None = None
        self._failed: BaseException | None = None
        self._executor = self._writer_con = None
        self._closed = False
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no such trace file")
            self._con = connect(self.path, read_only=True, hint=READ_HINT)
            if not {"run", "metrics"} <= self._tables():
                self._con.close()
                raise TraceFileError(f"{self.path} is a DuckDB file but not a trace (no run or metrics table)")
            self._committed = self._last_step()
            return
        own = lock or TraceLock(self.path).acquire()
        try:
            self._con = connect(self.path, read_only=False, hint=WRITE_HINT)
            self._con.execute(f"SET GLOBAL checkpoint_threshold = '{WAL_THRESHOLD}'")
            self._con.execute(SCHEMA)
            self._committed = self._last_step()
        except BaseException:
            if lock is None:
                own.release()
            raise
        self._lock = own
        if background:
            self._writer_con = self._con.cursor()  # DuckDB connections are not shared between threads
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-writer")

    @property
    def con(self):
        """The DuckDB connection, after every buffered step is committed (for SQL beside the store's own)."""
        self.flush()
        return self._con

    @property
    def committed_step(self) -> int:
        """The last step committed to the file (what a kill now would keep at most), without waiting."""
        return self._committed

    def close(self) -> None:
        """Commit what is buffered, wait for the writer, close (DuckDB folds its WAL into the file), unlock.

        Raises:
            Exception: a writer error no earlier call raised; the file is closed and unlocked all the same.
        """
        if self._closed:
            return
        try:
            with self._guard:
                try:
                    if self._failed is None:
                        self.flush()
                finally:
                    self._closed = True
                    if self._executor is not None:
                        self._executor.shutdown(wait=True)
                        self._writer_con.close()
        finally:
            self._con.close()
            if self._lock is not None:
                self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing -----------------------------------------------------------------------------
    def start(self, sim, scenario_toml: str) -> None:
        """Record the run's metadata and its agents (once, at step 0)."""
        meta = {
            "scenario": scenario_toml,
            "seed": str(sim.scenario.seed),
            "rng": f"{GENERATOR} v{GENERATOR_VERSION}",
            "name": sim.scenario.name,
            "network": sim.network.name,
            "agents": str(sim.network.n_users),
            "edges": str(sim.network.n_edges),
            "minutes_per_step": str(sim.scenario.minutes_per_step),
            "versions": json.dumps(package_versions()),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        pop = sim.population
        agents = pa.table(
            {
                "agent": np.arange(sim.network.n_users, dtype=np.int32),
                "user_id": sim.network.user_ids.astype(str),
                "age": pop.age,
                "gender": pop.gender,
                "occupation": pop.occupation,
                "category": pop.category.astype(np.int8),
                "initial_attitude": sim.state.attitude,
            }
        )
        with self.transaction():
            self._con.executemany("INSERT OR REPLACE INTO run VALUES (?, ?)", list(meta.items()))
            self._con.execute("DELETE FROM agents")
            insert(self._con, "agents", agents)

    def write_step(self, record: StepRecord, checkpoint: dict | None = None) -> None:
        """Buffer one step (changes, posts, metrics, breakdown), committed with the others once the buffer is full.

        A ``checkpoint`` (``Simulation.state_arrays()``, live arrays) is copied now and ends the
        buffer: it is committed in the same transaction as every step up to it, and replaces the
        previous one. The record's arrays are its own (``StepRecord`` is frozen) and are not copied.

        Raises:
            Exception: the error of an earlier write on the writer thread, not raised before.
            TraceWriteError: an earlier write failed (its error was raised then).
        """
        with self._guard:
            if self._closed:
                raise RuntimeError(f"{self.path}: the trace store is closed")
            self._check()
            self._pending.append((record, None if checkpoint is None else PackedArrays.of(checkpoint)))
            if checkpoint is not None or len(self._pending) >= self.buffer_steps:
                self._submit()

    def flush(self) -> None:
        """Commit every buffered step now and wait for the writer (raising its error, as ``write_step``)."""
        with self._guard:
            self._check()
            self._submit()
            self._wait()

    def _check(self) -> None:
        if self._failed is not None:
            raise TraceWriteError(
                f"{self.path}: an earlier trace write failed ({type(self._failed).__name__}: {self._failed}); "
                "the trace ends before it"
            ) from self._failed
        if self._inflight is not None and self._inflight.done():
            self._wait()

    def _submit(self) -> None:
        """Hand the buffer to the writer, once the write before it is done (one in flight at most)."""
        if not self._pending:
            return
        self._wait()
        batch, self._pending = self._pending, []
        if self._executor is not None:
            self._inflight = self._executor.submit(self._write, batch)
            return
        try:
            self._write(batch)
        except BaseException as exc:
            self._failed = exc
            raise

    def _wait(self) -> None:
        """Wait for the write in flight; an interrupt while waiting leaves it in flight (``close`` waits again)."""
        if self._inflight is None:
            return
        try:
            self._inflight.result()
        except Exception as exc:
            self._failed = exc
            raise
        finally:
            if self._inflight.done():
                self._inflight = None

    def _write(self, batch: list[tuple[StepRecord, PackedArrays | None]]) -> None:
        """One transaction: the batch's rows, one insert per table, and the checkpoint that ends it, if any."""
        con = self._writer_con or self._con
        tables = {name: [] for name in ("states", "posts", "breakdown")}
        for rec, _ in batch:
            for name, table in step_tables(rec).items():
                tables[name].append(table)
        metrics = [{"step": rec.step, "minutes": rec.minutes, **rec.metrics} for rec, _ in batch]
        seeds = seed_metric_table([rec for rec, _ in batch])
        last, checkpoint = batch[-1]
        with _Transaction(con):
            for name, parts in tables.items():
                insert(con, name, pa.concat_tables(parts, promote_options="permissive"))
            insert(con, "metrics", pa.table({k: [row[k] for row in metrics] for k in METRIC_COLUMNS}))
            if seeds.num_rows:
                insert(con, "seed_metrics", seeds)
            if checkpoint is not None:
                replace_checkpoint(con, last.step, checkpoint)
        self._committed = last.step

    def transaction(self):
        """BEGIN/COMMIT on ``con`` (after a flush): everything in the block, or nothing."""
        return _Transaction(self.con)

    # -- reading -----------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        return {r[0] for r in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    def _last_step(self) -> int:
        row = self._con.execute("SELECT max(step) FROM metrics").fetchone()
        return -1 if row[0] is None else int(row[0])

    def meta(self) -> dict:
        return dict(self.con.execute("SELECT key, value FROM run").fetchall())

    def last_step(self) -> int:
        """The last committed step, or -1 for an empty trace."""
        self.flush()
        return self._last_step()

    def latest_checkpoint(self) -> tuple[int, dict] | None:
        """The latest checkpoint's step and arrays, from either checkpoint format; None without one."""
        self.flush()
        tables, latest = self._tables(), {}
        for table in ("checkpoint_arrays", "checkpoints"):
            if table in tables:
                step = self._con.execute(f"SELECT max(step) FROM {table}").fetchone()[0]
                if step is not None:
                    latest[table] = int(step)
        if not latest:
            return None
        table = max(latest, key=latest.get)
        step = latest[table]
        if table == "checkpoints":  # a trace written before checkpoint_arrays: one .npz blob
            row = self._con.execute("SELECT data FROM checkpoints WHERE step = ? LIMIT 1", [step]).fetchone()
            return step, unpack(bytes(row[0]))
        rows = self._con.execute(
            "SELECT name, dtype, shape, codec, data FROM checkpoint_arrays WHERE step = ? ORDER BY seq", [step]
        ).fetchall()
        parts: dict[str, list] = {}
        for name, dtype, shape, codec, data in rows:
            parts.setdefault(name, [dtype, shape, codec]).append(data)
        return step, {name: stored_array(*spec) for name, spec in parts.items()}

    def truncate_after(self, step: int) -> None:
        """Drop everything recorded after ``step`` (used before resuming from a checkpoint)."""
        self.flush()
        tables = set(STEP_TABLES) & self._tables()
        with self.transaction():
            for table in STEP_TABLES:
                if table in tables:
                    self._con.execute(f"DELETE FROM {table} WHERE step > ?", [step])
        self._committed = min(self._committed, step)

    def metrics(self):
        return self.con.execute("SELECT * FROM metrics ORDER BY step").df()

    def seed_metrics(self):
        """Per step and seed post: seed, root, aware, new_aware, posts (``StepRecord.seed_metrics``), as a
        DataFrame ordered by step and root; empty (same columns) for a trace written before the table."""
        self.flush()
        if "seed_metrics" not in self._tables():
            import pandas as pd

            return pd.DataFrame({name: [] for name in SEED_METRIC_COLUMNS})
        return self._con.execute("SELECT * FROM seed_metrics ORDER BY step, root").df()

    def summary(self) -> dict:
        """The per-step curves as one JSON-ready object (what ``run --json`` prints)."""
        return summary_from_metrics(self.metrics())


def summary_from_metrics(df) -> dict:
    """aware counts, emotion shares and positive share among aware, and action counts per step."""
    return {
        "steps": [int(s) for s in df["step"]],
        "minutes": [float(m) for m in df["minutes"]],
        "aware": [int(a) for a in df["aware"]],
        "emotion": [
            {"calm": round(float(c), 6), "moderate": round(float(m), 6), "intense": round(float(i), 6)}
            for c, m, i in zip(df["calm"], df["moderate"], df["intense"])
        ],
        "attitude": [round(float(p), 6) for p in df["positive"]],
        "actions": [{a: int(row[a]) for a in ("ignore", "repost", "quote", "post")} for _, row in df.iterrows()],
    }


class _Transaction:
    """BEGIN/COMMIT around a block; ROLLBACK if it raises, so a step is all or nothing."""

    def __init__(self, con):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type, *rest):
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
