"""The LLM cache: one DuckDB file mapping a hash of model, parameters and messages to the reply.

DuckDB allows one read-write process per file, so the cache is its own file, opened by the
process that runs the simulation; if another process holds it, the run goes on uncached.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from .settings import CACHE_ENV

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_cache (key VARCHAR PRIMARY KEY, model VARCHAR, kind VARCHAR, messages VARCHAR,
    content VARCHAR, ok BOOLEAN, error VARCHAR, prompt_tokens INTEGER, completion_tokens INTEGER,
    latency_s DOUBLE, cost DOUBLE, created TIMESTAMP DEFAULT current_timestamp)
"""
COLUMNS = ("key", "model", "kind", "messages", "content", "ok", "error", "prompt_tokens", "completion_tokens", "latency_s", "cost")
_TYPES = (pa.string(), pa.string(), pa.string(), pa.string(), pa.string(), pa.bool_(), pa.string(), pa.int32(), pa.int32(), pa.float64(), pa.float64())


@dataclass(frozen=True)
class CachedReply:
    """A stored final outcome: valid content, or a model reply that stayed unusable after repair."""

    content: str | None
    ok: bool
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost: float | None


def default_cache_path(run_path: str | Path | None = None) -> Path | None:
    """``$S3_LLM_CACHE`` if set, else ``RUN.llm-cache.duckdb`` next to the run, else None (in memory)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if run_path is not None:
        run_path = Path(run_path)
        return run_path.with_name(run_path.stem + ".llm-cache.duckdb")
    return None


class LLMCache:
    """Batched get/put over one DuckDB file (or memory when ``path`` is None or the file is locked)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self.con = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.con = duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                log.warning("LLM cache %s unavailable (%s); caching in memory for this run", self.path, exc)
        if self.con is None:
            self.con = duckdb.connect(":memory:")
        self.con.execute(SCHEMA)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def __len__(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM llm_cache").fetchone()[0])

    def get_many(self, keys: list[str]) -> dict[str, CachedReply]:
        if not keys:
            return {}
        self.con.register("_keys", pa.table({"key": pa.array(keys, pa.string())}))
        try:
            rows = self.con.execute(
                "SELECT c.key, content, ok, error, prompt_tokens, completion_tokens, latency_s, cost "
                "FROM llm_cache c JOIN _keys k ON c.key = k.key").fetchall()
        finally:
            self.con.unregister("_keys")
        return {r[0]: CachedReply(r[1], bool(r[2]), r[3], int(r[4] or 0), int(r[5] or 0), float(r[6] or 0.0), r[7]) for r in rows}

    def put_many(self, rows: list[tuple]) -> None:
        """Rows in ``COLUMNS`` order; keys already stored are kept."""
        if not rows:
            return
        table = pa.table({name: pa.array([r[i] for r in rows], kind) for i, (name, kind) in enumerate(zip(COLUMNS, _TYPES))})
        self.con.register("_incoming", table)
        try:
            self.con.execute(f"INSERT INTO llm_cache ({', '.join(COLUMNS)}) SELECT DISTINCT ON (key) * FROM _incoming "
                             "WHERE key NOT IN (SELECT key FROM llm_cache)")
        finally:
            self.con.unregister("_incoming")
