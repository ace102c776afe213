"""Counters of the LLM backend: requests, cache hits, calls, fallbacks, tokens and cost."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field


@dataclass
class LLMStats:
    """Running totals; ``snapshot()`` gives a copy the dashboard can keep."""

    requests: int = 0          # prompts the policy asked for
    deduplicated: int = 0      # identical prompts in one batch, sent once
    cache_hits: int = 0        # answered from the cache, no call
    calls: int = 0             # HTTP requests actually sent (retries and repairs included)
    retries: int = 0           # resent after a timeout, 429, 5xx or connection error
    repairs: int = 0           # resent once because the reply failed its schema
    invalid: int = 0           # replies still unusable after the repair
    errors: dict = field(default_factory=dict)  # error kind -> count of failed calls
    decisions: int = 0         # agent decisions asked of the LLM
    fallbacks: int = 0         # agents that fell back to the heuristic decision
    text_fallbacks: int = 0    # quote/post texts the LLM did not write (pool text used)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None while the model's price is unknown
    latency_s: float = 0.0     # summed request latency
    wall_s: float = 0.0        # time spent waiting on LLM batches

    @property
    def unique(self) -> int:
        return self.requests - self.deduplicated

    @property
    def hit_rate(self) -> float:
        """Share of distinct prompts served from the cache."""
        return self.cache_hits / self.unique if self.unique else 0.0

    @property
    def mean_latency(self) -> float:
        return self.latency_s / self.calls if self.calls else 0.0

    def add_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def add_cost(self, cost: float | None) -> None:
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost

    def snapshot(self) -> "LLMStats":
        return copy.deepcopy(self)

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(unique=self.unique, hit_rate=round(self.hit_rate, 4), mean_latency=round(self.mean_latency, 4))
        return out

    def line(self) -> str:
        """One line for stderr."""
        cost = "unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        errors = ",".join(f"{k}={v}" for k, v in sorted(self.errors.items())) or "none"
        return (f"llm: decisions {self.decisions}, calls {self.calls}, cache hits {self.cache_hits} "
                f"({self.hit_rate:.0%} of {self.unique} prompts), fallbacks {self.fallbacks} (+{self.text_fallbacks} texts), "
                f"tokens {self.prompt_tokens}+{self.completion_tokens}, cost {cost}, errors {errors}")
