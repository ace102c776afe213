"""The session's LLM backend choice and what the pages read from an LLM run (counters, exchanges, errors).

The choice (settings and subset) lives in the session's workspace, so the API key exists only in
``st.session_state``, as an ``s3core.llm.Secret`` inside the settings; nothing here writes it anywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from s3core.llm.cache import LLMCache, default_cache_dir
from s3core.llm.policy import HybridPolicy, LLMPolicy
from s3core.llm.settings import LLMSettings
from s3core.llm.stats import DEFAULT_MAX_FALLBACK_SHARE, LLMStats, Verdict, verdict
from s3core.llm.subset import SubsetSpec, select_agents

CACHE_SUFFIX = ".llm-cache.duckdb"  # per-run cache files of older versions are not runs: the run lists skip them


@dataclass(frozen=True)
class LLMChoice:
    """What the Agents page set: how to call the model, and which agents it drives."""

    settings: LLMSettings = field(default_factory=LLMSettings)
    subset: SubsetSpec = SubsetSpec(share=0.05)

    def signature(self) -> tuple:
        """Changes whenever a run would behave differently; the key counts by identity, never by value."""
        key = self.settings.api_key
        return self.settings.public_json(), None if key is None else id(key), self.subset


def cache_path(run_dir: Path, run_path: Path | None = None) -> Path | None:
    """The machine's shared LLM cache directory ($S3_LLM_CACHE, else the user's cache directory), whatever the run.

    Every session, run and CLI process shares it, so Reset, a rerun or the same scenario from the command line
    calls nothing; ``run_dir`` and ``run_path`` are accepted for the callers' convenience and not used.
    """
    return default_cache_dir()


def build_policy(choice: LLMChoice, cache: Path | None) -> HybridPolicy:
    """The LLM for the chosen subset, the heuristic for the rest and for failed calls (``cache`` None: in memory).

    Raises ValueError naming the directory when the cache cannot be opened.
    """
    return HybridPolicy(LLMPolicy(choice.settings, LLMCache(cache)), choice.subset)


def llm_policy(sim) -> HybridPolicy | None:
    """The LLM backend of a simulation, looking through the dashboard's recording wrapper; None for the heuristic."""
    inner = getattr(sim.policy, "inner", sim.policy)
    return inner if hasattr(inner, "last_exchange") else None


def choice_of(sim) -> tuple | None:
    """The signature of the LLM choice a simulation was built with (None for the heuristic)."""
    policy = llm_policy(sim)
    if policy is None:
        return None
    return LLMChoice(policy.llm.settings, policy.subset).signature()


def stats(policy: HybridPolicy) -> LLMStats:
    """A copy of the counters; the run's thread updates them meanwhile, so a torn copy is retried."""
    for _ in range(5):
        try:
            return policy.stats.snapshot()
        except RuntimeError:  # a dict changed size while copying
            time.sleep(0.01)
    return LLMStats()


def run_verdict(s: LLMStats, threshold: float = DEFAULT_MAX_FALLBACK_SHARE) -> Verdict:
    """Whether the run's fallback share makes it a failed LLM run (the CLI's default threshold)."""
    return verdict(s, threshold)


def subset_size(spec: SubsetSpec, network, population, seed: int) -> int:
    return int(select_agents(spec, network, population, seed).sum())


def is_llm_agent(policy: HybridPolicy, sim, agent: int) -> bool:
    return bool(policy.mask(sim)[agent])


def last_error(live) -> tuple[str, str] | None:
    """(kind, redacted message) of the newest failed call in the run's trace, if any."""
    try:
        df = live.query("SELECT error_kind, error FROM llm_calls WHERE NOT ok ORDER BY step DESC LIMIT 1")
    except Exception:  # no llm_calls table before the first step
        return None
    if df is None or not len(df):
        return None
    return str(df.iloc[0, 0]), str(df.iloc[0, 1])


def subset_from(
    share: float, categories, genders, occupations, ages: tuple[int, int], age_bounds: tuple[int, int]
) -> SubsetSpec:
    """A SubsetSpec from the panel's widgets: a full share or a full age range means no restriction."""
    lo, hi = ages
    return SubsetSpec(
        share=None if share >= 1.0 else float(share),
        categories=tuple(categories),
        genders=tuple(genders),
        occupations=tuple(occupations),
        min_age=None if lo <= age_bounds[0] else int(lo),
        max_age=None if hi >= age_bounds[1] else int(hi),
    )


def estimate(ws, choice: LLMChoice):
    """The pre-run estimate for the session's scenario on its network (a heuristic dry run; seconds)."""
    from s3core.engine import Simulation
    from s3core.llm.cost import estimate_run

    from .session import text_resources

    base = Simulation(ws.scenario, network=ws.net.network, text=text_resources(), population=ws.population())
    return estimate_run(ws.scenario, choice.settings, choice.subset, sim=base)
