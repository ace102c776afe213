"""Batched LLM decisions (agent_mode batched) against the scripted server through the real litellm client."""

import json

import duckdb
import numpy as np
import pytest
from llm_server import client_settings

from benchmarks.llm_bench import SEED, exposed_batch
from s3core.keyed_random import KeyedRandom
from s3core.llm import batching
from s3core.llm.cache import LLMCache
from s3core.llm.policy import HybridPolicy, LLMPolicy, heuristic_for
from s3core.llm.subset import SubsetSpec
from s3core.runner import run_to_trace
from s3core.types import Action

KEY = "sk-test-batching-0123456789"
N = 30


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "default-llm-cache"))


@pytest.fixture
def exposed(make_sim):
    """A simulation after its first step and ``N`` agents exposed to the seed post, with the heuristic's decisions."""
    sim = make_sim(seed=2, steps=5, interventions=(SEED,))
    sim.step()
    batch = exposed_batch(sim, N, np.random.default_rng(3))
    base = heuristic_for(sim).decide(batch, KeyedRandom(0).at(batch.step))
    return batch, base


def batched(srv, **kw):
    return client_settings(srv, KEY, **{"agent_mode": "batched", "batch_size": 10, "max_tokens": 2048, **kw})


def refine(settings, batch, base, cache_path=None):
    policy = LLMPolicy(settings, LLMCache(cache_path))
    try:
        return policy.refine(batch, base), policy
    finally:
        policy.close()


def kinds(srv) -> list[str]:
    return [b["response_format"]["json_schema"]["name"] for b in srv.requests]


def same(a, b, rows=slice(None)) -> bool:
    return all(np.array_equal(x[rows], y[rows]) for x, y in ((a.emotion, b.emotion), (a.attitude, b.attitude), (a.action, b.action)))  # fmt: skip


@pytest.mark.parametrize(
    ("behaviour", "bad"), [("batch_one_bad", 0), ("batch_missing_one", 9), ("batch_duplicate_one", 0)]
)
def test_a_bad_entry_falls_back_alone(srv, exposed, behaviour, bad):
    batch, base = exposed
    clean, _ = refine(batched(srv), batch, base)
    srv.reset()
    srv.rule = lambda body: behaviour if body["response_format"]["json_schema"]["name"] == "decision_batch" else None
    dec, policy = refine(batched(srv), batch, base)
    assert kinds(srv).count("decision_batch") == 3, "30 agents, 10 per request"
    failed = np.array([bad, 10 + bad, 20 + bad])
    decided = np.array([r.ok for r in _rows(policy, "decision_batch")])
    assert np.array_equal(np.flatnonzero(~decided), failed)
    keep = ~np.isin(np.arange(N), failed)
    assert same(dec, clean, keep), "the other entries keep the LLM's answer"
    assert same(dec, base, failed), "the bad entry keeps the heuristic decision"
    assert dec.fallback[failed].all()
    assert policy.stats.fallbacks == 3 and policy.stats.decisions == N and policy.stats.invalid == 3
    errors = [r.error for r in _rows(policy, "decision_batch") if not r.ok]
    assert all("A1" in e or "A10" in e for e in errors), errors


def _rows(policy, kind):
    class Row:
        def __init__(self, d):
            self.__dict__.update(d)

    return [Row(r) for r in policy.pending_trace() if r["kind"] == kind]


def test_a_bad_text_entry_falls_back_alone(srv, exposed):
    batch, base = exposed
    srv.rule = lambda body: "batch_one_bad" if body["response_format"]["json_schema"]["name"] == "text_batch" else None
    dec, policy = refine(batched(srv), batch, base)
    writers = np.flatnonzero(np.isin(dec.action, (Action.QUOTE, Action.POST)))
    assert len(writers) >= 2, "the scripted answers make some writers"
    texts = _rows(policy, "text_batch")
    assert [r.agent for r in texts] == [int(a) for a in batch.agent[writers]]
    assert [r.ok for r in texts] == [j % 10 != 0 for j in range(len(writers))]
    assert dec.text[writers[0]] is None and all(dec.text[i].startswith("模拟文本") for i in writers[1:10])
    assert policy.stats.text_fallbacks == (len(writers) + 9) // 10 and policy.stats.fallbacks == 0


def test_rerun_with_another_batch_size_is_served_entry_by_entry(srv, exposed, tmp_path):
    batch, base = exposed
    cache = tmp_path / "cache"
    first, p1 = refine(batched(srv, batch_size=10), batch, base, cache)
    sent = srv.count
    assert sent == p1.stats.calls and sent >= 4 and not first.fallback.any()
    again, p2 = refine(batched(srv, batch_size=7), batch, base, cache)
    assert srv.count == sent, "every entry is in the cache whatever the batch size"
    assert same(again, first) and again.text == first.text
    assert p2.stats.calls == 0 and p2.stats.hit_rate == 1.0
    assert all(r["cached"] for r in p2.pending_trace())
    _, p3 = refine(client_settings(srv, KEY, max_tokens=2048), batch, base, cache)  # per-agent mode
    assert p3.stats.calls >= N, "batched answers are never served to per-agent runs"


def test_batched_decisions_are_reproducible_and_split_by_agent(srv, exposed):
    batch, base = exposed
    a, _ = refine(batched(srv, batch_size=10), batch, base)
    b, _ = refine(batched(srv, batch_size=10), batch, base)
    c, _ = refine(batched(srv, batch_size=4), batch, base)
    assert same(a, b) and a.text == b.text
    # the scripted server answers each agent from its own block, so a right split gives the same answers at any size
    assert same(a, c) and a.text == c.text
    assert len(set(map(tuple, np.c_[a.emotion, a.attitude, a.action]))) > 3, "answers vary between agents"


def test_a_failed_batch_falls_back_for_all_its_agents(srv, exposed):
    batch, base = exposed
    srv.rule = lambda body: "500" if "[agent A1]" in json.dumps(body["messages"], ensure_ascii=False) else None
    dec, policy = refine(batched(srv, retries=0), batch, base)
    assert dec.fallback.all() and same(dec, base) and all(t is None for t in dec.text)
    s = policy.stats
    assert s.decisions == N and s.fallbacks == N and s.errors.get("server") == 3 and s.calls == 3
    rows = policy.pending_trace()
    assert len(rows) == N and all(not r["ok"] and r["error_kind"] == "server" for r in rows)
    assert sum(r["calls"] for r in rows) == 3


def test_batched_requests_ask_for_room_for_every_entry_whatever_max_tokens(srv, exposed):
    batch, base = exposed
    settings = batched(srv, batch_size=20, max_tokens=256)  # max_tokens is one agent's answer
    wide = batching.batch_settings(settings)
    assert wide.max_tokens == batching.ENVELOPE_TOKENS + 20 * max(batching.ENTRY_TOKENS.values())
    assert batching.per_request(wide, "decision_batch") == batching.per_request(wide, "text_batch") == 20
    dec, policy = refine(settings, batch, base)
    assert kinds(srv).count("decision_batch") == -(-len(batch) // 20) and not dec.fallback.any()
    assert {r["max_tokens"] for r in srv.requests} == {wide.max_tokens} and not policy.stats.notices


def test_a_batch_size_no_reply_can_hold_is_capped_with_a_notice(srv, exposed):
    settings = batched(srv, batch_size=40)
    wide = batching.batch_settings(settings)
    assert wide.max_tokens == 4096 and batching.per_request(wide, "decision_batch") == 40
    assert batching.per_request(wide, "text_batch") == (4096 - batching.ENVELOPE_TOKENS) // 160 < 40
    policy = LLMPolicy(settings, LLMCache(None))
    try:
        batching._warn_if_capped(policy, "text_batch", batching.per_request(wide, "text_batch"))
    finally:
        policy.close()
    assert any("instead of batch_size 40" in n for n in policy.stats.notices)


def test_two_batched_steps_of_a_simulation_write_one_trace_row_per_agent(srv, make_sim, tmp_path):
    sim = make_sim(seed=2, steps=2, interventions=(SEED,))
    policy = HybridPolicy(LLMPolicy(batched(srv, batch_size=8), LLMCache(None)), SubsetSpec(share=0.3))
    sim.policy = policy
    out = tmp_path / "batched.duckdb"
    try:
        summary = run_to_trace(sim.scenario, out, sim=sim)
        con = duckdb.connect(str(out))
        policy.write_trace(con)
        con.close()
    finally:
        policy.close()
    s = policy.stats
    assert len(summary["steps"]) == 2 and s.decisions > 20 and s.fallbacks == 0
    assert set(kinds(srv)) <= {"decision_batch", "text_batch"} and s.calls == srv.count < s.decisions
    con = duckdb.connect(str(out), read_only=True)
    per_kind = dict(con.execute("SELECT kind, count(*) FROM llm_calls GROUP BY kind").fetchall())
    per_agent = con.execute(
        "SELECT max(n) FROM (SELECT count(*) n FROM llm_calls WHERE kind = 'decision_batch' GROUP BY step, agent)"
    ).fetchone()[0]
    totals = con.execute("SELECT sum(calls), sum(prompt_tokens), sum(completion_tokens) FROM llm_calls").fetchone()
    written = con.execute("SELECT count(*) FROM posts WHERE text LIKE '模拟文本%'").fetchone()[0]
    con.close()
    assert per_kind["decision_batch"] == s.decisions and per_agent == 1
    assert 0 < per_kind.get("text_batch", 0) <= written, "each written text is in the posts (reposts copy it)"
    assert totals == (s.calls, s.prompt_tokens, s.completion_tokens), "a request's calls and tokens split, not copied"
    agent = int(next(a for a in range(2000) if policy.last_exchange(a)))
    ex = policy.last_exchange(agent)[0]
    assert ex.kind == "decision_batch" and ex.parsed and batching.AGENT_MARKER.search(ex.messages[1]["content"])


def test_a_repeated_prompt_is_asked_once_and_shared(srv, exposed):
    batch, base = exposed
    rows = np.r_[np.arange(10), 3]  # the same agent in the same state twice: one prompt
    sub = batch.subset(rows)
    sub_base = type(base)(base.emotion[rows], base.attitude[rows], base.action[rows])
    dec, policy = refine(batched(srv), sub, sub_base)
    first = srv.requests[0]["messages"][1]["content"]
    assert len(batching.AGENT_MARKER.findall(first)) == 10 and "[agent A11]" not in first
    assert (dec.emotion[3], dec.attitude[3], dec.action[3]) == (dec.emotion[10], dec.attitude[10], dec.action[10])
    rows_ = [r for r in policy.pending_trace() if r["kind"] == "decision_batch"]
    assert len(rows_) == 11 and rows_[10]["calls"] == 0 and rows_[10]["ok"] and policy.stats.deduplicated >= 1
