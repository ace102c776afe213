"""The one module that imports litellm: a single chat request out, a ``Reply`` back, never an exception.

litellm is imported on first use (it takes seconds), after pinning its price map to the local
copy so that importing it never touches the network.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from .endpoints import key_to_send
from .errors import ErrorKind
from .schemas import response_format, schema_instruction
from .settings import Deployment, LLMSettings, redact

COMPROMISED = {"1.82.7", "1.82.8"}  # litellm releases that shipped malicious code
ROUTER_GROUP = "s3-llm"
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "openai", "openai._base_client", "httpx", "httpcore")

log = logging.getLogger(__name__)


class LLMUnavailable(RuntimeError):
    """litellm is missing or is a release that must not be used."""


def litellm():
    """The litellm module, imported once, offline, with its debug banners off."""
    import sys

    if "litellm" in sys.modules and getattr(sys.modules["litellm"], "_s3_ready", False):
        return sys.modules["litellm"]
    try:
        installed = version("litellm")
    except PackageNotFoundError:
        raise LLMUnavailable("the LLM backend needs litellm (pip install litellm==1.106.2)") from None
    if installed in COMPROMISED:
        raise LLMUnavailable(f"litellm {installed} is a compromised release; install litellm==1.106.2")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm as module

    module.suppress_debug_info = True
    module.telemetry = False
    module._s3_ready = True
    return module


def _key(d: Deployment) -> str | None:
    """The key sent to one deployment: its own, else a placeholder for a keyless local server, else None."""
    return key_to_send(d.model, d.api_base, d.key())


class _RedactFilter(logging.Filter):
    """Scrubs key values from records of the loggers litellm and its HTTP stack write to."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "has custom pricing" in message:  # the zero price we pass for speed on unpriced models, not news
            return False
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@dataclass
class Reply:
    """What one HTTP request gave: the model's content (judged later), or a transport error kind and a redacted message.

    ``retry_after`` is the wait in seconds the provider asked for (Retry-After / retry-after-ms), if any.
    """

    content: str | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    error_kind: str | None = None
    error: str | None = None
    retry_after: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    cost: float | None = None


class LiteLLMClient:
    """Sends one chat request through ``litellm.acompletion``, or a ``Router`` over several deployments."""

    def __init__(self, settings: LLMSettings):
        self.settings = settings
        self.secrets = settings.secrets()
        self._module = litellm()
        self._filter = _RedactFilter(self.secrets)
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(self._filter)
        self._router = self._build_router() if len(settings.endpoints()) > 1 else None
        # litellm prices every reply; for a model missing from its map that lookup costs ~5 ms of CPU per
        # call, so unpriced models get an explicit zero price and their cost is reported as unknown.
        self._priced = all(price_per_token(d.model) is not None for d in settings.endpoints())

    def close(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    def _build_router(self):
        s = self.settings
        model_list = []
        for d in s.endpoints():
            params = {"model": d.model, "timeout": s.timeout, "max_retries": 0}
            params.update(
                {k: v for k, v in (("api_base", d.api_base), ("api_key", _key(d)), ("rpm", d.rpm)) if v is not None}
            )
            model_list.append({"model_name": ROUTER_GROUP, "litellm_params": params})
        return self._module.Router(
            model_list=model_list,
            num_retries=0,
            timeout=s.timeout,
            routing_strategy="simple-shuffle",
            cooldown_time=min(5.0, s.timeout),
        )

    def _kwargs(self, messages: list[dict], schema: str, mode: str) -> dict:
        s = self.settings
        fmt = response_format(schema, mode)
        if mode != "json_schema":  # the shape travels in the prompt (JSON mode also wants the word JSON there)
            last = messages[-1]
            messages = [*messages[:-1], {**last, "content": f"{last['content']}\n\n{schema_instruction(schema)}"}]
        kwargs = {
            "messages": messages,
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "timeout": s.timeout,
            "num_retries": 0,
            "drop_params": True,
        }
        if fmt is not None:
            kwargs["response_format"] = fmt
        if s.seed is not None:
            kwargs["seed"] = s.seed
        if not self._priced:
            kwargs.update(input_cost_per_token=0.0, output_cost_per_token=0.0)
        if self._router is not None:
            return {"model": ROUTER_GROUP, **kwargs}
        d = s.endpoints()[0]
        kwargs.update(model=d.model, max_retries=0)
        kwargs.update({k: v for k, v in (("api_base", d.api_base), ("api_key", _key(d))) if v is not None})
        return kwargs

    async def complete(self, messages: list[dict], schema: str, mode: str = "json_schema") -> Reply:
        """One request with the reply's shape asked for in ``mode``; errors come back as a ``Reply`` with ``error_kind`` set."""
        started = time.perf_counter()
        try:
            kwargs = self._kwargs(messages, schema, mode)
            call = self._router.acompletion if self._router is not None else self._module.acompletion
            response = await call(**kwargs)
        except Exception as exc:  # every failure becomes data: a run never stops on the network
            kind, wait = classify(exc)
            return Reply(
                error_kind=kind.value,
                error=redact(f"{type(exc).__name__}: {exc}", self.secrets)[:500],
                retry_after=wait,
                latency=time.perf_counter() - started,
            )
        latency = time.perf_counter() - started
        usage = getattr(response, "usage", None)
        choice = response.choices[0] if getattr(response, "choices", None) else None
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        extra = getattr(message, "provider_specific_fields", None) or {}  # where litellm keeps OpenAI's refusal
        refusal = getattr(message, "refusal", None) or (extra.get("refusal") if isinstance(extra, dict) else None)
        hidden = getattr(response, "_hidden_params", None) or {}
        return Reply(
            content=content,
            finish_reason=getattr(choice, "finish_reason", None),
            refusal=redact(str(refusal), self.secrets)[:500] if refusal else None,
            latency=latency,
            cost=hidden.get("response_cost") if self._priced else None,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )


def response_headers(exc: BaseException) -> dict[str, str]:
    """The provider's HTTP headers of a failed request, lower-cased.

    litellm keeps them on ``exc.litellm_response_headers``; ``exc.response`` is a stand-in without them.
    """
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        try:
            if source:
                return {str(k).lower(): str(v) for k, v in source.items()}
        except (AttributeError, TypeError):
            continue
    return {}


def retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); None when absent or unreadable."""
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000.0)
        if "retry-after" in headers:
            value = headers["retry-after"].strip()
            try:
                return max(0.0, float(value))
            except ValueError:
                from datetime import datetime, timezone
                from email.utils import parsedate_to_datetime

                return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _unreachable(exc: BaseException) -> bool:
    """litellm reports a refused or failed connection as an InternalServerError; the cause chain says what it was."""
    seen = 0
    while exc is not None and seen < 8:
        if "Connect" in type(exc).__name__ or str(exc).rstrip(".").endswith("Connection error"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _no_key(exc: BaseException) -> bool:
    """The OpenAI client refused to send because no key was set (litellm wraps it as a server error)."""
    text = str(exc)
    return "Missing credentials" in text or "api_key client option must be set" in text


def classify(exc: BaseException) -> tuple[ErrorKind, float | None]:
    """(error class, seconds the provider asked to wait or None) of a litellm/openai/httpx exception."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    wait = retry_after(response_headers(exc))
    if "Timeout" in name or status == 408:
        return ErrorKind.TIMEOUT, wait
    if "RateLimit" in name or status == 429:
        return ErrorKind.RATE_LIMIT, wait
    if "ContentPolicy" in name:
        return ErrorKind.REFUSAL, None
    if "Authentication" in name or "PermissionDenied" in name or status in (401, 403) or _no_key(exc):
        return ErrorKind.AUTH, None
    if ("Connection" in name or _unreachable(exc)) and (status is None or status >= 500):
        return ErrorKind.CONNECTION, wait
    if isinstance(status, int) and status >= 500 or "InternalServer" in name or "ServiceUnavailable" in name:
        return ErrorKind.SERVER, wait
    if isinstance(status, int) and 400 <= status < 500 or "BadRequest" in name:
        return ErrorKind.BAD_REQUEST, None
    return ErrorKind.OTHER, None


def count_tokens(model: str, messages: list[dict]) -> int:
    """Prompt tokens as litellm counts them for ``model`` (tiktoken's cl100k for unknown models)."""
    try:
        return int(litellm().token_counter(model=model, messages=messages))
    except Exception:
        return sum(len(m.get("content") or "") for m in messages) // 3 + 4 * len(messages)


def price_per_token(model: str) -> tuple[float, float] | None:
    """(input, output) USD per token where litellm's local price map knows the model, else None (also for
    an all-zero price, which is what unpriced models are registered with once they have been called)."""
    module = litellm()
    for name in (model, model.split("/", 1)[-1]):
        info = module.model_cost.get(name)
        if info and info.get("input_cost_per_token") is not None:
            price = float(info["input_cost_per_token"]), float(info.get("output_cost_per_token") or 0.0)
            return price if any(price) else None
    return None


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the tokens at litellm's local price of ``model`` (``price_per_token``); None when unpriced."""
    price = price_per_token(model)
    if price is None:
        return None
    return prompt_tokens * price[0] + completion_tokens * price[1]
