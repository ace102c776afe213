"""Run the simulated side of validation over many cascades, in worker processes.

Each task is a pure function of (model, cascade id, source text, N), so results do not depend
on the number of workers or their order.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from .baselines import ic_steps, independent_cascade
from .simulate import Setup, free_run, free_run_world, replay, replay_network
from .trees import CascadeTree


@dataclass(frozen=True)
class Task:
    """One evaluated cascade: what the simulated side may know of it."""

    cascade_id: str
    text: str
    n_users: int  # participants within the evaluation window


@dataclass(frozen=True)
class Simulated:
    """The simulated side of one cascade: replay, the independent-cascade baseline and a free run."""

    cascade_id: str
    replay: CascadeTree
    ic: CascadeTree
    free: CascadeTree


_WORKER: dict = {}


def _init(setup: Setup, ic_probability: float, free_runs: bool, policies=None) -> None:
    from ..resources import load_text_resources

    text = load_text_resources(follow_event=False)  # the representation the figures were measured on
    world = free_run_world(setup, text) if free_runs else None
    _WORKER.update(setup=setup, p=ic_probability, text=text, world=world, policies=policies)


def _simulate(task: Task) -> Simulated:
    setup, text = _WORKER["setup"], _WORKER["text"]
    network, author = replay_network(setup, task.cascade_id, task.n_users)
    policies = _WORKER.get("policies")
    policy = policies(task.cascade_id) if policies is not None else None
    replayed = replay(setup, task.cascade_id, task.text, task.n_users, text, network=(network, author), policy=policy)
    ic = independent_cascade(
        network,
        author,
        _WORKER["p"],
        ic_steps(setup.minutes_per_step),
        setup.minutes_per_step,
        setup.seed,
        task.cascade_id,
    )
    world = _WORKER["world"]
    free = free_run(setup, world, task.cascade_id, task.text, text) if world is not None else replayed
    return Simulated(task.cascade_id, replayed, ic, free)


def simulate_all(
    setup: Setup,
    tasks: list[Task],
    ic_probability: float,
    workers: int = 1,
    free_runs: bool = True,
    progress: Callable[[int, int], None] | None = None,
    policies: Callable[[str], object] | None = None,
) -> list[Simulated]:
    """Simulate every task; ``workers`` > 1 uses that many processes. Results keep the task order.

    ``policies(cascade_id)`` gives the decision policy of one replay (None: the heuristic everywhere);
    it runs in this process only, so it needs ``workers`` = 1 (ValueError otherwise). Free runs and the
    independent cascade never use it.
    """
    results: list[Simulated] = []
    if policies is not None and workers > 1:
        raise ValueError("a replay policy (the llm backend) runs in one process: use workers = 1")
    if workers <= 1:
        _init(setup, ic_probability, free_runs, policies)
        stream: Iterable[Simulated] = map(_simulate, tasks)
        for result in stream:
            results.append(result)
            if progress:
                progress(len(results), len(tasks))
        return results
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init, initargs=(setup, ic_probability, free_runs)
    ) as pool:
        for result in pool.map(_simulate, tasks, chunksize=1):
            results.append(result)
            if progress:
                progress(len(results), len(tasks))
    return results
