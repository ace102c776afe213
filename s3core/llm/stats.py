"""Counters of the LLM backend (requests, cache hits, calls, fallbacks, error classes, waits, tokens, cost)
and the verdict on a run: an LLM run in which most decisions fell back is not a successful LLM run."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field


@dataclass
class LLMStats:
    """Running totals; ``snapshot()`` gives a copy the dashboard can keep."""

    requests: int = 0  # prompts the policy asked for
    deduplicated: int = 0  # identical prompts in one batch, sent once
    cache_hits: int = 0  # answered from the cache, no call
    calls: int = 0  # HTTP requests actually sent (retries and repairs included)
    retries: int = 0  # resent after a timeout, 429, 5xx or connection error
    wait_s: float = 0.0  # seconds slept before retries (the provider's Retry-After where it sent one)
    repairs: int = 0  # resent once because the reply failed its schema
    invalid: int = 0  # prompts whose model replies stayed unusable (invalid, refusal, length)
    errors: dict = field(default_factory=dict)  # error class (errors.ErrorKind value) -> count of failed calls
    structured_output: str = ""  # the structured-output mode in use (after any automatic step down)
    notices: list = field(default_factory=list)  # things a user must be told once, e.g. a mode step down
    decisions: int = 0  # agent decisions asked of the LLM
    fallbacks: int = 0  # agents that fell back to the heuristic decision
    text_fallbacks: int = 0  # quote/post texts the LLM did not write (pool text used)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None while the model's price is unknown
    latency_s: float = 0.0  # summed request latency
    wall_s: float = 0.0  # time spent waiting on LLM batches

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

    @property
    def fallback_share(self) -> float:
        """Share of LLM decisions that fell back to the heuristic (0 before any decision)."""
        return self.fallbacks / self.decisions if self.decisions else 0.0

    def top_errors(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` most frequent error classes as (class, failed calls), most frequent first."""
        return sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def add_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def add_cost(self, cost: float | None) -> None:
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost

    def snapshot(self) -> "LLMStats":
        return copy.deepcopy(self)

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(
            unique=self.unique,
            hit_rate=round(self.hit_rate, 4),
            mean_latency=round(self.mean_latency, 4),
            fallback_share=round(self.fallback_share, 4),
        )
        return out

    def line(self) -> str:
        """One line for stderr."""
        cost = "unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        errors = ",".join(f"{k}={v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"llm: decisions {self.decisions}, calls {self.calls}, cache hits {self.cache_hits} "
            f"({self.hit_rate:.0%} of {self.unique} prompts), fallbacks {self.fallbacks} (+{self.text_fallbacks} texts), "
            f"retries {self.retries} (waited {self.wait_s:.1f} s), "
            f"tokens {self.prompt_tokens}+{self.completion_tokens}, cost {cost}, errors {errors}"
        )


DEFAULT_MAX_FALLBACK_SHARE = 0.5  # past this share of fallen-back decisions an LLM run counts as failed


@dataclass(frozen=True)
class Verdict:
    """Whether an LLM run may be taken as one: ``failed`` when its fallback share exceeds ``threshold``."""

    share: float
    threshold: float
    decisions: int
    fallbacks: int
    top_errors: tuple[tuple[str, int], ...]
    invalid: int = 0  # answers that came back but could not be used (e.g. a batched entry missing or off-schema)

    @property
    def failed(self) -> bool:
        return self.decisions > 0 and self.share > self.threshold

    def message(self) -> str:
        """One or two lines: the fallback share, the top error classes with what to do, and whether the run failed."""
        from .errors import hint, label

        causes = "; ".join(f"{label(k)} x{v} ({hint(k)})" for k, v in self.top_errors) or "no call failed"
        if self.invalid and not self.top_errors:
            causes += f", but {self.invalid} answers (batched entries or archetype cells) were missing or unusable"
        head = (
            f"{self.share:.0%} of {self.decisions} LLM decisions fell back to the heuristic "
            f"({self.fallbacks}; threshold {self.threshold:.0%})"
        )
        if self.failed:
            return f"{head}: this is not an LLM run. Top error classes: {causes}"
        return f"{head}. Top error classes: {causes}"


def verdict(stats: LLMStats, threshold: float = DEFAULT_MAX_FALLBACK_SHARE) -> Verdict:
    """The verdict on a run from its counters; ``threshold`` is a share in [0, 1]."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"max fallback share {threshold}: must lie in [0, 1]")
    return Verdict(
        stats.fallback_share, threshold, stats.decisions, stats.fallbacks, tuple(stats.top_errors()), stats.invalid
    )
