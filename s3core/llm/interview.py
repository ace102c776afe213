"""Interviews: one free question to one agent, answered by the LLM in that agent's persona, and logged in the trace.

The persona is S3's (Gao et al. 2023: demographics, user category, self-description and own posts,
as in ``prompts.Profile``); the grounding is what the simulation holds for the agent now: its
emotion and attitude, the posts in its memory pool (strongest influence first) and its last
decision. Asking simulated agents free questions after (or during) a run is how OASIS
(Yang et al. 2024) and AgentSociety (Piao et al. 2025) probe their agents; here an interview never
changes the simulation, it only reads it. Each answer goes to an ``interviews`` table beside the
run's ``llm_calls``, with its prompt, tokens and cost (``interview_trace``); what the agent is and knows
comes from ``interview_snapshot``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from . import prompts as P
from .cache import BorrowedCache
from .client import cost_of
from .errors import FROM_MODEL, ErrorKind, hint
from .explain import explain
from .gateway import ChatRequest, Gateway
from .interview_snapshot import AgentSnapshot
from .settings import LLMSettings

SCHEMA = "interview"  # the reply's shape: {"answer": string} (schemas.SCHEMAS)
MAX_QUESTION = 1000  # characters of a question
ANSWER_TOKENS = 512  # max_tokens of an interview reply at least (a few sentences inside a JSON object)
ANSWER_WORDS = 120
NO_MODEL = (
    "No LLM model is given, so the agent cannot be interviewed: choose the LLM backend and a model on the "
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
_SOURCE = {s.name.lower(): text for s, text in P.SOURCE_WORDS.items()}


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
        + f") «{P.snip(m.text)}»"
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
        f" and your attitude went from {d.attitude_before} to {d.attitude_after}"
        if d.attitude_before != d.attitude_after
        else f" and your attitude stayed {d.attitude_after}"
    )
    return f"Your last decision, at step {d.step}: you read a post{source}, «{P.snip(d.focal_text)}»; {did}; {moved}."


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
        P.event_line(event),
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


class _WriteOnly(BorrowedCache):
    """A borrowed cache that never answers (every lookup misses) but still stores: a fresh answer."""

    def __init__(self, cache):
        super().__init__(cache)
        self.get_many = lambda keys: {}


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
    fresh: bool = False,
) -> InterviewAnswer:
    """Ask one agent one question through the LLM gateway (cache, retries, structured-output step-down, validation).

    Args:
        snapshot: the agent (``snapshot_from_inspect`` or ``snapshot_of``).
        question: at most ``MAX_QUESTION`` characters, any language.
        settings: the LLM backend's settings; ``max_tokens`` is raised to ``ANSWER_TOKENS`` for the answer.
        cache: an ``LLMCache`` (the shared one) or None for no cache; it is used and left open.
        event: the event summary every decision prompt opens with (``prompts.event_summary``).
        gateway: an existing gateway to send through (its settings and cache win); left open.
        fresh: ask the model even when ``cache`` holds an answer to this prompt (a new answer); the reply is still
            offered to the cache, which keeps the first answer it stored. Ignored with ``gateway``.

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
            lent = None if cache is None else (_WriteOnly(cache) if fresh else BorrowedCache(cache))
            gateway = gateway or Gateway(settings, lent)
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


# The trace side lives in interview_trace; imported last, since it reads InterviewAnswer from here.
