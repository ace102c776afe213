"""The Ray backend of ``executors.task_results``: an experiment's seeds on Ray actors, one per worker.

Ray is imported here only, and this module only when ``--backend ray`` is asked for, so a
machine without Ray runs every other backend. Each actor loads the text resources once in its
constructor; Ray's ``ActorPool`` hands it seeds and gives results back as they finish.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .seed_runs import ArmRun

INSTALL = "--backend ray needs Ray: pip install -r requirements-ray.txt"
REPO_ROOT = Path(__file__).resolve().parents[2]  # the folder holding s3core/ and data/


class RayUnavailable(ValueError):
    """Ray is not installed, or the cluster at ``RAY_ADDRESS`` cannot be joined.

    A ``ValueError``, as the CLI's other bad choices are, so ``python -m s3core`` prints it as one
    line and exits 2.
    """


@contextmanager
def ray_task_results(tasks: list, workers: int) -> Iterator[Iterator[list[ArmRun]]]:
    """Run ``tasks``, ``(arms, seed)`` pairs, on ``workers`` Ray actors; yield their results as they finish.

    Joins the cluster at ``RAY_ADDRESS`` if it is set, else starts a new local Ray with ``workers``
    CPUs and no dashboard (never joining one that ``ray start`` left running); reuses Ray if this
    process has already started it. Each result is the
    task's list of ``ArmRun`` (one per arm), in the order tasks finish. On exit the actors are
    killed, so unstarted tasks never run, and Ray is shut down if this call started it.

    Raises:
        RayUnavailable: Ray is not installed, or ``RAY_ADDRESS`` names a cluster that cannot be joined.
    """
    ray = require_ray()
    from ray.util import ActorPool

    if not tasks:
        yield iter(())
        return
    started = _connect(ray, workers)
    actors = []
    try:
        runner = ray.remote(num_cpus=1)(_SeedRunner)
        actors = [runner.remote() for _ in range(min(workers, len(tasks)))]
        pool = ActorPool(actors)
        for task in tasks:
            pool.submit(lambda actor, t: actor.run.remote(*t), task)
        yield (pool.get_next_unordered() for _ in tasks)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


def require_ray():
    """The ``ray`` module.

    Raises:
        RayUnavailable: Ray is not installed (the message says how to install it).
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(INSTALL) from exc
    return ray


def _connect(ray, workers: int) -> bool:
    """Connect this process to Ray unless it already is; True when this call did so.

    Ray that this process had already started is used as it is: its workers must find s3core
    (started from the repository root, or with this checkout on their path).
    """
    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS")
    # "local": a new Ray, never one that `ray start` recorded on this machine; a cluster's CPUs are its own
    options = {"address": address} if address else {"address": "local", "num_cpus": workers}
    # code_search_path: every worker imports s3core from this checkout (no upload, no runtime_env to build)
    job = ray.job_config.JobConfig(code_search_path=[str(REPO_ROOT)])
    try:
        ray.init(job_config=job, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, **options)
    except ConnectionError as exc:
        raise RayUnavailable(f"--backend ray cannot join the Ray cluster at RAY_ADDRESS={address}: {exc}") from exc
    return True


class _SeedRunner:
    """One Ray worker: the text resources loaded once, then any number of seeds."""

    def __init__(self) -> None:
        from . import seed_runs

        seed_runs.init_worker()
        self._run_seed = seed_runs.run_seed

    def run(self, arms, seed: int) -> list[ArmRun]:
        return self._run_seed(arms, seed)
