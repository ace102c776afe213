"""Run an experiment's arms over its seeds, paired, on a backend (``executors``), into one DuckDB file.

Each task is one seed: its first arm builds the network and population, and every other arm of
that seed runs on the same ones (common random numbers), so arms differ only by their changes.
Workers return curves; the parent alone writes ``OUT_DIR/experiment.duckdb``, one transaction per
seed, so a killed experiment keeps every finished seed and ``resume`` skips them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from ..resources import TextResources
from ..runner import write_progress
from ..trace_lock import TraceExists, TraceFileError, TraceLock, connect
from . import effects as E
from .executors import check_backend, task_results
from .seed_runs import ArmRun
from .spec import OUTCOMES, Experiment

FILE_NAME = "experiment.duckdb"
HINT = "wait for it to finish or choose another --out"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (arm VARCHAR, seed BIGINT, steps INTEGER, agents BIGINT, seconds DOUBLE,
    {", ".join(f"{o} DOUBLE" for o in OUTCOMES)}, PRIMARY KEY (arm, seed));
CREATE TABLE IF NOT EXISTS curves (arm VARCHAR, seed BIGINT, step INTEGER, minutes DOUBLE, aware DOUBLE,
    emotion_density DOUBLE, positive DOUBLE);
CREATE TABLE IF NOT EXISTS group_curves (arm VARCHAR, seed BIGINT, dimension VARCHAR, grp INTEGER, agents BIGINT,
    step INTEGER, aware DOUBLE, emotion_density DOUBLE, positive DOUBLE);
CREATE TABLE IF NOT EXISTS effects (arm VARCHAR, outcome VARCHAR, mean DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n INTEGER);
CREATE TABLE IF NOT EXISTS group_effects (arm VARCHAR, dimension VARCHAR, grp INTEGER, group_name VARCHAR,
    outcome VARCHAR, mean DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n INTEGER);
"""


class ExperimentResumeError(TraceFileError):
    """An experiment file that holds runs of a different experiment."""


def stderr_progress(done: int, total: int) -> None:
    """``experiment: runs done/total`` on stderr, redrawn on a terminal, one line each otherwise."""
    write_progress(f"experiment: runs {done}/{total}", done, total)


def _holds(con: duckdb.DuckDBPyConnection) -> tuple[set[str], dict]:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall()) if "meta" in tables else {}
    return tables, meta


def _prepare(path: Path, experiment: Experiment, resume: bool, force: bool) -> tuple[set, str | None]:
    """Under the file's lock: the (arm, seed) runs to keep, and what ``force`` replaced, in words.

    Raises:
        TraceExists: the file holds runs and neither flag is given, or is not an experiment file.
        ExperimentResumeError: ``resume`` onto runs of a different experiment.
    """
    if not path.exists() or path.stat().st_size == 0:
        return set(), None
    con = connect(path, read_only=False, hint=HINT)
    try:
        tables, meta = _holds(con)
        if tables and meta.get("kind") != "experiment":
            raise TraceExists(f"{path} is a DuckDB file but not an experiment; choose another --out")
        done = set(con.execute("SELECT arm, seed FROM runs").fetchall()) if "runs" in tables else set()
    finally:
        con.close()
    held = f"{len(done)} runs of experiment '{meta.get('name', '?')}' (created {meta.get('created_utc', '?')})"
    if done and resume:
        if meta.get("fingerprint") != experiment.fingerprint():
            raise ExperimentResumeError(
                f"{path} holds runs of a different experiment ("
                f"{fingerprint_difference(meta.get('fingerprint'), experiment.fingerprint())}); "
                "resume with the same experiment, or choose another --out"
            )
        return done, None
    if done and not force:
        raise TraceExists(
            f"{path} already holds {held}; pass --resume to continue it, --force to replace it, or choose another --out"
        )
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return set(), held if done else None


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: dict) -> None:
    con.register("batch", pd.DataFrame(frame))
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM batch")
    con.unregister("batch")


def fingerprint_difference(stored: str | None, now: str) -> str:
    """What differs between a stored experiment fingerprint and this one, in words (e.g. "arm 'b' differs")."""
    try:
        old, new = json.loads(stored or ""), json.loads(now)
    except ValueError:
        return "the file does not record which experiment it holds"
    found = [
        f"{key} {old.get(key)} then, {new.get(key)} now"
        for key in ("steps", "outcomes_from_step")
        if old.get(key) != new.get(key)
    ]
    arms_then, arms_now = old.get("arms", {}), new.get("arms", {})
    found += [f"arm {a!r} is new" for a in arms_now if a not in arms_then]
    found += [f"arm {a!r} is gone" for a in arms_then if a not in arms_now]
    found += [
        f"arm {a!r} changed (its scenario, branch step or model)"
        for a in arms_now
        if a in arms_then and arms_then[a] != arms_now[a]
    ]
    return "; ".join(found) or "its arms differ"


def _write(con: duckdb.DuckDBPyConnection, runs: list[ArmRun], from_step: int) -> None:
    """One seed's runs, curves and group curves in one transaction: a run is in the file whole or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        for r in runs:
            values = E.outcomes(r.minutes, r.aware, r.emotion_density, r.positive, from_step)
            con.execute(
                f"INSERT INTO runs VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(OUTCOMES))})",
                [r.arm, r.seed, len(r.aware), r.agents, r.seconds, *(values[o] for o in OUTCOMES)],
            )
            steps = len(r.aware)
            _insert(
                con,
                "curves",
                {
                    "arm": [r.arm] * steps,
                    "seed": np.full(steps, r.seed),
                    "step": np.arange(steps, dtype=np.int32),
                    "minutes": r.minutes,
                    "aware": r.aware,
                    "emotion_density": r.emotion_density,
                    "positive": r.positive,
                },
            )
            groups = len(r.group_code)
            _insert(
                con,
                "group_curves",
                {
                    "arm": [r.arm] * (steps * groups),
                    "seed": np.full(steps * groups, r.seed),
                    "dimension": np.tile(np.array(r.group_dimension, dtype=object), steps),
                    "grp": np.tile(r.group_code, steps).astype(np.int32),
                    "agents": np.tile(r.group_agents, steps),
                    "step": np.repeat(np.arange(steps, dtype=np.int32), groups),
                    "aware": r.group_aware.ravel(),
                    "emotion_density": r.group_emotion_density.ravel(),
                    "positive": r.group_positive.ravel(),
                },
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _start(con: duckdb.DuckDBPyConnection, experiment: Experiment) -> None:
    con.execute(SCHEMA)
    if not con.execute("SELECT count(*) FROM meta").fetchone()[0]:
        rows = {
            "kind": "experiment",
            "name": experiment.name,
            "fingerprint": experiment.fingerprint(),
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(rows.items()))


def _task(experiment: Experiment, seed: int, done: set) -> tuple:
    """The arms of ``seed`` still to run, with the baseline first whenever one of them branches from it."""
    todo = tuple(a for a in experiment.arms if (a.name, seed) not in done)
    if any(a.from_step for a in todo) and todo[0] is not experiment.baseline:
        todo = (experiment.baseline, *todo)
    return todo, seed


def run_experiment(
    experiment: Experiment,
    out_dir: str | Path,
    workers: int = 1,
    backend: str = "local",
    resume: bool = False,
    force: bool = False,
    progress: Callable[[int, int], None] | None = stderr_progress,
    text: TextResources | None = None,
    on_replace: Callable[[str], None] | None = None,
) -> dict:
    """Run every (arm, seed) not yet in ``OUT_DIR/experiment.duckdb`` and return the report (``effects.summarize``).

    Raises:
        ValueError: ``out_dir`` is a file (or a new path ending in .duckdb); a backend that cannot run here.
        TraceInUse: another process has the file open.
        TraceExists: the file holds runs and neither ``resume`` nor ``force`` is given.
        ExperimentResumeError: ``resume`` onto a different experiment's runs.
    """
    check_backend(backend)  # before the file is touched: --force must not delete runs it cannot replace
    out_dir = Path(out_dir)
    if out_dir.is_file() or (out_dir.suffix == ".duckdb" and not out_dir.exists()):
        raise ValueError(
            f"--out {out_dir} names a file; --out is the folder that holds {FILE_NAME} "
            f"(e.g. --out {out_dir.with_suffix('')})"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    with TraceLock(path).acquire(HINT):
        done, replaced = _prepare(path, experiment, resume, force)
        if replaced and on_replace:
            on_replace(f"replacing {path}: it held {replaced}")
        tasks = [t for t in (_task(experiment, seed, done) for seed in experiment.seeds) if t[0]]
        total = len(experiment.arms) * len(experiment.seeds)
        finished = sum((a.name, seed) in done for a in experiment.arms for seed in experiment.seeds)
        with task_results(tasks, workers, backend, text) as results:
            con = connect(path, read_only=False, hint=HINT)  # opened after the workers have started
            try:
                _start(con, experiment)
                if progress:
                    progress(finished, total)
                for runs in results:
                    runs = [r for r in runs if (r.arm, r.seed) not in done]  # a baseline rerun for its branches
                    _write(con, runs, experiment.outcomes_from_step)
                    finished += len(runs)
                    if progress:
                        progress(finished, total)
                report = E.summarize(
                    experiment, con.execute("SELECT * FROM curves").df(), con.execute("SELECT * FROM group_curves").df()
                )
                con.execute("BEGIN TRANSACTION")
                for table, rows in (("effects", E.effect_rows(report)), ("group_effects", E.group_effect_rows(report))):
                    con.execute(f"DELETE FROM {table}")
                    if rows:
                        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
                con.execute("COMMIT")
            finally:
                con.close()
    return report
