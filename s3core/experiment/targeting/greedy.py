"""Greedy choice of targets on a simulated outcome, plain or with CELF's lazy evaluation.

CELF (Leskovec et al. 2007, "Cost-effective outbreak detection in networks") keeps each
candidate's last marginal gain as an upper bound and re-evaluates only the candidate on top of
the queue: when the gain is submodular it picks what plain greedy picks with far fewer
evaluations. The objective here is the mean outcome over a few fit seeds, every set run from the
same per-seed snapshot with the same keyed draws (common random numbers), so it is a deterministic
function of the set and differences between sets come from the sets alone.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np

from ...engine import Simulation, Snapshot
from ...resources import TextResources
from ...scenario import Scenario
from ..effects import outcomes
from .budget import Budget, targeted

Objective = Callable[[tuple], float]


@dataclass(frozen=True)
class GreedyResult:
    """The picks in order, the objective after each pick and with none, and the sets evaluated."""

    chosen: tuple
    values: tuple[float, ...]
    empty_value: float
    evaluations: int


class _Counted:
    """An objective that counts its calls; values are compared as ``sign * value``, NaN as the worst."""

    def __init__(self, objective: Objective, maximize: bool):
        self.objective, self.sign, self.calls = objective, 1.0 if maximize else -1.0, 0

    def __call__(self, chosen: tuple) -> tuple[float, float]:
        self.calls += 1
        value = float(self.objective(chosen))
        return value, (-np.inf if np.isnan(value) else self.sign * value)


def plain_greedy(candidates: Sequence[Hashable], objective: Objective, k: int, maximize: bool = True) -> GreedyResult:
    """Add, k times, the candidate with the best objective; ties go to the earlier candidate."""
    f = _Counted(objective, maximize)
    empty, _ = f(())
    chosen: list = []
    values = []
    for _ in range(k):
        best = None
        for c in candidates:
            if c in chosen:
                continue
            value, score = f(tuple(chosen) + (c,))
            if best is None or score > best[0]:
                best = (score, value, c)
        chosen.append(best[2])
        values.append(best[1])
    return GreedyResult(tuple(chosen), tuple(values), empty, f.calls)


def celf(
    candidates: Sequence[Hashable],
    objective: Objective,
    k: int,
    maximize: bool = True,
    on_evaluation: Callable[[int, int], None] | None = None,
) -> GreedyResult:
    """Greedy with lazy evaluation: re-evaluate only the candidate whose stale gain tops the queue.

    ``on_evaluation(evaluations, picked)`` is called after every objective evaluation.
    """
    f = _Counted(objective, maximize)
    chosen: list = []

    def evaluate(items: tuple) -> tuple[float, float]:
        result = f(items)
        if on_evaluation:
            on_evaluation(f.calls, len(chosen))
        return result

    empty, current = evaluate(())
    queue = []
    for i, c in enumerate(candidates):
        value, score = evaluate((c,))
        queue.append(
            (_loss(current, score), i, 0, value, score, c)
        )  # (negated gain, tie-break, round of the gain, ...)
    heapq.heapify(queue)
    values = []
    while len(chosen) < k and queue:
        _, i, round_, value, score, c = heapq.heappop(queue)
        if round_ == len(chosen):  # its gain is fresh, so no stale bound can beat it
            chosen.append(c)
            values.append(value)
            current = score
            continue
        value, score = evaluate(tuple(chosen) + (c,))
        heapq.heappush(queue, (_loss(current, score), i, len(chosen), value, score, c))
    return GreedyResult(tuple(chosen), tuple(values), empty, f.calls)


def _loss(current: float, score: float) -> float:
    """The negated gain of moving from ``current`` to ``score`` (a heap pops the smallest); NaN is the worst."""
    loss = current - score
    return np.inf if np.isnan(loss) else loss


class SimulatedObjective:
    """The mean over fit seeds of one outcome of the run with a target set (peaks and troughs from the budget's step).

    Each fit seed's baseline is built once and run up to the budget's step; every set then
    continues from that snapshot (``Simulation.branch``) with the same network, population and
    keyed draws, which gives exactly the run from step 0 (the steps before are the same) at a
    fraction of the cost.
    """

    def __init__(
        self, base: Scenario, budget: Budget, post, fit_seeds: Sequence[int], outcome: str, text: TextResources
    ):
        self.base, self.budget, self.post, self.outcome = base, budget, post, outcome
        self.simulations = 0
        self.starts: list[tuple[Simulation, Snapshot, list]] = []
        for seed in fit_seeds:
            sim = Simulation(base.replace(seed=seed), text=text)
            rows = [_row(sim, sim.step()) for _ in range(budget.step)]
            self.starts.append((sim, sim.snapshot(), rows))

    @property
    def networks(self):
        """The fit seeds' networks (the follower graph may be partly synthesized per seed)."""
        return [sim.network for sim, _, _ in self.starts]

    def user_ids(self) -> np.ndarray:
        return self.starts[0][0].network.user_ids.astype(str)

    def __call__(self, users: tuple[str, ...]) -> float:
        interventions = targeted(self.base, self.budget, self.post, users).interventions
        values = []
        for sim, snapshot, before in self.starts:
            run = sim.branch(snapshot, interventions=interventions)
            run.adopt_text_neighbours(sim)
            rows = before + [_row(run, run.step()) for _ in range(run.step_index, self.base.steps)]
            sim.adopt_text_neighbours(run)  # the baseline run keeps every branch's lookups for the next
            values.append(outcomes(*np.array(rows, dtype=np.float64).T, from_step=self.budget.step)[self.outcome])
            self.simulations += 1
        values = np.asarray(values)
        return float(np.nan if np.isnan(values).all() else np.nanmean(values))


def _row(sim: Simulation, record) -> tuple[float, float, float, float]:
    """One step of the curves experiments record: minutes, aware share, emotion density, positive share."""
    m = record.metrics
    return record.minutes, m["aware"] / sim.network.n_users, m["moderate"] + m["intense"], m["positive"]
