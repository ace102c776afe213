"""The benchmark's code path runs and reports every promised field (figures come from the CLI, not tests)."""

import json
from pathlib import Path

import pytest

from benchmarks import engine_bench

ROOT = Path(__file__).resolve().parent.parent


def test_engine_and_ndlib_measurements_on_the_bundled_graph(tmp_path):
    seeds = tmp_path / "seeds.npy"
    row = engine_bench.measure_engine("bundled", 3, engine_bench.DEFAULT_DATASETS, seeds)
    assert row["agents"] == 10_095 and row["steps"] == 3
    assert row["step_seconds"] > 0 and row["agent_steps_per_s"] > 0 and row["peak_rss_mb"] > 0
    assert seeds.exists()
    pytest.importorskip("ndlib")
    nd = engine_bench.measure_ndlib("bundled", 1, engine_bench.DEFAULT_DATASETS, seeds)
    assert nd["ndlib_node_updates_per_s"] > 0
    json.dumps({**row, **nd})
