"""The LLM flags of ``python -m s3core run``, the wiring from them to a hybrid policy and a traced run,
and the ``cache`` sub-command (``info``, ``clear``) of the shared LLM cache."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .client import LLMUnavailable  # noqa: F401  (re-exported for the CLI's error handling)
from .schemas import STRUCTURED_MODES
from .settings import AGENT_MODES, Deployment, LLMSettings
from .stats import DEFAULT_MAX_FALLBACK_SHARE, verdict

FALLBACK_EXIT = 3  # the run finished and is traced, but too many LLM decisions fell back to be an LLM run


@dataclass(frozen=True)
class LLMRun:
    """A finished LLM run: the curves as ``run_to_trace`` returns them, and the exit status (0 or ``FALLBACK_EXIT``)."""

    summary: dict
    exit_code: int


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise argparse.ArgumentTypeError(f"{value}: a share in [0, 1]")
    return share


def add_connection_arguments(g) -> None:
    """The flags that say how to call the model (model, endpoint, key variable, limits); shared by ``run`` and ``profile``."""
    g.add_argument("--model", help="litellm model string, e.g. openai/gpt-4o-mini")
    g.add_argument("--api-base", help="base URL of an OpenAI-compatible endpoint")
    g.add_argument("--api-key-env", help="environment variable holding the key (default: the provider's usual one)")
    g.add_argument(
        "--deployment",
        action="append",
        default=[],
        metavar="SPEC",
        help="another endpoint or key for litellm's Router, repeatable: model=M,api_base=URL,key_env=VAR,rpm=N",
    )
    g.add_argument("--temperature", type=float)
    g.add_argument("--max-tokens", type=int)
    g.add_argument("--concurrency", type=int, help="requests in flight at once")
    g.add_argument("--timeout", type=float, help="seconds per request")
    g.add_argument("--retries", type=int, help="retries after timeouts, 429 and 5xx")
    g.add_argument(
        "--max-wait",
        type=float,
        help="longest wait in seconds before one retry, even if the provider's Retry-After asks for more (default 30)",
    )
    g.add_argument(
        "--structured-output",
        choices=STRUCTURED_MODES,
        help="how the reply's JSON shape is asked for: json_schema (default), json_object (JSON mode), or "
        "prompt (schema in the prompt only); replies are always validated, and a provider that refuses "
        "a mode with a 400 gets the next one",
    )


def add_mode_arguments(g) -> None:
    """--agent-mode and --batch-size: how many agents one request decides for; shared by ``run`` and ``validate``."""
    g.add_argument(
        "--agent-mode",
        choices=AGENT_MODES,
        help="per_agent (default): one request per agent decision; batched: one request decides for --batch-size "
        "agents; archetype: one request per cell of similar agents in a similar state, each member drawing from it",
    )
    g.add_argument("--batch-size", type=int, help="agents per request in --agent-mode batched (default 10)")


def add_arguments(run: argparse.ArgumentParser) -> None:
    """Add the LLM backend's flags to the ``run`` sub-command (keys come only from the environment)."""
    g = run.add_argument_group("LLM backend (keys come from the environment, e.g. OPENAI_API_KEY)")
    g.add_argument(
        "--backend", choices=("heuristic", "llm"), help="decision backend (default: the scenario's run.backend)"
    )
    add_connection_arguments(g)
    g.add_argument(
        "--max-fallback-share",
        type=_share,
        default=DEFAULT_MAX_FALLBACK_SHARE,
        metavar="SHARE",
        help=f"exit with status {FALLBACK_EXIT} when more than this share of LLM decisions fell back to the "
        f"heuristic (default {DEFAULT_MAX_FALLBACK_SHARE}); the trace is kept either way",
    )
    g.add_argument("--llm-mode", choices=("combined", "modular"), help="one call per decision, or one per S3 module")
    add_mode_arguments(g)
    g.add_argument("--llm-share", type=float, help="seeded random share of agents the LLM drives (the rest: heuristic)")
    g.add_argument(
        "--llm-subset",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="restrict the LLM agents, repeatable: category=influential, gender=female, occupation=media,engineer, age=18-30, top=100",
    )
    g.add_argument(
        "--llm-cache",
        help="cache directory (default: $S3_LLM_CACHE, else the one shared cache in the user's "
        "cache directory, see `cache info`); 'none' for memory only",
    )
    g.add_argument(
        "--llm-initial-attitude", action="store_true", help="LLM agents' initial attitude from profile and history"
    )
    g.add_argument(
        "--estimate", action="store_true", help="print the estimated calls, tokens and cost, and exit without calling"
    )


def _deployment(spec: str, default_model: str) -> Deployment:
    parts = dict(p.split("=", 1) for p in spec.split(",") if "=" in p)
    unknown = set(parts) - {"model", "api_base", "key_env", "rpm"}
    if unknown or not parts:
        raise ValueError(f"--deployment {spec!r}: expected model=M,api_base=URL,key_env=VAR,rpm=N")
    return Deployment(
        parts.get("model", default_model),
        parts.get("api_base"),
        parts.get("key_env"),
        rpm=int(parts["rpm"]) if "rpm" in parts else None,
    )


def settings_from_args(args: argparse.Namespace) -> LLMSettings:
    """LLMSettings from the flags; unset flags keep the dataclass defaults."""
    import os

    model = args.model or os.environ.get("S3_LLM_MODEL")
    if not model:
        raise ValueError("the llm backend needs --model (or S3_LLM_MODEL), e.g. --model openai/gpt-4o-mini")
    given = {
        "model": model,
        "api_base": args.api_base,
        "api_key_env": args.api_key_env,
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "concurrency": args.concurrency,
        "timeout": args.timeout,
        "retries": args.retries,
        "mode": getattr(args, "llm_mode", None),
        "agent_mode": getattr(args, "agent_mode", None),
        "batch_size": getattr(args, "batch_size", None),
        "max_wait": getattr(args, "max_wait", None),
        "structured_output": getattr(args, "structured_output", None),
    }
    values = {k: v for k, v in given.items() if v is not None}
    if args.deployment:
        first = Deployment(model, args.api_base, args.api_key_env)
        values["deployments"] = (first, *(_deployment(d, model) for d in args.deployment))
    return LLMSettings(**values)


def say(message: str) -> None:
    """A notice from the backend, printed once as it happens."""
    print(f"llm: {message}", file=sys.stderr, flush=True)


def run_llm(args: argparse.Namespace, scenario, progress=None) -> LLMRun | None:
    """Run ``scenario`` with the LLM backend into ``args.out``; None after ``--estimate``.

    Counters, the fallback share and the top error classes go to stderr at the end; the calls go to the
    trace's ``llm_calls`` table. ``exit_code`` is ``FALLBACK_EXIT`` past ``--max-fallback-share``.
    Raises ValueError for bad flags or an unusable cache directory.
    """
    import duckdb

    from ..engine import Simulation
    from ..runner import run_to_trace
    from .cache import LLMCache, resolve_cache_dir
    from .cost import estimate_run
    from .policy import HybridPolicy, LLMPolicy
    from .subset import parse_subset

    settings = settings_from_args(args)
    spec = parse_subset(args.llm_subset, args.llm_share)
    if args.estimate:
        estimate = estimate_run(scenario, settings, spec, initial_attitude=args.llm_initial_attitude)
        print(estimate.json() if args.json else estimate.table())
        return None
    cache_path = resolve_cache_dir(args.llm_cache)
    policy = HybridPolicy(LLMPolicy(settings, LLMCache(cache_path), notify=say), spec)
    stats = policy.stats

    def report(done: int, total: int, elapsed: float) -> None:
        if progress is not None:
            progress(done, total, elapsed)
            print(f"  {stats.line()}", file=sys.stderr, flush=True)

    try:
        sim = Simulation(scenario, policy=policy)
        print(
            f"llm: {int(policy.mask(sim).sum())} of {sim.network.n_users} agents ({spec.describe()}) use {settings.model}; "
            f"cache {cache_path or 'in memory'}",
            file=sys.stderr,
        )
        if args.llm_initial_attitude:
            policy.apply_initial_attitudes(sim)
        summary = run_to_trace(scenario, args.out, resume=args.resume, progress=report, sim=sim)
    finally:
        if Path(args.out).exists():  # the trace store is closed by now: this process may open the file again
            try:
                with duckdb.connect(str(args.out)) as con:
                    policy.write_trace(con)
            except duckdb.Error as exc:
                print(f"llm: could not write llm_calls to {args.out}: {exc}", file=sys.stderr)
        print(stats.line(), file=sys.stderr)
        policy.close()
    result = verdict(stats, getattr(args, "max_fallback_share", DEFAULT_MAX_FALLBACK_SHARE))
    print(f"{'error: ' if result.failed else ''}llm: {result.message()}", file=sys.stderr)
    return LLMRun(summary, FALLBACK_EXIT if result.failed else 0)


def add_cache_command(sub) -> None:
    """The ``cache`` sub-command: ``cache info`` and ``cache clear`` of the shared LLM cache."""
    cache = sub.add_parser("cache", help="show or clear the shared LLM cache")
    cache.add_argument(
        "action", choices=("info", "clear"), help="info: where it is, entries, size and cap; clear: empty it"
    )
    cache.add_argument("--llm-cache", help="cache directory (default: $S3_LLM_CACHE, else the user's cache directory)")
    cache.add_argument("--json", action="store_true", help="print one JSON object")


def cache_command(args: argparse.Namespace) -> int:
    """Run ``cache info`` or ``cache clear``; returns the exit status. Raises ValueError for an unusable directory."""
    from .cache import LLMCache, resolve_cache_dir

    path = resolve_cache_dir(args.llm_cache)
    if path is None:
        print("LLM cache: none ($S3_LLM_CACHE or --llm-cache is 'none')", file=sys.stderr)
        return 0
    cache = LLMCache(path)
    try:
        if args.action == "clear":
            removed = cache.clear()
            out = {"path": str(path), "removed": removed}
            print(json.dumps(out) if args.json else f"removed {removed:,} entries from {path}")
        else:
            info = cache.info()
            print(json.dumps(info.as_dict()) if args.json else info.table())
    finally:
        cache.close()
    return 0
