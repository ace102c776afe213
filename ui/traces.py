"""Reading the session's run files: list them, and run SQL over any of them, live or finished.

A run this session still writes is read through its writer's own connection (DuckDB allows
one read-write opener per file); a finished run through a read-only connection cached per
session and file. Results of finished runs never change, so their queries are cached too.
A file that another process has open is listed as in use and read once that process is done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from s3core import cascade_tree as C
from s3core import scenario as S
from s3core import trace_queries as Q
from s3core.interventions import SeedPost
from s3core.trace_lock import TraceFileError, TraceInUse, connect

from .llm import CACHE_SUFFIX
from .session import Workspace


class _Reader:
    """A read-only DuckDB connection with a lock, as cursors must not be created concurrently."""

    def __init__(self, path: str):
        self.con = connect(path, read_only=True, hint=READ_HINT)
        self.lock = threading.Lock()

    def query(self, sql: str, params) -> pd.DataFrame:
        with self.lock:
            cur = self.con.cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()


@st.cache_resource(max_entries=64, show_spinner=False)
def _reader(session_id: str, path: str, stamp: tuple) -> _Reader:
    """A read-only connection to one finished run file of one session."""
    return _Reader(path)


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_query(session_id: str, path: str, stamp: tuple, sql: str, params: tuple) -> pd.DataFrame:
    return _reader(session_id, path, stamp).query(sql, params)


READ_HINT = "it can be read here once that process has finished"


def _stamp(path: Path) -> tuple:
    info = path.stat()
    return (info.st_size, info.st_mtime_ns)


def query(ws: Workspace, path: Path, sql: str, params=()) -> pd.DataFrame:
    """SQL over one run file of this session; a file that cannot be read ends the page with a warning."""
    try:
        return _query(ws, path, sql, params)
    except TraceFileError as exc:
        st.warning(str(exc), icon=":material/lock:")
        st.stop()


def _query(ws: Workspace, path: Path, sql: str, params=()) -> pd.DataFrame:
    """SQL over one run file of this session.

    Raises:
        TraceInUse: another process has the file open; TraceFileError: it is not a DuckDB file.
    """
    path = Path(path)
    live = ws.open_runs().get(path)
    if live is not None:
        out = live.query(sql, params)
        if out is not None:
            return out
    return _cached_query(ws.session_id, str(path), _stamp(path), sql, tuple(params)).copy()


@dataclass(frozen=True)
class RunInfo:
    """One run file of the session, as listed on the Compare and Traces pages."""

    path: Path
    run: str
    name: str
    network: str
    agents: int
    steps: int
    interventions: int
    created: str
    status: str
    minutes_per_step: float
    scenario_toml: str
    busy: str = ""  # why the file cannot be read now (another process has it open), else empty


def list_runs(ws: Workspace) -> list[RunInfo]:
    """Every run file in the session's folder with at least its metadata, oldest first."""
    out = []
    open_runs = ws.open_runs()
    for path in sorted(ws.run_dir.glob("*.duckdb")):
        if path.name.endswith(CACHE_SUFFIX):  # an LLM cache, held open read-write by LLM runs: never open it here
            continue
        run = open_runs.get(path)
        try:
            meta = dict(_query(ws, path, "SELECT key, value FROM run").itertuples(index=False))
            steps = _query(ws, path, "SELECT count(*) AS n FROM metrics")["n"].iloc[0]
        except TraceInUse as exc:
            who = f"process {exc.holder.pid}" if exc.holder and exc.holder.pid else "another process"
            out.append(
                RunInfo(
                    path=path,
                    run=path.stem,
                    name="?",
                    network="?",
                    agents=0,
                    steps=0,
                    interventions=0,
                    created="",
                    status=f"in use by {who}",
                    minutes_per_step=60.0,
                    scenario_toml="",
                    busy=str(exc),
                )
            )
            continue
        except (duckdb.Error, TraceFileError, OSError):
            continue  # a file being created right now, or not a trace: skip it
        if "scenario" not in meta:
            continue
        try:
            n_interventions = len(S.loads(meta["scenario"]).interventions)
        except S.ScenarioError:
            n_interventions = -1
        if run is not None:
            status = "running" if run.running else "live"
        else:
            status = closed_status(ws, path, int(steps), meta["scenario"])
        out.append(
            RunInfo(
                path=path,
                run=path.stem,
                name=meta.get("name", "?"),
                network=meta.get("network", "?"),
                agents=int(meta.get("agents", 0)),
                steps=int(steps),
                interventions=n_interventions,
                created=meta.get("created_utc", ""),
                status=status,
                minutes_per_step=float(meta.get("minutes_per_step", 60.0)),
                scenario_toml=meta["scenario"],
            )
        )
    return out


def count(n: int, noun: str) -> str:
    """``1 step``, ``2 steps``: a number with its noun in the right number."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def closed_status(ws: Workspace, path: Path, steps: int, scenario_toml: str) -> str:
    """What a closed trace records of its end: all planned steps, a stop with its checkpoint, or neither.

    A run stopped by the user (or by a time limit) ends its last step with a checkpoint and is closed;
    a process killed mid-run leaves its write-ahead log behind, or steps after the last checkpoint.
    """
    try:
        planned = S.loads(scenario_toml).steps
    except S.ScenarioError:
        planned = 0
    if planned and steps >= planned:
        return "finished"
    if path.with_name(path.name + ".wal").exists():  # closing folds the log into the file: its writer died
        return "unfinished (its process ended mid-run)"
    last = int(steps) - 1  # metrics rows are steps 0..steps-1
    checkpoint = -1
    for table in ("checkpoint_arrays", "checkpoints"):
        try:
            got = _query(ws, path, f"SELECT max(step) AS s FROM {table}")["s"].iloc[0]
        except duckdb.Error:
            continue  # an older trace without this table
        if pd.notna(got):
            checkpoint = max(checkpoint, int(got))
    if checkpoint >= last:  # also a run closed before its first step
        return f"stopped at step {steps} of {planned}" if planned else "stopped"
    return "unfinished (no final checkpoint)"


def runs_frame(runs: list[RunInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run": r.run,
                "scenario": r.name,
                "status": r.status,
                "steps": r.steps,
                "interventions": r.interventions,
                "network": r.network,
                "agents": r.agents,
                "created (UTC)": r.created,
            }
            for r in runs
        ]
    )


def metrics(ws: Workspace, path: Path) -> pd.DataFrame:
    """A run's metrics table, one row per step, with the emotion-density column."""
    df = query(ws, path, "SELECT * FROM metrics ORDER BY step")
    df["emotion_density"] = df["moderate"] + df["intense"]
    return df


def states_at(ws: Workspace, path: Path, step: int, agents: list[int]) -> pd.DataFrame:
    """aware, emotion and attitude of the given agents after ``step`` (initial values where unchanged)."""
    return query(
        ws,
        path,
        """
        WITH a AS (SELECT agent, initial_attitude FROM agents WHERE list_contains(?, agent)),
             s AS (SELECT agent, arg_max(aware, step) AS aware, arg_max(emotion, step) AS emotion,
                          arg_max(attitude, step) AS attitude
                   FROM states WHERE step <= ? AND list_contains(?, agent) GROUP BY agent)
        SELECT a.agent, coalesce(s.aware, false) AS aware, coalesce(s.emotion, 0) AS emotion,
               coalesce(s.attitude, a.initial_attitude) AS attitude
        FROM a LEFT JOIN s USING (agent) ORDER BY a.agent""",
        [agents, step, agents],
    )


def agent_history(ws: Workspace, path: Path, agent: int) -> pd.DataFrame:
    """One agent's state at step -1 (initial) and after every step where it changed."""
    return query(
        ws,
        path,
        """
        SELECT -1 AS step, false AS aware, 0 AS emotion, initial_attitude AS attitude FROM agents WHERE agent = ?
        UNION ALL
        SELECT step, aware, emotion, attitude FROM states WHERE agent = ? ORDER BY step""",
        [agent, agent],
    )


def cascade_inputs(ws: Workspace, run: RunInfo) -> tuple[pd.DataFrame, dict[int, str], pd.DataFrame | None]:
    """What the cascade view needs from one run: its posts, {seed root post id: seed name}, and its
    per-seed awareness rows (the ``seed_metrics`` table; None for a trace written before it existed).

    Seed names come from ``seed_metrics`` when the trace has it, else from the run's scenario (each
    seed post matched by its step and text); unnamed seeds are "#<index in the schedule>".
    """
    posts = query(ws, run.path, Q.CASCADE_POSTS)
    awareness = None
    if int(query(ws, run.path, Q.HAS_SEED_METRICS)["n"].iloc[0]):
        awareness = query(ws, run.path, Q.SEED_METRICS)
    if awareness is not None and len(awareness):
        named = awareness.drop_duplicates("root")
        return posts, {int(r): str(s) for r, s in zip(named["root"], named["seed"])}, awareness
    try:
        schedule = S.loads(run.scenario_toml).interventions
    except S.ScenarioError:
        return posts, C.seed_labels(posts), awareness
    seeds = [
        (item.name or f"#{i}", int(item.step), item.text)
        for i, item in enumerate(schedule)
        if isinstance(item, SeedPost)
    ]
    return posts, C.seeds_from_scenario(posts, seeds), awareness
