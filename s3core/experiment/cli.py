"""The ``experiment`` subcommand: run an experiment file and print its effects with intervals."""

from __future__ import annotations

import argparse
import json
import sys


def add_command(sub) -> None:
    """Register ``experiment`` on the main parser's subcommands."""
    p = sub.add_parser(
        "experiment", help="run paired arms of a scenario over many seeds and report effects with 95%% intervals"
    )
    p.add_argument("experiment", help="experiment TOML file (see data/experiments/)")
    p.add_argument("--out", required=True, help="folder for experiment.duckdb (runs, curves, effects)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes, one seed at a time each (default 1)")
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local worker processes (default), or Ray (pip install -r requirements-ray.txt; joins the "
        "cluster at RAY_ADDRESS if set, else starts a local one)",
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true", help="keep the finished runs in --out and run only the others"
    )
    existing.add_argument("--force", action="store_true", help="replace the runs already in --out (says so on stderr)")
    p.add_argument("--json", action="store_true", help="print one JSON object: curves, bands and effects per arm")
    p.add_argument(
        "--report",
        metavar="FILE.html",
        help="also write a self-contained HTML report (charts, effects "
        "with intervals, parameters, provenance; opens offline)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value}: expected 1 or more")
    return n


def _fmt(x, outcome: str, signed: bool = False) -> str:
    """A value in its outcome's unit: minutes as whole minutes, shares with 4 decimals."""
    if x is None:
        return "n/a"
    if outcome.endswith("_minutes"):
        return f"{x:+.0f}" if signed else f"{x:.0f}"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def print_table(report: dict) -> None:
    """Each arm's effect on each outcome against the baseline, with its interval, then the report's notes."""
    print(
        f"experiment {report['experiment']}: {report['seeds']} seeds from {report['first_seed']}, "
        f"{report['steps']} steps, baseline {report['baseline']!r}"
    )
    print(f"{'arm':<16} {'outcome':<22} {'unit':<8} {'baseline':>10} {'arm':>10} {'effect':>10}  95% interval")
    base = report["arms"][report["baseline"]]["outcomes"]
    for name, arm in report["arms"].items():
        if arm["baseline"]:
            continue
        for o, e in arm["effects"].items():
            unit = "minutes" if o.endswith("_minutes") else "share"
            print(
                f"{name:<16} {o:<22} {unit:<8} {_fmt(base[o]['mean'], o):>10} {_fmt(arm['outcomes'][o]['mean'], o):>10} "
                f"{_fmt(e['mean'], o, True):>10}  [{_fmt(e['ci_low'], o, True)}, {_fmt(e['ci_high'], o, True)}]"
            )
    if report["seeds"] < 2:
        print("one seed: no interval (the bounds equal the estimate)")
    for note in report.get("notes", []):
        print(f"note: {note}")


def command(args) -> int:
    from . import runner, spec

    experiment = spec.load(args.experiment)
    for note in experiment.notes:
        print(f"warning: {note}", file=sys.stderr)
    report = runner.run_experiment(
        experiment,
        args.out,
        workers=args.workers,
        backend=args.backend,
        resume=args.resume,
        force=args.force,
        progress=None if args.quiet else runner.stderr_progress,
        on_replace=lambda line: print(line, file=sys.stderr),
    )
    if args.report:
        from .report import write_report

        path = write_report(report, experiment, args.report)
        print(f"report: {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 0
