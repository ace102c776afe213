"""Drive the real dashboard in Debian's Chromium: start the server, open pages, wait, read charts.

Shared by the browser tests (``tests/test_browser.py``, through the pytest fixtures at the end)
and the browser benchmark (``benchmarks/browser_bench.py``, through the plain functions). The
server runs in its own process group with its own runs folder, so teardown kills everything it
started (kaleido's Chromium included) and never touches another process.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
MALFORMED = ROOT / "tests" / "malformed"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
START_TIMEOUT = 60.0  # seconds for the server to answer /_stcore/health
RENDER_TIMEOUT = 60_000  # ms for a page or a rerun (the first load of the bundled network takes a few seconds)
BUNDLED_USERS, BUNDLED_EDGES = "10,095", "12,670"


class HarnessError(RuntimeError):
    """The browser or the server could not be set up; the message says why and how to fix it."""


# -- Chromium -------------------------------------------------------------------------------------
def chromium_path() -> str:
    """Debian's Chromium, or $BROWSER_PATH when set; raises HarnessError with the fix when there is none."""
    override = os.environ.get("BROWSER_PATH")
    candidates = (
        [override] if override else ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    )
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    where = f"$BROWSER_PATH={override}" if override else "/usr/bin/chromium and PATH"
    raise HarnessError(
        f"Chromium not found (looked at {where}). The browser tests need Debian's chromium: run "
        "`apt-get install -y chromium` (.ci/run does this), or set BROWSER_PATH to a Chromium binary. "
        "`playwright install` cannot download browsers here."
    )


def launch_chromium(playwright):
    """Headless Chromium with the flags that make it quiet and offline."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


# -- the Streamlit server ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the process that started it dies (Linux), so no server is orphaned."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class AppServer:
    """``streamlit run app.py`` on a free loopback port, with its own S3_RUNS_DIR; a context manager."""

    def __init__(self, runs_dir: Path, log_path: Path | None = None):
        self.runs_dir = Path(runs_dir)
        self.log_path = Path(log_path) if log_path else self.runs_dir / "streamlit.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> AppServer:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        env = {
            **os.environ,
            "S3_RUNS_DIR": str(self.runs_dir),
            "PYTHONUNBUFFERED": "1",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(self.port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
        ]
        # A new session (process group): stop() can end the server and every child it started.
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)  # also when the test run is interrupted before fixture teardown
        return self

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> float:
        """Block until /_stcore/health answers ok; returns the seconds waited."""
        started = time.perf_counter()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"streamlit exited with code {self.proc.returncode} before answering:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)  # polling a socket, not waiting on the page
        raise HarnessError(
            f"streamlit did not answer {self.url}/_stcore/health within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, chars: int = 4000) -> str:
        try:
            if self._log:
                self._log.flush()
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it if it has not ended within 10 s."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            # Children (e.g. kaleido's Chromium) may outlive the leader: end the rest of its group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log:
            self._log.close()
            self._log = None
        atexit.unregister(self.stop)

    def __enter__(self) -> AppServer:
        try:
            self.start().wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- pages ----------------------------------------------------------------------------------------
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  const state = app.getAttribute('data-test-script-state');
  if (state !== null && state !== 'notRunning') return false;
  return !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def wait_idle(page, timeout: int = RENDER_TIMEOUT) -> None:
    """Wait until Streamlit is connected and no script run is in progress ("Running..." gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(IDLE_JS, timeout=timeout, polling=100)


def open_app(page, url: str, timeout: int = RENDER_TIMEOUT) -> None:
    """Load the app (a new browser session) and wait for the Overview's network size."""
    page.goto(url + "/", wait_until="domcontentloaded", timeout=timeout)
    metric(page, "Users", timeout=timeout)
    wait_idle(page, timeout)


PAGE_HEADINGS = {"Overview": "S3 policy lab"}  # pages whose title differs from their navigation label


def go_to(page, title: str, ready_selector: str | None = None, timeout: int = RENDER_TIMEOUT) -> None:
    """Open a page through the sidebar (the same browser session, so the same workspace)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_function(
        "t => { const h = document.querySelector('[data-testid=\"stMain\"] h1'); "
        "return h && h.innerText.trim().startsWith(t); }",
        arg=PAGE_HEADINGS.get(title, title),
        timeout=timeout,
    )
    if ready_selector:
        page.locator(ready_selector).first.wait_for(timeout=timeout)
    wait_idle(page, timeout)


def by_key(key: str) -> str:
    """CSS selector of the element Streamlit renders for a widget or container with this key."""
    return f".st-key-{key}"


def button(page, key: str):
    """The visible button of the st.button / st.download_button with this key.

    Streamlit 1.67 renders a hidden copy of a button that has help text (to measure it), so
    the key's container holds two <button>s; only one is visible.
    """
    return page.locator(f"{by_key(key)} button:visible").first


def click(page, key: str) -> None:
    button(page, key).click()


def metric(page, label: str, timeout: int = RENDER_TIMEOUT) -> str:
    """The displayed value of the st.metric with this label (waits for it)."""
    loc = (
        page.locator('[data-testid="stMetric"]')
        .filter(has=page.locator('[data-testid="stMetricLabel"]', has_text=label))
        .first
    )
    loc.wait_for(timeout=timeout)
    return loc.locator('[data-testid="stMetricValue"]').inner_text().strip()


# Plotly.py 6 sends arrays base64-encoded ({dtype, bdata}); plotly.js decodes them into typed arrays
# in _fullData (and keeps them under _inputArray), so count from whichever form is present.
_POINTS_JS = """
const _len = v => !v ? 0 : (Array.isArray(v) || ArrayBuffer.isView(v)) ? v.length
  : v._inputArray ? _len(Object.keys(v._inputArray).filter(k => /^\\d+$/.test(k)))
  : typeof v.length === 'number' ? v.length : 0;
const _points = (el, i) => {
  const full = (el._fullData || []).find(f => f.index === i);
  const t = el.data[i];
  return Math.max(full ? _len(full.x || full.y) : 0, _len(t.x || t.y));
};
"""
PLOT_POINTS_JS = (
    "key => {"
    + _POINTS_JS
    + """
  const el = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  if (!el || !el.data) return null;
  return el.data.map((t, i) => ({name: t.name || '', type: t.type || 'scatter', n: _points(el, i)}));
}"""
)


def plot_traces(page, key: str) -> list[dict] | None:
    """Name, type and point count of each trace of the plotly chart with this key (None if not drawn)."""
    return page.evaluate(PLOT_POINTS_JS, key)


def wait_plot_points(page, key: str, at_least: int, timeout: int = RENDER_TIMEOUT) -> None:
    """Wait until the first trace of the chart with this key has at least ``at_least`` points."""
    page.wait_for_function(
        "([key, n]) => {"
        + _POINTS_JS
        + """
      const el = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
      return !!(el && el.data && el.data.length && _points(el, 0) >= n);
    }""",
        arg=[key, at_least],
        timeout=timeout,
        polling=50,
    )


def exceptions(page) -> list[str]:
    """Texts of the tracebacks Streamlit shows on the page (there should be none)."""
    return [e.inner_text()[:2000] for e in page.locator('[data-testid="stException"]').all()]


def screenshot(page, name: str, max_height: int = 6000) -> Path:
    """Save a PNG of the whole page under test-artifacts/ (created on demand) and return its path.

    Streamlit scrolls inside its main section, not the document, so a "full page" screenshot would
    show one screen: the viewport is made as tall as the content for the shot, then restored.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)  # no tooltip left over from the last hover
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('_')}.png"
    size = page.viewport_size or VIEWPORT
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 0; }"
    )
    tall = min(max(int(height), size["height"]), max_height)
    if tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": tall})
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if tall > size["height"]:
            page.set_viewport_size(size)
    return path


NETWORK_DRAWN_JS = (
    "n => {"
    + _POINTS_JS
    + """
  // a network view (ui.netview.render): a plotly chart whose layout.meta names its node count
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const meta = el.layout && el.layout.meta;
    if (!meta || meta.network_nodes !== n || !el._fullLayout || !el.data) continue;
    const users = el.data.findIndex(t => t.name === 'users');
    if (users < 0 || _points(el, users) !== n) continue;
    // drawn: one SVG marker per user, and the edges' path shapes (if any) in place
    const shapes = (el.layout.shapes || []).length;
    if (el.querySelectorAll('.scatterlayer .trace .points path').length === n
        && el.querySelectorAll('.shapelayer path').length === shapes) return true;
  }
  return false;
}"""
)


def wait_network_drawn(page, nodes: int, timeout: int = RENDER_TIMEOUT) -> None:
    """Wait until a network view (ui.netview's plotly chart) of exactly ``nodes`` users is drawn.

    Drawn means: the chart's ``layout.meta.network_nodes`` and its ``users`` trace both count
    ``nodes``, and plotly has drawn ``nodes`` SVG markers and the edges' path shapes.
    """
    page.wait_for_function(NETWORK_DRAWN_JS, arg=nodes, timeout=timeout, polling=50)


def set_number_input(page, key: str, value: int | float) -> None:
    """Type a value into the number input with this key and commit it (Enter triggers the rerun)."""
    box = page.locator(f"{by_key(key)} input")
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        "([k, v]) => { const i = document.querySelector('.st-key-' + k + ' input'); "
        "return i && Number(i.value) === v; }",
        arg=[key, value],
        timeout=RENDER_TIMEOUT,
    )
    wait_idle(page)


def new_page(browser, app_server):
    """A fresh browser context (its own Streamlit session and workspace) on the Overview page."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(RENDER_TIMEOUT)
    page = context.new_page()
    open_app(page, app_server.url)
    return context, page


# -- pytest fixtures (imported by tests/test_browser.py) ------------------------------------------
try:
    import pytest
except ImportError:  # the benchmark uses the functions above without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def chromium_exe() -> str:
        """The Chromium binary; a missing one FAILS the browser tests (CI installs it), never skips them."""
        try:
            return chromium_path()
        except HarnessError as exc:
            pytest.fail(str(exc), pytrace=False)

    @pytest.fixture(scope="session")
    def app_server(chromium_exe, tmp_path_factory):
        """One dashboard server for the test session, with its own runs folder; its log is kept as an artifact."""
        runs = tmp_path_factory.mktemp("s3-runs")
        ARTIFACTS.mkdir(exist_ok=True)
        server = AppServer(runs, log_path=ARTIFACTS / "streamlit-server.log")
        try:
            server.start().wait_healthy()
        except HarnessError as exc:
            server.stop()
            pytest.fail(str(exc), pytrace=False)
        yield server
        server.stop()

    @pytest.fixture(scope="session")
    def browser(chromium_exe):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            try:
                b = launch_chromium(pw)
            except Exception as exc:  # noqa: BLE001 - any launch fault is a clear failure, not a skip
                pytest.fail(f"Chromium at {chromium_exe} did not start: {exc}", pytrace=False)
            yield b
            b.close()

    @pytest.fixture
    def page(browser, app_server, request):
        """A fresh session per test; a screenshot named after the test is saved when it fails."""
        failed_before = request.session.testsfailed
        context, pg = new_page(browser, app_server)
        yield pg
        if request.session.testsfailed > failed_before:  # the call's report is logged before teardown
            with contextlib.suppress(Exception):
                screenshot(pg, f"FAILED-{request.node.name}")
        context.close()
