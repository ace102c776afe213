"""Dashboard smoke tests with Streamlit's AppTest: pages load, Step and Stop work, bad files never crash.

Each test gets its own runs folder (S3_RUNS_DIR) and each AppTest its own session.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from s3core import scenario as S
from s3core.interventions import SeedPost
from ui import netview, scenario_io, traces
from ui.export import csv_bytes, html_bytes, parquet_bytes, png_bytes, png_status
from ui.networks import bundled
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "app.py",
    "pages/1_Network.py",
    "pages/2_Agents.py",
    "pages/3_Interventions.py",
    "pages/4_Simulate.py",
    "pages/5_Compare.py",
    "pages/6_Traces.py",
]
VALID = ROOT / "tests" / "valid"
MALFORMED = ROOT / "tests" / "malformed"


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def page(path: str, ws: Workspace | None = None) -> AppTest:
    """A page run in a fresh session, optionally sharing a workspace made by an earlier page."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    if ws is not None:
        at.session_state[STATE_KEY] = ws
    return at.run()


def workspace(tmp_path) -> Workspace:
    return Workspace(session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))


def points(at: AppTest, title: str, trace: int = -1) -> int:
    """Number of points in one trace of the chart with this title (plotly may encode arrays as base64)."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            x = spec["data"][trace]["x"] if spec["data"] else []
            if isinstance(x, dict):
                return len(np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"])))
            return len(x)
    raise AssertionError(f"no chart titled {title!r}")


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads(path):
    assert_clean(page(path))


@pytest.mark.parametrize(
    "path,key,tab",
    [
        ("pages/1_Network.py", "net_tabs", "Categories"),
        ("pages/1_Network.py", "net_tabs", "Demographics"),
        ("pages/1_Network.py", "net_tabs", "Graph view"),
        ("pages/2_Agents.py", "agents_pop_tabs", "Initial attitude and emotion"),
        ("pages/4_Simulate.py", "sim_tabs", "Network view"),
    ],
)
def test_every_tab_renders(path, key, tab):
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.session_state[key] = tab
    assert_clean(at.run())
    if tab in ("Graph view", "Network view"):
        views = [c for c in at.get("plotly_chart") if '"network_nodes"' in c.proto.spec]
        assert len(views) == 1, "the network view is drawn"
    else:
        assert at.get("plotly_chart")


def test_main_widgets_exist():
    at = page("pages/4_Simulate.py")
    assert [at.button(key=k).label for k in ("sim_step", "sim_run", "sim_stop", "sim_reset")] == [
        "Step",
        "Run",
        "Stop",
        "Reset",
    ]
    assert (
        at.number_input(key="sim_n").value == S.load(ROOT / "data" / "scenarios" / "default.toml").steps
    )  # the default run is one scenario length
    assert at.button(key="sim_stop").disabled
    at = page("pages/1_Network.py")
    assert at.radio(key="net_source").value == "bundled"
    assert at.metric[0].value == "10,095"
    at = page("pages/3_Interventions.py")
    assert at.get("download_button") and at.button(key="iv_apply_upload").disabled
    at = page("pages/2_Agents.py")
    decay = at.slider(key="agents_emotion_decay")
    assert (decay.min, decay.max, decay.value) == (0.0, 1.0, 0.25) and "decay" in decay.help


def test_step_updates_charts_and_trace():
    at = page("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    assert points(at, "Spread") == 0
    at.button(key="sim_step").click().run()
    assert_clean(at)
    assert ws.live.steps_done == 1 and ws.live.metrics[0]["aware"] > 0
    assert points(at, "Spread") == 1
    at.button(key="sim_step").click().run()
    assert points(at, "Spread") == 2 and points(at, "Emotion density", 0) == 2
    assert traces.metrics(ws, ws.live.path)["step"].tolist() == [0, 1]
    assert any("-badge[" in m.value for m in at.markdown), "the feed shows action badges"
    # The inspector (default tab) shows the newest poster: its memory pool with every factor, and its last decision.
    frames = [d.value for d in at.dataframe]
    pool = next(f for f in frames if "influence" in f.columns)
    assert len(pool) and {"time factor", "relevance", "source authenticity", "source"} <= set(pool.columns)
    assert any("input" in f.columns for f in frames)


def test_n_steps_keeps_the_users_choice_across_other_pages():
    at = page("pages/4_Simulate.py")
    at.number_input(key="sim_n").set_value(25).run()
    kept = at.session_state["sim_n_chosen"]
    assert kept == 25
    # Streamlit drops the widget's own state while another page is open; the page comes back to the choice
    back = AppTest.from_file(str(ROOT / "pages/4_Simulate.py"), default_timeout=60)
    back.session_state[STATE_KEY] = at.session_state[STATE_KEY]
    back.session_state["sim_n_chosen"] = kept
    back.run()
    assert back.number_input(key="sim_n").value == 25 and not back.exception


def test_run_then_stop_within_a_step():
    at = page("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    at.number_input(key="sim_n").set_value(100_000)
    at.button(key="sim_run").click().run()
    live = ws.live
    assert live.running and not at.button(key="sim_stop").disabled
    time.sleep(0.5)
    started = time.perf_counter()
    at.button(key="sim_stop").click().run()
    assert not live.running and time.perf_counter() - started < 5
    assert 0 < live.steps_done < 100_000
    recorded = traces.metrics(ws, live.path)
    assert len(recorded) == live.steps_done == live.sim.step_index  # trace and model agree after Stop
    assert not at.button(key="sim_run").disabled


def test_reset_starts_a_new_run_and_keeps_the_old():
    at = page("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    at.button(key="sim_step").click().run()
    first = ws.live.path
    at.button(key="sim_reset").click().run()
    assert_clean(at)
    assert ws.live.steps_done == 0 and ws.live.path != first
    assert [r.path for r in traces.list_runs(ws)] == [first]


def test_post_text_is_plain_text(tmp_path):
    at = page("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    markup = "<script>alert(1)</script> **not bold**"
    ws.scenario = ws.scenario.replace(interventions=(SeedPost(step=0, text=markup, name="m"),))
    at.button(key="sim_reset").click().run()
    at.button(key="sim_step").click().run()
    assert markup in [t.value for t in at.text]


def test_bad_upload_shows_error_and_keeps_network(tmp_path):
    ws = workspace(tmp_path)
    error = ws.load_upload({"edges": ("edges.csv", (MALFORMED / "edges_self_loop.csv").read_bytes())})
    assert error and "edges.csv" in error and "line" in error and "Fix:" in error
    assert ws.net.key == "bundled"
    for files in (
        {"users": ("users.csv", b"user_id\na\n")},
        {"graph": ("g.graphml", b"<graphml><graph>")},
        {"edges": ("e.csv", b"\xff\xfe\x00garbage")},
    ):
        assert ws.load_upload(files) and ws.net.key == "bundled"
    good = {role: (f"{role}.csv", (VALID / f"{role}.csv").read_bytes()) for role in ("edges", "users", "posts")}
    assert ws.load_upload(good) is None and ws.net.network.n_users >= 2 and ws.net.key.startswith("upload-")


def test_bad_upload_on_the_page():
    at = page("pages/1_Network.py")
    at.radio(key="net_source").set_value("upload").run()
    at.file_uploader(key="net_up_edges").set_value(("edges.csv", b"follower,followee\nalice,alice\n", "text/csv"))
    at.run()
    at.button(key="net_load_upload").click().run()
    assert_clean(at)
    shown = [e.value.replace("\\", "") for e in at.error]  # markdown escapes removed
    assert any("edges.csv" in m and "self-loop" in m and "Fix:" in m for m in shown)
    assert at.session_state[STATE_KEY].net.key == "bundled" and at.metric[0].value == "10,095"


def test_scenario_toml_round_trip_and_bad_file(tmp_path):
    ws = workspace(tmp_path)
    with pytest.raises(S.ScenarioError, match="bad.toml"):
        scenario_io.parse("bad.toml", b"name = [unclosed")
    with pytest.raises(S.ScenarioError, match="author"):
        bad = S.dumps(ws.scenario).replace('name = "rumour"', 'name = "rumour"\nauthor = "nobody"')
        scenario_io.apply(ws, scenario_io.parse("s.toml", bad.encode()), "s.toml")
    assert ws.scenario.name == "default"
    text = S.dumps(ws.scenario.replace(name="round-trip")).encode()
    scenario_io.apply(ws, scenario_io.parse("s.toml", text), "s.toml")
    assert ws.scenario.name == "round-trip" and len(ws.scenario.interventions) == 4
    at = page("pages/3_Interventions.py")
    at.file_uploader(key="iv_upload").set_value(("broken.toml", b"steps = 'many'", "application/toml"))
    at.run()
    assert at.button(key="iv_apply_upload").disabled  # the error is shown on upload; nothing to apply
    assert any("broken.toml" in e.value.replace("\\", "") for e in at.error)
    assert at.session_state[STATE_KEY].scenario.name == "default"


def test_sessions_are_isolated():
    one, two = page("pages/4_Simulate.py"), page("pages/4_Simulate.py")
    ws1, ws2 = one.session_state[STATE_KEY], two.session_state[STATE_KEY]
    assert ws1.session_id != ws2.session_id and ws1.run_dir != ws2.run_dir
    one.button(key="sim_step").click().run()
    assert len(traces.list_runs(ws1)) == 1 and traces.list_runs(ws2) == []


def test_compare_with_a_baseline_run():
    at = page("pages/4_Simulate.py")
    ws = at.session_state[STATE_KEY]
    for _ in range(3):
        at.button(key="sim_step").click().run()
    base = ws.start_job(scenario_io.baseline(ws.scenario, scenario_io.event_seeds(ws.scenario)), "no interventions", 3)
    base._thread.join(30)
    assert [type(iv).__name__ for iv in base.sim.scenario.interventions] == ["SeedPost"]
    at = page("pages/5_Compare.py", ws)
    assert_clean(at)
    assert len(at.multiselect(key="cmp_runs").value) == 2
    assert points(at, "Spread", 0) == 3 and len(at.get("plotly_chart")) == 2
    for tab in ("Posts", "States", "Metrics", "Breakdown", "Charts"):
        at = AppTest.from_file(str(ROOT / "pages/6_Traces.py"), default_timeout=60)
        at.session_state[STATE_KEY] = ws
        at.session_state["tr_tabs"] = tab
        assert_clean(at.run())
        assert at.get("download_button"), f"{tab} offers downloads"


def test_exports_and_offline_network_html(tmp_path):
    ws = workspace(tmp_path)
    run = ws.live_run()
    run.step()
    df = traces.metrics(ws, run.path)
    assert csv_bytes(df).startswith(b"\xef\xbb\xbfstep,") and parquet_bytes(df)[:4] == b"PAR1"
    from ui import charts

    fig = charts.spread(df, 60.0)
    assert b"plotly" in html_bytes(fig)[:200_000].lower()
    if png_status() is None:
        assert png_bytes(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    net = ws.net.network
    lay = netview.layout(net, netview.hub_sample(netview.undirected_adjacency(net), 200))
    fig = netview.render(lay, ["#000000"] * 200, ["x"] * 200, np.full(200, 5.0))
    assert fig.layout.meta["network_nodes"] == 200 and len(fig.data[-1].x) == 200
    run.close()
