"""What writing the DuckDB trace costs per step, on engine_bench's graphs and scenario (1M agents by default).

Each mode runs in its own subprocess: ``engine`` steps without a trace; ``dashboard`` commits
every step before ``record`` returns (``open_run``'s defaults, as the dashboard and engine_bench);
``cli`` buffers a checkpoint interval and commits it on the writer thread (as ``run_to_trace``).
``trace`` is the time ``record`` blocks the caller; ``wall`` covers the steps, the trace and
``close`` (which folds DuckDB's WAL), so a writer thread that slows the steps is counted too;
``wall_s - sum_step_s`` is what the trace adds to a run.

    python -m benchmarks.trace_bench --graph synthetic-1m --steps 20
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("engine", "dashboard", "cli")


def measure(graph: str, steps: int, mode: str, wal_threshold: str | None = None) -> dict:
    """Step ``steps`` steps in ``mode``; per-step times on stderr, the summary as returned."""
    from benchmarks.engine_bench import DEFAULT_DATASETS, bench_scenario, build_network
    from s3core import trace
    from s3core.engine import Simulation
    from s3core.runner import open_run, record

    if wal_threshold and hasattr(trace, "WAL_THRESHOLD"):
        trace.WAL_THRESHOLD = wal_threshold

    scenario = bench_scenario(steps)
    sim = Simulation(scenario, network=build_network(graph, DEFAULT_DATASETS))
    buffered = "buffer_steps" in inspect.signature(open_run).parameters  # absent before the buffered writer
    options = {"buffer_steps": scenario.run.checkpoint_every, "background": True} if mode == "cli" else {}
    if options and not buffered:
        options = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.duckdb"
        store = None
        if mode != "engine":
            sim, store = open_run(scenario, out, sim=sim, **options)
        step_s, trace_s = [], []
        started = time.perf_counter()
        for i in range(steps):
            t0 = time.perf_counter()
            rec = sim.step()
            t1 = time.perf_counter()
            if store is not None:
                record(sim, store, rec, steps - 1)
            t2 = time.perf_counter()
            step_s.append(t1 - t0)
            trace_s.append(t2 - t1)
            print(
                f"  {mode}: step {i + 1}/{steps} {t1 - t0:.3f} s + trace {t2 - t1:.3f} s", file=sys.stderr, flush=True
            )
        t0 = time.perf_counter()
        if store is not None:
            store.close()
        close_s = time.perf_counter() - t0
        wall_s = time.perf_counter() - started
        size_mb = out.stat().st_size / 2**20 if out.exists() else 0.0
    return {
        "mode": mode,
        "buffered_writer": buffered and mode == "cli",
        "graph": graph,
        "steps": steps,
        "wal_threshold": getattr(trace, "WAL_THRESHOLD", "default"),
        "median_step_s": round(statistics.median(step_s), 3),
        "sum_step_s": round(sum(step_s), 2),
        "median_trace_s": round(statistics.median(trace_s), 3),
        "max_trace_s": round(max(trace_s), 3),
        "sum_trace_s": round(sum(trace_s), 2),
        "close_s": round(close_s, 2),
        "wall_s": round(wall_s, 2),
        "trace_mb": round(size_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graph", default="synthetic-1m")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--wal-threshold", help="DuckDB checkpoint_threshold of the writer, e.g. 256MB")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.graph, args.steps, args.child, args.wal_threshold)))
        return 0
    rows = []
    for mode in args.modes.split(","):
        command = [sys.executable, "-m", "benchmarks.trace_bench", "--graph", args.graph, "--steps", str(args.steps)]
        command += ["--wal-threshold", args.wal_threshold] if args.wal_threshold else []
        out = subprocess.run([*command, "--child", mode], stdout=subprocess.PIPE, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = [k for k in rows[0] if k not in ("graph", "steps", "buffered_writer")]
    print(" ".join(f"{k:>15}" for k in keys))
    for row in rows:
        print(" ".join(f"{row[k]!s:>15}" for k in keys))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
