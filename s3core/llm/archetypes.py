"""The archetype mode of LLM agents: one request per cell of similar agents, each member drawing its decision from the answer.

After AgentTorch (Chopra et al. 2024, arXiv 2409.10568): the deciding agents are grouped into cells
(``archetype_cells``), every occupied cell of the step is asked in one concurrent ``Gateway.run`` for probabilities
over the next emotion, attitude and action and up to three short texts, and each member draws from its cell's
distributions with the step's keyed draws (``Purpose.EMOTION``, ``ATTITUDE``, ``ACTION``, ``TEXT_CHOICE``: the keys
the heuristic uses, so the two modes are coupled for fair comparisons). A cell whose call fails or whose
distributions are unusable keeps the heuristic decisions of its members, flagged as fallbacks.

Audit trail: one ``llm_calls`` row per cell (agent = the cell's representative member) and one ``llm_archetypes``
row per cell (its key, members, prompt and reply), written by ``write_archetype_trace``.
"""

from __future__ import annotations

import json

import numpy as np

from ..keyed_random import KeyedRandom, Purpose
from ..policy import DecisionBatch, Decisions
from ..types import OCCUPATION_LABELS, Action
from . import prompts as P
from .archetype_cells import COARSENINGS, MAX_CELLS, Cells, cells_of
from .errors import ErrorKind
from .gateway import ChatRequest, Outcome
from .schemas import ACTIONS, ATTITUDES, EMOTIONS, MAX_TEXT

MAX_TEXTS = 3  # texts kept per cell
REPLY_TOKENS = 640  # at least this many tokens per reply: three distributions and MAX_TEXTS short texts
EXCHANGES_PER_MEMBER = 50_000  # up to this many members, each member's inspector shows its cell's exchange
SYSTEM = (
    "You model how a group of similar users of Weibo, a Chinese microblogging platform, react during a trending "
    "event. Answer as the distribution of the group's reactions, not as an assistant. Answer with one JSON object only."
)
_GENDER = {"female": "women", "male": "men", "unknown": "people"}
_CATEGORY = {
    "influential": "influential accounts (far more followers than followees, posting original content)",
    "regular": "regular users who mostly follow friends and acquaintances",
    "low_impact": "low-impact users with few followers who rarely post",
}
_OCCUPATION = {o.name.lower(): label for o, label in OCCUPATION_LABELS.items()}


def persona(cells: Cells, c: int) -> str:
    """The shared attributes of cell ``c`` in words (coarsened fields left out)."""
    key = cells.key(c)
    who = _GENDER[key["gender"]]
    if "age" in key:
        who += f" aged {key['age']}"
    if "occupation" in key:
        who += f", occupation: {_OCCUPATION[key['occupation']]}"
    return (
        f"The group ({int(cells.size[c])} users): {who}; {_CATEGORY[key['category']]}. Before this step their emotion about the event was "
        f"{key['emotion']} and their attitude {key['attitude']}."
    )


def cell_prompt(cells: Cells, c: int, focal_text: str, event: str) -> tuple:
    """The messages asking for cell ``c``'s distributions (deterministic: the same cell gives the same prompt)."""
    situation = f"This step they received on average {cells.mean_received[c]:.1f} post(s) about it."
    if np.isfinite(cells.pool_positive[c]):
        situation += f" Of what they remember about it, {cells.pool_positive[c]:.0%} leans positive."
    ask = (
        "For a member of this group, give the probabilities (each set summing to 1) of:\n"
        "1. emotion after reading: calm (unmoved), moderate (somewhat stirred) or intense (strongly stirred);\n"
        "2. attitude toward the event now: negative or positive;\n"
        "3. action with the most prominent post: ignore (do nothing), repost (forward it unchanged), quote (forward "
        "it with a comment) or post (write a new post about the event). Most users ignore most posts.\n"
        f"4. texts: if quote or post has any probability, up to {MAX_TEXTS} short texts (one or two sentences each) "
        "such members would write, in the language of the post; otherwise an empty list.\n"
        'Reply as {"emotion": {"calm": p, "moderate": p, "intense": p}, "attitude": {"negative": p, "positive": p}, '
        '"action": {"ignore": p, "repost": p, "quote": p, "post": p}, "texts": ["...", ...]}.'
    )
    body = "\n\n".join(
        p
        for p in (
            f"The event: {P.snip(event, 400)}" if event else "",
            persona(cells, c),
            situation,
            f"The most prominent post they saw:\n«{P.snip(focal_text)}»",
            ask,
        )
        if p
    )
    return ({"role": "system", "content": SYSTEM}, {"role": "user", "content": body})


def distributions(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]] | str:
    """(emotion, attitude, action probabilities in enum order, texts) from a reply, or why it is unusable."""
    out = []
    for name, labels in (("emotion", EMOTIONS), ("attitude", ATTITUDES), ("action", ACTIONS)):
        p = np.array([float(data[name][k]) for k in labels])
        total = p.sum()
        if not np.isfinite(total) or total <= 0 or (p < 0).any():
            return f"{name}: probabilities {p.tolist()} do not form a distribution"
        out.append(p / total)
    texts = [" ".join(str(t).split())[:MAX_TEXT] for t in data.get("texts", [])]
    return (*out, [t for t in texts if t][:MAX_TEXTS])


def _inverse_cdf(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Category per row from its probability row and uniform (the heuristic's rule: count CDF steps below u)."""
    return (u[:, None] >= np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1).astype(np.int8)


def refine(policy, batch: DecisionBatch, base: Decisions, draws=None) -> Decisions:
    """Archetype decisions for the batch (see the module docstring); ``base`` is kept where a cell falls back.

    ``draws`` are the step's keyed draws; None takes the run's own (``KeyedRandom(seed).at(step)``).
    """
    n = len(batch)
    emotion, attitude, action = base.emotion.copy(), base.attitude.copy(), base.action.copy()
    fallback = np.zeros(n, dtype=bool)
    texts: list[str | None] = [None] * n
    if n == 0:
        return Decisions(emotion, attitude, action, texts, fallback)
    sim = batch.context
    if draws is None:
        draws = KeyedRandom(sim.scenario.seed).at(batch.step)
    posts = sim.posts
    cells = cells_of(batch, posts.root, MAX_CELLS)
    if cells.coarsened:
        how = "without " + ", ".join(f for f in COARSENINGS[0] if f not in cells.fields)
        if cells.coarsened == len(COARSENINGS):
            how += ", the threads with fewest members folded into one"
        told = policy.__dict__.setdefault("_archetype_notices", set())  # each kind of coarsening told once
        if how not in told:
            told.add(how)
            policy.gateway.notice(
                f"archetype mode, step {batch.step}: more than {MAX_CELLS} occupied cells; cells coarsened ({how}) "
                f"to {len(cells)} (llm_archetypes.key lists each step's fields)"
            )
    event = policy.event if policy.event is not None else P.event_summary(sim.scenario)
    focal = np.asarray(batch.focal_post, np.int64)[cells.representative]
    text_id = posts.text_id
    requests = [
        ChatRequest("archetype", cell_prompt(cells, c, sim.text_of(int(text_id[f])) if f >= 0 else "", event))
        for c, f in enumerate(focal)
    ]
    outcomes = policy.gateway.widened(REPLY_TOKENS).run(requests)
    k = len(cells)
    probs = {"emotion": np.zeros((k, 3)), "attitude": np.zeros((k, 2)), "action": np.zeros((k, 4))}
    ok = np.zeros(k, dtype=bool)
    cell_texts: list[list[str]] = [[] for _ in range(k)]
    errors: list[str | None] = [o.error for o in outcomes]
    for c, o in enumerate(outcomes):
        if not o.ok:
            continue
        got = distributions(o.data)
        if isinstance(got, str):
            errors[c] = got
            policy.stats.invalid += 1  # the reply fitted the schema but holds no distribution
            continue
        probs["emotion"][c], probs["attitude"][c], probs["action"][c], cell_texts[c] = got
        ok[c] = True
    member_ok = ok[cells.of_row]
    rows = np.flatnonzero(member_ok)
    agents, cell = batch.agent[rows], cells.of_row[rows]
    emotion[rows] = _inverse_cdf(probs["emotion"][cell], draws.uniform(Purpose.EMOTION, agents))
    attitude[rows] = _inverse_cdf(probs["attitude"][cell], draws.uniform(Purpose.ATTITUDE, agents))
    action[rows] = _inverse_cdf(probs["action"][cell], draws.uniform(Purpose.ACTION, agents))
    fallback[~member_ok] = True
    n_texts = np.array([len(t) for t in cell_texts], dtype=np.int64)
    writers = rows[np.isin(action[rows], (Action.QUOTE, Action.POST)) & (n_texts[cells.of_row[rows]] > 0)]
    if len(writers):
        u = draws.uniform(Purpose.TEXT_CHOICE, batch.agent[writers])
        which = np.minimum((u * n_texts[cells.of_row[writers]]).astype(np.int64), n_texts[cells.of_row[writers]] - 1)
        for i, c, j in zip(writers.tolist(), cells.of_row[writers].tolist(), which.tolist()):
            texts[i] = cell_texts[c][j]
    stats = policy.stats
    stats.decisions += n
    stats.fallbacks += int(fallback.sum())
    _record(policy, batch, cells, requests, outcomes, ok, errors)
    return Decisions(emotion.astype(np.int8), attitude.astype(np.int8), action.astype(np.int8), texts, fallback)


def _record(policy, batch, cells: Cells, requests, outcomes: list[Outcome], ok, errors) -> None:
    """One ``llm_calls`` row and one ``llm_archetypes`` row per cell; exchanges for the agent inspector."""
    from .policy import Exchange

    rows = getattr(policy, "_archetype_rows", None)
    if rows is None:
        rows = policy._archetype_rows = []
    reps = batch.agent[cells.representative]
    per_cell = []
    for c, (req, o) in enumerate(zip(requests, outcomes)):
        agent = int(reps[c])
        exchange = [Exchange(batch.step, req.schema, req.messages, o.content, o.data, errors[c], o.cached)]
        per_cell.append(exchange)
        policy._exchanges[agent] = exchange
        policy._trace.append(
            (
                batch.step,
                agent,
                req.schema,
                bool(ok[c]),
                o.cached,
                o.error_kind if o.error_kind or ok[c] else ErrorKind.INVALID.value,
                errors[c],
                o.calls,
                o.prompt_tokens,
                o.completion_tokens,
                round(o.latency, 4),
                o.content if o.ok else None,
                round(o.wait, 4),
            )
        )
        rows.append(
            (
                batch.step,
                c,
                json.dumps(cells.key(c), ensure_ascii=False),
                int(cells.size[c]),
                json.dumps(list(req.messages), ensure_ascii=False),
                json.dumps(o.data, ensure_ascii=False) if o.data is not None else None,
                bool(ok[c]),
                errors[c],
                o.cached,
                o.prompt_tokens + o.completion_tokens,
            )
        )
    if len(batch) <= EXCHANGES_PER_MEMBER:
        for agent, c in zip(batch.agent.tolist(), cells.of_row.tolist()):
            policy._exchanges[agent] = per_cell[c]


ARCHETYPE_COLUMNS = ("step", "cell", "key", "members", "prompt", "reply", "ok", "error", "cached", "tokens")
SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_archetypes (step INTEGER, cell INTEGER, key JSON, members INTEGER, prompt JSON,
    reply JSON, ok BOOLEAN, error VARCHAR, cached BOOLEAN, tokens INTEGER);
"""


def write_archetype_trace(con, rows: list[tuple]) -> None:
    """Append ``rows`` (``ARCHETYPE_COLUMNS`` order) to ``llm_archetypes``, replacing rows of the same steps
    (left by an interrupted run). The table is created even when there are no rows."""
    import pyarrow as pa

    con.execute(SCHEMA)
    if not rows:
        return
    kinds = (pa.int32(), pa.int32(), pa.string(), pa.int32(), pa.string(), pa.string(), pa.bool_(), pa.string())
    kinds += (pa.bool_(), pa.int32())
    table = pa.table(
        {name: pa.array([r[i] for r in rows], t) for i, (name, t) in enumerate(zip(ARCHETYPE_COLUMNS, kinds))}
    )
    con.register("_archetype_rows", table)
    try:
        con.execute("DELETE FROM llm_archetypes WHERE step IN (SELECT unnest(?))", [sorted({r[0] for r in rows})])
        columns = ", ".join(ARCHETYPE_COLUMNS)
        con.execute(f"INSERT INTO llm_archetypes ({columns}) SELECT {columns} FROM _archetype_rows")
    finally:
        con.unregister("_archetype_rows")


def flush_archetype_trace(policy, con) -> None:
    """Write the policy's pending ``llm_archetypes`` rows and forget them (the hook ``LLMPolicy.write_trace`` calls)."""
    write_archetype_trace(con, getattr(policy, "_archetype_rows", None) or [])
    policy._archetype_rows = []
