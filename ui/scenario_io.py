"""Scenario files in and out of the dashboard, and interventions as readable table rows.

An uploaded scenario replaces the current one only when it parses, validates and fits the
network; otherwise the error names the file, the key and the fix, and nothing changes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields

import pandas as pd

from s3core import params as P
from s3core import scenario as S
from s3core.interventions import Boost, Moderation, SeedPost
from s3core.loaders import LoadError
from s3core.types import label

from .charts import describe_target
from .networks import LoadedNetwork, NetworkNotFound, from_scenario
from .session import Workspace


@dataclass(frozen=True)
class Upload:
    """A parsed scenario file and whether it has a ``[network]`` section (without one, the loaded network stays)."""

    scenario: S.Scenario
    network_given: bool


def parse_upload(name: str, data: bytes) -> Upload:
    """A scenario from uploaded bytes; ScenarioError says which file, line or key is wrong.

    An empty, whitespace-only or comment-only file is refused: applying it would silently reset
    everything to the defaults.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise S.ScenarioError(f"{name}: not UTF-8 text (byte {exc.start}). Fix: save the file as UTF-8.") from None
    if not text.strip():
        what = "0 bytes" if not data else f"{len(data)} bytes of whitespace only"
        raise S.ScenarioError(
            f"{name}: the file is empty ({what}), so there is nothing to apply. "
            "Fix: upload a scenario file; 'Download scenario (TOML)' gives one to start from."
        )
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        table = None  # S.loads reports it with the line
    if table == {}:
        raise S.ScenarioError(
            f"{name}: the file sets nothing (only comments), so there is nothing to apply. "
            "Fix: upload a scenario file; 'Download scenario (TOML)' gives one to start from."
        )
    return Upload(S.loads(text, origin=name), network_given=table is None or "network" in table)


def parse(name: str, data: bytes) -> S.Scenario:
    """``parse_upload``'s scenario alone."""
    return parse_upload(name, data).scenario


@dataclass(frozen=True)
class Preview:
    """What applying a scenario would make current, and what changes: ``rows`` of (setting, now, after)."""

    origin: str
    scenario: S.Scenario
    net: LoadedNetwork
    rows: tuple[tuple[str, str, str], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """The network and scenario before an apply, restored exactly by ``undo``; ``origin`` names what was applied."""

    net: LoadedNetwork
    scenario: S.Scenario
    origin: str


def _network_of(ws: Workspace, scenario: S.Scenario, origin: str, network_given: bool):
    """The network the scenario names (built through s3core's one path) and a note when the loaded one is kept."""
    if not network_given:
        kept = f"{origin} has no [network] section: the loaded network ({ws.net.label}) is kept"
        if not network_follows_seed(ws.scenario) or scenario.seed == ws.scenario.seed:
            return ws.net, kept + "."
        scenario = scenario.replace(network=ws.net.spec)  # its settings, drawn from the new run seed as the CLI would
        net, _ = _network_of(ws, scenario, origin, True)
        return net, f"{kept}, redrawn from the new seed {scenario.seed}."
    spec = scenario.network
    if spec == ws.net.spec and (not network_follows_seed(scenario) or scenario.seed == ws.scenario.seed):
        return ws.net, None
    try:
        return from_scenario(spec, scenario.seed, ws.run_dir / "uploads", current=ws.net), None
    except NetworkNotFound as exc:
        return ws.net, f"{origin}: {exc}. The loaded network ({ws.net.label}) is kept."
    except (LoadError, ValueError, OSError) as exc:
        raise S.ScenarioError(f"{origin}: [network] {exc}") from None


def preview(ws: Workspace, scenario: S.Scenario, origin: str, network_given: bool = True) -> Preview:
    """What applying ``scenario`` would change, after checking that it fits its network; nothing changes yet.

    Raises ScenarioError naming the file and key when the network cannot be built or the scenario
    does not fit it (e.g. an unknown seed author).
    """
    net, note = _network_of(ws, scenario, origin, network_given)
    candidate = scenario.replace(network=net.spec)
    try:
        ws.build_sim(candidate, net=net)  # builds the population and checks seed authors and post references
    except (ValueError, TypeError) as exc:
        raise S.ScenarioError(f"{origin}: {exc}") from None
    return Preview(origin, candidate, net, tuple(changes(ws.net, ws.scenario, net, candidate)), (note,) if note else ())


def commit(ws: Workspace, plan: Preview) -> Snapshot:
    """Make the previewed network and scenario current; returns what ``undo`` restores."""
    before = Snapshot(ws.net, ws.scenario, plan.origin)
    ws.net = plan.net
    ws.scenario = plan.scenario
    return before


def undo(ws: Workspace, snapshot: Snapshot) -> None:
    """Restore the network and scenario that were current before an apply."""
    ws.net = snapshot.net
    ws.scenario = snapshot.scenario


def apply(ws: Workspace, scenario: S.Scenario, origin: str, network_given: bool = True) -> str | None:
    """Make ``scenario`` current at once (preview, then commit); returns a note (e.g. the network kept) or None.

    Raises ScenarioError, leaving the workspace untouched, when the scenario does not fit the network.
    """
    plan = preview(ws, scenario, origin, network_given)
    commit(ws, plan)
    return " ".join(plan.notes) or None


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "name") and hasattr(value, "value"):
        return label(value)
    return str(value)


def _network_text(net: LoadedNetwork) -> str:
    return f"{net.label}, {net.network.n_edges:,} follow edges"


def changes(net0: LoadedNetwork, before: S.Scenario, net1: LoadedNetwork, after: S.Scenario) -> list[tuple]:
    """(setting, now, after) rows: network, interventions, seed and steps always; other settings when they differ."""
    rows = [
        ("network", _network_text(net0), "kept" if net1 is net0 else _network_text(net1)),
        ("interventions", f"{len(before.interventions)}", f"{len(after.interventions)}"),
        ("seed", f"{before.seed}", f"{after.seed}"),
        ("steps", f"{before.steps}", f"{after.steps}"),
    ]
    for key in ("name", "description", "minutes_per_step", "profiles"):
        if getattr(before, key) != getattr(after, key):
            rows.append((key, _shown(getattr(before, key)), _shown(getattr(after, key))))
    for group in (*P.PARAM_GROUPS, "run"):
        old, new = getattr(before, group), getattr(after, group)
        for f in fields(old):
            if getattr(old, f.name) != getattr(new, f.name):
                rows.append((f"{group}.{f.name}", _shown(getattr(old, f.name)), _shown(getattr(new, f.name))))
    for key in sorted(set(before.population) | set(after.population)):
        old, new = before.population.get(key, "(default)"), after.population.get(key, "(default)")
        if old != new:
            rows.append((f"population.{key}", _shown(old), _shown(new)))
    if before.interventions != after.interventions and len(before.interventions) == len(after.interventions):
        rows.append(("interventions (content)", "as now", "different"))
    return rows


def item_label(i: int, item) -> str:
    """An intervention as people name it: a seed by its name, others by what they act on; with its step."""
    if isinstance(item, SeedPost):
        return (
            f"#{i} seed '{item.name}' at step {item.step}" if item.name else f"#{i} seed (unnamed) at step {item.step}"
        )
    what = describe_target(item)
    kind = f"moderation ({item.action})" if isinstance(item, Moderation) else item.kind
    return f"#{i} {kind} of {what} at step {item.step}" if what else f"#{i} {kind} at step {item.step}"


def late_interventions(scenario: S.Scenario, only: list[int] | None = None) -> str | None:
    """A warning naming interventions at or after the run's end (step >= steps), or None when all fall inside.

    ``only`` limits it to these positions (the one just added). Such an intervention is kept, not
    refused: raising steps brings it back into the run.
    """
    picked = range(len(scenario.interventions)) if only is None else only
    late = [i for i in picked if scenario.interventions[i].step >= scenario.steps]
    if not late:
        return None
    one = len(late) == 1
    latest = max(scenario.interventions[i].step for i in late)
    return (
        f"{'; '.join(item_label(i, scenario.interventions[i]) for i in late)}: after the run's last step "
        f"(step {scenario.steps - 1}; steps = {scenario.steps}), so {'it never happens' if one else 'they never happen'} "
        f"in a run. Raise Steps (Scenario, below) to {latest + 1} or more, or move {'it' if one else 'them'} earlier."
    )


def network_follows_seed(scenario: S.Scenario) -> bool:
    """Whether the scenario's network is drawn from its run seed (synthetic without graph_seed, or augmented)."""
    spec = scenario.network
    return (spec.source == "synthetic" and spec.graph_seed < 0) or (
        spec.source != "synthetic" and spec.augment_followees > 0
    )


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
            "strength": "",  # blank for kinds without one: a None would show as "None"
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
                    "strength": f"{item.strength:g}",
                    "details": "chance per step that an audience member is shown it",
                }
            )
        elif isinstance(item, Moderation):
            row.update(
                {
                    "target": describe_target(item),
                    "audience": "everyone",
                    "strength": f"{item.strength:g}" if item.action == "downrank" else "",
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
