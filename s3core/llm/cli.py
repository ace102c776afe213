"""The LLM flags of ``python -m s3core run`` and the wiring from them to a hybrid policy and a traced run."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .client import LLMUnavailable  # noqa: F401  (re-exported for the CLI's error handling)
from .settings import Deployment, LLMSettings


def add_arguments(run: argparse.ArgumentParser) -> None:
    """Add the LLM backend's flags to the ``run`` sub-command (keys come only from the environment)."""
    g = run.add_argument_group("LLM backend (keys come from the environment, e.g. OPENAI_API_KEY)")
    g.add_argument("--backend", choices=("heuristic", "llm"), help="decision backend (default: the scenario's run.backend)")
    g.add_argument("--model", help="litellm model string, e.g. openai/gpt-4o-mini")
    g.add_argument("--api-base", help="base URL of an OpenAI-compatible endpoint")
    g.add_argument("--api-key-env", help="environment variable holding the key (default: the provider's usual one)")
    g.add_argument("--deployment", action="append", default=[], metavar="SPEC",
                   help="another endpoint or key for litellm's Router, repeatable: model=M,api_base=URL,key_env=VAR,rpm=N")
    g.add_argument("--temperature", type=float)
    g.add_argument("--max-tokens", type=int)
    g.add_argument("--concurrency", type=int, help="requests in flight at once")
    g.add_argument("--timeout", type=float, help="seconds per request")
    g.add_argument("--retries", type=int, help="retries after timeouts, 429 and 5xx")
    g.add_argument("--llm-mode", choices=("combined", "modular"), help="one call per decision, or one per S3 module")
    g.add_argument("--llm-share", type=float, help="seeded random share of agents the LLM drives (the rest: heuristic)")
    g.add_argument("--llm-subset", action="append", default=[], metavar="KEY=VALUE",
                   help="restrict the LLM agents, repeatable: category=influential, gender=female, occupation=media,engineer, age=18-30, top=100")
    g.add_argument("--llm-cache", help="cache file (default: $S3_LLM_CACHE, else RUN.llm-cache.duckdb); 'none' for memory only")
    g.add_argument("--llm-initial-attitude", action="store_true", help="LLM agents' initial attitude from profile and history")
    g.add_argument("--estimate", action="store_true", help="print the estimated calls, tokens and cost, and exit without calling")


def _deployment(spec: str, default_model: str) -> Deployment:
    parts = dict(p.split("=", 1) for p in spec.split(",") if "=" in p)
    unknown = set(parts) - {"model", "api_base", "key_env", "rpm"}
    if unknown or not parts:
        raise ValueError(f"--deployment {spec!r}: expected model=M,api_base=URL,key_env=VAR,rpm=N")
    return Deployment(parts.get("model", default_model), parts.get("api_base"), parts.get("key_env"),
                      rpm=int(parts["rpm"]) if "rpm" in parts else None)


def settings_from_args(args: argparse.Namespace) -> LLMSettings:
    """LLMSettings from the flags; unset flags keep the dataclass defaults."""
    import os

    model = args.model or os.environ.get("S3_LLM_MODEL")
    if not model:
        raise ValueError("the llm backend needs --model (or S3_LLM_MODEL), e.g. --model openai/gpt-4o-mini")
    given = {"model": model, "api_base": args.api_base, "api_key_env": args.api_key_env, "temperature": args.temperature,
             "max_tokens": args.max_tokens, "concurrency": args.concurrency, "timeout": args.timeout,
             "retries": args.retries, "mode": args.llm_mode}
    values = {k: v for k, v in given.items() if v is not None}
    if args.deployment:
        first = Deployment(model, args.api_base, args.api_key_env)
        values["deployments"] = (first, *(_deployment(d, model) for d in args.deployment))
    return LLMSettings(**values)


def run_llm(args: argparse.Namespace, scenario, progress=None) -> dict | None:
    """Run ``scenario`` with the LLM backend into ``args.out``; None after ``--estimate``.

    Counters go to stderr at the end; the calls go to the trace's ``llm_calls`` table.
    """
    import duckdb

    from ..engine import Simulation
    from ..runner import run_to_trace
    from .cache import LLMCache, default_cache_path
    from .cost import estimate_run
    from .policy import HybridPolicy, LLMPolicy
    from .subset import parse_subset

    settings = settings_from_args(args)
    spec = parse_subset(args.llm_subset, args.llm_share)
    if args.estimate:
        estimate = estimate_run(scenario, settings, spec, initial_attitude=args.llm_initial_attitude)
        print(estimate.json() if args.json else estimate.table())
        return None
    cache_path = None if (args.llm_cache or "").lower() == "none" else (args.llm_cache or default_cache_path(args.out))
    policy = HybridPolicy(LLMPolicy(settings, LLMCache(cache_path)), spec)
    stats = policy.stats

    def report(done: int, total: int, elapsed: float) -> None:
        if progress is not None:
            progress(done, total, elapsed)
            print(f"  {stats.line()}", file=sys.stderr, flush=True)

    try:
        sim = Simulation(scenario, policy=policy)
        print(f"llm: {int(policy.mask(sim).sum())} of {sim.network.n_users} agents ({spec.describe()}) use {settings.model}; "
              f"cache {cache_path or 'in memory'}", file=sys.stderr)
        if args.llm_initial_attitude:
            policy.apply_initial_attitudes(sim)
        return run_to_trace(scenario, args.out, resume=args.resume, progress=report, sim=sim)
    finally:
        if Path(args.out).exists():  # the trace store is closed by now: this process may open the file again
            try:
                with duckdb.connect(str(args.out)) as con:
                    policy.write_trace(con)
            except duckdb.Error as exc:
                print(f"llm: could not write llm_calls to {args.out}: {exc}", file=sys.stderr)
        print(stats.line(), file=sys.stderr)
        policy.close()
