"""The inspector's interview box: ask the inspected agent a free question, answered by the LLM in its persona.

Answers go to the run's trace (``interviews`` table, ``s3core.llm.interview``) through the live run's own
connection, or into the file itself once its run has closed; when neither can be written (no step yet,
the file held by another process) they are kept in this session and the page says so.
"""

from __future__ import annotations

import json

import streamlit as st

from s3core.llm import interview as I
from s3core.llm import interview_snapshot as IS
from s3core.llm import interview_trace as IT
from s3core.llm.cache import LLMCache
from s3core.llm.prompts import event_summary
from s3core.llm.settings import LLMSettings

from . import llm
from .live import LiveRun
from .session import Workspace
from .widgets import md_escape

KEPT_KEY = "sim_interviews_kept"  # st.session_state: {(run path, agent): [rows not written to a trace]}
SHOWN = 10  # newest interviews listed per agent
HEURISTIC_BACKEND = (
    "The decision backend is the offline heuristic, so agents cannot be interviewed: choose **LLM** as the decision "
    "backend on the **Agents** page (LLM backend) to interview them with its model. The run under way is not changed."
)
NO_MODEL = (
    "No model is set, so agents cannot be interviewed: set one on the **Agents** page (LLM backend); a local "
    "OpenAI-compatible server needs no key."
)


def refusal(ws: Workspace) -> str:
    """Why ``interview_settings`` found no LLM, in the terms of its rule."""
    return HEURISTIC_BACKEND if ws.scenario.run.backend != "llm" else NO_MODEL


def interview_settings(ws: Workspace, live: LiveRun) -> LLMSettings | None:
    """The LLM to interview with: the run's own when an LLM decides in it, else the session's LLM choice when the
    Agents page set the LLM backend with a model; None when no LLM is configured."""
    policy = llm.llm_policy(live.sim)
    if policy is not None:
        return policy.llm.settings
    settings = ws.llm.settings
    if ws.scenario.run.backend == "llm" and (settings.model or "").strip():
        return settings
    return None


class _LiveConnection:
    """``execute`` through the live run's reader cursor (its lock, its connection): what ``write_interview`` needs."""

    def __init__(self, live: LiveRun):
        self.live = live

    def execute(self, sql: str, params=()):
        if self.live.query(sql, params) is None:
            raise RuntimeError("the run was closed meanwhile")
        return self


def _log(live: LiveRun, step: int, agent: int, user_id: str, answer: I.InterviewAnswer) -> str | None:
    """Write the interview into the run's trace; the reason in one sentence when it could not be written."""
    if live.has_trace and not live.closed:
        try:
            IT.write_interview(_LiveConnection(live), step, agent, user_id, answer)
            return None
        except Exception as exc:  # a failed write keeps the answer; the page says why
            return f"The interview could not be written to the run's trace ({type(exc).__name__}: {exc})."
    if live.closed and live.path.exists():
        try:
            IT.append_to_file(live.path, step, agent, user_id, answer)
            return None
        except Exception as exc:
            return f"The interview could not be written to {live.path.name} ({exc})."
    return "The run has no trace yet (it is created at the first step)."


def _read(live: LiveRun, agent: int) -> list[dict]:
    """This agent's interviews in the run's trace, newest first (none when the trace has no such table)."""
    if not live.has_trace:
        return []
    if not live.closed:
        try:
            frame = live.query(IT.READ, [agent])
        except Exception:  # no interviews table yet
            return []
        return [] if frame is None else frame.to_dict("records")
    try:
        from s3core.trace_lock import connect

        con = connect(live.path, read_only=True, hint="")
    except Exception:
        return []
    try:
        return IT.read_interviews(con, agent)
    finally:
        con.close()


def _kept(live: LiveRun, agent: int) -> list[dict]:
    return st.session_state.setdefault(KEPT_KEY, {}).setdefault((str(live.path), agent), [])


def _cost(row: dict) -> str:
    cost = row.get("cost_usd")
    if row.get("cached"):
        spent = "from the cache, no cost"
    elif cost is None or cost != cost:
        spent = "cost unknown (litellm has no price for this model)"
    else:
        spent = f"${cost:.6f}"
    return (
        f"{md_escape(str(row['model']))} · step {row['step']} · {int(row['prompt_tokens']):,} prompt + "
        f"{int(row['completion_tokens']):,} completion tokens · {spent} · {float(row['latency_s']):.2f} s"
    )


def _show(row: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**Q:** {md_escape(str(row['question']))}")
        if row.get("ok"):
            st.markdown(f"**A:** {md_escape(str(row['answer']))}")
        else:
            st.error(str(row.get("error") or "The call failed."), icon=":material/error:")
        st.caption(_cost(row))
        with st.expander("Prompt", expanded=False):
            messages = json.loads(row["prompt"]) if isinstance(row["prompt"], str) else row["prompt"]
            st.text("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages))


def _ask(
    ws: Workspace, live: LiveRun, agent: int, info: dict, question: str, settings: LLMSettings, fresh: bool = False
) -> None:
    """Send the question (``fresh``: past the cache lookup), log the answer (or keep it here), leave a message."""
    description, history = IS.own_words(live.sim.network, agent)
    snapshot = IS.snapshot_from_inspect(info, description, history)
    where = llm.cache_path(ws.run_dir)
    try:
        cache = LLMCache(where)
    except ValueError as exc:
        st.warning(f"{exc}. Asking without the cache.", icon=":material/warning:")
        cache = None
    try:
        with st.spinner(f"Asking {settings.model}…"):
            answer = I.ask(
                snapshot, question, settings, cache=cache, event=event_summary(live.sim.scenario), fresh=fresh
            )
    except ValueError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    finally:
        if cache is not None:
            cache.close()
    step = snapshot.step - 1
    problem = _log(live, step, agent, snapshot.user_id, answer)
    if problem is not None:
        _kept(live, agent).insert(0, IT.as_row(step, agent, snapshot.user_id, answer))
        st.warning(f"{problem} It is kept in this session and listed below.", icon=":material/warning:")


def interview_panel(ws: Workspace, live: LiveRun, agent: int, info: dict) -> None:
    """Ask the inspected agent a question; its previous interviews in this run below, newest first."""
    st.markdown("**Interview this agent**")
    settings = interview_settings(ws, live)
    if settings is None:
        st.info(refusal(ws), icon=":material/info:")
    else:
        st.caption(
            f"The question goes to {md_escape(settings.model)} with this agent's profile, emotion, attitude, memory "
            "pool and last decision; it answers in character, in the question's language. Answers are logged in the "
            "run's trace (table interviews) and never change the run."
        )
    with st.form("sim_interview_form", clear_on_submit=False, border=False):
        question = st.text_area(
            "Ask this agent",
            key="sim_interview_question",
            max_chars=I.MAX_QUESTION,
            placeholder="e.g. Why did you repost that? What do you think of the event now?",
            disabled=settings is None,
        )
        fresh = st.checkbox(
            "New answer (skip the cache)",
            key="sim_interview_fresh",
            disabled=settings is None,
            help="The same question to the same agent in the same state is otherwise answered from the cache. "
            "Ticked, the model is asked again (and paid for); the cache keeps its first answer.",
        )
        asked = st.form_submit_button("Ask", disabled=settings is None, key="sim_interview_ask")
    if asked and settings is not None:
        _ask(ws, live, agent, info, question, settings, fresh=fresh)
    rows = _kept(live, agent) + _read(live, agent)
    rows.sort(key=lambda r: r["asked_at"], reverse=True)
    if rows:
        st.caption(f"{len(rows)} interview{'' if len(rows) == 1 else 's'} of this agent in this run, newest first.")
        for row in rows[:SHOWN]:
            _show(row)
