"""Simulate: Step, Run N with a speed, Pause/Resume, Stop and Reset; live curves, feed, network view, inspector.

Every step is traced to this session's DuckDB run file. Runs step in a background thread owned
by the session (ui.live.LiveRun) at the chosen speed; while one runs, the curves and metrics redraw
every 0.5 s and the feed every 1.5 s (fragments), and nothing else on the page is rebuilt.
"""

from __future__ import annotations

import streamlit as st

from s3core.language import pool_mismatch
from ui import charts, llm_panel
from ui.cascade_view import live_inputs, render_cascades
from ui.inspector import agent_inspector, state_network_view
from ui.live import SPEEDS
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, feed, md_escape

N_CHOSEN = "sim_n_chosen"  # the N steps the user typed, kept while other pages are open

CHART_SECONDS = 0.5  # curves and metrics redraw twice a second while a run is in progress
FEED_SECONDS = 1.5  # the feed (many small elements) less often
SPEED_LABELS = {s: f"{s:g}" if s else "max" for s in SPEEDS}


def _speed() -> float | None:
    """The chosen steps per second (None = as fast as possible)."""
    label = st.session_state.get("sim_speed", "max")
    return next((s for s, name in SPEED_LABELS.items() if name == label), None)


def speed_label(speed: float | None) -> str:
    """The speed control's option for a run's speed (the nearest offered one)."""
    if not speed:
        return "max"
    return SPEED_LABELS[min((s for s in SPEEDS if s), key=lambda s: abs(s - speed))]


def _apply_speed(ws) -> None:
    """The user moved the speed control: the only way, beside Run, that the page changes a run's speed."""
    if ws.live is not None:
        ws.live.set_speed(_speed())


def _step(ws) -> None:
    try:
        ws.live_run().step()
    except Exception as exc:  # shown on the page; the trace keeps every committed step
        ws.notify("error", f"Step failed: {exc}")


def _run(ws) -> None:
    try:
        live = ws.live_run()
        live.set_speed(_speed())
        live.start(int(st.session_state.get("sim_n") or ws.scenario.steps))
    except Exception as exc:
        ws.notify("error", f"Run could not start: {exc}")


def _pause(ws, action: str) -> None:
    """Pause or resume as the button said when drawn, so a click delivered twice never undoes itself."""
    live = ws.live
    if live is None or not live.running:
        return
    if action == "resume":
        live.resume()
    else:
        live.pause()


def _stop(ws) -> None:
    live = ws.live
    if live is not None and live.running:
        stopped = live.stop(wait=10.0)
        ws.notify("info", stop_message(live.steps_done) if stopped else "Stopping after the current step...")


def plural(n: float, word: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


def stop_message(steps_done: int) -> str:
    """What Stop reports, in the terms of the 'Steps done' metric (steps are numbered from 0)."""
    if steps_done == 0:
        return "Stopped before the first step."
    return f"Stopped after {plural(steps_done, 'step')} (last step {steps_done - 1})."


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
if mismatch := pool_mismatch(scenario, live.sim.text):  # the seed posts' language vs the text pool's
    st.warning(mismatch, icon=":material/translate:")
pending = ws.pending_changes()
if pending and live.has_trace:
    st.warning(
        f"Changed since this run started: {', '.join(pending)}. Press **Reset** to start a run that uses them.",
        icon=":material/sync_problem:",
    )

running = live.running
paused = running and live.paused
if running or "sim_speed" not in st.session_state:
    # The control shows the run's own speed (a reload, a second tab, another tab's change); viewing a
    # run never changes it. Only moving the control (on_change) or pressing Run applies a speed.
    st.session_state["sim_speed"] = speed_label(live.speed)
cols = st.columns([0.9, 0.9, 1.1, 1.2, 0.9, 0.9, 2.6], vertical_alignment="bottom")
cols[0].button(
    "Step",
    key="sim_step",
    on_click=_step,
    args=(ws,),
    disabled=running and not paused,
    type="primary",
    help="Advance one step and trace it (also while a run is paused).",
    width="stretch",
)
cols[1].button(
    "Run",
    key="sim_run",
    on_click=_run,
    args=(ws,),
    disabled=running,
    icon=":material/play_arrow:",
    help="Run N steps in the background at the chosen speed; the charts update twice a second.",
    width="stretch",
)
cols[2].button(
    "Resume" if paused else "Pause",
    key="sim_pause",
    on_click=_pause,
    args=(ws, "resume" if paused else "pause"),
    disabled=not running,
    icon=":material/play_arrow:" if paused else ":material/pause:",
    help="Hold the run after the step in progress, or continue it.",
    width="stretch",
)
if "sim_n" not in st.session_state:  # Streamlit drops a widget's state on other pages: restore the user's choice
    st.session_state["sim_n"] = st.session_state.get(N_CHOSEN, ws.scenario.steps)
cols[3].number_input(
    "N steps",
    min_value=1,
    max_value=100_000,
    step=1,
    key="sim_n",
    disabled=running,
    on_change=lambda: st.session_state.__setitem__(N_CHOSEN, st.session_state["sim_n"]),
)
cols[4].button(
    "Stop",
    key="sim_stop",
    on_click=_stop,
    args=(ws,),
    disabled=not running,
    icon=":material/stop:",
    help="End the run after the step in progress.",
    width="stretch",
)
cols[5].button(
    "Reset",
    key="sim_reset",
    on_click=_reset,
    args=(ws,),
    help="Start a new run from step 0 (the current one stays in the trace store).",
    width="stretch",
)
cols[6].select_slider(
    "Speed (steps per second)",
    options=list(SPEED_LABELS.values()),
    key="sim_speed",
    on_change=_apply_speed,
    args=(ws,),
    help="How fast a run steps; 'max' is as fast as the model and the trace allow. Takes effect at the next step.",
)
split = st.toggle(
    "Reach per seed post",
    key="sim_split",
    help="One reach curve per seed post (agents who received a post of its cascade), so a rumour and its "
    "correction are counted apart; the dotted line is everyone aware of any seed.",
)


def _metrics_row(run, df) -> None:
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


@st.fragment(run_every=CHART_SECONDS if running else None)
def live_view(polling: bool) -> None:
    """Progress, metrics and curves; redrawn twice a second while a run is in progress."""
    run = ws.live
    if run is None:
        return
    if polling and not run.running:
        st.rerun(scope="app")  # the run ended: redraw the whole page (buttons, inspector)
    with run.drawing():  # the stepping thread waits between steps while this draws
        _live_body(run)


def _live_body(run) -> None:
    if run.running:
        done, total = run.progress()
        pace = f"{plural(run.speed, 'step')}/s" if run.speed else "max speed"
        state = "Paused" if run.paused else "Running"
        st.progress(
            done / max(total, 1),
            text=f"{state}: {done} of {total} steps · {pace} · {run.step_seconds * 1000:.0f} ms per step",
        )
    if run.error:
        st.error(f"The run stopped with an error: {md_escape(run.error)}")
    df = run.metrics_frame()
    _metrics_row(run, df)
    llm_panel.run_counters(run)  # the LLM backend's calls, cache hits, fallbacks, tokens and cost
    planned = run.target if run.running else None
    seeds = run.seed_frame() if split else None
    if split and len(df) and (seeds is None or seeds.empty):
        st.caption(
            "No per-seed counts yet: they start with the first seed post (and need an engine that reports them)."
        )
    row = st.columns(2)
    with row[0]:
        chart(charts.spread(df, mps, seeds=seeds, planned_steps=planned), key="sim_chart_spread")
    with row[1]:
        chart(charts.emotion(df, mps, planned_steps=planned), key="sim_chart_emotion")
    row = st.columns(2)
    with row[0]:
        chart(charts.attitude(df, mps, planned_steps=planned), key="sim_chart_attitude")
    with row[1]:
        chart(charts.actions(df, mps, planned_steps=planned), key="sim_chart_actions")


@st.fragment(run_every=FEED_SECONDS if running else None)
def live_feed() -> None:
    """The newest posts; fewer and less often while a run is in progress (many small elements)."""
    run = ws.live
    if run is None:
        return
    st.markdown("**Newest posts**")
    with run.drawing():
        feed(run.recent_posts(12 if run.running else 30), height=700)


left, right = st.columns([2.3, 1])
with left:
    live_view(running)
with right:
    live_feed()

# -- inspector, network view and cascades (drawn on demand, not while polling) --------------------------
recent_agents = [p["agent"] for p in live.recent_posts(40) if p["agent"] >= 0]
tabs = st.tabs(["Agent inspector", "Network view"], key="sim_tabs", on_change="rerun")

with tabs[0]:
    if tabs[0].open:
        agent_inspector(ws, live, recent_agents)
with tabs[1]:
    if tabs[1].open:
        state_network_view(ws, live, recent_agents)

cascades = st.expander("Cascades of the seed posts: reach, depth and breadth", key="sim_cascades", on_change="rerun")
if cascades.open:
    with cascades:
        if running and not paused:
            st.caption("Shown while the run is paused or stopped, so the view does not slow the run down.")
        else:
            posts, seeds, awareness = live_inputs(live)
            if posts.empty:
                st.caption("No posts yet: press Step or Run.")
            else:
                render_cascades(posts, mps, "sim_cascade", seeds=seeds, awareness=awareness)
