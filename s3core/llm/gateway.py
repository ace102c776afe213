"""Batches of chat requests: dedupe and cache around validation, retries, structured-output step-down and a concurrency limit.

Each wrapper has the shape ``async complete(messages, schema)``; the gateway sends a whole
step's requests together on one event loop (kept in a thread, so litellm's pooled HTTP
clients live as long as the policy) and answers repeated prompts from the shared cache,
judging cached raw replies exactly as fresh ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from .cache import CachedReply, LLMCache
from .client import LiteLLMClient, Reply
from .errors import FROM_MODEL, RETRYABLE, ErrorKind, judge
from .explain import explain
from .schemas import step_down
from .settings import LLMSettings
from .stats import LLMStats

log = logging.getLogger(__name__)
REPAIR = (
    "Your previous reply could not be used ({problem}). Reply again with only a JSON object "
    "that matches the required schema, and nothing else."
)


@dataclass(frozen=True)
class ChatRequest:
    """One prompt: the schema its reply must fit, and the messages."""

    schema: str
    messages: tuple  # of {"role", "content"} dicts

    def key(self, settings: LLMSettings) -> str:
        """Cache key: hash of model, sampling parameters, schema and messages (never a key or URL)."""
        blob = json.dumps(
            {
                "model": settings.model_signature(),
                "params": settings.sampling(),
                "schema": self.schema,
                "messages": list(self.messages),
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Outcome:
    """The final answer to one request after retries and the repair."""

    data: dict | None = None
    content: str | None = None
    error_kind: str | None = None  # an ErrorKind value; None when ``data`` is valid
    error: str | None = None
    cached: bool = False
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    wait: float = 0.0  # seconds slept before retries
    cost: float | None = None
    replies: list = field(default_factory=list)  # the model's raw replies, as the cache stores them

    @property
    def ok(self) -> bool:
        return self.data is not None

    @property
    def cacheable(self) -> bool:
        """Valid replies and the model's own unusable ones; transport errors are retried next run."""
        return bool(self.replies) and (self.ok or self.error_kind in FROM_MODEL)

    @classmethod
    def from_cache(cls, hit: CachedReply, schema: str, max_tokens: int) -> "Outcome":
        """The outcome of cached raw replies, judged now: the first usable one wins."""
        out = cls(cached=True, prompt_tokens=hit.prompt_tokens, completion_tokens=hit.completion_tokens)
        for raw in hit.replies:
            data, kind, problem = judge(
                raw.get("content"), raw.get("finish_reason"), raw.get("refusal"), schema, max_tokens
            )
            out.content = raw.get("content")
            if data is not None:
                out.data, out.error_kind, out.error = data, None, None
                return out
            out.error_kind, out.error = kind.value, problem
        return out

    def to_cache(self, settings: LLMSettings, schema: str) -> CachedReply:
        return CachedReply(
            tuple(self.replies),
            self.prompt_tokens,
            self.completion_tokens,
            round(self.latency, 4),
            self.cost,
            settings.model_signature(),
            schema,
        )


class Limited:
    """At most ``concurrency`` requests in flight; counts calls, tokens, latency and errors."""

    def __init__(self, inner: LiteLLMClient, concurrency: int, stats: LLMStats):
        self.inner, self.stats = inner, stats
        self.semaphore = asyncio.Semaphore(concurrency)

    async def complete(self, messages: list[dict], schema: str, mode: str) -> Reply:
        async with self.semaphore:
            reply = await self.inner.complete(messages, schema, mode)
        s = self.stats
        s.calls += 1
        s.latency_s += reply.latency
        s.prompt_tokens += reply.prompt_tokens
        s.completion_tokens += reply.completion_tokens
        s.add_cost(reply.cost)
        if reply.error_kind:
            s.add_error(reply.error_kind)
        return reply


def names_response_format(reply: Reply) -> bool:
    """A 400 that blames the structured-output request (``response_format``, ``json_schema``, ``json_object``)."""
    text = (reply.error or "").lower()
    return reply.error_kind == ErrorKind.BAD_REQUEST and any(
        w in text for w in ("response_format", "json_schema", "json_object")
    )


class SteppingDown:
    """Asks for the reply's shape in the current structured-output mode; a 400 naming it steps down one mode.

    Until a mode has had one answer that is not such a 400, requests go one at a time, so a provider
    without structured outputs costs one refused call per mode rather than a whole batch of them.
    """

    def __init__(self, inner: Limited, mode: str, stats: LLMStats, notify):
        self.inner, self.mode, self.stats, self.notify = inner, mode, stats, notify
        self.stats.structured_output = mode
        self._confirmed = False
        self._probe = asyncio.Lock()

    async def complete(self, messages: list[dict], schema: str) -> tuple[Reply, int]:
        """The reply and the calls it took (refused modes included)."""
        calls = 0
        while True:
            reply = None
            if not self._confirmed:
                async with self._probe:
                    if not self._confirmed:  # still unconfirmed once this request's turn came: it is the probe
                        mode = self.mode
                        reply = await self.inner.complete(messages, schema, mode)
                        if not (names_response_format(reply) and step_down(mode)):
                            self._confirmed = True
            if reply is None:  # the mode is confirmed: requests go concurrently
                mode = self.mode
                reply = await self.inner.complete(messages, schema, mode)
            calls += 1
            lower = step_down(mode)
            if not (names_response_format(reply) and lower):
                return reply, calls
            if self.mode == mode:  # the first of concurrent refusals steps down; the rest just resend
                self.mode, self._confirmed = lower, False
                self.stats.structured_output = lower
                self.notify(
                    f"structured output: the provider refused response_format {mode} ({reply.error}); "
                    f"using {lower} from now on (--structured-output {lower}, or Structured output on the Agents page)"
                )


class Retrying:
    """Resends after timeouts, 429, 5xx and connection errors: after the provider's Retry-After where it sent one,
    else a doubling jittered backoff; never longer than ``max_wait`` seconds. Waits are counted in ``stats.wait_s``."""

    def __init__(self, inner: SteppingDown, retries: int, backoff: float, max_wait: float, stats: LLMStats):
        self.inner, self.retries, self.backoff, self.max_wait, self.stats = inner, retries, backoff, max_wait, stats

    async def complete(self, messages: list[dict], schema: str) -> tuple[Reply, int, float]:
        """The last reply, the calls made and the seconds waited."""
        calls, waited = 0, 0.0
        for attempt in range(self.retries + 1):
            reply, n = await self.inner.complete(messages, schema)
            calls += n
            if reply.error_kind not in RETRYABLE or attempt == self.retries:
                return reply, calls, waited
            self.stats.retries += 1
            wait = (
                reply.retry_after
                if reply.retry_after is not None
                else self.backoff * 2**attempt * (0.5 + random.random())
            )
            wait = min(wait, self.max_wait)
            self.stats.wait_s += wait
            waited += wait
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")


class Validating:
    """Judges the reply against its schema; an invalid reply or a model's refusal is asked for once more, then given up.

    A reply cut off at max_tokens or stopped by a content filter is not asked again: the same request
    would end the same way.
    """

    def __init__(self, inner: Retrying, stats: LLMStats, max_tokens: int):
        self.inner, self.stats, self.max_tokens = inner, stats, max_tokens

    async def complete(self, messages: list[dict], schema: str) -> Outcome:
        out = Outcome()
        for repair in range(2):
            reply, calls, waited = await self.inner.complete(messages, schema)
            out.calls += calls
            out.wait += waited
            out.prompt_tokens += reply.prompt_tokens
            out.completion_tokens += reply.completion_tokens
            out.latency += reply.latency
            if reply.cost is not None:
                out.cost = (out.cost or 0.0) + reply.cost
            out.content = reply.content
            if reply.error_kind:  # no reply from the model: nothing to judge or cache
                out.error_kind, out.error = reply.error_kind, reply.error
                out.replies = []
                return out
            out.replies.append(
                {"content": reply.content, "finish_reason": reply.finish_reason, "refusal": reply.refusal}
            )
            data, kind, problem = judge(reply.content, reply.finish_reason, reply.refusal, schema, self.max_tokens)
            if data is not None:
                out.data, out.error_kind, out.error = data, None, None
                return out
            self.stats.add_error(kind.value)
            out.error_kind, out.error = kind.value, problem
            hopeless = kind == ErrorKind.LENGTH or reply.finish_reason == "content_filter"
            if repair == 0 and not hopeless:
                self.stats.repairs += 1
                messages = [*messages, {"role": "user", "content": REPAIR.format(problem=problem)}]
            else:
                break
        self.stats.invalid += 1
        return out


class LoopThread:
    """An asyncio loop in a daemon thread: sync callers submit coroutines and wait for them."""

    def __init__(self):
        self._loop = None
        self._thread = None
        self._lock = threading.Lock()

    def run(self, coro_factory):
        """Run ``coro_factory()`` (called on the loop, so loop-bound objects are created there)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="s3-llm-loop", daemon=True)
                self._thread.start()

        async def wrapper():
            return await coro_factory()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def close(self) -> None:
        """Cancel what libraries left running on the loop (litellm's logging worker), then stop it."""
        if self._loop is not None:

            async def cancel_rest():
                rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in rest:
                    task.cancel()
                await asyncio.gather(*rest, return_exceptions=True)

            try:
                asyncio.run_coroutine_threadsafe(cancel_rest(), self._loop).result(timeout=5)
            except Exception:  # closing must not fail a finished run
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._loop = None


class Gateway:
    """Sends batches of requests: identical prompts once, cached prompts never, the rest concurrently."""

    def __init__(
        self,
        settings: LLMSettings,
        cache: LLMCache | None = None,
        stats: LLMStats | None = None,
        client: LiteLLMClient | None = None,
        notify=None,
    ):
        """``notify(message)`` hears what a user must be told once (default: a logged warning); every notice
        is also kept in ``stats.notices``."""
        self.settings = settings
        self.cache = cache
        self.stats = stats or LLMStats()
        self.stats.structured_output = settings.structured_output
        self._notify = notify or (lambda message: log.warning("%s", message))
        self._client = client
        self._chain = None
        self._loop = LoopThread()
        self._widened: dict[int, Gateway] = {}

    @property
    def client(self) -> LiteLLMClient:
        if self._client is None:
            self._client = LiteLLMClient(self.settings)
        return self._client

    def notice(self, message: str) -> None:
        self.stats.notices.append(message)
        self._notify(message)

    def _build_chain(self) -> Validating:
        s, stats = self.settings, self.stats
        limited = Limited(self.client, s.concurrency, stats)
        stepping = SteppingDown(limited, stats.structured_output or s.structured_output, stats, self.notice)
        return Validating(Retrying(stepping, s.retries, s.backoff, s.max_wait, stats), stats, s.max_tokens)

    def run(self, requests: list[ChatRequest]) -> list[Outcome]:
        """Outcomes in request order."""
        if not requests:
            return []
        started = time.perf_counter()
        keys = [r.key(self.settings) for r in requests]
        unique = dict(zip(keys, requests))
        self.stats.requests += len(requests)
        self.stats.deduplicated += len(requests) - len(unique)
        results: dict[str, Outcome] = {}
        if self.cache is not None:
            for key, hit in self.cache.get_many(list(unique)).items():
                results[key] = Outcome.from_cache(hit, unique[key].schema, self.settings.max_tokens)
            self.stats.cache_hits += len(results)
        todo = [(k, r) for k, r in unique.items() if k not in results]
        if todo:
            fresh = self._loop.run(lambda: self._send_all(todo))
            results.update(fresh)
            if self.cache is not None:
                self.cache.put_many(
                    {k: fresh[k].to_cache(self.settings, r.schema) for k, r in todo if fresh[k].cacheable}
                )
        self.stats.wall_s += time.perf_counter() - started
        return [results[k] for k in keys]

    async def _send_all(self, todo: list[tuple[str, ChatRequest]]) -> dict[str, Outcome]:
        if self._chain is None:
            self._chain = self._build_chain()  # on the loop: the semaphore belongs to it
        outcomes = await asyncio.gather(*(self._chain.complete(list(r.messages), r.schema) for _, r in todo))
        for outcome in outcomes:
            if not outcome.ok:
                log.debug("LLM request failed: %s %s", outcome.error_kind, outcome.error)
        return {k: o for (k, _), o in zip(todo, outcomes)}

    def widened(self, max_tokens: int) -> "Gateway":
        """A gateway like this one whose replies may use ``max_tokens`` (requests that answer for many agents at once:
        batched and archetype), sharing its cache and counters; itself when ``max_tokens`` is no more than its own.
        Closed with this one."""
        if max_tokens <= self.settings.max_tokens:
            return self
        if max_tokens not in self._widened:
            from dataclasses import replace

            from .cache import BorrowedCache

            cache = None if self.cache is None else BorrowedCache(self.cache)
            wide = replace(self.settings, max_tokens=max_tokens)
            self._widened[max_tokens] = Gateway(wide, cache, stats=self.stats, notify=self.notice)
        return self._widened[max_tokens]

    def close(self) -> None:
        for child in self._widened.values():
            child.close()
        self._widened.clear()
        self._loop.close()
        if self._client is not None:
            self._client.close()
        if self.cache is not None:
            self.cache.close()


@dataclass(frozen=True)
class ConnectionResult:
    """What the dashboard's "Test connection" button shows."""

    ok: bool
    latency_s: float
    message: str
    structured: bool = field(default=False)  # the reply fitted the schema
    detail: str = ""  # the provider's raw (redacted) error, for those who want it


def test_connection(settings: LLMSettings) -> ConnectionResult:
    """One small structured request through the real client, uncached and without retries."""
    from dataclasses import replace

    from .client import LLMUnavailable

    quick = replace(settings, retries=0, max_tokens=min(settings.max_tokens, 32))
    try:
        gateway = Gateway(quick)
        gateway.client  # import litellm before the clock starts
        request = ChatRequest("connection", ({"role": "user", "content": 'Connection test: reply with {"ok": true}.'},))
        started = time.perf_counter()
        outcome = gateway.run([request])[0]
        gateway.close()
    except LLMUnavailable as exc:
        return ConnectionResult(False, 0.0, str(exc))
    elapsed = time.perf_counter() - started
    mode = gateway.stats.structured_output
    if outcome.ok:
        return ConnectionResult(
            True, elapsed, f"{settings.model} answered in {elapsed:.2f} s (structured output: {mode})", structured=True
        )
    if outcome.error_kind in FROM_MODEL:
        return ConnectionResult(
            True, elapsed, f"{settings.model} answered, but not in the required JSON ({outcome.error})"
        )
    sentence = explain(outcome.error_kind, outcome.error, settings.model, settings.api_base, settings.timeout)
    return ConnectionResult(False, elapsed, sentence, detail=f"{outcome.error_kind}: {outcome.error}")


test_connection.__test__ = False  # not a pytest test despite its name
