"""A decision-backend wrapper that keeps each agent's latest decision and its inputs for the inspector.

The engine does not keep per-agent decisions, so the dashboard wraps the policy (any backend of
the ``DecisionPolicy`` protocol) and scatters each batch into per-agent arrays: one vectorized
copy per step, nothing per agent in Python. Results are unchanged: the wrapper only observes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from s3core.policy import DecisionBatch, DecisionPolicy, Decisions

STATIC_FIELDS = {"agent", "step", "context", "age", "gender", "occupation", "category"}  # shown in the profile instead


def input_fields(batch: DecisionBatch) -> list[str]:
    """Per-agent input arrays of a batch (whatever the engine passes now, static profile aside)."""
    return [
        f.name
        for f in dataclasses.fields(batch)
        if f.name not in STATIC_FIELDS and isinstance(getattr(batch, f.name), np.ndarray)
    ]


class RecordingPolicy:
    """Delegates to ``inner`` and remembers, per agent, the last step it decided, on what, and what."""

    def __init__(self, inner: DecisionPolicy, n_agents: int):
        self.inner = inner
        self.step = np.full(n_agents, -1, dtype=np.int32)
        self.inputs: dict[str, np.ndarray] = {}
        self.emotion = np.zeros(n_agents, dtype=np.int8)
        self.attitude = np.zeros(n_agents, dtype=np.int8)
        self.action = np.zeros(n_agents, dtype=np.int8)
        self.probs = np.full((n_agents, 4), np.nan, dtype=np.float32)

    def __getattr__(self, name: str):
        """Backend extras pass through (an LLM's write_trace, stats, last_exchange, close), so runner.record still logs calls."""
        if name == "inner":  # not set yet (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def decide(self, batch: DecisionBatch, rng: np.random.Generator) -> Decisions:
        decisions = self.inner.decide(batch, rng)
        agents = batch.agent
        n = len(self.step)
        self.step[agents] = batch.step
        for name in input_fields(batch):
            values = np.asarray(getattr(batch, name))
            if name not in self.inputs:
                self.inputs[name] = np.zeros(n, dtype=values.dtype)
            self.inputs[name][agents] = values
        self.emotion[agents] = decisions.emotion
        self.attitude[agents] = decisions.attitude
        self.action[agents] = decisions.action
        probabilities = getattr(self.inner, "action_probabilities", None)
        if probabilities is not None and len(agents):
            self.probs[agents] = probabilities(batch, decisions.emotion, decisions.attitude)
        return decisions

    def last(self, agent: int) -> dict | None:
        """The agent's latest decision with its inputs, or None if it has never been exposed."""
        if self.step[agent] < 0:
            return None
        out = {"step": int(self.step[agent])}
        out.update({name: values[agent].item() for name, values in self.inputs.items()})
        out.update(
            {
                "new_emotion": int(self.emotion[agent]),
                "new_attitude": int(self.attitude[agent]),
                "action": int(self.action[agent]),
                "probabilities": [float(p) for p in self.probs[agent]],
            }
        )
        return out
