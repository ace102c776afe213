"""The archetype mode of LLM agents at scale: a 1,000,000-agent step against a local server with 200 ms latency.

Every agent of a 1M-agent synthetic network (built as ``engine_bench.py`` builds its ``synthetic-1m`` graph) decides
in one heavy step, in varied states, on posts of the seeded event after ``--warmup`` heuristic steps. The LLM policy
in ``agent_mode="archetype"`` groups them into cells and makes one request per occupied cell; the step is then run
again from the cache. ``--engine-steps K`` also runs K real engine steps of the same network and event with the
archetype policy deciding for every exposed agent, and reports the heaviest. Prints a table and one JSON line.

    python -m benchmarks.archetype_bench [--agents 1000000] [--concurrency 64] [--latency 0.2] [--warmup 2]
        [--engine-steps 8]

Targets: fewer than 5,000 calls and under 120 s for the step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.llm_local import start_server, varied_batch
from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.llm.archetype_cells import cells_of
from s3core.llm.cache import LLMCache
from s3core.llm.policy import LLMPolicy
from s3core.llm.settings import LLMSettings, Secret
from s3core.policy import DecisionBatch
from s3core.synthetic import synthetic_network
from s3core.types import Attitude, Emotion

SEED = SeedPost(
    step=0,
    text="国际原子能机构即将把日本核电站灾害提升到人类史上未曾有过的第八级。",
    name="event",
    stance=Attitude.NEGATIVE,
    emotion=Emotion.INTENSE,
)


def heavy_batch(sim: Simulation, n: int, rng: np.random.Generator) -> DecisionBatch:
    """``n`` agents (all of them when ``n`` is the network's size) deciding on the event's posts so far, in varied
    states; each agent's focal post is drawn in proportion to the post's forwards + 1."""
    agents = np.sort(rng.choice(sim.network.n_users, size=n, replace=False)) if n < sim.network.n_users else None
    agents = np.arange(n, dtype=np.int64) if agents is None else agents
    posts = sim.posts
    weight = posts.reposts[: len(posts)].astype(np.float64) + 1.0  # focal posts as feeds rank them: popular first
    focal = rng.choice(len(posts), size=n, p=weight / weight.sum()).astype(np.int32)
    return varied_batch(
        sim,
        agents,
        rng,
        sim.step_index,
        focal,
        posts.stance[focal],
        posts.emotion[focal],
        posts.depth[focal].astype(np.int16),
    )


def timed_step(settings: LLMSettings, cache_path: Path, sim: Simulation, batch: DecisionBatch) -> dict:
    policy = LLMPolicy(settings, LLMCache(cache_path))
    policy.gateway.client  # litellm imported before the clock starts
    draws = sim.random.at(batch.step)
    started = time.perf_counter()
    decisions = policy.decide(batch, draws)
    wall = time.perf_counter() - started
    stats = policy.stats
    out = {
        "wall_s": round(wall, 2),
        "llm_wall_s": round(stats.wall_s, 2),
        "calls": stats.calls,
        "requests": stats.requests,
        "cache_hits": stats.cache_hits,
        "fallbacks": stats.fallbacks,
        "texts": sum(t is not None for t in decisions.text),
        "actions": np.bincount(decisions.action, minlength=4).tolist(),
        "notices": list(stats.notices),
    }
    policy.close()
    return out


def engine_steps(network, settings: LLMSettings, cache_path: Path, steps: int) -> list[dict]:
    """A real run with the archetype policy deciding for everyone: per step, deciding agents, cells, calls, seconds."""
    sim = Simulation(S.Scenario(seed=42, steps=steps, interventions=(SEED,)), network=network)
    policy = LLMPolicy(settings, LLMCache(cache_path))
    policy.gateway.client
    sim.policy = policy
    out = []
    try:
        for _ in range(steps):
            before = (policy.stats.calls, policy.stats.requests, policy.stats.wall_s)
            t = time.perf_counter()
            rec = sim.step()
            out.append(
                {
                    "deciding_agents": int(rec.metrics["exposed"]),
                    "cells": policy.stats.requests - before[1],
                    "calls": policy.stats.calls - before[0],
                    "wall_s": round(time.perf_counter() - t, 2),
                    "llm_wall_s": round(policy.stats.wall_s - before[2], 2),
                }
            )
            print(f"  engine step {len(out) - 1}: {out[-1]}", file=sys.stderr, flush=True)
    finally:
        policy.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000_000, help="network size; every agent decides")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--warmup", type=int, default=2, help="heuristic steps before the heavy step")
    parser.add_argument("--model", default="openai/test-model")
    parser.add_argument(
        "--engine-steps", type=int, default=0, help="also run this many real engine steps in archetype mode"
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    network = synthetic_network(args.agents, mean_followees=10.0, reciprocity=0.3, rng=np.random.default_rng(42))
    sim = Simulation(S.Scenario(seed=42, steps=args.warmup + 1, interventions=(SEED,)), network=network)
    for _ in range(args.warmup):
        sim.step()
    batch = heavy_batch(sim, args.agents, np.random.default_rng(1))
    setup_s = time.perf_counter() - t0
    t = time.perf_counter()
    cells = cells_of(batch)
    cells_s = time.perf_counter() - t
    proc, api_base = start_server(args.latency)
    settings = LLMSettings(
        model=args.model,
        api_base=api_base,
        api_key=Secret("sk-bench"),
        concurrency=args.concurrency,
        timeout=60,
        retries=1,
        agent_mode="archetype",
        max_tokens=512,
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            first = timed_step(settings, Path(folder) / "cache.duckdb", sim, batch)
            rerun = timed_step(settings, Path(folder) / "cache.duckdb", sim, batch)
            engine = engine_steps(network, settings, Path(folder) / "engine.duckdb", args.engine_steps)
    finally:
        proc.kill()
        proc.wait()
    result = {
        "agents": args.agents,
        "deciding_agents": len(batch),
        "posts": len(sim.posts),
        "threads": int(len(np.unique(sim.posts.root[batch.focal_post]))),
        "occupied_cells": len(cells),
        "cell_fields": list(cells.fields),
        "cells_s": round(cells_s, 3),
        "setup_s": round(setup_s, 1),
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "step": first,
        "rerun": rerun,
        "engine_steps": engine,
    }
    rows = [
        ("deciding agents", f"{len(batch):,}", ""),
        ("occupied cells", f"{len(cells):,}", f"grouped in {cells_s:.2f} s"),
        ("calls in the step", f"{first['calls']:,}", "< 5,000"),
        ("step wall (s)", f"{first['wall_s']:.1f}", "< 120"),
        ("  LLM part (s)", f"{first['llm_wall_s']:.1f}", ""),
        ("  fallbacks", f"{first['fallbacks']:,}", ""),
        ("cached rerun (s)", f"{rerun['wall_s']:.1f}", ""),
        ("  calls in the rerun", f"{rerun['calls']:,}", "0"),
    ]
    print(
        f"Archetype step, {args.agents:,}-agent network, local server with {args.latency * 1000:.0f} ms latency, "
        f"concurrency {args.concurrency}"
    )
    print(f"{'measure':<24} {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<24} {value:>10}  {target}")
    if engine:
        heavy = max(engine, key=lambda r: r["deciding_agents"])
        print(
            f"engine heavy step: {heavy['deciding_agents']:,} deciding agents, {heavy['cells']:,} cells, "
            f"{heavy['calls']:,} calls, {heavy['wall_s']:.1f} s (LLM {heavy['llm_wall_s']:.1f} s)"
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
