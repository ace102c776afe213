"""Which kernels a step runs (numba-compiled or the numpy reference), and where numba caches them.

The hot per-step kernels (memory-pool insertion, stance share, receiver grouping, followee
fan-out, the heuristic policy) exist twice: a numpy version, which is the reference, and a
numba version compiled from it. Both give bit-identical results (``tests/test_kernel_identity.py``
runs whole scenarios both ways and compares every record). ``S3CORE_KERNELS=numpy`` in the
environment, or ``use_kernels("numpy")``, selects the reference; the default is numba.

Compiled kernels are cached in the user's cache directory (``platformdirs``), never inside the
installed package; ``NUMBA_CACHE_DIR`` overrides it. When no cache directory is writable, the
kernels compile in memory on each process's first use (about 3 s) and run all the same.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

KERNEL_CHOICES = ("numba", "numpy")


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _configure_cache() -> None:
    """Point numba's on-disk cache at the user's cache directory, before numba is imported."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    import platformdirs

    for folder in (Path(platformdirs.user_cache_dir("s3core")) / "numba", Path(tempfile.gettempdir()) / "s3core-numba"):
        if _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = str(folder)
            return


_configure_cache()

import numba  # noqa: E402  (after the cache directory is chosen)

CACHE_DIR = numba.config.CACHE_DIR
CACHING = bool(CACHE_DIR)


def jit(*args, **kwargs):
    """``numba.njit`` with the project's defaults: cached on disk when a cache directory is writable, no GIL,
    and numpy's floating-point error model (a division by zero gives inf or NaN as in numpy, not an exception)."""
    kwargs.setdefault("cache", CACHING)
    kwargs.setdefault("nogil", True)
    kwargs.setdefault("error_model", "numpy")  # IEEE results, no zero-division checks; callers guard divisors
    return numba.njit(*args, **kwargs)


_selected = os.environ.get("S3CORE_KERNELS", "numba")
# A wrong S3CORE_KERNELS is reported when a step first asks, and by the command line before it starts.
ENVIRONMENT_ERROR = (
    None
    if _selected in KERNEL_CHOICES
    else f"S3CORE_KERNELS = {_selected!r}: choose one of {', '.join(KERNEL_CHOICES)} (or leave it unset for numba)"
)


def compiled() -> bool:
    """True when steps run the numba kernels, False for the numpy reference.

    Raises:
        ValueError: ``S3CORE_KERNELS`` names neither.
    """
    if _selected not in KERNEL_CHOICES:
        raise ValueError(ENVIRONMENT_ERROR)
    return _selected == "numba"


@contextmanager
def use_kernels(name: str):
    """Run the enclosed code with the named kernels (``"numba"`` or ``"numpy"``), then restore the choice."""
    global _selected
    if name not in KERNEL_CHOICES:
        raise ValueError(f"kernels {name!r}: choose one of {', '.join(KERNEL_CHOICES)}")
    before, _selected = _selected, name
    try:
        yield
    finally:
        _selected = before
