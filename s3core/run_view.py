"""What a decision backend may read of the running simulation: a narrow, read-only view.

Backends (the LLM policy, the classical models) receive a ``DecisionBatch`` whose ``context``
is a ``RunView``, not the live ``Simulation`` (as Concordia's language-model interface hands
agents only what they need): the posts so far and the agents' state as read-only arrays, so an
accidental write raises instead of changing the run behind the engine's back; the scenario,
network and population, which are the run's own objects and must only be read; and any text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .engine import Simulation
    from .network import Network
    from .population import Population
    from .scenario import Scenario


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class _Columns:
    """Read-only attribute access to a column store (``PostStore`` or ``AgentState``)."""

    def __init__(self, store, names: tuple[str, ...]):
        self._store, self._names = store, names

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_") or name not in self._names:
            raise AttributeError(f"{name!r} is not readable here; readable: {', '.join(self._names)}")
        return _frozen(getattr(self._store, name))

    def __len__(self) -> int:
        return len(self._store)


POST_COLUMNS = ("author", "parent", "root", "step", "action", "stance", "emotion", "depth", "text_id", "reposts")
POST_COLUMNS += ("removed", "labelled", "visibility", "key")
STATE_COLUMNS = ("aware", "aware_step", "emotion", "attitude", "last_action", "actions_taken", "mem_post", "mem_step")


class RunView:
    """The run as a decision backend sees it at one step (read-only)."""

    def __init__(self, sim: "Simulation"):
        self._sim = sim

    @property
    def scenario(self) -> "Scenario":
        return self._sim.scenario

    @property
    def network(self) -> "Network":
        return self._sim.network

    @property
    def population(self) -> "Population":
        return self._sim.population

    @property
    def step_index(self) -> int:
        return self._sim.step_index

    @property
    def posts(self) -> _Columns:
        """The posts so far: ``POST_COLUMNS`` as read-only arrays indexed by post id."""
        return _Columns(self._sim.posts, POST_COLUMNS)

    @property
    def state(self) -> _Columns:
        """The agents' state: ``STATE_COLUMNS`` as read-only arrays indexed by agent."""
        return _Columns(self._sim.state, STATE_COLUMNS)

    def text_of(self, text_id: int) -> str:
        """The text with this id (pool texts, then the texts added during the run)."""
        return self._sim.text_of(text_id)
