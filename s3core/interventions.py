"""Interventions as data: seed posts, recommendation boosts and moderation, scheduled by step."""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Attitude, Emotion, Gender, Occupation, UserCategory

AUDIENCE_KINDS = ("everyone", "fraction", "group", "category", "users")
MODERATION_ACTIONS = ("remove", "downrank", "label")


@dataclass(frozen=True)
class Audience:
    """Who an intervention reaches: everyone, a random fraction, a demographic group, a user category or listed users.

    ``users`` (kind 'users') holds user ids of the network. It is left out of ``repr``, which keys
    a boost's draws (``content_keys``): a listed user gets the same draws whoever else is listed,
    so arms that target different users stay paired, and other audiences keep the keys they had.
    """

    kind: str = "everyone"
    fraction: float = 1.0
    gender: Gender | None = None
    occupation: Occupation | None = None
    age_min: int = 0
    age_max: int = 120
    category: UserCategory | None = None
    users: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self):
        if self.kind not in AUDIENCE_KINDS:
            raise ValueError(f"audience kind {self.kind!r}: must be one of {', '.join(AUDIENCE_KINDS)}")
        if not isinstance(self.users, tuple) or not all(isinstance(u, str) and u.strip() for u in self.users):
            raise ValueError(f"audience users {self.users!r}: must be a tuple of user ids (non-empty text)")
        if (self.kind == "users") != bool(self.users):
            raise ValueError("an audience of kind 'users' lists one or more users, and only that kind lists users")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"audience fraction {self.fraction}: must lie in [0, 1]")
        if self.age_min > self.age_max:
            raise ValueError(f"audience age_min {self.age_min} exceeds age_max {self.age_max}")


@dataclass(frozen=True)
class SeedPost:
    """A post injected at ``step``: by a named user, or by the official account when ``author`` is None."""

    step: int
    text: str
    name: str = ""
    author: str | None = None
    stance: Attitude = Attitude.NEGATIVE
    emotion: Emotion = Emotion.MODERATE
    kind: str = field(default="seed", init=False)


@dataclass(frozen=True)
class Boost:
    """The platform pushes a post (by seed name or post id) or posts of a stance to an audience."""

    step: int
    duration: int = 1
    strength: float = 0.1
    post: str | int | None = None
    stance: Attitude | None = None
    audience: Audience = Audience()
    kind: str = field(default="boost", init=False)

    def __post_init__(self):
        if (self.post is None) == (self.stance is None):
            raise ValueError("a boost targets exactly one of: post (seed name or post id) or stance")
        if not 0.0 < self.strength <= 1.0:
            raise ValueError(
                f"boost strength {self.strength}: the chance per step that an audience member sees the post, in (0, 1]"
            )
        if self.duration < 1:
            raise ValueError(f"boost duration {self.duration}: must be at least one step")


@dataclass(frozen=True)
class Moderation:
    """Remove, down-rank or label a post (and its reposts) or every post of a stance.

    ``strength`` is the visibility kept by a down-rank (0..1) and is unused otherwise.
    """

    step: int
    action: str = "label"
    post: str | int | None = None
    stance: Attitude | None = None
    strength: float = 0.3
    kind: str = field(default="moderation", init=False)

    def __post_init__(self):
        if self.action not in MODERATION_ACTIONS:
            raise ValueError(f"moderation action {self.action!r}: must be one of {', '.join(MODERATION_ACTIONS)}")
        if (self.post is None) == (self.stance is None):
            raise ValueError("a moderation targets exactly one of: post (seed name or post id) or stance")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"moderation strength {self.strength}: must lie in [0, 1]")


Intervention = SeedPost | Boost | Moderation


def due(interventions: tuple[Intervention, ...], step: int) -> list[Intervention]:
    """Interventions that start at this step, in schedule order."""
    return [iv for iv in interventions if iv.step == step]


def active_boosts(interventions: tuple[Intervention, ...], step: int) -> list[tuple[int, Boost]]:
    """Boosts running during this step, with their index in the schedule."""
    return [
        (i, iv)
        for i, iv in enumerate(interventions)
        if isinstance(iv, Boost) and iv.step <= step < iv.step + iv.duration
    ]


def content_keys(interventions: tuple[Intervention, ...]) -> list[int]:
    """A stable key per intervention: its content, plus its rank among identical ones.

    Keys do not depend on other interventions, so a boost draws the same numbers in every arm
    that contains it, whatever else the arm adds or removes (common random numbers).
    """
    from .keyed_random import content_key

    seen: dict[str, int] = {}
    keys = []
    for item in interventions:
        text = repr(item)
        keys.append(content_key(text, seen.get(text, 0)))
        seen[text] = seen.get(text, 0) + 1
    return keys
