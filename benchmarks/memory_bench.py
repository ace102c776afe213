"""Peak memory of a traced run on a large synthetic network.

``python -m benchmarks.memory_bench [--agents 3000000] [--steps 50] [--out DIR]`` builds a
synthetic follower graph (10 followees per user on average, reciprocity 0.3), runs the engine
benchmark's event (``engine_bench.bench_scenario``) for ``--steps`` steps into a DuckDB trace
with its checkpoints (buffered and written on the writer thread, as ``s3core run`` does), and prints one JSON object: agents, edges, steps, final awareness,
median step seconds, the traced run's wall seconds per step, trace size and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.engine_bench import bench_scenario


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=3_000_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", default=None, help="folder for the trace (default: a temporary folder)")
    args = parser.parse_args(argv)

    from s3core.engine import Simulation
    from s3core.runner import open_run, record
    from s3core.synthetic import synthetic_network

    started = time.perf_counter()
    network = synthetic_network(args.agents, mean_followees=10.0, reciprocity=0.3, rng=np.random.default_rng(42))
    scenario = bench_scenario(args.steps)
    sim = Simulation(scenario, network=network)
    print(f"network and population: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        path = Path(tmp) / "memory-bench.duckdb"
        every = scenario.run.checkpoint_every  # written as s3core run writes it: buffered, on the writer thread
        sim, store = open_run(scenario, path, sim=sim, buffer_steps=every, background=True)
        steps = []
        started_run = time.perf_counter()
        try:
            for i in range(args.steps):
                t0 = time.perf_counter()
                rec = sim.step()
                t1 = time.perf_counter()
                record(sim, store, rec, args.steps - 1)
                steps.append(t1 - t0)
                print(
                    f"step {i + 1}/{args.steps}: {steps[-1]:.3f} s + record {time.perf_counter() - t1:.3f} s, "
                    f"aware {rec.metrics['aware']:,}",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            store.close()
        run_seconds = time.perf_counter() - started_run
        result = {
            "agents": network.n_users,
            "edges": network.n_edges,
            "steps": args.steps,
            "final_aware": rec.metrics["aware"],
            "step_median_seconds": round(statistics.median(steps), 4),
            "step_plus_trace_mean_seconds": round(run_seconds / args.steps, 4),  # wall per step, closing included
            "trace_mb": round(path.stat().st_size / 2**20, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
