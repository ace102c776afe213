"""In a real Chromium: a reload in the middle of a run finds the run and the scenario again (the workspace link).

Add a seed post, Run 60 on Simulate (paced at 5 steps/s), reload the page after about 3 s: the URL keeps ``?ws=<id>``,
Simulate shows the same run (still going or finished, never fewer steps than before the reload),
the scenario keeps its new seed post, Traces lists the run, and Runs opens it on Traces. Also:
the sidebar names a synthetic network as soon as the Network page has generated it.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_harness import (
    RENDER_TIMEOUT,
    by_key,
    click,
    exceptions,
    go_to,
    metric,
    screenshot,
    set_number_input,
    wait_idle,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SEED_NAME = "reload-seed"
SEED_TEXT = "Reload test: the plant is safe, says the regulator."
STEPS = 60


def _assert_clean(pg) -> None:
    found = exceptions(pg)
    assert not found, f"the page shows an exception:\n{found[0]}"


def _chosen(pg, key: str):
    """The shown value of the select box with this key."""
    return pg.locator(by_key(key)).get_by_role("combobox")


def _workspace_id(pg) -> str:
    found = re.search(r"[?&]ws=([0-9a-f]{32})", pg.url)
    assert found, f"the URL should name the workspace: {pg.url}"
    return found.group(1)


@pytest.mark.slow
def test_reload_mid_run_finds_the_run_and_keeps_the_scenario(page):
    pg = page
    ws_id = _workspace_id(pg)
    default_interventions = int(metric(pg, "Interventions"))
    link = pg.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert link.startswith("http://127.0.0.1:") and link.endswith(f"?ws={ws_id}"), link  # the Overview shows it
    screenshot(pg, "reload-00-overview-link")

    go_to(pg, "Interventions", by_key("iv_seed_text"))
    pg.locator(f"{by_key('iv_seed_name')} input").fill(SEED_NAME)
    pg.locator(f"{by_key('iv_seed_text')} textarea").fill(SEED_TEXT)
    pg.get_by_role("button", name="Add seed post").click()
    pg.get_by_text("Added seed at step 0.").wait_for()
    wait_idle(pg)
    expected = f"{default_interventions + 1} interventions"

    go_to(pg, "Simulate", by_key("sim_run"))
    set_number_input(pg, "sim_n", STEPS)
    handle = pg.locator(f"{by_key('sim_speed')} input[type=range]")
    handle.focus()
    for _ in range(4):  # max -> 50 -> 20 -> 10 -> 5 steps per second: the reload lands mid-run on any machine
        handle.press("ArrowLeft")
    thumb = pg.locator(f"{by_key('sim_speed')} [data-testid=stSliderThumbValue]")
    expect(thumb).to_have_text("5", timeout=RENDER_TIMEOUT)
    wait_idle(pg)
    click(pg, "sim_run")
    progress = pg.locator('[data-testid="stProgress"]', has_text=re.compile(rf"\d+ of {STEPS} steps"))
    progress.first.wait_for(timeout=60_000)
    time.sleep(3.0)  # the person waits a moment, then presses F5
    before = int(metric(pg, "Steps done"))
    assert before < STEPS, "the run should still be going when the page is reloaded"

    pg.reload(wait_until="domcontentloaded")
    wait_idle(pg)
    expect(pg.locator('[data-testid="stMain"] h1').first).to_have_text("Simulate", timeout=RENDER_TIMEOUT)
    assert _workspace_id(pg) == ws_id, "the reload must keep the workspace link"
    caption = pg.locator('[data-testid="stCaptionContainer"]', has_text="interventions").first
    expect(caption).to_contain_text(expected, timeout=RENDER_TIMEOUT)  # the scenario kept its new seed post
    run_file = re.search(r"run file `?(\d{3}-[\w-]+\.duckdb)", caption.inner_text())
    assert run_file, caption.inner_text()
    after = int(metric(pg, "Steps done"))
    assert after >= before > 0, f"the run should be found again: {before} steps before the reload, {after} after"
    sidebar = pg.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(expected)
    _assert_clean(pg)
    screenshot(pg, "reload-01-simulate-after-reload")

    # Traces lists the run, and the Runs page opens it there.
    go_to(pg, "Traces")
    stem = run_file.group(1).removesuffix(".duckdb")
    expect(pg.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    expect(_chosen(pg, "tr_run")).to_have_value(re.compile(re.escape(stem)))
    _assert_clean(pg)
    go_to(pg, "Runs", by_key("runs_pick"))
    expect(_chosen(pg, "runs_pick")).to_have_value(re.compile(re.escape(stem)))
    _assert_clean(pg)
    screenshot(pg, "reload-03-runs")
    click(pg, "runs_open")
    expect(pg.locator('[data-testid="stMain"] h1').first).to_have_text("Traces", timeout=RENDER_TIMEOUT)
    wait_idle(pg)
    expect(_chosen(pg, "tr_run")).to_have_value(re.compile(re.escape(stem)))
    assert _workspace_id(pg) == ws_id
    _assert_clean(pg)


def test_sidebar_names_a_generated_network_at_once(page):
    pg = page
    sidebar = pg.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text("bundled Weibo sample")
    go_to(pg, "Network", by_key("net_source"))
    pg.locator(by_key("net_source")).get_by_text("Synthetic graph").click()
    pg.locator(f"{by_key('net_syn_n_users')} input").fill("300")
    pg.get_by_role("button", name="Generate synthetic network").click()
    pg.get_by_text("Generated synthetic").wait_for()
    wait_idle(pg)
    expect(sidebar).to_contain_text("synthetic (300 users")  # in the same page run, not one click later
    expect(sidebar).not_to_contain_text("bundled")
    _assert_clean(pg)
    screenshot(pg, "reload-04-sidebar-synthetic")
