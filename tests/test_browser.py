"""End to end in a real Chromium: a policy experiment through every page, bad uploads, Stop, deep links.

The experiment tests share one browser session and run in file order (each is one stage of the
flow: network, interventions, simulate, charts, compare, export), so run them together; a stage
whose predecessor failed is skipped with the name of the failed stage, so the first failure is the
one to read. The other tests each get a fresh session. Screenshots go to test-artifacts/
(NN-stage.png, FAILED-... on failure) with the server's log (streamlit-server.log).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
import warnings
from pathlib import Path

import pytest
from browser_harness import (  # the browser fixtures come from conftest.py, one per session
    BUNDLED_EDGES,
    BUNDLED_USERS,
    MALFORMED,
    PAGE_HEADINGS,
    button,
    by_key,
    click,
    exceptions,
    go_to,
    metric,
    new_page,
    plot_traces,
    screenshot,
    set_number_input,
    wait_idle,
    wait_plot_points,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SEED_NAME = "e2e-seed"
SEED_TEXT = "Browser test: the plant is safe, says the regulator."
STEPS = 10
CSV_HEADER = "post_id,step,agent,user_id,action,parent,root,depth,stance,emotion,text"


def assert_clean(pg) -> None:
    """No Python traceback is shown anywhere on the page."""
    found = exceptions(pg)
    assert not found, f"the page shows an exception:\n{found[0]}"


def longest_trace(traces: list[dict] | None) -> int:
    assert traces, "the chart has no traces"
    return max(t["n"] for t in traces)


# -- the experiment flow: one session, stage by stage ----------------------------------------------
class Flow:
    """The shared page of the experiment and the first stage that failed, if any."""

    def __init__(self, pg):
        self.page = pg
        self.failed: str | None = None
        self.default_interventions = int(metric(pg, "Interventions"))  # the Overview's count, before any change

    @contextlib.contextmanager
    def stage(self, name: str):
        """Run one stage: skip if an earlier one failed; screenshot it on success and on failure."""
        if self.failed:
            pytest.skip(f"stage {self.failed!r} failed earlier; this stage depends on it")
        try:
            yield self.page
            assert_clean(self.page)
        except BaseException:
            self.failed = name
            with contextlib.suppress(Exception):
                screenshot(self.page, f"FAILED-{name}")
            raise
        screenshot(self.page, name)


@pytest.fixture(scope="module")
def flow(browser, app_server):
    context, pg = new_page(browser, app_server)
    yield Flow(pg)
    context.close()


def test_network_page_shows_bundled_network(flow):
    with flow.stage("01-network") as pg:
        go_to(pg, "Network", by_key("net_source"))
        radio = pg.locator(by_key("net_source")).get_by_role("radio", name="Bundled Weibo sample")
        assert radio.is_checked(), "the bundled network should be the default source"
        assert metric(pg, "Users") == BUNDLED_USERS
        assert metric(pg, "Follow edges") == BUNDLED_EDGES
        heading = f"bundled Weibo sample ({BUNDLED_USERS} users)"
        assert pg.get_by_role("heading", name=heading).is_visible(), f"the subheading should read {heading!r}"
        # Already loaded, so the load button is disabled (loading it again changes nothing).
        assert button(pg, "net_load_bundled").is_disabled()


def test_add_seed_post_and_boost(flow):
    with flow.stage("02-interventions") as pg:
        go_to(pg, "Interventions", by_key("iv_seed_text"))
        before = pg.evaluate("() => document.querySelector('.st-key-iv_timeline .js-plotly-plot').data.length")
        pg.locator(f"{by_key('iv_seed_name')} input").fill(SEED_NAME)
        pg.locator(f"{by_key('iv_seed_text')} textarea").fill(SEED_TEXT)
        pg.get_by_role("button", name="Add seed post").click()
        pg.get_by_text("Added seed at step 0.").wait_for()
        wait_idle(pg)

        pg.get_by_role("tab", name="Boost").click()
        # Setting the duration reruns the page; until the page reruns after "Add seed post", the new seed
        # is missing from the boost's "Seed post" list (reported to the dashboard author).
        option = pg.get_by_role("option", name=SEED_NAME)
        for duration in (4, 5, 4):  # each value reruns the page; under load the first rerun can miss the seed
            set_number_input(pg, "iv_boost_duration", duration)
            pg.locator(by_key("iv_boost_target_seed")).click()
            try:
                option.wait_for(timeout=10_000)
                break
            except PlaywrightTimeout:
                pg.keyboard.press("Escape")
        option.click()
        wait_idle(pg)
        click(pg, "iv_boost_add")
        pg.get_by_text("Added boost at step 0.").wait_for()
        wait_idle(pg)

        timeline = pg.evaluate("""() => document.querySelector('.st-key-iv_timeline .js-plotly-plot').data
                                   .map(t => ({name: t.name, text: [...(t.text || [])].join(' ')}))""")
        assert len(timeline) == before + 2, f"the schedule should show two more interventions: {timeline}"
        assert {"name": "seed", "text": SEED_NAME} in timeline
        assert {"name": "boost", "text": f"seed '{SEED_NAME}'"} in timeline


def test_simulate_ten_steps(flow):
    with flow.stage("03-simulate") as pg:
        go_to(pg, "Simulate", by_key("sim_step"))
        caption = pg.locator('[data-testid="stCaptionContainer"]', has_text="interventions").first.inner_text()
        expected = flow.default_interventions + 2
        assert f"{expected} interventions" in caption, f"the run should use the new seed and boost: {caption!r}"
        assert metric(pg, "Steps done") == "0"

        click(pg, "sim_step")  # one Step ...
        wait_plot_points(pg, "sim_chart_spread", 1)
        wait_idle(pg)
        assert metric(pg, "Steps done") == "1"

        set_number_input(pg, "sim_n", STEPS - 1)  # ... then Run N = 9
        click(pg, "sim_run")
        wait_plot_points(pg, "sim_chart_spread", STEPS, timeout=120_000)
        expect(button(pg, "sim_run")).to_be_enabled(timeout=60_000)  # the run ended and the page redrew
        wait_idle(pg)
        assert metric(pg, "Steps done") == str(STEPS)
        assert button(pg, "sim_run").is_enabled() and button(pg, "sim_stop").is_disabled()
        assert int(metric(pg, "Aware").replace(",", "")) > 0, "the seed posts should make someone aware"


@pytest.mark.parametrize(
    "key,title",
    [("sim_chart_spread", "Spread"), ("sim_chart_emotion", "Emotion density"), ("sim_chart_attitude", "Attitude")],
)
def test_chart_has_ten_points(flow, key, title):
    with flow.stage(f"04-chart-{key.split('_')[-1]}") as pg:
        plot = pg.locator(f"{by_key(key)} .js-plotly-plot")
        plot.scroll_into_view_if_needed()
        assert plot.is_visible()
        shown = pg.evaluate("k => document.querySelector('.st-key-' + k + ' .js-plotly-plot').layout.title.text", key)
        assert title in shown, f"{key} should be the {title} chart, not {shown!r}"
        traces = plot_traces(pg, key)
        assert longest_trace(traces) == STEPS, f"{key} should have one point per step: {traces}"
        # The drawn SVG has data in it too, not just the data model.
        assert plot.locator(".scatterlayer .trace, .barlayer .trace").count() >= 1


def test_compare_shows_both_runs(flow):
    with flow.stage("05-compare") as pg:
        go_to(pg, "Compare", by_key("cmp_baseline"))
        set_number_input(pg, "cmp_steps", STEPS)
        click(pg, "cmp_baseline")
        pg.get_by_text(re.compile(r"Started .*: 10 steps in the background")).wait_for()
        wait_plot_points(pg, "cmp_overlay", STEPS, timeout=120_000)
        pg.wait_for_function("""() => { const el = document.querySelector('.st-key-cmp_overlay .js-plotly-plot');
                                 return el && el.data.length >= 2; }""")
        wait_idle(pg)
        traces = plot_traces(pg, "cmp_overlay")
        names = [t["name"] for t in traces]
        assert len(traces) == 2 and all(t["n"] == STEPS for t in traces), f"two runs of 10 steps expected: {traces}"
        assert any("baseline" in n or "no interventions" in n for n in names), names
        assert any("interactive" in n or "default" in n for n in names), names
        chips = [t.get_attribute("aria-label") for t in pg.locator(f"{by_key('cmp_runs')} [data-tag]").all()]
        assert len(chips) == 2, f"both runs should be selected in 'Runs to compare': {chips}"
        assert sorted(c.split(" ")[0] for c in chips) == sorted(names), (chips, names)
        assert pg.locator(f"{by_key('cmp_difference')} .js-plotly-plot").is_visible()


def _download(pg, key: str, reopen, timeout: int = 10_000, attempts: int = 3):
    """Click a download button and return (file name, bytes); the file must not be empty.

    Streamlit 1.67 loses about one deferred download in three when the click also reruns the
    page (the button stays disabled with a spinner; reported to the dashboard author, fix:
    ``on_click="ignore"``). A person would reload and click again, and so does this helper, with
    a warning so the problem stays visible until the pages are fixed.
    """
    for attempt in range(1, attempts + 1):
        wait_idle(pg)
        try:
            with pg.expect_download(timeout=timeout) as info:
                click(pg, key)
            break
        except PlaywrightTimeout:
            if attempt == attempts:
                raise AssertionError(f"no download from {key!r} after {attempts} clicks") from None
            warnings.warn(
                f"download {key!r} did not start (attempt {attempt}); reopening the page and retrying", stacklevel=2
            )
            reopen()
    download = info.value
    assert download.failure() is None, download.failure()
    data = Path(download.path()).read_bytes()
    assert len(data) > 0, f"{download.suggested_filename} is empty"
    return download.suggested_filename, data


def _open_traces_tab(pg, tab: str, ready_key: str):
    """Open the Traces page (through Overview, so the page is drawn afresh) on one tab."""

    def reopen():
        go_to(pg, "Overview")
        go_to(pg, "Traces", by_key("tr_run"))
        pg.get_by_role("tab", name=tab).click()
        button(pg, ready_key).wait_for()
        wait_idle(pg)

    return reopen


def test_export_posts_csv_and_parquet(flow):
    with flow.stage("06-export-tables") as pg:
        reopen = _open_traces_tab(pg, "Posts", "tr_posts_csv")
        reopen()
        name, data = _download(pg, "tr_posts_csv", reopen)
        assert name.endswith("-posts.csv"), name
        text = data.decode("utf-8-sig")  # the CSV starts with a BOM, for Excel
        assert text.splitlines()[0] == CSV_HEADER, f"unexpected CSV header: {text.splitlines()[0]!r}"
        rows = list(csv.reader(io.StringIO(text)))  # post texts may hold quoted newlines
        assert len(rows) > 1, "the run should have posts"

        name, data = _download(pg, "tr_posts_parquet", reopen)
        assert name.endswith("-posts.parquet") and data[:4] == b"PAR1" and data[-4:] == b"PAR1"
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        assert table.column_names == CSV_HEADER.split(",")
        assert table.num_rows == len(rows) - 1, "the CSV and the Parquet file should hold the same posts"


def test_export_chart_html_and_png(flow):
    with flow.stage("07-export-charts") as pg:
        reopen = _open_traces_tab(pg, "Charts", "tr_chart_export_html")
        reopen()
        name, data = _download(pg, "tr_chart_export_html", reopen)
        assert name.endswith(".html") and b"plotly" in data and b"<html" in data[:2000].lower()
        if button(pg, "tr_chart_export_png").is_enabled():
            name, data = _download(pg, "tr_chart_export_png", reopen, timeout=30_000)  # kaleido starts Chromium
            assert name.endswith(".png") and data[:8] == b"\x89PNG\r\n\x1a\n"


# -- independent sessions ------------------------------------------------------------------------------
def test_every_page_opens_from_its_own_url(page, app_server):
    """A bookmarked or shared link opens that page (a new session), with no 'Page not found' and no traceback."""
    links = page.locator('[data-testid="stSidebarNav"] a').evaluate_all(
        "els => els.map(a => [a.innerText.trim().split('\\n').pop().trim(), a.getAttribute('href')])"
    )
    assert [title for title, _ in links] == [
        "Overview",
        "Network",
        "Agents",
        "Interventions",
        "Simulate",
        "Compare",
        "Traces",
        "Validate",
        "Runs",
        "Model",
    ], links
    for title, href in links:
        page.goto(href, wait_until="domcontentloaded")
        heading = PAGE_HEADINGS.get(title, title)
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(heading)
        wait_idle(page)
        assert page.locator('[role="dialog"]').count() == 0, (
            f"{href}: {page.locator('[role=dialog]').first.inner_text()}"
        )
        assert_clean(page)


def test_missing_chromium_is_a_clear_failure(monkeypatch):
    """Without Chromium the suite must fail and say how to install it (CI installs it), never skip."""
    import browser_harness

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(browser_harness.HarnessError, match=r"apt-get install -y chromium"):
        browser_harness.chromium_path()
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setattr(browser_harness.os.path, "isfile", lambda path: False)
    with pytest.raises(browser_harness.HarnessError, match=r"Chromium not found .*/usr/bin/chromium"):
        browser_harness.chromium_path()


@pytest.mark.parametrize(
    "file,problem",
    [
        ("edges_self_loop.csv", "self-loop"),
        ("edges_misnamed_columns.csv", "missing column 'follower'"),
    ],
    ids=["self-loop", "wrong-header"],
)
def test_malformed_upload_is_refused_and_network_kept(page, file, problem):
    go_to(page, "Network", by_key("net_source"))
    page.locator(by_key("net_source")).get_by_text("Upload files").click()
    page.locator(f"{by_key('net_up_edges')} input[type=file]").set_input_files(str(MALFORMED / file))
    expect(button(page, "net_load_upload")).to_be_enabled()  # the upload arrived (the name may be cut short)
    wait_idle(page)
    click(page, "net_load_upload")
    error = page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for()
    wait_idle(page)
    text = error.inner_text()
    assert file in text and problem in text, f"the error should name the file and the problem: {text!r}"
    assert "Fix" in text, f"the error should say how to fix it: {text!r}"
    assert "still in use" in text, text
    assert metric(page, "Users") == BUNDLED_USERS and metric(page, "Follow edges") == BUNDLED_EDGES
    assert page.get_by_role("heading", name=re.compile(r"bundled Weibo sample")).is_visible()
    assert_clean(page)
    screenshot(page, f"08-malformed-{file.removesuffix('.csv')}")


def test_stop_ends_a_long_run(page):
    asked = 20_000  # more than a run can do before Stop lands: at max speed, hundreds of steps a second once the event dies down
    go_to(page, "Simulate", by_key("sim_run"))
    set_number_input(page, "sim_n", asked)
    click(page, "sim_run")
    progress = page.locator('[data-testid="stProgress"]', has_text=re.compile(rf"Running: [1-9]\d* of {asked} steps"))
    progress.first.wait_for(timeout=60_000)
    assert button(page, "sim_stop").is_enabled()
    click(page, "sim_stop")  # returns once the click is dispatched (after Playwright's actionability checks)
    started = time.perf_counter()
    # .first: while the Stop rerun and the ended run's own rerun overlap, the old page's copy can still show
    page.get_by_text(re.compile(r"Stopped after \d+ steps? \(last step \d+\)")).first.wait_for(timeout=15_000)
    told = time.perf_counter() - started
    expect(button(page, "sim_run")).to_be_enabled(timeout=15_000)
    took = time.perf_counter() - started
    print(f"stop: message after {told:.2f} s, Run enabled after {took:.2f} s")
    wait_idle(page)
    stopped = page.get_by_text(re.compile(r"Stopped after \d+ steps? \(last step \d+\)"))
    # under load the overlapping reruns can leave the old copy a moment longer: the page must settle to one
    expect(stopped).to_have_count(1, timeout=10_000)
    done = int(metric(page, "Steps done"))
    assert took < 5.0, f"Stop took {took:.1f} s"
    assert 1 <= done < asked, f"{done} steps done after Stop of a {asked}-step run"
    assert button(page, "sim_stop").is_disabled()
    assert page.locator('[data-testid="stProgress"]').count() == 0, "the progress bar should be gone"
    shown = page.evaluate("() => document.querySelector('.st-key-sim_chart_spread .js-plotly-plot').layout.meta")
    assert shown["last_step"] == done - 1, f"the chart should end at the last step done ({done - 1}): {shown}"
    assert_clean(page)
    screenshot(page, "09-stop")


@pytest.mark.slow
def test_browser_bench_runs(browser):
    """The benchmark harness itself works (one short repetition); its figures are reported, not asserted."""
    import importlib.util

    from browser_harness import ROOT

    spec = importlib.util.spec_from_file_location("browser_bench", ROOT / "benchmarks" / "browser_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run_browser_bench(repeats=1, step_samples=1, warm_views=1, browser=browser)
    assert set(result) == set(bench.LABELS), result
    assert all(row["n"] >= 1 and row["median"] > 0 for row in result.values()), result
