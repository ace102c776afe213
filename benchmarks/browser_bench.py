"""What a person waits for in the dashboard, timed in Debian's Chromium on the bundled network.

``python -m benchmarks.browser_bench [--repeats 5] [--json]`` (or ``run_browser_bench()``)
starts a fresh server per repetition and measures:

- cold start: process start -> Overview page rendered with the network size shown, app idle;
- network view, 1,000 nodes: slider set to 1,000 on Network > Graph view -> the pyvis iframe
  holds a vis network of 1,000 nodes with pixels on its canvas (cold: first layout of the
  process; warm: layout cached, the page re-renders the view);
- Step: Step clicked on Simulate -> the spread chart has one more point (the first step of a
  run, which opens the trace file, is reported on its own);
- a live run: Run N (default 200) at max speed on Simulate. A script in the page polls the spread
  chart every 10 ms for the step it shows and when that step was handed to the trace (the
  chart's ``layout.meta``), so it measures steps per second (N / click -> last step recorded),
  chart refreshes per second while the run goes, and the step-to-chart latency (a step
  recorded -> the chart showing it, the same machine's clock on both sides; the trace commits
  it within 0.2 s on its writer thread).

Figures are medians (and min/max) over all samples; targets are from the dashboard's issues
(steps/s and refreshes/s are "at least" targets, the times "under").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests import browser_harness as H  # the shared browser harness lives beside the tests

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "network_view_cold": 2.0,
    "network_view_warm": 2.0,
    "step_to_chart": 1.0,
    "live_steps_per_s": 10.0,
    "live_refreshes_per_s": 2.0,
    "live_step_to_chart": 1.0,
}
AT_LEAST = {"live_steps_per_s", "live_refreshes_per_s"}  # rates: the target is a floor
LABELS = {
    "cold_start": "cold start to interactive (Overview, size shown)",
    "server_health": "  of which: server answers /_stcore/health",
    "network_view_cold": "network view, 1,000 nodes, first layout (s)",
    "network_view_warm": "network view, 1,000 nodes, layout cached (s)",
    "first_step_to_chart": "first Step of a run -> chart updated (s)",
    "step_to_chart": "Step -> chart updated (s)",
    "live_run_wall": "live run at max speed: Run -> last step charted (s)",
    "live_steps_per_s": "live run: steps per second",
    "live_refreshes_per_s": "live run: chart refreshes per second",
    "live_step_to_chart": "live run: step recorded -> chart shows it (s)",
}
VIEW_NODES, OTHER_NODES = 1000, 300  # the slider alternates between these for the warm samples
LIVE_STEPS = 200  # long enough at max speed (tens of steps a second) to see several chart refreshes
WATCH_JS = """key => {
  window.__s3seen = [];
  clearInterval(window.__s3timer);
  window.__s3timer = setInterval(() => {
    const el = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
    const meta = el && el.layout && el.layout.meta;
    const seen = window.__s3seen;
    if (meta && (!seen.length || seen[seen.length - 1].step !== meta.last_step)) {
      seen.push({t: Date.now() / 1000, step: meta.last_step, recorded: meta.recorded ?? null});
    }
  }, 10);
}"""


def _slider_click(page, key: str, value: float) -> None:
    """Click the slider's track where ``value`` lies: one change, one rerun (arrow keys rerun per press)."""
    root = page.locator(H.by_key(key))
    box_input = root.locator("input[type=range]")
    lo, hi = float(box_input.get_attribute("min")), float(box_input.get_attribute("max"))
    track = root.locator('[data-orientation="horizontal"][style*="relative"]').first
    box = track.bounding_box()
    x = box["x"] + min(box["width"] * (value - lo) / (hi - lo), box["width"] - 1)  # the maximum: just inside
    page.mouse.click(x, box["y"] + box["height"] / 2)


def _set_slider(page, key: str, value: int) -> float:
    """Set the slider to ``value`` and return seconds until the view of that many nodes is drawn."""
    started = time.perf_counter()
    _slider_click(page, key, value)
    current = int(float(page.locator(f"{H.by_key(key)} input[type=range]").input_value()))
    if current != value:  # the click landed a step off: the sample would time something else
        raise RuntimeError(f"slider {key} went to {current}, not {value}; widen the viewport")
    H.wait_network_drawn(page, value)
    took = time.perf_counter() - started
    H.wait_idle(page)
    return took


def live_run(page, steps: int = LIVE_STEPS) -> dict[str, float]:
    """Run ``steps`` steps at max speed on the open Simulate page; steps/s, refreshes/s and latency.

    Raises RuntimeError when the chart never shows the last step or carries no commit times.
    """
    speed = page.locator(f"{H.by_key('sim_speed')} input[type=range]")
    if speed.get_attribute("aria-valuetext") not in (None, "max"):
        raise RuntimeError(f"the speed is {speed.get_attribute('aria-valuetext')}, not max")
    H.set_number_input(page, "sim_n", steps)
    first = max((t["n"] for t in H.plot_traces(page, "sim_chart_spread") or []), default=0)
    last = first + steps - 1
    page.evaluate(WATCH_JS, "sim_chart_spread")
    clicked = page.evaluate("() => Date.now() / 1000")
    H.click(page, "sim_run")
    page.wait_for_function(
        "n => { const s = window.__s3seen; return s.length && s[s.length - 1].step >= n; }",
        arg=last,
        timeout=H.RENDER_TIMEOUT * 2,
        polling=50,
    )
    seen = page.evaluate("() => { clearInterval(window.__s3timer); return window.__s3seen; }")
    H.wait_idle(page)
    during = [s for s in seen if first <= s["step"] <= last and s["recorded"] is not None]
    if not during or during[-1]["step"] != last:
        raise RuntimeError(f"the spread chart never showed step {last} with its commit time: {seen[-5:]}")
    shown_last = during[-1]
    lags = sorted(s["t"] - s["recorded"] for s in during)
    span = shown_last["t"] - during[0]["t"]
    return {
        "live_run_wall": shown_last["t"] - clicked,
        "live_steps_per_s": steps / max(shown_last["recorded"] - clicked, 1e-9),
        "live_refreshes_per_s": (len(during) - 1) / span if span > 0 else 0.0,
        "live_step_to_chart": lags[len(lags) // 2],
    }


def _one_repetition(browser, step_samples: int, warm_views: int, live_steps: int) -> dict[str, list[float]]:
    """A fresh server and session: cold start, the network view, then Steps."""
    out: dict[str, list[float]] = {k: [] for k in LABELS}
    with tempfile.TemporaryDirectory(prefix="s3-bench-") as tmp:
        started = time.perf_counter()
        server = H.AppServer(Path(tmp)).start()
        try:
            out["server_health"].append(server.wait_healthy())
            context = browser.new_context(viewport=H.VIEWPORT)
            page = context.new_page()
            H.open_app(page, server.url)
            if H.metric(page, "Users") != H.BUNDLED_USERS:
                raise RuntimeError(f"Overview shows {H.metric(page, 'Users')} users, not {H.BUNDLED_USERS}")
            out["cold_start"].append(time.perf_counter() - started)

            H.go_to(page, "Network", H.by_key("net_source"))
            page.get_by_role("tab", name="Graph view").click()
            H.wait_network_drawn(page, OTHER_NODES)  # the default view (300 nodes)
            H.wait_idle(page)
            out["network_view_cold"].append(_set_slider(page, "net_view_size", VIEW_NODES))
            for _ in range(warm_views):
                _set_slider(page, "net_view_size", OTHER_NODES)
                out["network_view_warm"].append(_set_slider(page, "net_view_size", VIEW_NODES))

            H.go_to(page, "Simulate", H.by_key("sim_step"))
            page.locator(f"{H.by_key('sim_chart_spread')} .js-plotly-plot").wait_for()
            for i in range(step_samples + 1):
                before = max((t["n"] for t in H.plot_traces(page, "sim_chart_spread") or []), default=0)
                t0 = time.perf_counter()
                H.click(page, "sim_step")
                H.wait_plot_points(page, "sim_chart_spread", before + 1)
                out["first_step_to_chart" if i == 0 else "step_to_chart"].append(time.perf_counter() - t0)
                H.wait_idle(page)
            for key, value in live_run(page, live_steps).items():
                out[key].append(value)
            context.close()
        except Exception as exc:
            raise RuntimeError(f"{exc}\n--- server log ---\n{server.log_tail()}") from exc
        finally:
            server.stop()
    return out


def run_browser_bench(
    repeats: int = 5,
    step_samples: int = 5,
    warm_views: int = 2,
    progress=None,
    browser=None,
    live_steps: int = LIVE_STEPS,
) -> dict:
    """Time the dashboard in Chromium; returns {metric: {median, min, max, n, target, ok, samples}} in seconds.

    ``browser`` is a Playwright Browser to reuse (e.g. the tests' own); by default one is launched.
    """
    samples: dict[str, list[float]] = {k: [] for k in LABELS}

    def measure(b) -> None:
        for rep in range(repeats):
            for key, values in _one_repetition(b, step_samples, warm_views, live_steps).items():
                samples[key].extend(values)
            if progress:
                progress(f"repetition {rep + 1}/{repeats} done")

    if browser is not None:
        measure(browser)
    else:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            own = H.launch_chromium(pw)
            try:
                measure(own)
            finally:
                own.close()
    result = {}
    for key, values in samples.items():
        if not values:
            continue
        target = TARGETS.get(key)
        med = statistics.median(values)
        result[key] = {
            "median": round(med, 3),
            "min": round(min(values), 3),
            "max": round(max(values), 3),
            "n": len(values),
            "target": target,
            "ok": None if target is None else med >= target if key in AT_LEAST else med < target,
            "at_least": key in AT_LEAST,
            "samples": [round(v, 3) for v in values],
        }
    return result


def print_table(result: dict, file=sys.stdout) -> None:
    print(f"{'measure':<54} {'median':>8} {'min':>7} {'max':>7} {'n':>4} {'target':>10}", file=file)
    for key, row in result.items():
        target = ""
        if row["target"] is not None:
            sign = ">=" if row.get("at_least") else "<"
            target = f"{sign}{row['target']:g} {'ok' if row['ok'] else 'MISS'}"
        print(
            f"{LABELS[key]:<54} {row['median']:>8.3f} {row['min']:>7.3f} {row['max']:>7.3f} {row['n']:>4} {target:>10}",
            file=file,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh servers (cold start and first layout samples)")
    parser.add_argument("--steps", type=int, default=5, help="Step samples per repetition, after the first step")
    parser.add_argument("--warm-views", type=int, default=2, help="cached 1,000-node views per repetition")
    parser.add_argument("--live-steps", type=int, default=LIVE_STEPS, help="steps of the live run at max speed")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)
    say = None if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    result = run_browser_bench(args.repeats, args.steps, args.warm_views, progress=say, live_steps=args.live_steps)
    if not args.json:
        print_table(result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
