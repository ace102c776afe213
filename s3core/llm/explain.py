"""One plain sentence, and the fix, for a failed LLM call: what the dashboard and the connection test show.

The raw provider message (litellm's, already redacted) is long and names internals such as
"OpenAIException"; here it becomes what happened, in words, plus what to change. The raw text
stays available to callers that want to show it as a detail.
"""

from __future__ import annotations

import re

from .endpoints import host_of, is_local, provider_of
from .errors import ErrorKind

EXAMPLE_BASES = "Ollama's is http://127.0.0.1:11434/v1, vLLM's http://127.0.0.1:8000/v1"
_PROVIDER_MISSING = "LLM Provider NOT provided"
_NOT_FOUND = re.compile(r"NotFound|\b404\b|does not exist|not[ _]found|model_not_found", re.I)
_NO_KEY = ("Missing credentials", "api_key client option must be set")


def provider_message(error: str | None, limit: int = 160) -> str:
    """The provider's own words from a litellm error string, without the exception class chain, clipped."""
    text = (error or "").strip()
    if " - " in text:
        text = text.rsplit(" - ", 1)[1] if "Exception - " in text or "Error - " in text else text
    text = re.sub(r"^(\w+(Error|Exception|Timeout)?:\s*)+", "", text).strip()
    text = re.sub(r"\s+", " ", text).rstrip(". ")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bases(model: str) -> str:
    """Where the usual local servers listen, in the form this model's provider wants."""
    if provider_of(model) in ("ollama", "ollama_chat"):
        return "an ollama/ model wants Ollama's own address, http://127.0.0.1:11434, without /v1"
    return EXAMPLE_BASES


def _where(api_base: str | None) -> str:
    return f"the server at {api_base}" if api_base else "the provider"


def _model_name(model: str) -> str:
    return model.split("/", 1)[1] if "/" in model else model


def explain(kind: str, error: str | None, model: str, api_base: str | None = None, timeout: float | None = None) -> str:
    """A sentence saying what went wrong, then "Fix: ..." with what to change on the Agents page.

    Args:
        kind: an ``ErrorKind`` value (as stored in traces and ``Outcome.error_kind``).
        error: the redacted error text of the call, used to tell cases apart within a kind.
        model: the litellm model string that was called.
        api_base: the base URL that was called, if any.
        timeout: the request timeout in seconds, named in the timeout sentence.
    """
    text = error or ""
    where = _where(api_base)
    if kind == ErrorKind.AUTH.value and any(marker in text for marker in _NO_KEY):
        env = "OPENAI_API_KEY" if provider_of(model) == "openai" else f"{provider_of(model).upper()}_API_KEY"
        return (
            f"{model} needs an API key and none is set. Fix: type the key in the API key box or set {env}; "
            f"for a local server that needs no key, set the API base to its URL ({EXAMPLE_BASES})."
        )
    if kind == ErrorKind.AUTH.value:
        local = " (a local server started with --api-key needs that key)" if is_local(api_base) else ""
        return (
            f"{where.capitalize()} refused the API key (authentication failed). "
            f"Fix: check the key in the API key box or the provider's variable{local}."
        )
    if kind == ErrorKind.CONNECTION.value:
        target = api_base or "the provider's default address"
        return (
            f"Nothing answered at {target}: the connection was refused or the host was not found. "
            f"Fix: start the server (e.g. ollama serve) or correct the API base ({_bases(model)})."
        )
    if kind == ErrorKind.TIMEOUT.value:
        limit = f" within {timeout:g} s" if timeout else " in time"
        return (
            f"{model} sent no answer{limit}. Fix: raise Timeout, lower Concurrency, or check that the server "
            "is running and has finished loading the model."
        )
    if _PROVIDER_MISSING in text:
        return (
            f"litellm does not know which provider serves '{model}'. Fix: prefix the model with its provider, "
            "e.g. openai/gpt-4o-mini, ollama/qwen2.5, or openai/<name> for any OpenAI-compatible server."
        )
    if kind in (ErrorKind.BAD_REQUEST.value, ErrorKind.OTHER.value) and _NOT_FOUND.search(text):
        host = host_of(api_base)
        listing = f"GET {api_base.rstrip('/')}/models" if api_base else "the provider's model list"
        ollama = provider_of(model) in ("ollama", "ollama_chat")
        base = _bases(model) if ollama else "an OpenAI-compatible server's ends in /v1"
        return (
            f"{'The server at ' + host if host else 'The provider'} has no model '{_model_name(model)}' "
            f"(or no such address). Fix: use a model name it lists ({listing}; ollama list for Ollama), and "
            f"check the API base ({base})."
        )
    if kind == ErrorKind.RATE_LIMIT.value:
        return (
            f"{where.capitalize()} is limiting requests (rate limit, HTTP 429). Fix: wait and test again, "
            "lower Concurrency, or add keys."
        )
    detail = provider_message(text)
    said = f": {detail}" if detail else ""
    if kind == ErrorKind.BAD_REQUEST.value:
        return (
            f"{where.capitalize()} rejected the request as invalid{said}. Fix: check the model string, and choose "
            "Structured output 'prompt' if the server does not support JSON schemas."
        )
    if kind == ErrorKind.SERVER.value:
        return f"{where.capitalize()} failed with a server error{said}. Fix: retry later, or read the server's log."
    return f"The call failed{said}. Fix: check the model, the API base and the key."
