"""Classical diffusion models as decision policies: independent cascade and linear threshold.

Both run in the engine like any other ``DecisionPolicy``, so they share the agent model's graph,
seeds, interventions, keyed draws and traces. An agent is *active* once it has authored a post
(a seed post or a repost); the policies only ever repost the focal post, once, and keep emotion
and attitude unchanged.

They assume that every active post reaches every follower in the next step and nothing else
reaches anyone: ``platform.attention = 1``, no recommender (``recommend_rate = 0`` or
``recommender = "none"``) and ``feed_delay_median = 0``. ``classical_scenario`` sets these;
``decide`` raises ``ValueError`` otherwise. Interventions still act through the feeds: a removed
or down-ranked post is not delivered, and a boost adds exposures (an extra IC attempt; for LT a
re-evaluation, since its share counts followees only). A seed post by the official account gives
each of its followers (``official_reach``) one IC chance; LT ignores it, the official account
being no one's followee in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .keyed_random import KeyedRandom, Purpose, StepDraws
from .network import Network
from .policy import DecisionBatch, Decisions
from .types import Action

if TYPE_CHECKING:
    from .engine import Simulation
    from .run_view import RunView
    from .scenario import Scenario


def classical_scenario(scenario: "Scenario") -> "Scenario":
    """The scenario with the platform the classical policies assume: full attention, no recommender, no delay."""
    platform = replace(scenario.platform, attention=1.0, recommend_rate=0.0, feed_delay_median=0.0)
    return scenario.replace(platform=platform)


def check_platform(scenario: "Scenario", model: str) -> None:
    """Raise if the platform would lose or delay deliveries, or add recommended ones."""
    p = scenario.platform
    wrong = []
    if p.attention != 1.0:
        wrong.append(f"platform.attention = {p.attention} (needs 1)")
    if p.recommend_rate > 0 and p.recommender != "none":
        wrong.append(f"platform.recommend_rate = {p.recommend_rate} (needs 0)")
    if p.feed_delay_median != 0:
        wrong.append(f"platform.feed_delay_median = {p.feed_delay_median} (needs 0)")
    if wrong:
        raise ValueError(
            f"{model} needs every active post delivered to all followers in the next step: "
            f"{'; '.join(wrong)}. Use s3core.classical.classical_scenario(scenario)."
        )


def _simulation(batch: DecisionBatch, model: str) -> "RunView":
    sim = batch.context
    if sim is None:
        raise ValueError(f"{model} reads the run's posts and network: the batch needs context = the run's RunView")
    check_platform(sim.scenario, model)
    return sim


def active_agents(sim: "Simulation | RunView") -> np.ndarray:
    """Boolean mask of agents who have authored a post so far (seed authors and reposters)."""
    author = sim.posts.author
    active = np.zeros(sim.network.n_users, dtype=bool)
    active[author[author >= 0]] = True
    return active


def follower_edges(network: Network, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(user, follower) index arrays of every follower edge out of ``users``, gathered from the CSR."""
    users = np.asarray(users, dtype=np.int64)
    start = network.follower_ptr[users]
    count = network.follower_ptr[users + 1] - start
    offset = (
        np.arange(int(count.sum()), dtype=np.int64)
        - np.repeat(np.cumsum(count) - count, count)
        + np.repeat(start, count)
    )
    return np.repeat(users, count), network.follower_idx[offset].astype(np.int64)


def active_followee_counts(network: Network, active: np.ndarray) -> np.ndarray:
    """Per agent, how many of its followees are active (distinct: the graph has no duplicate edges)."""
    _, follower = follower_edges(network, np.flatnonzero(active))
    return np.bincount(follower, minlength=network.n_users)


def thresholds(random: KeyedRandom, agents: np.ndarray) -> np.ndarray:
    """Each agent's linear-threshold theta ~ U(0, 1): one keyed draw per agent, the same at every step."""
    return random.stream(Purpose.LT_THRESHOLD).uniform(agents)


def _decisions(batch: DecisionBatch, activate: np.ndarray) -> Decisions:
    action = np.where(activate, Action.REPOST, Action.IGNORE).astype(np.int8)
    return Decisions(emotion=batch.emotion.copy(), attitude=batch.attitude.copy(), action=action)


@dataclass(frozen=True)
class IndependentCascadePolicy:
    """Independent cascade (Kempe, Kleinberg and Tardos 2003): each newly active followee gets one chance ``p``.

    With the assumed platform an agent receives, in the step after a followee activates, exactly
    that followee's one post, so ``batch.received`` is the number of followees that activated last
    step (plus seed posts of this step): k independent chances ``p`` activate with 1 - (1 - p)^k,
    decided by the agent's one keyed ACTION uniform. Active agents never act again.
    """

    reads_memory = False  # the engine skips memory pools and relevance for this policy

    p: float = field(
        default=0.1, metadata={"min": 0.0, "max": 1.0, "help": "Chance that an active followee activates an agent."}
    )

    def __post_init__(self):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"IndependentCascadePolicy.p = {self.p}: must lie in [0, 1]")

    def decide(self, batch: DecisionBatch, draws: StepDraws) -> Decisions:
        sim = _simulation(batch, "IndependentCascadePolicy")
        chance = 1.0 - (1.0 - self.p) ** batch.received
        u = draws.uniform(Purpose.ACTION, batch.agent)
        return _decisions(batch, ~active_agents(sim)[batch.agent] & (u < chance))


@dataclass(frozen=True)
class LinearThresholdPolicy:
    """Linear threshold (Granovetter 1978; Kempe et al. 2003) with followee weights 1 / followees.

    An agent activates when the share of its followees that are active reaches its keyed
    threshold (``thresholds``). It is evaluated whenever it receives a post, which with the assumed
    platform is every step after one of its followees activates, i.e. whenever its share grows.
    """

    reads_memory = False  # the engine skips memory pools and relevance for this policy

    def decide(self, batch: DecisionBatch, draws: StepDraws) -> Decisions:
        sim = _simulation(batch, "LinearThresholdPolicy")
        active = active_agents(sim)
        count = active_followee_counts(sim.network, active)[batch.agent]
        share = count / np.maximum(sim.network.followee_count[batch.agent], 1)
        go = ~active[batch.agent] & (count > 0) & (share >= thresholds(draws.source, batch.agent))
        return _decisions(batch, go)
