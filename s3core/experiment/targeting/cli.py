"""The ``target`` subcommand: choose whom to spend a budget on, by degree, PageRank and greedy, and judge each choice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .budget import BUDGET_KINDS

HORIZON = 24  # default steps after the targeted step: 4 hours of the shipped 10-minute steps


def add_command(sub) -> None:
    """Register ``target`` on the main parser's subcommands."""
    from ..spec import OUTCOMES

    p = sub.add_parser(
        "target",
        help="rank seed accounts or boost audiences under a budget by degree, PageRank and "
        "greedy on the simulated outcome (CELF), and report each choice's effect with "
        "its 95%% interval on held-out seeds",
    )
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--post", required=True, help="name of the scenario's seed post to target")
    p.add_argument(
        "--budget",
        required=True,
        choices=BUDGET_KINDS,
        help="accounts: k copies of the post, each by a chosen account (instead of the official one); "
        "impressions: the post shown once to k chosen users",
    )
    p.add_argument("--k", type=int, required=True, help="accounts or users to choose")
    p.add_argument("--out", required=True, help="folder for experiment.duckdb (the evaluation) and targeting.json")
    p.add_argument(
        "--objective",
        default="final_reach",
        help=f"outcome the greedy search optimises (default final_reach; one of {', '.join(OUTCOMES)})",
    )
    p.add_argument("--minimize", action="store_true", help="minimise the objective instead of maximising it")
    p.add_argument(
        "--candidates",
        type=int,
        default=10,
        help="greedy picks among the union of the top C by degree and the top C by PageRank (default 10)",
    )
    p.add_argument(
        "--fit-seeds",
        type=int,
        default=3,
        help="seeds the greedy search averages over (default 3, from the scenario's seed)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=10,
        help="held-out seeds every choice is judged on, after the fit seeds (default 10)",
    )
    p.add_argument(
        "--steps",
        type=int,
        help=f"steps of every run (default: the targeted step + {HORIZON}, at most the scenario's steps)",
    )
    p.add_argument("--at", type=int, help="step of the copies or the boost (default: the post's own step)")
    p.add_argument("--workers", type=int, default=1, help="worker processes for the held-out evaluation (default 1)")
    p.add_argument("--resume", action="store_true", help="keep the evaluation runs already in --out")
    p.add_argument(
        "--force", action="store_true", help="replace the evaluation runs already in --out (says so on stderr)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object: per strategy the targets and effects")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def command(args) -> int:
    from ... import scenario as S
    from ...resources import load_text_resources
    from ...runner import write_progress
    from ..runner import FILE_NAME
    from .budget import TargetingError, make_budget, seed_post
    from .plan import Request, run

    scenario = S.load(args.scenario)
    seed = seed_post(scenario, args.post)
    at = seed.step if args.at is None else args.at
    steps = args.steps if args.steps is not None else min(scenario.steps, at + HORIZON)
    if not 1 <= steps <= S.MAX_STEPS:
        raise TargetingError(f"--steps {steps}: must lie in [1, {S.MAX_STEPS}]")
    if args.workers < 1:
        raise TargetingError(f"--workers {args.workers}: expected 1 or more")
    budget = make_budget(scenario, args.post, args.budget, args.k, steps, args.at)
    request = Request(
        budget, args.objective, not args.minimize, args.candidates, args.fit_seeds, args.seeds, steps, args.workers
    )
    held = Path(args.out) / FILE_NAME
    if held.exists() and held.stat().st_size and not (args.resume or args.force):
        raise TargetingError(
            f"{held} already holds an evaluation; pass --resume to keep its runs, --force to "
            "replace them, or choose another --out"
        )
    late = S.after_last_step(scenario.replace(steps=steps))
    if late:
        print(
            f"warning: --steps {steps} leaves out {', '.join(late)} of the scenario (after the last step)",
            file=sys.stderr,
        )
    if not args.quiet:
        write_progress("targeting: loading text resources", 0, 1)
    report = run(
        scenario,
        args.scenario,
        request,
        args.out,
        load_text_resources(),
        quiet=args.quiet,
        resume=args.resume,
        force=args.force,
        on_replace=lambda line: print(line, file=sys.stderr),
    )
    (Path(args.out) / "targeting.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 0


def _fmt(x, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.4g}" if signed else f"{x:.4g}"


def print_table(report: dict) -> None:
    """Each strategy's targets, then its effect on each outcome with the interval."""
    b, g = report["budget"], report["greedy"]
    noun = "accounts" if b["kind"] == "accounts" else "users"
    print(
        f"targeting {report['post']!r} in {report['scenario']}: {b['kind']} budget k = {b['k']} at step {b['step']}, "
        f"{report['steps']} steps; greedy {report['direction']}s {report['objective']}"
    )
    print(
        f"candidates: {len(report['candidates']['pool'])} {noun} (top {report['candidates']['per_ranking']} by "
        f"degree and by PageRank); greedy (CELF) ran {g['simulations']} simulations (plain greedy: "
        f"{g['plain_greedy_simulations']})"
    )
    print(report["note"])
    for name, s in report["strategies"].items():
        print(f"{name:<9} {', '.join(s['targets'])}")
    base = report["baseline"]["outcomes"]
    print(f"{'strategy':<9} {'outcome':<22} {'baseline':>10} {'with it':>10} {'effect':>10}  95% interval")
    for name, s in report["strategies"].items():
        for outcome, e in s["effects"].items():
            print(
                f"{name:<9} {outcome:<22} {_fmt(base[outcome]['mean']):>10} {_fmt(s['outcomes'][outcome]['mean']):>10} "
                f"{_fmt(e['mean'], True):>10}  [{_fmt(e['ci_low'], True)}, {_fmt(e['ci_high'], True)}]"
            )
