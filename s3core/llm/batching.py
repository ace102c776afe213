"""Batched LLM decisions: one request decides for up to ``batch_size`` agents, each answer an entry checked and cached alone.

Each agent's own decision prompt (``prompts.decision``, exactly as in per-agent mode) names its cache entry
under the schema name ``decision_entry``: a rerun with another batch size finds every entry, while per-agent
runs never get batched answers. Only the misses go out, ``k`` agents per request, every request of the step at
once through the gateway (so the shared cache, retries, repair and structured-output step-down all apply).
A reply's entries are matched to agents by the short label the prompt gave each block (``[agent A3]``); an
entry that is missing, duplicated or off-schema falls back alone to the heuristic decision, a failed request
for all its agents. Quote and post texts go the same way with ``text_batch``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace

import numpy as np

from ..policy import DecisionBatch, Decisions
from ..types import Action, Attitude, Emotion
from . import prompts as P
from .cache import CachedReply
from .errors import ErrorKind, judge
from .gateway import ChatRequest, Outcome
from .policy import _ACTION, _ATTITUDE, _EMOTION, Exchange
from .schemas import MAX_TEXT

AGENT_LABEL = "[agent {}]"  # heads each agent's block in a batched prompt
AGENT_MARKER = re.compile(r"\[agent (A\d+)\]")  # finds the labels again (tests/llm_server.py mirrors it)
ENTRY = {"decision_batch": "decision", "text_batch": "text"}  # the single-agent schema each entry must fit
ENTRY_KIND = {"decision_batch": "decision_entry", "text_batch": "text_entry"}  # cache-key schema names of entries
LIST = {"decision_batch": "decisions", "text_batch": "texts"}  # the reply's list of entries
# Reply tokens one entry needs (estimates, generous for Chinese text) and the envelope around them: a request
# holds no more entries than ``max_tokens`` fits, since a reply cut off at max_tokens loses the whole batch.
ENTRY_TOKENS = {"decision_batch": 32, "text_batch": 160}
ENVELOPE_TOKENS = 16

BATCH_SYSTEM = (
    "You role-play several users of Weibo, a Chinese microblogging platform, during a trending event. "
    "Each user is described in a block headed with a label such as [agent A1], written to that user as 'you'. "
    "Decide for each user separately, as that person would, not as an assistant and not swayed by the other "
    "users in the list. Answer with one JSON object only."
)


@dataclass
class EntryResult:
    """One agent's share of a batched request (or its cached entry): what the trace and the inspector record."""

    data: dict | None = None
    content: str | None = None  # the agent's entry as JSON, or the whole reply when the request failed
    error_kind: str | None = None
    error: str | None = None
    cached: bool = False
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    wait: float = 0.0
    messages: tuple = ()  # the batched request's messages, or the agent's own prompt when served from the cache

    @property
    def ok(self) -> bool:
        return self.data is not None


def label(j: int) -> str:
    """The short id of the ``j``-th agent (0-based) of one batched request: A1, A2, ..."""
    return f"A{j + 1}"


def batch_settings(settings):
    """The settings batched requests go out with: ``max_tokens`` raised so that a reply holds ``batch_size`` entries
    of any kind (up to the field's maximum). ``max_tokens`` itself stays what one agent's answer may use, and the
    cache keys of the entries are the single prompts' under the run's own settings."""
    top = next(f.metadata["max"] for f in fields(settings) if f.name == "max_tokens")
    need = ENVELOPE_TOKENS + settings.batch_size * max(ENTRY_TOKENS.values())
    return replace(settings, max_tokens=min(max(settings.max_tokens, need), top))


def per_request(settings, kind: str) -> int:
    """Agents per request: ``batch_size``, fewer when ``max_tokens`` cannot hold that many entries."""
    fit = (settings.max_tokens - ENVELOPE_TOKENS) // ENTRY_TOKENS[kind]
    return max(1, min(settings.batch_size, fit))


def _warn_if_capped(policy, kind: str, per: int) -> None:
    """Tell the user once when even the largest reply cannot hold ``batch_size`` entries of this kind."""
    s = policy.settings
    if per >= s.batch_size:
        return
    message = (
        f"batched mode: a reply of at most {batch_settings(s).max_tokens} tokens holds about {per} "
        f"{LIST[kind] if per > 1 else ENTRY[kind]}, so {kind} requests carry {per} agent(s) instead of "
        f"batch_size {s.batch_size}"
    )
    if message not in policy.stats.notices:
        policy.gateway.notice(message)


# -- prompts ---------------------------------------------------------------------------------------------
def _blocks(blocks: list[str]) -> str:
    return "\n\n".join(f"{AGENT_LABEL.format(label(j))}\n{b}" for j, b in enumerate(blocks))


def _messages(*parts: str) -> tuple:
    return (
        {"role": "system", "content": BATCH_SYSTEM},
        {"role": "user", "content": "\n\n".join(p for p in parts if p)},
    )


def _reply_shape(kind: str, fields: str, m: int) -> str:
    return (
        f'Reply as {{"{LIST[kind]}": [{{"agent": "A1", {fields}}}, ...]}} with exactly one entry for each of the '
        f"{m} users, A1 to {label(m - 1)}, each labelled with its user's id."
    )


def decision_block(profile: P.Profile, situation: P.Situation) -> str:
    """One agent's part of a batched decision prompt: who it is and what it has in front of it."""
    return "\n".join(p for p in (profile.text(), profile.examples(), situation.text()) if p)


def decision_batch(blocks: list[str], event: str, decay: float) -> tuple:
    """Emotion, attitude and action for each of ``len(blocks)`` agents in one prompt (the combined decision)."""
    return _messages(
        P.event_line(event),
        f"Emotion fades when nothing new arrives: each quiet step it drops one level with probability {decay:.2f}.",
        "For each user below decide, in character:\n"
        f"1. emotion: their emotion after reading, one of {P.EMOTION_HELP};\n"
        "2. attitude: their attitude toward the event now, negative or positive;\n"
        f"3. action: what they do with their most prominent post: {P.ACTION_HELP}.",
        _blocks(blocks),
        _reply_shape("decision_batch", '"emotion": ..., "attitude": ..., "action": ...', len(blocks)),
    )


def text_block(profile: P.Profile, situation: P.Situation, chosen: int, new_emotion: int, new_attitude: int) -> str:
    """One writer's part of a batched text prompt: as in ``prompts.text``, with the task and style for this agent."""
    task, style = P.writing_task(profile, chosen)
    return "\n".join(
        p
        for p in (
            profile.text(),
            profile.examples(),
            situation.text(),
            f"After reading, your emotion is {Emotion(new_emotion).name.lower()} and your attitude toward the event "
            f"is {Attitude(new_attitude).name.lower()}.",
            f"{task} {style}",
        )
        if p
    )


def text_batch(blocks: list[str], event: str) -> tuple:
    """The words of each writer's quote or post, one per block, in one prompt."""
    return _messages(
        P.event_line(event),
        "Write the text each user below decided to write, in that user's own voice. No hashtags they would not "
        "use, no explanations.",
        _blocks(blocks),
        _reply_shape("text_batch", '"text": ...', len(blocks)),
    )


# -- one phase: cached entries, batched requests, entries split and checked ---------------------------------
def _split(total: int, m: int) -> list[int]:
    """``total`` spread over ``m`` entries as evenly as integers allow (the shares add up to ``total``)."""
    base, extra = divmod(int(total), m)
    return [base + (j < extra) for j in range(m)]


def _entries(outcome: Outcome, kind: str, labels: list[str], max_tokens: int) -> list[tuple]:
    """Per label: (data, entry JSON, error) from a valid batched reply; ``data`` None when the entry is unusable."""
    found: dict[str, list[dict]] = {}
    for item in outcome.data[LIST[kind]]:
        if isinstance(item, dict) and isinstance(item.get("agent"), str):
            found.setdefault(item["agent"].strip(), []).append(item)
    out = []
    for name in labels:
        items = found.get(name, [])
        if len(items) != 1:
            why = "no entry" if not items else f"{len(items)} entries"
            out.append((None, None, f"{why} for agent {name} in the batched reply"))
            continue
        content = json.dumps({k: v for k, v in items[0].items() if k != "agent"}, ensure_ascii=False)
        data, _, problem = judge(content, "stop", None, ENTRY[kind], max_tokens)
        out.append((data, content, None if data is not None else f"agent {name}: {problem}"))
    return out


def _cached(policy, kind: str, first: dict[str, int], singles: list[tuple]) -> dict[str, EntryResult]:
    """The entries already in the shared cache, judged now as fresh ones are (a stricter parser can reject them)."""
    cache, max_tokens = policy.gateway.cache, policy.settings.max_tokens
    out = {}
    for key, hit in (cache.get_many(list(first)) if cache is not None else {}).items():
        o = Outcome.from_cache(hit, ENTRY[kind], max_tokens)
        if o.ok:
            out[key] = EntryResult(
                o.data, o.content, cached=True, prompt_tokens=o.prompt_tokens,
                completion_tokens=o.completion_tokens, messages=singles[first[key]],
            )  # fmt: skip
    return out


def _shares(o: Outcome, messages: tuple, kind: str, m: int, max_tokens: int) -> list[EntryResult]:
    """Each of the ``m`` agents' share of one batched request: its entry (or the request's failure), and an even
    split of the request's calls, tokens, latency and waits (so the trace's sums are the request's)."""
    calls, ptok, ctok = _split(o.calls, m), _split(o.prompt_tokens, m), _split(o.completion_tokens, m)
    if o.ok:
        parts = _entries(o, kind, [label(j) for j in range(m)], max_tokens)
    else:
        parts = [(None, o.content, o.error)] * m
    return [
        EntryResult(
            data,
            content,
            None if data is not None else o.error_kind or ErrorKind.INVALID.value,
            error,
            o.cached,
            calls[j],
            ptok[j],
            ctok[j],
            o.latency / m,
            o.wait / m,
            messages,
        )  # fmt: skip
        for j, (data, content, error) in enumerate(parts)
    ]


def ask(policy, kind: str, singles: list[tuple], blocks: list[str], build) -> list[EntryResult]:
    """One answer per agent, in the order given: ``singles`` are the agents' own prompts (their entries' cache keys),
    ``blocks`` their parts of a batched prompt and ``build(blocks)`` the batched messages.

    Only valid entries are cached, so a rerun asks again for those that failed.
    """
    settings, stats = policy.settings, policy.stats
    gateway = policy.gateway.widened(batch_settings(settings).max_tokens)
    n = len(singles)
    keys = [ChatRequest(ENTRY_KIND[kind], s).key(settings) for s in singles]
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    results = _cached(policy, kind, first, singles)
    stats.requests += len(results) + (n - len(first))  # entries answered here; the gateway counts its requests
    stats.deduplicated += n - len(first)
    stats.cache_hits += len(results)
    misses = [i for key, i in first.items() if key not in results]
    per = per_request(gateway.settings, kind)
    if len(misses) > 1:
        _warn_if_capped(policy, kind, per)
    chunks = [misses[c : c + per] for c in range(0, len(misses), per)]
    requests = [ChatRequest(kind, build([blocks[i] for i in chunk])) for chunk in chunks]
    fresh: dict[str, CachedReply] = {}
    model = settings.model_signature()
    for chunk, req, o in zip(chunks, requests, gateway.run(requests)):
        for i, r in zip(chunk, _shares(o, req.messages, kind, len(chunk), settings.max_tokens)):
            results[keys[i]] = r
            if r.ok:
                cost = None if o.cost is None else o.cost / len(chunk)
                raw = ({"content": r.content, "finish_reason": "stop"},)
                fresh[keys[i]] = CachedReply(
                    raw, r.prompt_tokens, r.completion_tokens, round(r.latency, 4), cost, model, ENTRY_KIND[kind]
                )
            elif o.ok:
                stats.invalid += 1
    if policy.gateway.cache is not None and fresh:
        policy.gateway.cache.put_many(fresh)
    # an agent whose prompt repeats another's shares its answer, without counting the calls and tokens again
    return [
        results[key]
        if first[key] == i
        else replace(results[key], calls=0, prompt_tokens=0, completion_tokens=0, latency=0.0, wait=0.0)
        for i, key in enumerate(keys)
    ]


def _record(policy, batch: DecisionBatch, rows, kind: str, results: list[EntryResult]) -> None:
    """Per agent, the exchange the inspector shows and the ``llm_calls`` row, as ``LLMPolicy._run`` records them."""
    for i, r in zip(rows, results):
        agent = int(batch.agent[i])
        policy._exchanges.setdefault(agent, []).append(
            Exchange(batch.step, kind, r.messages, r.content, r.data, r.error, r.cached)
        )
        policy._trace.append(
            (
                batch.step,
                agent,
                kind,
                r.ok,
                r.cached,
                r.error_kind,
                r.error,
                r.calls,
                r.prompt_tokens,
                r.completion_tokens,
                round(r.latency, 4),
                r.content if r.ok else None,
                round(r.wait, 4),
            )
        )


# -- the policy's batched mode ----------------------------------------------------------------------------------
@dataclass
class _Step:
    """What the decision phase leaves for the text phase."""

    decisions: Decisions
    acted: np.ndarray
    who: list
    where: list
    event: str


def decisions(policy, batch: DecisionBatch, base: Decisions) -> _Step:
    """The decision phase alone: emotion, attitude and action per agent (``base`` where its entry failed)."""
    n = len(batch)
    emotion, attitude, action = base.emotion.copy(), base.attitude.copy(), base.action.copy()
    sim = batch.context
    event = policy.event if policy.event is not None else P.event_summary(sim.scenario)
    who = P.profiles(sim, batch.agent, policy._history(sim))
    where = P.situations(batch, sim)
    for i in range(n):
        policy._exchanges[int(batch.agent[i])] = []
    singles = [P.decision(who[i], where[i], event) for i in range(n)]
    blocks = [decision_block(who[i], where[i]) for i in range(n)]
    decay = where[0].decay if n else 0.0
    results = ask(policy, "decision_batch", singles, blocks, lambda b: decision_batch(b, event, decay))
    _record(policy, batch, range(n), "decision_batch", results)
    acted = np.array([r.ok for r in results], dtype=bool)
    for i, r in enumerate(results):
        if r.ok:
            emotion[i], attitude[i], action[i] = (
                _EMOTION[r.data["emotion"]],
                _ATTITUDE[r.data["attitude"]],
                _ACTION[r.data["action"]],
            )
    stats = policy.stats
    stats.decisions += n
    stats.fallbacks += int((~acted).sum())
    return _Step(Decisions(emotion, attitude, action, [None] * n, ~acted), acted, who, where, event)


def refine(policy, batch: DecisionBatch, base: Decisions) -> Decisions:
    """``LLMPolicy.refine`` in batched mode: the same contract (rows whose entries fail keep ``base``, flagged)."""
    n = len(batch)
    if n == 0:
        return Decisions(base.emotion.copy(), base.attitude.copy(), base.action.copy(), [], np.zeros(0, bool))
    step = decisions(policy, batch, base)
    d = step.decisions
    writers = np.flatnonzero(step.acted & np.isin(d.action, (Action.QUOTE, Action.POST)))
    if len(writers):
        who, where, event = step.who, step.where, step.event
        singles = [P.text(who[i], where[i], event, d.action[i], d.emotion[i], d.attitude[i]) for i in writers]
        blocks = [text_block(who[i], where[i], d.action[i], d.emotion[i], d.attitude[i]) for i in writers]
        results = ask(policy, "text_batch", singles, blocks, lambda b: text_batch(b, event))
        _record(policy, batch, writers, "text_batch", results)
        for i, r in zip(writers, results):
            if r.ok:
                d.text[i] = " ".join(r.data["text"].split())[:MAX_TEXT]
            else:
                d.fallback[i] = True
                policy.stats.text_fallbacks += 1
    return Decisions(
        d.emotion.astype(np.int8), d.attitude.astype(np.int8), d.action.astype(np.int8), d.text, d.fallback
    )
