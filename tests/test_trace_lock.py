"""Two processes and one trace file: nothing another process has open is deleted, and every opener says who holds it.

Real DuckDB files and real processes: a CLI run, a process stopped mid-run by the runner's own
``open_run`` (holding the trace exactly as a run does between steps), and plain DuckDB
connections that know nothing of the trace lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from s3core.trace import TraceStore
from s3core.trace_lock import TraceInUse, TraceLock, holder, lock_path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "scenarios" / "default.toml"

# (Runs take at least 9 steps: the default scenario's last intervention is at step 8.)
# A run stopped after its first step, trace open, until the test closes its stdin.
MID_RUN = """
import sys
from s3core import scenario as S
from s3core.runner import open_run, record
sc = S.load(sys.argv[1]).replace(steps=int(sys.argv[3]))
sc = sc.replace(interventions=tuple(i for i in sc.interventions if i.step < sc.steps))  # as run --steps does
sim, store = open_run(sc, sys.argv[2], resume=sys.argv[4] == "resume")
record(sim, store, sim.step(), sc.steps - 1)
print("writing", flush=True)
sys.stdin.read()
store.close()
"""
# A DuckDB connection opened without the trace lock (another tool, a notebook).
PLAIN = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("open", flush=True)
sys.stdin.read()
con.close()
"""


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "s3core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@contextmanager
def holding(script: str, *args):
    """A process running ``script`` until the block ends; yields it once it says it holds the file."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() in ("writing", "open"), proc.stderr.read()
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()


def assert_refused(res: subprocess.CompletedProcess, path: Path, pid: int) -> str:
    """Exit 2 and one line on stderr naming the file and the other process."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and str(path) in lines[0] and f"process {pid}" in lines[0], lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def steps_in(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM metrics").fetchone()[0]


@pytest.mark.slow
def test_a_second_run_on_the_same_out_is_refused_and_the_first_finishes_intact(tmp_path):
    out, log = tmp_path / "shared.duckdb", tmp_path / "first.log"
    steps = 60
    with open(log, "w") as err, open(tmp_path / "first.json", "w") as stdout:
        first = subprocess.Popen(
            [sys.executable, "-m", "s3core", "run", str(DEFAULT), "--out", str(out), "--steps", str(steps), "--json"],
            cwd=ROOT,
            stdout=stdout,
            stderr=err,
            text=True,
        )
        deadline = time.monotonic() + 120
        while "step 3/" not in log.read_text():  # the first run is writing steps
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        os.kill(first.pid, signal.SIGSTOP)  # hold it mid-run, however fast the machine
        try:
            second = cli("run", DEFAULT, "--out", out, "--steps", 9, "--json", "--quiet")
            forced = cli("run", DEFAULT, "--out", out, "--steps", 9, "--quiet", "--force")
            still_running = first.poll() is None
        finally:
            os.kill(first.pid, signal.SIGCONT)
        first.wait(timeout=300)
    line = assert_refused(second, out, first.pid)
    assert "s3core run" in line and f"--steps {steps}" in line, "the other process's command is named"
    assert second.stdout == ""
    assert_refused(forced, out, first.pid)
    assert still_running, "the refusals came while the first run was still writing"
    assert first.returncode == 0, log.read_text()
    summary = json.loads((tmp_path / "first.json").read_text())
    assert summary["steps"] == list(range(steps))
    assert steps_in(out) == steps
    report = cli("report", out, "--json")
    assert report.returncode == 0 and json.loads(report.stdout) == summary, (
        "the trace on disk is the first run's, complete"
    )
    assert not lock_path(out).exists()


def test_report_resume_and_force_on_a_trace_being_written_exit_2_in_one_line(tmp_path):
    out = tmp_path / "busy.duckdb"
    with holding(MID_RUN, DEFAULT, out, 10, "fresh") as writer:
        assert holder(out).pid == writer.pid
        assert_refused(cli("report", out), out, writer.pid)
        assert_refused(cli("report", out, "--json"), out, writer.pid)
        assert_refused(cli("run", DEFAULT, "--out", out, "--steps", 10, "--resume", "--quiet"), out, writer.pid)
        assert_refused(cli("run", DEFAULT, "--out", out, "--steps", 10, "--force", "--quiet"), out, writer.pid)
    assert holder(out) is None and not lock_path(out).exists()
    assert steps_in(out) == 1, "the step recorded before the others tried is still there"
    resumed = cli("run", DEFAULT, "--out", out, "--steps", 10, "--resume", "--json", "--quiet")
    reference = cli("run", DEFAULT, "--out", tmp_path / "reference.duckdb", "--steps", 10, "--json", "--quiet")
    assert resumed.returncode == 0 and reference.returncode == 0, resumed.stderr + reference.stderr
    assert resumed.stdout == reference.stdout


def test_resume_while_another_process_resumes_is_refused(tmp_path):
    out = tmp_path / "partial.duckdb"
    with holding(MID_RUN, DEFAULT, out, 10, "fresh"):
        pass  # leaves an unfinished trace: 1 of 10 steps
    plain = cli("run", DEFAULT, "--out", out, "--steps", 10, "--quiet")
    assert plain.returncode == 2 and "unfinished run" in plain.stderr and "--resume" in plain.stderr
    with holding(MID_RUN, DEFAULT, out, 10, "resume") as other:
        assert_refused(cli("run", DEFAULT, "--out", out, "--steps", 10, "--resume", "--quiet"), out, other.pid)
    assert steps_in(out) == 2, "the other resume added its step; nothing was lost"


def test_processes_without_the_lock_are_named_from_duckdbs_own_lock(tmp_path):
    out = tmp_path / "done.duckdb"
    assert cli("run", DEFAULT, "--out", out, "--steps", 9, "--quiet").returncode == 0
    before = digest(out)
    with holding(PLAIN, out, "read") as reader:
        assert cli("report", out).returncode == 0, "readers share a finished trace"
        assert_refused(cli("run", DEFAULT, "--out", out, "--steps", 9, "--force", "--quiet"), out, reader.pid)
    assert digest(out) == before, "a file open in another process is never replaced"
    with holding(PLAIN, out, "write") as writer:
        assert_refused(cli("report", out), out, writer.pid)
        assert_refused(cli("run", DEFAULT, "--out", out, "--steps", 9, "--resume", "--quiet"), out, writer.pid)


def test_a_finished_trace_is_kept_unless_forced(tmp_path):
    out = tmp_path / "finished.duckdb"
    first = cli("run", DEFAULT, "--out", out, "--steps", 9, "--json", "--quiet")
    assert first.returncode == 0, first.stderr
    before = digest(out)
    again = cli("run", DEFAULT, "--out", out, "--steps", 9, "--seed", 9, "--quiet")
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    assert "9 of 9 steps" in again.stderr and "--force" in again.stderr and str(out) in again.stderr
    assert digest(out) == before
    forced = cli("run", DEFAULT, "--out", out, "--steps", 9, "--seed", 9, "--json", "--quiet", "--force")
    assert forced.returncode == 0 and f"replacing {out}" in forced.stderr and "9 of 9 steps" in forced.stderr
    assert cli("report", out, "--json").stdout == forced.stdout != first.stdout


@pytest.mark.parametrize("content", ["text", "duckdb"])
def test_a_file_that_is_not_a_trace_is_never_replaced(tmp_path, content):
    out = tmp_path / "other.duckdb"
    if content == "text":
        out.write_text("my notes\n")
    else:
        with duckdb.connect(str(out)) as con:
            con.execute("CREATE TABLE mine AS SELECT 42 AS answer")
    before = digest(out)
    res = cli("run", DEFAULT, "--out", out, "--steps", 9, "--force", "--quiet")
    assert res.returncode == 2 and "not a trace" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    report = cli("report", out)
    assert report.returncode == 2 and "not a" in report.stderr and "Traceback" not in report.stderr
    assert digest(out) == before


def test_one_process_two_writers_and_the_lock_file(tmp_path):
    out = tmp_path / "t.duckdb"
    with TraceStore(out) as store:
        info = json.loads(lock_path(out).read_text())
        assert info["pid"] == os.getpid() and info["started"]
        with pytest.raises(TraceInUse) as caught:
            TraceStore(out)
        assert caught.value.holder.pid == os.getpid() and str(out) in str(caught.value)
        with pytest.raises(TraceInUse):
            TraceStore(out, read_only=True)
        assert store.last_step() == -1
    assert not lock_path(out).exists()
    with TraceLock(out):  # free again once the writer closed
        assert holder(out).pid == os.getpid()
    assert holder(out) is None
