"""The ``interviews`` table of a run's trace: one row per question asked of an agent, with its prompt, tokens and cost."""

from __future__ import annotations

from pathlib import Path

from .interview import InterviewAnswer

_COLUMNS = tuple(
    "step agent user_id question answer prompt model ok error cached prompt_tokens completion_tokens cost_usd "
    "latency_s asked_at".split()
)
TABLE = """
CREATE TABLE IF NOT EXISTS interviews (step INTEGER, agent INTEGER, user_id VARCHAR, question VARCHAR,
    answer VARCHAR, prompt VARCHAR, model VARCHAR, ok BOOLEAN, error VARCHAR, cached BOOLEAN,
    prompt_tokens INTEGER, completion_tokens INTEGER, cost_usd DOUBLE, latency_s DOUBLE, asked_at TIMESTAMP)
"""
READ = f"SELECT {', '.join(_COLUMNS)} FROM interviews WHERE agent = ? ORDER BY asked_at DESC"


def write_interview(con, step: int, agent: int, user_id: str, answer: InterviewAnswer) -> None:
    """Append one row to the trace's ``interviews`` table (created if missing), autocommitted.

    ``con`` is anything with DuckDB's ``execute(sql, params)``: a connection, a cursor. ``step`` is the step the
    state was read after (-1: before the first); ``prompt`` holds the messages as JSON; ``asked_at`` is UTC.
    """
    con.execute(TABLE)
    values = (
        int(step),
        int(agent),
        str(user_id),
        answer.question,
        answer.answer,
        answer.prompt_json(),
        answer.model,
        answer.ok,
        answer.error,
        answer.cached,
        int(answer.prompt_tokens),
        int(answer.completion_tokens),
        answer.cost_usd,
        float(answer.latency_s),
        answer.asked_at,
    )
    con.execute(f"INSERT INTO interviews ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)


def append_to_file(path: str | Path, step: int, agent: int, user_id: str, answer: InterviewAnswer) -> None:
    """``write_interview`` into a trace file no one holds: take its lock, open it read-write, write, close.

    Raises:
        TraceInUse: another process (or another run of this one) has the file open; the message names it.
        TraceFileError: the file is missing, not a DuckDB file, or cannot be opened.
    """
    from ..trace_lock import TraceFileError, TraceLock, connect

    path = Path(path)
    if not path.exists():
        raise TraceFileError(f"{path}: no such trace file")
    hint_text = "the interview is kept in this session instead"
    with TraceLock(path).acquire(hint_text):
        con = connect(path, read_only=False, hint=hint_text)
        try:
            write_interview(con, step, agent, user_id, answer)
        finally:
            con.close()


def read_interviews(con, agent: int) -> list[dict]:
    """One agent's interviews in a trace, newest first (``_COLUMNS`` keys); empty when the trace has none."""
    import duckdb

    try:
        cur = con.execute(READ, [int(agent)])
    except duckdb.CatalogException:
        return []
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def as_row(step: int, agent: int, user_id: str, answer: InterviewAnswer) -> dict:
    """The ``interviews`` row of an answer as a dict (what ``read_interviews`` returns), for answers kept in memory."""
    return {
        "step": step,
        "agent": agent,
        "user_id": user_id,
        "question": answer.question,
        "answer": answer.answer,
        "prompt": answer.prompt_json(),
        "model": answer.model,
        "ok": answer.ok,
        "error": answer.error,
        "cached": answer.cached,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "cost_usd": answer.cost_usd,
        "latency_s": answer.latency_s,
        "asked_at": answer.asked_at,
    }
