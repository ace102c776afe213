"""The Traces page's SQL (s3core.trace_queries) over a real trace file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from s3core import scenario as S
from s3core import trace_queries as Q
from s3core.runner import run_to_trace


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("tq") / "run.duckdb"
    run_to_trace(S.load("data/scenarios/default.toml").replace(steps=6), path)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _rows(con, built):
    sql, params = built
    return con.execute(sql, params).df()


def test_post_filters_select_exactly_the_matching_posts(trace):
    every = trace.execute("SELECT * FROM posts").df()
    reposts = _rows(trace, Q.posts(1, 4, ["repost"]))
    expected = every[(every.step.between(1, 4)) & (every.action == "repost")]
    assert len(reposts) > 0
    assert sorted(reposts.post_id) == sorted(expected.post_id)
    author = int(reposts.agent.iloc[0])
    by_author = _rows(trace, Q.posts(0, 5, ["repost", "quote", "post"], agent=author))
    assert set(by_author.agent) == {author}
    assert trace.execute(Q.count(Q.posts(0, 5, [])[0]), Q.posts(0, 5, [])[1]).fetchone()[0] == 0


def test_state_change_flags_keep_only_the_named_changes(trace):
    became = _rows(trace, Q.state_changes(0, 5, only=["became aware"]))
    assert len(became) > 0 and became.became_aware.all()
    assert became.agent.is_unique  # an agent becomes aware once


def _numeric_id_trace(folder: Path, name: str = "run.duckdb") -> Path:
    """A real run over a network whose user ids are the numbers 0..59 shuffled, so nearly every id is
    another agent's index; its seed post, by the user with id ``ids[0]``, reads "=1+1"."""
    n = 60
    ids = np.random.default_rng(3).permutation(n)
    rows = ["follower,followee"] + [f"{ids[i]},{ids[(i + k) % n]}" for i in range(n) for k in (1, 2, 3, 5, 8, 13, 21)]
    (folder / "edges.csv").write_text("\n".join(rows) + "\n")
    params = (Path(__file__).resolve().parent.parent / "data" / "params" / "weibo-ced.json").as_posix()
    toml = f"""
name = "numeric ids"
seed = 4
steps = 10
params = "{params}"
[network]
source = "files"
edges = "{(folder / "edges.csv").as_posix()}"
[[interventions]]
kind = "seed"
step = 0
name = "formula"
text = "=1+1"
author = "{ids[0]}"
"""
    path = folder / name
    run_to_trace(S.loads(toml), path)
    return path


@pytest.fixture(scope="module")
def numeric(tmp_path_factory):
    con = duckdb.connect(str(_numeric_id_trace(tmp_path_factory.mktemp("numeric"))), read_only=True)
    yield con
    con.close()


def test_a_numeric_user_id_is_matched_as_an_id_never_as_an_agent_index(numeric):
    agents = numeric.execute("SELECT agent, user_id FROM agents ORDER BY agent").df()
    # an author whose user id is the index of another agent: the case that picked the wrong user
    posts = numeric.execute("SELECT DISTINCT author FROM posts WHERE author >= 0").df()
    clash = agents[agents.agent.isin(posts.author) & (agents.user_id != agents.agent.astype(str))].iloc[0]
    uid, agent = str(clash.user_id), int(clash.agent)
    assert numeric.execute(*Q.find_user(f" {uid} ")).fetchall() == [(agent,)]
    by_user = _rows(numeric, Q.posts(0, 9, ["repost", "quote", "post"], user_id=uid))
    assert len(by_user) > 0 and set(by_user.agent) == {agent} and set(by_user.user_id) == {uid}
    by_index = _rows(numeric, Q.posts(0, 9, ["repost", "quote", "post"], agent=int(uid)))
    assert agent not in set(by_index.agent), "agent index int(uid) is another agent than user uid"
    assert set(by_index.agent) <= {int(uid)}
    states = _rows(numeric, Q.state_changes(0, 9, user_id=uid))
    assert len(states) > 0 and set(states.agent) == {agent}
    both = _rows(numeric, Q.posts(0, 9, ["repost", "quote", "post"], agent=int(uid), user_id=uid))
    assert both.empty, "user uid and agent int(uid) are different agents: nothing matches both"


def test_an_unknown_user_id_matches_nothing_not_an_agent_index(numeric):
    assert numeric.execute(*Q.find_user("29x")).fetchall() == []
    assert numeric.execute(*Q.find_user("#2")).fetchall() == []  # no index syntax in the user id filter
    none = _rows(numeric, Q.posts(0, 9, ["repost", "quote", "post"], user_id="no such user"))
    assert none.empty
    assert _rows(numeric, Q.state_changes(0, 9, user_id="no such user")).empty


def test_the_inspectors_picker_reads_a_bare_number_as_a_numeric_user_id_only():
    from s3core.network import Network
    from ui.widgets import resolve_agent

    numeric = Network.from_edges("numeric", np.array(["2", "0", "5"]), np.array([0, 1]), np.array([1, 2]))
    assert resolve_agent(numeric, "2") == 0 and resolve_agent(numeric, " 5 ") == 2  # user ids
    assert resolve_agent(numeric, "1") is None, "no user '1': not silently agent 1 (user '0')"
    assert resolve_agent(numeric, "#1") == 1  # an index, when asked for as one
    named = Network.from_edges("named", np.array(["ann", "bob"]), np.array([0]), np.array([1]))
    assert resolve_agent(named, "1") == 1 and resolve_agent(named, "bob") == 1  # no numeric ids: no ambiguity
    assert resolve_agent(named, "7") is None


def test_traces_page_has_a_user_id_filter_and_a_separate_agent_index_filter(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="t", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    ws.run_dir.mkdir(parents=True)
    path = _numeric_id_trace(ws.run_dir)
    with duckdb.connect(str(path), read_only=True) as con:
        uid, agent = con.execute(
            "SELECT user_id, agent FROM agents WHERE user_id <> CAST(agent AS VARCHAR) "
            "AND agent IN (SELECT author FROM posts) ORDER BY agent LIMIT 1"
        ).fetchone()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "6_Traces.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="tr_posts_user").set_value(uid).run()
    table = at.dataframe[1].value
    assert len(table) and set(table["agent"]) == {agent} and set(table["user_id"]) == {uid}
    at.number_input(key="tr_posts_agent").set_value(int(uid)).run()
    assert f"User {uid!r} is agent {agent}, not agent {int(uid)}" in " ".join(w.value for w in at.warning)
    assert at.dataframe[1].value.empty
    at.text_input(key="tr_posts_user").set_value("").run()
    assert set(at.dataframe[1].value["agent"]) <= {int(uid)}
    at.text_input(key="tr_posts_user").set_value("999").run()
    assert "No user with id '999'" in " ".join(w.value for w in at.warning)


def test_traces_page_counts_one_post_in_the_singular(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="t1", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    ws.run_dir.mkdir(parents=True)
    _numeric_id_trace(ws.run_dir)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "6_Traces.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    at.run()
    at.multiselect(key="tr_posts_actions").set_value(["post"]).run()
    at.text_input(key="tr_posts_text").set_value("=1+1").run()  # the seed post alone
    captions = " ".join(c.value for c in at.caption)
    assert len(at.dataframe[1].value) == 1 and "1 post matches." in captions, captions
    at.multiselect(key="tr_posts_actions").set_value(["post", "repost"]).run()
    assert "7 posts match." in " ".join(c.value for c in at.caption)


def test_a_closed_runs_status_says_finished_stopped_or_unfinished_from_what_the_trace_records(tmp_path):
    from types import SimpleNamespace

    from ui import traces

    ws = SimpleNamespace(session_id="status-test", open_runs=dict)
    finished = tmp_path / "finished.duckdb"
    run_to_trace(S.load("data/scenarios/default.toml").replace(steps=4), finished)
    toml = duckdb.connect(str(finished), read_only=True).execute("SELECT value FROM run WHERE key='scenario'")
    toml = toml.fetchone()[0]
    assert traces.closed_status(ws, finished, 4, toml) == "finished"
    # The same four steps of a run planned for ten, ended by Stop (whose last step has its checkpoint).
    planned_ten = toml.replace("steps = 4", "steps = 10")
    assert traces.closed_status(ws, finished, 4, planned_ten) == "stopped at step 4 of 10"
    # Steps after the last checkpoint (a killed process): unfinished.
    killed = tmp_path / "killed.duckdb"
    killed.write_bytes(finished.read_bytes())
    with duckdb.connect(str(killed)) as con:
        con.execute("DELETE FROM checkpoint_arrays WHERE step = 3")
    assert traces.closed_status(ws, killed, 4, planned_ten) == "unfinished (no final checkpoint)"
    assert [traces.count(n, "step") for n in (0, 1, 2, 1000)] == ["0 steps", "1 step", "2 steps", "1,000 steps"]
