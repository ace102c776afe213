"""Decision backends read the run through a read-only view."""

from __future__ import annotations

import numpy as np
import pytest

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.policy import HeuristicPolicy


class Tamperer:
    """A backend that tries to change the run it is shown, then decides like the heuristic."""

    def __init__(self, inner):
        self.inner, self.errors, self.seen = inner, [], 0

    def decide(self, batch, draws):
        view = batch.context
        self.seen += len(view.posts)
        for attempt in (
            lambda: view.posts.author.__setitem__(0, 7),
            lambda: view.state.aware.__setitem__(0, True),
            lambda: view.state.mem_post.__setitem__((0, 0), 3),
        ):
            try:
                attempt()
            except ValueError as exc:
                self.errors.append(str(exc))
        with pytest.raises(AttributeError, match="not readable here"):
            view.state.mem_static  # noqa: B018 (not part of the view)
        return self.inner.decide(batch, draws)


def test_a_backend_can_read_the_run_but_not_change_it():
    scenario = S.load("data/scenarios/default.toml").replace(steps=4)
    policy = Tamperer(HeuristicPolicy(scenario.emotion, scenario.attitude, scenario.policy))
    sim = Simulation(scenario, policy=policy)
    reference = Simulation(scenario)
    for _ in range(4):
        got, want = sim.step(), reference.step()
        assert got.metrics == want.metrics
    assert policy.seen > 0
    assert len(policy.errors) == 3 * 4 and all("read-only" in e for e in policy.errors)
    np.testing.assert_array_equal(sim.posts.author, reference.posts.author)
