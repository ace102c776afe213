"""Run a scenario into a trace file, with checkpoints and exact resume."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from . import scenario as S
from .engine import Simulation
from .recording import StepRecord
from .trace import WRITE_HINT, TraceStore
from .trace_lock import TraceExists, TraceLock, recorded_run


class ResumeError(ValueError):
    """A trace that cannot be resumed with the given scenario."""


def prepare_out(out: str | Path, resume: bool = False, replace: bool = False) -> str | None:
    """Check that a run may write ``out`` now; with ``replace``, delete the run it holds.

    Nothing another process has open is ever touched, and a recorded run is kept unless
    ``resume`` (continue it) or ``replace`` (delete it) says otherwise. Returns the replaced
    run in words, or None.

    Raises:
        TraceInUse: another process has ``out`` open; the message names it.
        TraceExists: ``out`` holds a recorded run (and neither flag is given), or is not a trace.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with TraceLock(out).acquire(WRITE_HINT):
        return _clear(out, resume, replace)


def _clear(out: Path, resume: bool, replace: bool) -> str | None:
    """Under ``out``'s lock: keep a recorded run to resume, refuse to replace one unasked, else remove it."""
    existing = recorded_run(out, WRITE_HINT)
    if existing is not None:
        if resume:
            return None
        if not replace:
            raise TraceExists(
                f"{out} already holds {existing}; pass --force to replace it, --resume to continue it, "
                "or choose another --out"
            )
    for leftover in (out, out.with_name(out.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    return existing


def open_run(
    scenario: S.Scenario,
    out: str | Path,
    resume: bool = False,
    sim: Simulation | None = None,
    replace: bool = False,
    buffer_steps: int = 1,
    background: bool = False,
) -> tuple[Simulation, TraceStore]:
    """A simulation and its trace store, fresh or continued from the trace's latest checkpoint.

    The store holds ``out``'s lock until it is closed, so no other run can write or delete it meanwhile.
    ``buffer_steps`` and ``background`` are the store's (``TraceStore``): the defaults commit every
    step before ``record`` returns, for callers that read the trace while it is written (the dashboard).

    Raises:
        TraceInUse: another process has ``out`` open.
        TraceExists: ``out`` holds a recorded run and neither ``resume`` nor ``replace`` is given.
        ResumeError: ``resume`` onto a trace of a different scenario or seed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = TraceLock(out).acquire(WRITE_HINT)
    try:
        _clear(out, resume, replace)
        store = TraceStore(out, lock=lock, buffer_steps=buffer_steps, background=background)
    except BaseException:
        lock.release()
        raise
    try:
        scenario_toml = S.dumps(scenario)
        recorded = store.meta().get("scenario")
        if resume and recorded is not None and recorded != scenario_toml:
            raise ResumeError(_resume_mismatch(out, S.loads(recorded), scenario))
        sim = sim or Simulation(scenario)
        checkpoint = store.latest_checkpoint() if resume else None
        if recorded is None or checkpoint is None:
            store.truncate_after(-1)
            store.start(sim, scenario_toml)
        else:
            step, arrays = checkpoint
            store.truncate_after(step)
            sim.restore(arrays)
        return sim, store
    except BaseException:
        store.close()
        raise


def record(sim: Simulation, store: TraceStore, rec: StepRecord, last_step: int) -> None:
    """Write a step, with a checkpoint every ``checkpoint_every`` steps and at the end.

    An LLM backend's calls go beside it through ``store.con``, which commits the buffered steps first.
    """
    every = sim.scenario.run.checkpoint_every
    due = (rec.step + 1) % every == 0 or rec.step == last_step
    store.write_step(rec, sim.state_arrays() if due else None)
    if hasattr(sim.policy, "write_trace"):  # LLM backends log their calls beside the step
        sim.policy.write_trace(store.con)


def _resume_mismatch(out: Path, recorded: S.Scenario, wanted: S.Scenario) -> str:
    """Why a trace cannot be resumed with ``wanted``, naming what differs."""
    plain_a, plain_b = S.to_dict(recorded), S.to_dict(wanted)
    differ = [k for k in plain_b if plain_a.get(k) != plain_b.get(k)]
    if differ and set(differ) <= {"steps", "interventions"} and recorded.steps != wanted.steps:
        return (
            f"{out} was recorded with steps = {recorded.steps}; resume with --steps {recorded.steps} "
            "(a recorded run cannot be lengthened: run again to a new --out)"
        )
    return (
        f"{out} was recorded with a different {', '.join(differ) or 'scenario'}; resume with the same "
        "scenario and seed, or write to a new --out"
    )


def run_to_trace(
    scenario: S.Scenario,
    out: str | Path,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    sim: Simulation | None = None,
    replace: bool = False,
) -> dict:
    """Run ``scenario.steps`` steps (continuing a resumed trace) and return the run's curves.

    Steps are committed a checkpoint interval at a time by the store's writer thread while the next
    ones compute, so a kill loses at most the steps after the last committed checkpoint (resume
    redoes them). ``progress`` counts committed steps: what a kill at that moment would keep.

    Raises:
        TraceInUse, TraceExists, ResumeError: as ``open_run``.
    """
    every = scenario.run.checkpoint_every
    sim, store = open_run(scenario, out, resume=resume, sim=sim, replace=replace, buffer_steps=every, background=True)
    try:
        last = scenario.steps - 1
        started = time.perf_counter()
        shown = sim.step_index
        while sim.step_index <= last:
            rec = sim.step()
            record(sim, store, rec, last)
            shown = _show_progress(progress, store.committed_step + 1, shown, scenario.steps, started)
        store.flush()
        _show_progress(progress, store.committed_step + 1, shown, scenario.steps, started)
        return store.summary()
    finally:
        store.close()


def _show_progress(progress, done: int, shown: int, total: int, started: float) -> int:
    """Report ``done`` steps if that is more than ``shown``; returns the steps reported so far."""
    if progress is not None and done > shown:
        progress(done, total, time.perf_counter() - started)
        return done
    return shown


def stderr_progress(done: int, total: int, elapsed: float) -> None:
    """Progress on stderr: a redrawn bar on a terminal, one line per step otherwise (for logs)."""
    width = 30
    filled = int(width * done / max(total, 1))
    rate = elapsed / max(done, 1)
    write_progress(f"step {done}/{total} [{'#' * filled}{'.' * (width - filled)}] {rate:.2f} s/step", done, total)


def write_progress(line: str, done: int, total: int) -> None:
    """One progress line on stderr: redrawn in place on a terminal, one line each otherwise (for logs)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
