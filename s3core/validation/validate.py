"""``python -m s3core validate``: measure the simulator against a dataset folder, beside baselines.

Population level (replay, as OASIS): per-minute scale, depth and max-breadth curves over 150
minutes, NRMSE against the real curves, for the simulator, an independent cascade with its
probability fitted on training cascades, and the training cascades' mean curve. Free-running
stylized facts: size distribution, structure by size, depth and quote shares, timing.
Individual level: ``individual`` module (action, stance, content, emotion).

Cascades are ordered by source time (or as listed when there is none); the earlier half
trains the baselines and the later half is evaluated, so an evaluation never sees its own
cascades in training.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import metrics as M
from .baselines import fit_ic_probability, mean_curve_model, mean_curve_prediction
from .datasets import CascadeData, DatasetError, StanceThreads, load_dataset
from .replay_runner import Task, simulate_all
from .simulate import FREE_RUN_MINUTES, Setup, replay_network
from .trees import CascadeTree, build_trees

IC_TRAINING_CASCADES = 40  # training cascades the independent-cascade probability is fitted on
TRAIN_SHARE = 0.5

PUBLISHED = {
    "S3 (Gao et al. 2023), Table 2": {
        "emotion level accuracy": 0.718,
        "event propagation accuracy (gender / nuclear)": [0.662, 0.695],
        "event propagation AUC": [0.662, 0.681],
        "initial attitude accuracy": 0.743,
        "attitude change accuracy": 0.839,
    },
    "S3 (Gao et al. 2023), Table 3": {"content cosine (gender / nuclear)": [0.723, 0.741]},
    "OASIS (Yang et al. 2024)": {"Twitter15/16 replay NRMSE (scale, depth, max breadth)": "< 0.2 each, 198 cascades"},
}


@dataclass(frozen=True)
class Split:
    """Which cascades train the baselines and which are evaluated."""

    train: list[str]
    evaluate: list[str]


def split_cascades(data: CascadeData, limit: int | None) -> Split:
    """Earlier half (by source time) trains, later half is evaluated; ``limit`` evenly thins the latter."""
    sources = data.sources
    if "time_utc" in sources and sources["time_utc"].notna().all():
        order = sources.sort_values(["time_utc", "cascade_id"], kind="stable")["cascade_id"]
    else:
        order = sources["cascade_id"]
    ids = order.astype(str).tolist()
    cut = int(len(ids) * TRAIN_SHARE)
    train, evaluate = ids[:cut], ids[cut:]
    if limit is not None and limit < len(evaluate):
        pick = np.unique(np.linspace(0, len(evaluate) - 1, limit).round().astype(int))
        evaluate = [evaluate[i] for i in pick]
    return Split(train, evaluate)


def _progress_bar(label: str) -> Callable[[int, int], None]:
    start = time.perf_counter()

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        line = f"{label} {done}/{total} [{'#' * filled}{'.' * (width - filled)}] {time.perf_counter() - start:.0f} s"
        end = "\n" if done >= total or not sys.stderr.isatty() else ""
        sys.stderr.write(("\r" if sys.stderr.isatty() else "") + line + end)
        sys.stderr.flush()

    return show


def _round(x, digits: int = 4):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), digits)


def _curve_scores(simulated: dict, real: dict) -> dict:
    return {c: _round(M.nrmse(simulated[c], real[c])) for c in M.CURVES}


def _mean_scores(rows: list[dict], key: str) -> dict:
    return {
        c: _round(np.nanmean([np.nan if r[key][c] is None else r[key][c] for r in rows])) if rows else None
        for c in M.CURVES
    }


def validate(
    folder: str | Path,
    setup: Setup,
    limit: int | None = None,
    workers: int = 1,
    progress: bool = True,
    individual: bool = True,
    policies: Callable[[str], object] | None = None,
) -> dict:
    """Measure ``setup`` on the dataset in ``folder``; returns the JSON-able result.

    ``policies(cascade_id)``: the decision policy of each replay (e.g. ``llm_replay.ReplayPolicies``);
    None for the heuristic. Raises ``datasets.DatasetError`` naming the table and column of a malformed
    folder, and when ``policies`` meets stance threads (nothing is replayed there).
    """
    data = load_dataset(folder)
    if isinstance(data, StanceThreads):
        if policies is not None:
            raise DatasetError(
                f"{data.name} holds stance threads, which are not replayed: the llm backend drives replays only"
            )
        return _validate_threads(data, setup, limit, workers, progress)
    t0 = time.perf_counter()
    trees = build_trees(data.events, data.sources)
    split = split_cascades(data, limit)
    text_of = dict(zip(data.sources["cascade_id"].astype(str), data.sources["text"]))
    window = {cid: trees[cid].within(M.WINDOW_MINUTES) for cid in split.train + split.evaluate}
    real_curves = {cid: M.curves(tree) for cid, tree in window.items()}
    train = [cid for cid in split.train if len(window[cid])]
    evaluated = [cid for cid in split.evaluate if len(window[cid])]
    mean_model = mean_curve_model([real_curves[c] for c in train], [len(window[c]) for c in train])
    ic_sample = [
        train[i]
        for i in np.unique(np.linspace(0, len(train) - 1, min(IC_TRAINING_CASCADES, len(train))).round().astype(int))
    ]
    ic_p = fit_ic_probability(
        [(*replay_network(setup, cid, len(window[cid])), cid, real_curves[cid]) for cid in ic_sample],
        setup.minutes_per_step,
        setup.seed,
    )
    tasks = [Task(cid, text_of[cid], len(window[cid])) for cid in evaluated]
    simulated = simulate_all(
        setup,
        tasks,
        ic_p,
        workers=workers,
        progress=_progress_bar("validate: cascades") if progress else None,
        policies=policies,
    )
    rows = []
    for task, sim in zip(tasks, simulated):
        real = real_curves[task.cascade_id]
        rows.append(
            {
                "cascade_id": task.cascade_id,
                "n_users": task.n_users,
                "simulated_reach": len(sim.replay),
                "nrmse": _curve_scores(M.curves(sim.replay), real),
                "baseline_nrmse": _curve_scores(M.curves(sim.ic), real),
                "mean_curve_nrmse": _curve_scores(mean_curve_prediction(mean_model, task.n_users), real),
                "free_run_size": len(sim.free),
                "real_size_36h": len(trees[task.cascade_id].within(FREE_RUN_MINUTES)),
            }
        )
    real_free = [trees[c].within(FREE_RUN_MINUTES) for c in evaluated]
    sim_free = [s.free for s in simulated]
    result = {
        "dataset": data.name,
        "format": data.format,
        "seed": setup.seed,
        "minutes_per_step": setup.minutes_per_step,
        "cascades": len(rows),
        "training_cascades": len(train),
        "skipped_empty_window": len(split.evaluate) - len(evaluated),
        "nrmse": _mean_scores(rows, "nrmse"),
        "baseline_nrmse": _mean_scores(rows, "baseline_nrmse"),
        "mean_curve_nrmse": _mean_scores(rows, "mean_curve_nrmse"),
        "baseline_ic_probability": _round(ic_p),
        "stylized": stylized_facts(real_free, sim_free, data.has_text),
        "individual": _individual(data, trees, evaluated, simulated, setup) if individual else {},
        "published": PUBLISHED,
        "per_cascade": rows,
    }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["curves"] = {
        t.cascade_id: {
            "real": _plain(real_curves[t.cascade_id]),
            "simulated": _plain(M.curves(s.replay)),
            "independent_cascade": _plain(M.curves(s.ic)),
            "mean_curve": _plain(mean_curve_prediction(mean_model, t.n_users)),
        }
        for t, s in zip(tasks, simulated)
    }
    return result


def _plain(curves: dict) -> dict:
    return {k: [float(x) for x in v] for k, v in curves.items()}


def _fact(simulated, real, distance=None) -> dict:
    out = {
        "simulated": _round(simulated) if not isinstance(simulated, (list, dict)) else simulated,
        "real": _round(real) if not isinstance(real, (list, dict)) else real,
    }
    if distance is None and not isinstance(simulated, (list, dict)) and simulated is not None and real is not None:
        distance = abs(simulated - real) if not (math.isnan(simulated) or math.isnan(real)) else None
    out["distance"] = _round(distance)
    return out


def stylized_facts(real: list[CascadeTree], simulated: list[CascadeTree], quotes_known: bool) -> dict:
    """Free-running stylized facts, each as {simulated, real, distance} (KS for the size distribution)."""
    sizes_real = np.array([len(t) for t in real], dtype=float)
    sizes_sim = np.array([len(t) for t in simulated], dtype=float)
    depth_real, depth_sim = M.depth_shares(real), M.depth_shares(simulated)
    time_real, time_sim = M.timing(real), M.timing(simulated)
    facts = {
        "cascade_size": {
            "simulated": {"median": _round(np.median(sizes_sim)) if len(sizes_sim) else None},
            "real": {"median": _round(np.median(sizes_real)) if len(sizes_real) else None},
            "distance": _round(M.ks_distance(sizes_sim, sizes_real)),
            "distance_kind": "KS",
        },
        "structure_by_size": {
            "simulated": M.structure_by_size(simulated),
            "real": M.structure_by_size(real),
            "distance": None,
        },
        "size_conditioned_ks": _conditioned(M.size_conditioned_ks(real, simulated)),
        "branching_ratio": _fact(depth_sim["branching_ratio"], depth_real["branching_ratio"]),
        "depth1_share": _fact(depth_sim["depth1_share"], depth_real["depth1_share"]),
        "median_minutes_to_half_reach": _fact(
            time_sim["median_minutes_to_half_reach"], time_real["median_minutes_to_half_reach"]
        ),
        "first_hour_share": _fact(time_sim["first_hour_share"], time_real["first_hour_share"]),
        "activity_slope_1_24h": _fact(time_sim["activity_slope_1_24h"], time_real["activity_slope_1_24h"]),
    }
    if quotes_known:
        q_sim, q_real = M.quote_shares(simulated), M.quote_shares(real)
        facts["quote_share"] = {k: _fact(q_sim[k], q_real[k]) for k in q_real}
    return facts


def _conditioned(ks: dict) -> dict:
    rounded = {k: _round(v) for k, v in ks["weighted_mean"].items()}
    return {
        "bins": [{k: (_round(v) if isinstance(v, float) else v) for k, v in row.items()} for row in ks["bins"]],
        "weighted_mean": rounded,
        "real_cascades_compared": ks["real_cascades_compared"],
        "distance": max((v for v in rounded.values() if v is not None), default=None),
    }


def _individual(data: CascadeData, trees: dict, evaluated: list[str], simulated, setup: Setup) -> dict:
    """Action (all decisions, time split), content and emotion (the evaluated cascades) where texts exist."""
    from .individual_action import action_report

    out = {"action": action_report(data, scenario=setup.scenario, seed=setup.seed)}
    if not data.has_text:
        reason = f"{data.name} carries no comment texts"
        out["content"] = {"task": "content", "skipped": reason}
        out["emotion"] = {"task": "emotion", "skipped": reason}
        return out
    from .individual_content import content_report, emotion_density_report

    real = {cid: trees[cid].within(FREE_RUN_MINUTES) for cid in evaluated}
    out["content"] = content_report(real, seed=setup.seed, neighbours=setup.scenario.policy.text_neighbours)
    out["emotion"] = emotion_density_report(real, {s.cascade_id: s.free for s in simulated})
    return out


THREAD_SOURCES = 20  # thread sources let run free for the simulated stance-over-time curve


def _validate_threads(data: StanceThreads, setup: Setup, limit, workers, progress) -> dict:
    """Stance from text (held-out threads) and the support share over time, real and simulated."""
    from ..resources import load_text_resources
    from .individual_stance import stance_report, stance_time_report
    from .simulate import free_run, free_run_world

    t0 = time.perf_counter()
    posts = data.posts
    sources = posts[posts["parent_id"].isna()].sort_values(["time_utc", "thread_id"], kind="stable")
    count = min(limit or THREAD_SOURCES, len(sources))
    picked = (
        sources.iloc[np.unique(np.linspace(0, len(sources) - 1, count).round().astype(int))]
        if count
        else sources.iloc[:0]
    )
    text = load_text_resources(follow_event=False)  # the representation the figures were measured on
    world = free_run_world(setup, text)
    show = _progress_bar("validate: threads") if progress else None
    simulated = []
    for i, (tid, source_text) in enumerate(zip(picked["thread_id"].astype(str), picked["text"])):
        simulated.append(free_run(setup, world, tid, source_text, text))
        if show:
            show(i + 1, len(picked))
    return {
        "dataset": data.name,
        "format": "threads",
        "seed": setup.seed,
        "threads_simulated": len(simulated),
        "individual": {
            "stance": stance_report(data, seed=setup.seed),
            "stance_over_time": stance_time_report(posts, simulated),
        },
        "published": PUBLISHED,
        "seconds": round(time.perf_counter() - t0, 1),
    }
