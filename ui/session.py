"""The workspace each browser tab works in (network, scenario, live run, batch runs) and its run folder.

A workspace has a random id and its own folder ``<S3_RUNS_DIR>/<id>/`` for run files, uploads
and the autosaved scenario, so two people using the app at once never see or overwrite each
other's runs. The id is in the page's URL (``?ws=<id>``): a reload, a bookmark or a second tab
with that link gets the same workspace back, with a run still going on (the object is kept in
a process-wide registry); after a server restart it is rebuilt from its folder
(``ui.workspace_store``). Only read-only resources are shared between workspaces.
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
from s3core.profiles import for_scenario as load_profiles
from s3core.resources import TextResources, load_text_resources

from . import workspace_store as store
from .decisions import RecordingPolicy
from .live import LiveRun
from .llm import LLMChoice, build_policy, cache_path, choice_of
from .networks import LoadedNetwork, bundled, describe_error, from_scenario, load_upload

RUNS_ENV = "S3_RUNS_DIR"
STATE_KEY = "s3_workspace"
HANDOFF_KEY = "s3_handoff"
DEFAULT_SCENARIO = S.DATA_DIR / "scenarios" / "default.toml"
CARRIED_KEYS = ("exp_job", "exp_shown")  # page state a reload must not lose: the Compare page's experiment
SHIPPED_SCENARIOS = {
    "default": "default.toml",
    "emotion-gender": "emotion_gender.toml",
    "attitude-nuclear": "attitude_nuclear.toml",
}


def runs_base() -> Path:
    """Where workspaces keep their runs: $S3_RUNS_DIR, or a folder under the system temp dir."""
    return Path(os.environ.get(RUNS_ENV) or Path(tempfile.gettempdir()) / "s3-dashboard-runs")


@st.cache_resource(show_spinner="Loading the text model...")
def text_resources() -> TextResources:
    """The text model and pool of real texts: read-only, loaded once per process."""
    return load_text_resources()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def _profiles_stamp(scenario: S.Scenario) -> tuple | None:
    """The scenario's profiles file as a cache key: its path, modification time and size (None without one)."""
    if not scenario.profiles:
        return None
    path = scenario.resolve(scenario.profiles)
    try:
        stat = path.stat()
    except OSError:  # a missing file: the engine says so when the population is built
        return (str(path), None, None)
    return (str(path), stat.st_mtime_ns, stat.st_size)


@dataclass(eq=False)
class Workspace:
    """Everything one workspace works on; pages read it and call s3core.

    ``session_id`` is the workspace id (the URL's ``?ws=``). With ``autosave`` on, every new
    scenario is written to ``run_dir/scenario.toml`` at once, so a restart can rebuild it.
    """

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
    autosave: bool = False
    carried: dict = field(default_factory=dict)  # CARRIED_KEYS of the last page run, handed to a reloaded tab
    _population: tuple[tuple, Population] | None = None

    def __setattr__(self, name, value):
        changed = name == "scenario" and getattr(self, "autosave", False) and value != getattr(self, "scenario", None)
        object.__setattr__(self, name, value)
        if changed:
            self.save()

    def save(self) -> None:
        """Write the scenario into the workspace folder; a failure is shown on the next page, never raised."""
        try:
            store.save_scenario(self.run_dir, self.scenario, self.net.label)
        except (OSError, ValueError) as exc:
            self.notify("warning", f"Could not save the scenario in {self.run_dir}: {exc}. It is kept until a reload.")

    # -- population and simulations ---------------------------------------------------------
    def population(self, net: LoadedNetwork | None = None, scenario: S.Scenario | None = None) -> Population:
        """The population of a network under a scenario's demographics, seed and profiles file (kept for the last key)."""
        net = net or self.net
        scenario = scenario or self.scenario
        key = (net.key, tuple(sorted(scenario.population.items())), scenario.seed, _profiles_stamp(scenario))
        if self._population is None or self._population[0] != key:
            if scenario is self.scenario and scenario.profiles:
                scenario = self._usable_profiles(net)
                key = (net.key, tuple(sorted(scenario.population.items())), scenario.seed, _profiles_stamp(scenario))
            # Let the engine build it, so the dashboard's population is exactly the CLI's for this scenario.
            probe = Simulation(scenario.replace(interventions=()), network=net.network, text=text_resources())
            self._population = (key, probe.population)
        return self._population[1]

    def _usable_profiles(self, net: LoadedNetwork) -> S.Scenario:
        """The workspace's scenario, without its profiles file when that file is gone, damaged or for another
        network: the key is dropped (the file is left as it is) and the next page says why."""
        try:
            load_profiles(self.scenario, net.network)
        except ValueError as exc:  # ProfilesError: missing, unreadable, bad rows, or no user of this network
            self.scenario = self.scenario.replace(profiles="")
            self.notify("warning", f"Stopped using the profiles file: {exc}. Agents use the text rules and draws.")
        return self.scenario

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
        """A new run file's path, numbered after every file already in the folder (never an old name)."""
        self.counter = max(self.counter, store.highest_run_number(self.run_dir)) + 1
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

    # -- lifetime ---------------------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while the interactive run, a batch run or the Compare page's experiment is running."""
        live = self.live is not None and self.live.running
        job = self.carried.get("exp_job")
        return live or bool(self.running_jobs()) or bool(getattr(job, "running", False))

    def close(self) -> None:
        """Close the interactive run and the batch runs (their traces stay), e.g. when leaving memory."""
        for run in [self.live, *self.jobs]:
            if run is not None and not run.closed:
                run.close()


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


@st.cache_resource(show_spinner=False)
def registry() -> store.Registry:
    """The workspaces of this server process, shared by every browser tab."""
    return store.Registry()


def new_workspace(workspace_id: str | None = None) -> Workspace:
    """A workspace with the bundled network and the default scenario (a new random id unless given)."""
    workspace_id = workspace_id or uuid.uuid4().hex
    run_dir = runs_base() / workspace_id  # created when the first file is written
    net = bundled()  # the scenario names the network shown, so a download or a reload rebuilds this one
    scenario = S.load(DEFAULT_SCENARIO).replace(network=net.spec)
    return Workspace(session_id=workspace_id, run_dir=run_dir, net=net, scenario=scenario, autosave=True)


def restore(workspace_id: str) -> Workspace:
    """The workspace with this id rebuilt from its folder: the autosaved scenario and the network it names.

    Run files need nothing: the pages list them from the folder. A folder that does not exist
    gives a new workspace under that id; a scenario or network that cannot be rebuilt is
    replaced by the defaults, with a message saying why. Raises WorkspaceError for a bad id.
    """
    run_dir = store.folder(runs_base(), workspace_id)
    ws = new_workspace(workspace_id)
    object.__setattr__(ws, "autosave", False)  # nothing to write until something changes
    if not run_dir.is_dir():
        ws.notify(
            "info",
            "Nothing is saved under this workspace link (yet): it starts with the defaults. Workspaces "
            "unused for a while are deleted (see the Overview); the link keeps what you do from now on.",
        )
    try:
        scenario = store.load_scenario(run_dir)
    except S.ScenarioError as exc:
        ws.notify("warning", f"The saved scenario could not be read ({exc}); the default scenario is loaded.")
        scenario = None
    if scenario is not None:
        try:
            net = from_scenario(scenario.network, scenario.seed, run_dir / "uploads")
            ws.population(net=net, scenario=scenario)  # checks that the scenario fits its network
            ws.net, ws.scenario = net, scenario.replace(network=net.spec)
        except Exception as exc:  # a deleted upload, a changed file: keep the work that is still there
            ws.notify(
                "warning",
                f"The saved network could not be rebuilt ({exc}); the bundled network is loaded. "
                "The runs of this workspace are all still listed on Traces and Runs.",
            )
            ws.scenario = scenario.replace(network=ws.net.spec)
    ws.counter = store.highest_run_number(run_dir)
    ws.autosave = True
    return ws


def ensure_defaults() -> Workspace:
    """This tab's workspace: the one its URL names (``?ws=<id>``), else a new one whose id goes into the URL.

    A workspace still in memory (a reload, a second tab) is the same object, live runs included;
    otherwise it is rebuilt from its folder. Also evicts idle workspaces and, at most hourly,
    deletes workspace folders older than $S3_WORKSPACE_MAX_AGE_DAYS.
    """
    use_app_navigation()
    reg = registry()
    try:
        reg.housekeeping(runs_base())
    except store.WorkspaceError as exc:
        st.warning(str(exc), icon=":material/warning:")
    wanted = st.query_params.get(store.QUERY_KEY)
    ws = st.session_state.get(STATE_KEY)
    if ws is not None and wanted in (None, ws.session_id):
        ws = reg.adopt(ws) if store.valid_id(ws.session_id) else ws
    elif store.valid_id(wanted):
        ws = reg.get(wanted) or reg.adopt(restore(wanted))
        for key, value in ws.carried.items():  # a new tab on this workspace: the page state it left
            st.session_state.setdefault(key, value)
    else:
        ws = reg.adopt(new_workspace())
        if wanted is not None:
            ws.notify(
                "warning",
                f"The link's workspace id {wanted[:40]!r} is not valid (32 hex digits); a new workspace was started.",
            )
    st.session_state[STATE_KEY] = ws
    for key in CARRIED_KEYS:
        if key in st.session_state:
            ws.carried[key] = st.session_state[key]
    if store.valid_id(ws.session_id) and wanted != ws.session_id:
        st.query_params[store.QUERY_KEY] = ws.session_id
    return ws


def hand_off(page: str, values: dict) -> None:
    """Switch to ``page`` (``pages/N_Name.py``) with these widget values set there, e.g. ``{"tr_run": stem}``.

    app.py sets them (``take_hand_off``) when that page runs, before its widgets are drawn.
    """
    st.session_state[HANDOFF_KEY] = (Path(page).stem.split("_", 1)[-1], dict(values))
    st.switch_page(page)


def take_hand_off(url_path: str) -> None:
    """Set the widget values another page handed to the page at ``url_path`` (app.py, before the page runs)."""
    pending = st.session_state.get(HANDOFF_KEY)
    if pending and pending[0] == url_path:
        del st.session_state[HANDOFF_KEY]
        st.session_state.update(pending[1])


def show_flash(ws: Workspace) -> None:
    """Show and clear messages left by callbacks (callbacks cannot draw)."""
    from .widgets import md_escape

    for level, message in ws.flash:
        getattr(st, level)(md_escape(message))
    ws.flash.clear()
