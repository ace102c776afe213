"""The shared LLM cache on disk (diskcache): where it lives, its cap, and two processes writing at once."""

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import platformdirs
import pytest

from s3core.llm.cache import CachedReply, LLMCache, default_cache_dir, resolve_cache_dir, size_limit

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys, time
from pathlib import Path
from s3core.llm.cache import CachedReply, LLMCache
path, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
cache = LLMCache(path)
while not go.exists():  # both writers start together
    time.sleep(0.01)
for start in range(0, n, 5):  # many small transactions, as a run's steps make
    batch = {f"{name}-{i}": CachedReply(({"content": f"{{\\"i\\": {i}}}", "finish_reason": "stop", "refusal": None},),
                                        3, 4, 0.1, None, "m", "decision") for i in range(start, min(n, start + 5))}
    cache.put_many(batch)
    cache.put_many({"shared-key": CachedReply(({"content": name},), kind="decision")})  # both write one key
cache.close()
"""


def entry(text: str = '{"ok": true}') -> CachedReply:
    return CachedReply(
        ({"content": text, "finish_reason": "stop", "refusal": None},), 10, 2, 0.25, 0.001, "openai/m", "connection"
    )


def test_entries_round_trip_and_keys_are_never_overwritten(tmp_path):
    cache = LLMCache(tmp_path / "c")
    cache.put_many({"a": entry("first"), "b": entry()})
    cache.put_many({"a": entry("second")})
    cache.close()
    again = LLMCache(tmp_path / "c")
    got = again.get_many(["a", "b", "missing"])
    assert set(got) == {"a", "b"} and got["a"].replies[0]["content"] == "first" and got["b"] == entry()
    assert len(again) == 2 and again.info().entries == 2 and again.info().size_bytes > 0
    assert again.clear() == 2 and len(again) == 0
    again.close()


def test_memory_cache_when_no_path():
    cache = LLMCache(None)
    cache.put_many({"a": entry()})
    assert cache.get_many(["a"])["a"] == entry() and cache.info().path is None


def test_a_file_where_the_directory_should_be_is_refused_by_name(tmp_path):
    old = tmp_path / "run.llm-cache.duckdb"
    old.write_bytes(b"DUCK")
    with pytest.raises(ValueError, match="run.llm-cache.duckdb is a file"):
        LLMCache(old)


def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" and resolve_cache_dir(None) == tmp_path / "x"
    assert resolve_cache_dir("none") is None and resolve_cache_dir(str(tmp_path / "y")) == tmp_path / "y"
    monkeypatch.setenv("S3_LLM_CACHE", "none")
    assert default_cache_dir() is None
    monkeypatch.delenv("S3_LLM_CACHE")
    assert (
        default_cache_dir() == Path(platformdirs.user_cache_dir("s3core", appauthor=False)) / "llm"
    )  # nothing is created


def test_size_cap_evicts_the_oldest_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_LLM_CACHE_MAX_MB", "0.25")
    assert size_limit() == 2**18
    cache = LLMCache(tmp_path / "capped")
    rng = random.Random(0)  # incompressible text: values are stored compressed
    for start in range(0, 600, 50):
        cache.put_many(
            {f"k{i:04d}": entry(json.dumps({"text": rng.randbytes(1000).hex()})) for i in range(start, start + 50)}
        )
    info = cache.info()
    assert info.limit_bytes == 2**18 and info.entries < 600
    assert info.size_bytes <= 2**18 + 64 * 2**10, info  # culling runs as entries arrive, a few entries of slack
    assert "k0599" in cache.get_many(["k0599"]) and "k0000" not in cache.get_many(["k0000"])
    cache.close()
    monkeypatch.setenv("S3_LLM_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="S3_LLM_CACHE_MAX_MB"):
        size_limit()


def test_two_processes_writing_at_once_lose_no_entry(tmp_path):
    path, go, n = tmp_path / "shared", tmp_path / "go", 400
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(n), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    time.sleep(1.0)  # both have opened the cache
    go.touch()
    results = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert "failed" not in err and "locked" not in err.lower(), err
    cache = LLMCache(path)
    keys = [f"{name}-{i}" for name in ("p1", "p2") for i in range(n)]
    got = cache.get_many(keys + ["shared-key"])
    assert len(got) == 2 * n + 1 and len(cache) == 2 * n + 1, "every entry of both writers is there"
    assert got["p2-399"].replies[0]["content"] == '{"i": 399}'
    assert got["shared-key"].replies[0]["content"] in ("p1", "p2")
    cache.close()
