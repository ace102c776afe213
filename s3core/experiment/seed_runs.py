"""One task of an experiment: every arm on one seed, paired on the same network and population.

The first arm of a seed (the baseline) builds the network and population; every other arm runs on
the same ones (common random numbers), so arms differ only by their changes. An arm may branch
from the baseline mid-run: it continues from the baseline's snapshot at its ``from_step``.

A worker process loads the text resources once, and keeps the network it has built for all the
seeds it runs, unless the network is drawn from the seed (a synthetic graph without
``graph_seed``, or an augmented follower graph): then each seed builds its own for its arms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..classical import IndependentCascadePolicy, LinearThresholdPolicy
from ..engine import Simulation
from ..recording import BREAKDOWN_DIMENSIONS
from ..resources import TextResources, load_text_resources
from ..sources import check_authors
from .spec import Arm

GROUP_DIMENSIONS = BREAKDOWN_DIMENSIONS  # demographic groups and S3 user categories


@dataclass(frozen=True)
class ArmRun:
    """The population curves of one arm on one seed (what a worker sends back), overall and per group.

    Curves are indexed by step; group curves are (steps, groups) with the groups listed in
    ``group_dimension``/``group_code``/``group_agents`` (``recording.breakdown``'s order).
    """

    arm: str
    seed: int
    agents: int
    seconds: float
    minutes: np.ndarray
    aware: np.ndarray  # share of all agents aware
    emotion_density: np.ndarray  # share of aware agents at moderate or intense emotion
    positive: np.ndarray  # share of aware agents positive
    group_dimension: tuple[str, ...] = ()
    group_code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    group_agents: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    group_aware: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # share of the group aware
    group_emotion_density: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # of the group's aware
    group_positive: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # of the group's aware

    def until(self, step: int) -> "ArmRun":
        """This run's curves before ``step`` (the shared history a branch continues from)."""
        return replace(
            self,
            minutes=self.minutes[:step],
            aware=self.aware[:step],
            emotion_density=self.emotion_density[:step],
            positive=self.positive[:step],
            group_aware=self.group_aware[:step],
            group_emotion_density=self.group_emotion_density[:step],
            group_positive=self.group_positive[:step],
        )


class _Recorder:
    """Collects one run's overall and per-group curves from its step records."""

    def __init__(self, n_users: int):
        self.n = n_users
        self.rows: list[tuple] = []
        self.groups: list[tuple] = []
        self.keys = None

    def add(self, rec) -> None:
        m, b = rec.metrics, rec.breakdown
        self.rows.append((rec.minutes, m["aware"] / self.n, m["moderate"] + m["intense"], m["positive"]))
        agents = np.asarray(b["agents"], dtype=np.float64)
        intense, mean_emotion = np.asarray(b["intense"]), np.asarray(b["mean_emotion"])
        # emotion levels are 0, 1, 2: mean = moderate + 2 intense, so moderate + intense = mean - intense
        self.groups.append(
            (
                np.asarray(b["aware"]) / np.maximum(agents, 1),
                mean_emotion - intense,
                np.asarray(b["positive"], dtype=np.float64),
            )
        )
        if self.keys is None:
            self.keys = (tuple(b["dimension"]), np.asarray(b["group"], np.int64), np.asarray(b["agents"], np.int64))

    def result(self, arm: str, seed: int, seconds: float, before: "ArmRun | None" = None) -> ArmRun:
        cols = np.array(self.rows, dtype=np.float64).reshape(-1, 4).T
        groups = [np.array([g[q] for g in self.groups]) for q in range(3)]
        run = ArmRun(arm, seed, self.n, seconds, *cols, *self.keys, *groups)
        if before is None:
            return run
        join = {
            name: np.concatenate([getattr(before, name), getattr(run, name)])
            for name in (
                "minutes",
                "aware",
                "emotion_density",
                "positive",
                "group_aware",
                "group_emotion_density",
                "group_positive",
            )
        }
        return replace(run, **join)


def _policy(arm: Arm):
    """The decision policy of an arm: None for the agent model (the engine builds it from the scenario)."""
    if arm.model == "independent_cascade":
        return IndependentCascadePolicy(arm.model_p)
    if arm.model == "linear_threshold":
        return LinearThresholdPolicy()
    return None


def run_seed(arms: tuple[Arm, ...], seed: int, text: TextResources | None = None) -> list[ArmRun]:
    """Run ``arms`` on one seed, every arm on the first arm's network and population.

    An arm with ``from_step = t`` continues from a snapshot of ``arms[0]`` (the baseline) taken
    before step t, with its own changes from then on; its curves before t are the baseline's.
    """
    text = text or _worker_text()
    base = arms[0]
    branch_steps = sorted({a.from_step for a in arms if a.from_step})
    out, first, snapshots, base_run = [], None, {}, None
    for arm in arms:
        started = time.perf_counter()
        scenario = arm.scenario.replace(seed=seed)
        if first is None:
            sim = first = Simulation(scenario, network=_cached_network(scenario), text=text, policy=_policy(arm))
            _keep_network(scenario, sim.network)
        else:
            check_authors(scenario, first.network)
            sim = Simulation(
                scenario, network=first.network, text=text, population=first.population, policy=_policy(arm)
            )
        if arm.from_step:
            sim.restore(snapshots[arm.from_step].arrays)
        recorder = _Recorder(sim.network.n_users)
        for t in range(sim.step_index, scenario.steps):
            if arm is base and t in branch_steps:
                snapshots[t] = sim.snapshot()
            recorder.add(sim.step())
        before = base_run.until(arm.from_step) if arm.from_step else None
        run = recorder.result(arm.name, seed, time.perf_counter() - started, before)
        if arm is base:
            base_run = run
        out.append(run)
    return out


_WORKER: dict = {}  # per worker process: the text resources, loaded once by ``init_worker``
_NETWORKS: dict = {}  # per worker process: networks that do not depend on the seed, by their scenario section


def _network_key(scenario) -> str | None:
    """What a network depends on, if not on the seed; None when it is drawn from the seed's generator."""
    spec = scenario.network
    if spec.source == "synthetic" and spec.graph_seed < 0:
        return None
    if spec.source != "synthetic" and spec.augment_followees > 0:
        return None
    return repr((spec, scenario.base_dir))  # relative paths resolve against the scenario's folder


def _cached_network(scenario):
    """The network this worker already built for ``scenario`` (checked against its seed authors), or None."""
    key = _network_key(scenario)
    if key is None or key not in _NETWORKS:
        return None
    check_authors(scenario, _NETWORKS[key])
    return _NETWORKS[key]


def _keep_network(scenario, network) -> None:
    key = _network_key(scenario)
    if key is not None:
        _NETWORKS.clear()  # one network at a time: a worker runs one experiment
        _NETWORKS[key] = network


def init_worker() -> None:
    """Load the text resources of this worker process, once for all its tasks."""
    _WORKER["text"] = load_text_resources()


def _worker_text() -> TextResources:
    if "text" not in _WORKER:
        init_worker()
    return _WORKER["text"]
