"""A scenario file means the same network everywhere: every network source survives download and upload.

At the s3core level (scenario -> TOML -> parse -> build_network, as ``s3core run`` builds it) and
through the dashboard's own functions (load a network, download the scenario, upload and apply it
in a workspace): the same edge count, the same user ids and the same edges.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.network import Network
from s3core.sources import build_network, load_network, network_rng
from ui import networks, scenario_io
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "tests" / "valid"
DATASETS = ROOT.parent / "shared" / "datasets"


def same_network(a: Network, b: Network) -> None:
    """Equal edge count, user ids (in order) and edges, reciprocity marks included."""
    assert a.n_edges == b.n_edges and a.n_users == b.n_users
    assert np.array_equal(a.user_ids.astype(str), b.user_ids.astype(str))
    assert np.array_equal(a.follower_ptr, b.follower_ptr)
    assert np.array_equal(a.follower_idx, b.follower_idx)
    assert np.array_equal(a.follower_mutual, b.follower_mutual)


def through_toml(scenario: S.Scenario, base_dir: Path) -> S.Scenario:
    """Written as a file beside its network files would be, and read back."""
    path = base_dir / "scenario.toml"
    path.write_text(S.dumps(scenario), encoding="utf-8")
    return S.load(path)


def cli_network(scenario: S.Scenario) -> Network:
    return load_network(scenario)


# -- s3core: every source, scenario -> TOML -> parse -> network ------------------------------------------
def _files_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "net"
    folder.mkdir()
    for name in ("edges.csv", "users.csv", "posts.csv", "graph.graphml", "graph.gexf"):
        shutil.copy(VALID / name, folder / name)
    return folder


SPECS = {
    "bundled": dict(source="bundled"),
    "bundled-augmented": dict(source="bundled", augment_followees=3.0),
    "synthetic-graph-seed": dict(source="synthetic", n_users=2000, tail_exponent=2.5, graph_seed=13),
    "synthetic-run-seed": dict(source="synthetic", n_users=1500, mean_followees=6.0, reciprocity=0.2),
    "files": dict(source="files", edges="edges.csv", users="users.csv", posts="posts.csv"),
    "graphml": dict(source="graph", graph="graph.graphml"),
    "gexf": dict(source="graph", graph="graph.gexf"),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_every_source_round_trips_through_a_scenario_file(name, tmp_path):
    folder = _files_folder(tmp_path)
    scenario = S.Scenario(seed=21, steps=5, network=S.NetworkSpec(**SPECS[name]), base_dir=str(folder))
    first = build_network(scenario.network, folder, scenario.seed).network
    back = through_toml(scenario, folder)
    assert back.network == scenario.network  # every key the source reads is written
    same_network(cli_network(back), first)


@pytest.mark.skipif(not (DATASETS / "twitter15" / "edges.parquet").exists(), reason="no twitter15 data")
def test_cascades_round_trip(tmp_path):
    spec = S.NetworkSpec(source="cascades", dataset_dir=str(DATASETS), dataset="twitter15", max_edges=300)
    scenario = S.Scenario(seed=3, steps=5, network=spec)
    back = through_toml(scenario, tmp_path)
    assert back.network == spec
    same_network(cli_network(back), build_network(spec, "", 3).network)


def test_the_synthetic_network_of_the_report_keeps_its_tail_exponent_and_seed():
    """2,000 users, tail exponent 2.5, graph seed 13: 19,958 edges, whatever the run seed."""
    spec = S.NetworkSpec(source="synthetic", n_users=2000, tail_exponent=2.5, graph_seed=13)
    assert build_network(spec, "", 0).network.n_edges == 19_958
    assert build_network(spec, "", 99).network.n_edges == 19_958
    assert "tail_exponent = 2.5" in S.dumps(S.Scenario(network=spec))
    assert "graph_seed = 13" in S.dumps(S.Scenario(network=spec))


def test_the_network_stream_is_the_engines(text):
    """A graph drawn from the run seed is the one Simulation builds (its 'network' generator stream)."""
    engine = Simulation._rng(SimpleNamespace(scenario=S.Scenario(seed=17)), "network")
    assert np.array_equal(network_rng(17).integers(0, 2**62, 8), engine.integers(0, 2**62, 8))
    scenario = S.Scenario(seed=17, steps=2, network=S.NetworkSpec(source="synthetic", n_users=300))
    same_network(Simulation(scenario, text=text).network, build_network(scenario.network, "", 17).network)


# -- the dashboard: load, download, upload, apply ---------------------------------------------------------
def workspace(run_dir: Path) -> Workspace:
    return Workspace(session_id="rt", run_dir=run_dir, net=networks.bundled(), scenario=S.load(DEFAULT_SCENARIO))


def download_and_apply(ws: Workspace, into: Workspace, name: str = "down.toml") -> scenario_io.Preview:
    """What the Interventions page does: the downloaded bytes, parsed as an upload, previewed and committed."""
    upload = scenario_io.parse_upload(name, S.dumps(ws.scenario).encode())
    plan = scenario_io.preview(into, upload.scenario, name, upload.network_given)
    scenario_io.commit(into, plan)
    return plan


def _upload(role_files: dict[str, str]) -> dict[str, tuple[str, bytes]]:
    return {role: (f, (VALID / f).read_bytes()) for role, f in role_files.items()}


DASHBOARD = {
    "synthetic": lambda ws: networks.synthetic(2000, 10.0, 0.3, 2.5, 13),
    "upload-csv": lambda ws: networks.load_upload(
        _upload({"edges": "edges.csv", "users": "users.csv", "posts": "posts.csv"}), ws.run_dir / "uploads"
    ),
    "upload-graphml": lambda ws: networks.load_upload(_upload({"graph": "graph.graphml"}), ws.run_dir / "uploads"),
    "upload-gexf": lambda ws: networks.load_upload(_upload({"graph": "graph.gexf"}), ws.run_dir / "uploads"),
}


@pytest.mark.parametrize("source", list(DASHBOARD))
def test_dashboard_round_trip_rebuilds_the_same_network(source, tmp_path):
    """A network loaded on the Network page, downloaded with the scenario and applied in a workspace
    that had another network: the same network comes back, and the CLI builds it too."""
    ws = workspace(tmp_path / "ws")
    ws.use_network(DASHBOARD[source](ws))
    loaded = ws.net
    ws.use_network(networks.bundled())  # the workspace moves on to another network
    saved = workspace(tmp_path / "ws")
    saved.use_network(loaded)
    plan = download_and_apply(saved, ws)
    assert plan.notes == () and ws.net.key == loaded.key
    same_network(ws.net.network, loaded.network)
    # the same file from the command line, beside the workspace's upload folders
    cli = S.dumps(ws.scenario).encode()
    path = (tmp_path / "ws" / "uploads" if source.startswith("upload") else tmp_path) / "down.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cli)
    same_network(cli_network(S.load(path)), loaded.network)


def test_dashboard_round_trip_of_the_bundled_network(tmp_path):
    ws = workspace(tmp_path / "a")
    ws.use_network(networks.synthetic(500, 5.0, 0.3, 2.2, 1))
    source = workspace(tmp_path / "b")
    source.use_network(networks.bundled())  # the default scenario's own [network] augments it (next test)
    plan = download_and_apply(source, ws)
    assert ws.net.key == "bundled" and plan.rows[0][2].startswith("bundled")
    same_network(ws.net.network, networks.bundled().network)


def test_an_augmented_bundled_network_is_built_as_the_cli_builds_it(tmp_path, text):
    """The default scenario's follower graph around the bundled sample (augment_followees): the dashboard
    builds it from the file as ``s3core run`` does, not the plain sample."""
    ws = workspace(tmp_path / "ws")
    ws.use_network(networks.synthetic(500, 5.0, 0.3, 2.2, 1))
    default = S.load(DEFAULT_SCENARIO)
    assert default.network.augment_followees > 0
    scenario_io.apply(ws, default, "default.toml")
    assert ws.scenario.network == default.network and ws.net.key.startswith("bundled-augment")
    same_network(ws.net.network, load_network(default))


def test_synthetic_from_the_run_seed_matches_the_cli(tmp_path, text):
    text_toml = "seed = 5\nsteps = 3\n[network]\nsource = 'synthetic'\nn_users = 400\n"
    ws = workspace(tmp_path / "ws")
    upload = scenario_io.parse_upload("s.toml", text_toml.encode())
    scenario_io.commit(ws, scenario_io.preview(ws, upload.scenario, "s.toml"))
    same_network(ws.net.network, Simulation(S.loads(text_toml), text=text).network)


def test_missing_uploaded_files_keep_the_loaded_network(tmp_path):
    """Another workspace has no such upload: the message says so and the loaded network stays."""
    ws = workspace(tmp_path / "one")
    ws.use_network(networks.load_upload(_upload({"edges": "edges.csv"}), ws.run_dir / "uploads"))
    other = workspace(tmp_path / "two")
    plan = download_and_apply(ws, other)
    assert other.net.key == "bundled" and other.scenario.network.source == "bundled"
    assert "no such uploaded file in this workspace" in plan.notes[0] and "is kept" in plan.notes[0]


@pytest.mark.parametrize(
    "edges,why",
    [("../../../../etc/hostname", "opens only files uploaded"), ("/etc/hostname", "opens only files uploaded")],
)
def test_files_outside_the_workspace_uploads_are_not_opened(edges, why, tmp_path):
    ws = workspace(tmp_path / "ws")
    toml = f"steps = 3\n[network]\nsource = 'files'\nedges = '{edges}'\n"
    plan = scenario_io.preview(ws, scenario_io.parse("x.toml", toml.encode()), "x.toml")
    assert plan.net is ws.net and why in plan.notes[0]


def test_a_bare_file_name_from_an_older_download_finds_its_upload(tmp_path):
    ws = workspace(tmp_path / "ws")
    loaded = networks.load_upload(_upload({"edges": "edges.csv", "users": "users.csv"}), ws.run_dir / "uploads")
    toml = "steps = 3\n[network]\nsource = 'files'\nedges = 'edges.csv'\nusers = 'users.csv'\n"
    scenario_io.apply(ws, scenario_io.parse("old.toml", toml.encode()), "old.toml")
    assert ws.net.key == loaded.key and ws.scenario.network == loaded.spec
    same_network(ws.net.network, loaded.network)


def test_cascades_are_not_opened_by_the_dashboard(tmp_path):
    ws = workspace(tmp_path / "ws")
    toml = "steps = 3\n[network]\nsource = 'cascades'\ndataset_dir = '/tmp'\n"
    plan = scenario_io.preview(ws, scenario_io.parse("c.toml", toml.encode()), "c.toml")
    assert plan.net is ws.net and "s3core run" in plan.notes[0]


# -- the Interventions page: preview, confirm, undo, refusals ---------------------------------------------
@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def interventions_page(ws: Workspace | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "3_Interventions.py"), default_timeout=60)
    if ws is not None:
        at.session_state[STATE_KEY] = ws
    return at.run()


def shown(elements) -> list[str]:
    return [e.value.replace("\\", "") for e in elements]  # markdown escapes removed


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="iv_upload").set_value((name, data, "application/toml")).run()


@pytest.mark.parametrize(
    "data,says", [(b"", "0 bytes"), (b"  \n\t\n", "whitespace only"), (b"# notes\n", "sets nothing")]
)
def test_an_empty_scenario_file_is_refused_and_changes_nothing(data, says, runs_dir):
    at = interventions_page()
    ws = at.session_state[STATE_KEY]
    before = ws.scenario
    at = upload(at, "empty.toml", data)
    errors = shown(at.error)
    assert any("empty.toml" in e and says in e and "unchanged" in e for e in errors), errors
    assert at.button(key="iv_apply_upload").disabled
    assert at.session_state[STATE_KEY].scenario is before and len(before.interventions) == 4


def test_a_partial_file_keeps_an_uploaded_network_previews_and_undoes(runs_dir, tmp_path):
    """No [network]: the uploaded network stays (and the page says so); the preview lists what changes;
    nothing changes before the confirm; undo brings back the network and scenario exactly."""
    ws = workspace(tmp_path / "ws")
    ws.use_network(networks.load_upload(_upload({"edges": "edges.csv"}), ws.run_dir / "uploads"))
    before_net, before_scenario = ws.net, ws.scenario
    at = upload(interventions_page(ws), "partial.toml", b"steps = 12\nseed = 3\n")
    assert any("partial.toml has no [network] section" in i and "is kept" in i for i in shown(at.info))
    table = at.table[-1].value
    rows = {setting: (r["now"], r["after applying"]) for setting, r in table.iterrows()}
    assert rows["network"][1] == "kept"
    assert rows["interventions"] == ("4", "0") and rows["steps"] == ("180", "12") and rows["seed"] == ("7", "3")
    assert ws.scenario is before_scenario  # shown, not applied
    at.button(key="iv_apply_upload").click().run()
    ws = at.session_state[STATE_KEY]
    assert ws.net is before_net and ws.scenario.steps == 12 and ws.scenario.interventions == ()
    assert ws.scenario.network == before_net.spec
    assert any("Applied partial.toml" in m for m in shown(at.success))
    at.button(key="iv_undo").click().run()
    ws = at.session_state[STATE_KEY]
    assert ws.net is before_net and ws.scenario is before_scenario
    assert not any(b.key == "iv_undo" for b in at.button)


def test_applying_a_downloaded_synthetic_scenario_through_the_page(runs_dir, tmp_path):
    source = workspace(tmp_path / "a")
    source.use_network(networks.synthetic(2000, 10.0, 0.3, 2.5, 13))
    at = upload(interventions_page(), "syn.toml", S.dumps(source.scenario).encode())
    after = at.table[-1].value.loc["network", "after applying"]
    assert "19,958 follow edges" in after and "tail exponent 2.5" in after
    at.button(key="iv_apply_upload").click().run()
    ws = at.session_state[STATE_KEY]
    assert ws.net.network.n_edges == 19_958 and ws.scenario.network.graph_seed == 13
    assert any("is applied" in c for c in shown(at.caption))  # the same file is not offered again


def test_an_intervention_after_the_last_step_is_kept_with_a_warning(runs_dir, tmp_path):
    ws = workspace(tmp_path / "ws")
    ws.scenario = ws.scenario.replace(steps=40)  # the default's correction (36) fits, its label (48) does not
    at = interventions_page(ws)
    warnings = shown(at.warning)
    assert any("#3 moderation (label) of seed 'rumour' at step 48" in w and "last step (step 39" in w for w in warnings)
    at.number_input(key="iv_boost_step").set_value(45)
    at.button(key="iv_boost_add").click().run()
    ws = at.session_state[STATE_KEY]
    assert len(ws.scenario.interventions) == 5 and ws.scenario.interventions[-1].step == 45
    assert any(w.startswith("Added boost at step 45, but #4 boost") for w in shown(at.warning))


def test_remove_picker_names_seeds_and_a_first_seed_is_a_boost_target_at_once(runs_dir, tmp_path):
    ws = workspace(tmp_path / "ws")
    at = interventions_page(ws)
    options = at.multiselect(key="iv_remove_pick").options
    assert options[:2] == ["#0 seed 'rumour' at step 0", "#1 seed 'correction' at step 36"]
    ws.scenario = ws.scenario.replace(interventions=())
    at.run()
    assert at.radio(key="iv_boost_target_kind").value == "seed post" and at.button(key="iv_boost_add").disabled
    at.text_input(key="iv_seed_name").set_value("first")
    at.text_area(key="iv_seed_text").set_value("The first seed post.")
    next(b for b in at.button if b.label == "Add seed post").click().run()
    assert at.selectbox(key="iv_boost_target_seed").options == ["first"]
    assert not at.button(key="iv_boost_add").disabled


def test_an_experiment_of_the_current_scenario_reads_the_uploaded_files(tmp_path):
    """The Compare page writes the current scenario for an experiment elsewhere, with absolute paths
    to the workspace's upload folder: they name the uploaded files, and build the same network."""
    from ui import experiment_jobs as EJ

    ws = workspace(tmp_path / "ws")
    ws.use_network(networks.load_upload(_upload({"graph": "graph.graphml"}), ws.run_dir / "uploads"))
    source = EJ.current_source(ws.scenario, scenario_io.event_seeds(ws.scenario), ws.run_dir / "uploads")
    written = S.loads(source.scenario_text, base_dir=str(tmp_path / "elsewhere"))
    assert Path(written.network.graph).is_file()
    same_network(build_network(written.network, tmp_path / "elsewhere", written.seed).network, ws.net.network)


def test_a_new_run_seed_redraws_a_network_drawn_from_it(runs_dir, tmp_path):
    ws = workspace(tmp_path / "ws")
    toml = "seed = 5\nsteps = 3\n[network]\nsource = 'synthetic'\nn_users = 400\n"
    scenario_io.apply(ws, scenario_io.parse("s.toml", toml.encode()), "s.toml")
    at = interventions_page(ws)
    at.number_input(key="iv_seed").set_value(6)
    next(b for b in at.button if b.label == "Apply settings").click().run()
    ws = at.session_state[STATE_KEY]
    assert ws.scenario.seed == 6 and ws.net.key.endswith("-run6")
    same_network(ws.net.network, build_network(ws.scenario.network, "", 6).network)


def test_a_file_without_network_and_a_new_seed_redraws_a_network_drawn_from_the_seed(tmp_path):
    ws = workspace(tmp_path / "ws")
    toml = "seed = 5\nsteps = 3\n[network]\nsource = 'synthetic'\nn_users = 400\n"
    scenario_io.apply(ws, scenario_io.parse("s.toml", toml.encode()), "s.toml")
    upload = scenario_io.parse_upload("p.toml", b"seed = 8\nsteps = 3\n")
    plan = scenario_io.preview(ws, upload.scenario, "p.toml", upload.network_given)
    assert "redrawn from the new seed 8" in plan.notes[0] and plan.net.key.endswith("-run8")
    same_network(plan.net.network, load_network(plan.scenario))


def settings_form(at: AppTest) -> tuple:
    return (at.text_input(key="iv_name").value, at.number_input(key="iv_steps").value)


def test_the_settings_form_follows_apply_and_undo_and_never_writes_back_stale_values(runs_dir, tmp_path):
    """After an upload is applied or undone the form shows the current scenario, and Apply settings keeps it."""
    ws = workspace(tmp_path / "ws")
    before = ws.scenario
    at = interventions_page(ws)
    assert settings_form(at) == ("default", 180)
    at = upload(at, "water.toml", b"name = 'water-test'\nsteps = 240\nseed = 7\n")
    at.button(key="iv_apply_upload").click().run()
    assert at.session_state[STATE_KEY].scenario.name == "water-test"
    assert settings_form(at) == ("water-test", 240)
    at.button(key="iv_undo").click().run()
    assert at.session_state[STATE_KEY].scenario is before
    assert settings_form(at) == ("default", 180)
    next(b for b in at.button if b.label == "Apply settings").click().run()
    after = at.session_state[STATE_KEY].scenario
    assert (after.name, after.steps, after.seed) == ("default", 180, 7)
    assert settings_form(at) == ("default", 180)


def test_an_apply_after_the_scenario_changed_elsewhere_writes_nothing(runs_dir, tmp_path):
    ws = workspace(tmp_path / "ws")
    at = interventions_page(ws)
    at.number_input(key="iv_steps").set_value(99)
    ws.scenario = ws.scenario.replace(name="elsewhere", steps=50)  # e.g. the example loaded from another tab
    next(b for b in at.button if b.label == "Apply settings").click().run()
    assert (ws.scenario.name, ws.scenario.steps) == ("elsewhere", 50)
    assert settings_form(at) == ("elsewhere", 50)
    assert any("changed since this form was shown" in w for w in shown(at.warning))


def test_the_schedule_shows_no_none_where_a_kind_has_no_strength(runs_dir, tmp_path):
    frame = scenario_io.schedule_frame(S.load(DEFAULT_SCENARIO).interventions)
    assert frame["strength"].tolist() == ["", "", "0.0083", ""]
    assert not frame.isna().any().any()


def test_an_augmented_networks_label_gives_the_target_and_the_measured_mean(tmp_path, text):
    ws = workspace(tmp_path / "ws")
    scenario_io.apply(ws, S.load(DEFAULT_SCENARIO), "default.toml")
    net = ws.net.network
    measured = f"{net.n_edges / net.n_users:.2f}"  # the Network page's "Mean followees"
    assert f"augmented to a target of 3.26 followees each (measured {measured})" in ws.net.label
