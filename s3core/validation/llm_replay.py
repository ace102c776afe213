"""The LLM backend in ``validate``'s replays: one gateway (client, cache, counters) for the whole validation,
a fresh ``HybridPolicy`` for each replayed cascade.

A replay network is small (the cascade's N participants plus its author), so by default the LLM drives
every agent of it (``SubsetSpec()``: no filter, no share); ``--llm-share`` / ``--llm-subset`` select as in
``run``, drawn per replay network from the validation seed. Free runs, the independent-cascade baseline
and the individual-level reports stay heuristic: only the replayed population curves are the LLM's.
"""

from __future__ import annotations

from pathlib import Path

from ..llm.cache import LLMCache
from ..llm.gateway import Gateway
from ..llm.policy import HybridPolicy, LLMPolicy
from ..llm.settings import LLMSettings
from ..llm.stats import LLMStats
from ..llm.subset import SubsetSpec


class ReplayPolicies:
    """Callable ``(cascade_id) -> HybridPolicy``: a new policy per replay, all sharing one gateway.

    A policy per replay because a policy keys its subset mask and history index by the network it
    last saw; sharing the gateway keeps one connection pool, one cache and one set of counters.
    ``close()`` when done (closes the client and the cache).
    """

    def __init__(self, settings: LLMSettings, spec: SubsetSpec, cache_path: Path | None, notify=None):
        self.settings = settings
        self.spec = spec
        self.cache_path = cache_path
        self.gateway = Gateway(settings, LLMCache(cache_path), notify=notify)
        self.replays = 0
        self.agents = 0  # LLM-driven agents summed over the replay networks

    def __call__(self, cascade_id: str, event: str | None = None) -> HybridPolicy:
        """The policy of one replay; ``event`` overrides the prompts' event line (default: the source post)."""
        self.replays += 1
        return _Counted(LLMPolicy(self.settings, gateway=self.gateway, event=event), self.spec, self)

    @property
    def stats(self) -> LLMStats:
        return self.gateway.stats

    def summary(self) -> dict:
        """What the JSON and the DuckDB summary carry under ``llm``: settings (no keys), subset, counters."""
        s = self.settings
        return {
            "model": s.model,
            "api_base": s.api_base,
            "agent_mode": s.agent_mode,
            "batch_size": s.batch_size if s.agent_mode == "batched" else None,
            "mode": s.mode,
            "temperature": s.temperature,
            "subset": self.spec.describe(),
            "drives": "replay",
            "replays": self.replays,
            "llm_agents": self.agents,
            "cache": str(self.cache_path) if self.cache_path else None,
            "stats": self.stats.as_dict(),
        }

    def close(self) -> None:
        self.gateway.close()


class _Counted(HybridPolicy):
    """A ``HybridPolicy`` that adds its network's LLM agents to the owner's count once it knows them."""

    def __init__(self, llm: LLMPolicy, subset: SubsetSpec, owner: ReplayPolicies):
        super().__init__(llm, subset)
        self._owner = owner
        self._counted = False

    def mask(self, sim):
        out = super().mask(sim)
        if not self._counted:
            self._counted = True
            self._owner.agents += int(out.sum())
        return out


# -- the ``validate`` flags ------------------------------------------------------------------------------
_LLM_ONLY = (  # flags that mean nothing without --backend llm: (attribute, flag)
    ("model", "--model"),
    ("api_base", "--api-base"),
    ("agent_mode", "--agent-mode"),
    ("batch_size", "--batch-size"),
    ("llm_share", "--llm-share"),
    ("llm_subset", "--llm-subset"),
    ("llm_cache", "--llm-cache"),
)


def add_arguments(parser) -> None:
    """``validate``'s LLM flags: the backend, the connection (as ``run``), the agent mode, the subset, the cache."""
    from ..llm import cli as llm_cli

    g = parser.add_argument_group("LLM backend for the replays (keys come from the environment, e.g. OPENAI_API_KEY)")
    g.add_argument(
        "--backend",
        choices=("heuristic", "llm"),
        default="heuristic",
        help="who decides in the replays (default heuristic); free runs and baselines stay heuristic",
    )
    llm_cli.add_connection_arguments(g)
    llm_cli.add_mode_arguments(g)
    g.add_argument(
        "--llm-share",
        type=float,
        help="seeded random share of each replay network's agents the LLM drives (default: all of them)",
    )
    g.add_argument(
        "--llm-subset",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="restrict the LLM agents as in run, repeatable: category=influential, gender=female, top=10, ...",
    )
    g.add_argument(
        "--llm-cache",
        help="cache directory (default: $S3_LLM_CACHE, else the shared user cache); 'none' for memory only",
    )


def refusal(args) -> str | None:
    """Why these flags cannot run together (one line), or None; checked before any work."""
    if args.backend != "llm":
        given = [flag for attr, flag in _LLM_ONLY if getattr(args, attr, None) not in (None, [])]
        if given:
            return f"{given[0]} needs --backend llm"
        return None
    if args.workers > 1:
        return "--backend llm replays in one process (each step's calls are already concurrent): use --workers 1"
    if args.batch_size is not None and args.agent_mode != "batched":
        return "--batch-size applies to --agent-mode batched"
    return None


def policies_from_args(args) -> ReplayPolicies:
    """The replays' policies from the flags. Raises ValueError naming a bad flag (no model, a bad subset or cache)."""
    from ..llm import cli as llm_cli
    from ..llm.cache import resolve_cache_dir
    from ..llm.subset import parse_subset

    settings = llm_cli.settings_from_args(args)
    spec = parse_subset(args.llm_subset, args.llm_share)
    return ReplayPolicies(settings, spec, resolve_cache_dir(args.llm_cache), notify=llm_cli.say)


def finish(policies: ReplayPolicies, result: dict | None) -> int:
    """Close the policies, print their counters and the verdict to stderr, add ``llm`` to ``result``
    (None when validation stopped early: the counters are printed only if a request was made).

    Returns the exit status: 0, or ``run``'s ``FALLBACK_EXIT`` when most LLM decisions fell back.
    """
    import sys

    from ..llm.cli import FALLBACK_EXIT
    from ..llm.stats import verdict

    policies.close()
    stats = policies.stats
    if result is None and not stats.requests:  # refused before any replay: nothing to count
        return 0
    print(stats.line(), file=sys.stderr)
    judged = verdict(stats)
    print(f"{'error: ' if judged.failed else ''}llm: {judged.message()}", file=sys.stderr)
    if result is not None:
        result["llm"] = {**policies.summary(), "failed": judged.failed}
    return FALLBACK_EXIT if judged.failed else 0
