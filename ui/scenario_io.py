"""Scenario files in and out of the dashboard, and interventions as readable table rows.

An uploaded scenario replaces the current one only when it parses, validates and fits the
network; otherwise the error names the file, the key and the fix, and nothing changes.
"""

from __future__ import annotations

import pandas as pd

from s3core import scenario as S
from s3core.interventions import Boost, Moderation, SeedPost
from s3core.types import label

from .charts import describe_target
from .networks import bundled, synthetic
from .session import Workspace

SYNTHETIC_TAIL = 2.2  # the scenario file has no tail exponent; the engine's default


def parse(name: str, data: bytes) -> S.Scenario:
    """A scenario from uploaded bytes; ScenarioError says which file, line or key is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise S.ScenarioError(f"{name}: not UTF-8 text (byte {exc.start}). Fix: save the file as UTF-8.") from None
    return S.loads(text, origin=name)


def apply(ws: Workspace, scenario: S.Scenario, origin: str) -> str | None:
    """Make ``scenario`` current (loading its bundled or synthetic network); returns a note or None.

    Raises ScenarioError, leaving the workspace untouched, when the scenario does not fit the network.
    """
    spec = scenario.network
    note = None
    if spec.source == "bundled":
        net = bundled()
    elif spec.source == "synthetic":
        try:
            net = synthetic(spec.n_users, spec.mean_followees, spec.reciprocity, SYNTHETIC_TAIL, scenario.seed)
        except ValueError as exc:
            raise S.ScenarioError(f"{origin}: [network] {exc}") from None
    else:
        net = ws.net
        note = (
            f"{origin} names a '{spec.source}' network, which the dashboard cannot open from a scenario file; "
            f"it keeps the loaded network ({ws.net.label}). Upload those files on the Network page."
        )
    candidate = scenario.replace(network=net.spec)
    try:
        ws.build_sim(candidate, net=net)  # builds the population and checks seed authors and post references
    except (ValueError, TypeError) as exc:
        raise S.ScenarioError(f"{origin}: {exc}") from None
    ws.net = net
    ws.scenario = candidate
    return note


def add_intervention(ws: Workspace, item) -> None:
    """Append an intervention after checking it against the network (raises ValueError)."""
    candidate = ws.scenario.replace(interventions=ws.scenario.interventions + (item,))
    ws.build_sim(candidate)
    ws.scenario = candidate


def remove_interventions(ws: Workspace, indices: list[int]) -> None:
    """Drop interventions by position; raises ValueError if what remains no longer fits (e.g. a boost of a removed seed)."""
    keep = tuple(iv for i, iv in enumerate(ws.scenario.interventions) if i not in set(indices))
    candidate = ws.scenario.replace(interventions=keep)
    ws.build_sim(candidate)
    ws.scenario = candidate


def event_seeds(scenario: S.Scenario) -> list[str]:
    """Names of the seed posts at the earliest seed step: by default, the event itself rather than a policy."""
    seeds = [iv for iv in scenario.interventions if isinstance(iv, SeedPost)]
    if not seeds:
        return []
    first = min(iv.step for iv in seeds)
    return [
        iv.name or f"#{i}"
        for i, iv in enumerate(scenario.interventions)
        if isinstance(iv, SeedPost) and iv.step == first
    ]


def seed_labels(scenario: S.Scenario) -> list[str]:
    return [iv.name or f"#{i}" for i, iv in enumerate(scenario.interventions) if isinstance(iv, SeedPost)]


def baseline(scenario: S.Scenario, keep_seeds: list[str]) -> S.Scenario:
    """The scenario without interventions, except the seed posts that start the event (named in ``keep_seeds``)."""
    kept = tuple(
        iv
        for i, iv in enumerate(scenario.interventions)
        if isinstance(iv, SeedPost) and (iv.name or f"#{i}") in keep_seeds
    )
    return scenario.replace(interventions=kept, name=f"{scenario.name}-baseline")


def audience_text(item) -> str:
    a = item.audience
    if a.kind == "everyone":
        return "everyone"
    if a.kind == "fraction":
        return f"random {a.fraction:.0%}"
    if a.kind == "category":
        return f"{label(a.category)} users" if a.category is not None else "a category"
    parts = []
    if a.gender is not None:
        parts.append(label(a.gender))
    if a.occupation is not None:
        parts.append(label(a.occupation))
    if (a.age_min, a.age_max) != (0, 120):
        parts.append(f"aged {a.age_min}-{a.age_max}")
    return ", ".join(parts) or "everyone"


def schedule_frame(interventions) -> pd.DataFrame:
    """One row per intervention, in schedule order, for the builder's table."""
    rows = []
    for i, item in enumerate(interventions):
        row = {
            "#": i,
            "kind": item.kind,
            "step": item.step,
            "duration (steps)": 1,
            "target": "",
            "audience": "",
            "strength": None,
            "details": "",
        }
        if isinstance(item, SeedPost):
            row["target"] = f"seed '{item.name}'" if item.name else "(unnamed seed)"
            row["audience"] = "followers of " + (item.author or "the official account")
            row["details"] = f"{label(item.stance)}, {label(item.emotion)}: {item.text[:60]}"
        elif isinstance(item, Boost):
            row.update(
                {
                    "duration (steps)": item.duration,
                    "target": describe_target(item),
                    "audience": audience_text(item),
                    "strength": item.strength,
                    "details": "chance per step that an audience member is shown it",
                }
            )
        elif isinstance(item, Moderation):
            row.update(
                {
                    "target": describe_target(item),
                    "audience": "everyone",
                    "strength": item.strength if item.action == "downrank" else None,
                    "details": {
                        "remove": "removed from feeds and memory pools",
                        "label": "labelled: persuades and spreads less",
                        "downrank": "visibility kept (0-1)",
                    }[item.action],
                    "kind": f"moderation: {item.action}",
                }
            )
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["#", "kind", "step", "duration (steps)", "target", "audience", "strength", "details"]
    )
