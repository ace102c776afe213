"""A command line run by the dashboard in its own process group, with its progress and error read from stderr.

The Streamlit process never runs long work itself: a page starts ``python -m s3core ...`` here,
polls ``progress``, shows ``error`` when it fails, and ``stop`` ends the command with every
worker process it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CommandJob:
    """One command (``name`` in messages): stderr goes to ``log``, stdout to ``stdout_path`` (or nowhere)."""

    def __init__(self, name: str, cmd: list[str], log: Path, stdout_path: Path | None = None):
        self.name = name
        self.log = Path(log)
        self.stopped = False
        with open(self.log, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
            # Its own process group, so Stop also ends the worker processes it starts.
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    @property
    def succeeded(self) -> bool:
        return self.proc.poll() == 0

    def stderr(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def last_progress(self, pattern: re.Pattern) -> tuple[int, int] | None:
        """(done, total) from the last stderr line matching ``pattern`` (two integer groups), else None."""
        found = pattern.findall(self.stderr())
        return (int(found[-1][0]), int(found[-1][1])) if found else None

    def last_error_line(self, progress: re.Pattern, skip: tuple[str, ...] = ()) -> str | None:
        """The last stderr line that is not progress (nor starts with ``skip``) once the command has failed."""
        code = self.proc.poll()
        if code in (None, 0) or self.stopped:
            return None
        lines = [
            ln
            for ln in self.stderr().splitlines()
            if ln.strip() and not progress.search(ln) and not ln.startswith(skip)
        ]
        return lines[-1] if lines else f"the {self.name} command ended with status {code}"

    def stop(self, wait: float = 10.0) -> None:
        """End the command and its workers: SIGTERM to its process group, then SIGKILL if it lingers."""
        if not self.running:
            return
        self.stopped = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
