"""The agent inspector's state history runs to the run's current step, not to the agent's last change."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import traces
from ui.inspector import history_to_step
from ui.session import STATE_KEY

ROOT = Path(__file__).resolve().parent.parent


def history(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["step", "aware", "emotion", "attitude"])
    return frame.astype({"step": "int64", "aware": "bool", "emotion": "int64", "attitude": "int64"})


def suggested_ids(at) -> list[str]:
    """The inspector's suggested user ids (their labels may end in " · LLM agent")."""
    return [o.split(" · ")[0] for o in at.selectbox(key="sim_agent").options]


def test_the_last_state_is_carried_to_the_current_step():
    h = history((-1, False, 0, 1), (2, True, 2, 0))
    out = history_to_step(h, 7)
    assert out["step"].tolist() == [-1, 2, 7]
    assert out.iloc[-1][["aware", "emotion", "attitude"]].tolist() == [True, 2, 0]
    assert out.dtypes.to_dict() == h.dtypes.to_dict()
    assert len(h) == 2, "the input is not changed"


def test_the_closing_row_is_the_live_state_when_given():
    h = history((-1, False, 0, 1), (2, True, 2, 0))  # the trace may lag a step or two behind the model
    out = history_to_step(h, 7, {"aware": True, "emotion": 1, "attitude": 1, "pool": []})
    assert out.iloc[-1].tolist() == [7, True, 1, 1]


@pytest.mark.parametrize(
    "h, step",
    [
        (history((-1, False, 0, 1), (4, True, 1, 1)), 4),  # the agent changed at the current step
        (history((-1, False, 0, 1), (4, True, 1, 1)), 3),  # the trace is ahead of the step read
        (history((-1, False, 0, 1)), -1),  # no step has run
        (history(), 5),  # no trace
    ],
)
def test_nothing_is_added_when_the_history_already_reaches_the_step(h, step):
    assert history_to_step(h, step).equals(h)


def test_an_unaware_agent_is_drawn_flat_to_the_current_step():
    out = history_to_step(history((-1, False, 0, 0)), 9)
    assert out["step"].tolist() == [-1, 9] and not out["aware"].any()


def _xs(at: AppTest, title: str) -> list[np.ndarray]:
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            out = []
            for trace in spec["data"]:
                x = trace["x"]
                if isinstance(x, dict):
                    x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
                out.append(np.asarray(x))
            return out
    raise AssertionError(f"no chart titled {title!r}")


def test_the_simulate_page_charts_an_early_changer_up_to_the_current_step(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "pages/4_Simulate.py"), default_timeout=60).run()
    ws = at.session_state[STATE_KEY]
    for _ in range(4):
        at.button(key="sim_step").click().run()
    live = ws.live
    assert live.steps_done == 4 and not at.exception
    net = live.net.network
    box = at.selectbox(key="sim_agent")
    last = traces.query(ws, live.path, "SELECT agent, max(step) AS last FROM states GROUP BY agent")
    last = dict(zip(last["agent"].astype(int), last["last"].astype(int)))
    ids = net.user_ids.astype(str)
    early = [o for o in box.options if last.get(int(np.flatnonzero(ids == o)[0]), -1) < 3]
    assert early, "some suggested agent last changed before the last step (or never)"
    box.set_value(early[0]).run()
    assert not at.exception, [e.value for e in at.exception]
    xs = _xs(at, "State history")
    assert xs and all(x.max() == 3 for x in xs), xs  # before: the line stopped at the agent's last change


def test_an_archetype_agents_exchange_is_explained_as_its_cells_answer(tmp_path, monkeypatch, srv):
    """The reply shown is the cell's; the caption says so, gives the cell's size and the normalised probabilities,
    and the decision note says the LLM's answer decided (the call succeeded), without hedging."""
    import dataclasses
    import re

    from llm_server import client_settings

    from ui import llm
    from ui.llm import LLMChoice

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "pages/4_Simulate.py"), default_timeout=90).run()
    ws = at.session_state[STATE_KEY]
    ws.llm = LLMChoice(settings=client_settings(srv, "sk-test-0123456789", agent_mode="archetype", mode="combined"))
    ws.scenario = ws.scenario.replace(run=dataclasses.replace(ws.scenario.run, backend="llm"))
    at.button(key="sim_reset").click().run()
    for _ in range(2):
        at.button(key="sim_step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    policy = llm.llm_policy(ws.live.sim)
    assert policy is not None and policy.llm.settings.agent_mode == "archetype" and srv.count > 0
    assert any("agents per request: a cell of similar agents (archetype)" in c.value for c in at.caption)
    ids = list(ws.live.net.network.user_ids.astype(str))

    def cell_size(uid: str) -> int:  # members of the agent's cell this step, from its archetype prompt (0: none)
        ex = [e for e in policy.last_exchange(ids.index(uid)) if e.kind == "archetype" and e.parsed]
        found = re.search(r"The group \((\d+) users?\)", ex[0].messages[-1]["content"]) if ex else None
        return int(found.group(1)) if found else 0

    pick = max(suggested_ids(at), key=cell_size)
    assert cell_size(pick) > 0, "a suggested agent's exchange is its cell's"
    at.selectbox(key="sim_agent").set_value(pick).run()
    assert not at.exception, [e.value for e in at.exception]
    ex = policy.last_exchange(ids.index(pick))[0]
    size = re.search(r"The group \((\d+) users?\)", ex.messages[-1]["content"]).group(1)
    captions = [c.value for c in at.caption]
    note = next((c for c in captions if "This reply is the answer for this agent's cell" in c), None)
    assert note is not None, captions
    if size == "1":
        assert "which held only this agent this step" in note, note
    else:
        assert f"cell of {size} similar agents" in note and "not for this agent alone" in note, note
    assert "keyed random numbers" in note and "normalised" in note
    total = sum(float(ex.parsed["emotion"][k]) for k in ("calm", "moderate", "intense"))
    calm = float(ex.parsed["emotion"]["calm"]) / total
    assert f"emotion: calm {calm:.2f}" in note, note
    assert any("Drawn from the LLM's answer for this agent's cell" in c for c in captions), captions
    assert not any("if the call failed" in c for c in captions)


def test_an_archetype_note_names_the_cells_size_and_its_normalised_probabilities():
    from s3core.llm.policy import Exchange
    from ui.llm_panel import archetype_note

    reply = {
        "emotion": {"calm": 0.5, "moderate": 0.25, "intense": 0.25},
        "attitude": {"negative": 1.0, "positive": 3.0},
        "action": {"ignore": 1.0, "repost": 1.0, "quote": 1.0, "post": 1.0},
        "texts": [],
    }
    prompt = ({"role": "system", "content": "s"}, {"role": "user", "content": "The group (12 users): women aged 20"})
    note = archetype_note(Exchange(3, "archetype", prompt, json.dumps(reply), reply, None, False))
    assert "cell of 12 similar agents" in note and "not for this agent alone" in note
    assert "attitude: negative 0.25, positive 0.75" in note and "action: ignore 0.25" in note
    failed = archetype_note(Exchange(3, "archetype", prompt, None, None, "timeout", False))
    assert "cell of 12 similar agents" in failed and "Normalised" not in failed
