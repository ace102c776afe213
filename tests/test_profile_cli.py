"""``python -m s3core profile`` end to end against the scripted local server, and a scenario that names its output.

Every process gets its own ``S3_LLM_CACHE`` under tmp_path, so no test touches the user's real cache directory.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from llm_server import ScriptedServer

from s3core import scenario as S
from s3core.demographics import Provenance
from s3core.engine import Simulation
from s3core.llm.profiling import users_with_text
from s3core.profiles import read_profiles

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-profile-dummy-key-7777777"
SCENARIO = '[network]\nsource = "bundled"\n\n[[interventions]]\nkind = "seed"\nstep = 0\ntext = "某地发生了一起事故 EVT-4711"\n'


def _cli(*args, cache):
    return subprocess.run(
        [sys.executable, "-m", "s3core", "profile", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": KEY, "S3_LLM_CACHE": str(cache)},
        timeout=300,
    )


def _llm(server, *extra):
    return ["--model", "openai/test-model", "--api-base", server.api_base, "--timeout", 5, "--retries", 1, *extra]


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    return path


def test_profile_fills_the_chosen_users_and_a_rerun_makes_no_call(tmp_path, scenario):
    out, cache = tmp_path / "profiles.parquet", tmp_path / "cache"
    with ScriptedServer() as server:
        first = _cli(scenario, "--out", out, "--subset", "top=40", "--attitudes", *_llm(server), cache=cache)
        assert first.returncode == 0, first.stderr
        sent = server.count
        second = _cli(scenario, "--out", out, "--subset", "top=40", "--attitudes", *_llm(server), cache=cache)
        assert second.returncode == 0, second.stderr
        assert server.count == sent, "the rerun is served from the shared cache"
        prompts = [json.dumps(b["messages"], ensure_ascii=False) for b in server.requests]
    assert "estimate: " in first.stderr and first.stderr.index("estimate: ") < first.stderr.index("users 0/")
    assert "calls 0," in second.stderr and "already cached" in second.stderr
    sim = Simulation(S.load(scenario))
    readable = set(users_with_text(sim.network).tolist())
    top = np.argsort(-sim.network.follower_count, kind="stable")[:40]
    chosen = sorted(a for a in top if a in readable)
    table = read_profiles(out)
    ids = np.asarray(sim.network.user_ids).astype(str)
    assert sorted(table["user_id"]) == sorted(ids[chosen]), "exactly the chosen users with text"
    assert (
        table["attitude"].notna().all()
        and table["age"].notna().all()
        and (table["source"] == "llm:openai/test-model").all()
    )
    assert sent == 2 * len(chosen), "one demographics and one attitude call per user"
    assert sum("EVT-4711" in p for p in prompts) == len(chosen), "the attitude prompt names the event"
    assert KEY not in first.stderr + first.stdout and KEY.encode() not in out.read_bytes()


def test_a_scenario_naming_the_profiles_file_uses_its_values(tmp_path, scenario):
    out, cache = tmp_path / "profiles.csv", tmp_path / "cache"
    with ScriptedServer() as server:
        done = _cli(scenario, "--out", out, "--subset", "top=15", "--attitudes", *_llm(server), cache=cache)
    assert done.returncode == 0, done.stderr
    assert 'profiles = "' in done.stdout
    table = read_profiles(out).set_index("user_id")
    profiled = tmp_path / "profiled.toml"
    profiled.write_text(SCENARIO + '\n[population]\nprofiles = "profiles.csv"\n')
    sim = Simulation(S.load(profiled))
    ids = np.asarray(sim.network.user_ids).astype(str)
    agents = np.flatnonzero(np.isin(ids, table.index))
    assert len(agents) == len(table) > 0
    pop = sim.population
    for a in agents:
        row = table.loc[ids[a]]
        assert pop.age[a] == row["age"] and pop.provenance[a, 0] == Provenance.PROFILED
        assert sim.state.attitude[a] == ("negative", "positive").index(row["attitude"])
        if pd.notna(row["gender"]) and pop.provenance[a, 1] != Provenance.GIVEN:
            assert pop.gender[a] == ("female", "male").index(row["gender"])
    runs = tmp_path / "run.duckdb"
    ran = subprocess.run(
        [sys.executable, "-m", "s3core", "run", str(profiled), "--out", str(runs), "--steps", "2", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr


def test_estimate_rules_and_refusals(tmp_path, scenario):
    cache = tmp_path / "cache"
    est = _cli(scenario, "--estimate", "--json", "--model", "openai/gpt-4o-mini", "--subset", "top=30", cache=cache)
    assert est.returncode == 0, est.stderr
    data = json.loads(est.stdout)
    assert data["calls"] == data["users"] > 0 and data["cost_usd"] > 0 and data["cached"] == 0
    capped = _cli(
        scenario, "--out", tmp_path / "x.parquet", "--model", "openai/gpt-4o-mini", "--max-cost", "0", cache=cache
    )
    assert capped.returncode == 2 and "above --max-cost $0; nothing was called" in capped.stderr
    assert not (tmp_path / "x.parquet").exists()
    rules = _cli(scenario, "--backend", "rules", "--out", tmp_path / "rules.csv", cache=cache)
    assert rules.returncode == 0, rules.stderr
    table = read_profiles(tmp_path / "rules.csv")
    assert len(table) > 0 and (table["source"] == "rules").all() and table["attitude"].isna().all()
    for args, message in [
        (("--out", tmp_path / "p.txt", "--model", "m"), "a profiles file ends in .parquet or .csv"),
        (("--out", tmp_path / "p.csv"), "needs --model"),
        (("--out", tmp_path / "p.csv", "--model", "m", "--users", "nobody"), "--users: 1 not in the network"),
        (("--backend", "rules", "--attitudes", "--out", tmp_path / "p.csv"), "--attitudes needs --backend llm"),
    ]:
        bad = _cli(scenario, *args, cache=cache)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr


DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.mark.skipif(not (DATASETS / "weibo-ced" / "sources.parquet").exists(), reason="needs ../shared/datasets")
def test_evaluate_scores_the_rules_against_self_reported_gender(tmp_path):
    done = _cli("--evaluate", "weibo-ced", "--datasets", DATASETS, "--json", "--quiet", cache=tmp_path / "c")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    gender = report["gender"]
    assert report["inferrer"] == "rules" and gender["labelled"] == 2215 == report["users"]
    assert 0 < gender["answered"] < 100, "the rules answer few authors: there are no self-descriptions"
    assert 0.60 < gender["majority_accuracy"] < 0.61  # 875 of 2,215 authors report female
