"""Traces: the session's runs and their scenarios; filter posts and states; export tables and charts."""

from __future__ import annotations

import streamlit as st

from s3core import metrics as M
from s3core import trace_queries as Q
from ui import charts, traces
from ui.cascade_view import render_cascades
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, chart_exports, run_picker, table_exports

SHOW_ROWS = 500  # rows shown on the page; downloads carry every row that matches
ACTIONS = ["repost", "quote", "post"]

ws = ensure_defaults()
st.title("Traces")
st.caption(
    "Every run of this workspace is a DuckDB file: its scenario, every agent, every state change, every post and "
    "the per-step metrics. Filter them here and download tables (CSV, Parquet) and charts (HTML, PNG)."
)
show_flash(ws)

runs = traces.list_runs(ws)
if not runs:
    st.info(
        "No runs yet. Press Step or Run on the Simulate page, or start a batch run on Compare.", icon=":material/info:"
    )
    st.stop()

st.dataframe(traces.runs_frame(runs), hide_index=True, width="stretch", key="tr_runs_table")
run = run_picker("Run", "tr_run", runs)
if run.busy:
    st.warning(run.busy, icon=":material/lock:")
    st.stop()
with st.expander(f"Scenario of {run.run} (TOML)"):
    st.code(run.scenario_toml, language="toml")
if run.steps == 0:
    st.info("This run has no steps yet.")
    st.stop()

path, mps = run.path, run.minutes_per_step
tabs = st.tabs(["Posts", "States", "Metrics", "Breakdown", "Charts", "Cascades"], key="tr_tabs", on_change="rerun")


def _user_filters(key: str, columns) -> tuple[str | None, int | None, str | None]:
    """Two filters in two columns: a user id (matched exactly, as text) and an agent index (a number).

    With numeric user ids, user "7" and agent 7 are usually different people, so the two are never
    guessed from one box. Returns (user id or None, agent index or None, a problem to show or None).
    """
    user_id = columns[0].text_input(
        "User id",
        key=f"{key}_user",
        placeholder="any user",
        help="The user's id exactly as in the network's files (the user_id column); matched as text.",
    )
    agent = columns[1].number_input(
        "Agent index",
        min_value=0,
        max_value=max(run.agents - 1, 0),
        value=None,
        step=1,
        key=f"{key}_agent",
        placeholder="any agent",
        help=f"The simulation's row number of the agent (the agent column), 0 to {max(run.agents - 1, 0):,}.",
    )
    user_id = user_id.strip() or None
    agent = None if agent is None else int(agent)
    if user_id is None:
        return None, agent, None
    found = traces.query(ws, path, *Q.find_user(user_id))
    if not len(found):
        return user_id, agent, f"No user with id {user_id!r} in this run (agent indices have their own filter)."
    if agent is not None and int(found["agent"].iloc[0]) != agent:
        return (
            user_id,
            agent,
            (
                f"User {user_id!r} is agent {int(found['agent'].iloc[0])}, not agent {agent}: no rows match both filters."
            ),
        )
    return user_id, agent, None


with tabs[0]:
    if tabs[0].open:
        c = st.columns([2, 1.3, 1, 1.7, 1.7])
        lo, hi = (
            c[0].slider("Steps", 0, run.steps - 1, (0, run.steps - 1), key="tr_posts_steps")
            if run.steps > 1
            else (0, 0)
        )
        user_id, agent, problem = _user_filters("tr_posts", c[1:3])
        actions = c[3].multiselect("Actions", ACTIONS, default=ACTIONS, key="tr_posts_actions")
        contains = c[4].text_input("Text contains", key="tr_posts_text")
        if problem:
            st.warning(problem)
        sql, params = Q.posts(lo, hi, actions, agent, contains, user_id=user_id)
        total = traces.query(ws, path, Q.count(sql), params)["n"].iloc[0]
        more = f"; showing the first {SHOW_ROWS:,}" if total > SHOW_ROWS else ""  # never "the first 0"
        st.caption(
            f"{traces.count(int(total), 'post')} {'matches' if total == 1 else 'match'}{more}. Text is shown as plain text."
        )
        st.dataframe(
            traces.query(ws, path, Q.limited(sql, SHOW_ROWS), params),
            hide_index=True,
            width="stretch",
            key="tr_posts_table",
        )
        table_exports(lambda: traces.query(ws, path, sql, params), f"{run.run}-posts", "tr_posts")

with tabs[1]:
    if tabs[1].open:
        c = st.columns([2, 1.3, 1, 2])
        lo, hi = (
            c[0].slider("Steps", 0, run.steps - 1, (0, run.steps - 1), key="tr_states_steps")
            if run.steps > 1
            else (0, 0)
        )
        user_id, agent, problem = _user_filters("tr_states", c[1:3])
        only = c[3].multiselect(
            "Changes",
            ["became aware", "emotion", "attitude"],
            key="tr_states_only",
            help="Rows are recorded only when an agent's state changes; leave empty for all.",
        )
        if problem:
            st.warning(problem)
        sql, params = Q.state_changes(lo, hi, agent, only, user_id=user_id)
        total = traces.query(ws, path, Q.count(sql), params)["n"].iloc[0]
        st.caption(
            f"{traces.count(int(total), 'state change')} {'matches' if total == 1 else 'match'}{'; showing the first ' + format(SHOW_ROWS, ',') if total > SHOW_ROWS else ''}. "
            "emotion: 0 calm, 1 moderate, 2 intense; attitude: 0 negative, 1 positive."
        )
        st.dataframe(
            traces.query(ws, path, Q.limited(sql, SHOW_ROWS), params),
            hide_index=True,
            width="stretch",
            key="tr_states_table",
        )
        table_exports(lambda: traces.query(ws, path, sql, params), f"{run.run}-states", "tr_states")

with tabs[2]:
    if tabs[2].open:
        df = traces.metrics(ws, path)
        st.dataframe(df, hide_index=True, width="stretch", key="tr_metrics_table")
        table_exports(lambda: traces.metrics(ws, path), f"{run.run}-metrics", "tr_metrics")

with tabs[3]:
    if tabs[3].open:
        c = st.columns(2)
        dimension = c[0].selectbox(
            "Group by",
            ["category", "gender", "occupation", "age_bracket"],
            key="tr_breakdown_dim",
            format_func=lambda d: d.replace("_", " "),
        )
        value = c[1].selectbox(
            "Value",
            ["aware_share", "positive", "intense", "mean_emotion"],
            key="tr_breakdown_value",
            format_func=lambda v: v.replace("_", " "),
        )
        frame = M.breakdown_frame(traces.query(ws, path, Q.BREAKDOWN), dimension)
        fig = charts.breakdown(frame, value, dimension, mps)
        chart(fig, key="tr_breakdown_chart")
        chart_exports(fig, f"{run.run}-{dimension}-{value}", "tr_breakdown_export")
        table_exports(lambda: frame, f"{run.run}-breakdown-{dimension}", "tr_breakdown")

with tabs[4]:
    if tabs[4].open:
        df = traces.metrics(ws, path)
        builders = {
            "spread": charts.spread,
            "emotion": charts.emotion,
            "attitude": charts.attitude,
            "actions": charts.actions,
        }
        which = st.segmented_control("Chart", list(builders), default="spread", key="tr_chart_kind") or "spread"
        fig = builders[which](df, mps)
        chart(fig, key="tr_chart")
        chart_exports(fig, f"{run.run}-{which}", "tr_chart_export")

with tabs[5]:
    if tabs[5].open:
        posts, seeds, awareness = traces.cascade_inputs(ws, run)
        render_cascades(posts, mps, "tr_cascades", seeds=seeds, awareness=awareness)
