"""The Compare page: an experiment runs from the page (in its own process) and shows effects with intervals;
single runs are labelled as such and claim no effect.

Each test gets its own runs folder (S3_RUNS_DIR) and each AppTest its own session.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from s3core import scenario as S
from ui import experiment_jobs as EJ
from ui import experiment_view as EV
from ui import scenario_io
from ui.networks import bundled
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "5_Compare.py")
INTERVAL = re.compile(r"^[+\u2212]?\d[\d.]* \[[+\u2212]?\d[\d.]*, [+\u2212]?\d[\d.]*\]$")
TINY = """
name = "tiny"
seed = 3
steps = 30
minutes_per_step = 10
[network]
source = "synthetic"
n_users = 1500
mean_followees = 8.0
[[interventions]]
kind = "seed"
step = 0
name = "event"
text = "日本核电站辐射泄漏，大家注意！"
stance = "negative"
emotion = "intense"
[[interventions]]
kind = "boost"
step = 1
duration = 4
strength = 0.2
post = "event"
"""


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def tiny_workspace(tmp_path) -> Workspace:
    """A workspace on a 1,500-user synthetic network with an event and a boost of it."""
    ws = Workspace(session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    scenario_io.apply(ws, S.loads(TINY, origin="tiny.toml"), "tiny.toml")
    return ws


def open_page(ws: Workspace | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if ws is not None:
        at.session_state[STATE_KEY] = ws
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def run_experiment(at: AppTest, choice: str, seeds: int, steps: int, timeout: float = 120) -> EJ.ExperimentJob:
    """Choose an experiment, set seeds and steps, press Run and wait for its process; the page is rerun after."""
    at.selectbox(key="exp_choice").set_value(choice).run()
    at.slider(key="exp_seeds").set_value(seeds).run()
    at.number_input(key="exp_steps").set_value(steps).run()
    at.button(key="exp_run").click().run()
    assert_clean(at)
    job = at.session_state["exp_job"]
    assert at.button(key="exp_stop").disabled is False or not job.running
    deadline = time.monotonic() + timeout
    while job.running and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not job.running, "the experiment did not finish in time"
    at.run()
    assert_clean(at)
    return job


def effects_table(at: AppTest):
    for frame in (d.value for d in at.dataframe):
        if "effect [95% interval]" in frame.columns:
            return frame
    raise AssertionError("no effects table on the page")


def figures(at: AppTest) -> dict[str, dict]:
    return {
        json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec) for c in at.get("plotly_chart")
    }


@pytest.mark.slow
def test_tiny_experiment_of_the_current_scenario_shows_effects_with_intervals(tmp_path):
    ws = tiny_workspace(tmp_path)
    at = open_page(ws)
    assert_clean(at)
    job = run_experiment(at, EJ.CURRENT, seeds=2, steps=8)
    assert job.succeeded and job.error() is None, job.stderr()
    assert job.out.parent == ws.run_dir / "experiments" and (job.out / "experiment.duckdb").is_file()
    with duckdb.connect(str(job.out / "experiment.duckdb"), read_only=True) as con:
        assert con.execute("SELECT arm, count(*) FROM runs GROUP BY arm ORDER BY arm").fetchall() == [
            ("as configured", 2),
            ("baseline", 2),
        ]

    table = effects_table(at)
    assert set(table["arm"]) == {"as configured"} and (table["seeds"] == 2).all()
    assert all(INTERVAL.match(v) for v in table["effect [95% interval]"]), list(table["effect [95% interval]"])
    reach = table[table["outcome"] == "final reach (share of agents)"].iloc[0]
    assert (
        reach["effect [95% interval]"].startswith("+") and reach["interval excludes 0"] == "yes"
    )  # the boost spreads it

    figs = figures(at)
    mean = next(f for t, f in figs.items() if "mean of 2 seeds, 95% band" in t)
    assert {d["name"] for d in mean["data"]} >= {"baseline", "as configured", "baseline 95% band"}
    assert any("effect (paired by seed), 95% band" in t for t in figs)
    forest = next(f for t, f in figs.items() if t.startswith("Effect on final reach"))
    y_labels = forest["layout"]["yaxis"]["ticktext"]
    assert y_labels[0] == "all agents" and len(y_labels) > 3  # overall, then groups
    assert forest["data"][-1]["error_x"]["type"] == "data"
    assert any("bootstrap" in c.value for c in at.caption)

    at.selectbox(key="exp_outcome").set_value("final_positive").run()
    assert any(t.startswith("Effect on final positive share") for t in figures(at))
    html = job.html()
    assert html.startswith(b"<!DOCTYPE html>") or b"<html" in html[:500]
    assert b"as configured" in html and at.get("download_button")

    # The same setting again only summarises the runs it has (--resume): the same report.
    again = run_experiment(at, EJ.CURRENT, seeds=2, steps=8)
    assert again.out == job.out and again.report()["arms"] == job.report()["arms"]
    assert "experiment: runs 4/4" in again.stderr() and "runs 0/4" not in again.stderr()


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,steps,arm,branch",
    [  # boost.toml runs in the browser test
        ("factcheck", 40, "factcheck", 36),  # the correction comes at step 36 (the label at 48 is left out)
        ("moderation", 52, "remove", 48),
    ],
)
def test_a_shipped_example_runs_from_the_page(name, steps, arm, branch):
    at = open_page()
    assert at.selectbox(key="exp_choice").value == "boost"
    assert at.slider(key="exp_seeds").value == 10 and at.number_input(key="exp_steps").value == 60  # from the file
    job = run_experiment(at, name, seeds=2, steps=steps)
    assert job.succeeded, job.stderr()
    text = job.file.read_text()
    assert "seeds = 2" in text and f"steps = {steps}" in text and str(S.DATA_DIR / "scenarios" / "default.toml") in text
    table = effects_table(at)
    assert set(table["arm"]) == {arm} and len(table) == 7
    assert all(INTERVAL.match(v) for v in table["effect [95% interval]"])
    reach = table[table["outcome"] == "final reach (share of agents)"].iloc[0]["effect [95% interval]"]
    assert reach != "0 [0, 0]", "the arms should differ after the intervention"
    assert any(t.startswith("Effect on") for t in figures(at))
    assert any(f"Results: {name}" in m.value for m in at.markdown)
    assert any("only 2 seeds" in w.value for w in at.warning)  # rough intervals are said to be rough (report notes)
    captions = [c.value.replace("\\", "") for c in at.caption]  # markdown-escaped on the page
    assert any(
        "data/scenarios/default.toml" in c and f"branching from the baseline's run at step {branch}" in c
        for c in captions
    ), captions
    if name == "factcheck":
        assert any("moderation at step 48" in w.value for w in at.warning)  # steps = 40 leaves the label out


def press_run(at: AppTest, choice: str, seeds: int, steps: int) -> list[str]:
    """Choose, set and press Run; the errors then shown (markdown escapes removed)."""
    at.selectbox(key="exp_choice").set_value(choice).run()
    at.slider(key="exp_seeds").set_value(seeds).run()
    at.number_input(key="exp_steps").set_value(steps).run()
    at.button(key="exp_run").click().run()
    assert_clean(at)
    return [e.value.replace("\\", "") for e in at.error]


def test_a_bad_experiment_file_is_refused_before_it_runs_naming_the_choice_and_key(tmp_path, monkeypatch):
    bad = tmp_path / "experiments"
    bad.mkdir()
    (bad / "broken.toml").write_text(
        f'scenario = "{S.DATA_DIR / "scenarios" / "default.toml"}"\nseeds = 3\n'
        '[[arms]]\nname = "x"\nremove = ["no-such-post"]\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(EJ, "SHIPPED_DIR", bad)
    at = open_page()
    shown = press_run(at, "broken", seeds=2, steps=5)
    assert any("Could not start broken.toml with Steps = 5: arms[0].remove[0] = 'no-such-post'" in v for v in shown), (
        shown
    )
    assert "exp_job" not in at.session_state and not effects_table_present(at)


def test_too_few_steps_for_a_shipped_example_are_refused_before_it_runs(tmp_path):
    at = open_page()
    shown = press_run(at, "factcheck", seeds=2, steps=30)
    assert any(
        "Could not start factcheck.toml with Steps = 30: outcomes_from_step = 36: expected a whole number in "
        "[0, 29]" in v
        for v in shown
    ), shown
    assert "exp_job" not in at.session_state


def effects_table_present(at: AppTest) -> bool:
    return any("effect [95% interval]" in d.value.columns for d in at.dataframe)


@pytest.mark.slow
def test_stop_ends_the_experiment_and_its_workers_and_keeps_finished_seeds(tmp_path):
    ws = tiny_workspace(tmp_path)
    source = EJ.current_source(ws.scenario, scenario_io.event_seeds(ws.scenario))
    job = EJ.ExperimentJob(EJ.write(source, 40, 10, tmp_path / "exp"), workers=2)
    deadline = time.monotonic() + 90
    while (job.progress() or (0, 0))[0] < 2 and job.running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.progress()[0] >= 2 and job.progress()[1] == 80, job.stderr()
    job.stop()
    assert not job.running and job.error() is None and job.report() is None
    assert group_ends(job.proc.pid, within=15.0), "a worker of the stopped experiment is still running"
    with duckdb.connect(str(job.out / "experiment.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] >= 2


def group_ends(pgid: int, within: float) -> bool:
    """Whether the process group is gone (its ended workers are reaped by init a moment after they die)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_single_runs_are_labelled_and_claim_no_effect(tmp_path):
    ws = tiny_workspace(tmp_path)
    for job in (
        ws.start_job(scenario_io.baseline(ws.scenario, ["event"]), "no interventions", 3),
        ws.start_job(ws.scenario, "with interventions", 3),
    ):
        job._thread.join(60)
    at = open_page(ws)
    assert_clean(at)
    headers = [s.value for s in at.subheader]
    assert headers == ["Experiment: effects with intervals", "Single runs (no effect claimed)"]
    assert any(
        "mixes the intervention's effect with the chance" in c.value and "run an experiment above" in c.value
        for c in at.caption
    )
    titles = list(figures(at))
    assert any("difference between single runs (one draw, no interval)" in t for t in titles)
    single = [t for t in titles if "runs compared" in t or "single runs" in t]
    assert len(single) == 2 and not any("effect" in t.lower() for t in single)
    assert at.selectbox(key="cmp_base").label == "Reference run"
    assert any("not an effect" in c.value for c in at.caption)
    assert not effects_table_present(at)  # no experiment was run: nothing on the page claims an effect


@pytest.mark.parametrize(
    "mean,low,high,seeds,expected",
    [
        (-0.21, -0.30, -0.12, 10, "\u22120.21 [\u22120.30, \u22120.12]"),
        (0.030, 0.025, 0.037, 10, "+0.030 [+0.025, +0.037]"),
        (7.0, 4.0, 10.0, 10, "+7 [+4, +10]"),
        (0.0, 0.0, 0.0, 3, "0 [0, 0]"),
        (0.2, 0.2, 0.2, 1, "+0.20 (1 seed: no interval)"),
        (None, None, None, 4, "n/a [n/a, n/a]"),
    ],
)
def test_intervals_are_written_for_reading(mean, low, high, seeds, expected):
    assert EV.interval(mean, low, high, seeds) == expected
