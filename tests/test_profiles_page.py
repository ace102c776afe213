"""The Agents page's profiles tab (Streamlit AppTest) against the scripted local server from llm_server.py.

S3's profiling by the LLM on a few users through the page's widgets: the profiles file lands in the
workspace, the scenario names it, the source table counts the LLM's users, and a rerun is answered
from the shared cache. Uploads, "Stop using profiles" and the workspace's population key are checked too.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from s3core.demographics import Provenance
from s3core.llm.stats import LLMStats
from s3core.profiles import read_profiles, write_profiles
from ui import charts, profiles_panel
from ui import profiles_data as D
from ui.session import STATE_KEY, new_workspace

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-profiles-0123456789"
TAB = "Profiles (S3 profiling)"
SOURCE = "profiled: llm:openai/test-model"


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "llm-cache"))  # the shared cache, never the user's real one
    return tmp_path / "runs"


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def profiles_tab(api_base: str | None = None) -> AppTest:
    """The Agents page on its profiles tab; with ``api_base``, the LLM backend set to the scripted server."""
    at = AppTest.from_file(str(ROOT / "pages/2_Agents.py"), default_timeout=120)
    at.session_state["agents_pop_tabs"] = TAB
    clean(at.run())
    if api_base is not None:
        at.radio(key="agents_backend").set_value("llm").run()
        at.text_input(key="agents_llm_model").input("openai/test-model")
        at.text_input(key="agents_llm_api_base").input(api_base)
        at.text_input(key="agents_llm_api_key").input(KEY)
        at.number_input(key="agents_llm_retries").set_value(0)
        at.number_input(key="agents_llm_timeout").set_value(5.0)
        clean(at.run())
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def frame(at: AppTest, key: str):
    """The st.dataframe element with ``key``; StopIteration when the page does not show it."""
    return next(d for d in at.dataframe if d.proto.alt == profiles_panel.ALT[key])


def table(at: AppTest, key: str) -> pd.DataFrame:
    return frame(at, key).value


def shows(at: AppTest, key: str) -> bool:
    return any(d.proto.alt == profiles_panel.ALT[key] for d in at.dataframe)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def texts(elements) -> str:
    """The elements' text with markdown escapes removed."""
    return "\n".join(str(e.value) for e in elements).replace("\\", "")


def test_llm_profiling_on_the_page_saves_names_counts_and_reruns_from_the_cache(srv):
    at = profiles_tab(srv.api_base)
    ws = at.session_state[STATE_KEY]
    at.radio(key="agents_prof_users").set_value("top")
    clean(at.run())
    at.number_input(key="agents_prof_top").set_value(6)
    at.checkbox(key="agents_prof_attitudes").check()
    clean(at.run())
    assert srv.count == 0, "the estimate calls nothing"
    calls = int(metric(at, "Calls to send").replace(",", ""))
    assert 0 < calls <= 12 and calls % 2 == 0 and metric(at, "Already cached") == "0"
    assert not at.button(key="agents_prof_run").disabled

    clean(at.button(key="agents_prof_run").click().run())
    sent = srv.count
    assert sent >= calls, "every prompt was sent once"
    path = ws.run_dir.resolve() / "profiles.parquet"
    assert path.is_file() and ws.scenario.profiles == str(path), "the scenario names the workspace's file"
    saved = read_profiles(path)
    assert 0 < len(saved) <= 6 and set(saved["source"]) == {"llm:openai/test-model"}
    assert saved["attitude"].notna().any(), "initial attitudes were inferred too"

    sources = table(at, "agents_prof_sources").set_index("source")
    pop = ws.population()
    assert int((pop.provenance[:, 0] == Provenance.PROFILED).sum()) == int(saved["age"].notna().sum())
    assert sources.loc[SOURCE, "age"] == int(saved["age"].notna().sum()) > 0, "the LLM-filled count is shown"
    assert sources.loc[SOURCE, "initial attitude"] == int(saved["attitude"].notna().sum())
    assert "Profiled:" in texts(at.success) and str(path) in texts(at.success)
    assert f"`{path}`" in at.success[0].value, "the path is inline code with nothing escaped inside"
    assert f"Profiles file in use: `{path}`." in "\n".join(c.value for c in at.caption)
    summary = next(c.value for c in at.caption if "Answered by the model" in c.value).replace("\\", "")
    assert f"age {int(saved['age'].notna().sum()):,}" in summary
    gender = re.search(
        r"gender (\d+)(?: \((\d+) of these users already have a gender in the users file, which wins)?", summary
    )
    answered, wins = int(gender[1]), int(gender[2] or 0)
    assert answered == int(saved["gender"].notna().sum()) and answered - wins == sources.loc[SOURCE, "gender"]
    assert "calls sent" in summary and "tokens" in summary and "failed call" in summary and "cost " in summary
    assert "decisions" not in summary and "fallbacks" not in summary, "no raw log line"
    change = table(at, "agents_prof_change").set_index("source")
    assert list(change.columns) == list(D.ATTRIBUTES), "one column per attribute: it fits"
    assert change.loc[SOURCE, "age"] == f"0 → {int(saved['age'].notna().sum()):,}"
    assert change.loc[D.GIVEN, "initial attitude"] == "—" and change.loc[D.RULES, "initial attitude"] == "—"
    assert list(change.index) == list(sources.index), "the same row order as the source table"
    compare = table(at, "agents_prof_compare").set_index("attribute")
    assert compare.loc["age", "from the profiles file"] == int(saved["age"].notna().sum())
    assert metric(at, "Calls to send") == "0", "the new estimate counts the answers as cached"

    # The same job again: everything comes from the shared cache, no request reaches the server.
    clean(at.button(key="agents_prof_run").click().run())
    assert srv.count == sent
    assert read_profiles(path).equals(saved), "the same answers, merged over themselves"
    assert not list(ws.run_dir.glob("profiles-*.parquet")), "nothing set aside: the base was the same file"

    # Stopping changes the state the result described: the result goes, the caption says none.
    clean(at.button(key="agents_prof_stop").click().run())
    assert "Profiled:" not in texts(at.success) and not shows(at, "agents_prof_change")
    assert "Profiles file in use: none." in texts(at.caption)


def test_an_upload_replaces_the_last_jobs_result(srv):
    at = profiles_tab(srv.api_base)
    ws = at.session_state[STATE_KEY]
    at.number_input(key="agents_prof_top").set_value(2)
    clean(at.button(key="agents_prof_run").click().run())
    assert "Profiled:" in texts(at.success) and shows(at, "agents_prof_change")
    ids = list(ws.net.network.user_ids.astype(str))
    _upload(at, "mine.csv", f"user_id,age,source\n{ids[0]},77,manual\n".encode())
    assert "Profiles loaded from mine.csv" in texts(at.success), "the upload is reported"
    assert "Profiled:" not in texts(at.success) and not shows(at, "agents_prof_change"), "the old result is gone"


def test_an_endpoint_error_is_one_sentence_and_saves_nothing(srv):
    srv.default = "401"
    at = profiles_tab(srv.api_base)
    ws = at.session_state[STATE_KEY]
    at.radio(key="agents_prof_users").set_value("top")
    clean(at.run())
    at.number_input(key="agents_prof_top").set_value(3)
    clean(at.button(key="agents_prof_run").click().run())
    assert srv.count > 0
    errors = texts(at.error)
    assert "nothing was saved" in errors and "Traceback" not in errors and "Fix:" in errors
    assert ws.scenario.profiles == "" and not (ws.run_dir / "profiles.parquet").exists()


def test_the_default_choice_is_small_and_a_costly_job_asks_for_acceptance(srv):
    at = profiles_tab(srv.api_base)
    assert at.radio(key="agents_prof_users").value == "top" and at.number_input(key="agents_prof_top").value == 100
    assert "**100 users** chosen" in "\n".join(c.value for c in at.caption), "100 most-followed users with text"
    assert number(metric(at, "Calls to send")) == 100 and not at.button(key="agents_prof_run").disabled
    assert not [c for c in at.checkbox if c.key == profiles_panel.ACCEPT_KEY], "a small job needs no acceptance"

    at.radio(key="agents_prof_users").set_value("text")
    clean(at.run())
    calls = number(metric(at, "Calls to send"))
    assert calls > D.CONFIRM_CALLS and at.button(key="agents_prof_run").disabled, "a costly job waits"
    accept = at.checkbox(key=profiles_panel.ACCEPT_KEY)
    assert f"{calls:,} calls" in accept.label and not accept.value
    clean(accept.check().run())
    assert not at.button(key="agents_prof_run").disabled

    at.checkbox(key="agents_prof_attitudes").check()  # a new estimate: the acceptance does not carry over
    clean(at.run())
    assert not at.checkbox(key=profiles_panel.ACCEPT_KEY).value and at.button(key="agents_prof_run").disabled
    assert srv.count == 0, "nothing was sent"


def test_tables_use_the_legend_words_separators_and_a_dash_for_what_cannot_be_filled():
    at = profiles_tab()
    sources = frame(at, "agents_prof_sources")
    rows = list(sources.value["source"])
    assert rows == [D.GIVEN, D.RULES, D.DRAWN] and "history or prior" in D.DRAWN
    assert {r.split()[0] for r in rows} <= set(charts.PROVENANCE_COLORS), "the charts' legend words"
    assert sources.proto.placeholder == "—", "missing counts show a dash, not None"
    config = json.loads(sources.proto.columns)
    assert all(config[c]["type_config"]["format"] == "%,d" for c in D.ATTRIBUTES), "thousands separators"
    assert "— : the users file and the rules never fill them" in texts(at.caption)


def test_before_after_keeps_the_source_order_and_marks_changes():
    before = pd.DataFrame(
        {
            "source": [D.GIVEN, D.RULES, D.DRAWN],
            "age": [0, 0, 10095],
            "gender": [46, 0, 10049],
            "occupation": [0, 10, 10085],
            "initial attitude": [pd.NA, pd.NA, 10095],
        }
    )
    after = pd.DataFrame(
        {
            "source": [D.GIVEN, "profiled: llm:m", D.RULES, D.DRAWN],
            "age": [0, 58, 0, 10037],
            "gender": [46, 14, 0, 10035],
            "occupation": [0, 53, 10, 10032],
            "initial attitude": [pd.NA, 58, pd.NA, 10037],
        }
    )
    out = D.before_after(before, after).set_index("source")
    assert list(out.index) == [D.GIVEN, "profiled: llm:m", D.RULES, D.DRAWN]
    assert out.loc[D.DRAWN, "age"] == "10,095 → 10,037" and out.loc[D.GIVEN, "gender"] == "46"
    assert out.loc["profiled: llm:m", "initial attitude"] == "0 → 58" and out.loc[D.RULES, "initial attitude"] == "—"


def test_answered_says_where_the_users_file_wins_and_run_summary_reads_as_a_sentence():
    ws = new_workspace()
    pop, ids = ws.population(), np.asarray(ws.net.network.user_ids).astype(str)
    given = np.flatnonzero(pop.provenance[:, 1] == Provenance.GIVEN)
    other = np.flatnonzero(pop.provenance[:, 1] != Provenance.GIVEN)
    assert len(given) and len(other), "the test network has users with and without a given gender"
    new = pd.DataFrame({"user_id": ids[[given[0], other[0]]], "age": [30, None], "gender": ["male", "female"]})
    new = new.reindex(columns=["user_id", "age", "gender", "occupation", "attitude"])
    line = D.answered(new, pop, ids)
    assert line.startswith("Answered by the model for 2 users: age 1, gender 2 (1 of these users already have a ")
    assert "gender in the users file, which wins)" in line and "occupation 0" in line

    stats = LLMStats(calls=1234, cache_hits=5, prompt_tokens=20000, completion_tokens=1500, cost_usd=0.0042)
    stats.add_error("timeout")
    text = D.run_summary(stats, 2.5)
    assert text == (
        "1,234 calls sent, 5 answered from the cache; 21,500 tokens (20,000 prompt + 1,500 completion); "
        "cost $0.0042; 2.5 s; 1 failed call."
    )


def test_profiling_is_refused_without_a_model():
    at = profiles_tab()
    assert profiles_panel.NOT_CONFIGURED in texts(at.warning)
    assert at.button(key="agents_prof_run").disabled
    assert not [m for m in at.metric if m.label == "Calls to send"], "no estimate without a model"
    rules = table(at, "agents_prof_rules")
    assert len(rules) and set(rules["source"]) == {"rules"}, "the offline rules' table is shown"


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="agents_prof_upload").set_value((name, data, "text/csv"))
    clean(at.run())
    return clean(at.button(key="agents_prof_use_upload").click().run())


def test_upload_bad_file_keeps_profiles_and_stop_clears_the_scenario_key():
    at = profiles_tab()
    ws = at.session_state[STATE_KEY]
    ids = list(ws.net.network.user_ids.astype(str))
    good = f"user_id,age,gender,source\n{ids[0]},77,female,manual\n{ids[1]},,male,manual\n".encode()
    _upload(at, "mine.csv", good)
    path = ws.run_dir.resolve() / "profiles.parquet"
    assert ws.scenario.profiles == str(path) and len(read_profiles(path)) == 2
    assert ws.population().age[0] == 77
    sources = table(at, "agents_prof_sources").set_index("source")
    assert sources.loc["profiled: manual", "age"] == 1 and sources.loc["profiled: manual", "gender"] >= 1

    bad = f"user_id,age\n{ids[2]},abc\n".encode()
    _upload(at, "bad.csv", bad)
    errors = texts(at.error)
    assert "bad.csv" in errors and "column age" in errors and "kept" in errors
    assert ws.scenario.profiles == str(path) and len(read_profiles(path)) == 2, "the previous profiles are kept"

    other = b"user_id,age\nnobody-here,40\n"
    _upload(at, "other.csv", other)
    assert "another network" in texts(at.error) and ws.scenario.profiles == str(path)

    clean(at.button(key="agents_prof_stop").click().run())
    assert ws.scenario.profiles == "" and path.is_file(), "the scenario stops naming it; the file stays"
    assert "profiled: manual" not in set(table(at, "agents_prof_sources")["source"])
    assert at.button(key="agents_prof_stop").disabled


def test_workspace_population_follows_the_profiles_file(tmp_path):
    ws = new_workspace()
    ids = np.asarray(ws.net.network.user_ids).astype(str)
    before = ws.population()
    path = tmp_path / "p.parquet"
    write_profiles(pd.DataFrame({"user_id": [ids[3]], "age": [77], "occupation": ["media"]}), path)
    ws.scenario = ws.scenario.replace(profiles=str(path))
    named = ws.population()
    assert named is not before and named.age[3] == 77 and named.provenance[3, 0] == Provenance.PROFILED
    assert ws.population() is named, "kept while nothing changes"
    write_profiles(pd.DataFrame({"user_id": [ids[3]], "age": [55]}), path)  # the same name, new contents
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    rewritten = ws.population()
    assert rewritten is not named and rewritten.age[3] == 55
    ws.scenario = ws.scenario.replace(profiles="")
    assert ws.population().age[3] == before.age[3] and ws.population().provenance[3, 0] != Provenance.PROFILED


@pytest.mark.parametrize("damage", ["delete", "garble"])
def test_a_missing_or_damaged_profiles_file_is_dropped_with_a_warning_not_a_crash(tmp_path, damage):
    ws = new_workspace()
    ids = np.asarray(ws.net.network.user_ids).astype(str)
    path = tmp_path / "p.parquet"
    write_profiles(pd.DataFrame({"user_id": [ids[3]], "age": [77]}), path)
    ws.scenario = ws.scenario.replace(profiles=str(path))
    assert ws.population().age[3] == 77
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(b"not parquet any more")
    population = ws.population()
    assert ws.scenario.profiles == "" and population.provenance[3, 0] != Provenance.PROFILED
    level, message = ws.flash[-1]
    assert level == "warning" and "Stopped using the profiles file" in message and "p.parquet" in message
    assert (damage == "delete") != path.exists(), "a damaged file is left where it was"


def test_save_job_merges_over_the_file_in_use_and_sets_the_old_one_aside(tmp_path):
    ws = new_workspace()
    ids = np.asarray(ws.net.network.user_ids).astype(str)
    run_dir = tmp_path / "ws"
    first = D.save_job(run_dir, ws.scenario, pd.DataFrame({"user_id": [ids[0]], "age": [30], "source": ["a"]}))
    elsewhere = write_profiles(pd.DataFrame({"user_id": [ids[1]], "gender": ["male"]}), tmp_path / "mine.csv")
    scenario = ws.scenario.replace(profiles=str(elsewhere))
    second = D.save_job(run_dir, scenario, pd.DataFrame({"user_id": [ids[2]], "age": [40], "source": ["b"]}))
    assert second == first
    assert set(read_profiles(second)["user_id"]) == {ids[1], ids[2]}, "merged over the file in use"
    aside = list(run_dir.glob("profiles-*.parquet"))
    assert len(aside) == 1 and set(read_profiles(aside[0])["user_id"]) == {ids[0]}, "the old file is kept"
