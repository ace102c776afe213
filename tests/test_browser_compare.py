"""End to end in a real Chromium: the Compare page runs a shipped experiment and shows effects with intervals."""

from __future__ import annotations

import re

import pytest
from browser_harness import (  # the browser fixtures come from conftest.py, one per session
    button,
    by_key,
    click,
    exceptions,
    go_to,
    plot_traces,
    screenshot,
    set_number_input,
    wait_idle,
)

pytestmark = pytest.mark.browser
RESULT_TIMEOUT = 150_000  # ms: 2 arms x 2 seeds x 40 steps of the bundled network, with the command's start-up


def test_compare_page_runs_a_shipped_experiment(page):
    go_to(page, "Compare", by_key("exp_run"))
    thumb = page.locator(f"{by_key('exp_seeds')} input[type=range]")
    thumb.focus()
    thumb.press("Home")  # the slider's minimum: 2 seeds
    page.wait_for_function(
        "k => { const s = document.querySelector('.st-key-' + k + ' input[type=range]');"
        " return s && s.value === '2'; }",
        arg="exp_seeds",
    )
    wait_idle(page)
    set_number_input(page, "exp_steps", 40)  # the boost starts at step 36
    click(page, "exp_run")
    page.get_by_text(re.compile(r"Checking the experiment|Experiment: \d+ of 4 runs")).first.wait_for()
    assert button(page, "exp_stop").is_enabled() and button(page, "exp_run").is_disabled()
    screenshot(page, "compare-experiment-running")
    page.locator(f"{by_key('exp_forest')} .js-plotly-plot").wait_for(timeout=RESULT_TIMEOUT)
    wait_idle(page)
    assert not exceptions(page)

    mean = plot_traces(page, "exp_chart_mean")
    assert [t["name"] for t in mean] == ["none 95% band", "none", "boost 95% band", "boost"]
    assert all(t["n"] == 40 for t in mean if "band" not in t["name"])
    assert [t["name"] for t in plot_traces(page, "exp_chart_effect") if "band" not in t["name"]] == ["boost - none"]
    forest = plot_traces(page, "exp_forest")
    assert [t["name"] for t in forest] == ["boost - none"] and forest[0]["n"] > 3  # overall and groups
    assert page.get_by_text("Results: boost").is_visible()
    assert page.get_by_text("Single runs (no effect claimed)").is_visible()
    assert page.get_by_text("95% percentile bootstrap of the mean over seeds", exact=False).first.is_visible()

    with page.expect_download(timeout=30_000) as info:
        click(page, "exp_download_html")
    report = info.value
    assert report.suggested_filename == "boost-report.html"
    html = open(report.path(), "rb").read()
    assert b"<html" in html[:1000].lower() and b"boost" in html
    screenshot(page, "compare-experiment")
