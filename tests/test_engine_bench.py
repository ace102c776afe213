"""The benchmark's like-for-like metrics: their arithmetic on made-up figures, and one quick run of the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import engine_bench

ROOT = Path(__file__).resolve().parent.parent
NEAR_CRITICAL_SPREAD = 0.25  # synthetic-50k at p = 0.1: final sizes from other streams spread by about 15% (sd)


def side(seconds, activated, edges, seeds=100):
    return engine_bench._cascade(seeds, seconds, 5, activated, edges)


def test_heavy_steps_are_those_with_half_the_maximum_decisions():
    h = engine_bench.heavy_step([0.1, 0.4, 0.5, 0.3, 0.05], [10, 80, 100, 50, 5], [20, 160, 200, 100, 10])
    assert h["steps"] == 3 and h["max_decisions"] == 100
    assert h["median_step_seconds"] == 0.4
    assert h["decisions_per_s"] == int(230 / 1.2) and h["deliveries_per_s"] == int(460 / 1.2)


def test_ic_ratios_and_the_same_work_check(capsys):
    ic = engine_bench.ic_equal_work(side(0.5, 10_000, 50_000), side(2.0, 10_300, 52_000), "g")
    assert ic["time_ratio_engine_over_ndlib"] == 0.25
    assert ic["edges_tried_per_s_ratio_engine_over_ndlib"] == round((50_000 / 0.5) / (52_000 / 2.0), 3)
    assert ic["same_work"] and "warning" not in capsys.readouterr().err
    apart = engine_bench.ic_equal_work(side(0.5, 10_000, 50_000), side(2.0, 12_000, 60_000), "g")
    assert not apart["same_work"] and "not the same work" in capsys.readouterr().err
    tiny = engine_bench.ic_equal_work(side(0.01, 110, 30), side(0.02, 118, 35), "g")  # 7% apart, 3 sd of chance
    assert tiny["same_work"]


def test_only_names_known_metrics():
    assert engine_bench.parse_metrics(None) == tuple(engine_bench.METRICS)
    assert engine_bench.parse_metrics("ic_equal_work, heavy_step") == ("ic_equal_work", "heavy_step")
    with pytest.raises(ValueError, match="runs_per_min"):
        engine_bench.parse_metrics("ic,heavy_step")


@pytest.mark.slow
def test_quick_bench_reports_every_metric_with_sane_values():
    pytest.importorskip("ndlib")
    out = subprocess.run(
        [sys.executable, "-m", "s3core", "bench", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(out.stdout)
    assert [r["graph"] for r in rows] == list(engine_bench.QUICK_GRAPHS)
    for r in rows:
        assert r["step_seconds"] > 0 and r["ndlib_ratio"] > 0  # the historical fields stay
        ic = r["ic_equal_work"]
        engine, ndlib = ic["engine"], ic["ndlib"]
        assert engine["seeds"] == ndlib["seeds"] > 0
        for s in (engine, ndlib):
            assert s["cascade_seconds"] > 0 and 1 <= s["iterations"] <= engine_bench.IC_CAP
            assert s["activated"] > s["seeds"] and s["edges_tried_per_s"] > 0
        assert ic["time_ratio_engine_over_ndlib"] == pytest.approx(
            engine["cascade_seconds"] / ndlib["cascade_seconds"], rel=0.01
        )
        assert ic["edges_tried_per_s_ratio_engine_over_ndlib"] == pytest.approx(
            engine["edges_tried_per_s"] / ndlib["edges_tried_per_s"], rel=0.01
        )
        gap = abs(engine["activated"] - ndlib["activated"]) / max(engine["activated"], ndlib["activated"])
        assert ic["activated_gap_fraction"] == pytest.approx(gap, abs=1e-4)
        assert ic["same_work"] if r["graph"] == "bundled" else gap < NEAR_CRITICAL_SPREAD
        heavy = r["heavy_step"]
        assert heavy["steps"] >= 1 and heavy["median_step_seconds"] > 0
        assert heavy["decisions_per_s"] > 0 and heavy["deliveries_per_s"] >= heavy["decisions_per_s"]
        low, high = r["idle_step"]["low_awareness"], r["idle_step"]["high_awareness"]
        assert low["exposures"] == high["exposures"] == 0 and low["aware_share"] == 0 < high["aware_share"]
        assert low["median_step_seconds"] > 0 and high["median_step_seconds"] > 0
        trace = r["step_plus_trace"]
        assert trace["mean_seconds"] == r["step_with_trace_seconds"] and 0 <= trace["trace_fraction"] < 1
    per_min = rows[0]["runs_per_min"]
    assert per_min["runs"] > 0 and per_min["one_worker_runs_per_min"] > 0 and per_min["two_workers_runs_per_min"] > 0
