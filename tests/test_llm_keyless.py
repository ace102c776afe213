"""A keyless local server (Ollama, vLLM) through the real litellm client, and failures told in one sentence.

The scripted server of tests/llm_server.py needs no key, like ``ollama serve`` or ``vllm serve`` without
``--api-key``; litellm's OpenAI client alone refuses to send a request without one ("Missing credentials").
"""

import time

import pytest

from s3core.interventions import SeedPost
from s3core.llm.cache import LLMCache
from s3core.llm.endpoints import PLACEHOLDER_KEY, is_local, key_to_send, needs_placeholder
from s3core.llm.errors import ErrorKind
from s3core.llm.explain import explain, provider_message
from s3core.llm.gateway import test_connection
from s3core.llm.policy import HybridPolicy, LLMPolicy
from s3core.llm.settings import LLMSettings, Secret
from s3core.llm.subset import SubsetSpec
from s3core.types import Attitude, Emotion

KEY_VARIABLES = ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "HOSTED_VLLM_API_KEY", "OLLAMA_API_KEY", "ANTHROPIC_API_KEY")
SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)


@pytest.fixture
def no_keys(monkeypatch):
    """No provider key anywhere in the environment, as on a machine that only runs a local model."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def keyless(srv, **changes) -> LLMSettings:
    base = dict(model="openai/test-model", api_base=srv.api_base, timeout=5.0, retries=0)
    return LLMSettings(**{**base, **changes})


# ---- which endpoints get the placeholder ---------------------------------------------------------


@pytest.mark.parametrize(
    "base, local",
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://localhost:8000/v1", True),
        ("localhost:8000", True),
        ("http://[::1]:8000/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://172.20.0.3:8000/v1", True),
        ("http://gpu-box.local:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://172.32.0.1/v1", False),  # outside 172.16/12
        ("http://8.8.8.8/v1", False),
        ("", False),
        (None, False),
    ],
)
def test_local_endpoints_are_recognised(base, local):
    assert is_local(base) is local


def test_placeholder_only_where_no_key_would_be_sent(no_keys, monkeypatch):
    assert key_to_send("openai/qwen", "http://127.0.0.1:11434/v1", None) == PLACEHOLDER_KEY
    assert key_to_send("anthropic/claude", "http://127.0.0.1:4000", None) == PLACEHOLDER_KEY  # a local proxy
    assert key_to_send("hosted_vllm/m", "https://vllm.example.org/v1", None) == PLACEHOLDER_KEY  # self-hosted
    assert key_to_send("openai/qwen", "http://127.0.0.1:11434/v1", "sk-mine") == "sk-mine"  # a typed key wins
    assert key_to_send("openai/gpt-4o-mini", None, None) is None  # the provider's default: litellm asks for a key
    assert key_to_send("anthropic/claude", "https://api.example.org", None) is None  # remote, not self-hosted
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    assert not needs_placeholder("openai/qwen", "http://127.0.0.1:11434/v1", None)  # litellm sends the variable


def test_the_placeholder_is_neither_stored_nor_public(no_keys, srv):
    s = keyless(srv)
    assert "session_key" in s.public() and not s.public()["session_key"]
    assert PLACEHOLDER_KEY not in s.public_json() and PLACEHOLDER_KEY not in s.secrets()


# ---- the real client against the keyless server ---------------------------------------------------


def test_connection_test_succeeds_without_any_key(no_keys, srv):
    result = test_connection(keyless(srv))
    assert result.ok and result.structured, result
    assert srv.count == 1 and srv.headers[-1]["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_a_decision_call_succeeds_without_any_key(no_keys, srv, make_sim):
    sim = make_sim(seed=2, steps=2, interventions=SEED)
    policy = HybridPolicy(LLMPolicy(keyless(srv), LLMCache(None)), SubsetSpec(share=0.3))
    sim.policy = policy
    try:
        sim.step()
        sim.step()
        stats = policy.stats
    finally:
        policy.close()
    assert stats.decisions > 0 and stats.calls > 0 and srv.count == stats.calls
    assert stats.fallbacks == 0 and not stats.errors, stats.errors


def test_without_an_api_base_the_missing_key_is_one_sentence(no_keys):
    result = test_connection(LLMSettings(model="openai/gpt-4o-mini", timeout=2.0))  # nothing is sent
    assert not result.ok
    assert result.message.startswith("openai/gpt-4o-mini needs an API key and none is set.")
    assert "OPENAI_API_KEY" in result.message and "Fix:" in result.message
    assert "Missing credentials" not in result.message and "Missing credentials" in result.detail


def test_a_wrong_base_url_fails_fast_with_a_plain_sentence(no_keys):
    started = time.perf_counter()
    result = test_connection(LLMSettings(model="openai/test-model", api_base="http://127.0.0.1:9/v1", timeout=10.0))
    took = time.perf_counter() - started
    assert not result.ok and took < 3.0, took  # refused at once, not after the 10 s timeout
    assert result.message.startswith("Nothing answered at http://127.0.0.1:9/v1")
    assert "Fix: start the server" in result.message and "Exception" not in result.message


def test_an_unknown_model_names_the_model_and_where_to_list_them(no_keys, srv):
    srv.models = {"qwen2.5"}
    result = test_connection(keyless(srv, model="openai/llama9"))
    assert not result.ok and srv.count == 1
    assert "has no model 'llama9'" in result.message and f"GET {srv.api_base}/models" in result.message


@pytest.mark.parametrize(
    "behaviour, opening, fix",
    [
        ("401", "The server at {base} refused the API key", "--api-key needs that key"),
        ("429", "The server at {base} is limiting requests", "lower Concurrency"),
        ("400", "The server at {base} rejected the request as invalid: Invalid value for 'messages'", "Structured"),
        ("500", "The server at {base} failed with a server error: internal error", "server's log"),
        ("timeout", "openai/test-model sent no answer within 0.5 s", "raise Timeout"),
    ],
)
def test_provider_errors_become_one_sentence_and_a_fix(no_keys, srv, behaviour, opening, fix):
    srv.script.append(behaviour)
    srv.timeout_stall = 1.0
    result = test_connection(keyless(srv, timeout=0.5))
    assert not result.ok
    assert result.message.startswith(opening.format(base=srv.api_base)), result.message
    assert "Fix:" in result.message and fix in result.message.split("Fix:")[1]
    assert "litellm" not in result.message and "OpenAIException" not in result.message


def test_a_model_without_a_provider_prefix():
    text = "BadRequestError: litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider"
    sentence = explain(ErrorKind.BAD_REQUEST.value, text, "qwen2.5", "http://127.0.0.1:11434/v1")
    assert sentence.startswith("litellm does not know which provider serves 'qwen2.5'") and "openai/<name>" in sentence


def test_provider_message_keeps_the_providers_words_only():
    raw = "BadRequestError: litellm.BadRequestError: OpenAIException - Invalid value for 'messages'."
    assert provider_message(raw) == "Invalid value for 'messages'"
    assert len(provider_message("x" * 1000)) == 160


def test_a_typed_key_is_still_sent_to_a_local_server(no_keys, srv):
    assert test_connection(keyless(srv, api_key=Secret("sk-local-secret-123"))).ok
    assert srv.headers[-1]["authorization"] == "Bearer sk-local-secret-123"


def test_ollama_models_are_told_ollamas_own_address():
    down = explain(ErrorKind.CONNECTION.value, "Connection error.", "ollama/qwen2.5", "http://127.0.0.1:11434/v1")
    assert "http://127.0.0.1:11434, without /v1" in down
    missing = explain(ErrorKind.BAD_REQUEST.value, "NotFoundError: 404 page not found", "ollama/qwen2.5", "http://h/v1")
    assert "has no model 'qwen2.5'" in missing and "without /v1" in missing
    assert "ends in /v1" in explain(ErrorKind.BAD_REQUEST.value, "NotFoundError: 404", "openai/q", "http://h/v1")


def test_addresses_in_a_shown_message_are_code_not_links(no_keys):
    import re

    from ui.llm_panel import message_md

    result = test_connection(LLMSettings(model="openai/test-model", api_base="http://127.0.0.1:9/v1", timeout=10.0))
    shown = message_md(result.message)
    # Every URL sits inside backticks (code spans are never autolinked); none is left bare for an autolink.
    assert "`http://127.0.0.1:9/v1`" in shown and "`http://127.0.0.1:11434/v1`" in shown
    assert not re.search(r"(?<!`)https?://", shown), shown
    assert message_md("see https://example.org/a_b. Then *x*") == r"see `https://example.org/a_b`\. Then \*x\*"
