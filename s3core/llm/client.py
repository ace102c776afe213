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

from .schemas import response_format
from .settings import LLMSettings, redact

COMPROMISED = {"1.82.7", "1.82.8"}  # litellm releases that shipped malicious code
RETRYABLE = {"timeout", "rate_limit", "server", "connection"}
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
    """What one HTTP request gave: content, or an error kind and a redacted message."""

    content: str | None = None
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
            params.update({k: v for k, v in (("api_base", d.api_base), ("api_key", d.key()), ("rpm", d.rpm)) if v is not None})
            model_list.append({"model_name": ROUTER_GROUP, "litellm_params": params})
        return self._module.Router(model_list=model_list, num_retries=0, timeout=s.timeout,
                                   routing_strategy="simple-shuffle", cooldown_time=min(5.0, s.timeout))

    def _kwargs(self, messages: list[dict], schema: str) -> dict:
        s = self.settings
        kwargs = {"messages": messages, "temperature": s.temperature, "max_tokens": s.max_tokens,
                  "timeout": s.timeout, "num_retries": 0, "drop_params": True}
        if s.structured:
            kwargs["response_format"] = response_format(schema)
        if s.seed is not None:
            kwargs["seed"] = s.seed
        if not self._priced:
            kwargs.update(input_cost_per_token=0.0, output_cost_per_token=0.0)
        if self._router is not None:
            return {"model": ROUTER_GROUP, **kwargs}
        d = s.endpoints()[0]
        kwargs.update(model=d.model, max_retries=0)
        kwargs.update({k: v for k, v in (("api_base", d.api_base), ("api_key", d.key())) if v is not None})
        return kwargs

    async def complete(self, messages: list[dict], schema: str) -> Reply:
        """One request; errors come back as a ``Reply`` with ``error_kind`` set."""
        started = time.perf_counter()
        try:
            kwargs = self._kwargs(messages, schema)
            call = self._router.acompletion if self._router is not None else self._module.acompletion
            response = await call(**kwargs)
        except Exception as exc:  # every failure becomes data: a run never stops on the network
            kind, retry_after = classify(exc)
            return Reply(error_kind=kind, error=redact(f"{type(exc).__name__}: {exc}", self.secrets)[:500],
                         retry_after=retry_after, latency=time.perf_counter() - started)
        latency = time.perf_counter() - started
        usage = getattr(response, "usage", None)
        choice = response.choices[0] if getattr(response, "choices", None) else None
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        refusal = getattr(message, "refusal", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        reply = Reply(content=content, latency=latency, cost=hidden.get("response_cost") if self._priced else None,
                      prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                      completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0))
        if refusal and not content:
            reply.error_kind, reply.error = "refusal", redact(str(refusal), self.secrets)[:500]
        return reply


def classify(exc: BaseException) -> tuple[str, float | None]:
    """(kind, Retry-After seconds) of a litellm/openai/httpx exception."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    retry_after = None
    response = getattr(exc, "response", None)
    try:
        header = response.headers.get("retry-after") if response is not None else None
        retry_after = float(header) if header is not None else None
    except (AttributeError, TypeError, ValueError):
        pass
    if "Timeout" in name or status == 408:
        return "timeout", retry_after
    if "RateLimit" in name or status == 429:
        return "rate_limit", retry_after
    if "ContentPolicy" in name:
        return "refusal", None
    if "Authentication" in name or "PermissionDenied" in name or status in (401, 403):
        return "auth", None
    if "Connection" in name and (status is None or status >= 500):
        return "connection", retry_after
    if isinstance(status, int) and status >= 500 or "InternalServer" in name or "ServiceUnavailable" in name:
        return "server", retry_after
    if isinstance(status, int) and 400 <= status < 500:
        return "bad_request", None
    return "other", None


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
