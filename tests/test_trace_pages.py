"""The dashboard's trace pages with a run file that another process has open: a warning naming it, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_trace_lock import DEFAULT, MID_RUN, PLAIN, holding

from s3core import scenario as S
from s3core.runner import run_to_trace
from ui import traces
from ui.networks import bundled
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="test", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    ws.run_dir.mkdir(parents=True)
    for name in ("001-a", "002-b"):
        run_to_trace(S.load(DEFAULT).replace(steps=9), ws.run_dir / f"{name}.duckdb")
    return ws


def open_page(path: str, ws: Workspace, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def warnings(at: AppTest) -> str:
    return " | ".join(w.value for w in at.warning)


@pytest.mark.parametrize("holder_kind", ["a run writing it", "a plain DuckDB writer"])
def test_traces_and_compare_name_the_process_that_has_a_run_open(ws, holder_kind):
    busy = ws.run_dir / ("003-cli.duckdb" if holder_kind == "a run writing it" else "002-b.duckdb")
    script, args = (
        (MID_RUN, (DEFAULT, busy, 10, "fresh")) if holder_kind == "a run writing it" else (PLAIN, (busy, "write"))
    )
    with holding(script, *args) as other:
        listed = {r.path: r for r in traces.list_runs(ws)}
        assert listed[busy].status == f"in use by process {other.pid}" and str(other.pid) in listed[busy].busy
        assert listed[ws.run_dir / "001-a.duckdb"].status == "finished" and not listed[ws.run_dir / "001-a.duckdb"].busy
        at = open_page("pages/6_Traces.py", ws, tr_run=busy.stem)
        assert f"process {other.pid}" in warnings(at) and str(busy) in warnings(at)
        table = at.dataframe[0].value  # the runs table comes first
        assert f"in use by process {other.pid}" in set(table["status"])
        at = open_page("pages/6_Traces.py", ws, tr_run="001-a")
        assert not warnings(at) and at.get("download_button"), "the other runs still read normally"
        at = open_page("pages/5_Compare.py", ws)
        assert f"process {other.pid}" in warnings(at)
    listed = {r.path: r for r in traces.list_runs(ws)}
    done = "stopped at step 1 of 10" if holder_kind == "a run writing it" else "finished"  # 1 of 10 steps; 9 of 9
    assert listed[busy].status == done, "once the other process is done it is read"
    at = open_page("pages/6_Traces.py", ws, tr_run=busy.stem)
    assert not warnings(at)
