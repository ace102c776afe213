"""Scenarios: one TOML file fully describes a run; this module reads, checks and writes them."""

from __future__ import annotations

import dataclasses
import json
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


def _synthetic(name: str, default):
    """A synthetic-graph field with the range and help declared by SyntheticParams (one source of truth)."""
    from .synthetic import SyntheticParams

    meta = next(f.metadata for f in fields(SyntheticParams) if f.name == name)
    return P.param(default, meta["min"], meta["max"], meta["help"], sources=("synthetic",))


MAX_SEED = 2**31 - 1  # the dashboard's seed widget goes this far; numpy takes any non-negative int
MAX_STEPS = 100_000
# Which sources read which keys: a key set for another source would be silently ignored.
_SOURCE_KEYS = {
    "edges": ("files",),
    "users": ("files",),
    "posts": ("files",),
    "graph": ("graph",),
    "dataset_dir": ("cascades",),
    "dataset": ("cascades",),
    "max_edges": ("cascades",),
    "n_users": ("synthetic",),
    "mean_followees": ("synthetic",),
    "reciprocity": ("synthetic",),
    "tail_exponent": ("synthetic",),
    "graph_seed": ("synthetic",),
    "max_bytes": ("files", "graph"),
    "augment_followees": ("bundled", "files", "graph", "cascades"),
}
_REQUIRED_PATH = {
    "files": ("edges", "path/to/edges.csv"),
    "graph": ("graph", "path/to/file.graphml (or .gexf)"),
    "cascades": ("dataset_dir", "path/to/datasets"),
}


@dataclass(frozen=True)
class NetworkSpec:
    """Where the network comes from; only the fields of the chosen source matter."""

    source: str = P.param("bundled", None, None, "Where the network comes from.", choices=NETWORK_SOURCES)
    edges: str = ""
    users: str = ""
    posts: str = ""
    graph: str = ""
    dataset_dir: str = ""
    dataset: str = "weibo-ced"
    max_edges: int = P.param(0, 0, 2**62, "Earliest distinct repost edges kept from the cascades; 0 keeps all.")
    n_users: int = _synthetic("n_users", 10_000)
    mean_followees: float = _synthetic("mean_followees", 10.0)
    reciprocity: float = _synthetic("reciprocity", 0.3)
    tail_exponent: float = _synthetic("tail_exponent", 2.2)
    graph_seed: int = P.param(-1, -1, MAX_SEED, "Seed of a synthetic graph; -1 derives it from the scenario seed.")
    augment_followees: float = P.param(
        0.0,
        0.0,
        200.0,
        "Mean followees of a follower graph synthesized around a loaded (not synthetic) network: every loaded edge is kept and Chung-Lu edges are added, ranked by the users' real follower counts and activity (s3core.augment); 0 keeps the loaded network as it is.",
    )
    max_bytes: int = P.param(200_000_000, 1, 2**62, "Largest network file read, in bytes.")

    def __post_init__(self):
        try:
            P.validate(self)
        except ValueError as exc:
            raise ScenarioError(str(exc).replace("NetworkSpec.", "network.")) from None
        need = _REQUIRED_PATH.get(self.source)
        if need and not getattr(self, need[0]).strip():
            raise ScenarioError(f"network.source = {self.source!r} needs network.{need[0]} = '{need[1]}'")


@dataclass(frozen=True)
class RunOptions:
    """How the engine records a run."""

    checkpoint_every: int = P.param(
        1, 1, 1000, "Steps between full-state checkpoints in the trace file (resume starts from the latest)."
    )
    backend: str = P.param(
        "heuristic",
        None,
        None,
        "Decision backend: the offline heuristic policy or an LLM.",
        choices=("heuristic", "llm"),
    )


@dataclass(frozen=True)
class Scenario:
    """Everything that defines a run; the same scenario and seed reproduce the same trace."""

    name: str = "untitled"
    description: str = ""
    seed: int = P.param(0, 0, MAX_SEED, "Seed of every random draw of the run; the same seed gives the same run.")
    steps: int = P.param(30, 1, MAX_STEPS, "Steps the run lasts.")
    minutes_per_step: float = P.param(60.0, 1.0, 10_080.0, "Simulated minutes per step; only labels time axes.")
    network: NetworkSpec = NetworkSpec()
    population: dict = field(default_factory=dict)
    profiles: str = ""  # a profiles file (s3core.profiles), relative to base_dir; TOML: [population] profiles
    emotion: P.EmotionParams = P.EmotionParams()
    attitude: P.AttitudeParams = P.AttitudeParams()
    memory: P.MemoryParams = P.MemoryParams()
    platform: P.PlatformParams = P.PlatformParams()
    policy: P.PolicyParams = P.PolicyParams()
    run: RunOptions = RunOptions()
    interventions: tuple[Intervention, ...] = ()
    base_dir: str = ""
    origin: str = field(default="", compare=False)  # the file it was read from, for error messages

    def __post_init__(self):
        for f in fields(self):
            meta, value = f.metadata, getattr(self, f.name)
            if "min" in meta and (isinstance(value, bool) or not meta["min"] <= value <= meta["max"]):
                raise ScenarioError(f"{f.name} = {value!r}: must lie in [{meta['min']}, {meta['max']}]")
        check_interventions(self.interventions)

    def replace(self, **changes) -> "Scenario":
        return dataclasses.replace(self, **changes)

    def resolve(self, path: str) -> Path:
        """A path from the scenario, relative to the scenario file's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir or ".") / p


_AUDIENCE_KEYS = {
    "everyone": (),
    "fraction": ("fraction",),
    "group": ("gender", "occupation", "age_min", "age_max"),
    "category": ("category",),
    "users": ("users",),
}


def check_interventions(interventions: tuple[Intervention, ...]) -> None:
    """Schedule checks that hold wherever a scenario comes from; errors name ``interventions[i].key``.

    Steps are 0 or later; seed posts have text and distinct names; a boost or moderation that
    names a seed comes at or after it; audiences of kind 'category' name one and no audience
    targets gender 'unknown' (no agent has it).
    """
    seeds: dict[str, tuple[int, int]] = {}
    for i, item in enumerate(interventions):
        where = f"interventions[{i}]"
        if isinstance(item.step, bool) or not isinstance(item.step, int) or not 0 <= item.step <= MAX_STEPS:
            raise ScenarioError(
                f"{where}.step = {item.step!r}: must be a whole step in [0, {MAX_STEPS}] (step 0 is the first step)"
            )
        if isinstance(item, SeedPost):
            if not str(item.text).strip():
                raise ScenarioError(f"{where}.text is empty: a seed post needs its text")
            if item.author is not None and not str(item.author).strip():
                raise ScenarioError(f"{where}.author is empty: leave the key out for a post by the official account")
            if item.name:
                if item.name in seeds:
                    raise ScenarioError(
                        f"{where}.name = {item.name!r}: already the name of interventions[{seeds[item.name][0]}]; "
                        "give every seed post its own name"
                    )
                seeds[item.name] = (i, item.step)
    for i, item in enumerate(interventions):
        where = f"interventions[{i}]"
        if isinstance(item, (Boost, Moderation)) and isinstance(item.post, str):
            if item.post not in seeds:
                raise ScenarioError(
                    f"{where}.post = {item.post!r}: no seed post has that name "
                    f"(seed names: {', '.join(repr(n) for n in seeds) or 'none'}); use a seed name or a post id"
                )
            if seeds[item.post][1] > item.step:
                raise ScenarioError(
                    f"{where}.step = {item.step}: the {item.kind} names seed {item.post!r}, which is only "
                    f"posted at step {seeds[item.post][1]}; move it to step {seeds[item.post][1]} or later"
                )
        if isinstance(item, (Boost, Moderation)) and isinstance(item.post, int) and item.post < 0:
            raise ScenarioError(f"{where}.post = {item.post}: a post id is 0 or more")
        if isinstance(item, Boost):
            audience = item.audience
            if audience.kind == "category" and audience.category is None:
                raise ScenarioError(
                    f"{where}.audience.category is missing: kind = 'category' needs category = "
                    f"{', '.join(c.name.lower() for c in UserCategory)}"
                )
            if audience.gender == Gender.UNKNOWN:
                raise ScenarioError(
                    f"{where}.audience.gender = 'unknown': every agent has a gender (unknown ones are "
                    "drawn), so this audience would be empty; use female or male, or leave it out"
                )


def _ignored_keys(where: str, table: dict, used: tuple[str, ...], every: tuple[str, ...], owner: str, defaults) -> None:
    """Refuse keys the chosen kind does not read (set to other than their default): they would be ignored."""
    for key in every:
        if key in table and key not in used and table[key] != getattr(defaults, key):
            setting = owner.split(" =")[0]
            raise ScenarioError(
                f"{where}.{key} = {table[key]!r} is not used when {owner}; remove the key or change {where}.{setting}"
            )


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
    missing = [
        f.name
        for f in known.values()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in table
    ]
    if missing:
        raise ScenarioError(f"[{where}] missing key {missing[0]!r}")
    values = {}
    for key, value in table.items():
        if key in _ENUMS and value is not None and cls in (SeedPost, Boost, Moderation, Audience):
            value = _enum(where, key, value)
        elif key == "audience":
            value = _build(Audience, f"{where}.audience", value)
        elif key == "users" and cls is Audience:
            value = _user_ids(f"{where}.users", value)
        else:
            default = known[key].default
            expected = type(default) if default is not dataclasses.MISSING else _REQUIRED_TYPES.get(key)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if key == "author" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # author = 1002 names user '1002'
            if key == "post" and isinstance(value, (int, str)) and not isinstance(value, bool):
                pass
            elif (
                expected is not None
                and default is not None
                and (not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool))
            ):
                raise ScenarioError(
                    f"{where}.{key} = {value!r}: expected {'a whole number' if expected is int else expected.__name__}"
                )
        values[key] = value
    try:
        obj = cls(**values)
        if cls in P.PARAM_GROUPS.values() or cls is RunOptions or cls.__name__ == "DemographicParams":
            P.validate(obj)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        raise ScenarioError(text if text.startswith(f"{where}.") else f"[{where}] {text}") from exc
    return obj


def _user_ids(where: str, value: Any) -> tuple[str, ...]:
    """A list of user ids (text, or whole numbers) as canonical ids; an empty list or a repeated user is refused."""
    from .loaders.ids import IdError, canonical_id

    if not isinstance(value, list) or not value:
        raise ScenarioError(
            f'{where} = {value!r}: expected a non-empty list of user ids, e.g. users = ["1002", "1003"]'
        )
    ids: dict[str, int] = {}
    for j, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (int, str)) or not str(item).strip():
            raise ScenarioError(f"{where}[{j}] = {item!r}: expected a user id (text in quotes, or a whole number)")
        try:
            user = canonical_id(str(item))
        except IdError as exc:
            raise ScenarioError(f"{where}[{j}] = {item!r}: {exc.problem}") from None
        if user in ids:
            raise ScenarioError(f"{where}[{j}] = {item!r}: already listed as {where}[{ids[user]}]; list each user once")
        ids[user] = j
    return tuple(ids)


_INTERVENTION_KINDS = {"seed": SeedPost, "boost": Boost, "moderation": Moderation}
_REQUIRED_TYPES = {"step": int, "text": str}


def _intervention(where: str, table: dict) -> Intervention:
    """One [[interventions]] table; keys its kind would ignore and steps after the run are refused."""
    table = dict(table)
    kind = table.pop("kind")
    if kind not in _INTERVENTION_KINDS:
        raise ScenarioError(f"{where}.kind = {kind!r}: must be one of {', '.join(_INTERVENTION_KINDS)}")
    if (
        kind == "moderation"
        and table.get("action", "label") != "downrank"
        and "strength" in table
        and table["strength"] != Moderation.__dataclass_fields__["strength"].default
    ):
        raise ScenarioError(
            f"{where}.strength = {table['strength']!r} is used only by action = 'downrank' "
            f"(the visibility it keeps); remove the key for action = {table.get('action', 'label')!r}"
        )
    audience = table.get("audience")
    if isinstance(audience, dict):
        kind_of = audience.get("kind", "everyone")
        every = tuple(k for keys in _AUDIENCE_KEYS.values() for k in keys)
        _ignored_keys(
            f"{where}.audience", audience, _AUDIENCE_KEYS.get(kind_of, every), every, f"kind = {kind_of!r}", Audience()
        )
        if kind_of == "users" and "users" not in audience:
            raise ScenarioError(
                f"{where}.audience.users is missing: kind = 'users' needs users = [\"ID\", ...], "
                "user ids of the network"
            )
    if isinstance(table.get("author"), str):
        from .loaders.ids import IdError, canonical_id

        try:
            table["author"] = canonical_id(table["author"])
        except IdError as exc:
            raise ScenarioError(f"{where}.author = {table['author']!r}: {exc.problem}") from None
    # An intervention at or after ``steps`` is kept (the dashboard lets it be scheduled, so its downloads must
    # load again); runs warn about it through ``after_last_step`` and leave it out.
    return _build(_INTERVENTION_KINDS[kind], where, table)


def after_last_step(scenario: Scenario) -> list[str]:
    """Interventions the run never reaches (scheduled at or after ``steps``), as ``interventions[i] (kind at step s)``.

    A scenario may hold them (a file, a dashboard schedule, a shortened ``--steps``); runs warn and leave them out.
    """
    return [
        f"interventions[{i}] ({item.kind} at step {item.step})"
        for i, item in enumerate(scenario.interventions)
        if item.step >= scenario.steps
    ]


PARAMS_FILE_GROUPS = (*P.PARAM_GROUPS, "minutes_per_step", "network", "replay", "calibration")  # replay: validate only
PARAMS_FILE_NETWORK_KEYS = ("mean_followees", "reciprocity", "tail_exponent", "n_users")


def merge_params_file(data: dict, base_dir: str = "") -> dict:
    """Scenario data with a ``params = "FILE.json"`` file's values (``calibrate`` output) under its own.

    Values written in the scenario win; the file's network statistics apply only to a synthetic
    network. Raises ScenarioError naming the file and key.
    """
    data = dict(data)
    ref = data.pop("params")
    if not isinstance(ref, str) or not ref.strip():
        raise ScenarioError(f"params = {ref!r}: expected the path of a parameter file (JSON, from calibrate)")
    path = Path(ref) if Path(ref).is_absolute() else Path(base_dir or ".") / ref
    try:
        fitted = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"params = {ref!r}: no such file ({path})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"params = {ref!r}: not a JSON parameter file ({exc})") from None
    if not isinstance(fitted, dict) or set(fitted) - set(PARAMS_FILE_GROUPS):
        extra = sorted(set(fitted) - set(PARAMS_FILE_GROUPS)) if isinstance(fitted, dict) else ["(not an object)"]
        raise ScenarioError(f"params = {ref!r}: unknown group {extra[0]!r}; expected {', '.join(PARAMS_FILE_GROUPS)}")
    for group in P.PARAM_GROUPS:
        if group in fitted:
            own = data.get(group, {})
            if not isinstance(own, dict):
                raise ScenarioError(f"[{group}] must be a table")
            data[group] = {**fitted[group], **own}
    if "minutes_per_step" in fitted:
        data.setdefault("minutes_per_step", fitted["minutes_per_step"])
    network = data.get("network", {})
    if isinstance(network, dict) and network.get("source") == "synthetic":
        stats = {k: v for k, v in fitted.get("network", {}).items() if k in PARAMS_FILE_NETWORK_KEYS}
        data["network"] = {**stats, **network}
    return data


def from_dict(data: dict, base_dir: str = "") -> Scenario:
    """A Scenario from parsed TOML, with errors that name the offending key.

    A top-level ``params`` key names a parameter file whose values fill what the scenario leaves out.
    """
    data = dict(data)
    if "params" in data:
        data = merge_params_file(data, base_dir)
    top = {}
    for key in ("name", "description", "seed", "steps", "minutes_per_step"):
        if key in data:
            top[key] = data.pop(key)
    for key, kind in (("seed", int), ("steps", int), ("minutes_per_step", (int, float))):
        if key in top and (not isinstance(top[key], kind) or isinstance(top[key], bool)):
            raise ScenarioError(f"{key} = {top[key]!r}: expected a number")
    if not 1 <= top.get("steps", 1) <= MAX_STEPS:
        raise ScenarioError(f"steps = {top['steps']}: must lie in [1, {MAX_STEPS}]")
    sections = {}
    for key in ("name", "description"):
        if key in top and not isinstance(top[key], str):
            raise ScenarioError(f"{key} = {top[key]!r}: expected text in quotes")
    if "network" in data:
        network = data.pop("network")
        if isinstance(network, dict):
            source = network.get("source", "bundled")
            if source not in NETWORK_SOURCES:
                raise ScenarioError(f"network.source = {source!r}: must be one of {', '.join(NETWORK_SOURCES)}")
            _ignored_keys(
                "network",
                network,
                tuple(k for k, v in _SOURCE_KEYS.items() if source in v),
                tuple(_SOURCE_KEYS),
                f"source = {source!r}",
                NetworkSpec(),
            )
        sections["network"] = _build(NetworkSpec, "network", network)
    if "population" in data:
        population = data.pop("population")
        if not isinstance(population, dict):
            raise ScenarioError("[population] must be a table")
        from .demographics import DemographicParams

        population = dict(population)
        profiles = population.pop("profiles", "")
        if not isinstance(profiles, str):
            raise ScenarioError(f"population.profiles = {profiles!r}: expected a file path in quotes")
        if profiles.strip():
            sections["profiles"] = profiles.strip()
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
        interventions.append(_intervention(where, table))
    if data:
        raise ScenarioError(
            f"unknown top-level key {sorted(data)[0]!r}; valid: name, description, seed, steps, minutes_per_step, params, network, population, {', '.join(P.PARAM_GROUPS)}, run, interventions"
        )
    try:
        return Scenario(**top, **sections, interventions=tuple(interventions), base_dir=base_dir)
    except TypeError as exc:
        raise ScenarioError(str(exc)) from None


def read_utf8(path: Path, what: str, error: type[Exception]) -> str:
    """A text file's content; a missing or non-UTF-8 file raises ``error`` naming it (``what``: "scenario file")."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load(path: str | Path) -> Scenario:
    """Read a scenario TOML file; errors name the file, and the line for syntax errors."""
    path = Path(path)
    text = read_utf8(path, "scenario file", ScenarioError)
    return loads(text, base_dir=str(path.resolve().parent), origin=str(path))


def _with_origin(scenario: Scenario, origin: str) -> Scenario:
    return dataclasses.replace(scenario, origin=origin)


def loads(text: str, base_dir: str = "", origin: str = "scenario") -> Scenario:
    """Parse scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: invalid TOML: {exc}") from None
    try:
        return _with_origin(from_dict(data, base_dir=base_dir), origin)
    except ScenarioError as exc:
        raise ScenarioError(f"{origin}: {exc}") from None


def _plain(value: Any) -> Any:
    """TOML-ready form of a value: enums by lower-case name, dataclasses as tables."""
    if isinstance(value, (Attitude, Emotion, Gender, Occupation, UserCategory)):
        return value.name.lower()
    if dataclasses.is_dataclass(value):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if f.init and getattr(value, f.name) is not None
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def to_dict(scenario: Scenario) -> dict:
    """The scenario as plain TOML-ready data (no base_dir: that belongs to where it is saved)."""
    out = {k: getattr(scenario, k) for k in ("name", "description", "seed", "steps", "minutes_per_step")}
    out["network"] = {
        k: v
        for k, v in _plain(scenario.network).items()
        if k not in _SOURCE_KEYS or scenario.network.source in _SOURCE_KEYS[k]
    }
    if scenario.population or scenario.profiles:
        out["population"] = _plain(scenario.population)
        if scenario.profiles:
            out["population"]["profiles"] = scenario.profiles
    for name in (*P.PARAM_GROUPS, "run"):
        out[name] = _plain(getattr(scenario, name))
    out["interventions"] = [_plain_intervention(iv) for iv in scenario.interventions]
    return out


def _plain_intervention(item: Intervention) -> dict:
    """An intervention as a TOML table without the keys its kind does not read."""
    table = {"kind": item.kind, **_plain(item)}
    if isinstance(item, Moderation) and item.action != "downrank":
        table.pop("strength", None)
    if isinstance(item, Boost):
        used = _AUDIENCE_KEYS[item.audience.kind]
        table["audience"] = {k: v for k, v in table["audience"].items() if k == "kind" or k in used}
    return table


def dumps(scenario: Scenario) -> str:
    """The scenario as TOML text that ``loads`` reads back to an equal scenario."""
    return tomli_w.dumps(to_dict(scenario))
