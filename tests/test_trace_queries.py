"""The Traces page's SQL (s3core.trace_queries) over a real trace file."""

from __future__ import annotations

import duckdb
import pytest

from s3core import scenario as S
from s3core import trace_queries as Q
from s3core.runner import run_to_trace
from s3core.trace import SCHEMA


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


def test_find_agent_prefers_a_user_id_to_an_agent_index():
    con = duckdb.connect()
    con.execute(SCHEMA)
    con.execute("INSERT INTO agents (agent, user_id) VALUES (0, '1'), (1, '7'), (2, 'abc')")
    assert con.execute(*Q.find_agent("1")).fetchone()[0] == 0  # user id '1', not agent index 1
    assert con.execute(*Q.find_agent(" abc ")).fetchone()[0] == 2
    assert con.execute(*Q.find_agent("#2")).fetchone()[0] == 2  # an index, when no user has that id
    assert con.execute(*Q.find_agent("nobody")).fetchone() is None
