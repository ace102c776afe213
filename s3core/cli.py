"""Command line: run a scenario into a DuckDB trace, report a trace, validate against real data, profile users, or benchmark."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from . import scenario as S
from .language import pool_mismatch
from .llm import cli as llm_cli
from .trace_lock import TraceFileError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m s3core", description="S3 social-network simulation engine")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and trace it to a DuckDB file")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument(
        "--out",
        required=True,
        help="trace file to write (DuckDB); never one another process has open, "
        "and never one that holds a run unless --resume or --force",
    )
    run.add_argument("--steps", type=int, help="override the scenario's number of steps")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--resume", action="store_true", help="continue an interrupted trace from its latest checkpoint")
    run.add_argument(
        "--force", action="store_true", help="replace the run already recorded in --out (says so on stderr)"
    )
    run.add_argument("--json", action="store_true", help="print the per-step curves as one JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    llm_cli.add_arguments(run)
    report = sub.add_parser("report", help="print the curves of a recorded run")
    report.add_argument("trace", help="trace file (DuckDB)")
    report.add_argument("--json", action="store_true", help="print one JSON object (as run --json)")
    bench = sub.add_parser("bench", help="measure engine throughput against NDlib")
    bench.add_argument("--json", action="store_true", help="print a JSON list, one object per graph")
    bench.add_argument("--steps", type=int, default=50, help="steps per graph (traced; 50 is the memory target)")
    bench.add_argument("--quick", action="store_true", help="small graphs and few steps (smoke test)")
    bench.add_argument(
        "--only",
        metavar="METRIC[,METRIC]",
        help="measure only these: step, ndlib, heavy_step, idle_step, step_plus_trace, ic_equal_work, runs_per_min",
    )
    bench.add_argument("--datasets", default=None, help="folder of the shared datasets (default: ../shared/datasets)")
    llm_cli.add_cache_command(sub)
    from . import profile_cli
    from .experiment import cli as experiment_cli
    from .experiment.targeting import cli as targeting_cli
    from .validation import cli as validation_cli

    experiment_cli.add_command(sub)
    targeting_cli.add_command(sub)
    validation_cli.add_command(sub)
    validation_cli.add_calibrate_command(sub)
    profile_cli.add_command(sub)
    return parser


def _print_curves(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary))
        return
    print(
        f"{'step':>4} {'aware':>8} {'calm':>6} {'mod':>6} {'int':>6} {'pos':>6} {'repost':>7} {'quote':>6} {'post':>5}"
    )
    for i, step in enumerate(summary["steps"]):
        e, a = summary["emotion"][i], summary["actions"][i]
        print(
            f"{step:>4} {summary['aware'][i]:>8} {e['calm']:>6.3f} {e['moderate']:>6.3f} {e['intense']:>6.3f} "
            f"{summary['attitude'][i]:>6.3f} {a['repost']:>7} {a['quote']:>6} {a['post']:>5}"
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from .runner import prepare_out, run_to_trace, stderr_progress

            scenario = S.load(args.scenario)
            changes = {k: v for k, v in (("steps", args.steps), ("seed", args.seed)) if v is not None}
            if args.backend:
                changes["run"] = dataclasses.replace(scenario.run, backend=args.backend)
            if changes:
                scenario = scenario.replace(**changes)
            progress = None if args.quiet else stderr_progress
            if not getattr(args, "estimate", False):  # refuse early (one line), before any warning or backend
                replaced = prepare_out(args.out, resume=args.resume, replace=args.force)
                if replaced:
                    print(f"replacing {args.out}: it held {replaced}", file=sys.stderr)
            late = S.after_last_step(scenario)
            if late:
                print(
                    f"warning: steps = {scenario.steps} leaves out {', '.join(late)}: the run's steps are "
                    f"numbered 0 to {scenario.steps - 1} (raise steps or --steps to include them)",
                    file=sys.stderr,
                )
                scenario = scenario.replace(
                    interventions=tuple(i for i in scenario.interventions if i.step < scenario.steps)
                )
            mismatch = pool_mismatch(scenario)  # e.g. English seed posts without the English pool
            if mismatch:
                print(f"warning: {mismatch}", file=sys.stderr)
            if scenario.run.backend == "llm":
                result = llm_cli.run_llm(args, scenario, progress)
                if result is None:  # --estimate
                    return 0
                _print_curves(result.summary, args.json)
                return result.exit_code  # non-zero when most LLM decisions fell back
            else:
                summary = run_to_trace(scenario, args.out, resume=args.resume, progress=progress)
            _print_curves(summary, args.json)
        elif args.command == "report":
            from .trace import TraceStore

            with TraceStore(args.trace, read_only=True) as store:
                _print_curves(store.summary(), args.json)
        elif args.command == "experiment":
            from .experiment import cli as experiment_cli

            return experiment_cli.command(args)
        elif args.command == "target":
            from .experiment.targeting import cli as targeting_cli

            return targeting_cli.command(args)
        elif args.command == "profile":
            from . import profile_cli

            return profile_cli.command(args)
        elif args.command == "cache":
            return llm_cli.cache_command(args)
        elif args.command in ("validate", "calibrate"):
            from .validation import cli as validation_cli

            return (
                validation_cli.command(args) if args.command == "validate" else validation_cli.calibrate_command(args)
            )
        else:
            from benchmarks.engine_bench import main as bench_main  # the repository's benchmarks (pip install -e .)

            return bench_main(args)
    except (S.ScenarioError, ValueError, FileNotFoundError, TraceFileError, llm_cli.LLMUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
