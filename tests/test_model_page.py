"""The Model page shows the equations with the scenario's current values; "Try the example" starts a shipped run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from s3core import scenario as S
from ui import example, model_facts, model_page, scenario_io
from ui.networks import bundled
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def workspace(tmp_path, scenario: S.Scenario | None = None) -> Workspace:
    return Workspace(
        session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=scenario or S.load(DEFAULT_SCENARIO)
    )


def model(ws: Workspace) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "9_Model.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    return at.run()


def latex(at: AppTest) -> str:
    return "\n".join(e.value for e in at.latex)


def table(at: AppTest, first_parameter: str):
    for frame in at.dataframe:
        df = frame.value
        if "parameter" in df.columns and df["parameter"].iloc[0] == first_parameter:
            return df.set_index("parameter")
    raise AssertionError(f"no parameter table starting with {first_parameter}")


def test_the_page_renders_every_module_with_the_current_values(tmp_path):
    ws = workspace(tmp_path)
    at = model(ws)
    assert not at.exception, at.exception
    assert at.title[0].value == "Model"
    shown = latex(at)
    for needle in (
        r"p_{\mathrm{echo}}",
        r"\delta",
        r"\operatorname{logit}",
        r"2^{-\Delta t",
        "U_{\\mathrm{quote}}",
        "w =",
    ):
        assert needle in shown, needle
    sc = ws.scenario
    assert f"{{{sc.policy.base_repost:.4g}}}" in shown, "the Weibo fit's repost propensity, not the default"
    assert sc.policy.base_repost != S.Scenario().policy.base_repost
    assert table(at, "policy.base_repost").loc["policy.base_repost", "changed"] == "yes"
    assert any("weibo-ced calibration" in i.value for i in at.info), "the scenario is recognised as the Weibo fit"
    text = " ".join(m.value for m in at.markdown)
    assert "arXiv:2307.14984" in text and "arXiv:2502.12073" in text and "arXiv:1811.04175" in text
    assert any("gao2023s3" in c.value for c in at.code)


def test_a_changed_parameter_shows_its_new_value(tmp_path):
    ws = workspace(tmp_path)
    at = model(ws)
    before = latex(at)
    assert "{0.37}" not in before and "{0.37}" not in str(table(at, "emotion.decay").loc["emotion.decay", "value"])
    ws.scenario = ws.scenario.replace(emotion=replace(ws.scenario.emotion, decay=0.37))
    at.run()
    assert not at.exception
    shown = latex(at)
    assert r"\delta = {0.37}" in shown
    row = table(at, "emotion.decay").loc["emotion.decay"]
    assert row["value"] == "0.37" and row["default"] == "0.25" and row["changed"] == "yes"


def test_without_a_fit_the_page_says_nothing_of_one(tmp_path):
    at = model(workspace(tmp_path, S.Scenario()))
    assert not at.exception
    assert not any("calibration (data/params" in i.value for i in at.info)
    assert model_facts.matching_fit(S.Scenario()) is None
    assert model_facts.matching_fit(S.load(DEFAULT_SCENARIO)) == "weibo-ced"


def test_parameter_tables_cover_every_field():
    df = model_page.parameter_table("memory", S.Scenario().memory)
    assert list(df["parameter"])[:2] == ["memory.capacity", "memory.half_life"]
    assert (df["changed"] == "").all() and df["meaning"].str.len().min() > 10


def test_the_page_says_the_text_pool_follows_the_events_language(tmp_path):
    at = model(workspace(tmp_path))
    text = " ".join(m.value for m in at.markdown)
    for needle in ("the Chinese Weibo pool", "English pool", "Twitter15", "multilingual E5", "mixed-language"):
        assert needle in text, needle
    assert "take a real text from the Weibo pool" not in " ".join(text.split())
    assert "offensive" in text and "alt-profanity-check" in text  # the limitation is named


def test_a_one_step_recommender_window_is_said_in_the_singular(tmp_path):
    ws = workspace(tmp_path)
    ws.scenario = ws.scenario.replace(platform=replace(ws.scenario.platform, recommend_window=1))
    text = " ".join(m.value for m in model(ws).markdown)
    assert "most popular of the last step," in text and "last 1 steps" not in text


EXAMPLE_SCRIPT = """
from ui.example import render_try_example
from ui.session import ensure_defaults

render_try_example(ensure_defaults())
"""


def test_try_the_example_loads_the_shipped_scenario_starts_it_and_switches_to_simulate(tmp_path, monkeypatch):
    switched = []
    monkeypatch.setattr(st, "switch_page", switched.append)  # the script runs in this process
    ws = workspace(tmp_path, S.Scenario(name="mine", steps=5))
    at = AppTest.from_string(EXAMPLE_SCRIPT, default_timeout=120)
    at.session_state[STATE_KEY] = ws
    at.run()
    assert ws.live is None
    try:
        at.button(key="try_example").click().run()
        assert ws.scenario.name == "mine", "asks first: the user's scenario differs from the example"
        warning = at.warning[0].value.replace("\\", "")
        assert "This replaces your scenario 'mine'" in warning and "Your runs stay on Runs" in warning
        at.button(key="try_example_confirm").click().run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert ws.scenario.name == "default" and len(ws.scenario.interventions) == len(
            S.load(DEFAULT_SCENARIO).interventions
        )
        live = ws.live
        assert live is not None and live.target == ws.scenario.steps == 180
        assert live.running or live.steps_done > 0
        assert any("Loaded the example default.toml" in m for _, m in ws.flash)
        assert any(
            "replaced your scenario 'mine'" in m and "'Undo last apply' on Interventions" in m for _, m in ws.flash
        )
        assert switched == [example.SIMULATE_PAGE] and (ROOT / example.SIMULATE_PAGE).exists()
        assert at.session_state[example.UNDO_KEY].scenario.name == "mine"
    finally:
        if ws.live is not None:
            ws.live.stop()
            ws.live.close()


def test_the_example_is_undone_by_the_interventions_pages_undo(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "switch_page", lambda page: None)
    net = bundled()
    ws = Workspace(session_id="test", run_dir=tmp_path / "ws", net=net, scenario=S.Scenario(name="mine", steps=5))
    before = ws.scenario
    at = AppTest.from_string(EXAMPLE_SCRIPT, default_timeout=120)
    at.session_state[STATE_KEY] = ws
    at.run()
    try:
        at.button(key="try_example").click().run()
        at.button(key="try_example_confirm").click().run()
        assert ws.scenario.name == "default"
        ws.live.stop()
        page = AppTest.from_file(str(ROOT / "pages" / "3_Interventions.py"), default_timeout=60)
        page.session_state[STATE_KEY] = ws
        page.session_state[example.UNDO_KEY] = at.session_state[example.UNDO_KEY]
        page.run()
        assert page.text_input(key="iv_name").value == "default"
        page.button(key="iv_undo").click().run()
        assert ws.scenario is before and ws.net is net
        assert page.text_input(key="iv_name").value == "mine"
    finally:
        if ws.live is not None:
            ws.live.stop()
            ws.live.close()


def test_the_example_asks_nothing_when_nothing_of_the_users_is_replaced_and_cancel_keeps_all(tmp_path, monkeypatch):
    switched = []
    monkeypatch.setattr(st, "switch_page", switched.append)
    ws = workspace(tmp_path, S.Scenario(name="mine", steps=5))
    at = AppTest.from_string(EXAMPLE_SCRIPT, default_timeout=120)
    at.session_state[STATE_KEY] = ws
    at.run()
    at.button(key="try_example").click().run()
    at.button(key="try_example_cancel").click().run()
    assert ws.scenario.name == "mine" and not at.warning and switched == []
    fresh = workspace(tmp_path / "fresh")  # a new workspace: the default scenario on the bundled network, never run
    assert example.replaced(fresh) == []
    at = AppTest.from_string(EXAMPLE_SCRIPT, default_timeout=120)
    at.session_state[STATE_KEY] = fresh
    at.run()
    try:
        at.button(key="try_example").click().run()
        assert fresh.scenario.name == "default" and fresh.live is not None and switched == [example.SIMULATE_PAGE]
    finally:
        fresh.live.stop()
        fresh.live.close()


def test_try_the_example_refuses_while_a_run_is_going(tmp_path):
    ws = workspace(tmp_path, S.Scenario(name="mine", steps=5))
    at = AppTest.from_string(EXAMPLE_SCRIPT, default_timeout=120)
    at.session_state[STATE_KEY] = ws
    at.run()
    live = ws.live_run()
    live.set_speed(1.0)
    live.start(5)
    try:
        at.button(key="try_example").click().run()
        assert len(at.error) == 1 and "a run is in progress; stop it on Simulate first" in at.error[0].value
        assert ws.scenario.name == "mine", "nothing changed"
    finally:
        live.stop()
        live.close()


def test_the_overview_counts_the_loaded_network_as_the_network_page_does(tmp_path):
    """After the example the Overview's follow edges and mean followees are the loaded (augmented) network's."""
    ws = workspace(tmp_path)
    scenario_io.apply(ws, S.load(DEFAULT_SCENARIO), "default.toml")  # what Try the example loads
    net = ws.net.network
    pages = {}
    for name, path in (("overview", "app.py"), ("network", "pages/1_Network.py")):
        at = AppTest.from_file(str(ROOT / path), default_timeout=120)
        at.session_state[STATE_KEY] = ws
        at.run()
        assert not at.exception, at.exception
        pages[name] = {m.label: m.value for m in at.metric}
    for shown in pages.values():
        assert (
            shown["Follow edges"] == f"{net.n_edges:,}"
            and shown["Mean followees"] == f"{net.n_edges / net.n_users:.2f}"
        )
    assert net.n_edges > bundled().network.n_edges  # the augmented graph, not the plain sample


def test_the_overview_says_why_a_new_workspaces_network_differs_from_the_examples(tmp_path):
    ws = workspace(tmp_path)  # a new workspace: scenario 'default' on the plain bundled sample
    assert "augments the follower graph to 3.26 followees each" in example.network_note(ws)
    scenario_io.apply(ws, S.load(DEFAULT_SCENARIO), "default.toml")
    assert example.network_note(ws) is None
