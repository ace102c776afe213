"""The Traces page in a real Chromium on a run whose user ids are numbers: the user id filter picks the
user with that id (not the agent with that index), the agent index filter is separate, and the CSV
download starts with a BOM and shows "=1+1" as text; then the Cascades tab draws the seed's tree.

The run is a real trace written into a workspace folder of the test server, opened by its link
(``/Traces?ws=<id>``), as a person reopens earlier work.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path

import duckdb
import pytest
from browser_harness import by_key, click, exceptions, screenshot, set_number_input, wait_idle, wait_plot_points
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from test_trace_queries import _numeric_id_trace

pytestmark = pytest.mark.browser
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def numeric_workspace(app_server):
    """A workspace folder holding one finished run over a network with numeric user ids."""
    workspace = uuid.uuid4().hex
    folder = app_server.runs_dir / workspace
    folder.mkdir(parents=True)
    path = _numeric_id_trace(folder, "001-numeric-ids.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        uid, agent = con.execute(
            "SELECT a.user_id, a.agent FROM posts p JOIN agents a ON a.agent = p.author WHERE p.text = '=1+1'"
        ).fetchone()
        clash = con.execute("SELECT count(*) FROM agents WHERE agent = ?", [int(uid)]).fetchone()[0]
    assert uid != str(agent) and clash == 1, "the seed's author must have an id that is another agent's index"
    return workspace, uid, agent


def _download_csv(page, key: str, attempts: int = 3) -> bytes:
    """The bytes of the CSV download button ``key`` (clicked again if Streamlit loses the first click)."""
    for attempt in range(attempts):
        wait_idle(page)
        try:
            with page.expect_download(timeout=10_000) as info:
                click(page, key)
            return Path(info.value.path()).read_bytes()
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _rows(data: bytes) -> list[dict]:
    assert data.startswith(BOM), f"the CSV should start with a UTF-8 BOM, starts with {data[:8]!r}"
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


def test_numeric_user_id_filter_csv_safety_and_cascades(page, app_server, numeric_workspace):
    started = time.perf_counter()
    workspace, uid, agent = numeric_workspace
    page.goto(f"{app_server.url}/Traces?ws={workspace}", wait_until="domcontentloaded")
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Traces")
    page.locator(by_key("tr_posts_user")).wait_for()
    wait_idle(page)

    box = page.locator(f"{by_key('tr_posts_user')} input")
    box.fill(uid)
    box.press("Enter")
    wait_idle(page)
    rows = _rows(_download_csv(page, "tr_posts_csv"))
    assert rows and {r["agent"] for r in rows} == {str(agent)}, f"user {uid} is agent {agent}: {rows}"
    assert {r["user_id"] for r in rows} == {uid}
    assert "'=1+1" in [r["text"] for r in rows], "the seed's text is neutralized for spreadsheets"

    set_number_input(page, "tr_posts_agent", int(uid))  # agent index uid: another agent
    warning = page.locator('[data-testid="stAlertContentWarning"]').first
    expect(warning).to_contain_text(f"User '{uid}' is agent {agent}, not agent {int(uid)}")
    box.fill("")
    box.press("Enter")
    wait_idle(page)
    by_index = _rows(_download_csv(page, "tr_posts_csv"))
    assert {r["agent"] for r in by_index} <= {uid}, "the agent index filter matches the agent column only"
    assert str(agent) not in {r["agent"] for r in by_index}
    screenshot(page, "traces-numeric-user-filter")

    page.get_by_role("tab", name="Cascades").click()
    wait_plot_points(page, "tr_cascades_tree", 1)
    wait_idle(page)
    assert not exceptions(page), exceptions(page)[0]
    screenshot(page, "traces-cascades")
    took = time.perf_counter() - started
    print(f"traces browser test: {took:.1f} s")
    assert took < 30, f"took {took:.1f} s"
