"""One traced run owned by one browser session: its simulation, its DuckDB writer and its stepping thread.

Long runs step in a background thread so the page never freezes; the thread checks a stop flag
before every step, so Stop takes effect within one step. The thread paces itself to a speed
(steps per second, or as fast as possible) and can be paused and resumed, as NetLogo's and
Mesa's play controls do; speed and pause take effect at the next step.

Each step is simulated and handed to the trace under one lock, so the trace never disagrees with
the simulation. A fast run hands its steps to the trace's writer thread and commits them together
at most ``COMMIT_SECONDS`` apart (with a checkpoint when the scenario's ``checkpoint_every`` has
passed), so a step costs the model's time rather than a DuckDB transaction; a Step, a pause, a
Stop and the end of a run commit at once. Pages read the live model only through ``inspect``
(under that lock), the in-memory records, or the trace (committed steps).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from pathlib import Path

import pandas as pd

from s3core import agent_view, runner
from s3core.engine import Simulation
from s3core.recording import StepRecord
from s3core.state import OFFICIAL
from s3core.types import Action, Attitude, Emotion

from .networks import LoadedNetwork

FEED_SIZE = 200  # newest posts kept in memory for the live feed
COMMIT_SECONDS = 0.2  # a fast run's steps are committed together at most this far apart
DRAW_HOLD_SECONDS = 0.3  # the longest the stepping thread waits for a page drawing this run
SPEEDS = (1, 2, 5, 10, 20, 50, None)
METRIC_COLUMNS = ["step", "minutes", "aware", "new_aware", "calm", "moderate", "intense", "positive"]
METRIC_COLUMNS += [
    "repost",
    "quote",
    "post",
    "posts",
    "recorded",
]  # steps per second offered by the speed control; None = as fast as possible


class LiveRun:
    """A run in progress: step it, run N steps in the background, stop it, read it."""

    def __init__(self, sim: Simulation, path: Path, label: str, net: LoadedNetwork):
        self.sim = sim
        self.path = Path(path)
        self.label = label
        self.net = net  # the network this run uses (the session may load another meanwhile)
        self.store = None
        self.metrics: list[dict] = []
        self.seed_rows: list[dict] = []  # per seed post and step: seed, root, aware, new_aware, posts
        self._frame = pd.DataFrame(columns=METRIC_COLUMNS)  # metrics as a frame, extended as steps come
        self.feed: deque[dict] = deque(maxlen=FEED_SIZE)
        self.error: str | None = None
        self.target = 0
        self._batch = 0
        self.step_seconds = 0.0
        self.failed: str | None = None
        self._lock = threading.RLock()  # guards sim and store writes (held for a whole step)
        self._records_lock = (
            threading.Lock()
        )  # guards the in-memory records, so polling never waits for a slow (LLM) step
        self._read_lock = threading.Lock()  # guards the reader cursor
        self._reader = None
        self._last_commit = 0.0  # perf_counter of the last commit
        self._since_checkpoint = 0  # steps recorded since the last checkpoint
        self._stop = threading.Event()
        self._wake = threading.Condition()  # notified on stop, pause, resume and speed changes
        self._paused = False
        self._drawing = 0  # pages drawing this run now (they get the interpreter between steps)
        self._speed: float | None = None  # steps per second; None = as fast as possible
        self._thread: threading.Thread | None = None
        self.closed = False

    # -- state -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float | None:
        """Steps per second the stepping thread keeps to; None = as fast as possible."""
        return self._speed

    def set_speed(self, steps_per_second: float | None) -> None:
        """Pace the run (also while it runs); None or 0 = as fast as possible.

        Raises:
            ValueError: a negative speed.
        """
        if steps_per_second is not None and steps_per_second < 0:
            raise ValueError(f"speed must be 0 or more steps per second, got {steps_per_second}")
        with self._wake:
            self._speed = float(steps_per_second) if steps_per_second else None
            self._wake.notify_all()

    @contextlib.contextmanager
    def drawing(self):
        """Hold the stepping thread between steps (at most ``DRAW_HOLD_SECONDS``) while a page draws this run.

        Python runs one thread at a time: a run at full speed would otherwise take about half of
        the interpreter from the page and make each redraw two to three times slower.
        """
        with self._wake:
            self._drawing += 1
        try:
            yield self
        finally:
            with self._wake:
                self._drawing -= 1
                self._wake.notify_all()

    def pause(self) -> None:
        """Hold the run before its next step (the step in flight finishes); ``resume`` continues it."""
        with self._wake:
            self._paused = True
            self._wake.notify_all()

    def resume(self) -> None:
        with self._wake:
            self._paused = False
            self._wake.notify_all()

    @property
    def steps_done(self) -> int:
        return len(self.metrics)

    @property
    def has_trace(self) -> bool:
        return self.store is not None

    def progress(self) -> tuple[int, int]:
        """(steps done in the current Run, steps asked for)."""
        return max(0, self.steps_done - (self.target - self._batch)), self._batch

    # -- stepping --------------------------------------------------------------------------
    def _ensure_store(self) -> None:
        if self.store is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.sim, self.store = runner.open_run(self.sim.scenario, self.path, sim=self.sim, background=True)
            self._reader = self.store.con.cursor()

    def _record(self, rec: StepRecord, last_step: int, commit: bool) -> None:
        """Hand a step to the trace; ``commit`` ends the buffered steps' transaction, with a checkpoint when due.

        A checkpoint is written when the scenario's ``checkpoint_every`` steps have passed since the
        last one, at the planned end and where a Stop lands, always at a commit (it ends a transaction).
        """
        self._since_checkpoint += 1
        end = rec.step >= last_step or self._stop.is_set()
        checkpoint = None
        if commit and (end or self._since_checkpoint >= self.sim.scenario.run.checkpoint_every):
            checkpoint = self.sim.state_arrays()
            self._since_checkpoint = 0
        self.store.buffer_steps = 1 if commit else 1 << 30  # the store submits its buffer when it is full
        self.store.write_step(rec, checkpoint)
        if hasattr(self.sim.policy, "write_trace"):  # LLM backends log their calls beside the step (commits)
            self.sim.policy.write_trace(self.store.con)
        if commit:
            self._last_commit = time.perf_counter()

    def _flush(self) -> None:
        """Commit every step handed to the trace (a pause, the end of a run)."""
        with self._lock:
            if self.store is not None and not self.closed and not self.failed:
                try:
                    self.store.flush()
                except Exception as exc:
                    self.failed = f"{type(exc).__name__} writing the trace: {exc}"
                    raise

    def _advance(self, last_step: int, commit: bool = False) -> StepRecord:
        with self._lock:
            if self.closed:
                raise RuntimeError("this run was closed (Reset); start a new one")
            if self.failed:
                raise RuntimeError(f"this run failed earlier ({self.failed}); press Reset to start a new one")
            try:
                self._ensure_store()
                started = time.perf_counter()
                rec = self.sim.step()
                commit = (
                    commit
                    or rec.step >= last_step
                    or self._stop.is_set()
                    or self._paused
                    or time.perf_counter() - self._last_commit >= COMMIT_SECONDS
                )
                self._record(rec, last_step, commit)
            except Exception as exc:  # model and trace may now disagree: refuse further steps
                self.failed = f"{type(exc).__name__} at step {self.sim.step_index}: {exc}"
                raise
            self.step_seconds = time.perf_counter() - started
            seeds = getattr(rec, "seed_metrics", None) or []  # per seed post, from engines that report it
            with self._records_lock:
                self.metrics.append({"step": rec.step, "minutes": rec.minutes, **rec.metrics, "recorded": time.time()})
                self.seed_rows.extend({"step": rec.step, **row} for row in seeds)
                self._add_to_feed(rec)
        return rec

    def step(self) -> StepRecord:
        """One step now, in the caller's thread (the Step button); allowed while a run is paused."""
        if self.running and not self._paused:
            raise RuntimeError("a run is in progress; Pause or Stop it first")
        self._stop.clear()
        rec = self._advance(self.sim.step_index, commit=True)
        self._flush()  # the page reads the trace right after a Step
        return rec

    def start(self, n: int, on_done=None) -> None:
        """Run ``n`` steps in a background thread; ``on_done(self)`` is called when it ends."""
        if self.running:
            raise RuntimeError("a run is already in progress")
        n = int(n)
        if n < 1:
            raise ValueError("N must be at least 1")
        self._stop.clear()
        self._paused = False
        self.error = None
        self._batch = n
        self.target = self.steps_done + n
        self._thread = threading.Thread(
            target=self._loop, args=(n, on_done), daemon=True, name=f"s3-run-{self.path.stem}"
        )
        self._thread.start()

    def _loop(self, n: int, on_done) -> None:
        last = self.sim.step_index + n - 1
        due = time.perf_counter()  # when the next step may start, at the chosen speed
        try:
            while self.sim.step_index <= last and self._wait_turn(due):
                self._advance(last)
                due = max(due + 1.0 / self._speed, time.perf_counter() - 0.5) if self._speed else time.perf_counter()
            self._flush()
        except Exception as exc:  # shown on the page; the trace keeps every committed step
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if on_done is not None:
                on_done(self)

    def _wait_turn(self, due: float) -> bool:
        """Wait while paused, ahead of the speed or while a page draws; False once Stop is asked."""
        held_until = time.perf_counter() + DRAW_HOLD_SECONDS
        with self._wake:
            while not self._stop.is_set():
                if self._paused:
                    self._flush()  # the trace holds every step while the run waits
                    self._wake.wait()
                    due = time.perf_counter()  # after a pause, the pace starts again from now
                    continue
                now = time.perf_counter()
                if self._drawing and now < held_until:
                    self._wake.wait(held_until - now)
                    continue
                ahead = due - now if self._speed else 0.0
                if ahead <= 0:
                    return True
                self._wake.wait(ahead)
                due = min(due, time.perf_counter() + 1.0 / self._speed) if self._speed else due  # sped up meanwhile
            return False

    def stop(self, wait: float | None = 10.0) -> bool:
        """Ask the run to stop before its next step (also when paused or waiting); wait for the step in flight. True if stopped."""
        with self._wake:
            self._stop.set()
            self._wake.notify_all()
        thread = self._thread
        if thread is not None and wait is not None:
            thread.join(wait)
        return not self.running

    def close(self) -> None:
        """Stop, then close the trace file so it can be opened read-only."""
        self.stop(wait=None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._lock, self._read_lock:
            self.closed = True
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self.store is not None:
                self.store.close()
            close_policy = getattr(self.sim.policy, "close", None)  # an LLM backend's loop thread and cache file
            if close_policy is not None:
                close_policy()

    # -- reading ---------------------------------------------------------------------------
    def metrics_frame(self) -> pd.DataFrame:
        """One row per step done (step, minutes, the step's metrics, recorded); only new rows are converted."""
        with self._records_lock:  # two tabs of one workspace may ask at once
            rows = self.metrics[len(self._frame) :]
            if rows:
                new = pd.DataFrame(rows)
                self._frame = new if self._frame.empty else pd.concat([self._frame, new], ignore_index=True)
            return self._frame

    def seed_frame(self) -> pd.DataFrame:
        """Per seed post and step (long form): step, seed (name), root (post id), aware, new_aware, posts.

        Empty when the engine does not report per-seed counts (``StepRecord.seed_metrics``).
        """
        with self._records_lock:
            rows = list(self.seed_rows)
        return pd.DataFrame(rows, columns=["step", "seed", "root", "aware", "new_aware", "posts"])

    def recent_posts(self, n: int) -> list[dict]:
        with self._records_lock:
            return list(self.feed)[-n:][::-1]

    def query(self, sql: str, params=()) -> pd.DataFrame | None:
        """SQL over this run's trace through the writer's own connection; None once closed."""
        with self._read_lock:
            if self._reader is None:
                return None
            return self._reader.execute(sql, list(params)).df()

    def _add_to_feed(self, rec: StepRecord) -> None:
        posts = rec.posts
        ids = self.sim.network.user_ids
        start = max(0, len(posts["post_id"]) - FEED_SIZE)
        for j in range(start, len(posts["post_id"])):
            author = int(posts["author"][j])
            self.feed.append(
                {
                    "post_id": int(posts["post_id"][j]),
                    "step": rec.step,
                    "author": "official account" if author == OFFICIAL else str(ids[author]),
                    "agent": author,
                    "parent": int(posts["parent"][j]),
                    "action": Action(int(posts["action"][j])).name.lower(),
                    "stance": Attitude(int(posts["stance"][j])).name.lower(),
                    "emotion": Emotion(int(posts["emotion"][j])).name.lower(),
                    "text": posts["text"][j],
                }
            )

    def inspect(self, agent: int) -> dict:
        """One agent's profile, current state, memory pool (every factor) and last decision (``agent_view.inspect``)."""
        with self._lock:
            return agent_view.inspect(self.sim, agent)
