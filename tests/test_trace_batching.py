"""Buffered trace writing keeps the trace's guarantees: the same rows, complete checkpoints after a kill, exact resume.

A run buffered a checkpoint interval at a time on a writer thread holds exactly the rows of a run
committed step by step; a CLI run killed mid-interval keeps its latest checkpoint whole and resumes
to the uninterrupted result; a writer error is never lost; traces with the older one-blob
checkpoint still resume.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from s3core import scenario as S
from s3core import trace_rows
from s3core.engine import Simulation
from s3core.runner import open_run, record, run_to_trace
from s3core.state import PackedArrays, pack
from s3core.trace import TraceStore, TraceWriteError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "scenarios" / "default.toml"
TABLES = ("agents", "states", "posts", "metrics", "breakdown", "checkpoint_arrays")


def _scenario(steps: int, every: int) -> S.Scenario:
    """The default scenario's event on a small synthetic network, checkpointed every ``every`` steps."""
    sc = S.load(DEFAULT)
    return sc.replace(
        steps=steps,
        network=S.NetworkSpec(source="synthetic", n_users=1500),
        run=S.RunOptions(checkpoint_every=every),
        interventions=sc.interventions[:1],
    )


def _rows(path: Path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
        out["run"] = con.execute("SELECT * FROM run WHERE key <> 'created_utc' ORDER BY ALL").fetchall()
    return out


def _step_by_step(sc: S.Scenario, path: Path, sim: Simulation, steps: int | None = None) -> None:
    """Write ``steps`` steps as the dashboard does: each committed before ``record`` returns."""
    sim, store = open_run(sc, path, sim=sim)
    for _ in range(sc.steps if steps is None else steps):
        record(sim, store, sim.step(), sc.steps - 1)
    store.close()


@pytest.mark.parametrize("buffer_steps", [3, 4, 100])
def test_a_buffered_background_trace_holds_the_rows_of_one_committed_every_step(
    tmp_path, text, small_network, buffer_steps
):
    sc = S.load(DEFAULT).replace(steps=10, run=S.RunOptions(checkpoint_every=4))
    _step_by_step(sc, tmp_path / "each.duckdb", Simulation(sc, network=small_network, text=text))
    sim = Simulation(sc, network=small_network, text=text)
    sim, store = open_run(sc, tmp_path / "buffered.duckdb", sim=sim, buffer_steps=buffer_steps, background=True)
    for _ in range(sc.steps):
        record(sim, store, sim.step(), sc.steps - 1)
    assert store.last_step() == sc.steps - 1, "a read through the store sees every step written"
    store.close()
    assert _rows(tmp_path / "buffered.duckdb") == _rows(tmp_path / "each.duckdb")


def test_run_to_trace_equals_a_run_committed_every_step(tmp_path, text, small_network):
    sc = S.load(DEFAULT).replace(steps=9, run=S.RunOptions(checkpoint_every=4))
    _step_by_step(sc, tmp_path / "each.duckdb", Simulation(sc, network=small_network, text=text))
    run_to_trace(sc, tmp_path / "cli.duckdb", sim=Simulation(sc, network=small_network, text=text))
    rows = _rows(tmp_path / "cli.duckdb")
    assert rows == _rows(tmp_path / "each.duckdb")
    assert {r[0] for r in rows["checkpoint_arrays"]} == {8}, "only the latest checkpoint is kept"


def test_a_cursor_taken_at_open_sees_every_step_as_it_is_recorded(tmp_path, text, small_network):
    """The dashboard reads its live run through a cursor of the writer's connection, taken once."""
    sc = S.load(DEFAULT).replace(steps=5, run=S.RunOptions(checkpoint_every=3))
    sim, store = open_run(sc, tmp_path / "live.duckdb", sim=Simulation(sc, network=small_network, text=text))
    reader = store.con.cursor()
    for done in range(1, sc.steps + 1):
        record(sim, store, sim.step(), sc.steps - 1)
        assert reader.execute("SELECT count(*) FROM metrics").fetchone()[0] == done
    reader.close()
    store.close()


@pytest.mark.parametrize("codec", ["zstd", ""])
def test_a_checkpoint_in_parts_comes_back_as_it_was_taken(tmp_path, text, small_network, monkeypatch, codec):
    monkeypatch.setattr(trace_rows, "CHECKPOINT_PART", 1000)  # every large array in several rows
    monkeypatch.setattr(trace_rows, "CHECKPOINT_CODEC", codec)
    sc = S.load(DEFAULT).replace(steps=3)
    sim, store = open_run(sc, tmp_path / "parts.duckdb", sim=Simulation(sc, network=small_network, text=text))
    for _ in range(2):
        record(sim, store, sim.step(), sc.steps - 1)
    taken = {k: np.array(v, copy=True) for k, v in sim.state_arrays().items()}
    sim.state.aware[:] = ~sim.state.aware  # the engine mutates its live arrays after a checkpoint
    step, arrays = store.latest_checkpoint()
    codecs = dict(store.con.execute("SELECT codec, count(*) FROM checkpoint_arrays GROUP BY ALL").fetchall())
    store.close()
    assert step == 1 and list(arrays) == list(taken)
    assert codecs.keys() == ({"zstd", ""} if codec else {""}), "empty arrays are stored as they are"
    for name, a in taken.items():
        assert arrays[name].dtype == a.dtype and arrays[name].shape == a.shape, name
        assert np.array_equal(arrays[name], a), name
        assert arrays[name].flags.writeable, name


def test_packed_arrays_are_a_copy_and_keep_every_dtype_and_shape():
    source = {
        "matrix": np.arange(12, dtype=np.int32).reshape(3, 4),
        "names": np.array(["rumour", "x"]),
        "empty": np.zeros(0, np.int8),
        "scalar": np.array(2.5),
        "flags": np.array([True, False]),
        "keys": np.array([2**63 + 1], dtype=np.uint64),
    }
    packed = PackedArrays.of(source)
    source["matrix"][0, 0] = 99
    back = packed.arrays()
    assert back["matrix"][0, 0] == 0 and not packed.data.flags.writeable
    for name, a in source.items():
        assert back[name].dtype == a.dtype and back[name].shape == a.shape, name
    with pytest.raises(TypeError, match="objects"):
        PackedArrays.of({"bad": np.array([{}], dtype=object)})


@pytest.fixture
def sim(text, small_network):
    return Simulation(S.load(DEFAULT).replace(steps=3), network=small_network, text=text)


def _bad_record(sim: Simulation):
    """A step whose columns differ in length: Arrow refuses it on the writer thread."""
    rec = sim.step()
    assert len(rec.changes["agent"]) > 1
    return dataclasses.replace(rec, changes={**rec.changes, "aware": rec.changes["aware"][:-1]})


def test_a_writer_thread_error_is_raised_on_close_and_the_file_is_released(tmp_path, sim):
    out = tmp_path / "t.duckdb"
    store = TraceStore(out, buffer_steps=1, background=True)
    store.write_step(_bad_record(sim))  # fails on the writer thread, after write_step returned
    with pytest.raises(Exception, match="length"):
        store.close()
    with TraceStore(out) as again:  # closed and unlocked all the same
        assert again.last_step() == -1


def test_a_writer_thread_error_is_raised_once_then_every_write_is_refused(tmp_path, sim):
    store = TraceStore(tmp_path / "t.duckdb", buffer_steps=2, background=True)
    good = sim.step()
    store.write_step(good)
    store.write_step(_bad_record(sim))
    with pytest.raises(Exception, match="length") as first:
        store.flush()
    assert not isinstance(first.value, TraceWriteError)
    with pytest.raises(TraceWriteError, match="earlier trace write failed"):
        store.write_step(good)
    store.close()  # the error was raised already: close does not raise it again
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == 0, "the failed batch left nothing"


def test_a_trace_with_a_blob_checkpoint_still_resumes(tmp_path, text, small_network):
    """Traces written before checkpoint_arrays hold ``checkpoints (step, data BLOB)`` with one .npz blob."""
    sc = S.load(DEFAULT).replace(steps=9, run=S.RunOptions(checkpoint_every=4))
    full = run_to_trace(sc, tmp_path / "full.duckdb", sim=Simulation(sc, network=small_network, text=text))
    old = tmp_path / "old.duckdb"
    _step_by_step(sc, old, Simulation(sc, network=small_network, text=text), steps=6)
    with TraceStore(old) as store:
        step, arrays = store.latest_checkpoint()
    assert step == 3
    with duckdb.connect(str(old)) as con:  # rewrite it in the older format
        con.execute("DROP TABLE checkpoint_arrays")
        con.execute("CREATE TABLE checkpoints (step INTEGER, data BLOB)")
        con.execute("INSERT INTO checkpoints VALUES (?, ?)", [step, pack(arrays)])
    with TraceStore(old, read_only=True) as store:
        assert store.latest_checkpoint()[0] == 3
    resumed = run_to_trace(sc, old, resume=True, sim=Simulation(sc, network=small_network, text=text))
    assert resumed == full
    with duckdb.connect(str(old), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "checkpoints" not in tables, "the new checkpoint replaced the old one"
    assert _rows(old) == _rows(tmp_path / "full.duckdb")


def test_a_cli_run_killed_mid_interval_keeps_a_whole_checkpoint_and_resumes_exactly(tmp_path):
    sc = _scenario(steps=25, every=5)
    scenario_file = tmp_path / "every5.toml"
    scenario_file.write_text(S.dumps(sc))
    reference = run_to_trace(S.load(scenario_file), tmp_path / "full.duckdb")
    cut = tmp_path / "cut.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3core", "run", str(scenario_file), "--out", str(cut), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:  # progress counts committed steps: the kill lands while 5.. are computed
        if line.startswith("step 5/"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with TraceStore(cut, read_only=True) as store:
        done = store.last_step() + 1
        step, arrays = store.latest_checkpoint()
    assert 5 <= done < sc.steps and done % 5 == 0, "whole intervals only"
    assert step == done - 1, "the latest checkpoint is the last step kept"
    assert list(arrays) == list(Simulation(sc).state_arrays()), "and it is complete"
    resumed = subprocess.run(
        [sys.executable, "-m", "s3core", "run", str(scenario_file), "--out", str(cut), "--json", "--resume"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout) == reference
    assert _rows(cut) == _rows(tmp_path / "full.duckdb")
