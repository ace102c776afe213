"""Scenarios: one TOML file fully describes a run; this module reads, checks and writes them."""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from . import params as P
from .interventions import Audience, Boost, Intervention, Moderation, SeedPost
from .types import Attitude, Emotion, Gender, Occupation, UserCategory

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NETWORK_SOURCES = ("bundled", "synthetic", "files", "graph", "cascades")


class ScenarioError(ValueError):
    """A scenario that cannot be run, with the file and key at fault."""


@dataclass(frozen=True)
class NetworkSpec:
    """Where the network comes from; only the fields of the chosen source matter."""

    source: str = "bundled"
    edges: str = ""
    users: str = ""
    posts: str = ""
    graph: str = ""
    dataset_dir: str = ""
    dataset: str = "weibo-ced"
    max_edges: int = 0
    n_users: int = 10_000
    mean_followees: float = 10.0
    reciprocity: float = 0.3
    tail_exponent: float = 2.2
    graph_seed: int = -1  # seed of a synthetic graph; -1 derives it from the scenario seed
    max_bytes: int = 200_000_000

    def __post_init__(self):
        if self.source not in NETWORK_SOURCES:
            raise ScenarioError(f"network.source = {self.source!r}: must be one of {', '.join(NETWORK_SOURCES)}")


@dataclass(frozen=True)
class RunOptions:
    """How the engine records a run."""

    checkpoint_every: int = P.param(1, 1, 1000, "Steps between full-state checkpoints in the trace file (resume starts from the latest).")
    backend: str = P.param("heuristic", None, None, "Decision backend: the offline heuristic policy or an LLM.", choices=("heuristic", "llm"))


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a run; the same scenario and seed reproduce the same trace."""

    name: str = "untitled"
    description: str = ""
    seed: int = 0
    steps: int = 30
    minutes_per_step: float = 60.0
    network: NetworkSpec = NetworkSpec()
    population: dict = field(default_factory=dict)
    emotion: P.EmotionParams = P.EmotionParams()
    attitude: P.AttitudeParams = P.AttitudeParams()
    memory: P.MemoryParams = P.MemoryParams()
    platform: P.PlatformParams = P.PlatformParams()
    policy: P.PolicyParams = P.PolicyParams()
    run: RunOptions = RunOptions()
    interventions: tuple[Intervention, ...] = ()
    base_dir: str = ""

    def replace(self, **changes) -> "Scenario":
        return dataclasses.replace(self, **changes)

    def resolve(self, path: str) -> Path:
        """A path from the scenario, relative to the scenario file's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p


_ENUMS = {"stance": Attitude, "emotion": Emotion, "gender": Gender, "occupation": Occupation, "category": UserCategory}


def _enum(where: str, key: str, value: Any):
    """An enum member from its name (any case) or integer code."""
    enum = _ENUMS[key]
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return enum(value)
        except ValueError:
            pass
    elif isinstance(value, str) and value.upper().replace("-", "_").replace(" ", "_") in enum.__members__:
        return enum[value.upper().replace("-", "_").replace(" ", "_")]
    names = ", ".join(m.name.lower() for m in enum)
    raise ScenarioError(f"{where}.{key} = {value!r}: must be one of {names}")


def _build(cls, where: str, table: Any):
    """A dataclass from a TOML table, rejecting unknown keys and out-of-range values."""
    if not isinstance(table, dict):
        raise ScenarioError(f"[{where}] must be a table, got {type(table).__name__}")
    known = {f.name: f for f in fields(cls) if f.init}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ScenarioError(f"[{where}] unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(known))}")
    values = {}
    for key, value in table.items():
        if key in _ENUMS and value is not None and cls in (SeedPost, Boost, Moderation, Audience):
            value = _enum(where, key, value)
        elif key == "audience":
            value = _build(Audience, f"{where}.audience", value)
        else:
            default = known[key].default
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if default is not dataclasses.MISSING and default is not None and not isinstance(value, type(default)):
                if not (key == "post" and isinstance(value, (int, str))):
                    raise ScenarioError(f"{where}.{key} = {value!r}: expected {type(default).__name__}")
        values[key] = value
    try:
        obj = cls(**values)
        if cls in P.PARAM_GROUPS.values() or cls is RunOptions or cls.__name__ == "DemographicParams":
            P.validate(obj)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"[{where}] {exc}") from exc
    return obj


_INTERVENTION_KINDS = {"seed": SeedPost, "boost": Boost, "moderation": Moderation}


def from_dict(data: dict, base_dir: str = "") -> Scenario:
    """A Scenario from parsed TOML, with errors that name the offending key."""
    data = dict(data)
    top = {}
    for key in ("name", "description", "seed", "steps", "minutes_per_step"):
        if key in data:
            top[key] = data.pop(key)
    for key, kind in (("seed", int), ("steps", int), ("minutes_per_step", (int, float))):
        if key in top and (not isinstance(top[key], kind) or isinstance(top[key], bool)):
            raise ScenarioError(f"{key} = {top[key]!r}: expected a number")
    if top.get("steps", 1) < 1:
        raise ScenarioError(f"steps = {top['steps']}: must be at least 1")
    sections = {}
    if "network" in data:
        sections["network"] = _build(NetworkSpec, "network", data.pop("network"))
    if "population" in data:
        population = data.pop("population")
        if not isinstance(population, dict):
            raise ScenarioError("[population] must be a table")
        from .demographics import DemographicParams

        _build(DemographicParams, "population", population)  # check keys and ranges now, not at run time
        sections["population"] = population
    for name, cls in P.PARAM_GROUPS.items():
        if name in data:
            sections[name] = _build(cls, name, data.pop(name))
    if "run" in data:
        sections["run"] = _build(RunOptions, "run", data.pop("run"))
    interventions = []
    for i, table in enumerate(data.pop("interventions", [])):
        where = f"interventions[{i}]"
        if not isinstance(table, dict) or "kind" not in table:
            raise ScenarioError(f"{where} needs kind = one of {', '.join(_INTERVENTION_KINDS)}")
        table = dict(table)
        kind = table.pop("kind")
        if kind not in _INTERVENTION_KINDS:
            raise ScenarioError(f"{where}.kind = {kind!r}: must be one of {', '.join(_INTERVENTION_KINDS)}")
        interventions.append(_build(_INTERVENTION_KINDS[kind], where, table))
    if data:
        raise ScenarioError(f"unknown top-level key {sorted(data)[0]!r}; valid: name, description, seed, steps, minutes_per_step, network, population, {', '.join(P.PARAM_GROUPS)}, run, interventions")
    return Scenario(**top, **sections, interventions=tuple(interventions), base_dir=base_dir)


def load(path: str | Path) -> Scenario:
    """Read a scenario TOML file; errors name the file, and the line for syntax errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return loads(text, base_dir=str(path.resolve().parent), origin=str(path))


def loads(text: str, base_dir: str = "", origin: str = "scenario") -> Scenario:
    """Parse scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: invalid TOML: {exc}") from None
    try:
        return from_dict(data, base_dir=base_dir)
    except ScenarioError as exc:
        raise ScenarioError(f"{origin}: {exc}") from None


def _plain(value: Any) -> Any:
    """TOML-ready form of a value: enums by lower-case name, dataclasses as tables."""
    if isinstance(value, (Attitude, Emotion, Gender, Occupation, UserCategory)):
        return value.name.lower()
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.init and getattr(value, f.name) is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def to_dict(scenario: Scenario) -> dict:
    """The scenario as plain TOML-ready data (no base_dir: that belongs to where it is saved)."""
    out = {k: getattr(scenario, k) for k in ("name", "description", "seed", "steps", "minutes_per_step")}
    out["network"] = _plain(scenario.network)
    if scenario.population:
        out["population"] = _plain(scenario.population)
    for name in (*P.PARAM_GROUPS, "run"):
        out[name] = _plain(getattr(scenario, name))
    out["interventions"] = [{"kind": iv.kind, **_plain(iv)} for iv in scenario.interventions]
    return out


def dumps(scenario: Scenario) -> str:
    """The scenario as TOML text that ``loads`` reads back to an equal scenario."""
    return tomli_w.dumps(to_dict(scenario))
