"""LLM-empowered agents through litellm, behind the same decision interface as the heuristic.

Importing this package is cheap and never imports litellm (``client.py`` does, on first use).
Public names resolve lazily:

    LLMSettings, Deployment, Secret        settings (keys only in memory or the environment)
    LLMPolicy, HybridPolicy, Exchange      policies; ``policy.stats``, ``policy.last_exchange(agent)``
    SubsetSpec, select_agents, parse_subset  which agents the LLM drives
    LLMStats                               counters (``policy.stats.snapshot()``)
    LLMCache, default_cache_dir            the shared on-disk cache (diskcache)
    ErrorKind                              the closed set of LLM error classes
    verdict, Verdict                       whether a run's fallback share makes it a failed LLM run
    estimate_run, CostEstimate             calls, tokens and price before a run
    test_connection, ConnectionResult      one structured request, for a "Test connection" button
    LLMDemographicInferrer                 S3's demographics module (a ``DemographicInferrer``)
"""

from importlib import import_module

_WHERE = {
    "LLMSettings": "settings",
    "Deployment": "settings",
    "Secret": "settings",
    "LLMPolicy": "policy",
    "HybridPolicy": "policy",
    "Exchange": "policy",
    "SubsetSpec": "subset",
    "select_agents": "subset",
    "parse_subset": "subset",
    "LLMStats": "stats",
    "LLMCache": "cache",
    "default_cache_dir": "cache",
    "ErrorKind": "errors",
    "verdict": "stats",
    "Verdict": "stats",
    "estimate_run": "cost",
    "CostEstimate": "cost",
    "test_connection": "gateway",
    "ConnectionResult": "gateway",
    "LLMDemographicInferrer": "demographics",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
