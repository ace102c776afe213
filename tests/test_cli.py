"""The command line: identical reruns, report from the file, and exact resume after a kill."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from s3core import scenario as S

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "scenarios" / "default.toml"


def _cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "s3core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, **kw
    )


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a.duckdb"
    first = _cli("run", DEFAULT, "--out", out, "--seed", 7, "--json")
    assert first.returncode == 0, first.stderr
    return out, first.stdout


def test_run_twice_gives_identical_json(default_run):
    out, first = default_run
    second = _cli("run", DEFAULT, "--out", out, "--seed", 7, "--json", "--force")
    assert second.returncode == 0, second.stderr
    assert f"replacing {out}" in second.stderr, "a replaced run is never lost silently"
    assert second.stdout == first
    data = json.loads(first)
    assert set(data) >= {"aware", "emotion", "attitude", "actions"}
    assert len(data["aware"]) == S.load(DEFAULT).steps and data["aware"][-1] > data["aware"][0] > 0
    assert set(data["emotion"][0]) == {"calm", "moderate", "intense"}
    assert set(data["actions"][0]) == {"ignore", "repost", "quote", "post"}


def test_report_reproduces_the_run_from_the_file(default_run):
    out, first = default_run
    report = _cli("report", out, "--json")
    assert report.returncode == 0, report.stderr
    assert report.stdout == first


def test_trace_holds_metadata_states_posts_and_metrics(default_run):
    out, _ = default_run
    con = duckdb.connect(str(out), read_only=True)
    meta = dict(con.execute("SELECT key, value FROM run").fetchall())
    assert meta["seed"] == "7" and "duckdb" in json.loads(meta["versions"]) and "[network]" in meta["scenario"]
    n_agents = con.execute("SELECT count(*) FROM agents").fetchone()[0]
    changed = con.execute("SELECT count(*) FROM states WHERE step = 5").fetchone()[0]
    assert 0 < changed < n_agents, "only agents that changed are traced"
    actions = dict(con.execute("SELECT action, count(*) FROM posts GROUP BY action").fetchall())
    assert {"repost", "quote", "post"} <= set(actions)
    assert (
        con.execute(
            "SELECT count(*) FROM posts WHERE action IN ('quote', 'post') AND (text IS NULL OR text = '')"
        ).fetchone()[0]
        == 0
    )
    assert con.execute("SELECT count(DISTINCT step) FROM metrics").fetchone()[0] == S.load(DEFAULT).steps
    con.close()


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    full = tmp_path / "full.duckdb"
    cut = tmp_path / "cut.duckdb"
    reference = _cli("run", DEFAULT, "--out", full, "--steps", 40, "--json", "--quiet")
    assert reference.returncode == 0, reference.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3core", "run", str(DEFAULT), "--out", str(cut), "--steps", "40", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:
        if line.startswith("step 8/"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(cut), read_only=True)
    done = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    con.close()
    assert 8 <= done < 40, "the kill landed mid-run and every finished step was kept"
    resumed = _cli("run", DEFAULT, "--out", cut, "--steps", 40, "--json", "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == reference.stdout
    for table in ("states", "posts"):
        a = duckdb.connect(str(full), read_only=True).execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        b = duckdb.connect(str(cut), read_only=True).execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        assert a == b, table


def test_resume_from_a_sparse_checkpoint_equals_a_full_run(tmp_path, text, small_network):
    from s3core import scenario as S
    from s3core.engine import Simulation
    from s3core.runner import open_run, record, run_to_trace

    sc = S.load(DEFAULT).replace(steps=9, run=S.RunOptions(checkpoint_every=4))
    full = run_to_trace(sc, tmp_path / "full.duckdb", sim=Simulation(sc, network=small_network, text=text))
    sim, store = open_run(sc, tmp_path / "part.duckdb", sim=Simulation(sc, network=small_network, text=text))
    for _ in range(6):  # checkpoints after steps 3 only; steps 4-5 must be redone
        record(sim, store, sim.step(), sc.steps - 1)
    store.close()
    resumed = run_to_trace(
        sc, tmp_path / "part.duckdb", resume=True, sim=Simulation(sc, network=small_network, text=text)
    )
    assert resumed == full


def test_resume_refuses_a_different_scenario(tmp_path, default_run):
    out, _ = default_run
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(Path(out).read_bytes())
    res = _cli("run", DEFAULT, "--out", copy, "--seed", 8, "--resume")
    assert res.returncode == 2 and "different seed" in res.stderr


def test_bad_scenario_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[emotion]\ndecay = 7\n")
    res = _cli("run", bad, "--out", tmp_path / "x.duckdb")
    assert res.returncode == 2 and "decay" in res.stderr and "Traceback" not in res.stderr
