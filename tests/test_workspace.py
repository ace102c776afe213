"""Workspaces that outlive the browser tab: ids in the URL, the registry, autosave and rebuild, cleanup, the Runs page.

Each test has its own runs folder (S3_RUNS_DIR). The registry is process-wide (as in the server),
so tests that rebuild a workspace from disk first drop it from memory (``registry().forget``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from s3core.trace_lock import TraceLock
from ui import existing_work as W
from ui import traces
from ui import workspace_store as store
from ui.networks import synthetic
from ui.session import HANDOFF_KEY, STATE_KEY, new_workspace, registry, restore

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "tests" / "valid"
DAY = 86400.0


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def app(page: str | None = None, ws_id: str | None = None) -> AppTest:
    """The app (navigation, sidebar) in a new browser session, optionally opened with ``?ws=<id>``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if ws_id is not None:
        at.query_params[store.QUERY_KEY] = ws_id
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- ids -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["../..", "..", "", "ABCDEF" * 6, "0" * 31, "0" * 33, "0" * 30 + "/.", "g" * 32, None, 12]
)
def test_only_32_hex_digits_are_workspace_ids(text, runs_dir):
    assert not store.valid_id(text)
    with pytest.raises(store.WorkspaceError, match="not a workspace id"):
        store.folder(runs_dir, text)


def test_a_valid_id_names_a_folder_directly_under_the_runs_folder(runs_dir):
    assert store.folder(runs_dir, "0123456789abcdef" * 2) == runs_dir / ("0123456789abcdef" * 2)


def test_a_crafted_id_in_the_url_starts_a_new_workspace_inside_the_runs_folder(runs_dir):
    at = app(ws_id="../..")
    ws = at.session_state[STATE_KEY]
    assert store.valid_id(ws.session_id) and ws.run_dir.parent == runs_dir
    assert at.query_params[store.QUERY_KEY] == ws.session_id  # the URL now names the new workspace
    assert any("not valid" in w.value for w in at.warning)


# -- the registry: the same object for the same id ------------------------------------------------------
def test_a_second_session_with_the_same_link_gets_the_same_workspace_and_its_run():
    first = app("pages/4_Simulate.py")
    ws = first.session_state[STATE_KEY]
    assert first.query_params[store.QUERY_KEY] == ws.session_id
    first.button(key="sim_step").click().run()
    second = app("pages/4_Simulate.py", ws_id=ws.session_id)
    assert second.session_state[STATE_KEY] is ws
    assert second.metric[0].value == "1"  # the Steps done of the run started in the first session
    other = app("pages/4_Simulate.py")  # no link: a workspace of its own
    assert other.session_state[STATE_KEY] is not ws
    assert other.session_state[STATE_KEY].run_dir != ws.run_dir


def test_a_reloaded_tab_gets_the_experiment_its_workspace_was_running():
    first = app()
    ws = first.session_state[STATE_KEY]
    job = _Fake("e" * 32, busy=True)
    job.running = True
    first.session_state["exp_job"] = job
    first.run()
    assert ws.busy()  # so neither idle eviction nor cleanup touches it
    second = app(ws_id=ws.session_id)
    assert second.session_state["exp_job"] is job


class _Fake:
    def __init__(self, workspace_id: str, busy: bool = False):
        self.session_id, self._busy, self.closed = workspace_id, busy, False

    def busy(self) -> bool:
        return self._busy

    def close(self) -> None:
        self.closed = True


def test_registry_keeps_the_first_object_and_evicts_only_idle_workspaces_that_run_nothing():
    reg = store.Registry()
    a, a_again, b = _Fake("a" * 32), _Fake("a" * 32), _Fake("b" * 32, busy=True)
    assert reg.adopt(a) is a and reg.adopt(a_again) is a and reg.get("a" * 32) is a
    reg.adopt(b)
    assert reg.busy_ids() == {"b" * 32}
    assert reg.evict_idle(60.0) == []  # just used
    assert reg.evict_idle(60.0, now=time.monotonic() + 120.0) == ["a" * 32]
    assert a.closed and not b.closed and reg.ids() == {"b" * 32}


def test_registry_beyond_capacity_closes_the_least_recently_used_idle_workspace():
    reg = store.Registry(capacity=2)
    busy, old, new = _Fake("a" * 32, busy=True), _Fake("b" * 32), _Fake("c" * 32)
    for item in (busy, old, new):
        reg.adopt(item)
    assert reg.ids() == {"a" * 32, "c" * 32} and old.closed and not busy.closed and not new.closed


# -- autosave and rebuild after a restart ----------------------------------------------------------------
def test_scenario_is_saved_on_change_and_rebuilt_with_its_synthetic_network(runs_dir):
    ws = new_workspace()
    assert not (ws.run_dir / store.SCENARIO_FILE).exists()  # nothing is written before a change
    ws.use_network(synthetic(300, 6.0, 0.3, 2.5, 13))
    ws.scenario = ws.scenario.replace(name="kept", interventions=ws.scenario.interventions[:2])
    assert store.load_scenario(ws.run_dir).name == "kept"
    back = restore(ws.session_id)
    assert back is not ws and back.run_dir == ws.run_dir
    assert back.scenario == ws.scenario and len(back.scenario.interventions) == 2
    assert back.net.key == ws.net.key and back.net.network.n_edges == ws.net.network.n_edges
    assert not back.flash


def test_an_uploaded_network_is_rebuilt_from_the_workspace_uploads(runs_dir):
    ws = new_workspace()
    files = {"edges": ("edges.csv", (VALID / "edges.csv").read_bytes())}
    assert ws.load_upload(files) is None
    ws.scenario = ws.scenario.replace(name="uploaded", interventions=())
    back = restore(ws.session_id)
    assert back.net.key == ws.net.key and back.net.network.n_users == ws.net.network.n_users
    assert back.scenario.name == "uploaded" and not back.flash


def test_a_network_that_cannot_be_rebuilt_keeps_the_scenario_and_says_why(runs_dir):
    ws = new_workspace()
    ws.load_upload({"edges": ("edges.csv", (VALID / "edges.csv").read_bytes())})
    ws.scenario = ws.scenario.replace(name="orphan", interventions=())
    for f in (ws.run_dir / "uploads").rglob("*.csv"):
        f.unlink()
    back = restore(ws.session_id)
    assert back.scenario.name == "orphan" and back.net.key == "bundled"
    assert any("could not be rebuilt" in m for _, m in back.flash)


def test_a_broken_saved_scenario_gives_the_defaults_and_a_message(runs_dir):
    ws_id = "c" * 32
    (runs_dir / ws_id).mkdir(parents=True)
    (runs_dir / ws_id / store.SCENARIO_FILE).write_text("steps = 'many'", encoding="utf-8")
    back = restore(ws_id)
    assert back.scenario.name == "default" and any("could not be read" in m for _, m in back.flash)


def test_after_a_restart_the_link_brings_back_scenario_and_runs_and_numbering_goes_on(runs_dir):
    at = app("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    ws.scenario = ws.scenario.replace(name="before-restart")
    at.button(key="sim_step").click().run()
    first = ws.live.path
    ws.close()
    registry().forget(ws.session_id)  # as after a server restart: only the folder is left
    back = app("pages/6_Traces.py", ws_id=ws.session_id)
    again = back.session_state[STATE_KEY]
    assert again is not ws and again.scenario.name == "before-restart"
    assert [r.path for r in traces.list_runs(again)] == [first]
    assert again.new_run_path("next").name.startswith(f"{int(first.name[:3]) + 1:03d}-")


def test_a_link_to_a_workspace_with_nothing_saved_starts_empty_and_says_so(runs_dir):
    back = restore("d" * 32)
    assert back.run_dir == runs_dir / ("d" * 32) and back.scenario.name == "default"
    assert any("Nothing is saved" in m for _, m in back.flash)
    assert not back.run_dir.exists()  # nothing is written before something changes


def test_new_run_numbers_start_after_the_highest_in_the_folder(runs_dir):
    ws = new_workspace()
    ws.run_dir.mkdir(parents=True)
    for name in ("002-a.duckdb", "017-b.duckdb", "notes.txt", "3x.duckdb"):
        (ws.run_dir / name).write_bytes(b"")
    assert store.highest_run_number(ws.run_dir) == 17
    assert ws.new_run_path("Next run").name == "018-next-run.duckdb"
    assert ws.new_run_path("x").name == "019-x.duckdb"


# -- trace files written elsewhere are read read-only ----------------------------------------------------
WRITER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from s3core import runner, scenario as S
    from s3core.engine import Simulation
    from s3core.synthetic import synthetic_network
    net = synthetic_network(200, mean_followees=5.0, rng=np.random.default_rng(1))
    scenario = S.load("data/scenarios/default.toml").replace(interventions=(), name="dead-writer")
    sim, store = runner.open_run(scenario, sys.argv[1], sim=Simulation(scenario, network=net))
    for _ in range(3):
        runner.record(sim, store, sim.step(), 99)
    os._exit(0)  # dies holding the file: no close, the write-ahead log and lock file stay behind
    """
)


def test_a_trace_left_by_a_dead_process_is_listed_and_read_read_only(runs_dir):
    ws = new_workspace()
    path = ws.run_dir / "001-dead-writer.duckdb"
    ws.run_dir.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, check=True, timeout=120)
    assert path.exists() and store.highest_run_number(ws.run_dir) == 1
    (run,) = traces.list_runs(ws)
    assert (run.name, run.steps, run.status, run.busy) == (
        "dead-writer",
        3,
        "unfinished (its process ended mid-run)",
        "",
    )
    assert len(traces.metrics(ws, path)) == 3
    with duckdb.connect(str(path), read_only=True) as con:  # this process reads it read-only too
        assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == 3


def test_a_trace_another_writer_holds_is_listed_as_in_use(runs_dir):
    ws = new_workspace()
    ws.run_dir.mkdir(parents=True)
    path = ws.run_dir / "001-held.duckdb"
    duckdb.connect(str(path)).close()
    with TraceLock(path).acquire():
        (run,) = traces.list_runs(ws)
        assert run.busy and "in use" in run.status
        with pytest.raises(W.DeleteRefused, match="being written"):
            W.delete_run(path, ws.open_runs())


# -- cleanup of old workspaces ------------------------------------------------------------------------------
def _aged(base: Path, name: str, days: float) -> Path:
    path = base / name
    (path / "experiments" / "x").mkdir(parents=True)
    (path / "001-a.duckdb").write_bytes(b"x")
    (path / "experiments" / "x" / "experiment.toml").write_text("", encoding="utf-8")
    when = time.time() - days * DAY
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when))
    return path


def test_cleanup_deletes_only_old_unused_workspace_folders(runs_dir):
    old = _aged(runs_dir, "1" * 32, 20)
    fresh = _aged(runs_dir, "2" * 32, 3)
    busy = _aged(runs_dir, "3" * 32, 20)
    writing = _aged(runs_dir, "4" * 32, 20)
    other = _aged(runs_dir, "not-a-workspace", 90)
    with TraceLock(writing / "001-a.duckdb").acquire():
        removed = store.cleanup(runs_dir, 14, busy={"3" * 32})
    assert removed == [old] and not old.exists()
    assert fresh.exists() and busy.exists() and writing.exists() and other.exists()
    assert store.cleanup(runs_dir, 0) == []  # 0 turns cleanup off
    assert store.cleanup(runs_dir, 1) == [fresh, busy]  # ``writing`` was used just now (its lock came and went)


def test_cleanup_age_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(store.MAX_AGE_ENV, "2.5")
    assert store.max_age_days() == 2.5
    monkeypatch.setenv(store.MAX_AGE_ENV, "two weeks")
    with pytest.raises(store.WorkspaceError, match="S3_WORKSPACE_MAX_AGE_DAYS"):
        store.max_age_days()
    monkeypatch.delenv(store.MAX_AGE_ENV)
    assert store.max_age_days() == store.DEFAULT_MAX_AGE_DAYS


def test_the_sweep_runs_at_most_once_an_hour_and_spares_workspaces_in_use(runs_dir, monkeypatch):
    reg = store.Registry()
    old, used = _aged(runs_dir, "5" * 32, 30), _aged(runs_dir, "6" * 32, 30)
    reg.adopt(_Fake("6" * 32, busy=True))
    thread = reg.housekeeping(runs_dir)
    thread.join(30)
    assert not old.exists() and used.exists()
    again = _aged(runs_dir, "7" * 32, 30)
    assert reg.housekeeping(runs_dir) is None and again.exists()  # not due for an hour
    monkeypatch.setattr(store, "CLEANUP_EVERY", 0.0)
    monkeypatch.setenv(store.MAX_AGE_ENV, "0")
    assert reg.housekeeping(runs_dir) is None and again.exists()  # due, but turned off


# -- the Runs page ---------------------------------------------------------------------------------------------
def test_runs_page_lists_opens_exports_and_deletes_with_confirmation(runs_dir):
    at = app("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    at.button(key="sim_step").click().run()
    at.button(key="sim_reset").click().run()  # closes the first run; the new one is open (no steps yet)
    at.button(key="sim_step").click().run()
    first, live = sorted(ws.run_dir.glob("*.duckdb"))
    at.switch_page("pages/8_Runs.py").run()
    table = at.dataframe[0].value
    assert table["run"].tolist() == [live.stem, first.stem] and set(table["steps"]) == {1}
    assert table["size"].str.endswith("B").all() and table["created (UTC)"].str.len().min() > 0
    # The open interactive run cannot be downloaded as a file or deleted.
    assert at.selectbox(key="runs_pick").value == live.stem
    assert at.get("download_button")[0].proto.disabled
    delete = at.button(key="runs_delete")
    assert delete.disabled and "press Reset on Simulate first" in delete.help
    assert live.exists()
    # A closed run: delete asks first; Cancel keeps it, Yes deletes it.
    at.selectbox(key="runs_pick").set_value(first.stem).run()
    assert not at.get("download_button")[0].proto.disabled
    at.button(key="runs_delete").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="runs_run_no").click().run()
    assert first.exists() and not any("cannot be undone" in w.value for w in at.warning)
    at.button(key="runs_open").click().run()
    assert not at.exception  # AppTest does not follow st.switch_page; the browser test does (Open -> Traces)
    at.session_state[HANDOFF_KEY] = ("Traces", {"tr_run": first.stem})  # what Open hands to Traces
    at.switch_page("pages/6_Traces.py").run()
    assert at.selectbox(key="tr_run").value == first.stem
    at.switch_page("pages/8_Runs.py").run()
    assert at.multiselect(key="runs_compare_pick").value == [live.stem, first.stem]
    at.button(key="runs_compare").click().run()
    assert not at.exception
    at.session_state[HANDOFF_KEY] = ("Compare", {"cmp_runs": [first.stem, live.stem]})  # what Compare gets
    at.switch_page("pages/5_Compare.py").run()
    assert at.multiselect(key="cmp_runs").value == [first.stem, live.stem]
    at.switch_page("pages/8_Runs.py").run()
    at.selectbox(key="runs_pick").set_value(first.stem).run()
    at.button(key="runs_delete").click().run()
    at.button(key="runs_run_yes").click().run()
    assert not first.exists() and any("Deleted" in s.value for s in at.success)
    assert at.dataframe[0].value["run"].tolist() == [live.stem]


def test_runs_page_lists_experiments_and_opens_a_finished_one_on_compare(runs_dir):
    at = app()
    ws = at.session_state[STATE_KEY]
    folder = ws.run_dir / "experiments" / "demo-60steps-0123456789"
    folder.mkdir(parents=True)
    (folder / "experiment.toml").write_text(
        'name = "demo"\nseeds = 3\nsteps = 60\n[[arms]]\nname = "baseline"\n[[arms]]\nname = "treated"\n',
        encoding="utf-8",
    )
    (folder / "experiment.duckdb").write_bytes(b"")
    (folder / "report.html").write_text("<html></html>", encoding="utf-8")
    at.switch_page("pages/8_Runs.py").run()
    row = at.dataframe[-1].value.iloc[0]
    assert (row["experiment"], row["status"], row["arms"], row["seeds"], row["steps"]) == (
        "demo",
        "unfinished",
        "baseline, treated",
        3,
        60,
    )
    assert at.button(key="runs_exp_open").disabled  # no report yet
    at.button(key="runs_exp_delete").click().run()
    at.button(key="runs_experiment_yes").click().run()
    assert not folder.exists()
