"""Experiment files: a base scenario, arms that change it, the seeds and the outcomes to report.

An experiment TOML names its scenario (relative to the experiment file), the number of seeds
and the arms. Each arm removes interventions by name, adds intervention tables written as in
scenarios, and changes parameter groups (``[arms.policy]``, ...). An arm can branch from the
baseline mid-run (``from_step = t``: it continues from the baseline's state before step t, with
its changes from then on), and can swap the S3 agent model for a classical diffusion model
(``model = "independent_cascade"`` or ``"linear_threshold"``, on the platform those assume:
``classical.classical_scenario``). Every arm is checked here, once, so a run never fails
half-way on a bad arm; errors name the file and the key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import params as P
from .. import scenario as S
from ..classical import classical_scenario
from ..interventions import Boost, Intervention, Moderation, SeedPost

OUTCOMES = (
    "final_reach",
    "half_reach_minutes",
    "peak_emotion",
    "peak_emotion_minutes",
    "trough_positive",
    "trough_minutes",
    "final_positive",
)
MAX_SEEDS = 10_000
_TOP_KEYS = (
    "name",
    "description",
    "scenario",
    "seeds",
    "first_seed",
    "steps",
    "outcomes",
    "outcomes_from_step",
    "arms",
)
_ARM_KEYS = ("name", "description", "add", "remove", "from_step", "model", *P.PARAM_GROUPS)
MODELS = ("agents", "independent_cascade", "linear_threshold")
IMPLICIT_BASELINE = "baseline"


class ExperimentError(S.ScenarioError):
    """An experiment that cannot be run, with the file and key at fault."""


@dataclass(frozen=True)
class Arm:
    """One arm: its own complete scenario (the seed is set per run) and what it changes, in words."""

    name: str
    scenario: S.Scenario
    changes: tuple[str, ...] = ()
    description: str = ""
    from_step: int = 0  # > 0: continue from the baseline's snapshot before this step
    model: str = "agents"  # one of MODELS: the S3 agent model or a classical diffusion baseline
    model_p: float = 0.1  # independent cascade's activation chance per newly active followee


@dataclass(frozen=True)
class Experiment:
    """A checked experiment; ``arms[0]`` is the baseline every other arm is compared with."""

    name: str
    description: str
    scenario_path: str
    seeds: tuple[int, ...]
    steps: int
    outcomes: tuple[str, ...]
    arms: tuple[Arm, ...]
    origin: str = ""
    notes: tuple[str, ...] = ()  # warnings to show, e.g. interventions left out by ``steps``
    outcomes_from_step: int = 0  # peaks and troughs are looked for from this step on

    @property
    def baseline(self) -> Arm:
        return self.arms[0]

    def fingerprint(self) -> str:
        """What a stored run depends on (arms' scenarios and steps, not the seed count), to check a resume."""
        return json.dumps(
            {
                "steps": self.steps,
                "outcomes_from_step": self.outcomes_from_step,
                "arms": {
                    a.name: [S.dumps(a.scenario.replace(seed=0)), a.from_step, a.model, a.model_p] for a in self.arms
                },
            },
            sort_keys=True,
        )


def intervention_names(interventions: tuple[Intervention, ...]) -> dict[str, list[int]]:
    """Names ``remove`` accepts, each with the interventions it removes.

    A seed post by its name (which also removes the boosts and moderations that name it), any
    boost or moderation as ``kind:target`` (``boost:correction``, ``moderation:negative``), and
    any intervention as ``interventions[i]``.
    """
    names: dict[str, list[int]] = {}
    seeds = {item.name: i for i, item in enumerate(interventions) if isinstance(item, SeedPost) and item.name}
    for i, item in enumerate(interventions):
        names.setdefault(f"interventions[{i}]", []).append(i)
        if isinstance(item, SeedPost) and item.name:
            names.setdefault(item.name, []).append(i)
        elif isinstance(item, (Boost, Moderation)):
            target = item.post if item.post is not None else item.stance.name.lower()
            names.setdefault(f"{item.kind}:{target}", []).append(i)
            if isinstance(item.post, str) and item.post in seeds:
                names[item.post].append(i)
    return names


def _fail(origin: str, message: str) -> ExperimentError:
    return ExperimentError(f"{origin}: {message}")


def _whole(origin: str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(origin, f"{key} = {value!r}: expected a whole number in [{lo}, {hi}]")
    return value


def _text(origin: str, key: str, value: Any, required: bool = False) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(origin, f"{key} = {value!r}: expected {'non-empty ' if required else ''}text in quotes")
    return value


def _base_scenario(origin: str, ref: Any, base_dir: Path) -> tuple[str, S.Scenario]:
    ref = _text(origin, "scenario", ref, required=True)
    path = Path(os.path.normpath(ref if Path(ref).is_absolute() else base_dir / ref))  # no "a/../b" in messages
    try:
        scenario = S.load(path)
    except S.ScenarioError as exc:
        raise _fail(origin, f"scenario = {ref!r}: {exc}") from None
    if scenario.run.backend != "heuristic":
        raise _fail(
            origin,
            f"scenario = {ref!r} uses run.backend = {scenario.run.backend!r}; experiments run the "
            "offline heuristic policy only",
        )
    return ref, scenario


def _arm(origin: str, i: int, table: Any, base: S.Scenario, steps: int) -> Arm:
    """One ``[[arms]]`` table as a complete scenario; removals resolve against the full base schedule."""
    where = f"arms[{i}]"
    if not isinstance(table, dict):
        raise _fail(origin, f"{where} must be a table")
    unknown = sorted(set(table) - set(_ARM_KEYS))
    if unknown:
        raise _fail(origin, f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(_ARM_KEYS)}")
    if "name" not in table:
        raise _fail(origin, f"{where}: missing key 'name'")
    name = _text(origin, f"{where}.name", table["name"], required=True)
    changes: list[str] = []
    remove = table.get("remove", [])
    if not isinstance(remove, list):
        raise _fail(origin, f"{where}.remove = {remove!r}: expected a list of seed or intervention names")
    names = intervention_names(base.interventions)
    dropped: set[int] = set()
    for j, ref in enumerate(remove):
        if isinstance(ref, str) and ref not in names and re.fullmatch(r"interventions\[\d+\]", ref):
            n = len(base.interventions)
            raise _fail(
                origin,
                f"{where}.remove[{j}] = {ref!r}: the scenario has {n} intervention"
                f"{'' if n == 1 else 's'}" + (f", interventions[0] to interventions[{n - 1}]" if n else ""),
            )
        if not isinstance(ref, str) or ref not in names:
            known = ", ".join(repr(n) for n in names if not n.startswith("interventions[")) or "none"
            raise _fail(
                origin,
                f"{where}.remove[{j}] = {ref!r}: no seed or intervention of the scenario has that "
                f"name (names: {known}; or interventions[i])",
            )
        dropped.update(names[ref])
        changes.append(f"remove {ref}")
    kept = tuple(item for k, item in enumerate(base.interventions) if k not in dropped and item.step < steps)
    add = table.get("add", [])
    if not isinstance(add, list):
        raise _fail(origin, f"{where}.add = {add!r}: expected a list of intervention tables")
    added = []
    for j, item in enumerate(add):
        at = f"{where}.add[{j}]"
        if not isinstance(item, dict) or "kind" not in item:
            raise _fail(origin, f"{at} needs kind = one of seed, boost, moderation")
        try:
            added.append(S._intervention(at, item))
        except S.ScenarioError as exc:
            raise _fail(origin, str(exc)) from None
        if added[-1].step >= steps:
            raise _fail(
                origin,
                f"{at}.step = {added[-1].step}: the arms run steps = {steps} (steps 0 to {steps - 1}), so it "
                "would never happen; raise steps or move the intervention earlier",
            )
        changes.append(f"add {added[-1].kind} at step {added[-1].step}")
    groups = {}
    for group, cls in P.PARAM_GROUPS.items():
        if group in table:
            if not isinstance(table[group], dict):
                raise _fail(origin, f"[{where}.{group}] must be a table")
            merged = {**S._plain(getattr(base, group)), **table[group]}
            try:
                groups[group] = S._build(cls, f"{where}.{group}", merged)
            except S.ScenarioError as exc:
                raise _fail(origin, str(exc).replace(f"{cls.__name__}.", f"{where}.{group}.")) from None
            changes.extend(f"{group}.{k} = {v!r}" for k, v in table[group].items())
    model, model_p = _model(origin, where, table.get("model", "agents"))
    if model != "agents":
        changes.append(
            f"model {model}"
            + (f" (p = {model_p})" if model == "independent_cascade" else "")
            + " on its platform: attention 1, no recommender, no feed delay"
        )
    try:
        scenario = base.replace(steps=steps, interventions=kept + tuple(added), **groups)
        if model != "agents":
            scenario = classical_scenario(scenario)
    except S.ScenarioError as exc:  # name the arm's own keys: interventions past the kept ones are its add[j]
        message = re.sub(r"interventions\[(\d+)\]", lambda m: _own_key(where, int(m.group(1)), len(kept)), str(exc))
        raise _fail(origin, f"{where} ({name!r}): {message}") from None
    from_step = 0
    if "from_step" in table:
        from_step = _whole(origin, f"{where}.from_step", table["from_step"], 1, steps - 1)
        changes.append(f"from step {from_step}")
    return Arm(
        name,
        scenario,
        tuple(changes),
        _text(origin, f"{where}.description", table.get("description", "")),
        from_step=from_step,
        model=model,
        model_p=model_p,
    )


def describe(item: Intervention) -> str:
    """An intervention in words, as a person would name it: ``seed 'rumour' (step 0)``."""
    if isinstance(item, SeedPost):
        return f"seed {item.name or item.text[:20]!r} (step {item.step})"
    target = repr(item.post) if item.post is not None else f"{item.stance.name.lower()} posts"
    what = "boost" if isinstance(item, Boost) else f"moderation ({item.action})"
    return f"{what} of {target} (step {item.step})"


def _check_branch(origin: str, where: str, arm: Arm, baseline: Arm) -> None:
    """A branch shares the baseline's history, so before its step its schedule must be the baseline's."""
    t = arm.from_step
    if not t:
        return
    mine, theirs = ({repr(item): item for item in a.scenario.interventions if item.step < t} for a in (arm, baseline))
    if sorted(mine) != sorted(theirs):
        odd = next((item for key, item in mine.items() if key not in theirs), None)
        what = (
            f"it has {describe(odd)}, which the baseline has not"
            if odd
            else f"the baseline has {describe(next(i for k, i in theirs.items() if k not in mine))}, which it has not"
        )
        raise _fail(
            origin,
            f"{where}.from_step = {t}: a branch continues the baseline's run, so before step {t} its "
            f"interventions must be the baseline's ({baseline.name!r}); {what}",
        )


def _own_key(where: str, index: int, kept: int) -> str:
    """``interventions[i]`` of an arm's scenario as the key a person wrote: the base's, or the arm's ``add[j]``."""
    return f"{where}.add[{index - kept}]" if index >= kept else f"interventions[{index}] of the scenario"


def _model(origin: str, where: str, value: Any) -> tuple[str, float]:
    """``model = "linear_threshold"`` or ``model = { kind = "independent_cascade", p = 0.05 }``."""
    table = {"kind": value} if isinstance(value, str) else value
    if not isinstance(table, dict) or table.get("kind") not in MODELS:
        raise _fail(
            origin,
            f"{where}.model = {value!r}: expected one of {', '.join(MODELS)} "
            '(or { kind = "independent_cascade", p = 0.1 })',
        )
    extra = sorted(set(table) - {"kind", "p"}) or (
        ["p"] if "p" in table and table["kind"] != "independent_cascade" else []
    )
    if extra:
        raise _fail(
            origin, f"{where}.model: unknown key {extra[0]!r} for {table['kind']} (only independent_cascade takes p)"
        )
    p = table.get("p", 0.1)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise _fail(origin, f"{where}.model.p = {p!r}: expected a chance in [0, 1]")
    return table["kind"], float(p)


def from_dict(data: dict, base_dir: str | Path = ".", origin: str = "experiment") -> Experiment:
    """An Experiment from parsed TOML; errors name ``origin`` and the key."""
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise _fail(origin, f"unknown top-level key {unknown[0]!r}; valid: {', '.join(_TOP_KEYS)}")
    for key in ("scenario", "seeds"):
        if key not in data:
            raise _fail(origin, f"missing key {key!r}")
    name = _text(origin, "name", data.get("name", Path(origin).stem), required=True)
    ref, base = _base_scenario(origin, data["scenario"], Path(base_dir))
    n_seeds = _whole(origin, "seeds", data["seeds"], 1, MAX_SEEDS)
    first = _whole(origin, "first_seed", data.get("first_seed", base.seed), 0, S.MAX_SEED - n_seeds + 1)
    steps = _whole(origin, "steps", data.get("steps", base.steps), 1, S.MAX_STEPS)
    outcomes = data.get("outcomes", list(OUTCOMES))
    if not isinstance(outcomes, list) or not outcomes:
        raise _fail(origin, f"outcomes = {outcomes!r}: expected a non-empty list of {', '.join(OUTCOMES)}")
    for j, outcome in enumerate(outcomes):
        if outcome not in OUTCOMES:
            raise _fail(origin, f"outcomes[{j}] = {outcome!r}: must be one of {', '.join(OUTCOMES)}")
    from_step = _whole(origin, "outcomes_from_step", data.get("outcomes_from_step", 0), 0, steps - 1)
    tables = data.get("arms", [])
    if not isinstance(tables, list):
        raise _fail(origin, "arms must be an array of tables: [[arms]]")
    arms = [_arm(origin, i, table, base, steps) for i, table in enumerate(tables)]
    seen: dict[str, int] = {}
    for i, arm in enumerate(arms):
        if arm.name in seen:
            raise _fail(
                origin,
                f"arms[{i}].name = {arm.name!r}: already the name of arms[{seen[arm.name]}]; "
                "give every arm its own name",
            )
        seen[arm.name] = i
    if IMPLICIT_BASELINE in seen:
        arms.insert(0, arms.pop(seen[IMPLICIT_BASELINE]))
    elif len(arms) < 2:
        arms.insert(0, _arm(origin, len(arms), {"name": IMPLICIT_BASELINE}, base, steps))
    if arms[0].from_step:
        raise _fail(
            origin,
            f"arms[{seen.get(arms[0].name, 0)}] ({arms[0].name!r}) is the baseline, which other arms "
            "branch from; it cannot have from_step",
        )
    for arm in arms[1:]:
        _check_branch(origin, f"arms[{seen[arm.name]}]", arm, arms[0])
    late = S.after_last_step(base.replace(steps=steps))
    notes = (f"steps = {steps} leaves out {', '.join(late)} of the scenario (after the last step)",) if late else ()
    return Experiment(
        name=name,
        description=_text(origin, "description", data.get("description", "")),
        scenario_path=ref,
        seeds=tuple(range(first, first + n_seeds)),
        steps=steps,
        outcomes=tuple(o for o in OUTCOMES if o in outcomes),
        arms=tuple(arms),
        origin=origin,
        notes=notes,
        outcomes_from_step=from_step,
    )


def load(path: str | Path) -> Experiment:
    """Read an experiment TOML file; the scenario path is relative to it."""
    path = Path(path)
    return from_dict(read_data(path), base_dir=path.resolve().parent, origin=str(path))


def read_data(path: str | Path) -> dict:
    """An experiment file's parsed TOML, unchecked; raises ExperimentError naming the file if it is not UTF-8 TOML."""
    return parse_toml(S.read_utf8(Path(path), "experiment file", ExperimentError), origin=str(path))


def parse_toml(text: str, origin: str = "experiment") -> dict:
    """TOML text as a dict; raises ExperimentError naming ``origin``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{origin}: invalid TOML: {exc}") from None


def loads(text: str, base_dir: str | Path = ".", origin: str = "experiment") -> Experiment:
    """Parse experiment TOML text."""
    return from_dict(parse_toml(text, origin), base_dir=base_dir, origin=origin)
