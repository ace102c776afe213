"""The ``validate`` subcommand: arguments, parameter file, JSON on stdout, results in DuckDB."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import llm_replay
from .datasets import DatasetError
from .simulate import ParamsError, setup_from_params


def add_command(sub) -> None:
    """Register ``validate`` on the top-level subparsers."""
    v = sub.add_parser("validate", help="measure the simulator against real cascades, beside baselines")
    v.add_argument(
        "--dataset",
        required=True,
        help="dataset folder: sources.parquet with reposts.parquet or edges.parquet, or posts.parquet (stance threads)",
    )
    v.add_argument("--params", help="JSON file of model parameters (scenario keys; defaults where absent)")
    v.add_argument("--limit", type=int, help="evaluate at most this many cascades (evenly spread over the later half)")
    v.add_argument("--seed", type=int, default=0, help="seed of the synthesized networks and every draw (default 0)")
    v.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    v.add_argument("--out", help="DuckDB file for the results (default: DATASET.validation.duckdb here)")
    v.add_argument("--force", action="store_true", help="replace --out if it exists")
    v.add_argument("--json", action="store_true", help="print the result as one JSON object")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    llm_replay.add_arguments(v)


def writable(out: Path, force: bool) -> str | None:
    """Why ``out`` cannot take the results, checked before any work (None when it can).

    Missing folders are created, as ``run`` does; an existing file needs ``force``.
    """
    if out.is_dir():
        return f"{out} is a folder; give a file name for --out"
    if out.exists() and not force:
        return f"{out} exists; pass --force to replace it or choose another --out"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.with_name(out.name + ".probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return f"cannot write {out}: {exc.strerror or exc}"
    return None


def _params(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such parameter file") from None
    except json.JSONDecodeError as exc:
        raise ParamsError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: must hold a JSON object of parameter groups")
    return data


def params_setup(path: str | None, seed: int):
    """The validated model from a ``--params`` file; errors name the file and the key."""
    try:
        return setup_from_params(_params(path), seed)
    except ParamsError as exc:
        message = str(exc)
        raise ParamsError(message if not path or message.startswith(str(path)) else f"{path}: {message}") from None


def command(args) -> int:
    """Run ``validate``; returns the exit status (2 for bad input, with a one-line error)."""
    from .store import write_results
    from .validate import validate

    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    out = Path(args.out or f"{Path(args.dataset).name}.validation.duckdb")
    problem = llm_replay.refusal(args) or writable(out, args.force)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    policies, result, status = None, None, 0
    try:
        setup = params_setup(args.params, args.seed)
        policies = llm_replay.policies_from_args(args) if args.backend == "llm" else None
        result = validate(
            args.dataset, setup, limit=args.limit, workers=args.workers, progress=not args.quiet, policies=policies
        )
    except (DatasetError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if policies is not None:
            status = llm_replay.finish(policies, result)
    write_results(out, result)
    if args.json:
        printed = {k: v for k, v in result.items() if k != "curves"}
        print(json.dumps(printed, ensure_ascii=False))
    else:
        _print_summary(result, out)
    return status


def _print_summary(result: dict, out: Path) -> None:
    if result.get("format") == "threads":
        stance = result.get("individual", {}).get("stance", {})
        print(
            f"{result['dataset']}: stance on {stance.get('n_test', 0)} held-out posts, "
            f"{result.get('threads_simulated', 0)} thread sources run free (results in {out})"
        )
        print(f"{'stance':<28}{'accuracy':>10}{'macro-F1':>10}")
        for name, row in stance.get("predictors", {}).items():
            print(f"{name.replace('_', ' '):<28}{row['accuracy']:>10.3f}{row['macro_f1']:>10.3f}")
        return
    print(f"{result['dataset']}: {result.get('cascades', 0)} cascades evaluated (results in {out})")
    if "nrmse" in result:
        print(f"{'NRMSE':<22}{'scale':>8}{'depth':>8}{'breadth':>9}")
        for label, key in (
            ("simulator", "nrmse"),
            ("independent cascade", "baseline_nrmse"),
            ("mean curve", "mean_curve_nrmse"),
        ):
            row = result[key]
            print(
                f"{label:<22}"
                + "".join(f"{(row[c] if row[c] is not None else float('nan')):>8.3f}" for c in ("scale", "depth"))
                + f"{(row['max_breadth'] if row['max_breadth'] is not None else float('nan')):>9.3f}"
            )


def add_calibrate_command(sub) -> None:
    """Register ``calibrate`` on the top-level subparsers."""
    c = sub.add_parser("calibrate", help="fit the model's parameters to a cascade dataset (simulation-based inference)")
    c.add_argument("--dataset", required=True, help="dataset folder with sources.parquet and reposts or edges")
    c.add_argument("--out", required=True, help="parameter file to write (JSON; read by validate --params)")
    c.add_argument("--seed", type=int, default=0, help="seed of the synthesized networks, the sample and the sampler")
    c.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    c.add_argument("--minutes", type=float, default=25.0, help="time budget in minutes (default 25)")
    c.add_argument("--trials", type=int, help="stop after this many trials (default: as many as the budget allows)")
    c.add_argument(
        "--start",
        help="parameter file of an earlier fit whose values are tried first, after the "
        "defaults (keys it lacks take the defaults)",
    )
    c.add_argument("--force", action="store_true", help="replace --out if it exists")
    c.add_argument("--quiet", action="store_true", help="no progress lines")


def calibrate_command(args) -> int:
    """Run ``calibrate``; returns the exit status (2 for bad input, with a one-line error)."""
    from .calibrate import calibrate, start_values, write_params

    if args.workers < 1 or args.minutes <= 0 or (args.trials is not None and args.trials < 1):
        print("error: --workers and --trials must be at least 1, --minutes above 0", file=sys.stderr)
        return 2
    problem = writable(Path(args.out), args.force)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        start = start_values(args.start) if args.start else None
        params = calibrate(
            args.dataset,
            seed=args.seed,
            workers=args.workers,
            minutes=args.minutes,
            trials=args.trials,
            progress=not args.quiet,
            start=start,
        )
    except (DatasetError, ParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_params(args.out, params)
    fit = params["calibration"]
    trials = f"{fit['trials']} trial{'s' if fit['trials'] != 1 else ''}"
    print(
        f"{fit['dataset']}: {trials} in {fit['seconds']:.0f} s, distance {fit['distance']} "
        f"(start {fit['start_distance']}); parameters in {args.out}"
    )
    return 0
