"""Engine throughput against NDlib's IndependentCascadesModel on the same graphs and seeds.

Each graph is measured in its own subprocesses (the engine, then NDlib), so peak memory is that
graph's alone: ``python -m s3core bench --json`` prints a JSON list, one object per graph. Beside
the historical per-step figures (``step``, ``ndlib``) each object holds like-for-like metrics
(``METRICS``): one whole independent cascade in both tools, the S3 model's heavy and idle steps,
the trace's share of a step and, on the bundled graph, complete experiment runs per minute.
"""

from __future__ import annotations

import argparse
import dataclasses
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
METRICS = {
    "step": "median step of the full S3 model, traced (the historical fields)",
    "ndlib": "NDlib's first 3 cascade iterations from the agents aware after step 0 (the historical ratio)",
    "heavy_step": "median step over the steps with at least half the run's maximum decisions",
    "idle_step": "median step with nobody exposed, with nobody aware and after the traced run",
    "step_plus_trace": "a traced run's wall time per step (written as s3core run writes it), and the trace's share",
    "ic_equal_work": "one whole independent cascade (p = 0.1) in the engine and in NDlib, same seeds",
    "runs_per_min": "complete traced experiment runs per minute on the bundled network, 1 and 2 workers",
}
TRACED = {"step", "ndlib", "heavy_step", "idle_step", "step_plus_trace"}  # need the traced S3 run
IC_P = 0.1
IC_CAP = 30  # iterations after the seeding, for both tools
IC_OFFICIAL_REACH = 0.2  # the IC seeds: a tenth of these official followers, about 2% of agents as in "ndlib"
IC_TOLERANCE = 0.05  # activated counts further apart than this share (and than chance) are not the same work
IDLE_STEPS = 10


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


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


def measure_engine(
    graph: str, steps: int, datasets: Path, seeds_out: Path, metrics=("step",), ic_seeds_out: Path | None = None
) -> dict:
    """The engine's side of ``metrics``; the traced run also gives heavy_step and step_plus_trace at no cost."""
    from s3core.engine import Simulation

    t0 = time.perf_counter()
    network = build_network(graph, datasets)
    build_s = time.perf_counter() - t0
    scenario = bench_scenario(steps)
    t0 = time.perf_counter()
    sim = Simulation(scenario, network=network)
    row = {"graph": graph, "agents": network.n_users, "edges": network.n_edges, "steps": steps}
    row.update(network_build_seconds=round(build_s, 2), init_seconds=round(time.perf_counter() - t0, 2))
    if TRACED & set(metrics):
        row.update(traced_run(sim, graph, seeds_out))
        row["peak_rss_mb"] = round(_peak_rss_mb())  # of the traced run alone: the measures below come after
    if "idle_step" in metrics:
        row["idle_step"] = idle_step(sim, graph)
    if "ic_equal_work" in metrics:
        row["ic_engine"] = engine_cascade(sim, graph, ic_seeds_out)
    return row


def traced_run(sim, graph: str, seeds_out: Path) -> dict:
    """Time every step and the whole traced run; the agents aware after step 0 go to ``seeds_out``.

    The trace is written as ``s3core run`` writes it: a checkpoint interval buffered and committed
    on the writer thread (``runner.run_to_trace``). Per-step times are the engine's; the trace's
    cost is what the run's wall time (closing the file included) adds to the sum of its steps.
    """
    from s3core.runner import open_run, record

    steps = sim.scenario.steps
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        sim, store = open_run(
            sim.scenario,
            Path(tmp) / "bench.duckdb",
            sim=sim,
            buffer_steps=sim.scenario.run.checkpoint_every,
            background=True,
        )
        step_s, decisions, deliveries = [], [], []
        try:
            for i in range(steps):
                t0 = time.perf_counter()
                rec = sim.step()
                t1 = time.perf_counter()
                record(sim, store, rec, steps - 1)
                step_s.append(t1 - t0)
                decisions.append(rec.metrics["exposed"])  # one decision per exposed agent
                deliveries.append(rec.metrics["exposures"])
                if i == 0:
                    np.save(seeds_out, np.flatnonzero(sim.state.aware))
                _say(
                    f"  {graph}: step {i + 1}/{steps} {t1 - t0:.3f} s + record {time.perf_counter() - t1:.3f} s, "
                    f"aware {rec.metrics['aware']}"
                )
        finally:
            store.close()
        wall = time.perf_counter() - started
        trace_mb = (Path(tmp) / "bench.duckdb").stat().st_size / 2**20
    median = statistics.median(step_s)
    trace_s = max(wall - sum(step_s), 0.0)
    return {
        "step_seconds": round(median, 4),
        "step_with_trace_seconds": round(wall / steps, 4),
        "agent_steps_per_s": round(sim.network.n_users / median),
        "final_aware": rec.metrics["aware"],
        "trace_mb": round(trace_mb, 1),
        "heavy_step": heavy_step(step_s, decisions, deliveries),
        "step_plus_trace": {
            "mean_seconds": round(wall / steps, 4),  # the traced run's wall time per step, closing included
            "trace_seconds_per_step": round(trace_s / steps, 4),
            "trace_fraction": round(trace_s / wall, 3),  # of the traced run's wall time
            "writer": f"buffered {sim.scenario.run.checkpoint_every} steps, writer thread (as s3core run)",
        },
    }


def heavy_step(step_s: list[float], decisions: list[int], deliveries: list[int]) -> dict:
    """The steps whose decisions reach half the run's maximum: their median time and their throughput."""
    decisions, deliveries, step_s = np.asarray(decisions), np.asarray(deliveries), np.asarray(step_s)
    heavy = np.flatnonzero(decisions >= max(decisions.max() / 2, 1))
    seconds = step_s[heavy].sum()
    return {
        "steps": int(len(heavy)),
        "max_decisions": int(decisions.max()),
        "median_step_seconds": round(float(np.median(step_s[heavy])), 4) if len(heavy) else None,
        "median_decisions": int(np.median(decisions[heavy])) if len(heavy) else 0,
        "median_deliveries": int(np.median(deliveries[heavy])) if len(heavy) else 0,
        "decisions_per_s": int(decisions[heavy].sum() / seconds) if len(heavy) else None,  # totals over those steps
        "deliveries_per_s": int(deliveries[heavy].sum() / seconds) if len(heavy) else None,
    }


def idle_step(sim, graph: str) -> dict:
    """Steps with nobody exposed: with nobody aware (no event at all), and after the traced run with every post removed.

    The high-awareness case branches from the run's last state and removes every post (both
    stances) in its first step, so no feed, fan-out or recommendation has anything left to deliver;
    that first step is a warm-up, as is the first of the low case.
    """
    from s3core.engine import Simulation
    from s3core.interventions import Moderation
    from s3core.types import Attitude

    t = sim.step_index
    removal = tuple(Moderation(step=t, action="remove", stance=s) for s in Attitude)
    high = sim.branch(interventions=sim.scenario.interventions + removal)
    quiet = sim.scenario.replace(interventions=())
    low = Simulation(quiet, network=sim.network, text=sim.text, population=sim.population)
    return {"low_awareness": _idle(low, graph, "nobody aware"), "high_awareness": _idle(high, graph, "posts removed")}


def _idle(sim, graph: str, label: str) -> dict:
    sim.step()
    times, exposures = [], 0
    for _ in range(IDLE_STEPS):
        t0 = time.perf_counter()
        rec = sim.step()
        times.append(time.perf_counter() - t0)
        exposures += rec.metrics["exposures"]
    if exposures:
        _say(f"warning: {graph}: idle steps ({label}) had {exposures} exposures")
    median = statistics.median(times)
    _say(f"  {graph}: idle step ({label}) {median:.4f} s, aware {rec.metrics['aware']}")
    return {
        "median_step_seconds": round(median, 4),
        "steps": IDLE_STEPS,
        "aware_share": round(rec.metrics["aware"] / sim.network.n_users, 4),
        "exposures": exposures,
    }


def engine_cascade(sim, graph: str, seeds_out: Path | None, p: float = IC_P, cap: int = IC_CAP) -> dict:
    """An independent cascade through the engine (``IndependentCascadePolicy``) to its end or ``cap`` steps.

    Step 0 seeds it: each follower of the official account (``IC_OFFICIAL_REACH`` of agents, keyed)
    gets one chance ``p`` from the event post; those activated are the seeds (saved for NDlib) and
    the cascade is timed from step 1, as NDlib's from its first iteration. So many seeds keep the
    final size's spread between random streams small on the near-critical synthetic graph.
    Edges tried: followers of the agents whose post fans out.
    """
    from s3core.classical import IndependentCascadePolicy, active_agents, classical_scenario
    from s3core.engine import Simulation

    scenario = classical_scenario(bench_scenario(cap + 1))
    scenario = scenario.replace(platform=dataclasses.replace(scenario.platform, official_reach=IC_OFFICIAL_REACH))
    ic = Simulation(
        scenario, network=sim.network, policy=IndependentCascadePolicy(p), text=sim.text, population=sim.population
    )
    followers = sim.network.follower_count
    t0 = time.perf_counter()
    ic.step()
    seeding_s = time.perf_counter() - t0
    seeds = np.flatnonzero(active_agents(ic))
    if seeds_out is not None:
        np.save(seeds_out, seeds)
    seconds, edges, iterations = 0.0, 0, 0
    while len(ic.fresh) and iterations < cap:
        authors = ic.posts.author[ic.fresh]
        edges += int(followers[authors[authors >= 0]].sum())
        t0 = time.perf_counter()
        rec = ic.step()
        seconds += time.perf_counter() - t0
        iterations += 1
        _say(f"  {graph}: engine IC step {iterations} {time.perf_counter() - t0:.3f} s, new {rec.metrics['repost']}")
    return _cascade(len(seeds), seconds, iterations, int(active_agents(ic).sum()), edges) | {
        "seeding_step_seconds": round(seeding_s, 4)
    }


def _cascade(seeds: int, seconds: float, iterations: int, activated: int, edges: int) -> dict:
    return {
        "seeds": seeds,
        "cascade_seconds": round(seconds, 4),
        "iterations": iterations,
        "activated": activated,
        "edges_tried": edges,
        "edges_tried_per_s": int(edges / seconds) if seconds > 0 else None,
    }


def ndlib_graph(network):
    """The network for NDlib: an edge followee -> follower, the way posts travel."""
    import networkx as nx

    follower, followee = network.edges()
    g = nx.DiGraph()
    g.add_nodes_from(range(network.n_users))
    g.add_edges_from(zip(followee.tolist(), follower.tolist()))
    return g


def _ndlib_model(g, seeds, p: float | None = None):
    import ndlib.models.epidemics as ep
    import ndlib.models.ModelConfig as mc

    model = ep.IndependentCascadesModel(g, seed=42)
    config = mc.Configuration()
    config.add_model_initial_configuration("Infected", [int(s) for s in seeds])
    if p is not None:
        for e in g.edges:
            config.add_edge_configuration("threshold", e, p)
    model.set_initial_status(config)
    model.iteration(node_status=False)  # iteration 0 only reports the initial state
    return model


def measure_ndlib(
    graph: str, iterations: int, datasets: Path, seeds_in: Path, metrics=("ndlib",), ic_seeds_in: Path | None = None
) -> dict:
    """NDlib IndependentCascades on the same graph and seeds: its first iterations, and one whole cascade."""
    network = build_network(graph, datasets)
    g = ndlib_graph(network)
    row = {}
    if "ndlib" in metrics:
        model = _ndlib_model(g, np.load(seeds_in))
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            model.iteration(node_status=False)
            times.append(time.perf_counter() - t0)
            _say(f"  {graph}: ndlib iteration {len(times)}/{iterations} {times[-1]:.3f} s")
        del model
        median = statistics.median(times)
        row.update(ndlib_iteration_seconds=round(median, 4), ndlib_node_updates_per_s=round(network.n_users / median))
    if "ic_equal_work" in metrics:
        row["ic_ndlib"] = ndlib_cascade(g, network.follower_count, np.load(ic_seeds_in), graph)
    return row


def ndlib_cascade(g, followers: np.ndarray, seeds: np.ndarray, graph: str, p: float = IC_P, cap: int = IC_CAP) -> dict:
    """NDlib's cascade from ``seeds`` with every edge's threshold ``p``, to its end or ``cap`` iterations."""
    model = _ndlib_model(g, seeds, p)
    seconds, edges, iterations, infected = 0.0, 0, 0, len(seeds)
    counts = {1: len(seeds), 2: 0}
    while infected and iterations < cap:
        t0 = time.perf_counter()
        out = model.iteration(node_status=True)  # the changed nodes only (NDlib computes them either way)
        seconds += time.perf_counter() - t0
        tried = np.fromiter((n for n, s in out["status"].items() if s == 2), dtype=np.int64)
        edges += int(followers[tried].sum())
        counts, infected = out["node_count"], out["node_count"][1]
        iterations += 1
        _say(f"  {graph}: ndlib IC iteration {iterations} {time.perf_counter() - t0:.3f} s, new {infected}")
    return _cascade(len(seeds), seconds, iterations, int(counts[1] + counts[2]), edges)


def ic_equal_work(engine: dict, ndlib: dict, graph: str) -> dict:
    """Both sides of the cascade, their ratios, and whether they did the same work (activated counts)."""
    larger = max(engine["activated"], ndlib["activated"], 1)
    gap = abs(engine["activated"] - ndlib["activated"]) / larger
    chance = 3 * np.sqrt(max(larger - engine["seeds"], 1)) / larger  # tiny cascades: 3 Poisson sd of the new
    same = gap <= max(IC_TOLERANCE, chance)
    if not same:
        _say(
            f"warning: {graph}: the IC cascades activated {engine['activated']} (engine) and {ndlib['activated']} "
            f"(NDlib), {gap:.1%} apart: not the same work"
        )
    e_rate, n_rate = engine["edges_tried_per_s"], ndlib["edges_tried_per_s"]
    return {
        "p": IC_P,
        "iteration_cap": IC_CAP,
        "engine": engine,
        "ndlib": ndlib,
        "time_ratio_engine_over_ndlib": round(engine["cascade_seconds"] / ndlib["cascade_seconds"], 4)
        if ndlib["cascade_seconds"] > 0
        else None,
        "edges_tried_per_s_ratio_engine_over_ndlib": round(e_rate / n_rate, 3) if e_rate and n_rate else None,
        "activated_gap_fraction": round(gap, 4),
        "activated_allowed_gap_fraction": round(float(max(IC_TOLERANCE, chance)), 4),
        "same_work": bool(same),
    }


def runs_per_min(seeds: int = 20, steps: int = 50, repeats: int = 1) -> dict:
    """Complete traced runs per minute of ``python -m s3core experiment`` with 1 and 2 workers.

    The experiment is ``experiment_bench``'s (the default scenario on the bundled network, with and
    without the correction), with ``seeds`` and ``steps`` in place of its 20 and 50; each time is
    the whole command, start-up included.
    """
    from benchmarks import experiment_bench as xb
    from s3core.experiment import spec

    text = xb.BUNDLED_EXPERIMENT.format(scenario=(ROOT / "data/scenarios/default.toml").as_posix())
    for old, new in (("seeds = 20", f"seeds = {seeds}"), ("steps = 50", f"steps = {steps}")):
        if old not in text:
            raise RuntimeError(f"experiment_bench.BUNDLED_EXPERIMENT no longer has {old!r}")
        text = text.replace(old, new)
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(text, encoding="utf-8")
        runs = len(spec.load(path).arms) * seeds
        for r in range(repeats):
            for workers in (1, 2):
                times[workers].append(
                    xb._timed([str(path), "--out", f"{tmp}/w{workers}r{r}", "--workers", str(workers)])
                )
                _say(f"  runs_per_min: {runs} runs with {workers} worker(s) {times[workers][-1]:.1f} s")
    one, two = statistics.median(times[1]), statistics.median(times[2])
    return {
        "runs": runs,
        "steps": steps,
        "one_worker_seconds": round(one, 1),
        "two_workers_seconds": round(two, 1),
        "one_worker_runs_per_min": round(runs * 60 / one, 1),
        "two_workers_runs_per_min": round(runs * 60 / two, 1),
    }


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine_bench", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_all(graphs, steps: int, ndlib_iterations: int, datasets: Path, metrics=tuple(METRICS), quick=False):
    """One object per graph: the engine's child, then NDlib's, merged; runs_per_min on the bundled graph."""
    results = []
    only = ["--only", ",".join(metrics)]
    with tempfile.TemporaryDirectory() as tmp:
        for graph in graphs:
            if graph.startswith("weibo") and not (datasets / "weibo-ced").exists():
                _say(f"skipping {graph}: {datasets / 'weibo-ced'} not found")
                continue
            files = ["--datasets", str(datasets), "--seeds", f"{tmp}/{graph}-seeds.npy"]
            files += ["--ic-seeds", f"{tmp}/{graph}-ic-seeds.npy"]
            row = {"graph": graph}
            if (TRACED | {"ic_equal_work"}) & set(metrics):
                row.update(_child(["--engine", graph, "--steps", str(steps), *files, *only]))
            if {"ndlib", "ic_equal_work"} & set(metrics):
                row.update(_child(["--ndlib", graph, "--steps", str(ndlib_iterations), *files, *only]))
            if "ndlib" in metrics:
                row["ndlib_ratio"] = round(row["agent_steps_per_s"] / row["ndlib_node_updates_per_s"], 1)
            if "ic_equal_work" in metrics:
                row["ic_equal_work"] = ic_equal_work(row.pop("ic_engine"), row.pop("ic_ndlib"), graph)
            if graph == "bundled" and "runs_per_min" in metrics:
                row["runs_per_min"] = runs_per_min(*((2, 5) if quick else (20, 50)))
            results.append(row)
    return results


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict]) -> None:
    """The historical table, then one line per graph for each new metric."""
    print(
        f"{'graph':<18}{'agents':>10}{'edges':>12}{'step s':>9}{'+trace s':>10}{'agent-steps/s':>15}{'ndlib/s':>12}{'ratio':>8}{'peak MB':>9}"
    )
    for r in rows:
        print(
            f"{r['graph']:<18}{_fmt(r.get('agents'), ','):>10}{_fmt(r.get('edges'), ','):>12}"
            f"{_fmt(r.get('step_seconds'), '.3f'):>9}{_fmt(r.get('step_with_trace_seconds'), '.3f'):>10}"
            f"{_fmt(r.get('agent_steps_per_s'), ','):>15}{_fmt(r.get('ndlib_node_updates_per_s'), ','):>12}"
            f"{_fmt(r.get('ndlib_ratio'), ''):>8}{_fmt(r.get('peak_rss_mb'), ','):>9}"
        )
    for r in rows:
        print(f"\n{r['graph']}")
        if "ic_equal_work" in r:
            ic = r["ic_equal_work"]
            for side in ("engine", "ndlib"):
                s = ic[side]
                print(
                    f"  IC p={ic['p']} {side:<7}{s['cascade_seconds']:>9.3f} s{s['iterations']:>4} iterations"
                    f"{s['activated']:>10,} activated from {s['seeds']:,}{_fmt(s['edges_tried_per_s'], ','):>14} edges tried/s"
                )
            print(
                f"  IC time engine/NDlib {_fmt(ic['time_ratio_engine_over_ndlib'], '.3f')}, edges tried/s engine/NDlib "
                f"{_fmt(ic['edges_tried_per_s_ratio_engine_over_ndlib'], '.2f')}, activated gap "
                f"{ic['activated_gap_fraction']:.1%}{'' if ic['same_work'] else ' (NOT the same work)'}"
            )
        if "heavy_step" in r:
            h = r["heavy_step"]
            print(
                f"  heavy step {_fmt(h['median_step_seconds'], '.4f')} s over {h['steps']} steps, "
                f"{_fmt(h['decisions_per_s'], ',')} decisions/s, {_fmt(h['deliveries_per_s'], ',')} deliveries/s"
            )
        if "idle_step" in r:
            for case, i in r["idle_step"].items():
                print(
                    f"  idle step ({case.replace('_', ' ')}) {i['median_step_seconds']:.4f} s, aware {i['aware_share']:.1%}"
                )
        if "step_plus_trace" in r:
            s = r["step_plus_trace"]
            print(f"  step + trace {s['mean_seconds']:.4f} s a step, trace share {s['trace_fraction']:.1%}")
        if "runs_per_min" in r:
            m = r["runs_per_min"]
            print(
                f"  {m['steps']}-step runs per minute: {m['one_worker_runs_per_min']} (1 worker), "
                f"{m['two_workers_runs_per_min']} (2 workers), {m['runs']} runs each"
            )


def parse_metrics(only: str | None) -> tuple[str, ...]:
    """``--only a,b`` as metric names (all of them without it); an unknown name is a ValueError."""
    if not only:
        return tuple(METRICS)
    names = tuple(m.strip() for m in only.split(",") if m.strip())
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"--only {only}: metrics are {', '.join(METRICS)}")
    return names


def main(args) -> int:
    """Entry point of ``python -m s3core bench``."""
    metrics = parse_metrics(getattr(args, "only", None))
    datasets = Path(args.datasets) if args.datasets else DEFAULT_DATASETS
    graphs = QUICK_GRAPHS if args.quick else GRAPHS
    steps = min(args.steps, 10) if args.quick else args.steps
    rows = run_all(graphs, steps, ndlib_iterations=3, datasets=datasets, metrics=metrics, quick=args.quick)
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
    parser.add_argument("--ic-seeds")
    parser.add_argument("--only")
    a = parser.parse_args()
    chosen = parse_metrics(a.only) if a.only else ("step", "ndlib")
    ic_seeds = Path(a.ic_seeds) if a.ic_seeds else None
    if a.engine:
        result = measure_engine(a.engine, a.steps, Path(a.datasets), Path(a.seeds), chosen, ic_seeds)
    else:
        result = measure_ndlib(a.ndlib, a.steps, Path(a.datasets), Path(a.seeds), chosen, ic_seeds)
    print(json.dumps(result))
