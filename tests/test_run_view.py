"""Decision backends read the run through a read-only view."""

from __future__ import annotations

import numpy as np
import pytest

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.policy import Decisions, HeuristicPolicy


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


class Returns:
    """A backend that returns what it is given to return, for each batch."""

    def __init__(self, make):
        self.make = make

    def decide(self, batch, draws):
        n = len(batch)
        return self.make(n, batch)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda n, b: None, "Returns.decide returned NoneType, not s3core.policy.Decisions"),
        (lambda n, b: Decisions(b.emotion, b.attitude, np.full(n, 7, np.int8)), "action = 7; codes are 0 to 3"),
        (lambda n, b: Decisions(np.full(n, 9, np.int8), b.attitude, np.zeros(n, np.int8)), "emotion = 9"),
        (lambda n, b: Decisions(b.emotion[:-1], b.attitude, np.zeros(n, np.int8)), "emotion has shape"),
        (lambda n, b: Decisions(b.emotion, b.attitude, np.zeros(n)), "action must hold integer codes"),
    ],
)
def test_invalid_decisions_are_refused_naming_the_backend_before_the_run_changes(make, message):
    scenario = S.load("data/scenarios/default.toml").replace(steps=3)
    sim = Simulation(scenario, policy=Returns(make))
    with pytest.raises(ValueError, match=message):
        for _ in range(3):
            sim.step()
    assert (sim.state.emotion <= 2).all() and (sim.posts.action <= 3).all()
