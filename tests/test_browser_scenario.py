"""In a real Chromium: a downloaded scenario rebuilds the same network, and empty or partial files wipe nothing.

Each test gets a fresh session (the ``page`` fixture of tests/browser_harness.py); screenshots go
to test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_harness import (
    BUNDLED_EDGES,
    button,
    by_key,
    click,
    exceptions,
    go_to,
    metric,
    screenshot,
    wait_idle,
)

pytestmark = pytest.mark.browser

SYNTHETIC_EDGES = "19,958"  # 2,000 users, tail exponent 2.5, graph seed 13 (the reproduction)


def assert_clean(pg) -> None:
    found = exceptions(pg)
    assert not found, f"the page shows an exception:\n{found[0]}"


def upload_scenario(pg, name: str, data: bytes) -> None:
    pg.locator(f"{by_key('iv_upload')} input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/toml", "buffer": data}]
    )
    pg.locator(by_key("iv_upload")).get_by_text(name).wait_for()
    wait_idle(pg)


def set_slider(pg, key: str, target: float, step: float) -> float:
    """Move a slider by keyboard steps until it shows ``target``; returns the value it shows."""
    handle = pg.locator(f"{by_key(key)} input[type=range]")
    shown = pg.locator(f"{by_key(key)} [data-testid=stSliderThumbValue]")
    handle.focus()
    for _ in range(60):
        value = float(shown.inner_text())
        if abs(value - target) < step / 2:
            break
        handle.press("ArrowRight" if value < target else "ArrowLeft")
    return float(shown.inner_text())


def test_synthetic_scenario_round_trip(page, tmp_path):
    """Generate 2,000 users, tail exponent 2.5, seed 13; download the scenario; load the bundled network;
    upload and apply the file: the same 19,958 edges come back."""
    pg = page
    go_to(pg, "Network", by_key("net_source"))
    pg.locator(by_key("net_source")).get_by_text("Synthetic graph").click()
    pg.locator(f"{by_key('net_syn_tail')} input[type=range]").wait_for(state="attached")
    pg.locator(f"{by_key('net_syn_n_users')} input").fill("2000")
    assert set_slider(pg, "net_syn_tail", 2.5, 0.1) == 2.5
    pg.locator(f"{by_key('net_syn_seed')} input").fill("13")
    pg.get_by_role("button", name="Generate synthetic network").click()
    pg.get_by_text("Generated synthetic").wait_for()
    wait_idle(pg)
    assert metric(pg, "Follow edges") == SYNTHETIC_EDGES

    go_to(pg, "Interventions", by_key("iv_download"))
    with pg.expect_download() as download:
        click(pg, "iv_download")
    saved = tmp_path / "scenario.toml"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "tail_exponent = 2.5" in text and "graph_seed = 13" in text

    go_to(pg, "Network", by_key("net_source"))
    pg.locator(by_key("net_source")).get_by_text("Bundled Weibo sample").click()
    click(pg, "net_load_bundled")
    pg.get_by_text("Loaded the bundled Weibo sample.").wait_for()
    wait_idle(pg)
    assert metric(pg, "Follow edges") == BUNDLED_EDGES

    go_to(pg, "Interventions", by_key("iv_upload"))
    upload_scenario(pg, "scenario.toml", saved.read_bytes())
    preview = pg.locator(by_key("iv_preview"))
    preview.wait_for()
    assert button(pg, "iv_apply_upload").is_enabled()
    screenshot(pg, "scenario-round-trip-preview")
    click(pg, "iv_apply_upload")
    pg.get_by_text("Applied scenario.toml.").wait_for()
    wait_idle(pg)
    go_to(pg, "Network", by_key("net_source"))
    assert metric(pg, "Follow edges") == SYNTHETIC_EDGES
    assert_clean(pg)


def test_empty_and_partial_scenario_files(page):
    """An empty file is refused and changes nothing; a file without [network] keeps the network, says
    so, applies only on confirm, and Undo brings the interventions back."""
    pg = page
    go_to(pg, "Interventions", by_key("iv_upload"))
    interventions = metric(pg, "Interventions") if pg.locator('[data-testid="stMetric"]').count() else None
    upload_scenario(pg, "empty.toml", b"")
    pg.get_by_text("the file is empty (0 bytes)").wait_for()
    assert button(pg, "iv_apply_upload").is_disabled()
    screenshot(pg, "scenario-empty-file")

    upload_scenario(pg, "partial.toml", b"steps = 12\n")
    pg.get_by_text("partial.toml has no [network] section").wait_for()
    pg.locator(by_key("iv_preview")).wait_for()
    assert pg.locator(by_key("iv_remove_pick")).count() == 1, "the schedule should still list its interventions"
    click(pg, "iv_apply_upload")
    pg.get_by_text("Applied partial.toml.").wait_for()
    wait_idle(pg)
    assert pg.locator(by_key("iv_remove_pick")).count() == 0, "the partial file has no interventions"
    click(pg, "iv_undo")
    pg.get_by_text("Undone").wait_for()
    wait_idle(pg)
    assert pg.locator(by_key("iv_remove_pick")).count() == 1, "undo should bring the interventions back"
    if interventions is not None:
        assert metric(pg, "Interventions") == interventions
    screenshot(pg, "scenario-partial-undone")
    assert_clean(pg)
