"""``python -m s3core run --backend llm`` and ``python -m s3core cache`` end to end against the scripted local server.

Every process gets its own ``S3_LLM_CACHE`` under tmp_path, so no test touches the user's real cache directory.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from llm_server import ScriptedServer

from s3core import scenario as S

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "scenarios" / "default.toml"
KEY = "sk-cli-dummy-key-5555555555"


def _env(cache: Path | str) -> dict:
    return {**os.environ, "OPENAI_API_KEY": KEY, "S3_LLM_CACHE": str(cache)}


def _cli(*args, cache):
    return subprocess.run(
        [sys.executable, "-m", "s3core", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(cache),
        timeout=300,
    )


def small_scenario(tmp_path: Path, steps: int) -> Path:
    """The default scenario cut to ``steps`` steps, with the interventions that fall inside them."""
    base = S.load(DEFAULT)
    path = tmp_path / f"default-{steps}.toml"
    path.write_text(
        S.dumps(base.replace(steps=steps, interventions=tuple(i for i in base.interventions if i.step < steps)))
    )
    return path


def llm_args(scenario, out, server, *extra):
    return [
        "run",
        scenario,
        "--out",
        out,
        "--backend",
        "llm",
        "--model",
        "openai/test-model",
        "--api-base",
        server.api_base,
        "--llm-share",
        0.05,
        "--timeout",
        5,
        "--retries",
        1,
        "--concurrency",
        16,
        "--json",
        "--quiet",
        *extra,
    ]


@pytest.mark.slow
def test_a_rerun_to_another_out_makes_no_call_from_the_shared_cache(tmp_path):
    cache, scenario = tmp_path / "llm-cache", small_scenario(tmp_path, 3)
    with ScriptedServer() as server:
        server.script.extend(["500", "malformed", "429", "prose_fence"])
        first = _cli(*llm_args(scenario, tmp_path / "a.duckdb", server), cache=cache)
        assert first.returncode == 0, first.stderr
        sent = server.count
        assert sent > 10 and "llm: decisions" in first.stderr and "fell back to the heuristic" in first.stderr
        second = _cli(*llm_args(scenario, tmp_path / "b.duckdb", server), cache=cache)  # another process, another --out
        assert second.returncode == 0, second.stderr
        assert server.count == sent, "the rerun to another --out is served from the shared cache"
        assert second.stdout == first.stdout and "calls 0," in second.stderr and "100% of" in second.stderr
        assert any(KEY in h.get("authorization", "") for h in server.headers)
    summary = json.loads(first.stdout)
    assert len(summary["steps"]) == 3 and summary["aware"][-1] > 0
    with duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True) as con:
        calls = con.execute("SELECT count(*), count(DISTINCT step) FROM llm_calls").fetchone()
        meta = dict(con.execute("SELECT key, value FROM run").fetchall())
    # 5% of the deciders ask the LLM; the first 10-minute step has only a handful, so it may have none
    assert calls[0] > 0 and 2 <= calls[1] <= 3
    assert 'backend = "llm"' in meta["scenario"] and "llm_settings" in meta
    assert not list(tmp_path.glob("*.llm-cache.duckdb")), "no cache beside the run any more"
    for path in [tmp_path / "a.duckdb", *(p for p in cache.rglob("*") if p.is_file())]:
        assert KEY.encode() not in path.read_bytes()
    assert KEY not in first.stderr + first.stdout

    info = _cli("cache", "info", "--json", cache=cache)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert (
        data["path"] == str(cache)
        and 0 < data["entries"] <= sent
        and data["size_bytes"] > 0
        and data["limit_bytes"] == 2**30
    )
    cleared = _cli("cache", "clear", cache=cache)
    assert cleared.returncode == 0 and f"removed {data['entries']:,} entries from {cache}" in cleared.stdout
    assert json.loads(_cli("cache", "info", "--json", cache=cache).stdout)["entries"] == 0


@pytest.mark.slow
def test_two_runs_at_once_share_the_cache_and_lose_no_entry(tmp_path):
    cache, scenario = tmp_path / "llm-cache", small_scenario(tmp_path, 3)
    with ScriptedServer(latency=0.02) as server:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "s3core", *map(str, llm_args(scenario, tmp_path / f"{n}.duckdb", server))],
                cwd=ROOT,
                env=_env(cache),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in ("p1", "p2")
        ]
        results = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, results):
            assert p.returncode == 0, err
            assert "LLM cache" not in err and "locked" not in err.lower(), err  # no cache warning, no lock error
        sent = server.count
        assert results[0][0] == results[1][0], "both runs give the same curves"
        third = _cli(*llm_args(scenario, tmp_path / "p3.duckdb", server), cache=cache)
        assert third.returncode == 0, third.stderr
        assert server.count == sent and "calls 0," in third.stderr, "every answer of both writers is in the cache"
    assert third.stdout == results[0][0]


def test_a_provider_without_json_schema_steps_down_once_and_the_run_is_an_llm_run(tmp_path):
    scenario = small_scenario(tmp_path, 2)
    with ScriptedServer() as server:
        server.accepts = {"json_object", None}
        done = _cli(*llm_args(scenario, tmp_path / "a.duckdb", server), cache=tmp_path / "c")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("structured output: the provider refused response_format json_schema") == 1
    assert "using json_object from now on" in done.stderr and "0% of" in done.stderr


def test_most_decisions_falling_back_fails_the_run_with_the_share_and_the_causes(tmp_path):
    scenario = small_scenario(tmp_path, 2)
    with ScriptedServer(default="400") as server:
        failed = _cli(*llm_args(scenario, tmp_path / "a.duckdb", server), cache=tmp_path / "c")
        assert failed.returncode == 3, failed.stderr
        assert "error: llm: 100% of" in failed.stderr and "this is not an LLM run" in failed.stderr
        assert "bad request" in failed.stderr and "--structured-output prompt" in failed.stderr
        assert json.loads(failed.stdout)["steps"] == [0, 1], "the curves are still printed and traced"
        tolerated = _cli(
            *llm_args(scenario, tmp_path / "b.duckdb", server, "--max-fallback-share", 1.0), cache=tmp_path / "c"
        )
    assert tolerated.returncode == 0 and "100% of" in tolerated.stderr and "error:" not in tolerated.stderr
    bad = _cli(*llm_args(scenario, tmp_path / "c.duckdb", server, "--max-fallback-share", 2), cache=tmp_path / "c")
    assert bad.returncode == 2 and "[0, 1]" in bad.stderr


def test_cli_llm_estimate_and_errors(tmp_path):
    scenario = small_scenario(tmp_path, 2)
    est = _cli(
        "run",
        scenario,
        "--out",
        tmp_path / "x.duckdb",
        "--backend",
        "llm",
        "--model",
        "gpt-4o-mini",
        "--llm-share",
        0.05,
        "--estimate",
        "--json",
        cache=tmp_path / "c",
    )
    assert est.returncode == 0, est.stderr
    data = json.loads(est.stdout)
    assert data["calls"] >= data["decisions"] > 0 and data["cost_usd"] > 0 and not (tmp_path / "x.duckdb").exists()
    modes = {m["mode"]: m for m in data["modes"]}
    assert modes["per_agent"]["calls"] == data["calls"] and data["agent_mode"] == "per_agent"
    assert 0 < modes["batched"]["calls"] < data["calls"] and modes["archetype"]["calls"] > 0
    assert all(m["wall_s"] > 0 and m["cost_usd"] > 0 for m in modes.values())
    missing = _cli("run", scenario, "--out", tmp_path / "y.duckdb", "--backend", "llm", cache=tmp_path / "c")
    assert missing.returncode == 2 and "--model" in missing.stderr
    old = tmp_path / "old.llm-cache.duckdb"
    old.write_bytes(b"DUCK")
    refused = _cli(
        "run",
        scenario,
        "--out",
        tmp_path / "z.duckdb",
        "--backend",
        "llm",
        "--model",
        "openai/m",
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--llm-cache",
        old,
        cache=tmp_path / "c",
    )
    assert (
        refused.returncode == 2
        and "old.llm-cache.duckdb is a file" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    none = _cli("cache", "info", cache="none")
    assert none.returncode == 0 and "none" in none.stderr


def test_expected_wall_time_is_the_slower_of_client_work_and_provider_latency():
    from s3core.llm import cost

    per_call = cost.ASSUMED_LATENCY_S + 60 / cost.ASSUMED_TOKENS_PER_S  # 60 reply tokens a call
    # 1,000 calls at concurrency 1000: one wave of latency, but 10 s of client work
    assert cost.expected_wall_s([1000], 60_000, 1000) == pytest.approx(1000 * cost.CLIENT_SECONDS)
    # 10 calls at concurrency 4: three waves of latency
    assert cost.expected_wall_s([10], 600, 4) == pytest.approx(3 * per_call)
    assert cost.expected_wall_s([10, 0, 10], 1200, 4) == pytest.approx(6 * per_call)
    assert cost.expected_wall_s([], 0, 4) == 0.0
