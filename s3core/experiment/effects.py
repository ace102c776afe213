"""Effects of an experiment: mean curves and paired effect curves with bootstrap bands, and summary effects.

Arms are paired by seed (common random numbers), so an effect is the mean over seeds of the
per-seed difference arm minus baseline, and its interval is a percentile bootstrap of that mean
(``scipy.stats.bootstrap``) with a generator derived from the experiment's first seed: the same
stored runs always give the same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics import group_labels
from ..recording import BREAKDOWN_DIMENSIONS
from .spec import OUTCOMES, Experiment

CURVES = ("aware", "emotion_density", "positive")  # aware: share of all agents; the others: shares of aware agents
CONFIDENCE = 0.95
RESAMPLES = 9999
MIN_AWARE = 0.01  # peaks and troughs only count steps with this share of agents aware: a share of a handful is noise
_BATCH = 500  # resamples held in memory at once
FEW_SEEDS = 5  # below this, a bootstrap interval is about the range of the seeds' own effects
REACH_OUTCOMES = ("final_reach", "half_reach_minutes")  # all that a classical diffusion model models


def outcomes(
    minutes: np.ndarray, aware: np.ndarray, emotion_density: np.ndarray, positive: np.ndarray, from_step: int = 0
) -> dict:
    """Summary outcomes of one run's curves; NaN where a run has none (nobody aware).

    final_reach: share aware at the last step; half_reach_minutes: first time half of it is
    reached; peak_emotion(_minutes): highest emotion density and when; trough_positive
    (trough_minutes): lowest positive share, and when; final_positive: positive share of the
    aware at the last step. Peaks and troughs are taken over the steps
    with at least ``MIN_AWARE`` of agents aware (over the steps with anyone aware if none has),
    from ``from_step`` on: an intervention at step t cannot move a peak that comes before it.
    """
    final = float(aware[-1])
    half = float(minutes[int(np.argmax(aware >= final / 2))]) if final > 0 else np.nan
    window = np.arange(len(aware)) >= from_step
    seen = np.flatnonzero(window & (aware >= MIN_AWARE))
    seen = seen if len(seen) else np.flatnonzero(window & (aware > 0))
    if not len(seen):
        return {"final_reach": final, **{o: np.nan for o in OUTCOMES if o != "final_reach"}}
    peak = int(seen[np.argmax(emotion_density[seen])])
    trough = int(seen[np.argmin(positive[seen])])
    return {
        "final_reach": final,
        "half_reach_minutes": half,
        "peak_emotion": float(emotion_density[peak]),
        "peak_emotion_minutes": float(minutes[peak]),
        "trough_positive": float(positive[trough]),
        "trough_minutes": float(minutes[trough]),
        "final_positive": float(positive[-1]) if final > 0 else np.nan,
    }


def band(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 (seeds) and its 95% percentile-bootstrap interval.

    With fewer than 2 seeds, or where every seed agrees, the interval is the mean itself (so
    identical arms give effects of exactly 0, not a resampling rounding error).
    """
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    flat = np.ptp(values, axis=0) == 0
    if len(values) < 2 or np.all(flat):
        return mean, mean.copy(), mean.copy()
    result = stats.bootstrap(
        (values,),
        np.mean,
        axis=0,
        vectorized=True,
        method="percentile",
        batch=_BATCH,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        rng=rng,
    )
    low, high = result.confidence_interval
    return mean, np.where(flat, mean, low), np.where(flat, mean, high)


def _rng(experiment: Experiment, *key: int) -> np.random.Generator:
    """A bootstrap generator from the experiment's first seed and what it resamples (arm, quantity)."""
    return np.random.default_rng([experiment.seeds[0], *key])


def _num(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else round(x, 6)


def _interval(values: np.ndarray, rng: np.random.Generator) -> dict:
    """A summary value's mean and interval over the seeds that have it."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    mean, low, high = band(values, rng)
    return {"mean": _num(mean), "ci_low": _num(low), "ci_high": _num(high), "n": int(len(values))}


def _bands(matrix: np.ndarray, rng: np.random.Generator) -> dict:
    mean, low, high = band(matrix, rng)
    return {"mean": [_num(v) for v in mean], "low": [_num(v) for v in low], "high": [_num(v) for v in high]}


def matrices(experiment: Experiment, curves: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per arm and curve, a (seeds x steps) matrix in the experiment's seed order, plus ``minutes``.

    Raises:
        ValueError: a run of the experiment is missing from ``curves``.
    """
    out = {}
    n, steps = len(experiment.seeds), experiment.steps
    for arm in experiment.arms:
        rows = curves[(curves["arm"] == arm.name) & curves["seed"].isin(experiment.seeds)].sort_values(["seed", "step"])
        if len(rows) != n * steps:
            raise ValueError(f"arm {arm.name!r} has {len(rows)} of {n * steps} curve rows: runs are missing")
        out[arm.name] = {c: rows[c].to_numpy(np.float64).reshape(n, steps) for c in (*CURVES, "minutes")}
    return out


def outcome_table(m: dict[str, np.ndarray], from_step: int = 0) -> dict[str, np.ndarray]:
    """Every outcome of every seed of one arm's matrices (peaks and troughs from ``from_step`` on)."""
    per_seed = [
        outcomes(m["minutes"][i], m["aware"][i], m["emotion_density"][i], m["positive"][i], from_step)
        for i in range(len(m["aware"]))
    ]
    return {o: np.array([row[o] for row in per_seed], dtype=np.float64) for o in OUTCOMES}


def modelled(table: dict[str, np.ndarray], model: str) -> dict[str, np.ndarray]:
    """An arm's outcomes with NaN where its model does not model them (emotion and attitude of IC and LT)."""
    if model == "agents":
        return table
    return {o: v if o in REACH_OUTCOMES else np.full_like(v, np.nan) for o, v in table.items()}


def group_outcomes(experiment: Experiment, group_curves: pd.DataFrame, minutes: np.ndarray) -> dict:
    """Per (dimension, group): its mean size over seeds and, per arm, every outcome of every seed (seed order).

    A group's curves are shares of the group (aware) and of its aware members (emotion density,
    positive), so its outcomes read as the overall ones do. Groups missing from some run (a
    file written before group curves were recorded) are left out.
    """
    n, steps = len(experiment.seeds), experiment.steps
    rows = group_curves[group_curves["seed"].isin(experiment.seeds)]
    out = {}
    order = {d: i for i, d in enumerate(BREAKDOWN_DIMENSIONS)}
    keys = sorted(rows.groupby(["dimension", "grp"]).groups, key=lambda k: (order.get(k[0], len(order)), k))
    by_group = rows.groupby(["dimension", "grp"])
    for dimension, grp in keys:
        g = by_group.get_group((dimension, grp))
        per_arm = {}
        for arm in experiment.arms:
            mine = g[g["arm"] == arm.name].sort_values(["seed", "step"])
            if len(mine) != n * steps:
                break
            cols = {c: mine[c].to_numpy(np.float64).reshape(n, steps) for c in CURVES}
            per_arm[arm.name] = modelled(
                outcome_table({**cols, "minutes": np.broadcast_to(minutes, (n, steps))}, experiment.outcomes_from_step),
                arm.model,
            )
        else:
            sizes = g[g["step"] == 0].groupby("seed")["agents"].first()  # a group's size can differ by seed
            out[(str(dimension), int(grp))] = {"agents": int(round(sizes.mean())), "arms": per_arm}
    return out


def _group_effects(experiment: Experiment, groups: dict, a: int, arm: str) -> list[dict]:
    """One arm's paired effect on each outcome in each group, with intervals (empty for the baseline)."""
    base = experiment.baseline.name
    if arm == base:
        return []
    found = []
    for g, ((dimension, grp), body) in enumerate(groups.items()):
        name = group_labels(dimension).get(grp, str(grp))
        for o in experiment.outcomes:
            diff = body["arms"][arm][o] - body["arms"][base][o]
            found.append(
                {
                    "dimension": dimension,
                    "group": grp,
                    "group_name": name,
                    "agents": body["agents"],
                    "outcome": o,
                    **_interval(diff, _rng(experiment, a, 4, g, OUTCOMES.index(o))),
                }
            )
    return found


def summarize(experiment: Experiment, curves: pd.DataFrame, group_curves: pd.DataFrame | None = None) -> dict:
    """The experiment's report: per arm the mean curves, effect curves and summary effects with intervals.

    With ``group_curves``, each arm also has ``effects_by_group``: rows of dimension (category,
    gender, occupation, age_bracket), group, group_name, agents, outcome, mean, ci_low, ci_high, n.
    """
    m = matrices(experiment, curves)
    base = experiment.baseline.name
    models = {arm.name: arm.model for arm in experiment.arms}
    levels = {
        name: modelled(outcome_table(arm, experiment.outcomes_from_step), models[name]) for name, arm in m.items()
    }
    arms = {}
    for a, arm in enumerate(experiment.arms):
        mine, theirs = m[arm.name], m[base]
        arms[arm.name] = {
            "baseline": arm.name == base,
            "changes": list(arm.changes),
            "curves": {c: _bands(mine[c], _rng(experiment, a, 0, q)) for q, c in enumerate(CURVES)},
            "effect_curves": {c: _bands(mine[c] - theirs[c], _rng(experiment, a, 1, q)) for q, c in enumerate(CURVES)},
            "outcomes": {
                o: _interval(levels[arm.name][o], _rng(experiment, a, 2, OUTCOMES.index(o)))
                for o in experiment.outcomes
            },
            "effects": {
                o: _interval(levels[arm.name][o] - levels[base][o], _rng(experiment, a, 3, OUTCOMES.index(o)))
                for o in experiment.outcomes
            },
            "model": arm.model,
            "from_step": arm.from_step,
        }
    groups = group_outcomes(experiment, group_curves, m[base]["minutes"][0]) if group_curves is not None else {}
    for a, arm in enumerate(experiment.arms):
        arms[arm.name]["effects_by_group"] = _group_effects(experiment, groups, a, arm.name)
    one = len(experiment.seeds) < 2
    return {
        "experiment": experiment.name,
        "scenario": experiment.scenario_path,
        "seeds": len(experiment.seeds),
        "first_seed": experiment.seeds[0],
        "steps": experiment.steps,
        "outcomes_from_step": experiment.outcomes_from_step,
        "baseline": base,
        "bands": (
            "none: fewer than 2 seeds, so bands and intervals equal the mean"
            if one
            else f"{CONFIDENCE:.0%} percentile bootstrap of the mean over seeds ({RESAMPLES} resamples); "
            "effects are paired by seed (arm minus baseline)"
        ),
        "minutes": [_num(v) for v in m[base]["minutes"][0]],
        "notes": list(experiment.notes)
        + identical_arms(experiment)
        + _classical_arms(experiment)
        + _few_seeds(experiment),
        "arms": arms,
    }


def identical_arms(experiment: Experiment) -> list[str]:
    """A note for each arm that runs exactly the baseline's scenario and model (its effects are all 0)."""
    base = experiment.baseline
    key = lambda a: (a.scenario, a.model, a.model_p)  # noqa: E731
    return [
        f"arm {a.name!r} runs exactly the baseline's scenario: its effects are 0 by construction"
        for a in experiment.arms[1:]
        if key(a) == key(base)
    ]


def _classical_arms(experiment: Experiment) -> list[str]:
    """What a classical-model arm reports, and the platform it runs on."""
    return [
        f"arm {a.name!r} runs {a.model.replace('_', ' ')}, which models reach only: its emotion and attitude "
        "outcomes are not reported (n/a), and it runs on the platform that model assumes (attention 1, no "
        "recommender, no feed delay), so its effect mixes the model and the platform"
        for a in experiment.arms
        if a.model != "agents"
    ]


def _few_seeds(experiment: Experiment) -> list[str]:
    n = len(experiment.seeds)
    if n < 2 or n >= FEW_SEEDS:
        return []
    return [
        f"only {n} seeds: a bootstrap interval is then about the range of the seeds' own effects and misses the "
        f"true effect more often than 1 time in 20; use {2 * FEW_SEEDS} or more seeds for intervals to rely on"
    ]


def group_effect_rows(report: dict) -> list[tuple]:
    """(arm, dimension, grp, group_name, outcome, mean, ci_low, ci_high, n) rows for the ``group_effects`` table."""
    return [
        (arm, e["dimension"], e["group"], e["group_name"], e["outcome"], e["mean"], e["ci_low"], e["ci_high"], e["n"])
        for arm, body in report["arms"].items()
        for e in body["effects_by_group"]
    ]


def effect_rows(report: dict) -> list[tuple]:
    """(arm, outcome, mean, ci_low, ci_high, n) rows of a report's summary effects, for the ``effects`` table."""
    return [
        (arm, outcome, e["mean"], e["ci_low"], e["ci_high"], e["n"])
        for arm, body in report["arms"].items()
        for outcome, e in body["effects"].items()
    ]
