"""In Chromium: a rumour and its correction each get their own reach curve on Simulate (the per-post split).

Today's "aware" counts awareness of any seed post, so an added correction looks as if it spread
the rumour further; the split draws one curve per seed post, named by the seed.
"""

from __future__ import annotations

import pytest
from browser_harness import (
    by_key,
    click,
    exceptions,
    go_to,
    plot_traces,
    screenshot,
    set_number_input,
    wait_idle,
    wait_plot_points,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RUMOUR, CORRECTION = "e2e-rumour", "e2e-correction"


def add_seed(pg, name: str, step: int, stance: str, text: str) -> None:
    """Add a seed post through the Interventions page's form."""
    pg.locator(f"{by_key('iv_seed_step')} input").fill(str(step))  # no Enter: in a form, Enter submits it
    pg.locator(f"{by_key('iv_seed_name')} input").fill(name)
    pg.locator(f"{by_key('iv_seed_text')} textarea").fill(text)
    box = pg.locator(f"{by_key('iv_seed_stance')} input").first
    for _ in range(3):  # a click during the rerun after the previous Add can land on a redrawn box
        box.click()
        pg.keyboard.type(stance)
        pg.keyboard.press("Enter")
        if box.input_value() == stance:
            break
    expect(box).to_have_value(stance)
    pg.get_by_role("button", name="Add seed post").click()
    pg.get_by_text(f"Added seed at step {step}.").wait_for()
    wait_idle(pg)


def test_reach_splits_per_seed_post(page):
    go_to(page, "Interventions", by_key("iv_seed_text"))
    add_seed(page, RUMOUR, 0, "negative", "The plant leaks, says a forwarded message.")
    add_seed(page, CORRECTION, 1, "positive", "Correction: the plant does not leak, says the regulator.")

    go_to(page, "Simulate", by_key("sim_run"))
    set_number_input(page, "sim_n", 5)
    click(page, "sim_run")
    wait_plot_points(page, "sim_chart_spread", 5, timeout=120_000)  # the run's first step may load models
    expect(page.locator(f"{by_key('sim_run')} button:visible").first).to_be_enabled(timeout=120_000)
    wait_idle(page)
    assert max(t["n"] for t in plot_traces(page, "sim_chart_spread")) == 5

    page.locator(by_key("sim_split")).get_by_text("Reach per seed post").click()
    page.wait_for_function(
        """names => { const el = document.querySelector('.st-key-sim_chart_spread .js-plotly-plot');
                      return el && names.every(n => el.data.some(t => t.name === n)); }""",
        arg=[RUMOUR, CORRECTION],
    )
    wait_idle(page)
    traces = {t["name"]: t["n"] for t in plot_traces(page, "sim_chart_spread")}
    assert traces[RUMOUR] == 5, f"the rumour is counted from step 0: {traces}"
    assert traces[CORRECTION] == 4, f"the correction from its own step, 1: {traces}"
    assert "aware of any seed" in traces, traces
    title = page.evaluate("() => document.querySelector('.st-key-sim_chart_spread .js-plotly-plot').layout.title.text")
    assert title.startswith("Reach per seed post"), title
    assert not exceptions(page)
    screenshot(page, "10-simulate-reach-per-seed")
