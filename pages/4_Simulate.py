"""Simulate: Step, Run N (in the background, with Stop) and Reset; live curves, feed, network view, inspector.

Every step is traced to this session's DuckDB run file. Runs step in a background thread owned
by the session (ui.live.LiveRun); the live part of the page polls it every 1.5 s.
"""

from __future__ import annotations

import streamlit as st

from ui import charts, llm_panel
from ui.inspector import agent_inspector, state_network_view
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, feed, md_escape

POLL_SECONDS = 1.5


def _step(ws) -> None:
    try:
        ws.live_run().step()
    except Exception as exc:  # shown on the page; the trace keeps every committed step
        ws.notify("error", f"Step failed: {exc}")


def _run(ws) -> None:
    try:
        ws.live_run().start(int(st.session_state.get("sim_n") or ws.scenario.steps))
    except Exception as exc:
        ws.notify("error", f"Run could not start: {exc}")


def _stop(ws) -> None:
    live = ws.live
    if live is not None and live.running:
        stopped = live.stop(wait=10.0)
        ws.notify(
            "info", f"Stopped after step {live.steps_done - 1}." if stopped else "Stopping after the current step..."
        )


def _reset(ws) -> None:
    try:
        ws.reset()
        ws.notify(
            "success",
            "Reset: a new run starts from step 0 with the current network and scenario. "
            "The previous run stays available on Compare and Traces.",
        )
    except Exception as exc:
        ws.notify("error", f"Reset failed: {exc}. Fix the scenario on the Interventions or Agents page.")


ws = ensure_defaults()
st.title("Simulate")
show_flash(ws)
try:
    live = ws.live_run()
except (ValueError, TypeError) as exc:
    st.error(
        f"The scenario cannot run on this network: {md_escape(exc)}. Fix it on the Interventions or Agents page.",
        icon=":material/error:",
    )
    st.stop()

scenario = live.sim.scenario
mps = scenario.minutes_per_step
st.caption(
    f"Scenario **{md_escape(scenario.name)}** on {md_escape(live.net.label)} · "
    f"{len(scenario.interventions)} interventions · run file `{live.path.name}` · 1 step = {mps:g} min"
)
pending = ws.pending_changes()
if pending and live.has_trace:
    st.warning(
        f"Changed since this run started: {', '.join(pending)}. Press **Reset** to start a run that uses them.",
        icon=":material/sync_problem:",
    )

running = live.running
cols = st.columns([1, 1, 1.4, 1, 1, 3.6], vertical_alignment="bottom")
cols[0].button(
    "Step",
    key="sim_step",
    on_click=_step,
    args=(ws,),
    disabled=running,
    type="primary",
    help="Advance one step and trace it.",
    width="stretch",
)
cols[1].button(
    "Run",
    key="sim_run",
    on_click=_run,
    args=(ws,),
    disabled=running,
    help="Run N steps in the background; the charts update as it goes.",
    width="stretch",
)
cols[2].number_input(
    "N steps", min_value=1, max_value=100_000, value=ws.scenario.steps, step=1, key="sim_n", disabled=running
)
cols[3].button(
    "Stop",
    key="sim_stop",
    on_click=_stop,
    args=(ws,),
    disabled=not running,
    help="Stop the run after the step in progress.",
    width="stretch",
)
cols[4].button(
    "Reset",
    key="sim_reset",
    on_click=_reset,
    args=(ws,),
    help="Start a new run from step 0 (the current one stays in the trace store).",
    width="stretch",
)


@st.fragment(run_every=POLL_SECONDS if running else None)
def live_view(polling: bool) -> None:
    """Progress, metrics, curves and the feed; re-drawn twice a second while a run is in progress."""
    run = ws.live
    if run is None:
        return
    if polling and not run.running:
        st.rerun(scope="app")  # the run ended: redraw the whole page (buttons, inspector)
    if run.running:
        done, total = run.progress()
        st.progress(
            done / max(total, 1), text=f"Running: {done} of {total} steps · {run.step_seconds * 1000:.0f} ms per step"
        )
    if run.error:
        st.error(f"The run stopped with an error: {md_escape(run.error)}")
    df = run.metrics_frame()
    m = st.columns(5)
    last = df.iloc[-1] if len(df) else None
    m[0].metric("Steps done", f"{len(df)}", help=f"{len(df) * mps / 60:g} hours simulated")
    m[1].metric(
        "Aware",
        f"{int(last['aware']):,}" if last is not None else "0",
        delta=f"+{int(last['new_aware']):,}" if last is not None else None,
        help=f"of {live.net.network.n_users:,} agents",
    )
    m[2].metric(
        "Emotion density",
        f"{last['moderate'] + last['intense']:.1%}" if last is not None else "-",
        help="Share of aware agents at moderate or intense emotion.",
    )
    m[3].metric(
        "Positive",
        f"{last['positive']:.1%}" if last is not None else "-",
        help="Share of aware agents with a positive attitude.",
    )
    m[4].metric("Posts this step", f"{int(last['posts']):,}" if last is not None else "0")
    llm_panel.run_counters(run)  # the LLM backend's calls, cache hits, fallbacks, tokens and cost
    left, right = st.columns([2.3, 1])
    with left:
        row = st.columns(2)
        with row[0]:
            chart(charts.spread(df, mps), key="sim_chart_spread")
        with row[1]:
            chart(charts.emotion(df, mps), key="sim_chart_emotion")
        row = st.columns(2)
        with row[0]:
            chart(charts.attitude(df, mps), key="sim_chart_attitude")
        with row[1]:
            chart(charts.actions(df, mps), key="sim_chart_actions")
    with right:
        st.markdown("**Newest posts**")
        feed(run.recent_posts(12 if run.running else 30), height=700)  # fewer while polling: lighter redraws


live_view(running)

# -- agent inspector and network view (drawn on demand, not while polling) --------------------------------
recent_agents = [p["agent"] for p in live.recent_posts(40) if p["agent"] >= 0]
tabs = st.tabs(["Agent inspector", "Network view"], key="sim_tabs", on_change="rerun")

with tabs[0]:
    if tabs[0].open:
        agent_inspector(ws, live, recent_agents)
with tabs[1]:
    if tabs[1].open:
        state_network_view(ws, live, recent_agents)
