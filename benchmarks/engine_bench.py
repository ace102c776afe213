"""Engine throughput against NDlib's IndependentCascadesModel on the same graphs and seeds.

Each graph is measured in its own subprocess, so peak memory is that graph's alone:
``python -m s3core bench --json`` prints a JSON list, one object per graph.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
GRAPHS = ("bundled", "synthetic-1m", "weibo-repost-1m")
QUICK_GRAPHS = ("bundled", "synthetic-50k")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_network(graph: str, datasets: Path):
    """The network of a named benchmark graph."""
    if graph == "bundled":
        from s3core.sources import load_bundled

        return load_bundled()
    if graph.startswith("synthetic"):
        from s3core.synthetic import synthetic_network

        n = 1_000_000 if graph.endswith("1m") else 50_000
        return synthetic_network(n, mean_followees=10.0, reciprocity=0.3, rng=np.random.default_rng(42))
    from s3core.loaders import load_cascades

    return load_cascades(datasets / "weibo-ced", dataset="weibo-ced")


def bench_scenario(steps: int):
    """An event seeded by the official account and five of the most followed users."""
    from s3core import scenario as S

    text = (
        """
name = "bench"
seed = 42
steps = %d
[platform]
official_reach = 0.02
[run]
checkpoint_every = 10
[[interventions]]
kind = "seed"
step = 0
name = "event"
text = "国际原子能机构即将把日本核电站灾害提升到人类史上未曾有过的第八级。"
stance = "negative"
emotion = "intense"
"""
        % steps
    )
    return S.loads(text)


def measure_engine(graph: str, steps: int, datasets: Path, seeds_out: Path) -> dict:
    """Time every step (engine alone, and with its DuckDB trace write) and record peak memory."""
    from s3core.engine import Simulation
    from s3core.runner import open_run, record

    t0 = time.perf_counter()
    network = build_network(graph, datasets)
    build_s = time.perf_counter() - t0
    scenario = bench_scenario(steps)
    t0 = time.perf_counter()
    sim = Simulation(scenario, network=network)
    init_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        sim, store = open_run(scenario, Path(tmp) / "bench.duckdb", sim=sim)
        step_s, write_s, aware = [], [], []
        for i in range(steps):
            t0 = time.perf_counter()
            rec = sim.step()
            t1 = time.perf_counter()
            record(sim, store, rec, steps - 1)
            t2 = time.perf_counter()
            step_s.append(t1 - t0)
            write_s.append(t2 - t1)
            aware.append(rec.metrics["aware"])
            if i == 0:
                np.save(seeds_out, np.flatnonzero(sim.state.aware))
            print(
                f"  {graph}: step {i + 1}/{steps} {t1 - t0:.3f} s + trace {t2 - t1:.3f} s, aware {aware[-1]}",
                file=sys.stderr,
                flush=True,
            )
        store.close()
        trace_mb = (Path(tmp) / "bench.duckdb").stat().st_size / 2**20
    median = statistics.median(step_s)
    return {
        "graph": graph,
        "agents": network.n_users,
        "edges": network.n_edges,
        "steps": steps,
        "step_seconds": round(median, 4),
        "step_with_trace_seconds": round(statistics.median(np.add(step_s, write_s)), 4),
        "agent_steps_per_s": round(network.n_users / median),
        "network_build_seconds": round(build_s, 2),
        "init_seconds": round(init_s, 2),
        "final_aware": aware[-1],
        "trace_mb": round(trace_mb, 1),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def measure_ndlib(graph: str, iterations: int, datasets: Path, seeds_in: Path) -> dict:
    """NDlib IndependentCascades on the same graph (information flows followee -> follower) and seeds."""
    import ndlib.models.epidemics as ep
    import ndlib.models.ModelConfig as mc
    import networkx as nx

    network = build_network(graph, datasets)
    follower, followee = network.edges()
    g = nx.DiGraph()
    g.add_nodes_from(range(network.n_users))
    g.add_edges_from(zip(followee.tolist(), follower.tolist()))
    del follower, followee
    model = ep.IndependentCascadesModel(g, seed=42)
    config = mc.Configuration()
    config.add_model_initial_configuration("Infected", np.load(seeds_in).tolist())
    model.set_initial_status(config)
    model.iteration(node_status=False)  # iteration 0 only reports the initial state
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        model.iteration(node_status=False)
        times.append(time.perf_counter() - t0)
        print(f"  {graph}: ndlib iteration {len(times)}/{iterations} {times[-1]:.3f} s", file=sys.stderr, flush=True)
    median = statistics.median(times)
    return {"ndlib_iteration_seconds": round(median, 4), "ndlib_node_updates_per_s": round(network.n_users / median)}


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine_bench", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_all(graphs, steps: int, ndlib_iterations: int, datasets: Path) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for graph in graphs:
            if graph.startswith("weibo") and not (datasets / "weibo-ced").exists():
                print(f"skipping {graph}: {datasets / 'weibo-ced'} not found", file=sys.stderr)
                continue
            seeds = Path(tmp) / f"{graph}-seeds.npy"
            row = _child(["--engine", graph, "--steps", str(steps), "--datasets", str(datasets), "--seeds", str(seeds)])
            row.update(
                _child(
                    [
                        "--ndlib",
                        graph,
                        "--steps",
                        str(ndlib_iterations),
                        "--datasets",
                        str(datasets),
                        "--seeds",
                        str(seeds),
                    ]
                )
            )
            row["ndlib_ratio"] = round(row["agent_steps_per_s"] / row["ndlib_node_updates_per_s"], 1)
            results.append(row)
    return results


def print_table(rows: list[dict]) -> None:
    print(
        f"{'graph':<18}{'agents':>10}{'edges':>12}{'step s':>9}{'+trace s':>10}{'agent-steps/s':>15}{'ndlib/s':>12}{'ratio':>8}{'peak MB':>9}"
    )
    for r in rows:
        print(
            f"{r['graph']:<18}{r['agents']:>10,}{r['edges']:>12,}{r['step_seconds']:>9.3f}{r['step_with_trace_seconds']:>10.3f}"
            f"{r['agent_steps_per_s']:>15,}{r['ndlib_node_updates_per_s']:>12,}{r['ndlib_ratio']:>8}{r['peak_rss_mb']:>9,}"
        )


def main(args) -> int:
    """Entry point of ``python -m s3core bench``."""
    datasets = Path(args.datasets) if args.datasets else DEFAULT_DATASETS
    graphs = QUICK_GRAPHS if args.quick else GRAPHS
    steps = min(args.steps, 10) if args.quick else args.steps
    rows = run_all(graphs, steps, ndlib_iterations=3, datasets=datasets)
    if args.json:
        print(json.dumps(rows))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine")
    parser.add_argument("--ndlib")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--datasets", default=str(DEFAULT_DATASETS))
    parser.add_argument("--seeds", required=True)
    a = parser.parse_args()
    if a.engine:
        result = measure_engine(a.engine, a.steps, Path(a.datasets), Path(a.seeds))
    else:
        result = measure_ndlib(a.ndlib, a.steps, Path(a.datasets), Path(a.seeds))
    print(json.dumps(result))
