"""LLM providers as they really answer, reproduced on the scripted local server over real HTTP with the real litellm
client: JSON among prose, no structured outputs, Retry-After, truncation, content filters, and every error class."""

import json
from collections import deque
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import duckdb
import pytest
from llm_server import by_marker, client_settings

from s3core.interventions import SeedPost
from s3core.llm import errors as E
from s3core.llm.cache import LLMCache
from s3core.llm.client import retry_after
from s3core.llm.errors import ErrorKind
from s3core.llm.gateway import ChatRequest, Gateway
from s3core.llm.policy import HybridPolicy, LLMPolicy
from s3core.llm.schemas import SCHEMA_INSTRUCTION
from s3core.llm.settings import LLMSettings, Secret
from s3core.llm.subset import SubsetSpec
from s3core.runner import run_to_trace
from s3core.types import Attitude, Emotion

KEY = "sk-test-providers-0123456789"
SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "default-llm-cache"))


def settings_for(srv, **kw) -> LLMSettings:
    return client_settings(srv, KEY, **kw)


def ask(marker: str, schema: str = "decision") -> ChatRequest:
    return ChatRequest(schema, ({"role": "user", "content": marker},))


def run(settings, requests, cache=None):
    gateway = Gateway(settings, cache)
    try:
        return gateway.run(requests), gateway.stats
    finally:
        gateway.close()


# ---- replies that carry the JSON among other text ------------------------------------------------


@pytest.mark.parametrize("shape", ["prose_fence", "prose", "think"])
def test_json_among_prose_is_used_without_a_repair(srv, shape):
    srv.default = shape
    (out,), stats = run(settings_for(srv), [ask(f"shape {shape}")])
    assert out.ok and set(out.data) == {"emotion", "attitude", "action"}
    assert out.calls == 1 and stats.repairs == 0 and stats.errors == {} and srv.count == 1


def test_two_different_objects_are_ambiguous_and_repaired_once(srv):
    srv.script.extend(["two_objects", "two_objects"])
    (out,), stats = run(settings_for(srv), [ask("ambiguous")])
    assert not out.ok and out.error_kind == "invalid" and "ambiguous" in out.error
    assert out.calls == 2 and stats.repairs == 1 and stats.errors == {"invalid": 2}


def test_cached_raw_replies_are_judged_when_read_so_a_better_parser_fixes_old_entries(srv, tmp_path, monkeypatch):
    """A strict parser of the past rejects a fenced reply; the entry keeps the raw reply, and today's parser uses it."""

    def strict(content, name):  # what the parser did before: the whole reply must be JSON
        try:
            return json.loads(content or ""), None
        except json.JSONDecodeError as exc:
            return None, f"not JSON ({exc.msg} at char {exc.pos})"

    srv.default = "prose_fence"
    cache_dir = tmp_path / "cache"
    requests = [ask(f"agent {i}") for i in range(6)]
    with monkeypatch.context() as m:
        m.setattr(E, "parse_reply", strict)
        outs, stats = run(settings_for(srv), requests, LLMCache(cache_dir))
    assert not any(o.ok for o in outs) and all(o.error_kind == "invalid" for o in outs)
    assert srv.count == 12 and stats.repairs == 6, "every prompt was asked twice under the strict parser"
    assert len(LLMCache(cache_dir)) == 6, "the model's unusable replies are cached raw"
    again, stats = run(settings_for(srv), requests, LLMCache(cache_dir))
    assert all(o.ok and o.cached for o in again), [o.error for o in again]
    assert srv.count == 12 and stats.calls == 0 and stats.fallbacks == 0


# ---- providers without structured outputs -----------------------------------------------------------


def test_a_provider_without_json_schema_steps_down_once_and_says_so_once(srv):
    srv.accepts = {"json_object", None}
    notices = []
    gateway = Gateway(settings_for(srv), notify=notices.append)
    outs = gateway.run([ask(f"agent {i}") for i in range(12)])
    more = gateway.run([ask(f"later {i}") for i in range(4)])
    gateway.close()
    assert all(o.ok for o in outs + more)
    refused = [b for b in srv.requests if (b.get("response_format") or {}).get("type") == "json_schema"]
    assert len(refused) == 1, "one probe is refused, not the whole batch"
    assert srv.count == 1 + 16 and gateway.stats.errors == {"bad_request": 1}
    assert len(notices) == 1 and "json_schema" in notices[0] and "json_object" in notices[0]
    assert gateway.stats.notices == notices and gateway.stats.structured_output == "json_object"
    last = srv.requests[-1]
    assert last["response_format"] == {"type": "json_object"} and SCHEMA_INSTRUCTION in last["messages"][-1]["content"]


def test_a_provider_without_any_response_format_ends_on_prompt_only(srv, tmp_path):
    srv.accepts = {None}
    cache = tmp_path / "cache"
    notices = []
    gateway = Gateway(settings_for(srv), LLMCache(cache), notify=notices.append)
    outs = gateway.run([ask(f"agent {i}") for i in range(8)])
    gateway.close()
    assert all(o.ok for o in outs) and srv.count == 2 + 8
    assert [n.split("(")[0] for n in notices] == [
        "structured output: the provider refused response_format json_schema ",
        "structured output: the provider refused response_format json_object ",
    ]
    assert "response_format" not in srv.requests[-1]
    sent = srv.count  # the mode is not part of the cache key: a rerun that starts at json_schema again calls nothing
    outs, stats = run(settings_for(srv), [ask(f"agent {i}") for i in range(8)], LLMCache(cache))
    assert all(o.ok and o.cached for o in outs) and srv.count == sent and stats.calls == 0


def test_prompt_mode_sends_no_response_format_and_puts_the_schema_in_the_prompt(srv):
    outs, stats = run(settings_for(srv, structured_output="prompt"), [ask("p", "text"), ask("q", "demographics")])
    assert all(o.ok for o in outs) and stats.structured_output == "prompt"
    for body in srv.requests:
        assert "response_format" not in body and SCHEMA_INSTRUCTION in body["messages"][-1]["content"]


def test_a_plain_bad_request_does_not_step_down(srv):
    srv.default = "400"
    (out,), stats = run(settings_for(srv), [ask("bad")])
    assert out.error_kind == "bad_request" and out.calls == 1 and stats.structured_output == "json_schema"
    assert stats.notices == [] and not out.cacheable


# ---- rate limits ---------------------------------------------------------------------------------


def _gap(srv, marker: str) -> float:
    times = [t for t, b in zip(srv.times, srv.requests) if marker in json.dumps(b["messages"], ensure_ascii=False)]
    assert len(times) == 2, times
    return times[1] - times[0]


def test_retry_after_and_retry_after_ms_are_honoured_and_counted(srv):
    srv.rule = by_marker({"ra-seconds": ["429;Retry-After=2"], "ra-ms": ["429;retry-after-ms=2000"]})
    outs, stats = run(settings_for(srv, backoff=0.01), [ask("ra-seconds"), ask("ra-ms")])
    assert all(o.ok and o.calls == 2 for o in outs)
    for marker, out in zip(("ra-seconds", "ra-ms"), outs):
        assert 1.95 <= _gap(srv, marker) < 3.0, marker
        assert out.wait == pytest.approx(2.0)
    assert stats.wait_s == pytest.approx(4.0) and stats.retries == 2 and stats.errors == {"rate_limit": 2}


def test_a_long_retry_after_is_capped(srv):
    srv.rule = by_marker({"ra-long": ["429;Retry-After=120"]})
    (out,), stats = run(settings_for(srv, max_wait=0.5), [ask("ra-long")])
    assert out.ok and 0.45 <= _gap(srv, "ra-long") < 2.0 and stats.wait_s == pytest.approx(0.5)


def test_retry_after_header_forms():
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "2000", "retry-after": "9"}) == 2.0  # the finer one wins
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after({"retry-after": later}) <= 30
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None


# ---- truncation and filters ----------------------------------------------------------------------------


def test_a_reply_cut_off_at_max_tokens_is_named_and_not_repaired(srv, tmp_path):
    srv.default = "length"
    cache = tmp_path / "cache"
    (out,), stats = run(settings_for(srv, max_tokens=32), [ask("cut")], LLMCache(cache))
    assert out.error_kind == "length" and out.calls == 1 and stats.repairs == 0 and srv.count == 1
    assert "max_tokens=32" in out.error and "--max-tokens" in out.error
    (again,), stats = run(settings_for(srv, max_tokens=32), [ask("cut")], LLMCache(cache))
    assert again.cached and again.error_kind == "length" and srv.count == 1
    srv.default = "valid"  # raising max tokens is a new request, not the cached truncation
    (bigger,), _ = run(settings_for(srv, max_tokens=64), [ask("cut")], LLMCache(cache))
    assert bigger.ok and not bigger.cached and srv.count == 2


def test_content_filter_is_a_refusal_without_a_repair_and_a_model_refusal_gets_one(srv):
    srv.rule = by_marker({"filtered": ["content_filter"], "refused": ["refusal", "refusal"]})
    (filtered, refused), stats = run(settings_for(srv), [ask("filtered"), ask("refused")])
    assert filtered.error_kind == refused.error_kind == "refusal"
    assert filtered.calls == 1 and "content filter" in filtered.error and refused.calls == 2
    assert stats.errors == {"refusal": 3} and stats.repairs == 1


# ---- every error class, counted in the stats and the trace -------------------------------------------------


def test_every_error_class_is_named_counted_and_traced(srv, make_sim, tmp_path):
    plan = {
        "k-429": ["429"] * 3,
        "k-timeout": ["timeout"] * 3,
        "k-500": ["500"] * 3,
        "k-400": ["400"],
        "k-401": ["401"],
        "k-refusal": ["content_filter"],
        "k-length": ["length"],
        "k-invalid": ["malformed"] * 2,
    }
    srv.rule = by_marker(plan)
    names = list(plan) + ["k-down"]
    settings = settings_for(srv, retries=0, timeout=1.0)
    outs, stats = run(settings, [ask(n) for n in plan])
    (down,), down_stats = run(
        LLMSettings(
            model="openai/test-model", api_base="http://127.0.0.1:9/v1", api_key=Secret(KEY), retries=0, timeout=2.0
        ),
        [ask("k-down")],
    )
    kinds = dict(zip(names, [o.error_kind for o in outs] + [down.error_kind]))
    assert kinds == {
        "k-429": "rate_limit",
        "k-timeout": "timeout",
        "k-500": "server",
        "k-400": "bad_request",
        "k-401": "auth",
        "k-refusal": "refusal",
        "k-length": "length",
        "k-invalid": "invalid",
        "k-down": "connection",
    }
    assert set(kinds.values()) <= {k.value for k in ErrorKind}
    assert stats.errors == {
        "rate_limit": 1,
        "timeout": 1,
        "server": 1,
        "bad_request": 1,
        "auth": 1,
        "refusal": 1,
        "length": 1,
        "invalid": 2,
    }
    assert all(E.label(k) and E.hint(k) for k in kinds.values())

    srv.rule = None  # a traced run: each class lands in llm_calls and, counted, in run.llm_stats
    cycle = deque(["429", "500", "400", "length", "malformed", "malformed", None, None] * 1000)
    srv.rule = lambda body: cycle.popleft() if cycle else None
    sim = make_sim(seed=2, steps=2, interventions=SEED)
    policy = HybridPolicy(LLMPolicy(settings), SubsetSpec(share=0.2))
    sim.policy = policy
    out = tmp_path / "run.duckdb"
    try:
        run_to_trace(sim.scenario, out, sim=sim)
        with duckdb.connect(str(out)) as con:
            policy.write_trace(con)
    finally:
        policy.close()
    with duckdb.connect(str(out), read_only=True) as con:
        traced = dict(con.execute("SELECT error_kind, count(*) FROM llm_calls WHERE NOT ok GROUP BY 1").fetchall())
        counted = json.loads(con.execute("SELECT value FROM run WHERE key = 'llm_stats'").fetchone()[0])
    assert {"rate_limit", "server", "bad_request", "length"} <= set(traced)
    assert counted["errors"] == policy.stats.errors and counted["fallback_share"] == round(
        policy.stats.fallback_share, 4
    )
    assert 0 < counted["fallback_share"] < 1


def test_after_the_first_answer_requests_go_concurrently_again(srv):
    srv.latency = 0.2
    srv.accepts = {"json_object", None}
    outs, stats = run(settings_for(srv, concurrency=16), [ask(f"agent {i}") for i in range(16)])
    assert all(o.ok for o in outs) and stats.structured_output == "json_object"
    assert srv.max_in_flight >= 8, "only the probes went one at a time"
    assert stats.wall_s < 16 * 0.2
