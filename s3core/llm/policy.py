"""LLM-empowered agents behind the one decision interface: ``LLMPolicy`` for every agent of a batch,
``HybridPolicy`` for a chosen subset with the heuristic for the rest.

A step's decisions go out as one concurrent batch; then, for agents that chose to quote or post,
a second batch writes the text conditioned on that action (Qiu et al. 2025). The heuristic
decides every agent first, with the same random draws whatever the LLM answers, so a failed call
falls back to a decision the run would have made anyway and reruns stay reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..policy import DecisionBatch, Decisions, HeuristicPolicy
from ..types import Action
from . import prompts as P
from .cache import LLMCache
from .gateway import ChatRequest, Gateway, Outcome
from .schemas import ACTIONS, ATTITUDES, EMOTIONS, MAX_TEXT
from .settings import LLMSettings
from .stats import LLMStats
from .subset import SubsetSpec, select_agents
from .trace import TRACE_COLUMNS, write_llm_trace

_EMOTION = {n: i for i, n in enumerate(EMOTIONS)}
_ATTITUDE = {n: i for i, n in enumerate(ATTITUDES)}
_ACTION = {n: i for i, n in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Exchange:
    """One prompt and what came back, for the dashboard's agent inspector."""

    step: int
    kind: str
    messages: tuple
    response: str | None
    parsed: dict | None
    error: str | None
    cached: bool


def heuristic_for(sim) -> HeuristicPolicy:
    s = sim.scenario
    return HeuristicPolicy(s.emotion, s.attitude, s.policy)


class LLMPolicy:
    """Every agent of a batch asks the LLM; ``refine`` turns heuristic decisions into LLM ones where calls succeed."""

    def __init__(
        self,
        settings: LLMSettings,
        cache: LLMCache | None = None,
        heuristic: HeuristicPolicy | None = None,
        event: str | None = None,
        gateway: Gateway | None = None,
        notify=None,
    ):
        """``notify(message)`` hears what a user must be told once (see ``Gateway``)."""
        self.settings = settings
        self.gateway = gateway or Gateway(settings, cache, notify=notify)
        self.heuristic = heuristic
        self.event = event
        self._index: tuple[object, P.HistoryIndex] | None = None
        self._exchanges: dict[int, list[Exchange]] = {}
        self._trace: list[tuple] = []

    # -- the decision interface ----------------------------------------------------------------
    def decide(self, batch: DecisionBatch, draws) -> Decisions:
        """The heuristic decides first with ``draws`` (passed through as given), then the LLM refines."""
        base = (self.heuristic or heuristic_for(batch.context)).decide(batch, draws)
        return self.refine(batch, base, draws)

    def refine(self, batch: DecisionBatch, base: Decisions, draws=None) -> Decisions:
        """LLM decisions for the batch's agents; rows whose calls fail keep ``base`` and are flagged.

        ``settings.agent_mode`` picks how: one request per agent (here), ``batched`` (``batching``) or
        ``archetype`` (``archetypes``, which draws each member's decision with ``draws``, the step's keyed draws).
        """
        if self.settings.agent_mode == "batched":
            from . import batching

            return batching.refine(self, batch, base)
        if self.settings.agent_mode == "archetype":
            from . import archetypes

            return archetypes.refine(self, batch, base, draws)
        n = len(batch)
        emotion, attitude, action = base.emotion.copy(), base.attitude.copy(), base.action.copy()
        fallback = np.zeros(n, dtype=bool)
        texts: list[str | None] = [None] * n
        if n == 0:
            return Decisions(emotion, attitude, action, texts, fallback)
        sim = batch.context
        event = self.event if self.event is not None else P.event_summary(sim.scenario)
        who = P.profiles(sim, batch.agent, self._history(sim))
        where = P.situations(batch, sim)
        rows = np.arange(n)
        for i in rows:
            self._exchanges[int(batch.agent[i])] = []
        if self.settings.mode == "combined":
            reqs = [ChatRequest("decision", P.decision(who[i], where[i], event)) for i in rows]
            outs = self._run(batch, rows, reqs)
            for i, o in enumerate(outs):
                if o.ok:
                    emotion[i], attitude[i], action[i] = (
                        _EMOTION[o.data["emotion"]],
                        _ATTITUDE[o.data["attitude"]],
                        _ACTION[o.data["action"]],
                    )
            acted = np.array([o.ok for o in outs])
            fallback |= ~acted
        else:
            reqs = [ChatRequest("emotion", P.emotion(who[i], where[i], event)) for i in rows] + [
                ChatRequest("attitude", P.attitude(who[i], where[i], event)) for i in rows
            ]
            outs = self._run(batch, np.r_[rows, rows], reqs)
            for i in rows:
                e, a = outs[i], outs[n + i]
                emotion[i] = _EMOTION[e.data["emotion"]] if e.ok else emotion[i]
                attitude[i] = _ATTITUDE[a.data["attitude"]] if a.ok else attitude[i]
                fallback[i] = not (e.ok and a.ok)
            reqs = [ChatRequest("action", P.action(who[i], where[i], event, emotion[i], attitude[i])) for i in rows]
            outs = self._run(batch, rows, reqs)
            for i, o in enumerate(outs):
                if o.ok:
                    action[i] = _ACTION[o.data["action"]]
            acted = np.array([o.ok for o in outs])
            fallback |= ~acted
        stats = self.stats
        stats.decisions += n
        stats.fallbacks += int(fallback.sum())
        writers = np.flatnonzero(acted & np.isin(action, (Action.QUOTE, Action.POST)))
        if len(writers):
            reqs = [
                ChatRequest("text", P.text(who[i], where[i], event, action[i], emotion[i], attitude[i]))
                for i in writers
            ]
            for i, o in zip(writers, self._run(batch, writers, reqs)):
                if o.ok:
                    texts[i] = " ".join(o.data["text"].split())[:MAX_TEXT]
                else:
                    fallback[i] = True
                    stats.text_fallbacks += 1
        return Decisions(emotion.astype(np.int8), attitude.astype(np.int8), action.astype(np.int8), texts, fallback)

    def _run(self, batch: DecisionBatch, rows: np.ndarray, requests: list[ChatRequest]) -> list[Outcome]:
        """Send a batch and remember, per agent, each exchange and a trace row."""
        outcomes = self.gateway.run(requests)
        for i, req, o in zip(rows, requests, outcomes):
            agent = int(batch.agent[i])
            self._exchanges.setdefault(agent, []).append(
                Exchange(batch.step, req.schema, req.messages, o.content, o.data, o.error, o.cached)
            )
            self._trace.append(
                (
                    batch.step,
                    agent,
                    req.schema,
                    o.ok,
                    o.cached,
                    o.error_kind,
                    o.error,
                    o.calls,
                    o.prompt_tokens,
                    o.completion_tokens,
                    round(o.latency, 4),
                    o.content if o.ok else None,
                    round(o.wait, 4),
                )
            )
        return outcomes

    def _history(self, sim) -> P.HistoryIndex:
        if self._index is None or self._index[0] is not sim.network:  # the network itself: an id can be reused
            self._index = (sim.network, P.HistoryIndex(sim.network, self.settings.history_examples))
        return self._index[1]

    # -- S3's initial attitude ---------------------------------------------------------------------
    def initial_attitudes(self, sim, agents: np.ndarray) -> np.ndarray:
        """Initial attitude per agent from profile and history; -1 where the call failed."""
        agents = np.asarray(agents, dtype=np.int64)
        event = self.event if self.event is not None else P.event_summary(sim.scenario)
        reqs = [
            ChatRequest("initial_attitude", P.initial_attitude(p, event))
            for p in P.profiles(sim, agents, self._history(sim))
        ]
        outs = self.gateway.run(reqs)
        for agent, req, o in zip(agents, reqs, outs):
            self._trace.append(
                (
                    -1,
                    int(agent),
                    req.schema,
                    o.ok,
                    o.cached,
                    o.error_kind,
                    o.error,
                    o.calls,
                    o.prompt_tokens,
                    o.completion_tokens,
                    round(o.latency, 4),
                    o.content if o.ok else None,
                    round(o.wait, 4),
                )
            )
        return np.array([_ATTITUDE[o.data["attitude"]] if o.ok else -1 for o in outs], dtype=np.int8)

    # -- what the dashboard and the trace read ---------------------------------------------------------
    @property
    def stats(self) -> LLMStats:
        return self.gateway.stats

    def last_exchange(self, agent: int) -> list[Exchange]:
        """The prompts and replies of the agent's latest LLM step (decision first, then text), or []."""
        return list(self._exchanges.get(int(agent), []))

    def pending_trace(self) -> list[dict]:
        return [dict(zip(TRACE_COLUMNS, row)) for row in self._trace]

    def write_trace(self, con) -> None:
        """Append the calls made since the last write to the run's DuckDB (``llm_calls``) and its settings to ``run``."""
        write_llm_trace(con, self._trace, self.settings, self.stats)
        self._trace = []
        if self.settings.agent_mode == "archetype":
            from .archetypes import flush_archetype_trace

            flush_archetype_trace(self, con)

    def close(self) -> None:
        self.gateway.close()


class HybridPolicy:
    """The LLM for a chosen subset of agents, the heuristic for everyone else."""

    def __init__(self, llm: LLMPolicy, subset: SubsetSpec | np.ndarray, heuristic: HeuristicPolicy | None = None):
        self.llm = llm
        self.subset = subset
        self.heuristic = heuristic
        self._mask: tuple[object, np.ndarray] | None = None

    def mask(self, sim) -> np.ndarray:
        """Boolean mask of the LLM agents (a spec is resolved once per network, from the scenario seed)."""
        if isinstance(self.subset, np.ndarray):
            return self.subset.astype(bool)
        if self._mask is None or self._mask[0] is not sim.network:  # the network itself: an id can be reused
            self._mask = (sim.network, select_agents(self.subset, sim.network, sim.population, sim.scenario.seed))
        return self._mask[1]

    def decide(self, batch: DecisionBatch, draws) -> Decisions:
        base = (self.heuristic or heuristic_for(batch.context)).decide(batch, draws)
        rows = np.flatnonzero(self.mask(batch.context)[batch.agent])
        fallback = np.zeros(len(batch), dtype=bool)
        texts: list[str | None] = [None] * len(batch)
        if len(rows):
            sub = self.llm.refine(
                batch.subset(rows), Decisions(base.emotion[rows], base.attitude[rows], base.action[rows]), draws
            )
            base.emotion[rows], base.attitude[rows], base.action[rows] = sub.emotion, sub.attitude, sub.action
            fallback[rows] = sub.fallback
            for j, i in enumerate(rows):
                texts[i] = sub.text[j]
        return Decisions(base.emotion, base.attitude, base.action, texts, fallback)

    def apply_initial_attitudes(self, sim) -> int:
        """Replace the subset's initial attitudes by the LLM's (before step 0); returns how many changed source."""
        agents = np.flatnonzero(self.mask(sim))
        values = self.llm.initial_attitudes(sim, agents)
        ok = values >= 0
        sim.state.attitude[agents[ok]] = values[ok]
        sim.state_changed()
        return int(ok.sum())

    @property
    def stats(self) -> LLMStats:
        return self.llm.stats

    def last_exchange(self, agent: int) -> list[Exchange]:
        return self.llm.last_exchange(agent)

    def write_trace(self, con) -> None:
        self.llm.write_trace(con)

    def close(self) -> None:
        self.llm.close()
