"""S3's profiling module as a job: LLM-inferred age, gender and occupation (and, optionally, initial attitude) for
chosen users of a loaded network, saved as a profiles file (``s3core.profiles``) that scenarios then name.

S3 (Gao et al. 2023, section 3.2) builds each agent's demographics from its description and posts with a
language model, and its initial attitude from profile and posting history. Here each user costs one
structured call per attribute group, through the same gateway as the decisions: the shared cache (a rerun
calls nothing), validation, retries and the structured-output step-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from ..profiles import check_profiles, empty_profiles
from ..types import Gender, Occupation
from . import prompts as P
from .cache import LLMCache
from .client import cost_of, count_tokens
from .demographics import parse_answer
from .gateway import ChatRequest, Gateway, Outcome
from .settings import LLMSettings
from .stats import LLMStats

CHUNK = 200  # users per concurrent batch: progress granularity, and a cap on prompts held in memory
REPLY_TOKENS = {"demographics": 24, "initial_attitude": 10}
TOKEN_SAMPLE = 48  # prompts counted exactly by the estimate; the rest by characters per token

Progress = Callable[[int, int], None]  # (users done, users in all)


@dataclass(frozen=True)
class ProfileEstimate:
    """What a profiling job will cost on an empty cache: calls, tokens and (where litellm prices the model) dollars."""

    model: str
    users: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cached: int = 0  # prompts already in the cache: no call, no cost (not counted above)

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        cost = (
            "cost unknown (litellm has no price for this model)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        )
        cached = f", {self.cached:,} prompts already cached" if self.cached else ""
        return (
            f"{self.users:,} users, {self.calls:,} calls{cached}, {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} completion tokens, {cost} ({self.model})"
        )


@dataclass
class ProfileRun:
    """A finished profiling job: the profiles table (``s3core.profiles`` columns) and the gateway's counters."""

    table: pd.DataFrame
    stats: LLMStats
    users: int  # users asked
    seconds: float

    def filled(self) -> dict[str, int]:
        """Users with an LLM value, per column."""
        return {c: int(self.table[c].notna().sum()) for c in ("age", "gender", "occupation", "attitude")}

    def summary(self) -> str:
        filled = ", ".join(f"{c} {n:,}" for c, n in self.filled().items())
        return f"profiled {self.users:,} users in {self.seconds:.1f} s ({filled} filled); {self.stats.line()}"


def users_with_text(network) -> np.ndarray:
    """Agent indices of users with a description or at least one post: the ones a model can read anything about."""
    has = network.activity() > 0
    users = network.users
    if users is not None and "description" in users:
        has |= (users["description"].astype("string").str.strip().str.len().fillna(0) > 0).to_numpy()
    return np.flatnonzero(has)


class ProfileJob:
    """The requests of one profiling job over ``agents`` (shape (k,), agent indices) of a simulation's network."""

    def __init__(self, sim, agents, settings: LLMSettings, attitudes: bool = False, event: str | None = None):
        self.sim, self.settings, self.attitudes = sim, settings, attitudes
        self.agents = np.asarray(agents, dtype=np.int64)
        self.event = event if event is not None else P.event_summary(sim.scenario)
        self.index = P.HistoryIndex(sim.network, settings.history_examples)

    def demographic_requests(self, agents: np.ndarray) -> list[ChatRequest]:
        shown = self.settings.history_examples
        return [
            ChatRequest("demographics", P.demographics(self.index.description(a), list(self.index.history(a)), shown))
            for a in agents
        ]

    def attitude_requests(self, agents: np.ndarray, demographics: list[dict | None]) -> list[ChatRequest]:
        """Initial-attitude prompts whose persona uses the inferred demographics where the model gave them."""
        profiles = P.profiles(self.sim, agents, self.index)
        out = []
        for profile, guess in zip(profiles, demographics):
            if guess:
                profile = replace(profile, **{k: int(v) for k, v in guess.items()})
            out.append(ChatRequest("initial_attitude", P.initial_attitude(profile, self.event)))
        return out

    def estimate(self, cache: LLMCache | None = None) -> ProfileEstimate:
        """Calls, tokens and price of the prompts not yet in ``cache``; prompts are built (not sent) and a sample
        is tokenized. Attitude prompts are counted with the population's demographics (the inferred ones differ
        by a few characters)."""
        chars, sample, calls, cached = 0, [], 0, 0
        for start in range(0, len(self.agents), CHUNK):
            chunk = self.agents[start : start + CHUNK]
            requests = self.demographic_requests(chunk)
            hits = {} if cache is None else cache.get_many([r.key(self.settings) for r in requests])
            if self.attitudes:  # with the cached demographic answers, the attitude prompts are exactly known
                known = [self._cached_guess(hits.get(r.key(self.settings))) for r in requests]
                attitude = self.attitude_requests(chunk, known)
                if cache is not None:
                    hits |= cache.get_many([r.key(self.settings) for r in attitude])
                requests += attitude
            todo = [r for r in requests if r.key(self.settings) not in hits]
            cached += len(requests) - len(todo)
            calls += len(todo)
            chars += sum(_chars(r.messages) for r in todo)
            if len(sample) < TOKEN_SAMPLE:
                sample += todo[: TOKEN_SAMPLE - len(sample)]
        sample_chars = sum(_chars(r.messages) for r in sample)
        per_char = sum(count_tokens(self.settings.model, list(r.messages)) for r in sample) / max(sample_chars, 1)
        kinds = ("demographics", "initial_attitude") if self.attitudes else ("demographics",)
        completion = calls * sum(REPLY_TOKENS[k] for k in kinds) // len(kinds)
        prompt = int(round(chars * per_char))
        return ProfileEstimate(
            model=self.settings.model,
            users=len(self.agents),
            calls=calls,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost_of(self.settings.model, prompt, completion),
            cached=cached,
        )

    def _cached_guess(self, hit) -> dict | None:
        if hit is None:
            return None
        outcome = Outcome.from_cache(hit, "demographics", self.settings.max_tokens)
        return parse_answer(outcome.data) if outcome.ok else None

    def run(self, gateway: Gateway, progress: Progress | None = None) -> ProfileRun:
        """Ask the model about every user, ``CHUNK`` at a time; failed calls leave the user's values empty."""
        started = time.perf_counter()
        rows: list[dict] = []
        user_ids = np.asarray(self.sim.network.user_ids).astype(str)
        source = f"llm:{self.settings.model}"
        if progress:
            progress(0, len(self.agents))
        for start in range(0, len(self.agents), CHUNK):
            chunk = self.agents[start : start + CHUNK]
            guesses = [parse_answer(o.data) if o.ok else None for o in gateway.run(self.demographic_requests(chunk))]
            attitudes = [None] * len(chunk)
            if self.attitudes:
                outs = gateway.run(self.attitude_requests(chunk, guesses))
                attitudes = [o.data["attitude"] if o.ok else None for o in outs]
            for agent, guess, attitude in zip(chunk, guesses, attitudes):
                rows.append({"user_id": user_ids[agent], **_words(guess), "attitude": attitude, "source": source})
            if progress:
                progress(min(start + CHUNK, len(self.agents)), len(self.agents))
        table = check_profiles(pd.DataFrame(rows), "LLM profiles") if rows else empty_profiles()
        return ProfileRun(table, gateway.stats, len(self.agents), time.perf_counter() - started)


def infer_profiles(
    sim,
    agents,
    settings: LLMSettings,
    cache: LLMCache | None = None,
    attitudes: bool = False,
    progress: Progress | None = None,
    notify=None,
) -> ProfileRun:
    """Profiles of ``agents`` (shape (k,), agent indices of ``sim.network``) from ``settings.model``.

    Returns the table to save with ``s3core.profiles.write_profiles``. Raises ``LLMUnavailable`` when litellm
    cannot be used; a failed call only leaves that user's values empty (counted in ``stats``).
    """
    gateway = Gateway(settings, cache, notify=notify)
    try:
        return ProfileJob(sim, agents, settings, attitudes).run(gateway, progress)
    finally:
        gateway.close()


def merge_profiles(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` with ``new``'s rows put over it by user id (a value ``new`` leaves empty keeps ``old``'s)."""
    if not len(old):
        return new
    both = pd.concat([old, new], ignore_index=True)
    merged = both.groupby("user_id", sort=False).last()  # last() takes each column's last non-empty value
    return check_profiles(merged.reset_index(), "merged profiles")


def _words(guess: dict | None) -> dict:
    guess = guess or {}
    return {
        "age": guess.get("age"),
        "gender": Gender(guess["gender"]).name.lower() if "gender" in guess else None,
        "occupation": Occupation(guess["occupation"]).name.lower() if "occupation" in guess else None,
    }


def _chars(messages) -> int:
    return sum(len(m["content"]) for m in messages)
