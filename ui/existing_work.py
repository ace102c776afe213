"""The work already in a workspace folder: run files and experiments, their sizes, and deleting them safely.

Runs are the ``NNN-name.duckdb`` traces (``ui.traces.list_runs`` reads their metadata);
experiments are the folders the Compare page writes under ``experiments/`` (``ui.experiment_jobs``),
each with its ``experiment.toml``, ``experiment.duckdb`` and, once finished, ``report.json`` and
``report.html``. Nothing that a run or experiment of this process, or another process, is
writing can be deleted.
"""

from __future__ import annotations

import json
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from s3core.trace_lock import holder

EXPERIMENTS = "experiments"


class DeleteRefused(Exception):
    """A file or folder that must not be deleted now; the message says why and what to do."""


def size_of(path: Path) -> int:
    """Bytes on disk of a run file with its write-ahead log, or of a folder and everything in it."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    wal = path.with_name(path.name + ".wal")
    return sum(p.stat().st_size for p in (path, wal) if p.is_file())


def human_size(n: int) -> str:
    """1234567 -> '1.2 MB' (decimal units)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


# -- experiments ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """One experiment folder of the workspace, as the Runs page lists it."""

    folder: Path
    name: str
    arms: tuple[str, ...]
    seeds: int | None
    steps: int | None
    created: str  # UTC, from the experiment file's modification time
    size: int
    status: str  # finished, running, unfinished

    @property
    def report_path(self) -> Path:
        return self.folder / "report.json"

    @property
    def html_path(self) -> Path:
        return self.folder / "report.html"

    @property
    def data_path(self) -> Path:
        return self.folder / "experiment.duckdb"


def list_experiments(run_dir: Path, running: set[Path] = frozenset()) -> list[Experiment]:
    """Every experiment folder under ``run_dir/experiments``, oldest first; ``running``: folders being run here.

    A folder whose experiment file is missing or not TOML is skipped (it is not an experiment).
    """
    root = Path(run_dir) / EXPERIMENTS
    found = []
    for spec in root.glob("*/experiment.toml") if root.is_dir() else ():
        try:
            data = tomllib.loads(spec.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        folder = spec.parent
        data_path = folder / "experiment.duckdb"
        if folder.resolve() in {Path(p).resolve() for p in running} or holder(data_path) is not None:
            status = "running"
        elif (folder / "report.json").is_file():
            status = "finished"
        else:
            status = "unfinished"
        arms = tuple(str(a.get("name", "?")) for a in data.get("arms", []) if isinstance(a, dict))
        seeds, steps = data.get("seeds"), data.get("steps")
        mtime = spec.stat().st_mtime
        found.append(
            Experiment(
                folder=folder,
                name=str(data.get("name", folder.name)),
                arms=arms,
                seeds=seeds if isinstance(seeds, int) else None,
                steps=steps if isinstance(steps, int) else None,
                created=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(mtime)),
                size=size_of(folder),
                status=status,
            )
        )
    return sorted(found, key=lambda e: (e.created, e.folder.name))


class FinishedExperiment:
    """A finished experiment read back from its folder, shown by the Compare page like a job that just ended."""

    running = False
    succeeded = True

    def __init__(self, folder: Path):
        self.out = Path(folder)
        self.report_path = self.out / "report.json"
        self.html_path = self.out / "report.html"

    def report(self) -> dict:
        """The report the experiment command wrote (``report.json``)."""
        return json.loads(self.report_path.read_text(encoding="utf-8"))

    def html(self) -> bytes:
        return self.html_path.read_bytes()

    def error(self) -> None:
        return None

    def progress(self) -> None:
        return None


# -- deleting -------------------------------------------------------------------------------------------
def delete_run(path: Path, open_here: dict) -> None:
    """Delete a run file with its write-ahead log and stale lock file.

    ``open_here`` maps paths to the runs this workspace holds open (``Workspace.open_runs``).
    Raises DeleteRefused when a run of this workspace or another process still has it open.
    """
    path = Path(path)
    run = open_here.get(path)
    if run is not None:
        what = "is running" if run.running else "is the interactive run, still open for more steps"
        raise DeleteRefused(
            f"{path.name} {what}. Stop it (and Reset it on the Simulate page) first; then it can be deleted."
        )
    writer = holder(path)
    if writer is not None:
        raise DeleteRefused(f"{path.name} is being written by {writer.describe()}; wait for it to finish.")
    for p in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".lock")):
        p.unlink(missing_ok=True)


def delete_experiment(experiment: Experiment, running: set[Path] = frozenset()) -> None:
    """Delete an experiment folder; raises DeleteRefused while it runs (here or in another process)."""
    folder = Path(experiment.folder)
    if folder.resolve() in {Path(p).resolve() for p in running} or holder(folder / "experiment.duckdb") is not None:
        raise DeleteRefused(f"{experiment.name} is running. Stop it on the Compare page first.")
    if folder.parent.name != EXPERIMENTS:  # never anything but an experiment folder of a workspace
        raise DeleteRefused(f"{folder} is not an experiment folder")
    shutil.rmtree(folder)
