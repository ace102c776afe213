"""LLM backend throughput against a local OpenAI-compatible server with 200 ms latency per request.

Prints a table and one JSON line: decision calls per second at concurrency 64, the wall time of
a 1,000-agent LLM step (decisions, then the texts of quotes and posts), and a fully cached rerun
of that step. Medians of 3 runs, each with a fresh cache file. The server runs in its own process
so that it does not share the client's interpreter lock.

    python benchmarks/llm_bench.py [--agents 1000] [--concurrency 64] [--latency 0.2] [--runs 3]
    python benchmarks/llm_bench.py --agent-mode batched --batch-size 10 [--max-tokens 4096]

In batched mode the first figure is agent decisions per second (k per request, ``batching.decisions``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.llm_local import start_server, varied_batch
from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.keyed_random import KeyedRandom
from s3core.llm import prompts as P
from s3core.llm.cache import LLMCache
from s3core.llm.gateway import ChatRequest, Gateway
from s3core.llm.policy import LLMPolicy
from s3core.llm.settings import LLMSettings, Secret
from s3core.policy import DecisionBatch
from s3core.synthetic import synthetic_network
from s3core.types import Attitude, Emotion

SEED = SeedPost(
    step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
)


def exposed_batch(sim: Simulation, n: int, rng: np.random.Generator) -> DecisionBatch:
    """``n`` agents who all received the seed post this step, in varied states (so prompts differ)."""
    agents = rng.choice(sim.network.n_users, size=n, replace=False)
    return varied_batch(
        sim, agents, rng, 1, np.zeros(n, np.int32), np.zeros(n, np.int8), np.full(n, 2, np.int8), np.zeros(n, np.int16)
    )


async def _client_alone(client, requests: list[ChatRequest], concurrency: int) -> None:
    """The same prompts through the bare litellm client under a semaphore: the ceiling the gateway works under."""
    import asyncio

    semaphore = asyncio.Semaphore(concurrency)

    async def one(r):
        async with semaphore:
            return await client.complete(list(r.messages), r.schema)

    await asyncio.gather(*(one(r) for r in requests))


def batched_decisions_per_s(sim, batch, settings) -> float:
    """Agent decisions per second in batched mode: the decision phase alone, fresh cache, after a warm-up request."""
    from s3core.llm import batching
    from s3core.llm.policy import heuristic_for

    base = heuristic_for(sim).decide(batch, KeyedRandom(0).at(batch.step))
    policy = LLMPolicy(settings, LLMCache(None))
    warm = np.arange(min(settings.batch_size, len(batch) // 10))
    batching.decisions(policy, batch.subset(warm), base)  # warm the client and the connection pool
    rest = np.setdiff1d(np.arange(len(batch)), warm)
    rest_base = type(base)(base.emotion[rest], base.attitude[rest], base.action[rest])
    t = time.perf_counter()
    batching.decisions(policy, batch.subset(rest), rest_base)
    per_s = len(rest) / (time.perf_counter() - t)
    policy.close()
    return per_s


def one_run(sim, batch, settings, folder: Path) -> dict:
    cache_path = folder / "cache.duckdb"
    from s3core.llm.client import LiteLLMClient
    from s3core.llm.gateway import LoopThread

    if settings.agent_mode == "batched":
        return {
            "decisions_per_s": batched_decisions_per_s(sim, batch, settings),
            **full_step(batch, settings, cache_path),
        }
    # 1. raw decision throughput: one decision prompt per agent through the gateway
    gateway = Gateway(settings, LLMCache(None))
    event = P.event_summary(sim.scenario)
    who = P.profiles(sim, batch.agent, P.HistoryIndex(sim.network, 3))
    where = P.situations(batch, sim)
    requests = [ChatRequest("decision", P.decision(w, s, event)) for w, s in zip(who, where)]
    gateway.run(requests[:8])  # warm the client and the connection pool
    t = time.perf_counter()
    gateway.run(requests[8:])
    decisions_per_s = (len(requests) - 8) / (time.perf_counter() - t)
    unique = gateway.stats.unique
    gateway.close()
    loop, client = LoopThread(), LiteLLMClient(settings)
    t = time.perf_counter()
    loop.run(lambda: _client_alone(client, requests, settings.concurrency))
    client_per_s = len(requests) / (time.perf_counter() - t)
    loop.close()
    return {
        "decisions_per_s": decisions_per_s,
        "client_alone_per_s": client_per_s,
        "unique_prompts": unique,
        **full_step(batch, settings, cache_path),
    }


def full_step(batch, settings, cache_path: Path) -> dict:
    """A full LLM step (decisions, then texts for quotes and posts), then the same step again from the cache."""
    policy = LLMPolicy(settings, LLMCache(cache_path))
    policy.gateway.client  # litellm imported before timing
    t = time.perf_counter()
    dec = policy.decide(batch, KeyedRandom(0).at(batch.step))
    step_s = time.perf_counter() - t
    calls, fallbacks, texts = policy.stats.calls, int(dec.fallback.sum()), sum(x is not None for x in dec.text)
    policy.close()
    # 3. the same step again from the cache
    cached = LLMPolicy(settings, LLMCache(cache_path))
    cached.gateway.client
    t = time.perf_counter()
    cached.decide(batch, KeyedRandom(0).at(batch.step))
    cached_s = time.perf_counter() - t
    cached_calls = cached.stats.calls
    cached.close()
    return {
        "step_s": step_s,
        "step_calls": calls,
        "step_texts": texts,
        "step_fallbacks": fallbacks,
        "cached_rerun_s": cached_s,
        "cached_rerun_calls": cached_calls,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--agent-mode", choices=("per_agent", "batched"), default="per_agent")
    parser.add_argument("--batch-size", type=int, default=10, help="agents per request in --agent-mode batched")
    parser.add_argument(
        "--max-tokens", type=int, default=256, help="reply token cap (batched mode holds fewer agents when it is low)"
    )
    parser.add_argument(
        "--model",
        default="openai/test-model",
        help="litellm model string the local server is called as (try hosted_vllm/test-model)",
    )
    args = parser.parse_args(argv)
    proc, api_base = start_server(args.latency)
    try:
        sim = Simulation(
            S.Scenario(seed=1, steps=5, interventions=(SEED,)),
            network=synthetic_network(
                max(5 * args.agents, 5000), mean_followees=8.0, reciprocity=0.3, rng=np.random.default_rng(5)
            ),
        )
        sim.step()
        batch = exposed_batch(sim, args.agents, np.random.default_rng(1))
        settings = LLMSettings(
            model=args.model,
            api_base=api_base,
            api_key=Secret("sk-bench"),
            concurrency=args.concurrency,
            timeout=30,
            retries=1,
            agent_mode=args.agent_mode,
            max_tokens=args.max_tokens,
            **({"batch_size": args.batch_size} if args.agent_mode == "batched" else {}),
        )
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                runs.append(one_run(sim, batch, settings, Path(folder)))
    finally:
        proc.kill()
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "model": args.model,
        "agents": args.agents,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "agent_mode": args.agent_mode,
        "batch_size": args.batch_size if args.agent_mode == "batched" else 1,
        "max_tokens": args.max_tokens,
        "runs": runs,
        "median": median,
    }
    batched = args.agent_mode == "batched"
    rows = [
        (
            f"agent decisions per second (k={args.batch_size})" if batched else "decision calls per second",
            f"{median['decisions_per_s']:.0f}",
            ">= 500" if batched else ">= 100",
        ),
        *(
            []
            if batched
            else [("  litellm client alone", f"{median['client_alone_per_s']:.0f}", "same prompts, no s3core")]
        ),
        (f"{args.agents}-agent LLM step (s)", f"{median['step_s']:.2f}", "< 30 at 10,000" if batched else "< 15"),
        ("  calls in that step", f"{median['step_calls']:.0f}", f"{median['step_texts']:.0f} texts"),
        ("fully cached rerun (s)", f"{median['cached_rerun_s']:.3f}", "< 1"),
        ("  calls in the rerun", f"{median['cached_rerun_calls']:.0f}", "0"),
    ]
    print(
        f"LLM backend ({args.model}), local server with {args.latency * 1000:.0f} ms latency, concurrency {args.concurrency}, median of {args.runs}"
    )
    print(f"{'measure':<30} {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<30} {value:>10}  {target}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
