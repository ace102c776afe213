"""LLM backend settings: model, endpoint, sampling and limits; API keys live only in memory or the environment."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields

from ..params import param
from .schemas import STRUCTURED_MODES

AGENT_MODES = ("per_agent", "batched", "archetype")  # how many agents one request decides for (see LLMSettings)
CACHE_ENV = "S3_LLM_CACHE"  # the shared cache's directory (or "none"); default: the user's cache directory
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.I)


class Secret:
    """A key held for the session: never printed, compared, serialized or hashed into the cache."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Secret is not picklable")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


@dataclass(frozen=True)
class Deployment:
    """One endpoint of a load-balanced pool: a model, an optional base URL and where its key comes from."""

    model: str
    api_base: str | None = None
    api_key_env: str | None = None  # name of the environment variable holding the key
    api_key: Secret | None = field(default=None, repr=False, compare=False)  # a session key (dashboard)
    rpm: int | None = None  # requests per minute this key allows, for the router's weighting

    def key(self) -> str | None:
        """The key to send: the session key, else the named variable, else None (litellm's provider default)."""
        if self.api_key is not None:
            return self.api_key.reveal()
        if self.api_key_env:
            return os.environ.get(self.api_key_env)
        return None

    def public(self) -> dict:
        return {"model": self.model, "api_base": self.api_base, "api_key_env": self.api_key_env, "rpm": self.rpm}


@dataclass(frozen=True)
class LLMSettings:
    """How the LLM backend calls its model; fields carry range and help for the dashboard widgets."""

    model: str = param(
        "openai/gpt-4o-mini",
        None,
        None,
        "Any litellm model string, e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/qwen2.5.",
    )
    api_base: str | None = param(
        None,
        None,
        None,
        "Base URL of an OpenAI-compatible endpoint (vLLM, Ollama, a proxy); empty for the provider's default.",
    )
    api_key_env: str | None = param(
        None,
        None,
        None,
        "Environment variable that holds the key; empty for the provider's usual one (OPENAI_API_KEY, ...).",
    )
    temperature: float = param(0.7, 0.0, 2.0, "Sampling temperature.")
    max_tokens: int = param(256, 16, 4096, "Most tokens one reply may use.")
    concurrency: int = param(32, 1, 1024, "Requests in flight at once (one semaphore over all calls of a step).")
    timeout: float = param(30.0, 0.1, 600.0, "Seconds before one request is abandoned.")
    retries: int = param(2, 0, 10, "Retries of a request after a timeout, 429, 5xx or connection error.")
    backoff: float = param(
        0.5,
        0.0,
        30.0,
        "Seconds before the first retry; doubles each time (a server's Retry-After wins, up to the max wait).",
    )
    max_wait: float = param(
        30.0, 0.0, 600.0, "Longest wait before one retry, in seconds, even when the server's Retry-After asks for more."
    )
    mode: str = param(
        "combined",
        None,
        None,
        "combined: one call returns emotion, attitude and action; modular: one call per S3 module.",
        choices=("combined", "modular"),
    )
    agent_mode: str = param(
        "per_agent",
        None,
        None,
        "per_agent: one request per agent decision; batched: one request decides for batch_size agents (one validated "
        "entry each); archetype: one request per cell of similar agents in a similar state, from whose answer each "
        "member draws its own decision (after AgentTorch, arXiv 2409.10568). batched and archetype use the combined "
        "decision.",
        choices=AGENT_MODES,
    )
    batch_size: int = param(10, 2, 100, "Agents decided by one request in batched mode.")
    structured_output: str = param(
        "json_schema",
        None,
        None,
        "How the reply's JSON shape is asked for: json_schema (OpenAI structured outputs), "
        "json_object (JSON mode, the schema in the prompt) or prompt (the schema in the prompt only). "
        "Replies are validated either way; a provider that refuses a mode with a 400 gets the next one.",
        choices=STRUCTURED_MODES,
    )
    history_examples: int = param(3, 0, 10, "Posts from the user's own history shown as examples.")
    seed: int | None = param(None, None, None, "Sampling seed sent to providers that support one.")
    deployments: tuple[Deployment, ...] = field(
        default=(),
        metadata={"help": "Several endpoints or keys, load-balanced by litellm's Router; empty for one endpoint."},
    )
    api_key: Secret | None = field(
        default=None, repr=False, compare=False, metadata={"help": "A key typed in for this session only."}
    )

    def __post_init__(self):
        from ..params import validate

        validate(self)
        if self.agent_mode != "per_agent" and self.mode != "combined":
            raise ValueError(f"agent_mode {self.agent_mode!r} uses the combined decision: set mode = 'combined'")

    def endpoints(self) -> tuple[Deployment, ...]:
        """The deployments to call; one built from the top-level fields when none are listed."""
        if self.deployments:
            return self.deployments
        return (Deployment(self.model, self.api_base, self.api_key_env, self.api_key),)

    def sampling(self) -> dict:
        """The parameters that change a reply, hashed into cache keys.

        The structured-output mode is left out: it changes how the shape is asked for, not what is asked,
        and every reply is validated when it is read, so a rerun in another mode still hits the cache.
        """
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}

    def model_signature(self) -> str:
        """Which model(s) answer: cache keys depend on this, not on URLs or keys."""
        return "|".join(sorted({d.model for d in self.endpoints()}))

    def public(self) -> dict:
        """Everything but keys, for traces and the dashboard."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("deployments", "api_key")}
        out["deployments"] = [d.public() for d in self.deployments]
        out["session_key"] = self.api_key is not None
        return out

    def public_json(self) -> str:
        return json.dumps(self.public(), sort_keys=True)

    def secrets(self) -> list[str]:
        """Every key value this process could send, for redaction: session keys and key-like variables."""
        values = {d.key() for d in self.endpoints()} | {self.api_key.reveal() if self.api_key else None}
        values |= {v for k, v in os.environ.items() if _SECRET_ENV.search(k)}
        return sorted((v for v in values if v and len(v) >= 6), key=len, reverse=True)


def redact(text: str | None, secrets: list[str]) -> str | None:
    """``text`` with every secret replaced by ***."""
    if not text:
        return text
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
