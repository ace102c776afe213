"""One task of an experiment: every arm on one seed, paired on the same network and population.

The first arm of a seed builds the network and population; every other arm runs on the same ones
(common random numbers), so arms differ only by their changes. A worker process loads the text
resources once, and keeps the networks it has built, for all the seeds it runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..engine import Simulation
from ..resources import TextResources, load_text_resources
from .spec import Arm

@dataclass(frozen=True)
class ArmRun:
    """The population curves of one arm on one seed (what a worker sends back)."""

    arm: str
    seed: int
    agents: int
    seconds: float
    minutes: np.ndarray
    aware: np.ndarray            # share of all agents aware
    emotion_density: np.ndarray  # share of aware agents at moderate or intense emotion
    positive: np.ndarray         # share of aware agents positive


def run_seed(arms: tuple[Arm, ...], seed: int, text: TextResources | None = None) -> list[ArmRun]:
    """Run ``arms`` on one seed, every arm on the first arm's network and population."""
    text = text or _worker_text()
    out, first = [], None
    for arm in arms:
        started = time.perf_counter()
        scenario = arm.scenario.replace(seed=seed)
        if first is None:
            sim = first = Simulation(scenario, text=text)
        else:
            sim = Simulation(scenario, network=first.network, text=text, population=first.population)
        n = sim.network.n_users
        rows = []
        for _ in range(scenario.steps):
            rec = sim.step()
            m = rec.metrics
            rows.append((rec.minutes, m["aware"] / n, m["moderate"] + m["intense"], m["positive"]))
        cols = np.array(rows, dtype=np.float64).reshape(-1, 4).T
        out.append(ArmRun(arm.name, seed, n, time.perf_counter() - started, *cols))
    return out


_WORKER: dict = {}  # per worker process: the text resources, loaded once by ``init_worker``


def init_worker() -> None:
    """Load the text resources of this worker process, once for all its tasks."""
    _WORKER["text"] = load_text_resources()


def _worker_text() -> TextResources:
    if "text" not in _WORKER:
        init_worker()
    return _WORKER["text"]


