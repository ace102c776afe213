"""Interviews: one free question to one agent, answered by the LLM in that agent's persona, and logged in the trace.

The persona is S3's (Gao et al. 2023: demographics, user category, self-description and own posts,
as in ``prompts.Profile``); the grounding is what the simulation holds for the agent now: its
emotion and attitude, the posts in its memory pool (strongest influence first) and its last
decision. Asking simulated agents free questions after (or during) a run is how OASIS
(Yang et al. 2024) and AgentSociety (Piao et al. 2025) probe their agents; here an interview never
changes the simulation, it only reads it. Each answer goes to an ``interviews`` table beside the
run's ``llm_calls``, with its prompt, tokens and cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from ..types import Action, Attitude, Emotion, Source
from . import prompts as P
from .errors import FROM_MODEL, ErrorKind, hint
from .explain import explain
from .gateway import ChatRequest, Gateway
from .settings import LLMSettings

SCHEMA = "interview"  # the reply's shape: {"answer": string} (schemas.SCHEMAS)
MAX_QUESTION = 1000  # characters of a question
MEMORY_SHOWN = 5  # pool posts in the prompt, strongest influence first
HISTORY_SHOWN = 3  # the agent's own earlier posts shown as its voice
ANSWER_TOKENS = 512  # max_tokens of an interview reply at least (a few sentences inside a JSON object)
ANSWER_WORDS = 120
NO_MODEL = (
    "No LLM is configured, so agents cannot be interviewed: choose the LLM backend and a model on the "
    "Agents page (LLM backend), or pass settings with a model."
)
SYSTEM = (
    "You are being interviewed as one user of Weibo, a Chinese microblogging platform, during a trending event "
    "that a social simulation follows. You are this person: answer in the first person, in character, as they "
    "would, grounded in who they are and in what they have seen and done (the posts in their memory, their last "
    "decision, their current emotion and attitude). Do not break character, do not mention being an AI, a model "
    "or a simulation, and do not invent posts you have not seen; if you know nothing about what is asked, say so "
    "as this person would. Answer in the language of the interviewer's question. Answer with one JSON object only."
)
_NAMES = {"emotion": Emotion, "attitude": Attitude}
_SOURCE = {s.name.lower(): text for s, text in P._SOURCE.items()}
_COLUMNS = tuple(
    "step agent user_id question answer prompt model ok error cached prompt_tokens completion_tokens cost_usd "
    "latency_s asked_at".split()
)
TABLE = """
CREATE TABLE IF NOT EXISTS interviews (step INTEGER, agent INTEGER, user_id VARCHAR, question VARCHAR,
    answer VARCHAR, prompt VARCHAR, model VARCHAR, ok BOOLEAN, error VARCHAR, cached BOOLEAN,
    prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd DOUBLE, latency_s DOUBLE, asked_at TIMESTAMP)
"""
READ = f"SELECT {', '.join(_COLUMNS)} FROM interviews WHERE agent = ? ORDER BY asked_at DESC"


# -- what the agent is and knows ------------------------------------------------------------------
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
    from .. import memory as M

    pop, state, net, params = sim.population, sim.state, sim.network, sim.scenario.memory
    step = sim.step_index
    posts = sim.posts
    pool = []
    for row in M.pool_rows(state, params, agent, step):
        p = row["post"]
        row["text"] = sim.text_of(int(posts.text_id[p]))
        row["stance"] = int(posts.stance[p])
        row["emotion"] = int(posts.emotion[p])
        row["source"] = Source(row["source"]).name.lower()
        pool.append(row)
    last = getattr(sim.policy, "last", None)
    decision = last(agent) if callable(last) else None
    if decision is not None and "focal_text" not in decision and "focal_post" in decision:
        decision = {**decision, "focal_text": sim.text_of(int(posts.text_id[int(decision["focal_post"])]))}
    info = {
        "agent": agent,
        "user_id": str(net.user_ids[agent]),
        "step": step,
        "age": int(pop.age[agent]),
        "gender": int(pop.gender[agent]),
        "occupation": int(pop.occupation[agent]),
        "category": int(pop.category[agent]),
        "followers": int(net.follower_count[agent]),
        "aware": bool(state.aware[agent]),
        "aware_step": int(state.aware_step[agent]),
        "emotion": int(state.emotion[agent]),
        "attitude": int(state.attitude[agent]),
        "actions_taken": int(state.actions_taken[agent]),
        "pool": pool,
        "decision": decision,
    }
    description, history = own_words(net, agent, examples)
    return snapshot_from_inspect(info, description, history)


# -- the prompt -----------------------------------------------------------------------------------
def check_question(question: str) -> str:
    """The question, stripped. Raises ValueError for an empty one or one over ``MAX_QUESTION`` characters."""
    text = (question or "").strip()
    if not text:
        raise ValueError("The question is empty: type what you want to ask this agent.")
    if len(text) > MAX_QUESTION:
        raise ValueError(f"The question has {len(text):,} characters; keep it to {MAX_QUESTION:,} or fewer.")
    return text


def _state_text(s: AgentSnapshot) -> str:
    when = f"after step {s.step - 1}" if s.step else "before the simulation's first step"
    if not s.aware:
        return (
            f"Where you stand now ({when}): you have not heard of this event yet. "
            f"Your leaning toward it would be {s.attitude}."
        )
    acted = (
        f"You have reposted or posted about it {s.actions_taken} time(s)."
        if s.actions_taken
        else "You have not reposted or posted about it."
    )
    return (
        f"Where you stand now ({when}): you heard of the event at step {s.aware_step}. "
        f"Your emotion about it is {s.emotion} (calm, moderate or intense) and your attitude toward it is "
        f"{s.attitude}. {acted}"
    )


def _memory_text(s: AgentSnapshot) -> str:
    if not s.memory:
        return "No post about the event is in your memory."
    lines = [
        f"- ({m.stance}, {m.emotion}"
        + (f", from {_SOURCE[m.source]}" if m.source in _SOURCE else "")
        + f") «{P._snip(m.text)}»"
        for m in s.memory
    ]
    return "Posts about the event you remember, the most influential first:\n" + "\n".join(lines)


def _decision_text(s: AgentSnapshot) -> str:
    d = s.decision
    if d is None:
        return ""
    source = f" from {_SOURCE[d.focal_source]}" if d.focal_source in _SOURCE else ""
    did = {
        "ignore": "you ignored it",
        "repost": "you reposted it",
        "quote": "you quoted it with a comment of your own",
        "post": "you wrote a post of your own about the event",
    }[d.action]
    moved = (
        f"your emotion went from {d.emotion_before} to {d.emotion_after}"
        if d.emotion_before != d.emotion_after
        else f"your emotion stayed {d.emotion_after}"
    ) + (
        f" and your attitude from {d.attitude_before} to {d.attitude_after}"
        if d.attitude_before != d.attitude_after
        else f" and your attitude stayed {d.attitude_after}"
    )
    return f"Your last decision, at step {d.step}: you read a post{source}, «{P._snip(d.focal_text)}»; {did}; {moved}."


def interview_messages(snapshot: AgentSnapshot, question: str, event: str = "") -> tuple:
    """The chat messages of one interview: a system message (persona, first person, in character, the question's
    language) and one user message (event, profile, own posts, state, memory, last decision, the question).

    Deterministic: the same snapshot and question give the same messages (and so the same cache key).

    Raises:
        ValueError: an empty question or one over ``MAX_QUESTION`` characters.
    """
    question = check_question(question)
    profile = snapshot.profile()
    parts = [
        P._event(event),
        profile.text(),
        profile.examples(),
        _state_text(snapshot),
        _memory_text(snapshot),
        _decision_text(snapshot),
        f"An interviewer asks you:\n«{question}»",
        f"Answer the interviewer as yourself, in the first person, in at most {ANSWER_WORDS} words, in the language "
        'of the question. Reply as {"answer": ...}.',
    ]
    return (
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "\n\n".join(p for p in parts if p)},
    )


# -- asking ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InterviewAnswer:
    """One question and what the model said.

    ``error`` is one sentence with the fix (``explain``), ``detail`` the redacted provider text; ``cost_usd`` is
    what this answer cost (0 when it came from the cache; None when the model's price is unknown); tokens are
    the reply's (the cached reply's when ``cached``); ``latency_s`` in seconds; ``asked_at`` UTC.
    """

    question: str
    answer: str
    messages: tuple
    model: str
    ok: bool
    error: str | None = None
    error_kind: str | None = None
    detail: str | None = None
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    asked_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(tzinfo=None))

    def prompt_json(self) -> str:
        return json.dumps(list(self.messages), ensure_ascii=False)

    def prompt_text(self) -> str:
        """The messages as plain text, ``[role]`` then content, for display."""
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the tokens at litellm's local price of ``model`` (``client.price_per_token``); None when unpriced."""
    from .client import price_per_token

    price = price_per_token(model)
    if price is None:
        return None
    return prompt_tokens * price[0] + completion_tokens * price[1]


class _Borrowed:
    """The caller's cache, lent to a gateway that must not close it."""

    def __init__(self, cache):
        self.get_many, self.put_many = cache.get_many, cache.put_many

    def close(self) -> None:
        pass


def _sentence(kind: str, error: str | None, settings: LLMSettings) -> str:
    if kind in {k.value for k in FROM_MODEL}:
        tip = hint(kind)
        return f"{settings.model} answered, but not with a usable answer ({error})" + (f"; {tip}." if tip else ".")
    return explain(kind, error, settings.model, settings.api_base, settings.timeout)


def ask(
    snapshot: AgentSnapshot,
    question: str,
    settings: LLMSettings | None,
    cache=None,
    event: str = "",
    gateway: Gateway | None = None,
) -> InterviewAnswer:
    """Ask one agent one question through the LLM gateway (cache, retries, structured-output step-down, validation).

    Args:
        snapshot: the agent (``snapshot_from_inspect`` or ``snapshot_of``).
        question: at most ``MAX_QUESTION`` characters, any language.
        settings: the LLM backend's settings; ``max_tokens`` is raised to ``ANSWER_TOKENS`` for the answer.
        cache: an ``LLMCache`` (the shared one) or None for no cache; it is used and left open.
        event: the event summary every decision prompt opens with (``prompts.event_summary``).
        gateway: an existing gateway to send through (its settings and cache win); left open.

    Returns:
        The answer; a failed call is an answer with ``ok`` False and a one-sentence ``error``, never an exception.

    Raises:
        ValueError: an empty or too long question, or no model in ``settings`` (``NO_MODEL``).
    """
    messages = interview_messages(snapshot, question, event)
    if gateway is None:
        if settings is None or not (settings.model or "").strip():
            raise ValueError(NO_MODEL)
        settings = replace(settings, max_tokens=max(settings.max_tokens, ANSWER_TOKENS))
    else:
        settings = gateway.settings
    base = dict(question=check_question(question), messages=messages, model=settings.model)
    own = gateway is None
    try:
        from .client import LLMUnavailable

        try:
            gateway = gateway or Gateway(settings, None if cache is None else _Borrowed(cache))
            outcome = gateway.run([ChatRequest(SCHEMA, messages)])[0]
        except LLMUnavailable as exc:
            return InterviewAnswer(**base, answer="", ok=False, error=f"{exc}.", error_kind=ErrorKind.OTHER.value)
    finally:
        if own and gateway is not None:
            gateway.close()
    if outcome.cached:  # nothing was paid for this answer: 0 for a priced model, unknown for an unpriced one
        cost = cost_of(settings.model, 0, 0)
    elif outcome.cost is not None:
        cost = float(outcome.cost)
    else:
        cost = cost_of(settings.model, outcome.prompt_tokens, outcome.completion_tokens)
    common = dict(
        **base,
        cached=outcome.cached,
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        cost_usd=cost,
        latency_s=round(outcome.latency, 4),
    )
    if outcome.ok:
        return InterviewAnswer(**common, answer=str(outcome.data["answer"]).strip(), ok=True)
    kind = outcome.error_kind or ErrorKind.OTHER.value
    return InterviewAnswer(
        **common,
        answer="",
        ok=False,
        error=_sentence(kind, outcome.error, settings),
        error_kind=kind,
        detail=outcome.error,
    )


# -- the trace ------------------------------------------------------------------------------------
def write_interview(con, step: int, agent: int, user_id: str, answer: InterviewAnswer) -> None:
    """Append one row to the trace's ``interviews`` table (created if missing), autocommitted.

    ``con`` is anything with DuckDB's ``execute(sql, params)``: a connection, a cursor. ``step`` is the step the
    state was read after (-1: before the first); ``prompt`` holds the messages as JSON; ``asked_at`` is UTC.
    """
    con.execute(TABLE)
    values = (
        int(step),
        int(agent),
        str(user_id),
        answer.question,
        answer.answer,
        answer.prompt_json(),
        answer.model,
        answer.ok,
        answer.error,
        answer.cached,
        int(answer.prompt_tokens),
        int(answer.completion_tokens),
        answer.cost_usd,
        float(answer.latency_s),
        answer.asked_at,
    )
    con.execute(f"INSERT INTO interviews ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)


def append_to_file(path: str | Path, step: int, agent: int, user_id: str, answer: InterviewAnswer) -> None:
    """``write_interview`` into a trace file no one holds: take its lock, open it read-write, write, close.

    Raises:
        TraceInUse: another process (or another run of this one) has the file open; the message names it.
        TraceFileError: the file is missing, not a DuckDB file, or cannot be opened.
    """
    from ..trace_lock import TraceFileError, TraceLock, connect

    path = Path(path)
    if not path.exists():
        raise TraceFileError(f"{path}: no such trace file")
    hint_text = "the interview is kept in this session instead"
    with TraceLock(path).acquire(hint_text):
        con = connect(path, read_only=False, hint=hint_text)
        try:
            write_interview(con, step, agent, user_id, answer)
        finally:
            con.close()


def read_interviews(con, agent: int) -> list[dict]:
    """One agent's interviews in a trace, newest first (``_COLUMNS`` keys); empty when the trace has none."""
    import duckdb

    try:
        cur = con.execute(READ, [int(agent)])
    except duckdb.CatalogException:
        return []
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def as_row(step: int, agent: int, user_id: str, answer: InterviewAnswer) -> dict:
    """The ``interviews`` row of an answer as a dict (what ``read_interviews`` returns), for answers kept in memory."""
    return {
        "step": step,
        "agent": agent,
        "user_id": user_id,
        "question": answer.question,
        "answer": answer.answer,
        "prompt": answer.prompt_json(),
        "model": answer.model,
        "ok": answer.ok,
        "error": answer.error,
        "cached": answer.cached,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "cost_usd": answer.cost_usd,
        "latency_s": answer.latency_s,
        "asked_at": answer.asked_at,
    }
