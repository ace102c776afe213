"""End to end in a real Chromium: an experiment's HTML report opens offline and draws its charts and effects."""

from __future__ import annotations

import pytest
from browser_harness import ARTIFACTS
from test_experiment import REMOVAL, write

from s3core.cli import main

pytestmark = pytest.mark.browser


def test_the_html_report_opens_offline_with_its_charts_and_intervals(browser, tmp_path, capsys):
    path = write(tmp_path, '[[arms]]\nname = "baseline"\n' + REMOVAL, seeds=3, steps=8)
    report = tmp_path / "report" / "factcheck.html"
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--report", str(report), "--quiet"]) == 0
    assert f"report: {report}" in capsys.readouterr().err
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(report.as_uri())
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        assert errors == []
        assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == [], (
            "the report fetched something"
        )
        assert page.locator(".js-plotly-plot").count() == 6 + 4  # mean and effect curves of 3 curves, 4 forest plots
        assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 20
        effects = page.locator("table").nth(1).inner_text()
        assert "final reach (share of agents)" in effects and "ci_low" in effects and "removed" in effects
        text = page.locator("body").inner_text()
        for heading in ("Effects by demographic group", "Data provenance", "Parameters", "Package versions"):
            assert heading in text
        assert "synthetic follower graph of 1,500 users" in text
        assert "numpy" in text and "scipy" in text and "s3core" in text
        assert "sha256" in text and "exp.toml" in text and "tiny.toml" in text  # the files, with their hashes
        assert "seed = 3  # to 5: one run per seed" in page.content()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-experiment.png"), full_page=True)
    finally:
        context.close()
