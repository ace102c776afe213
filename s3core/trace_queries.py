"""Parameterized SQL over a trace file (``trace.SCHEMA``): the queries the dashboard's Traces page runs.

Each builder returns ``(sql, params)`` with every user value passed as a parameter, never
formatted into the SQL. ``count`` and ``limited`` wrap a query.
"""

from __future__ import annotations

POST_COLUMNS = (
    "p.post_id, p.step, p.author AS agent, coalesce(a.user_id, 'official account') AS user_id, p.action, "
    "p.parent, p.root, p.depth, p.stance, p.emotion, p.text"
)
CHANGE_FLAGS = {"became aware": "became_aware", "emotion": "emotion_changed", "attitude": "attitude_changed"}
BREAKDOWN = "SELECT * FROM breakdown ORDER BY step, dimension, grp"
# The cascade view's inputs: every post with the columns ``s3core.cascade_tree`` reads, and the per-seed
# awareness table of traces that have one (written since it was added; older traces lack it).
CASCADE_POSTS = (
    "SELECT p.post_id, p.step, p.author, coalesce(a.user_id, 'official account') AS user_id, p.parent, p.root, "
    "p.action, p.stance, p.emotion, p.depth, p.text FROM posts p LEFT JOIN agents a ON a.agent = p.author "
    "ORDER BY p.post_id"
)
HAS_SEED_METRICS = (
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'seed_metrics' AND table_schema = 'main'"
)
SEED_METRICS = "SELECT step, seed, root, aware, new_aware, posts FROM seed_metrics ORDER BY root, step"


def find_user(user_id: str) -> tuple[str, list]:
    """The agent whose user id is exactly ``user_id`` (surrounding spaces of the typed text ignored).

    A user id is matched only as a user id, never as an agent index: with numeric ids, user ``"7"``
    and agent index 7 are usually different people. Agent indices have their own filter.
    """
    return "SELECT agent FROM agents WHERE user_id = ?", [user_id.strip()]


def posts(
    first_step: int,
    last_step: int,
    actions: list[str],
    agent: int | None = None,
    contains: str = "",
    user_id: str | None = None,
) -> tuple[str, list]:
    """Posts of steps [first_step, last_step] with one of ``actions``, by agent index ``agent`` and by
    the user whose id is exactly ``user_id`` (each if given; both must hold), whose text contains
    ``contains`` if given; with the author's user id; in post order."""
    where = ["p.step BETWEEN ? AND ?", "list_contains(?, p.action)"]
    params: list = [first_step, last_step, list(actions) or ["none"]]
    if agent is not None:
        where.append("p.author = ?")
        params.append(int(agent))
    if user_id is not None and user_id.strip():
        where.append("a.user_id = ?")
        params.append(user_id.strip())
    if contains.strip():
        where.append("contains(p.text, ?)")
        params.append(contains.strip())
    sql = (
        f"SELECT {POST_COLUMNS} FROM posts p LEFT JOIN agents a ON a.agent = p.author "
        f"WHERE {' AND '.join(where)} ORDER BY p.post_id"
    )
    return sql, params


def state_changes(
    first_step: int, last_step: int, agent: int | None = None, only: list[str] = (), user_id: str | None = None
) -> tuple[str, list]:
    """Recorded state changes of steps [first_step, last_step] of agent index ``agent`` and of the user
    whose id is exactly ``user_id`` (each if given), flagged by what changed (``CHANGE_FLAGS``; ``only``
    keeps rows with any of the named changes), in step and agent order."""
    where, params = ["step BETWEEN ? AND ?"], [first_step, last_step]
    if agent is not None:
        where.append("agent = ?")
        params.append(int(agent))
    if user_id is not None and user_id.strip():
        where.append("user_id = ?")
        params.append(user_id.strip())
    if only:
        where.append("(" + " OR ".join(CHANGE_FLAGS[o] for o in only) + ")")
    flagged = (
        "SELECT s.step, s.agent, a.user_id, s.aware, s.emotion, s.attitude, "
        "coalesce(lag(s.aware) OVER w, false) = false AND s.aware AS became_aware, "
        "s.emotion IS DISTINCT FROM coalesce(lag(s.emotion) OVER w, 0) AS emotion_changed, "
        "s.attitude IS DISTINCT FROM coalesce(lag(s.attitude) OVER w, a.initial_attitude) AS attitude_changed "
        "FROM states s JOIN agents a USING (agent) "
        "WINDOW w AS (PARTITION BY s.agent ORDER BY s.step)"
    )
    return f"SELECT * FROM ({flagged}) WHERE {' AND '.join(where)} ORDER BY step, agent", params


def count(sql: str) -> str:
    """The number of rows ``sql`` returns, as a query with one column ``n``."""
    return f"SELECT count(*) AS n FROM ({sql})"


def limited(sql: str, rows: int) -> str:
    """``sql``'s first ``rows`` rows."""
    return f"{sql} LIMIT {int(rows)}"
