"""Compiled kernels work on a first run without a cache, and never cache inside the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import s3core

PACKAGE = Path(s3core.__file__).parent

STEP_TWICE = """
from s3core import compiled, scenario as S
from s3core.engine import Simulation
sim = Simulation(S.load("data/scenarios/default.toml"))
sim.run(3)
print(compiled.CACHE_DIR)
"""


def test_a_first_run_compiles_into_a_fresh_cache_outside_the_package(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("the user cache directory cannot be created here")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(XDG_CACHE_HOME=str(not_a_folder), TMPDIR=str(tmp_path))
    before = {p for p in PACKAGE.rglob("*.nbi")}
    done = subprocess.run(
        [sys.executable, "-c", STEP_TWICE], env=env, capture_output=True, text=True, timeout=600, cwd=PACKAGE.parent
    )
    assert done.returncode == 0, done.stderr[-2000:]
    cache = Path(done.stdout.strip().splitlines()[-1])
    assert cache == tmp_path / "s3core-numba"  # the user's cache folder failed, so the temp folder took over
    assert list(cache.rglob("*.nbi")), "kernels were compiled but nothing was cached"
    assert {p for p in PACKAGE.rglob("*.nbi")} == before, "numba wrote its cache inside the package"
