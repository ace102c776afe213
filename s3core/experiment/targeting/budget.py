"""What a targeting budget buys: k copies of a seed post by chosen accounts, or one showing of it to N chosen users.

Every arm of a targeting run is the baseline plus the targets' interventions, so arms that share
a target share its draws (interventions are keyed by content, ``interventions.content_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from ...interventions import Audience, Boost, SeedPost
from ...scenario import Scenario, ScenarioError
from ..spec import intervention_names

BUDGET_KINDS = ("accounts", "impressions")


class TargetingError(ScenarioError):
    """A targeting request that cannot be run; the message names the option or key at fault."""


@dataclass(frozen=True)
class Budget:
    """``k`` accounts that each post a copy of seed ``post`` at ``step``, or ``k`` users shown it once at ``step``."""

    kind: str
    post: str
    k: int
    step: int

    @property
    def noun(self) -> str:
        return "accounts" if self.kind == "accounts" else "users"


def seed_post(scenario: Scenario, name: str) -> SeedPost:
    """The scenario's seed post called ``name``; the error lists the names there are."""
    seeds = [item for item in scenario.interventions if isinstance(item, SeedPost) and item.name]
    for item in seeds:
        if item.name == name:
            return item
    names = ", ".join(repr(s.name) for s in seeds) or "none (give a seed post a name = ...)"
    raise TargetingError(
        f"{scenario.origin or 'scenario'}: --post {name!r}: no seed post has that name (seed names: {names})"
    )


def make_budget(scenario: Scenario, post: str, kind: str, k: int, steps: int, step: int | None = None) -> Budget:
    """A checked budget on ``scenario`` run for ``steps`` steps; ``step`` defaults to the post's own step."""
    if kind not in BUDGET_KINDS:
        raise TargetingError(f"--budget {kind!r}: must be one of {', '.join(BUDGET_KINDS)}")
    seed = seed_post(scenario, post)
    if k < 1:
        raise TargetingError(f"--k {k}: the budget is 1 or more {'accounts' if kind == 'accounts' else 'users'}")
    step = seed.step if step is None else step
    if not 0 <= step < steps:
        raise TargetingError(
            f"--at {step}: the run has {steps} steps (0 to {steps - 1}); the targeted "
            f"{'posts' if kind == 'accounts' else 'boost'} would never happen; raise --steps "
            f"or choose an earlier step"
        )
    if kind == "impressions" and step < seed.step:
        raise TargetingError(
            f"--at {step}: the boost would come before seed {post!r} is posted (step {seed.step}); "
            f"use step {seed.step} or later"
        )
    return Budget(kind, post, k, step)


def base_scenario(scenario: Scenario, budget: Budget, steps: int) -> Scenario:
    """The baseline every strategy is compared with, cut to ``steps``.

    accounts: without the seed post (and the boosts and moderations that name it); impressions:
    with the post but without its boosts, so the budget is the only push it gets.
    """
    names = intervention_names(scenario.interventions)
    drop = set(names[budget.post] if budget.kind == "accounts" else names.get(f"boost:{budget.post}", []))
    kept = tuple(item for i, item in enumerate(scenario.interventions) if i not in drop and item.step < steps)
    return scenario.replace(steps=steps, interventions=kept)


def targeted(base: Scenario, budget: Budget, post: SeedPost, users: Sequence[str]) -> Scenario:
    """The baseline plus the budget spent on ``users`` (user ids), in a canonical order (a set, not a sequence)."""
    users = tuple(sorted(users))
    if budget.kind == "accounts":
        added = tuple(replace(post, step=budget.step, name=f"{post.name}@{u}", author=u) for u in users)
    else:
        added = (
            (
                Boost(
                    step=budget.step,
                    duration=1,
                    strength=1.0,
                    post=post.name,
                    audience=Audience(kind="users", users=users),
                ),
            )
            if users
            else ()
        )
    return base.replace(interventions=base.interventions + added)


def describe(budget: Budget, users: Sequence[str]) -> str:
    """What an arm adds to the baseline, in words."""
    if budget.kind == "accounts":
        return f"{len(users)} copies of {budget.post!r} at step {budget.step}, by accounts {', '.join(users)}"
    return f"{budget.post!r} shown once at step {budget.step} to users {', '.join(users)}"
