"""Per-step bookkeeping proportional to what changed: a journal of touched agents and running tallies.

A step's records (which agents changed, the population metrics, the demographic breakdown) can
be computed by scanning every agent (``recording``'s reference path) or, as here, from the
agents the step touched: before the engine changes an agent's awareness, emotion or attitude it
notes the agent in the ``StepJournal``, which keeps the agent's values from the start of the
step; the ``PopulationTally`` then moves those agents' counts from their old cells to their new
ones. Both paths give identical records (``tests/test_kernel_identity.py``).
"""

from __future__ import annotations

import numpy as np

from .state import AgentState


class StepJournal:
    """The agents touched during one step, with their awareness, emotion and attitude before it."""

    def __init__(self, n: int):
        self._stamp = np.full(n, -1, np.int64)
        self._step = -1
        self._agents: list[np.ndarray] = []
        self._before: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def begin(self, step: int) -> None:
        self._step = step
        self._agents, self._before = [], []

    def note(self, state: AgentState, agents: np.ndarray) -> None:
        """Call before changing ``agents``' state: keeps the values of those not noted yet this step."""
        agents = np.asarray(agents, np.int64)
        first = agents[self._stamp[agents] != self._step]
        if len(first) == 0:
            return
        first = sorted_unique(first)
        self._stamp[first] = self._step
        self._agents.append(first)
        self._before.append((state.aware[first], state.emotion[first], state.attitude[first]))

    def touched(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Touched agents in ascending order (int64) and their aware, emotion and attitude before the step."""
        if not self._agents:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0, bool), np.zeros(0, np.int8), np.zeros(0, np.int8)
        agents = np.concatenate(self._agents)
        order = np.argsort(agents, kind="stable")
        columns = [np.concatenate([b[k] for b in self._before])[order] for k in range(3)]
        return agents[order], *columns


class PopulationTally:
    """Counts over aware agents, overall and per joint demographic cell, kept up to date by ``move``.

    Per cell (``Population.groups``' joint cells): aware agents, positive ones, intense ones and
    the sum of emotion levels; overall: aware agents, agents per emotion level, positive agents.
    """

    def __init__(self, cell: np.ndarray, cells: int, state: AgentState):
        self._cell = cell
        self._cells = cells
        aware = np.flatnonzero(state.aware)
        self.aware = np.zeros(cells, np.int64)
        self.positive = np.zeros(cells, np.int64)
        self.intense = np.zeros(cells, np.int64)
        self.emotion_sum = np.zeros(cells, np.int64)
        self.levels = np.zeros(3, np.int64)
        self._add(aware, state.emotion[aware], state.attitude[aware], 1)

    def _add(self, agents: np.ndarray, emotion: np.ndarray, attitude: np.ndarray, sign: int) -> None:
        cell, n = self._cell[agents], self._cells
        self.aware += sign * np.bincount(cell, minlength=n)
        self.positive += sign * np.bincount(cell[attitude == 1], minlength=n)
        self.intense += sign * np.bincount(cell[emotion == 2], minlength=n)
        self.emotion_sum += sign * np.bincount(cell, weights=emotion, minlength=n).astype(np.int64)
        self.levels += sign * np.bincount(emotion, minlength=3)[:3]

    def move(self, agents, aware_before, emotion_before, attitude_before, state: AgentState) -> None:
        """Take ``agents`` out with their values before the step, and back in with their current values."""
        was = aware_before
        self._add(agents[was], emotion_before[was], attitude_before[was], -1)
        now = state.aware[agents]
        self._add(agents[now], state.emotion[agents][now], state.attitude[agents][now], 1)

    def metrics(self) -> dict:
        """``recording.population_metrics`` from the tallies."""
        n_aware = int(self.aware.sum())
        denom = max(n_aware, 1)
        return {
            "aware": n_aware,
            "calm": float(self.levels[0] / denom),
            "moderate": float(self.levels[1] / denom),
            "intense": float(self.levels[2] / denom),
            "positive": float(self.positive.sum() / denom) if n_aware else 0.0,
        }

    def per_cell(self) -> dict[str, np.ndarray]:
        """Per joint cell, as ``recording.cell_counts`` gives them (float64)."""
        return {
            "aware": self.aware.astype(np.float64),
            "positive": self.positive.astype(np.float64),
            "intense": self.intense.astype(np.float64),
            "emotion": self.emotion_sum.astype(np.float64),
        }


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values in ascending order (``np.unique`` by a plain sort, which is faster for int arrays)."""
    if len(values) > 1 and (values[1:] > values[:-1]).all():
        return values
    ordered = np.sort(values)
    return ordered[run_starts(ordered)]


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in a sorted array (int64 positions; none for an empty array)."""
    if len(ordered) == 0:
        return np.zeros(0, np.int64)
    first = np.empty(len(ordered), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return np.flatnonzero(first)


def excited_agents(state: AgentState) -> np.ndarray:
    """Aware agents above calm (ascending int64): those whose emotion can decay."""
    return np.flatnonzero(state.aware & (state.emotion > 0))


def members(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each entry of ``sorted_set``, whether it is in ``values`` (ascending, unique)."""
    if len(values) == 0:
        return np.zeros(len(sorted_set), bool)
    at = np.minimum(np.searchsorted(values, sorted_set), len(values) - 1)
    return values[at] == sorted_set


def padded(counts: np.ndarray, size: int) -> np.ndarray:
    """``counts`` grown with zeros to at least ``size`` entries (doubling, so growth is amortized)."""
    if len(counts) >= size:
        return counts
    return np.concatenate([counts, np.zeros(max(size, 2 * len(counts)) - len(counts), counts.dtype)])


def add_counts(counts: np.ndarray, index: np.ndarray) -> None:
    """``counts[i] += 1`` for every occurrence of i in ``index`` (``np.add.at`` by a sort, several times faster)."""
    if len(index) == 0:
        return
    ordered = np.sort(index)
    starts = run_starts(ordered)
    counts[ordered[starts]] += np.diff(starts, append=len(ordered)).astype(counts.dtype)
