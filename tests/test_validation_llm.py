"""``validate --backend llm``: the replays asked of the scripted local server over real HTTP, counted, cached,
in every agent mode; the flags it refuses. Each test has its own cache directory under tmp_path."""

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from llm_server import ScriptedServer

from s3core.cli import main

KEY = "sk-validate-llm-dummy-7777777"
SOURCES = [
    "日本核电站辐射泄漏，大家注意！",
    "这个政策太好了，支持！",
    "地震了，大家平安吗",
    "明星离婚引发热议",
    "高考成绩公布，恭喜同学们",
    "暴雨预警，注意安全",
]
PARAMS = {"network": {"n_users": 300}, "minutes_per_step": 30}  # small free runs; 5 replay steps


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Six hand-made cascades (the later three evaluated): a source each and 6 to 16 reposts within the window."""
    rng = np.random.default_rng(7)
    edges = []
    for i in range(len(SOURCES)):
        for j in range(1, 7 + 2 * i):
            edges.append((f"c{i}", f"u{i}_{rng.integers(0, j)}", f"u{i}_{j}", float(rng.uniform(1, 140))))
    folder = tmp_path / "tiny"
    folder.mkdir()
    pd.DataFrame(
        {
            "cascade_id": [f"c{i}" for i in range(len(SOURCES))],
            "user_id": [f"u{i}_0" for i in range(6)],
            "text": SOURCES,
        }
    ).to_parquet(folder / "sources.parquet")
    pd.DataFrame(edges, columns=["cascade_id", "parent_user_id", "user_id", "t_min"]).to_parquet(
        folder / "edges.parquet"
    )
    (tmp_path / "params.json").write_text(json.dumps(PARAMS))
    return folder


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "default-cache"))
    monkeypatch.delenv("S3_LLM_MODEL", raising=False)


def _validate(dataset: Path, out: Path, *extra, server=None, cache=None) -> int:
    """Run ``validate`` in this process (output through capsys); returns the exit status."""
    args = ["validate", "--dataset", dataset, "--params", dataset.parent / "params.json", "--out", out, "--quiet"]
    if server is not None:
        args += ["--backend", "llm", "--model", "openai/test-model", "--api-base", server.api_base, "--timeout", 10]
        args += ["--retries", 1, "--llm-cache", cache]
    return main([str(a) for a in [*args, "--json", *extra]])


def _curves(out: Path) -> dict:
    with duckdb.connect(str(out), read_only=True) as con:
        rows = con.execute(
            "SELECT cascade_id, list(scale ORDER BY minute) FROM curves WHERE model = 'simulated' GROUP BY cascade_id"
        ).fetchall()
    return dict(rows)


def test_the_replays_ask_the_llm_and_a_rerun_makes_no_call(dataset, tmp_path, env, capsys):
    cache = tmp_path / "cache"
    assert _validate(dataset, tmp_path / "h.duckdb") == 0
    heuristic = json.loads(capsys.readouterr().out)
    assert "llm" not in heuristic
    with ScriptedServer() as server:
        assert _validate(dataset, tmp_path / "a.duckdb", server=server, cache=cache) == 0
        first, err = capsys.readouterr()
        calls = server.count
        assert calls > 0, "the replays never asked the LLM"
        result = json.loads(first)
        llm = result["llm"]
        assert llm["agent_mode"] == "per_agent" and llm["drives"] == "replay" and llm["failed"] is False
        assert llm["replays"] == result["cascades"] == 3
        assert llm["stats"]["calls"] == calls and llm["stats"]["decisions"] > 0 and llm["stats"]["fallbacks"] == 0
        assert llm["llm_agents"] == sum(r["n_users"] + 1 for r in result["per_cascade"]), "all agents by default"
        assert f"llm: decisions {llm['stats']['decisions']}, calls {calls}" in err
        with duckdb.connect(str(tmp_path / "a.duckdb"), read_only=True) as con:
            stored = json.loads(con.execute("SELECT value FROM summary WHERE key = 'llm'").fetchone()[0])
        assert stored["stats"]["calls"] == calls
        assert len(_curves(tmp_path / "a.duckdb")) == 3
        assert _curves(tmp_path / "a.duckdb") != _curves(tmp_path / "h.duckdb"), "the LLM changed no curve"
        assert result["stylized"] == heuristic["stylized"], "free runs stay heuristic"

        assert _validate(dataset, tmp_path / "b.duckdb", server=server, cache=cache) == 0
        again = json.loads(capsys.readouterr().out)
        assert server.count == calls, "a rerun with the same cache called the server"
        assert again["llm"]["stats"]["calls"] == 0 and again["llm"]["stats"]["cache_hits"] > 0
        assert _curves(tmp_path / "b.duckdb") == _curves(tmp_path / "a.duckdb")
        assert again["per_cascade"] == result["per_cascade"]


@pytest.mark.parametrize("mode", ["batched", "archetype"])
def test_batched_and_archetype_replays_run(dataset, tmp_path, env, capsys, mode):
    extra = ["--agent-mode", mode] + (["--batch-size", "5"] if mode == "batched" else [])
    with ScriptedServer() as server:
        assert _validate(dataset, tmp_path / "m.duckdb", *extra, server=server, cache=tmp_path / "c") == 0
        llm = json.loads(capsys.readouterr().out)["llm"]
        assert server.count == llm["stats"]["calls"] > 0
    assert llm["agent_mode"] == mode and llm["stats"]["fallbacks"] == 0
    assert llm["batch_size"] == (5 if mode == "batched" else None)
    if mode == "batched":
        assert llm["stats"]["calls"] < llm["stats"]["decisions"], "batched asks once for several agents"


def test_a_share_drives_fewer_agents(dataset, tmp_path, env, capsys):
    with ScriptedServer() as server:
        assert _validate(dataset, tmp_path / "s.duckdb", "--llm-share", "0.3", server=server, cache="none") == 0
    result = json.loads(capsys.readouterr().out)
    everyone = sum(r["n_users"] + 1 for r in result["per_cascade"])
    assert 0 < result["llm"]["llm_agents"] < everyone and result["llm"]["subset"] == "share=0.3"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--agent-mode", "batched"], "--agent-mode needs --backend llm"),
        (["--model", "openai/x"], "--model needs --backend llm"),
        (["--llm-share", "0.5"], "--llm-share needs --backend llm"),
        (["--backend", "llm", "--model", "openai/x", "--workers", "2"], "use --workers 1"),
        (
            ["--backend", "llm", "--model", "openai/x", "--batch-size", "5"],
            "--batch-size applies to --agent-mode batched",
        ),
        (["--backend", "llm"], "needs --model"),
        (["--backend", "llm", "--model", "openai/x", "--llm-subset", "colour=red"], "unknown key 'colour'"),
        (["--backend", "llm", "--model", "openai/x", "--agent-mode", "batched", "--batch-size", "1"], "batch_size"),
    ],
)
def test_bad_combinations_are_refused_in_one_line_before_any_work(dataset, tmp_path, env, capsys, extra, message):
    out = tmp_path / "never.duckdb"
    assert _validate(dataset, out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()


def test_stance_threads_are_refused_with_the_llm(tmp_path, env, capsys):
    folder = tmp_path / "threads"
    folder.mkdir()
    pd.DataFrame(
        {
            "thread_id": ["t"],
            "post_id": ["p"],
            "parent_id": [None],
            "time_utc": pd.to_datetime(["2020-01-01"], utc=True),
            "text": ["x"],
            "stance": ["support"],
        }
    ).to_parquet(folder / "posts.parquet")
    (tmp_path / "params.json").write_text("{}")
    assert _validate(folder, tmp_path / "t.duckdb", "--backend", "llm", "--model", "openai/x") == 2
    assert "stance threads, which are not replayed" in capsys.readouterr().err


def test_the_fidelity_benchmark_compares_every_mode_on_the_same_cascades(dataset, capsys):
    from benchmarks.llm_fidelity import main as fidelity

    assert fidelity(["--dataset", str(dataset), "--limit", "3", "--latency", "0"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    arms = report["arms"]
    assert list(arms) == ["heuristic", "per_agent", "batched", "archetype", "per_agent_b"]
    assert report["cascades"] == 3 and "llm" not in arms["heuristic"]
    for mode in ("per_agent", "batched", "archetype", "per_agent_b"):
        assert arms[mode]["llm"]["calls"] > 0 and arms[mode]["llm"]["fallbacks"] == 0
    assert arms["batched"]["llm"]["calls"] < arms["per_agent"]["llm"]["calls"]
    assert len(report["pairs"]) == 10 and set(report["pairs"]["batched vs per_agent"]) == {
        "nrmse",
        "mean_abs_diff",
        "diff_of_means",
    }
    floor = report["pairs"]["per_agent_b vs per_agent"]["mean_abs_diff"]
    assert floor["mean_emotion"] > 0, "the redraw changed no answer: the noise floor measures nothing"
