"""The LLM backend on the dashboard (Streamlit AppTest) against the scripted local server from llm_server.py.

The Agents page sets the backend through its widgets; the Simulate page steps, shows the counters
and the inspector's prompt; the API key must reach the server and nothing in the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from s3core.llm.cache import LLMCache
from ui import llm
from ui.session import STATE_KEY

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-NEVER-STORE-THIS-0123456789"
DOWN = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "llm-cache"))  # the shared cache, never the user's real one
    return tmp_path / "runs"


@pytest.fixture
def srv(server):
    server.reset()
    server.latency, server.default = 0.0, "valid"
    return server


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def agents_page(api_base: str, share: float = 0.05) -> AppTest:
    """The Agents page with the LLM backend chosen and configured through its widgets."""
    at = AppTest.from_file(str(ROOT / "pages/2_Agents.py"), default_timeout=60).run()
    assert at.radio(key="agents_backend").value == "heuristic", "the offline heuristic is the default"
    at.radio(key="agents_backend").set_value("llm").run()
    at.text_input(key="agents_llm_model").input("openai/test-model")
    at.text_input(key="agents_llm_api_base").input(api_base)
    at.text_input(key="agents_llm_api_key").input(KEY)
    at.number_input(key="agents_llm_retries").set_value(0)
    at.number_input(key="agents_llm_timeout").set_value(5.0)
    at.slider(key="agents_llm_share").set_value(share)
    return clean(at.run())


def simulate(ws, steps: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/4_Simulate.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    clean(at.run())
    for _ in range(steps):
        clean(at.button(key="sim_step").click().run())
    return at


def table_text(path: Path) -> str:
    """Every row of every table of a DuckDB file, as CSV text."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert tables, path
        return "\n".join(con.execute(f'SELECT * FROM "{t}"').df().to_csv() for t in tables)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def suggested_ids(at) -> list[str]:
    """The inspector's suggested user ids (their labels may end in " · LLM agent")."""
    return [o.split(" · ")[0] for o in at.selectbox(key="sim_agent").options]


def test_llm_run_counts_calls_shows_prompts_and_never_stores_the_key(srv, runs_dir):
    agents = agents_page(srv.api_base, share=0.2)
    ws = agents.session_state[STATE_KEY]
    assert agents.text_input(key="agents_llm_api_key").value == "", "the key leaves the widget at once"
    assert ws.scenario.run.backend == "llm" and ws.llm.settings.api_key.reveal() == KEY
    assert ws.llm.subset.share == 0.2 and ws.llm.settings.retries == 0
    assert any("use the LLM" in c.value and "the rest" in c.value for c in agents.caption)
    about = next(c.value for c in agents.caption if "New runs on the Simulate page" in c.value)
    assert "its own request (per-agent)" in about and "batched" not in about.lower(), about

    at = simulate(ws, 3)
    assert any("agents per request: one agent (per-agent)" in c.value for c in at.caption)
    policy = llm.llm_policy(ws.live.sim)
    assert policy is not None and int(metric(at, "LLM calls").replace(",", "")) > 0 and srv.count > 0
    assert metric(at, "Fallbacks") == "0" and int(metric(at, "Tokens").replace(",", "")) > 0
    assert any(KEY in h.get("authorization", "") for h in srv.headers), "the key was sent to the server"

    # The inspector shows an LLM agent's prompt and the model's reply, as plain text.
    ids = list(ws.net.network.user_ids.astype(str))
    labels = at.selectbox(key="sim_agent").options
    mask = policy.mask(ws.live.sim)
    assert labels[0].endswith(" · LLM agent"), "the LLM's agents come first, marked"
    assert all(label.endswith(" · LLM agent") == bool(mask[ids.index(label.split(" · ")[0])]) for label in labels)
    pick = next(uid for uid in suggested_ids(at) if policy.last_exchange(ids.index(uid)))
    agent = ids.index(pick)
    clean(at.selectbox(key="sim_agent").set_value(pick).run())
    texts = [t.value for t in at.text]
    exchange = policy.last_exchange(agent)[0]
    assert any("[system]" in t and exchange.messages[-1]["content"] in t for t in texts)
    assert exchange.response in texts
    note = [c.value for c in at.caption if "Chosen by the LLM" in c.value]  # the call succeeded: no hedge
    assert note and "if the call failed" not in note[0], [c.value for c in at.caption]

    # Reset and the same steps again: answered from the session's cache, without a request.
    sent = srv.count
    at.selectbox(key="sim_agent").set_value(None)  # AppTest cannot keep a typed-in value the new run does not suggest
    clean(at.button(key="sim_reset").click().run())
    for _ in range(3):
        clean(at.button(key="sim_step").click().run())
    assert srv.count == sent and metric(at, "LLM calls") == "0" and metric(at, "Cache hits").endswith("(100%)")

    ws.live.close()  # flush the traces and the cache to disk
    cache = Path(llm.cache_path(ws.run_dir))
    assert cache.is_relative_to(runs_dir.parent) and LLMCache(cache).info().entries > 0, "the machine's shared cache"
    files = [p for p in ws.run_dir.rglob("*") if p.is_file()]
    databases = [p for p in files if p.suffix == ".duckdb"]
    assert not any(p.name.endswith(llm.CACHE_SUFFIX) for p in databases) and len(databases) == 2
    for path in files + [
        p for p in cache.rglob("*") if p.is_file()
    ]:  # raw bytes, and (DuckDB compresses strings) every table's rows as text
        assert KEY.encode() not in path.read_bytes(), f"the API key was written to {path.name}"
    for path in databases:
        assert KEY not in table_text(path), f"the API key was written to {path.name}"
    with duckdb.connect(str(min(databases)), read_only=True) as con:  # the first run traced its calls after each step
        assert con.execute("SELECT count(*) FROM llm_calls WHERE ok").fetchone()[0] > 0
        settings = json.loads(con.execute("SELECT value FROM run WHERE key = 'llm_settings'").fetchone()[0])
    assert settings["model"] == "openai/test-model" and settings["session_key"] is True


def test_failing_server_shows_a_red_banner_and_the_error_classes_and_the_page_goes_on(srv):
    srv.default = "500"
    ws = agents_page(srv.api_base, share=0.1).session_state[STATE_KEY]
    at = simulate(ws, 2)
    assert ws.live.steps_done == 2 and int(metric(at, "Fallbacks").replace(",", "")) > 0
    banner = [e.value for e in at.error]
    assert any("not an LLM run" in e and "100%" in e and "server error" in e for e in banner), banner
    table = next(d.value for d in at.dataframe if "error class" in d.value.columns)
    assert table.iloc[0]["error class"] == "server error" and table.iloc[0]["calls"] > 0
    # an agent whose call failed: the inspector says the heuristic decided, not "the LLM (or the heuristic)"
    policy = llm.llm_policy(ws.live.sim)
    ids = list(ws.net.network.user_ids.astype(str))
    pick = next(uid for uid in suggested_ids(at) if policy.last_exchange(ids.index(uid)))
    clean(at.selectbox(key="sim_agent").set_value(pick).run())
    notes = [c.value for c in at.caption if "call failed" in c.value]
    assert any("offline heuristic's decision" in n for n in notes), [c.value for c in at.caption]
    assert not any("Chosen by the LLM" in c.value for c in at.caption)


def test_a_few_errors_warn_and_a_provider_without_json_schema_is_stepped_down_with_a_notice(srv):
    srv.accepts = {"json_object", None}
    calls = {"n": 0}

    def some_timeouts(body):  # one reply in ten is cut off: a minority, so a warning, not the red banner
        calls["n"] += 1
        return "length" if calls["n"] % 10 == 5 else None

    srv.rule = some_timeouts
    agents = agents_page(srv.api_base, share=0.2)
    assert agents.selectbox(key="agents_llm_structured_output").value == "json_schema"
    at = simulate(agents.session_state[STATE_KEY], 2)
    assert not any("not an LLM run" in e.value for e in at.error)
    assert any("cut off at max tokens" in w.value for w in at.warning)
    notices = [i.value for i in at.info if "structured output" in i.value]
    assert len(notices) == 1 and "json\\_object from now on" in notices[0], notices
    agents.selectbox(key="agents_llm_structured_output").set_value("prompt")
    ws = clean(agents.run()).session_state[STATE_KEY]
    assert ws.llm.settings.structured_output == "prompt"


def test_connection_check_success_then_failure_and_a_run_with_the_server_down(srv):
    agents = agents_page(srv.api_base, share=1.0)  # every decider of the first (small) step asks the LLM
    share = next(c.value for c in agents.caption if "use the LLM" in c.value)
    assert "All" in share and "the rest" not in share and "(all agents)" not in share, share
    clean(agents.button(key="agents_llm_test").click().run())
    assert any("Connected" in s.value for s in agents.success) and srv.count == 1
    assert not any("changed since this test" in c.value for c in agents.caption)
    agents.text_input(key="agents_llm_model").input("openai/another-model")
    clean(agents.run())
    assert any("Connected" in s.value for s in agents.success)
    assert any("Settings changed since this test" in c.value for c in agents.caption), "the banner is flagged stale"
    agents.text_input(key="agents_llm_model").input("openai/test-model")
    agents.text_input(key="agents_llm_api_base").input(DOWN)
    clean(agents.button(key="agents_llm_test").click().run())
    errors = [e.value for e in agents.error]
    assert any("Connection failed" in e for e in errors) and not agents.success
    assert not any(KEY in e for e in errors)
    at = simulate(agents.session_state[STATE_KEY], 1)
    assert at.session_state[STATE_KEY].live.steps_done == 1
    assert any("not an LLM run" in e.value and "connection error" in e.value.lower() for e in at.error)


def test_cost_estimate_on_demand_and_heuristic_runs_show_no_llm_counters(srv):
    agents = agents_page(srv.api_base)
    clean(agents.button(key="agents_llm_estimate").click().run())
    table = next(d.value for d in agents.dataframe if "estimate" in d.value.columns)
    rows = dict(zip(table["estimate"], table["value"]))
    assert int(rows["calls"].replace(",", "")) > 0 and rows["cost"].startswith("unknown") and srv.count == 0
    assert rows["agents per request"] == "one agent (per-agent)", "the summary names the mode it describes"
    assert rows["expected time"].endswith((" s", " min", " h"))
    modes = next(d.value for d in agents.dataframe if "whole run" in d.value.columns).set_index("whole run")
    # modes as columns, the chosen one marked: four narrow columns fit the panel (five wide ones did not)
    assert list(modes.columns) == ["per-agent ✓", "batched", "archetype"], list(modes.columns)
    assert list(modes.index) == ["calls", "prompt tokens", "completion tokens", "cost", "expected time"]
    calls = modes.loc["calls"].str.replace(",", "").astype(int)
    per_agent, batched = calls["per-agent ✓"], calls["batched"]
    assert per_agent == int(rows["calls"].replace(",", "")) and 0 < batched < per_agent
    assert 0 < calls["archetype"] <= per_agent
    assert modes.loc["completion tokens", "per-agent ✓"] == rows["completion tokens"]
    assert all(int(v.replace(",", "")) > 0 for v in modes.loc["completion tokens"])
    caption = next(c.value for c in agents.caption if "The same run in each agent mode" in c.value)
    assert "k times as long" in caption and "not waiting" in caption and "batch size barely" in caption

    agents.selectbox(key="agents_llm_agent_mode").set_value("batched")
    clean(agents.run())
    about = next(c.value for c in agents.caption if "New runs on the Simulate page" in c.value)
    assert "Up to 10 agents' decisions go in one request" in about, about
    clean(agents.button(key="agents_llm_estimate").click().run())
    table = next(d.value for d in agents.dataframe if "estimate" in d.value.columns)
    rows = dict(zip(table["estimate"], table["value"]))
    assert rows["agents per request"] == "several agents (batched), up to 10 a request"
    modes = next(d.value for d in agents.dataframe if "whole run" in d.value.columns)
    assert list(modes.columns) == ["whole run", "per-agent", "batched ✓", "archetype"]
    agents.radio(key="agents_backend").set_value("heuristic").run()
    at = simulate(agents.session_state[STATE_KEY], 1)
    assert not any(m.label == "LLM calls" for m in at.metric) and srv.count == 0
