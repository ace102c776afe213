"""Per-browser-session state: the workspace (network, scenario, live run, batch runs) and its run folder.

Each session gets a random id and its own folder ``<S3_RUNS_DIR>/<session-id>/`` for run files
and uploads, so two people using the app at once never see or overwrite each other's runs.
Everything mutable lives in ``st.session_state``; only read-only resources are shared.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.policy import HeuristicPolicy
from s3core.population import Population
from s3core.resources import TextResources, load_text_resources

from .decisions import RecordingPolicy
from .live import LiveRun
from .llm import LLMChoice, build_policy, cache_path, choice_of
from .networks import LoadedNetwork, bundled, describe_error, load_upload

RUNS_ENV = "S3_RUNS_DIR"
STATE_KEY = "s3_workspace"
DEFAULT_SCENARIO = S.DATA_DIR / "scenarios" / "default.toml"
SHIPPED_SCENARIOS = {
    "default": "default.toml",
    "emotion-gender": "emotion_gender.toml",
    "attitude-nuclear": "attitude_nuclear.toml",
}


def runs_base() -> Path:
    """Where sessions keep their runs: $S3_RUNS_DIR, or a folder under the system temp dir."""
    return Path(os.environ.get(RUNS_ENV) or Path(tempfile.gettempdir()) / "s3-dashboard-runs")


@st.cache_resource(show_spinner="Loading the text model...")
def text_resources() -> TextResources:
    """The text model and pool of real texts: read-only, loaded once per process."""
    return load_text_resources()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


@dataclass(eq=False)
class Workspace:
    """Everything one browser session works on; pages read it and call s3core."""

    session_id: str
    run_dir: Path
    net: LoadedNetwork
    scenario: S.Scenario
    live: LiveRun | None = None
    jobs: list[LiveRun] = field(default_factory=list)
    counter: int = 0
    flash: list[tuple[str, str]] = field(default_factory=list)  # (level, message) shown once on the next page
    llm: LLMChoice = field(default_factory=LLMChoice)  # used by runs when scenario.run.backend == "llm"
    llm_results: dict = field(default_factory=dict)  # the Agents page's last connection test and cost estimate
    _population: tuple[tuple, Population] | None = None

    # -- population and simulations ---------------------------------------------------------
    def population(self, net: LoadedNetwork | None = None, scenario: S.Scenario | None = None) -> Population:
        """The population of a network under a scenario's demographics and seed (kept for the last key)."""
        net = net or self.net
        scenario = scenario or self.scenario
        key = (net.key, tuple(sorted(scenario.population.items())), scenario.seed)
        if self._population is None or self._population[0] != key:
            # Let the engine build it, so the dashboard's population is exactly the CLI's for this scenario.
            probe = Simulation(scenario.replace(interventions=()), network=net.network, text=text_resources())
            self._population = (key, probe.population)
        return self._population[1]

    def build_sim(
        self, scenario: S.Scenario | None = None, net: LoadedNetwork | None = None, llm_cache: Path | None = None
    ) -> Simulation:
        """A fresh simulation of a scenario on a network (default: the loaded one), recording decisions for the inspector.

        Only runs pass ``llm_cache``: with it, an ``llm`` backend scenario gets the session's LLM policy; checks
        and previews stay on the heuristic, so they never open a cache or call a model.
        Raises ValueError when the scenario does not fit the network (e.g. an unknown seed author).
        """
        scenario = scenario or self.scenario
        net = net or self.net
        inner = HeuristicPolicy(scenario.emotion, scenario.attitude, scenario.policy)
        if llm_cache is not None and scenario.run.backend == "llm":
            inner = build_policy(self.llm, llm_cache)
        policy = RecordingPolicy(inner, net.network.n_users)
        return Simulation(
            scenario,
            network=net.network,
            policy=policy,
            text=text_resources(),
            population=self.population(net=net, scenario=scenario),
        )

    def new_run_path(self, label: str) -> Path:
        self.counter += 1
        return self.run_dir / f"{self.counter:03d}-{_slug(label)}.duckdb"

    # -- the live (interactive) run -----------------------------------------------------------
    def live_run(self) -> LiveRun:
        """The session's interactive run, created on first use; its file appears at the first step.

        A run with no step yet simply follows the current network and scenario; one with steps
        keeps its own until Reset, so a run is never changed halfway.
        """
        if self.live is not None and not self.live.has_trace and not self.live.running and self.pending_changes():
            self.live.close()
            self.live = None
        if self.live is None or self.live.closed:
            sim = self.build_sim(llm_cache=cache_path(self.run_dir))
            self.live = LiveRun(
                sim, self.new_run_path(self.scenario.name), f"{self.scenario.name} (interactive)", self.net
            )
        return self.live

    def reset(self) -> None:
        """End the interactive run (its trace stays) and start a new one from the current scenario and network."""
        if self.live is not None:
            self.live.close()
            self.live = None
        self.live_run()

    def pending_changes(self) -> list[str]:
        """What changed since the interactive run started (applied at the next Reset)."""
        if self.live is None:
            return []
        out = []
        if self.live.net.key != self.net.key:
            out.append(f"the network ({self.net.label})")
        before = self.live.sim.scenario.replace(network=self.scenario.network)
        backend = self.scenario.run.backend
        if before.run.backend != backend:
            out.append(f"the decision backend ({'LLM' if backend == 'llm' else 'offline heuristic'})")
        elif backend == "llm" and choice_of(self.live.sim) != self.llm.signature():
            out.append("the LLM backend settings")
        if before.replace(run=replace(before.run, backend=backend)) != self.scenario:
            out.append("the scenario (parameters or interventions)")
        return out

    # -- changing the network -------------------------------------------------------------------
    def use_network(self, loaded: LoadedNetwork) -> None:
        """Make ``loaded`` the session's network (checked first: its population must build)."""
        self.population(net=loaded)
        self.net = loaded
        self.scenario = self.scenario.replace(network=loaded.spec)

    def load_upload(self, files: dict[str, tuple[str, bytes]]) -> str | None:
        """Load uploaded files as the network; on any fault return the message and keep the old network."""
        try:
            self.use_network(load_upload(files, self.run_dir / "uploads"))
        except Exception as exc:  # a bad file must never crash the page or lose the loaded network
            return describe_error(exc, files)
        return None

    # -- batch runs (baselines and full scenario runs) --------------------------------------------
    def start_job(self, scenario: S.Scenario, label: str, steps: int) -> LiveRun:
        """Run ``steps`` steps of a scenario into a new trace file in the background."""
        path = self.new_run_path(f"{scenario.name}-{label}")
        job = LiveRun(self.build_sim(scenario, llm_cache=cache_path(self.run_dir, path)), path, label, self.net)
        self.jobs.append(job)
        job.start(steps, on_done=lambda run: run.close())
        return job

    def running_jobs(self) -> list[LiveRun]:
        return [j for j in self.jobs if j.running]

    def open_runs(self) -> dict[Path, LiveRun]:
        """Runs whose trace file this session holds open for writing (read them through their cursor)."""
        runs = [self.live] if self.live is not None else []
        return {r.path: r for r in runs + self.jobs if r.has_trace and not r.closed}

    def notify(self, level: str, message: str) -> None:
        self.flash.append((level, message))


def use_app_navigation() -> None:
    """Make sure app.py's navigation runs, even on the first deep link after the server starts.

    Streamlit treats a ``pages/`` folder as the old file-based navigation until some session
    runs ``st.navigation``; a first visit to e.g. /Simulate would then run the page alone
    (no app.py, no sidebar summary, old navigation) for that session. Switching the flag
    off and rerunning hands the request to app.py, which resolves the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def ensure_defaults() -> Workspace:
    """This session's workspace, created on first use with the bundled network and default scenario."""
    use_app_navigation()
    ws = st.session_state.get(STATE_KEY)
    if ws is None:
        session_id = uuid.uuid4().hex
        run_dir = runs_base() / session_id  # created when the first file is written
        ws = Workspace(session_id=session_id, run_dir=run_dir, net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
        st.session_state[STATE_KEY] = ws
    return ws


def show_flash(ws: Workspace) -> None:
    """Show and clear messages left by callbacks (callbacks cannot draw)."""
    from .widgets import md_escape

    for level, message in ws.flash:
        getattr(st, level)(md_escape(message))
    ws.flash.clear()
