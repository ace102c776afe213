"""End to end in a real Chromium: the Validate page replays one cascade of a tiny Weibo-format dataset folder."""

from __future__ import annotations

import json

import pytest
from browser_harness import (  # the browser fixtures come from conftest.py, one per session
    click,
    exceptions,
    go_to,
    plot_traces,
    screenshot,
    wait_idle,
    wait_plot_points,
)
from test_pages_validate import SMALL, write_datasets

pytestmark = pytest.mark.browser


def _type(pg, key: str, text: str) -> None:
    box = pg.locator(f".st-key-{key} input")
    box.fill(text)
    box.press("Enter")
    wait_idle(pg)


def test_validate_page_replays_a_cascade(page, tmp_path):
    root = write_datasets(tmp_path / "datasets")
    params = tmp_path / "small.json"
    params.write_text(json.dumps(SMALL))
    go_to(page, "Validate")
    _type(page, "val_root", str(root / "wb"))  # a dataset folder itself, not a folder of them
    _type(page, "val_params_path", str(params))
    click(page, "val_run_one")
    wait_plot_points(page, "val_chart_scale", 150)
    for key in ("val_chart_scale", "val_chart_depth", "val_chart_max_breadth"):
        traces = plot_traces(page, key)
        assert [t["name"] for t in traces] == ["real", "simulator", "independent cascade", "mean curve"]
        assert all(t["n"] == 150 for t in traces)
    for key in ("val_chart_emotion", "val_chart_stance"):
        assert [t["name"] for t in plot_traces(page, key)] == ["real comments", "simulated comments"]
    assert not exceptions(page)
    screenshot(page, "validate-one-cascade")
