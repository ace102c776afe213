"""Compare: overlay the curves of two or more runs and the difference from a baseline run.

A baseline is one click away: the same scenario without interventions, run in the background
into its own trace file (as is a full run of the scenario as configured).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from s3core import metrics as M
from ui import charts, scenario_io, traces
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart

POLL_SECONDS = 0.5


def _start(ws, kind: str) -> None:
    steps = int(st.session_state.get("cmp_steps") or ws.scenario.steps)
    try:
        if kind == "baseline":
            keep = st.session_state.get("cmp_keep_seeds", scenario_io.event_seeds(ws.scenario))
            job = ws.start_job(scenario_io.baseline(ws.scenario, keep), "no interventions", steps)
        else:
            job = ws.start_job(ws.scenario, "with interventions", steps)
    except Exception as exc:
        ws.notify("error", f"Could not start the run: {exc}")
        return
    ws.notify("info", f"Started {job.path.stem}: {steps} steps in the background.")
    st.session_state["cmp_want"] = st.session_state.get("cmp_want", []) + [job.path.stem]  # selected once it has steps


def _stop_jobs(ws) -> None:
    for job in ws.running_jobs():
        job.stop(wait=10.0)
    ws.notify("info", "Stopped the batch runs; the steps done so far are kept.")


ws = ensure_defaults()
st.title("Compare")
st.caption("Put runs side by side: the same curve of each run, and each run's difference from a baseline. "
           "Runs come from this session's trace store (Simulate runs and the batch runs started here).")
show_flash(ws)

with st.container(border=True):
    st.markdown(f"**New runs of '{ws.scenario.name}'** on {ws.net.label}, seed {ws.scenario.seed}")
    c = st.columns([1, 1.6, 1.6, 1], vertical_alignment="bottom")
    c[0].number_input("Steps", min_value=1, max_value=100_000, value=ws.scenario.steps, key="cmp_steps")
    busy = bool(ws.running_jobs())
    c[1].button("Run baseline (no interventions)", key="cmp_baseline", on_click=_start, args=(ws, "baseline"),
                type="primary", disabled=busy, width="stretch",
                help="The current scenario without its interventions (only the event's seed posts chosen below), same seed, into a new run file.")
    c[2].button("Run scenario (with interventions)", key="cmp_scenario", on_click=_start, args=(ws, "scenario"),
                disabled=busy, width="stretch", help="The current scenario as configured, into a new run file.")
    c[3].button("Stop", key="cmp_stop", on_click=_stop_jobs, args=(ws,), disabled=not busy, width="stretch")
    seeds = scenario_io.seed_labels(ws.scenario)
    if seeds:
        st.multiselect("The baseline keeps these seed posts (the event itself; every other intervention is left out)",
                       seeds, default=scenario_io.event_seeds(ws.scenario), key="cmp_keep_seeds",
                       help="Without any seed post nothing happens, so by default the baseline keeps the seeds of the "
                            "earliest step: the event. Boosts, moderation and later seeds (e.g. corrections) are removed.")


@st.fragment(run_every=POLL_SECONDS if ws.running_jobs() else None)
def job_progress(polling: bool) -> None:
    jobs = ws.running_jobs()
    if polling and not jobs:
        st.rerun(scope="app")
    for job in jobs:
        done, total = job.progress()
        st.progress(done / max(total, 1), text=f"{job.path.stem}: {done} of {total} steps")
    for job in ws.jobs:
        if job.error:
            st.error(f"{job.path.stem} stopped with an error: {job.error}")


job_progress(bool(ws.running_jobs()))

listed = traces.list_runs(ws)
for busy in (r for r in listed if r.busy):
    st.warning(busy.busy, icon=":material/lock:")
runs = [r for r in listed if r.steps > 0 and not r.busy]
if len(runs) < 2:
    st.info("Compare needs at least two runs with steps. Use the buttons above (a baseline and a run with "
            "interventions), or Step/Run on the Simulate page and Reset between runs.", icon=":material/info:")
    st.stop()

by_name = {r.run: r for r in runs}
names = list(by_name)
# Keep the person's selection, add new batch runs once they have steps, and never show fewer than two.
wanted = list(dict.fromkeys((st.session_state.get("cmp_runs") or []) + st.session_state.get("cmp_want", [])))
st.session_state["cmp_want"] = [n for n in st.session_state.get("cmp_want", []) if n not in by_name]
selection = [n for n in wanted if n in by_name]
if len(selection) < 2:
    selection = list(dict.fromkeys(selection + names[::-1]))[:2]
st.session_state["cmp_runs"] = selection
c = st.columns([3, 1.5, 1.5])
chosen = c[0].multiselect("Runs to compare", names, key="cmp_runs",
                          format_func=lambda n: f"{n} · {by_name[n].name} · {by_name[n].steps} steps")
metric = c[1].selectbox("Curve", list(charts.COMPARE_METRICS), key="cmp_metric",
                        format_func=lambda k: charts.COMPARE_METRICS[k][0])
if len(chosen) < 2:
    st.info("Pick at least two runs.")
    st.stop()
baseline = c[2].selectbox("Baseline", chosen, key="cmp_base",
                          index=next((i for i, n in enumerate(chosen) if "baseline" in n), 0),
                          help="Differences are each other run minus this one.")

frames = {n: traces.metrics(ws, by_name[n].path) for n in chosen}
mps = by_name[chosen[0]].minutes_per_step
if len({by_name[n].minutes_per_step for n in chosen}) > 1:
    st.warning("These runs use different step lengths; the x axis counts steps.")
if len({by_name[n].agents for n in chosen}) > 1:
    st.warning("These runs use networks of different sizes; compare shares rather than counts.")

left, right = st.columns(2)
with left:
    chart(charts.compare(frames, metric, mps), key="cmp_overlay")
with right:
    others = {n: f for n, f in frames.items() if n != baseline}
    chart(charts.difference(baseline, frames[baseline], others, metric, mps), key="cmp_difference")


def _summary(name: str, df: pd.DataFrame) -> dict:
    density = df["emotion_density"].to_numpy()
    positive = df["positive"].to_numpy()
    peaks, troughs = M.peaks(density), M.troughs(positive)
    return {
        "run": name, "steps": len(df), "aware at end": int(df["aware"].iloc[-1]),
        "total posts": int(df["posts"].sum()),
        "emotion density peak": float(density.max()), "peak at step": int(df["step"].iloc[int(density.argmax())]),
        "emotion peaks": len(peaks), "positive at end": float(positive[-1]), "lowest positive": float(positive.min()),
        "attitude troughs": len(troughs), "deepest chain": int(df["max_depth"].max()),
    }


table = pd.DataFrame([_summary(n, f) for n, f in frames.items()])
st.subheader("Summary")
st.dataframe(table, hide_index=True, width="stretch", key="cmp_summary",
             column_config={k: st.column_config.NumberColumn(format="%.3f")
                            for k in ("emotion density peak", "positive at end", "lowest positive")})
base = table.set_index("run").loc[baseline]
diff = table.set_index("run").drop(index=baseline)
numeric = diff.select_dtypes("number").columns
st.caption(f"Differences from the baseline {baseline}:")
st.dataframe((diff[numeric] - base[numeric]).reset_index(), hide_index=True, width="stretch", key="cmp_summary_diff")
