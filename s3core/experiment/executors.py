"""Where an experiment's seeds run: in this process, in local worker processes, or on Ray.

Each backend takes the same tasks, ``(arms, seed)`` pairs, and yields each task's list of
``ArmRun`` as it finishes, in any order; the parent process alone writes them to the file.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Iterator

from ..resources import TextResources
from .seed_runs import ArmRun, init_worker, run_seed
from .spec import Arm

BACKENDS = ("local", "ray")
Task = tuple[tuple[Arm, ...], int]


def check_backend(backend: str) -> None:
    """Raise now, before any file is touched, if ``backend`` cannot run here.

    Raises:
        ValueError: an unknown backend, or Ray asked for and not installed (``RayUnavailable``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "ray":
        from .ray_backend import require_ray

        require_ray()


def _init_pool_worker() -> None:
    """A local worker: one thread for numeric libraries (N workers on N cores, not N x cores threads)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    init_worker()


@contextmanager
def task_results(
    tasks: list[Task], workers: int = 1, backend: str = "local", text: TextResources | None = None
) -> Iterator[Iterator[list[ArmRun]]]:
    """Start ``tasks`` and give an iterator over their results, as they finish.

    ``local`` with one worker (or one task) runs them one by one in this process, with ``text``
    if given; otherwise ``workers`` processes each load the text resources once. The workers
    are started on entry, before the caller opens its output file, and stopped on exit, with
    the tasks not yet started cancelled.

    Raises:
        ValueError: an unknown backend.
    """
    check_backend(backend)
    if backend == "ray":
        from .ray_backend import ray_task_results

        with ray_task_results(tasks, workers) as results:
            yield results
        return
    if workers <= 1 or len(tasks) <= 1:
        yield (run_seed(arms, seed, text) for arms, seed in tasks)
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_pool_worker)
    try:
        futures = [pool.submit(run_seed, arms, seed) for arms, seed in tasks]
        yield (f.result() for f in as_completed(futures))
    finally:
        pool.shutdown(cancel_futures=True)
