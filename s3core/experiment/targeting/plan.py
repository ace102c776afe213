"""A targeting run: rank candidates on fit seeds, pick greedily, then judge every pick on held-out seeds.

Degree and PageRank rankings and the greedy search use only the fit seeds; the choices are then
arms of one paired experiment (``runner.run_experiment``) on other seeds, so the greedy choice's
effect is not inflated by having been selected on the same draws it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ...resources import TextResources
from ...runner import write_progress
from ...scenario import MAX_SEED, Scenario
from .. import runner
from ..spec import OUTCOMES, Arm, Experiment
from . import ranking
from .budget import Budget, TargetingError, base_scenario, describe, seed_post, targeted
from .greedy import SimulatedObjective, celf

STRATEGIES = ("degree", "pagerank", "greedy")


@dataclass(frozen=True)
class Request:
    """What to target and how to judge it; seeds run from the scenario's seed: fit seeds first, then held-out."""

    budget: Budget
    objective: str = "final_reach"
    maximize: bool = True
    candidates: int = 10
    fit_seeds: int = 3
    seeds: int = 10
    steps: int = 60
    workers: int = 1

    def seed_lists(self, first: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        fit = tuple(range(first, first + self.fit_seeds))
        return fit, tuple(range(fit[-1] + 1, fit[-1] + 1 + self.seeds))


def check(scenario: Scenario, request: Request) -> None:
    """Refuse a request before anything runs; errors name the option."""
    if request.objective not in OUTCOMES:
        raise TargetingError(f"--objective {request.objective!r}: must be one of {', '.join(OUTCOMES)}")
    for option, value, low in (
        ("--candidates", request.candidates, 1),
        ("--fit-seeds", request.fit_seeds, 1),
        ("--seeds", request.seeds, 2),
    ):
        if value < low:
            raise TargetingError(f"{option} {value}: expected {low} or more")
    if request.budget.k > request.candidates:
        raise TargetingError(
            f"--k {request.budget.k} is more than --candidates {request.candidates}: greedy picks among "
            f"the top {request.candidates} {request.budget.noun} by degree and by PageRank; raise "
            f"--candidates to {request.budget.k} or more"
        )
    if scenario.seed + request.fit_seeds + request.seeds - 1 > MAX_SEED:
        raise TargetingError(
            f"{scenario.origin}: seed = {scenario.seed}: the fit and held-out seeds would pass {MAX_SEED}"
        )
    if scenario.run.backend != "heuristic":
        raise TargetingError(
            f"{scenario.origin}: run.backend = {scenario.run.backend!r}; targeting runs the offline "
            "heuristic policy only"
        )


def greedy_progress(simulations: int, chosen: int, k: int) -> None:
    """``targeting: greedy simulations N, chosen j/k`` on stderr."""
    write_progress(f"targeting: greedy simulations {simulations}, chosen {chosen}/{k}", chosen, k)


def fit(
    scenario: Scenario,
    request: Request,
    text: TextResources,
    progress: Callable[[int, int, int], None] | None = greedy_progress,
) -> dict:
    """Rankings and the greedy (CELF) choice on the fit seeds; the greedy search's cost in simulations."""
    budget = request.budget
    post = seed_post(scenario, budget.post)
    base = base_scenario(scenario, budget, request.steps)
    fit_seeds, _ = request.seed_lists(scenario.seed)
    objective = SimulatedObjective(base, budget, post, fit_seeds, request.objective, text)
    ids = objective.user_ids()
    if request.candidates > len(ids):
        raise TargetingError(f"--candidates {request.candidates} exceeds the network's {len(ids)} users")
    by_degree = ranking.order(ranking.mean_scores(objective.networks, ranking.degree))
    by_pagerank = ranking.order(ranking.mean_scores(objective.networks, ranking.pagerank))
    pool = ranking.candidate_pool(by_degree, by_pagerank, request.candidates)
    report = (lambda evaluations, chosen: progress(objective.simulations, chosen, budget.k)) if progress else None
    result = celf([str(ids[i]) for i in pool], objective, budget.k, request.maximize, on_evaluation=report)
    if progress:
        progress(objective.simulations, budget.k, budget.k)
    n_pool, k, f = len(pool), budget.k, request.fit_seeds
    return {
        "choices": {
            "degree": [str(ids[i]) for i in by_degree[:k]],
            "pagerank": [str(ids[i]) for i in by_pagerank[:k]],
            "greedy": list(result.chosen),
        },
        "pool": [str(ids[i]) for i in pool],
        "greedy": {
            "simulations": objective.simulations,
            "evaluations": result.evaluations,
            "plain_greedy_simulations": f * (1 + sum(n_pool - j for j in range(k))),
            "fit_value_empty": result.empty_value,
            "fit_values": list(result.values),
        },
        "base": base,
        "post": post,
    }


def evaluation(scenario: Scenario, scenario_path: str, request: Request, fitted: dict) -> Experiment:
    """The paired experiment that judges each strategy's choice against the baseline on the held-out seeds.

    Each strategy's arm branches from the baseline at the budget's step (they are the same before
    it), and peaks and troughs are looked for from that step on, as the greedy objective does.
    """
    budget, base = request.budget, fitted["base"]
    _, held_out = request.seed_lists(scenario.seed)
    arms = [
        Arm(
            "baseline",
            base,
            ("the scenario without the targeted " + ("post" if budget.kind == "accounts" else "boost"),),
        )
    ]
    for name in STRATEGIES:
        users = fitted["choices"][name]
        arms.append(
            Arm(name, targeted(base, budget, fitted["post"], users), (describe(budget, users),), from_step=budget.step)
        )
    return Experiment(
        name=f"target-{budget.post}-{budget.kind}",
        description=f"targeting {budget.post!r} ({budget.kind}, k = {budget.k})",
        scenario_path=scenario_path,
        seeds=held_out,
        steps=request.steps,
        outcomes=OUTCOMES,
        arms=tuple(arms),
        origin=scenario_path,
        outcomes_from_step=budget.step,
    )


def run(
    scenario: Scenario,
    scenario_path: str,
    request: Request,
    out_dir: str | Path,
    text: TextResources,
    quiet: bool = False,
    resume: bool = False,
    force: bool = False,
    on_replace: Callable[[str], None] | None = None,
) -> dict:
    """Fit on the fit seeds, judge on the held-out seeds, and return the report (also the arms' experiment report)."""
    check(scenario, request)
    fitted = fit(scenario, request, text, progress=None if quiet else greedy_progress)
    experiment = evaluation(scenario, scenario_path, request, fitted)
    report = runner.run_experiment(
        experiment,
        out_dir,
        workers=request.workers,
        resume=resume,
        force=force,
        progress=None if quiet else runner.stderr_progress,
        text=text,
        on_replace=on_replace,
    )
    fit_seeds, held_out = request.seed_lists(scenario.seed)
    budget = request.budget
    arms = report["arms"]
    return {
        "scenario": scenario_path,
        "post": budget.post,
        "budget": {"kind": budget.kind, "k": budget.k, "step": budget.step},
        "objective": request.objective,
        "direction": "maximize" if request.maximize else "minimize",
        "steps": request.steps,
        "outcomes_from_step": budget.step,
        "fit_seeds": list(fit_seeds),
        "seeds": list(held_out),
        "note": (
            f"degree and PageRank are averaged over the fit seeds' networks and greedy is fitted on seeds "
            f"{fit_seeds[0]}-{fit_seeds[-1]}; every choice is judged on held-out seeds {held_out[0]}-{held_out[-1]}, "
            "so greedy's effect is not inflated by selection"
        ),
        "candidates": {"per_ranking": request.candidates, "pool": fitted["pool"]},
        "greedy": fitted["greedy"],
        "baseline": {
            "changes": list(experiment.baseline.changes),
            "outcomes": _intervals(arms["baseline"]["outcomes"]),
        },
        "strategies": {
            name: {
                "targets": fitted["choices"][name],
                "outcomes": _intervals(arms[name]["outcomes"]),
                "effects": _intervals(arms[name]["effects"]),
            }
            for name in STRATEGIES
        },
        "experiment_file": str(Path(out_dir) / runner.FILE_NAME),
    }


def _intervals(table: dict) -> dict:
    return {
        o: {k: _plain(v) for k, v in e.items() if k in ("mean", "ci_low", "ci_high", "n")} for o, e in table.items()
    }


def _plain(x):
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(x)
    return x
