"""``python -m s3core profile``: infer users' demographics (and initial attitudes) into a profiles file, or score
demographic inference against self-reported labels (``--evaluate``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import scenario as S
from .llm import cli as llm_cli

USAGE = """examples:
  python -m s3core profile data/scenarios/default.toml --model openai/gpt-4o-mini --out profiles.parquet --estimate
  python -m s3core profile data/scenarios/default.toml --model openai/gpt-4o-mini --out profiles.parquet --attitudes
  python -m s3core profile data/scenarios/default.toml --backend rules --out rules.parquet
  python -m s3core profile --evaluate weibo-ced                      (offline rules against self-reported gender)
  python -m s3core profile --evaluate weibo-ced --model openai/gpt-4o-mini --limit 300
then name the file in the scenario:  [population] profiles = "profiles.parquet"
"""


def add_command(sub) -> None:
    """The ``profile`` sub-command and its flags (the LLM connection flags are ``run``'s)."""
    p = sub.add_parser(
        "profile",
        help="infer users' age, gender, occupation (and initial attitude) into a profiles file, or --evaluate",
        epilog=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("scenario", nargs="?", help="scenario TOML file whose network's users are profiled")
    p.add_argument("--out", help="profiles file to write (.parquet, or .csv)")
    p.add_argument(
        "--backend",
        choices=("llm", "rules"),
        default="llm",
        help="llm (default): S3's profiling by a language model; rules: the offline text rules' answers",
    )
    p.add_argument("--attitudes", action="store_true", help="also each user's initial attitude toward the event (LLM)")
    p.add_argument(
        "--subset",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="profile only these users, repeatable: category=influential, top=100, gender=female, age=18-30, "
        "occupation=media, agents=1,2,3",
    )
    p.add_argument("--share", type=float, help="a seeded random share of the users")
    p.add_argument("--users", help="profile only these user ids, comma-separated")
    p.add_argument(
        "--all-users",
        action="store_true",
        help="also users with neither description nor posts (the model guesses blind)",
    )
    p.add_argument("--merge", action="store_true", help="keep --out's other rows; the new answers replace its values")
    p.add_argument("--estimate", action="store_true", help="print calls, tokens and cost, and exit without calling")
    p.add_argument("--max-cost", type=float, metavar="USD", help="refuse to start when the estimate is above this")
    p.add_argument(
        "--llm-cache",
        help="cache directory (default: the shared LLM cache, see `cache info`); 'none' for memory only",
    )
    p.add_argument(
        "--evaluate",
        metavar="DATASET",
        help="score inference against self-reported labels instead: weibo-ced, or a users file with gender/age/occupation",
    )
    p.add_argument("--limit", type=int, help="--evaluate: a seeded random sample of this many labelled users")
    p.add_argument("--seed", type=int, default=0, help="--evaluate: the sample's seed (default 0)")
    p.add_argument("--posts", help="--evaluate with a users file: the posts file whose texts the inferrer reads")
    p.add_argument("--datasets", help="folder of the shared datasets (default: ../shared/datasets)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    llm_cli.add_connection_arguments(p.add_argument_group("LLM (keys come from the environment, e.g. OPENAI_API_KEY)"))


def command(args: argparse.Namespace) -> int:
    """Run ``profile``; returns the exit status. Raises ValueError (and ScenarioError) with a one-line message."""
    if args.evaluate:
        return _evaluate(args)
    if not args.scenario:
        raise ValueError("profile needs a scenario file (or --evaluate DATASET)")
    if not args.out and not args.estimate:
        raise ValueError("profile needs --out PROFILES.parquet (or --estimate)")
    if args.out and Path(args.out).suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"--out {args.out}: a profiles file ends in .parquet or .csv")
    from .engine import Simulation

    scenario = S.load(args.scenario)
    sim = Simulation(scenario.replace(profiles=""))  # the profiles being made must not feed their own prompts
    agents = _chosen(args, sim)
    if args.backend == "rules":
        if args.attitudes:
            raise ValueError("--attitudes needs --backend llm: the rules infer no attitudes")
        table = rules_profiles(sim, agents)
        return _save(args, table, f"rules answered {len(table):,} of {len(agents):,} users")
    return _llm(args, sim, agents)


def _chosen(args, sim) -> np.ndarray:
    """The agents to profile: the subset flags, then (unless --all-users) only users with some text."""
    from .llm.profiling import users_with_text
    from .llm.subset import parse_subset, select_agents

    network = sim.network
    mask = select_agents(parse_subset(args.subset, args.share), network, sim.population, sim.scenario.seed)
    if args.users:
        wanted = [u.strip() for u in args.users.split(",") if u.strip()]
        index = pd.Index(np.asarray(network.user_ids).astype(str))
        position = index.get_indexer(wanted)
        missing = [u for u, p in zip(wanted, position) if p < 0]
        if missing:
            raise ValueError(f"--users: {len(missing)} not in the network, e.g. {missing[0]!r}")
        only = np.zeros(network.n_users, dtype=bool)
        only[position] = True
        mask &= only
    if not args.all_users:
        readable = np.zeros(network.n_users, dtype=bool)
        readable[users_with_text(network)] = True
        skipped = int((mask & ~readable).sum())
        if skipped:
            print(
                f"profile: {skipped:,} chosen users have no description or posts: skipped (--all-users keeps them)",
                file=sys.stderr,
            )
        mask &= readable
    agents = np.flatnonzero(mask)
    if not len(agents):
        raise ValueError("no users to profile: the subset is empty, or none of its users has any text")
    return agents


def rules_profiles(sim, agents: np.ndarray) -> pd.DataFrame:
    """The offline text rules' answers for ``agents`` as a profiles table (only values the rules inferred)."""
    from .demographics import PROVENANCE_COLUMNS, Provenance
    from .profiles import check_profiles
    from .types import Gender, Occupation

    pop = sim.population
    inferred = pop.provenance[agents] == Provenance.INFERRED
    keep = inferred.any(axis=1)
    agents, inferred = agents[keep], inferred[keep]
    values = {name: inferred[:, j] for j, name in enumerate(PROVENANCE_COLUMNS)}
    table = pd.DataFrame(
        {
            "user_id": np.asarray(sim.network.user_ids)[agents].astype(str),
            "age": pd.array(np.where(values["age"], pop.age[agents], -1), dtype="Int16"),
            "gender": [Gender(g).name.lower() if ok else None for g, ok in zip(pop.gender[agents], values["gender"])],
            "occupation": [
                Occupation(o).name.lower() if ok else None
                for o, ok in zip(pop.occupation[agents], values["occupation"])
            ],
            "source": "rules",
        }
    )
    table["age"] = table["age"].mask(table["age"] < 0)
    return check_profiles(table, "rule profiles")


def _llm(args, sim, agents: np.ndarray) -> int:
    from .llm.cache import LLMCache, resolve_cache_dir
    from .llm.gateway import Gateway
    from .llm.profiling import ProfileJob
    from .runner import write_progress

    settings = llm_cli.settings_from_args(args)
    job = ProfileJob(sim, agents, settings, attitudes=args.attitudes)
    cache = LLMCache(resolve_cache_dir(args.llm_cache))
    try:
        estimate = job.estimate(cache)
    except BaseException:
        cache.close()
        raise
    if args.estimate:
        cache.close()
        print(json.dumps(estimate.as_dict()) if args.json else f"estimate: {estimate.line()}")
        return 0
    print(f"estimate: {estimate.line()}", file=sys.stderr, flush=True)
    if args.max_cost is not None and (estimate.cost_usd is None or estimate.cost_usd > args.max_cost):
        cost = "unknown" if estimate.cost_usd is None else f"${estimate.cost_usd:.4f}"
        cache.close()
        raise ValueError(f"the estimated cost ({cost}) is above --max-cost ${args.max_cost:g}; nothing was called")
    gateway = Gateway(settings, cache, notify=llm_cli.say)  # closes the cache when closed
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        width, elapsed = 30, time.perf_counter() - started
        bar = "#" * int(width * done / max(total, 1))
        write_progress(
            f"users {done:,}/{total:,} [{bar:.<{width}}] {elapsed:.0f} s; {gateway.stats.calls:,} calls, "
            f"{gateway.stats.cache_hits:,} cached",
            done,
            total,
        )

    try:
        result = job.run(gateway, progress)
    finally:
        gateway.close()
    print(result.summary(), file=sys.stderr)
    return _save(
        args,
        result.table,
        f"{settings.model} answered for {len(result.table.dropna(how='all', subset=['age', 'gender', 'occupation', 'attitude'])):,} of {len(agents):,} users",
    )


def _save(args, table: pd.DataFrame, what: str) -> int:
    from .llm.profiling import merge_profiles
    from .profiles import read_profiles, write_profiles

    out = Path(args.out)
    if args.merge and out.exists():
        table = merge_profiles(read_profiles(out), table)
    elif out.exists():
        print(f"replacing {out} (--merge keeps its other rows)", file=sys.stderr)
    write_profiles(table, out)
    filled = {c: int(table[c].notna().sum()) for c in ("age", "gender", "occupation", "attitude")}
    if args.json:
        print(json.dumps({"out": str(out), "rows": len(table), "filled": filled}))
    else:
        print(
            f"{what}; wrote {len(table):,} rows to {out} (" + ", ".join(f"{c} {n:,}" for c, n in filled.items()) + ")"
        )
        print(f'use it: [population] profiles = "{out}" in the scenario')
    return 0


def _evaluate(args) -> int:
    from .profile_evaluate import evaluate, load_labelled

    datasets = Path(args.datasets) if args.datasets else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    users = load_labelled(args.evaluate, datasets, posts=args.posts)
    inferrer, llm = "rules", None
    if args.model:
        from .llm.cache import LLMCache, resolve_cache_dir
        from .llm.demographics import LLMDemographicInferrer

        inferrer = llm = LLMDemographicInferrer(
            llm_cli.settings_from_args(args), LLMCache(resolve_cache_dir(args.llm_cache))
        )
    try:
        report = evaluate(
            users, inferrer, progress=None if args.quiet else _users_progress(), limit=args.limit, seed=args.seed
        )
    finally:
        if llm is not None:
            print(llm.stats.line(), file=sys.stderr)
            llm.close()
    print(json.dumps(report.as_dict()) if args.json else report.table())
    return 0


def _users_progress():
    from .runner import write_progress

    started = time.perf_counter()

    def show(done: int, total: int) -> None:
        bar = "#" * int(30 * done / max(total, 1))
        write_progress(f"users {done:,}/{total:,} [{bar:.<30}] {time.perf_counter() - started:.0f} s", done, total)

    return show
