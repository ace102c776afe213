"""What an interviewed agent is and knows, as plain values: S3's persona (``prompts.Profile``), its state, its memory
pool (strongest influence first) and its last decision, built from the dashboard's ``inspect()`` or a simulation."""

from __future__ import annotations

from dataclasses import dataclass

from ..types import Action, Attitude, Emotion, Source
from . import prompts as P

MEMORY_SHOWN = 5  # pool posts in the prompt, strongest influence first
HISTORY_SHOWN = 3  # the agent's own earlier posts shown as its voice
_NAMES = {"emotion": Emotion, "attitude": Attitude}


@dataclass(frozen=True)
class MemoryItem:
    """One post in the agent's memory pool: its text, stance and emotion (lower-case names), its influence score."""

    text: str
    stance: str
    emotion: str
    influence: float
    source: str = ""  # followee, mutual, recommended, own
    arrived_step: int = -1


@dataclass(frozen=True)
class LastDecision:
    """The agent's latest decision: at ``step`` it read ``focal_text`` and chose ``action`` (names, lower case)."""

    step: int
    action: str
    emotion_before: str
    emotion_after: str
    attitude_before: str
    attitude_after: str
    focal_text: str
    focal_source: str = ""


@dataclass(frozen=True)
class AgentSnapshot:
    """One agent at one moment, as an interview needs it (plain values, no arrays).

    ``gender``, ``occupation`` and ``category`` are the ``types`` enum codes (as ``prompts.Profile`` takes them);
    ``step`` is the next step to run (0: before the first), so the state is the state after step ``step - 1``.
    ``memory`` is strongest influence first.
    """

    agent: int
    user_id: str
    step: int
    age: int
    gender: int
    occupation: int
    category: int
    followers: int
    aware: bool
    aware_step: int
    emotion: str
    attitude: str
    actions_taken: int
    memory: tuple[MemoryItem, ...] = ()
    decision: LastDecision | None = None
    description: str = ""
    history: tuple[str, ...] = ()

    def profile(self) -> P.Profile:
        return P.Profile(self.age, self.gender, self.occupation, self.category, self.description, self.history)


def _name(kind: str, value) -> str:
    return value if isinstance(value, str) else _NAMES[kind](int(value)).name.lower()


def snapshot_from_inspect(info: dict, description: str = "", history: tuple[str, ...] = ()) -> AgentSnapshot:
    """A snapshot from the dashboard's ``LiveRun.inspect(agent)`` dict.

    ``info["pool"]`` rows carry ``text``, ``stance``, ``emotion`` (names), ``score`` (influence), ``source``
    (name) and ``arrived_step``; ``info["decision"]`` is None or a dict with ``step``, ``action``, ``emotion``,
    ``new_emotion``, ``attitude``, ``new_attitude`` (codes) and ``focal_text``. ``description`` and ``history``
    (the agent's own posts) come from the network (``own_words``), which ``inspect`` does not return.

    Raises:
        KeyError: ``info`` lacks a profile or state field.
    """
    pool = sorted(info.get("pool") or (), key=lambda r: -float(r["score"]))
    memory = tuple(
        MemoryItem(
            str(r["text"]),
            _name("attitude", r["stance"]),
            _name("emotion", r["emotion"]),
            float(r["score"]),
            str(r.get("source", "")),
            int(r.get("arrived_step", -1)),
        )
        for r in pool[:MEMORY_SHOWN]
    )
    d = info.get("decision")
    decision = None
    if d is not None:
        source = d.get("focal_source")
        decision = LastDecision(
            step=int(d["step"]),
            action=Action(int(d["action"])).name.lower(),
            emotion_before=_name("emotion", d["emotion"]),
            emotion_after=_name("emotion", d["new_emotion"]),
            attitude_before=_name("attitude", d["attitude"]),
            attitude_after=_name("attitude", d["new_attitude"]),
            focal_text=str(d.get("focal_text", "")),
            focal_source="" if source is None else Source(int(source)).name.lower(),
        )
    return AgentSnapshot(
        agent=int(info["agent"]),
        user_id=str(info["user_id"]),
        step=int(info["step"]),
        age=int(info["age"]),
        gender=int(info["gender"]),
        occupation=int(info["occupation"]),
        category=int(info["category"]),
        followers=int(info.get("followers", 0)),
        aware=bool(info["aware"]),
        aware_step=int(info.get("aware_step", -1)),
        emotion=_name("emotion", info["emotion"]),
        attitude=_name("attitude", info["attitude"]),
        actions_taken=int(info.get("actions_taken", 0)),
        memory=memory,
        decision=decision,
        description=description,
        history=tuple(history),
    )


def own_words(network, agent: int, examples: int = HISTORY_SHOWN) -> tuple[str, tuple[str, ...]]:
    """(profile description, up to ``examples`` of the agent's own posts) from the network's users and posts tables.

    Empty where the network has no such table or column (synthetic networks have neither).
    """
    description = ""
    users = getattr(network, "users", None)
    if users is not None and "description" in users and agent < len(users):
        value = users["description"].iloc[agent]
        description = "" if value is None or value != value else str(value)
    history: tuple[str, ...] = ()
    posts = getattr(network, "posts", None)
    if posts is not None and len(posts) and examples and "user_index" in posts:
        mine = posts.loc[posts["user_index"].to_numpy() == agent, "text"]
        history = tuple(str(t) for t in mine.head(examples))
    return description, history


def snapshot_of(sim, agent: int, examples: int = HISTORY_SHOWN) -> AgentSnapshot:
    """A snapshot straight from a ``Simulation`` (tests, command line); the same fields as the dashboard's.

    The last decision is known only when ``sim.policy`` keeps one (``last(agent)``, as the dashboard's
    recording wrapper does); otherwise it is None.
    """
    from ..agent_view import inspect

    return snapshot_from_inspect(inspect(sim, agent), *own_words(sim.network, agent, examples))
