"""Run a scenario into a trace file, with checkpoints and exact resume."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from . import scenario as S
from .engine import Simulation
from .recording import StepRecord
from .trace import TraceStore


class ResumeError(ValueError):
    """A trace that cannot be resumed with the given scenario."""


def open_run(scenario: S.Scenario, out: str | Path, resume: bool = False, sim: Simulation | None = None) -> tuple[Simulation, TraceStore]:
    """A simulation and its trace store, fresh or continued from the trace's latest checkpoint."""
    out = Path(out)
    scenario_toml = S.dumps(scenario)
    if resume and out.exists():
        store = TraceStore(out)
        recorded = store.meta().get("scenario")
        if recorded is not None and recorded != scenario_toml:
            store.close()
            raise ResumeError(f"{out} was recorded with a different scenario or seed; resume with the same scenario, or write to a new --out")
        sim = sim or Simulation(scenario)
        checkpoint = store.latest_checkpoint()
        if recorded is None or checkpoint is None:
            store.truncate_after(-1)
            store.start(sim, scenario_toml)
        else:
            step, arrays = checkpoint
            store.truncate_after(step)
            sim.restore(arrays)
        return sim, store
    if out.exists():
        out.unlink()
    wal = out.with_name(out.name + ".wal")
    if wal.exists():
        wal.unlink()
    sim = sim or Simulation(scenario)
    store = TraceStore(out)
    store.start(sim, scenario_toml)
    return sim, store


def record(sim: Simulation, store: TraceStore, rec: StepRecord, last_step: int) -> None:
    """Commit a step, with a checkpoint every ``checkpoint_every`` steps and at the end."""
    every = sim.scenario.run.checkpoint_every
    due = (rec.step + 1) % every == 0 or rec.step == last_step
    store.write_step(rec, sim.state_arrays() if due else None)
    if hasattr(sim.policy, "write_trace"):  # LLM backends log their calls beside the step
        sim.policy.write_trace(store.con)


def run_to_trace(
    scenario: S.Scenario,
    out: str | Path,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    sim: Simulation | None = None,
) -> dict:
    """Run ``scenario.steps`` steps (continuing a resumed trace) and return the run's curves."""
    sim, store = open_run(scenario, out, resume=resume, sim=sim)
    try:
        last = scenario.steps - 1
        started = time.perf_counter()
        while sim.step_index <= last:
            rec = sim.step()
            record(sim, store, rec, last)
            if progress is not None:
                progress(sim.step_index, scenario.steps, time.perf_counter() - started)
        return store.summary()
    finally:
        store.close()


def stderr_progress(done: int, total: int, elapsed: float) -> None:
    """Progress on stderr: a redrawn bar on a terminal, one line per step otherwise (for logs)."""
    width = 30
    filled = int(width * done / max(total, 1))
    rate = elapsed / max(done, 1)
    line = f"step {done}/{total} [{'#' * filled}{'.' * (width - filled)}] {rate:.2f} s/step"
    if sys.stderr.isatty():
        sys.stderr.write("\r" + line + ("\n" if done >= total else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
