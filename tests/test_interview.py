"""Interviews: a free question to one agent, answered in persona by the LLM over real HTTP, logged in a real trace."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from llm_server import ScriptedServer, client_settings

from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.llm import interview as I
from s3core.llm import interview_snapshot as IS
from s3core.llm import interview_trace as IT
from s3core.llm.cache import LLMCache
from s3core.llm.client import cost_of, price_per_token
from s3core.llm.gateway import Gateway
from s3core.llm.prompts import event_summary
from s3core.trace_lock import TraceInUse, TraceLock
from s3core.types import Attitude, Emotion
from ui.decisions import RecordingPolicy

KEY = "sk-test-NEVER-STORE-THIS-0123456789"
SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sim(text, small_network):
    """Five steps of a seeded run whose policy keeps every agent's last decision (as the dashboard's does)."""
    from s3core import scenario as S

    scenario = S.Scenario(seed=3, steps=5).replace(interventions=SEED)
    base = Simulation(scenario, network=small_network, text=text)
    sim = Simulation(
        scenario, network=small_network, text=text, policy=RecordingPolicy(base.policy, small_network.n_users)
    )
    for _ in range(5):
        sim.step()
    return sim


def informed_agent(sim) -> int:
    """An agent with a decision and at least two posts in memory (the richest prompt)."""
    full = (sim.state.mem_post >= 0).sum(axis=1)
    decided = sim.policy.step >= 0
    candidates = np.flatnonzero(decided & (full >= 2))
    assert len(candidates), "the seeded run exposes some agents twice"
    return int(candidates[0])


def sent_prompt(srv: ScriptedServer) -> str:
    return "\n".join(m["content"] for m in srv.requests[-1]["messages"])


def test_an_interview_carries_the_agents_memory_state_profile_and_decision(sim, srv, tmp_path):
    agent = informed_agent(sim)
    snap = IS.snapshot_of(sim, agent)
    assert snap.decision is not None and len(snap.memory) >= 2
    assert [m.influence for m in snap.memory] == sorted((m.influence for m in snap.memory), reverse=True)
    settings = client_settings(srv, KEY)
    question = "你为什么转发这条消息？"
    answer = I.ask(snap, question, settings, cache=LLMCache(tmp_path / "cache"), event=event_summary(sim.scenario))

    assert answer.ok, answer.error
    assert srv.count == 1
    body = srv.requests[-1]
    assert body["response_format"]["json_schema"]["name"] == "interview"
    prompt = sent_prompt(srv)
    for m in snap.memory:  # the memory pool's texts, with their stance and emotion
        assert " ".join(m.text.split())[:40] in prompt
        assert f"({m.stance}, {m.emotion}" in prompt
    assert f"your emotion about it is {snap.emotion}" in prompt.lower()
    assert f"your attitude toward it is {snap.attitude}" in prompt
    assert f"{snap.age}-year-old" in prompt  # the S3 persona
    d = snap.decision
    assert f"Your last decision, at step {d.step}" in prompt
    assert " ".join(d.focal_text.split())[:40] in prompt
    assert question in prompt and "日本核电站辐射泄漏" in prompt  # the question and the event
    assert "first person" in body["messages"][0]["content"] and "language" in body["messages"][0]["content"]
    # the scripted server's answer, as the model gave it, with its usage
    assert answer.answer.startswith("模拟文本")
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0
    assert answer.cost_usd is None  # openai/test-model has no price in litellm's map
    assert answer.messages[1]["content"] == body["messages"][1]["content"]

    trace = tmp_path / "run.duckdb"
    con = duckdb.connect(str(trace))
    IT.write_interview(con, sim.step_index - 1, agent, snap.user_id, answer)
    con.close()
    con = duckdb.connect(str(trace), read_only=True)
    rows = con.execute("SELECT * FROM interviews").df()
    con.close()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["question"] == question and row["answer"] == answer.answer and bool(row["ok"])
    assert row["agent"] == agent and row["user_id"] == snap.user_id and row["step"] == 4
    assert row["prompt_tokens"] == answer.prompt_tokens > 0 and row["completion_tokens"] == answer.completion_tokens
    assert "cost_usd" in rows.columns and row["cost_usd"] != row["cost_usd"]  # NULL: unknown, not zero
    assert json.loads(row["prompt"])[1]["content"] == body["messages"][1]["content"]

    again = I.ask(snap, question, settings, cache=LLMCache(tmp_path / "cache"))
    assert srv.count == 2, "a different event line is a different prompt"
    cached = I.ask(snap, question, settings, cache=LLMCache(tmp_path / "cache"))
    assert cached.cached and cached.answer == again.answer and srv.count == 2
    fresh = I.ask(snap, question, settings, cache=LLMCache(tmp_path / "cache"), fresh=True)
    assert not fresh.cached and fresh.ok and srv.count == 3, "a new answer skips the cache lookup"
    assert I.ask(snap, question, settings, cache=LLMCache(tmp_path / "cache")).cached, "the cache still answers"


def test_the_last_decision_reads_as_sentences(sim):
    agent = informed_agent(sim)
    snap = IS.snapshot_of(sim, agent)
    moved = IS.LastDecision(snap.decision.step, "post", "calm", "intense", "negative", "positive", "text")
    prompt = I.interview_messages(IS.AgentSnapshot(**{**snap.__dict__, "decision": moved}), "Why?")[1]["content"]
    assert "your emotion went from calm to intense and your attitude went from negative to positive" in prompt
    kept = IS.LastDecision(snap.decision.step, "ignore", "calm", "calm", "negative", "negative", "text")
    prompt = I.interview_messages(IS.AgentSnapshot(**{**snap.__dict__, "decision": kept}), "Why?")[1]["content"]
    assert "your emotion stayed calm and your attitude stayed negative" in prompt


def test_a_priced_model_costs_its_tokens_at_litellms_price(sim, srv):
    """litellm's own cost for openai/gpt-4o-mini (served here by the scripted server) is tokens x its price."""
    settings = client_settings(srv, KEY, model="openai/gpt-4o-mini")
    answer = I.ask(IS.snapshot_of(sim, informed_agent(sim)), "How do you feel about this?", settings)
    assert answer.ok and answer.cost_usd is not None
    price_in, price_out = price_per_token("openai/gpt-4o-mini")
    expected = answer.prompt_tokens * price_in + answer.completion_tokens * price_out
    assert answer.cost_usd == pytest.approx(expected, rel=1e-9) and answer.cost_usd > 0
    assert cost_of("openai/gpt-4o-mini", 1000, 500) == pytest.approx(1000 * price_in + 500 * price_out)
    assert cost_of("openai/test-model", 1000, 500) is None


def test_an_unaware_agent_is_asked_without_memory_or_decision(sim, srv):
    unaware = int(np.flatnonzero(~sim.state.aware)[0])
    snap = IS.snapshot_of(sim, unaware)
    assert snap.memory == () and snap.decision is None and not snap.aware
    answer = I.ask(snap, "Have you heard about the nuclear plant?", client_settings(srv, KEY))
    assert answer.ok
    prompt = sent_prompt(srv)
    assert "you have not heard of this event yet" in prompt and "No post about the event is in your memory." in prompt
    assert "Your last decision" not in prompt


def test_the_inspectors_dict_gives_the_same_snapshot(sim):
    """``snapshot_from_inspect`` reads what ``LiveRun.inspect`` returns (names of sources, codes of states)."""
    from ui.live import LiveRun

    agent = informed_agent(sim)
    live = LiveRun(sim, Path("/nonexistent/never-written.duckdb"), "test", net=None)
    info = live.inspect(agent)
    from_ui = IS.snapshot_from_inspect(info, *IS.own_words(sim.network, agent))
    assert from_ui == IS.snapshot_of(sim, agent)


def test_refusals_are_clear_and_send_nothing(sim, srv):
    snap = IS.snapshot_of(sim, informed_agent(sim))
    settings = client_settings(srv, KEY)
    with pytest.raises(ValueError, match="question is empty"):
        I.ask(snap, "   ", settings)
    with pytest.raises(ValueError, match="1,000 or fewer"):
        I.ask(snap, "x" * (I.MAX_QUESTION + 1), settings)
    with pytest.raises(ValueError, match="No LLM model is given.*Agents page"):
        I.ask(snap, "Why?", None)
    with pytest.raises(ValueError, match="No LLM model is given"):
        I.ask(snap, "Why?", client_settings(srv, KEY, model=" "))
    assert srv.count == 0


def test_an_endpoint_error_is_one_sentence_and_is_logged(sim, srv, tmp_path):
    srv.default = "500"
    snap = IS.snapshot_of(sim, informed_agent(sim))
    answer = I.ask(snap, "Why?", client_settings(srv, KEY, retries=0))
    assert not answer.ok and answer.answer == "" and answer.error_kind == "server"
    assert "server error" in answer.error and "Traceback" not in answer.error and "\n" not in answer.error
    srv.default = "valid"
    path = tmp_path / "trace.duckdb"
    duckdb.connect(str(path)).close()
    IT.append_to_file(path, 4, snap.agent, snap.user_id, answer)
    con = duckdb.connect(str(path), read_only=True)
    rows = IT.read_interviews(con, snap.agent)
    con.close()
    assert len(rows) == 1 and rows[0]["ok"] is False and rows[0]["error"] == answer.error


def test_a_trace_held_elsewhere_is_refused_with_its_holder(sim, srv, tmp_path):
    snap = IS.snapshot_of(sim, informed_agent(sim))
    answer = I.ask(snap, "Why?", client_settings(srv, KEY))
    path = tmp_path / "held.duckdb"
    duckdb.connect(str(path)).close()
    with TraceLock(path).acquire():  # a run writing this trace
        with pytest.raises(TraceInUse, match="kept in this session"):
            IT.append_to_file(path, 4, snap.agent, snap.user_id, answer)
    IT.append_to_file(path, 4, snap.agent, snap.user_id, answer)
    con = duckdb.connect(str(path), read_only=True)
    assert len(IT.read_interviews(con, snap.agent)) == 1 and IT.read_interviews(con, snap.agent + 1) == []
    con.close()


def test_a_given_gateway_is_used_and_left_open(sim, srv):
    snap = IS.snapshot_of(sim, informed_agent(sim))
    gateway = Gateway(client_settings(srv, KEY))
    try:
        first = I.ask(snap, "Why?", None, gateway=gateway)
        second = I.ask(snap, "Why not?", None, gateway=gateway)
        assert first.ok and second.ok and gateway.stats.calls == 2
    finally:
        gateway.close()


# -- the inspector ------------------------------------------------------------------------------------
def _simulate_page(tmp_path, monkeypatch, steps: int):
    from streamlit.testing.v1 import AppTest

    from ui.session import STATE_KEY

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "pages/4_Simulate.py"), default_timeout=90).run()
    for _ in range(steps):
        at.button(key="sim_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at, at.session_state[STATE_KEY]


def test_the_inspector_refuses_to_interview_without_an_llm(tmp_path, monkeypatch, srv):
    import dataclasses

    from ui.llm import LLMChoice

    at, ws = _simulate_page(tmp_path, monkeypatch, steps=1)
    ws.llm = LLMChoice(settings=client_settings(srv, KEY))  # a model is set, but the backend is the heuristic
    at.run()
    assert ws.scenario.run.backend == "heuristic"
    infos = [i.value for i in at.info]
    refusal = [i for i in infos if "decision backend is the offline heuristic" in i]
    assert refusal and "Agents" in refusal[0] and "LLM backend" in refusal[0], infos
    assert not any("No LLM is configured" in i for i in infos), "a model is set: the backend is what is missing"
    assert at.text_area(key="sim_interview_question").disabled
    assert at.button(key="sim_interview_ask").disabled and at.checkbox(key="sim_interview_fresh").disabled
    ws.llm = LLMChoice(settings=dataclasses.replace(client_settings(srv, KEY), model=""))
    ws.scenario = ws.scenario.replace(run=dataclasses.replace(ws.scenario.run, backend="llm"))
    at.run()
    assert any("No model is set" in i.value for i in at.info) and srv.count == 0


def test_the_inspector_asks_the_agent_and_logs_the_interview_in_the_live_trace(tmp_path, monkeypatch, srv):
    import dataclasses

    from ui.llm import LLMChoice

    at, ws = _simulate_page(tmp_path, monkeypatch, steps=4)
    # the Agents page's choice: the LLM backend on the scripted server (the heuristic run keeps its own policy)
    ws.llm = LLMChoice(settings=client_settings(srv, KEY))
    ws.scenario = ws.scenario.replace(run=dataclasses.replace(ws.scenario.run, backend="llm"))
    at.run()
    assert not at.button(key="sim_interview_ask").disabled
    at.text_area(key="sim_interview_question").input("What do you make of all this?")
    at.button(key="sim_interview_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert srv.count == 1

    live = ws.live
    rows = live.query("SELECT agent, question, answer, ok, prompt_tokens, completion_tokens, cost_usd FROM interviews")
    assert len(rows) == 1 and bool(rows["ok"].iloc[0]) and rows["prompt_tokens"].iloc[0] > 0
    agent = int(rows["agent"].iloc[0])
    info = live.inspect(agent)
    prompt = sent_prompt(srv)
    assert info["pool"], "the newest poster remembers what it read"
    assert f"your emotion about it is {('calm', 'moderate', 'intense')[info['emotion']]}" in prompt.lower()
    for row in info["pool"]:
        assert " ".join(row["text"].split())[:30] in prompt
    assert "What do you make of all this?" in prompt
    shown = [m.value for m in at.markdown]
    assert any(rows["answer"].iloc[0] in v for v in shown), "the answer is shown"
    assert any("1 interview of this agent in this run" in c.value for c in at.caption)

    srv.default = "500"  # the endpoint fails: one sentence on the page, the failure logged too
    at.text_area(key="sim_interview_question").input("And now?")
    at.button(key="sim_interview_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("server error" in e and "Fix:" in e and "Traceback" not in e for e in errors), errors
    assert len(live.query("SELECT * FROM interviews")) == 2
    assert any("2 interviews of this agent in this run" in c.value for c in at.caption)


def test_before_the_first_step_the_interview_is_kept_in_the_session(tmp_path, monkeypatch, srv):
    import dataclasses

    from ui.interview_view import KEPT_KEY
    from ui.llm import LLMChoice

    at, ws = _simulate_page(tmp_path, monkeypatch, steps=0)
    ws.llm = LLMChoice(settings=client_settings(srv, KEY))
    ws.scenario = ws.scenario.replace(run=dataclasses.replace(ws.scenario.run, backend="llm"))
    at.run()
    at.text_area(key="sim_interview_question").input("Who are you?")
    at.button(key="sim_interview_ask").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert srv.count == 1 and not ws.live.has_trace
    assert any("no trace yet" in w.value and "kept in this session" in w.value for w in at.warning)
    kept = [row for rows in at.session_state[KEPT_KEY].values() for row in rows]
    assert len(kept) == 1 and kept[0]["question"] == "Who are you?" and kept[0]["ok"]
    assert any(kept[0]["answer"] in m.value for m in at.markdown)

    at.button(key="sim_interview_ask").click().run()  # the same question again: from the cache
    assert srv.count == 1 and any("from the cache" in c.value for c in at.caption)
    at.checkbox(key="sim_interview_fresh").check()
    at.button(key="sim_interview_ask").click().run()  # "New answer (skip the cache)": the model is asked again
    assert not at.exception, [e.value for e in at.exception]
    assert srv.count == 2
    kept = [row for rows in at.session_state[KEPT_KEY].values() for row in rows]
    assert len(kept) == 3 and not kept[0]["cached"] and kept[1]["cached"]
