"""Experiments started from the Compare page: the experiment file each run uses, and the run in its own process.

The Streamlit process never runs an experiment itself: the page writes an experiment TOML (a shipped
example with the page's seeds and steps, or the current scenario against a baseline without its
interventions) into the session's folder and runs ``python -m s3core experiment`` on it, so the
page stays responsive, Stop ends the run (finished seeds are kept), and the report is exactly the
command line's. Each setting gets its own folder, and runs always ``--resume``: the same setting
again only summarises, and more seeds run only the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import tomli_w

from s3core import scenario as S
from s3core.experiment.spec import intervention_names, read_data
from s3core.interventions import SeedPost

from .command_job import CommandJob
from .scenario_io import seed_labels

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DIR = S.DATA_DIR / "experiments"
CURRENT = "current"  # the choice "the current scenario: as configured vs a baseline without its interventions"
CURRENT_ARM = "as configured"
CURRENT_SEEDS = 10
_PROGRESS = re.compile(r"experiment: runs (\d+)/(\d+)")


def shipped() -> dict[str, Path]:
    """The example experiment files shipped in data/experiments, by file stem."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.toml"))}


@dataclass(frozen=True)
class Source:
    """An experiment as parsed TOML, before the page's overrides; ``base_dir`` resolves its scenario path."""

    label: str
    data: dict
    base_dir: Path
    scenario_text: str = ""  # the scenario to write beside the experiment (the current scenario), else ""

    @property
    def seeds(self) -> int:
        value = self.data.get("seeds")
        return value if isinstance(value, int) and not isinstance(value, bool) else CURRENT_SEEDS

    @property
    def steps(self) -> int | None:
        value = self.data.get("steps")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def description(self) -> str:
        return str(self.data.get("description", ""))


def read_source(path: Path) -> Source:
    """An experiment file as data; raises ExperimentError naming the file when it is not UTF-8 TOML."""
    return Source(label=Path(path).name, data=read_data(path), base_dir=Path(path).resolve().parent)


def current_source(scenario: S.Scenario, keep_seeds: list[str], network_dir: Path | None = None) -> Source:
    """The scenario as configured against a baseline that keeps only the event's seed posts (``keep_seeds``).

    The baseline removes every other intervention by position, as the Compare page's single-run
    baseline does (``scenario_io.baseline``). Experiments run the offline heuristic policy, so an
    LLM scenario is written with the heuristic. ``network_dir`` makes an uploaded network's file
    names absolute, since the experiment reads them from another folder.
    """
    labels = dict(zip(_seed_positions(scenario), seed_labels(scenario)))
    remove = _names_for({i for i in range(len(scenario.interventions)) if labels.get(i) not in keep_seeds}, scenario)
    written = scenario.replace(run=replace(scenario.run, backend="heuristic"))
    if network_dir is not None and written.network.source in ("files", "graph"):
        net = written.network
        absolute = {
            k: str(Path(network_dir) / getattr(net, k)) for k in ("edges", "users", "posts", "graph") if getattr(net, k)
        }
        written = written.replace(network=replace(net, **absolute))
    data = {
        "name": f"{scenario.name}-interventions",
        "description": f"'{scenario.name}' as configured against a baseline without its interventions",
        "scenario": "scenario.toml",
        "seeds": CURRENT_SEEDS,
        "steps": scenario.steps,
        "arms": [{"name": "baseline", "remove": remove}, {"name": CURRENT_ARM}],
    }
    return Source(
        label=f"the current scenario '{scenario.name}'", data=data, base_dir=Path("."), scenario_text=S.dumps(written)
    )


def _names_for(drop: set[int], scenario: S.Scenario) -> list[str]:
    """``remove`` entries for these positions: readable names (``correction``, ``boost:correction``) where
    a name removes only dropped interventions, else ``interventions[i]``."""
    names = intervention_names(scenario.interventions)
    out: list[str] = []
    for i in sorted(drop):
        readable = [
            n for n, where in names.items() if i in where and set(where) <= drop and not n.startswith("interventions[")
        ]
        name = readable[0] if readable else f"interventions[{i}]"
        if name not in out:
            out.append(name)
    return out


def _seed_positions(scenario: S.Scenario) -> list[int]:
    return [i for i, iv in enumerate(scenario.interventions) if isinstance(iv, SeedPost)]


def write(source: Source, seeds: int, steps: int | None, root: Path) -> Path:
    """Write the experiment with these seeds and steps into its own folder under ``root``; returns the TOML's path.

    The folder is named by everything but the number of seeds, so the same setting reuses its
    finished runs (``--resume``) and adding seeds runs only the new ones.
    """
    data = dict(source.data)
    data["seeds"] = int(seeds)
    if steps is not None:
        data["steps"] = int(steps)
    scenario_text = source.scenario_text
    ref = data.get("scenario")
    if not scenario_text and isinstance(ref, str) and ref.strip():
        path = Path(ref) if Path(ref).is_absolute() else source.base_dir / ref
        data["scenario"] = str(path.resolve())  # the written copy lives elsewhere
        with contextlib.suppress(OSError):
            scenario_text = path.read_text(encoding="utf-8")  # a changed scenario file gets a new folder
    key = json.dumps({k: v for k, v in data.items() if k != "seeds"}, sort_keys=True, default=str) + scenario_text
    name = re.sub(r"[^a-z0-9]+", "-", str(data.get("name", "experiment")).lower()).strip("-")[:40] or "experiment"
    steps_part = f"-{data['steps']}steps" if isinstance(data.get("steps"), int) else ""
    folder = Path(root) / f"{name}{steps_part}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    folder.mkdir(parents=True, exist_ok=True)
    if source.scenario_text:
        (folder / "scenario.toml").write_text(scenario_text, encoding="utf-8")
    path = folder / "experiment.toml"
    path.write_text(
        f"# Written by the Compare page from {source.label} with seeds = {seeds}"
        + (f", steps = {steps}" if steps is not None else "")
        + "\n"
        + tomli_w.dumps(data),
        encoding="utf-8",
    )
    return path


class ExperimentJob(CommandJob):
    """``python -m s3core experiment FILE --out FOLDER --resume --json --report`` in its own process group.

    Progress is read from the command's stderr lines (``experiment: runs k/total``); the report is
    its stdout, read once the command has succeeded, and the HTML report the file it writes.
    """

    def __init__(self, experiment_file: Path, workers: int = 1):
        self.file = Path(experiment_file)
        self.out = self.file.parent
        self.report_path = self.out / "report.json"
        self.html_path = self.out / "report.html"
        self.workers = int(workers)
        self._report: dict | None = None
        cmd = [
            sys.executable,
            "-m",
            "s3core",
            "experiment",
            str(self.file),
            "--out",
            str(self.out),
            "--workers",
            str(self.workers),
            "--resume",
            "--json",
            "--report",
            str(self.html_path),
        ]
        for stale in (self.report_path, self.html_path):
            stale.unlink(missing_ok=True)
        super().__init__("experiment", cmd, self.out / "experiment.log", stdout_path=self.report_path)

    def progress(self) -> tuple[int, int] | None:
        """(runs done, runs in all) from the last progress line; None before the first (checking, loading)."""
        return self.last_progress(_PROGRESS)

    def error(self) -> str | None:
        """The command's one-line error once it has failed (not after Stop), else None."""
        line = self.last_error_line(_PROGRESS, skip=("warning: ",))
        return line.removeprefix("error: ") if line else None

    def report(self) -> dict | None:
        """The report the command printed, once it has succeeded."""
        if self._report is None and self.succeeded:
            self._report = json.loads(self.report_path.read_text(encoding="utf-8"))
        return self._report

    def html(self) -> bytes:
        """The self-contained HTML report the command wrote (``s3core.experiment.report``)."""
        return self.html_path.read_bytes()
