"""DuckDB traces: one file per run, each step committed in one transaction with its checkpoint."""

from __future__ import annotations

import json
import platform
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from .keyed_random import GENERATOR, GENERATOR_VERSION
from .recording import StepRecord
from .state import pack, unpack
from .trace_lock import TraceExists, TraceFileError, TraceInUse, TraceLock, connect
from .types import Action, Attitude, Emotion

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
CREATE TABLE IF NOT EXISTS checkpoints (step INTEGER, data BLOB);
"""
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
STEP_TABLES = ("states", "posts", "metrics", "breakdown", "checkpoints")
_NAMES = {
    "action": [a.name.lower() for a in Action],
    "stance": [a.name.lower() for a in Attitude],
    "emotion": [e.name.lower() for e in Emotion],
}


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


class TraceStore:
    """A run's DuckDB file: metadata, agents, per-step changes, posts, metrics and checkpoints."""

    def __init__(self, path: str | Path, read_only: bool = False, lock: TraceLock | None = None):
        """Open a trace: read-only to read a recorded run, else for writing under the trace's lock.

        A writer takes ``lock`` (already held, e.g. by ``runner.open_run``) or acquires one, and
        releases it on ``close``.

        Raises:
            FileNotFoundError: read-only and there is no such file.
            TraceInUse: another process writes the file (read-only), or has it open at all (writing).
            TraceFileError: the file is not a trace.
        """
        self.path = Path(path)
        self._lock = None
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no such trace file")
            self.con = connect(self.path, read_only=True, hint=READ_HINT)
            tables = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            if not {"run", "metrics"} <= tables:
                self.con.close()
                raise TraceFileError(f"{self.path} is a DuckDB file but not a trace (no run or metrics table)")
            return
        own = lock or TraceLock(self.path).acquire()
        try:
            self.con = connect(self.path, read_only=False, hint=WRITE_HINT)
            self.con.execute(SCHEMA)
        except BaseException:
            if lock is None:
                own.release()
            raise
        self._lock = own

    def close(self) -> None:
        """Close the connection (DuckDB folds its WAL into the file), then give up the trace's lock."""
        try:
            self.con.close()
        finally:
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
            self.con.executemany("INSERT OR REPLACE INTO run VALUES (?, ?)", list(meta.items()))
            self.con.execute("DELETE FROM agents")
            self._insert("agents", agents)

    def write_step(self, record: StepRecord, checkpoint: dict | None = None) -> None:
        """Commit one step (changes, posts, metrics, breakdown and optionally a checkpoint) atomically."""
        c, p, b = record.changes, record.posts, record.breakdown
        with self.transaction():
            self._insert(
                "states",
                pa.table(
                    {
                        "step": np.full(len(c["agent"]), record.step, np.int32),
                        "agent": c["agent"].astype(np.int32),
                        "aware": c["aware"],
                        "emotion": c["emotion"],
                        "attitude": c["attitude"],
                    }
                ),
            )
            self._insert(
                "posts",
                pa.table(
                    {
                        "post_id": p["post_id"],
                        "step": np.full(len(p["post_id"]), record.step, np.int32),
                        "author": p["author"],
                        "parent": p["parent"].astype(np.int64),
                        "root": p["root"].astype(np.int64),
                        "action": pa.array(np.asarray(_NAMES["action"])[p["action"]])
                        if len(p["post_id"])
                        else pa.array([], pa.string()),
                        "stance": pa.array(np.asarray(_NAMES["stance"])[p["stance"]])
                        if len(p["post_id"])
                        else pa.array([], pa.string()),
                        "emotion": pa.array(np.asarray(_NAMES["emotion"])[p["emotion"]])
                        if len(p["post_id"])
                        else pa.array([], pa.string()),
                        "depth": p["depth"],
                        "text": pa.array(p["text"], pa.string()),
                    }
                ),
            )
            row = {"step": record.step, "minutes": record.minutes, **record.metrics}
            self.con.execute(
                f"INSERT INTO metrics VALUES ({', '.join('?' * len(METRIC_COLUMNS))})", [row[k] for k in METRIC_COLUMNS]
            )
            self._insert(
                "breakdown",
                pa.table(
                    {
                        "step": np.full(len(b["group"]), record.step, np.int32),
                        "dimension": b["dimension"],
                        "grp": b["group"],
                        "agents": b["agents"],
                        "aware": b["aware"],
                        "positive": b["positive"],
                        "intense": b["intense"],
                        "mean_emotion": b["mean_emotion"],
                    }
                ),
            )
            if checkpoint is not None:
                self.con.execute("DELETE FROM checkpoints")
                self.con.execute("INSERT INTO checkpoints VALUES (?, ?)", [record.step, pack(checkpoint)])

    def _insert(self, table: str, data: pa.Table) -> None:
        self.con.register("_incoming", data)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
        finally:
            self.con.unregister("_incoming")

    def transaction(self):
        return _Transaction(self.con)

    # -- reading -----------------------------------------------------------------------------
    def meta(self) -> dict:
        return dict(self.con.execute("SELECT key, value FROM run").fetchall())

    def last_step(self) -> int:
        """The last committed step, or -1 for an empty trace."""
        row = self.con.execute("SELECT max(step) FROM metrics").fetchone()
        return -1 if row[0] is None else int(row[0])

    def latest_checkpoint(self) -> tuple[int, dict] | None:
        row = self.con.execute("SELECT step, data FROM checkpoints ORDER BY step DESC LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), unpack(bytes(row[1])))

    def truncate_after(self, step: int) -> None:
        """Drop everything recorded after ``step`` (used before resuming from a checkpoint)."""
        with self.transaction():
            for table in STEP_TABLES:
                self.con.execute(f"DELETE FROM {table} WHERE step > ?", [step])

    def metrics(self):
        return self.con.execute("SELECT * FROM metrics ORDER BY step").df()

    def summary(self) -> dict:
        """The per-step curves as one JSON-ready object (what ``run --json`` prints)."""
        return summary_from_metrics(self.metrics())


def recorded_run(path: str | Path) -> str | None:
    """What an existing file at ``path`` holds, in words, or None when there is nothing to lose.

    Opens the file read-write, so it also fails while any other process has it open.

    Raises:
        TraceInUse: another process has the file open.
        TraceExists: the file exists but is not a trace (it is never replaced).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        con = connect(path, read_only=False, hint=WRITE_HINT)
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
