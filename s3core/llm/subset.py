"""Which agents the LLM drives in a hybrid population: influential users, a seeded random share, a demographic group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import OCCUPATION_LABELS, Gender, Occupation, UserCategory

SUBSET_STREAM = 0x5333_4C4C_4D  # seeds the random share apart from the simulation's own streams


@dataclass(frozen=True)
class SubsetSpec:
    """Filters are combined with AND; ``share`` then keeps a seeded random fraction of who passes.

    With no filter and no share every agent is in the subset (a pure LLM population).
    """

    share: float | None = None
    categories: tuple[str, ...] = ()  # influential, regular, low_impact
    genders: tuple[str, ...] = ()  # female, male
    occupations: tuple[str, ...] = ()  # Occupation names (media, engineer, ...) or labels
    min_age: int | None = None
    max_age: int | None = None
    top_followers: int | None = None  # the N most-followed agents (after the other filters)
    agents: tuple[int, ...] = ()  # agent indices always included

    def __post_init__(self):
        if self.share is not None and not 0.0 <= self.share <= 1.0:
            raise ValueError(f"llm share {self.share}: must lie in [0, 1]")

    def describe(self) -> str:
        parts = [
            f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}"
            for k, v in self.__dict__.items()
            if v not in (None, ())
        ]
        return "; ".join(parts) or "all agents"


def _codes(names, enum, labels=None) -> list[int]:
    out = []
    by_label = {v: k for k, v in (labels or {}).items()}
    for name in names:
        key = name.strip().upper().replace("-", "_").replace(" ", "_")
        if key in enum.__members__:
            out.append(int(enum[key]))
        elif name.strip() in by_label:
            out.append(int(by_label[name.strip()]))
        else:
            raise ValueError(f"{name!r} is not one of {', '.join(m.lower() for m in enum.__members__)}")
    return out


def select_agents(spec: SubsetSpec, network, population, seed: int) -> np.ndarray:
    """Boolean mask over agents; the random share is drawn from ``seed`` (the scenario's)."""
    n = population.size
    keep = np.ones(n, dtype=bool)
    if spec.categories:
        keep &= np.isin(population.category, _codes(spec.categories, UserCategory))
    if spec.genders:
        keep &= np.isin(population.gender, _codes(spec.genders, Gender))
    if spec.occupations:
        keep &= np.isin(population.occupation, _codes(spec.occupations, Occupation, OCCUPATION_LABELS))
    if spec.min_age is not None:
        keep &= population.age >= spec.min_age
    if spec.max_age is not None:
        keep &= population.age <= spec.max_age
    if spec.top_followers is not None:
        followers = np.where(keep, network.follower_count, -1)
        top = np.argsort(-followers, kind="stable")[: spec.top_followers]
        keep = np.zeros(n, dtype=bool)
        keep[top[followers[top] >= 0]] = True
    if spec.share is not None:
        keep &= np.random.default_rng([seed, SUBSET_STREAM]).random(n) < spec.share
    if spec.agents:
        keep[np.asarray(spec.agents, dtype=np.int64)] = True
    return keep


def parse_subset(items: list[str], share: float | None = None) -> SubsetSpec:
    """``SubsetSpec`` from CLI items like ``category=influential``, ``gender=female``, ``occupation=media,engineer``,
    ``age=18-30``, ``top=100``, ``agents=1,2,3``."""
    fields: dict = {"share": share}
    for item in items:
        key, sep, value = item.partition("=")
        values = tuple(v.strip() for v in value.split(",") if v.strip())
        key = key.strip().lower()
        if not sep or not values:
            raise ValueError(f"--llm-subset {item!r}: expected KEY=VALUE")
        if key in ("category", "categories"):
            fields["categories"] = values
        elif key in ("gender", "genders"):
            fields["genders"] = values
        elif key in ("occupation", "occupations"):
            fields["occupations"] = values
        elif key == "age":
            lo, _, hi = value.partition("-")
            fields["min_age"] = int(lo) if lo.strip() else None
            fields["max_age"] = int(hi) if hi.strip() else None
        elif key == "top":
            fields["top_followers"] = int(value)
        elif key == "agents":
            fields["agents"] = tuple(int(v) for v in values)
        else:
            raise ValueError(
                f"--llm-subset {item!r}: unknown key {key!r}; use category, gender, occupation, age, top or agents"
            )
    spec = SubsetSpec(**fields)
    for names, enum in ((spec.categories, UserCategory), (spec.genders, Gender)):
        _codes(names, enum)
    _codes(spec.occupations, Occupation, OCCUPATION_LABELS)
    return spec
