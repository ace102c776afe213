"""``python -m s3core run --backend llm`` end to end against a local OpenAI-compatible server."""
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from llm_server import ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "scenarios" / "default.toml"
KEY = "sk-cli-dummy-key-5555555555"


def _cli(*args):
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    env.pop("S3_LLM_CACHE", None)
    return subprocess.run([sys.executable, "-m", "s3core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.slow
def test_cli_llm_run_completes_and_reruns_from_the_cache(tmp_path):
    out = tmp_path / "run.duckdb"
    with ScriptedServer() as server:
        server.script.extend(["500", "malformed", "429"])
        args = ["run", DEFAULT, "--out", out, "--backend", "llm", "--model", "openai/test-model",
                "--api-base", server.api_base, "--steps", 3, "--llm-share", 0.05, "--timeout", 5, "--retries", 1,
                "--concurrency", 16, "--json", "--quiet"]
        first = _cli(*args)
        assert first.returncode == 0, first.stderr
        sent = server.count
        assert sent > 10
        assert "llm: decisions" in first.stderr and "fallbacks" in first.stderr
        second = _cli(*args)
        assert second.returncode == 0, second.stderr
        assert server.count == sent, "the rerun is served from the cache"
        assert second.stdout == first.stdout and "100% of" in second.stderr
        assert any(KEY in h.get("authorization", "") for h in server.headers)
    summary = json.loads(first.stdout)
    assert len(summary["steps"]) == 3 and summary["aware"][-1] > 0
    con = duckdb.connect(str(out), read_only=True)
    calls = con.execute("SELECT count(*), count(DISTINCT step) FROM llm_calls").fetchone()
    meta = dict(con.execute("SELECT key, value FROM run").fetchall())
    con.close()
    assert calls[0] > 0 and calls[1] == 3
    assert 'backend = "llm"' in meta["scenario"] and "llm_settings" in meta
    for path in (out, tmp_path / "run.llm-cache.duckdb"):
        assert KEY.encode() not in path.read_bytes()
    assert KEY not in first.stderr + first.stdout


def test_cli_llm_estimate_and_errors(tmp_path):
    est = _cli("run", DEFAULT, "--out", tmp_path / "x.duckdb", "--backend", "llm", "--model", "gpt-4o-mini",
               "--steps", 2, "--llm-share", 0.05, "--estimate", "--json")
    assert est.returncode == 0, est.stderr
    data = json.loads(est.stdout)
    assert data["calls"] >= data["decisions"] > 0 and data["cost_usd"] > 0 and not (tmp_path / "x.duckdb").exists()
    missing = _cli("run", DEFAULT, "--out", tmp_path / "y.duckdb", "--backend", "llm", "--steps", 1)
    assert missing.returncode == 2 and "--model" in missing.stderr
