"""``python -m s3core calibrate``: fit the model to a dataset folder by simulation-based inference.

The summary statistics are those ``validate`` reports, computed on the training half of the
cascades only (the earlier half by source time), so a later ``validate`` on the same folder
scores cascades the fit never saw. The search is Optuna's TPE sampler (Bergstra et al. 2011;
Akiba et al. 2019), minimizing a weighted distance between simulated and real statistics:
replay NRMSE of scale, depth and max breadth, and the free-running branching ratio, depth-1
share, first-hour share, time to half reach, activity slope, size distribution and quote share.
"""

from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics as M
from .datasets import CascadeData, DatasetError, load_dataset
from .simulate import FREE_RUN_MINUTES, free_run, free_run_world, replay, setup_from_params
from .trees import CascadeTree, build_trees
from .validate import split_cascades

CALIBRATION_MINUTES_PER_STEP = 10.0  # steps map to 10 real minutes: 15 steps in the replay window
REPLAY_CASCADES = 16
FREE_CASCADES = 8

# name -> (group, key, low, high, log scale)
SPACE = {
    "attention": ("platform", "attention", 0.05, 0.95, False),
    "feed_delay_median": ("platform", "feed_delay_median", 2.0, 600.0, True),
    "feed_delay_sigma": ("platform", "feed_delay_sigma", 0.3, 3.0, False),
    "recommend_rate": ("platform", "recommend_rate", 0.0005, 0.05, True),
    "recommend_half_life": ("platform", "recommend_half_life", 0.5, 30.0, True),
    "base_repost": ("policy", "base_repost", -8.0, -0.5, False),
    "base_quote": ("policy", "base_quote", -8.0, -0.5, False),
    "exposure": ("policy", "exposure", 0.0, 2.0, False),
    "staleness": ("policy", "staleness", 0.0, 2.0, False),
    "depth_decay": ("policy", "depth_decay", 0.0, 4.0, False),
    "quote_shift": ("policy", "quote_shift", -1.5, 1.5, False),
    "mean_followees": ("network", "mean_followees", 2.0, 40.0, True),
    "replay_author_share": ("replay", "author_share", 0.0, 1.0, False),
    "replay_engagement": ("replay", "engagement", 0.0, 8.0, False),
}


@dataclass(frozen=True)
class Targets:
    """The real statistics of the training cascades the fit aims at."""

    replay: list[tuple[str, str, int, dict]]  # (cascade id, source text, N, real curves)
    free: list[tuple[str, str]]  # (cascade id, source text)
    stylized: dict  # real free-running statistics over the training cascades
    quotes_known: bool


def targets(data: CascadeData, seed: int) -> Targets:
    """Training-half statistics: replay curves of a spread sample and free-running stylized facts."""
    trees = build_trees(data.events, data.sources)
    split = split_cascades(data, None)
    train = [c for c in split.train if len(trees[c].within(M.WINDOW_MINUTES))]
    if len(train) < 4:
        raise DatasetError(
            f"{data.name}: only {len(train)} training cascades have participants in the first "
            f"{M.WINDOW_MINUTES} minutes; calibration needs at least 4"
        )
    text_of = dict(zip(data.sources["cascade_id"].astype(str), data.sources["text"]))
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(train), size=min(REPLAY_CASCADES, len(train)), replace=False))
    replay_set = []
    for i in pick:
        cid = train[i]
        window = trees[cid].within(M.WINDOW_MINUTES)
        replay_set.append((cid, text_of[cid], len(window), M.curves(window)))
    free_ids = [train[i] for i in sorted(rng.choice(len(train), size=min(FREE_CASCADES, len(train)), replace=False))]
    real_free = [trees[c].within(FREE_RUN_MINUTES) for c in train]
    return Targets(
        replay_set, [(c, text_of[c]) for c in free_ids], _statistics(real_free, data.has_text), data.has_text
    )


def _statistics(trees: list[CascadeTree], quotes_known: bool) -> dict:
    stats = {**M.depth_shares(trees), **M.timing(trees), "sizes": np.array([len(t) for t in trees], dtype=float)}
    if quotes_known:
        stats["quote_share"] = M.quote_shares(trees)["overall"]
    return stats


def params_from(values: dict) -> dict:
    """A parameter file's groups from a flat {name: value} of ``SPACE``."""
    params: dict = {"minutes_per_step": CALIBRATION_MINUTES_PER_STEP}
    for name, value in values.items():
        group, key, *_ = SPACE[name]
        params.setdefault(group, {})[key] = float(value)
    return params


_WORKER: dict = {}


def _init() -> None:
    from ..resources import load_text_resources

    _WORKER["text"] = load_text_resources(follow_event=False)  # the representation the fits were made on


def _replay_task(args) -> dict:
    setup, cid, text, n, real = args
    tree = replay(setup, cid, text, n, _WORKER["text"])
    sim = M.curves(tree)
    return {c: M.nrmse(sim[c], real[c]) for c in M.CURVES}


def _free_task(args) -> CascadeTree:
    setup, cid, text = args
    key = (setup.scenario.network, setup.seed)
    if _WORKER.get("world_key") != key:
        _WORKER["world"] = free_run_world(setup, _WORKER["text"])
        _WORKER["world_key"] = key
    return free_run(setup, _WORKER["world"], cid, text, _WORKER["text"])


def distance(target: Targets, replay_scores: list[dict], free_trees: list[CascadeTree]) -> tuple[float, dict]:
    """The weighted distance a trial minimizes, and its terms."""
    sim = _statistics(free_trees, target.quotes_known)
    real = target.stylized

    def gap(key, scale=1.0):
        a, b = sim.get(key), real.get(key)
        return 2.0 if a is None or b is None or math.isnan(a) or math.isnan(b) else abs(a - b) / scale

    half_sim, half_real = sim["median_minutes_to_half_reach"], real["median_minutes_to_half_reach"]
    # each term is 0 at a perfect match and about 1 at a clear miss; none saturates, so the sampler
    # always sees which way is better
    terms = {
        "replay_nrmse": float(np.nanmean([np.nanmean(list(s.values())) for s in replay_scores])),
        "branching_ratio": gap("branching_ratio"),
        "first_hour_share": gap("first_hour_share"),
        "activity_slope": gap("activity_slope_1_24h", 2.0),
        "half_reach": 2.0
        if not (half_sim > 0 and half_real > 0)
        else abs(math.log(half_sim / half_real)) / math.log(4),
        "size_ks": M.ks_distance(sim["sizes"], real["sizes"]),
    }
    if target.quotes_known:
        terms["quote_share"] = gap("quote_share", 0.2)
    weights = {
        "replay_nrmse": 2.0,
        "branching_ratio": 1.0,
        "first_hour_share": 1.0,
        "activity_slope": 0.5,
        "half_reach": 0.5,
        "size_ks": 1.0,
        "quote_share": 0.5,
    }
    total = sum(weights[k] * (1.0 if v is None or math.isnan(v) else v) for k, v in terms.items())
    return total, terms


def calibrate(
    folder: str | Path,
    seed: int = 0,
    workers: int = 1,
    minutes: float = 25.0,
    trials: int | None = None,
    progress: bool = True,
    start: dict | None = None,
) -> dict:
    """Fit ``SPACE`` on the training half of ``folder``; returns the parameter file's content with a ``calibration`` report.

    The first trial is always the defaults (the report's start point); ``start`` ({name: value}
    of ``SPACE``, see ``start_values``) is tried second, so an earlier fit can seed the search.
    """
    import optuna

    data = load_dataset(folder)
    if not isinstance(data, CascadeData):
        raise DatasetError(
            f"{folder}: calibration needs cascades (sources.parquet with reposts or edges), not stance threads"
        )
    t0 = time.perf_counter()
    target = targets(data, seed)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({name: _default(name) for name in SPACE})
    if start:
        study.enqueue_trial({name: start.get(name, _default(name)) for name in SPACE})
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init) if workers > 1 else None
    if pool is None:
        _init()
    run = pool.map if pool else map
    best_so_far = [math.inf]

    def objective(trial) -> float:
        values = {name: trial.suggest_float(name, lo, hi, log=log) for name, (_, _, lo, hi, log) in SPACE.items()}
        setup = setup_from_params(params_from(values), seed)
        scores = list(run(_replay_task, [(setup, *r) for r in target.replay]))
        free = list(run(_free_task, [(setup, *f) for f in target.free]))
        value, terms = distance(target, scores, free)
        trial.set_user_attr("terms", terms)
        best_so_far[0] = min(best_so_far[0], value)
        if progress:
            sys.stderr.write(
                f"calibrate: trial {trial.number + 1} distance {value:.3f} (best {best_so_far[0]:.3f}) "
                f"{time.perf_counter() - t0:.0f} s\n"
            )
            sys.stderr.flush()
        return value

    try:
        study.optimize(objective, n_trials=trials, timeout=max(minutes * 60 - (time.perf_counter() - t0), 1.0))
    finally:
        if pool:
            pool.shutdown()
    best = study.best_trial
    best_terms = best.user_attrs.get("terms", {})
    default_trial = study.trials[0]
    params = params_from(best.params)
    params["calibration"] = {
        "dataset": data.name,
        "seed": seed,
        "trials": len(study.trials),
        "seconds": round(time.perf_counter() - t0, 1),
        "training_cascades_replayed": len(target.replay),
        "training_cascades_free_run": len(target.free),
        "distance": round(best.value, 4),
        "terms": {k: round(v, 4) for k, v in best_terms.items()},
        "start_distance": None if default_trial.value is None else round(default_trial.value, 4),
        "start_terms": {k: round(v, 4) for k, v in default_trial.user_attrs.get("terms", {}).items()},
        "start": "the defaults (clipped into the search ranges) at 10 minutes per step",
        "second_trial": "the start values given" if start else "sampled",
        "method": "Optuna TPE over the parameters in s3core.validation.calibrate.SPACE",
    }
    return params


def start_values(path: str | Path) -> dict:
    """{name: value} of ``SPACE`` from a parameter file, clipped into the search ranges.

    Raises ParamsError naming the file when it cannot be read as a parameter file.
    """
    from .simulate import ParamsError

    try:
        fitted = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParamsError(f"--start {path}: not a readable parameter file ({exc})") from None
    if not isinstance(fitted, dict):
        raise ParamsError(f"--start {path}: not a parameter file (expected a JSON object)")
    try:  # the same checks as validate --params: unknown groups or keys and out-of-range values are named
        setup_from_params(fitted, 0)
    except ParamsError as exc:
        raise ParamsError(f"--start {path}: {exc}") from None
    values = {}
    for name, (group, key, lo, hi, _) in SPACE.items():
        value = (fitted.get(group) or {}).get(key) if isinstance(fitted.get(group), dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            values[name] = float(min(max(value, lo), hi))
    return values


def _default(name: str) -> float:
    """The model's current default of a searched parameter, clipped into the search range."""
    from .. import params as P
    from ..scenario import NetworkSpec
    from .simulate import ReplayParams

    group, key, lo, hi, _ = SPACE[name]
    source = {
        "platform": P.PlatformParams(),
        "policy": P.PolicyParams(),
        "network": NetworkSpec(),
        "replay": ReplayParams(),
    }[group]
    return float(min(max(getattr(source, key), lo), hi))


def write_params(path: str | Path, params: dict) -> None:
    """Write a parameter file (JSON, UTF-8) that ``validate --params`` and scenarios read."""
    Path(path).write_text(json.dumps(params, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
