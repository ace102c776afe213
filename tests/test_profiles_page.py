"""The Agents page's profiles tab (Streamlit AppTest) against the scripted local server from llm_server.py.

S3's profiling by the LLM on a few users through the page's widgets: the profiles file lands in the
workspace, the scenario names it, the source table counts the LLM's users, and a rerun is answered
from the shared cache. Uploads, "Stop using profiles" and the workspace's population key are checked too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from s3core.demographics import Provenance
from s3core.profiles import read_profiles, write_profiles
from ui import profiles_data as D
from ui import profiles_panel
from ui.session import STATE_KEY, new_workspace

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-profiles-0123456789"
TAB = "Profiles (S3 profiling)"
SOURCE = "profiles file: llm:openai/test-model"


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


TABLES = {  # AppTest does not expose st.dataframe keys: each table is known by a column of its own
    "agents_prof_sources": "initial attitude",
    "agents_prof_change": "age: before",
    "agents_prof_compare": "from the profiles file",
    "agents_prof_rules": "user_id",
}


def table(at: AppTest, key: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if TABLES[key] in d.value.columns)


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
    change = table(at, "agents_prof_change").set_index("source")
    assert change.loc[SOURCE, "age: before"] == 0 and change.loc[SOURCE, "age: after"] > 0
    compare = table(at, "agents_prof_compare").set_index("attribute")
    assert compare.loc["age", "from the profiles file"] == int(saved["age"].notna().sum())
    assert metric(at, "Calls to send") == "0", "the new estimate counts the answers as cached"

    # The same job again: everything comes from the shared cache, no request reaches the server.
    clean(at.button(key="agents_prof_run").click().run())
    assert srv.count == sent
    assert read_profiles(path).equals(saved), "the same answers, merged over themselves"
    assert not list(ws.run_dir.glob("profiles-*.parquet")), "nothing set aside: the base was the same file"


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
    assert sources.loc["profiles file: manual", "age"] == 1 and sources.loc["profiles file: manual", "gender"] >= 1

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
    assert "profiles file: manual" not in set(table(at, "agents_prof_sources")["source"])
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
