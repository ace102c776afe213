"""The compiled kernels and the numpy reference give identical runs, record for record."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from s3core import compiled
from s3core import scenario as S
from s3core.engine import Simulation

# The second scenario runs without the fitted quote model, so both branches of the policy are compared.
SCENARIOS = (("data/scenarios/default.toml", True), ("data/scenarios/emotion_gender.toml", False))
STEPS = 50


def _run(path: str, quote_model: bool, kernels: str) -> tuple[list, dict]:
    scenario = S.load(path)
    if not quote_model:
        scenario = scenario.replace(policy=replace(scenario.policy, quote_model=""))
    with compiled.use_kernels(kernels):
        sim = Simulation(scenario)
        records = sim.run(STEPS)
        return records, sim.state_arrays()


def _assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    else:
        assert a == b, where


@pytest.mark.parametrize("path, quote_model", SCENARIOS)
def test_compiled_kernels_reproduce_the_numpy_reference_for_50_steps(path, quote_model):
    reference, reference_state = _run(path, quote_model, "numpy")
    fast, fast_state = _run(path, quote_model, "numba")
    assert sum(r.metrics["exposed"] for r in reference) > 1000, "the scenario must exercise the kernels"
    for ref, got in zip(reference, fast, strict=True):
        for field in ("metrics", "changes", "posts", "breakdown", "exposure_sources"):
            _assert_same(getattr(ref, field), getattr(got, field), f"{path} step {ref.step} {field}")
    _assert_same(reference_state, fast_state, f"{path} final state")


def test_an_unknown_kernel_choice_is_refused():
    with pytest.raises(ValueError, match="choose one of numba, numpy"):
        with compiled.use_kernels("cuda"):
            pass
