"""The LLM part of a run's trace: one ``llm_calls`` row per prompt (with its error class and seconds waited before
retries), and in ``run`` the settings (never keys) and the counters, error classes included (``llm_stats``)."""

from __future__ import annotations

import json

import pyarrow as pa

TRACE_COLUMNS = (
    "step",
    "agent",
    "kind",
    "ok",
    "cached",
    "error_kind",
    "error",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "reply",
    "wait_s",
)
_TYPES = (
    pa.int32(),
    pa.int32(),
    pa.string(),
    pa.bool_(),
    pa.bool_(),
    pa.string(),
    pa.string(),
    pa.int32(),
    pa.int32(),
    pa.int32(),
    pa.float64(),
    pa.string(),
    pa.float64(),
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_calls (step INTEGER, agent INTEGER, kind VARCHAR, ok BOOLEAN, cached BOOLEAN,
    error_kind VARCHAR, error VARCHAR, calls INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
    latency_s DOUBLE, reply VARCHAR, wait_s DOUBLE);
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS wait_s DOUBLE;
CREATE TABLE IF NOT EXISTS run (key VARCHAR PRIMARY KEY, value VARCHAR);
"""


def write_llm_trace(con, rows: list[tuple], settings, stats) -> None:
    """Append ``rows`` (``TRACE_COLUMNS`` order), replacing rows of the same steps left by an interrupted run.

    ``error_kind`` holds an ``errors.ErrorKind`` value; ``run.llm_stats`` holds ``stats.as_dict()`` (calls per error
    class under ``errors``, ``fallback_share``, ``wait_s``, ``structured_output``).
    """
    con.execute(SCHEMA)
    con.execute(
        "INSERT OR REPLACE INTO run VALUES ('llm_settings', ?), ('llm_stats', ?)",
        [settings.public_json(), json.dumps(stats.as_dict())],
    )
    if not rows:
        return
    steps = sorted({r[0] for r in rows})
    table = pa.table(
        {name: pa.array([r[i] for r in rows], kind) for i, (name, kind) in enumerate(zip(TRACE_COLUMNS, _TYPES))}
    )
    con.register("_llm_rows", table)
    try:
        con.execute("DELETE FROM llm_calls WHERE step IN (SELECT unnest(?))", [steps])
        columns = ", ".join(TRACE_COLUMNS)
        con.execute(f"INSERT INTO llm_calls ({columns}) SELECT {columns} FROM _llm_rows")
    finally:
        con.unregister("_llm_rows")
