"""Files as real users bring them: each folder of tests/cases is a scenario plus the result it must give.

A folder's expect.json holds either the network (agents, edges, ids, follows, users' attributes,
warning fragments) or the fragments the refusal must contain. tests/cases/scenario-values holds
scenario files that must be refused; the first line says which key the error names.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from s3core import scenario as S
from s3core.loaders import LoadError, read_edge_list, read_graph_file
from s3core.sources import load_network
from s3core.types import Gender

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
FOLDERS = sorted(p for p in CASES.iterdir() if (p / "expect.json").exists())
VALUES = sorted((CASES / "scenario-values").glob("*.toml"))
GENDERS = {"f": Gender.FEMALE, "m": Gender.MALE}


def test_every_case_folder_has_an_expectation():
    folders = {p.name for p in CASES.iterdir() if p.is_dir() and p.name != "scenario-values"}
    assert folders == {p.name for p in FOLDERS}
    assert {"float-ids", "gexf13-www"} <= folders


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_case_gives_its_expected_result(folder, caplog):
    expect = json.loads((folder / "expect.json").read_text())
    scenario = S.load(folder / "scenario.toml")
    if "error" in expect:
        with pytest.raises((LoadError, S.ScenarioError)) as info:
            load_network(scenario, np.random.default_rng(0))
        for fragment in expect["error"]:
            assert fragment in str(info.value), (fragment, str(info.value))
        if isinstance(info.value, LoadError):
            assert "Fix: " in str(info.value)
        return
    with caplog.at_level(logging.WARNING, logger="s3core.loaders"):
        net = load_network(scenario, np.random.default_rng(0))
    assert (net.n_users, net.n_edges) == (expect["agents"], expect["edges"])
    if "ids" in expect:
        assert list(net.user_ids) == expect["ids"]
    if "follows" in expect:
        follower, followee = net.edges()
        got = {(net.user_ids[a], net.user_ids[b]) for a, b in zip(follower, followee)}
        assert got == {tuple(pair) for pair in expect["follows"]}
    users = net.users.set_index("user_id")
    for user, attributes in expect.get("users", {}).items():
        for column, value in attributes.items():
            want = GENDERS.get(value, value) if column == "gender" else value
            assert users.loc[user, column] == want, (user, column)
    logged = " | ".join(r.getMessage() for r in caplog.records)
    for fragment in expect.get("warnings", []):
        assert fragment in logged, (fragment, logged)


def test_float_ids_give_every_agent_the_users_file_attributes():
    net = load_network(S.load(CASES / "float-ids" / "scenario.toml"), np.random.default_rng(0))
    users = net.users.set_index("user_id")
    assert users["age"].notna().all() and (users["gender"] != Gender.UNKNOWN).all()
    assert net.users["age"].tolist() == [23, 35, 41, 19, 52]


@pytest.mark.parametrize("path", VALUES, ids=lambda p: p.stem)
def test_scenario_values_are_refused_naming_file_and_key(path):
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(S.ScenarioError) as info:
        S.load(path)
    text = str(info.value)
    assert text.startswith(str(path)) and expected in text, text


def test_an_intervention_after_the_last_step_loads_and_the_run_warns_and_leaves_it_out(tmp_path, capsys):
    from s3core import cli

    path = CASES / "seed-post-after-run.toml"
    assert S.after_last_step(S.load(path)) == ["interventions[0] (seed at step 9)"]
    assert cli.main(["run", str(path), "--out", str(tmp_path / "late.duckdb"), "--quiet"]) == 0
    assert "warning: steps = 5 leaves out interventions[0] (seed at step 9)" in capsys.readouterr().err
    with duckdb.connect(str(tmp_path / "late.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts").fetchone() == (0,)


# ---------------------------------------------------------------- the CLI and the dashboard


def test_cli_runs_the_float_ids_case_with_a_warning_on_stderr(tmp_path):
    out = tmp_path / "case.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3core",
            "run",
            str(CASES / "float-ids" / "scenario.toml"),
            "--out",
            str(out),
            "--json",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stderr
    assert "warning: edges.csv, column 'followee': 5 ids written as a decimal" in done.stderr
    with duckdb.connect(str(out), read_only=True) as con:
        agents = con.execute("SELECT user_id, age, gender FROM agents ORDER BY agent").fetchall()
    assert agents == [("1001", 23, 0), ("1002", 35, 1), ("1003", 41, 0), ("1004", 19, 1), ("1005", 52, 0)]


def test_cli_refuses_untrustworthy_ids_with_exit_2(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3core",
            "run",
            str(CASES / "excel-scientific" / "scenario.toml"),
            "--out",
            str(tmp_path / "x.duckdb"),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "scientific notation" in done.stderr and "Traceback" not in done.stderr


def test_network_page_shows_the_cross_file_report(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    folder = CASES / "ids-partly-missing"
    files = {role: (f"{role}.csv", (folder / f"{role}.csv").read_bytes()) for role in ("edges", "users")}
    assert ws.load_upload(files) is None
    assert len(ws.net.warnings) == 2 and ws.net.network.n_users == 7
    at = AppTest.from_file(str(ROOT / "pages" / "1_Network.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    at.run()
    shown = " | ".join(w.value for w in at.warning).replace("\\", "")  # the page escapes markdown
    assert "2 of the 5 user ids in edges.csv are not in users.csv" in shown
    assert "2 of the 5 users in users.csv appear in no edge" in shown
    assert not at.exception


def test_upload_with_no_matching_ids_is_refused_and_keeps_the_network(tmp_path):
    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, Workspace

    ws = Workspace(session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    folder = CASES / "ids-no-overlap"
    files = {role: (f"{role}.csv", (folder / f"{role}.csv").read_bytes()) for role in ("edges", "users")}
    error = ws.load_upload(files)
    assert error and "none of the 3 user ids in edges.csv is in users.csv" in error and ws.net.key == "bundled"


def test_read_functions_return_notes_without_logging(caplog):
    with caplog.at_level(logging.INFO, logger="s3core.loaders"):
        result = read_edge_list(CASES / "float-ids" / "edges.csv", CASES / "float-ids" / "users.csv")
        graph = read_graph_file(CASES / "gexf13-www" / "graph.gexf")
    assert not caplog.records
    assert [n.level for n in result.notes] == ["warning", "info"] and len(result.warnings) == 1
    assert "all 5 users in users.csv appear in edges.csv" in result.notes[1].text
    assert graph.network.n_edges == 4 and graph.notes == ()
