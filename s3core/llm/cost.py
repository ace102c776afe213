"""What an LLM run will cost before it starts: a heuristic dry run counts the prompts the LLM agents would get."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from ..types import Action
from . import prompts as P
from .client import cost_of, count_tokens
from .settings import LLMSettings
from .subset import SubsetSpec, select_agents

REPLY_TOKENS = {"decision": 24, "emotion": 10, "attitude": 10, "action": 10, "initial_attitude": 10}
TEXT_TOKENS = 90  # a short Weibo post or comment
TOKEN_SAMPLE = 64  # prompts counted exactly; the rest by characters per token


@dataclass(frozen=True)
class CostEstimate:
    """Calls, tokens and (where litellm knows the model's price) dollars, for an empty cache."""

    model: str
    steps: int
    llm_agents: int
    decisions: int
    texts: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        cost = "unknown (litellm has no price for this model)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        rows = [
            ("model", self.model),
            ("steps", self.steps),
            ("LLM agents", self.llm_agents),
            ("decisions", self.decisions),
            ("texts (quote/post)", self.texts),
            ("calls", self.calls),
            ("prompt tokens", self.prompt_tokens),
            ("completion tokens", self.completion_tokens),
            ("cost", cost),
        ]
        return "\n".join(f"{k:<20} {v}" for k, v in rows)

    def json(self) -> str:
        return json.dumps(self.as_dict())


class _Counter:
    """A heuristic policy that also builds the prompts the LLM rows would be sent, and keeps their sizes."""

    def __init__(self, heuristic, mask, settings: LLMSettings, event: str):
        self.heuristic, self.mask, self.settings, self.event = heuristic, mask, settings, event
        self.index = None
        self.decisions = self.texts = 0
        self.chars: list[int] = []
        self.sample: list[tuple] = []
        self.reply_tokens = 0

    def decide(self, batch, rng):
        dec = self.heuristic.decide(batch, rng)
        rows = np.flatnonzero(self.mask[batch.agent])
        if not len(rows):
            return dec
        sim = batch.context
        self.index = self.index or P.HistoryIndex(sim.network, self.settings.history_examples)
        sub = batch.subset(rows)
        who, where = P.profiles(sim, sub.agent, self.index), P.situations(sub, sim)
        kinds = ("decision",) if self.settings.mode == "combined" else ("emotion", "attitude", "action")
        for j, i in enumerate(rows):
            e, a, act = dec.emotion[i], dec.attitude[i], dec.action[i]
            messages = (
                [P.decision(who[j], where[j], self.event)]
                if len(kinds) == 1
                else [
                    P.emotion(who[j], where[j], self.event),
                    P.attitude(who[j], where[j], self.event),
                    P.action(who[j], where[j], self.event, e, a),
                ]
            )
            self.reply_tokens += sum(REPLY_TOKENS[k] for k in kinds)
            if act in (Action.QUOTE, Action.POST):
                messages.append(P.text(who[j], where[j], self.event, act, e, a))
                self.texts += 1
                self.reply_tokens += min(TEXT_TOKENS, self.settings.max_tokens)
            for m in messages:
                self.chars.append(sum(len(x["content"]) for x in m))
                if len(self.sample) < TOKEN_SAMPLE:
                    self.sample.append(m)
        self.decisions += len(rows)
        return dec


def estimate_run(
    scenario, settings: LLMSettings, subset: SubsetSpec | None = None, sim=None, initial_attitude: bool = False
) -> CostEstimate:
    """Run the scenario with the heuristic (seconds) and count what the LLM agents would be asked."""
    from ..engine import Simulation
    from .policy import heuristic_for

    base = sim or Simulation(scenario)
    mask = select_agents(subset or SubsetSpec(), base.network, base.population, scenario.seed)
    counter = _Counter(None, mask, settings, P.event_summary(scenario))
    dry = Simulation(scenario, network=base.network, text=base.text, population=base.population, policy=counter)
    counter.heuristic = heuristic_for(dry)
    dry.run(scenario.steps)
    chars = list(counter.chars)
    if initial_attitude:
        index = P.HistoryIndex(base.network, settings.history_examples)
        for p in P.profiles(base, np.flatnonzero(mask), index):
            m = P.initial_attitude(p, counter.event)
            chars.append(sum(len(x["content"]) for x in m))
            counter.sample.append(m)
            counter.reply_tokens += REPLY_TOKENS["initial_attitude"]
    sample = counter.sample[:TOKEN_SAMPLE] + counter.sample[-8:]
    sample_tokens = sum(count_tokens(settings.model, list(m)) for m in sample)
    sample_chars = sum(sum(len(x["content"]) for x in m) for m in sample)
    per_char = sample_tokens / sample_chars if sample_chars else 0.0
    prompt_tokens = int(round(sum(chars) * per_char))
    cost = cost_of(settings.model, prompt_tokens, counter.reply_tokens)
    return CostEstimate(
        model=settings.model,
        steps=scenario.steps,
        llm_agents=int(mask.sum()),
        decisions=counter.decisions,
        texts=counter.texts,
        calls=len(chars),
        prompt_tokens=prompt_tokens,
        completion_tokens=counter.reply_tokens,
        cost_usd=cost,
    )
