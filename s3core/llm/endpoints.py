"""Which endpoints need no API key, and the placeholder key sent to them.

A local OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp) answers without a key, but the
OpenAI client under litellm refuses to send a request without one ("Missing credentials"). For such an
endpoint a fixed placeholder is sent instead; it is a constant, not a secret, and it is never stored.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

PLACEHOLDER_KEY = "sk-no-key-required"  # what llama.cpp and LM Studio document for keyless servers
# Providers whose endpoints are OpenAI-compatible servers a user runs, often without authentication.
SELF_HOSTED = frozenset(
    {
        "openai",
        "hosted_vllm",
        "vllm",
        "ollama",
        "ollama_chat",
        "lm_studio",
        "llamafile",
        "openai_like",
        "custom_openai",
        "xinference",
    }
)
_LOCAL_NAMES = ("localhost", "host.docker.internal")


def host_of(api_base: str | None) -> str | None:
    """The host name of a base URL (lower case, no port or brackets); None for an empty or unreadable URL."""
    if not api_base or not api_base.strip():
        return None
    text = api_base.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def is_local(api_base: str | None) -> bool:
    """True for a base URL on this machine or a private network: localhost, 127.0.0.0/8, ::1, 10/8,
    172.16/12, 192.168/16, link-local addresses and ``*.local`` / ``*.localhost`` names."""
    host = host_of(api_base)
    if host is None:
        return False
    if host in _LOCAL_NAMES or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def provider_of(model: str) -> str:
    """The litellm provider prefix of a model string ("openai" for an unprefixed one)."""
    prefix, slash, _ = model.partition("/")
    return prefix.strip().lower() if slash else "openai"


def _provider_key_in_environment(model: str) -> bool:
    """Whether litellm would find a key for this provider in the environment (OPENAI_API_KEY, ...)."""
    provider = provider_of(model)
    if provider in ("openai", "openai_like", "custom_openai", "text-completion-openai"):
        return bool(os.environ.get("OPENAI_API_KEY"))
    return bool(os.environ.get(f"{provider.upper()}_API_KEY"))


def needs_placeholder(model: str, api_base: str | None, key: str | None) -> bool:
    """True when no key is set and the endpoint is one that works without: a local or private-network
    base URL, or a self-hosted provider (openai/, hosted_vllm/, ollama/, ...) with a base URL of its own.

    A key found in the provider's usual variable is left for litellm to send.
    """
    if key or not api_base or not api_base.strip():
        return False
    if not (is_local(api_base) or provider_of(model) in SELF_HOSTED):
        return False
    return not _provider_key_in_environment(model)


def key_to_send(model: str, api_base: str | None, key: str | None) -> str | None:
    """``key``, else the placeholder for a keyless endpoint, else None (litellm's provider default)."""
    if key:
        return key
    return PLACEHOLDER_KEY if needs_placeholder(model, api_base, key) else None
