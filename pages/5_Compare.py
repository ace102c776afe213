"""Compare: run an experiment (paired arms over many seeds) for effects with intervals, and overlay single runs.

An experiment runs ``python -m s3core experiment`` in its own process on a shipped example or on
the current scenario against a baseline without its interventions, and shows mean curves with
bands, effect curves, the effects table and effects by group. Below, single runs of this session
can be overlaid; their difference is one draw and claims no effect. A single-run baseline is one
click away: the same scenario without interventions, run in the background into its own trace file.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from s3core import metrics as M
from s3core.experiment.effects import identical_arms
from s3core.experiment.spec import ExperimentError
from s3core.experiment.spec import load as load_experiment
from ui import charts, scenario_io, traces
from ui import experiment_jobs as EJ
from ui import experiment_view as EV
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, md_escape

POLL_SECONDS = 0.5
SEEDS_RANGE = (2, 50)


def _source(ws, choice: str) -> EJ.Source:
    """The chosen experiment before the page's seeds and steps (raises ExperimentError for a bad file)."""
    if choice == EJ.CURRENT:
        keep = st.session_state.get("exp_keep_seeds", scenario_io.event_seeds(ws.scenario))
        uploads = ws.run_dir / "uploads"  # an uploaded network names its files <upload folder>/<file>
        return EJ.current_source(ws.scenario, keep, uploads if ws.net.key.startswith("upload-") else None)
    return EJ.read_source(EJ.shipped()[choice])


def _defaults(ws) -> None:
    """Seeds and steps of the chosen experiment, put in the widgets when the choice changes."""
    try:
        source = _source(ws, st.session_state["exp_choice"])
    except ExperimentError:
        return  # the Run button reports it
    st.session_state["exp_seeds"] = min(max(source.seeds, SEEDS_RANGE[0]), SEEDS_RANGE[1])
    st.session_state["exp_steps"] = source.steps or ws.scenario.steps


def _run_experiment(ws) -> None:
    old = st.session_state.get("exp_job")
    if old is not None and old.running:
        return
    try:
        source = _source(ws, st.session_state["exp_choice"])
        steps = st.session_state["exp_steps"]
        path = EJ.write(source, st.session_state["exp_seeds"], steps, ws.run_dir / "experiments")
    except (ExperimentError, OSError, ValueError) as exc:
        ws.notify("error", f"Could not start the experiment: {exc}")
        return
    try:  # checked here, so a mistake names what the person chose, not the page's copy of the file
        same = identical_arms(load_experiment(path))
    except ExperimentError as exc:
        ws.notify(
            "error", f"Could not start {source.label} with Steps = {steps}: {str(exc).replace(str(path) + ': ', '')}"
        )
        return
    if same:
        ws.notify(
            "error",
            f"Not started: with Steps = {steps}, {'; '.join(same)} (its interventions come after the "
            "last step). Raise Steps.",
        )
        return
    st.session_state["exp_job"] = EJ.ExperimentJob(path, workers=st.session_state["exp_workers"])


def _stop_experiment(ws) -> None:
    job = st.session_state.get("exp_job")
    if job is not None and job.running:
        job.stop()
        ws.notify("info", "Stopped the experiment. The seeds it finished are kept: run it again to continue.")


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
st.caption(
    "Measure what an intervention does: an experiment runs the arms on many seeds, paired (the same network, "
    "population and random draws per seed), and reports each effect with a 95% interval. Below, single runs "
    "of this session can be overlaid."
)
show_flash(ws)

# -- experiment --------------------------------------------------------------------------------------
st.subheader("Experiment: effects with intervals")
job = st.session_state.get("exp_job")
running = job is not None and job.running
examples = EJ.shipped()
choices = [*examples, EJ.CURRENT]
if st.session_state.get("exp_choice") not in choices:
    st.session_state["exp_choice"] = choices[0]
if "exp_seeds" not in st.session_state or "exp_steps" not in st.session_state:
    _defaults(ws)
with st.container(border=True):
    st.selectbox(
        "Experiment",
        choices,
        key="exp_choice",
        on_change=_defaults,
        args=(ws,),
        disabled=running,
        format_func=lambda c: (
            "The current scenario: as configured vs a baseline without its interventions"
            if c == EJ.CURRENT
            else f"{c}.toml (shipped example)"
        ),
    )
    if st.session_state["exp_choice"] == EJ.CURRENT:
        seeds = scenario_io.seed_labels(ws.scenario)
        st.caption(
            f"Arms: '{md_escape(ws.scenario.name)}' on {md_escape(ws.net.label)} with its "
            f"{len(ws.scenario.interventions)} interventions, against a baseline that keeps only the seed "
            "posts below (the event). Experiments run the offline heuristic policy."
        )
        if seeds:
            st.multiselect(
                "The baseline keeps these seed posts",
                seeds,
                default=scenario_io.event_seeds(ws.scenario),
                key="exp_keep_seeds",
                disabled=running,
            )
    else:
        try:
            st.caption(md_escape(_source(ws, st.session_state["exp_choice"]).description))
        except ExperimentError as exc:
            st.error(md_escape(exc), icon=":material/error:")
    c = st.columns([2.2, 1, 1, 1.3, 0.8], vertical_alignment="bottom")
    c[0].slider(
        "Seeds",
        *SEEDS_RANGE,
        key="exp_seeds",
        disabled=running,
        help="Each seed is one paired replicate: every arm runs on that seed's network, population and draws.",
    )
    c[1].number_input(
        "Steps",
        min_value=1,
        max_value=100_000,
        key="exp_steps",
        disabled=running,
        help="The experiment's own steps by default; interventions after the last step are left out, "
        "and an arm that branches at step t (from_step) needs more than t steps.",
    )
    c[2].number_input(
        "Workers",
        min_value=1,
        max_value=os.cpu_count() or 1,
        value=1,
        key="exp_workers",
        disabled=running,
        help="Processes running seeds at once (one seed each).",
    )
    c[3].button(
        "Run experiment",
        key="exp_run",
        type="primary",
        on_click=_run_experiment,
        args=(ws,),
        disabled=running,
        width="stretch",
        help="Runs `python -m s3core experiment` in its own process into this session's folder. The same "
        "setting again only summarises the runs it has; more seeds run only the new ones.",
    )
    c[4].button("Stop", key="exp_stop", on_click=_stop_experiment, args=(ws,), disabled=not running, width="stretch")


@st.fragment(run_every=POLL_SECONDS if running else None)
def experiment_progress(polling: bool) -> None:
    """The running experiment's progress; redraws the page once it ends."""
    run = st.session_state.get("exp_job")
    if run is None:
        return
    if run.running:
        done = run.progress()
        if done is None:
            st.progress(0.0, text="Checking the experiment and loading the text model...")
        else:
            st.progress(done[0] / max(done[1], 1), text=f"Experiment: {done[0]} of {done[1]} runs")
    elif polling:
        st.rerun(scope="app")
    if run.error():
        st.error(f"The experiment failed: {md_escape(run.error())}", icon=":material/error:")


experiment_progress(running)
if job is not None and job.succeeded:
    st.session_state["exp_shown"] = job
shown = st.session_state.get("exp_shown")
if shown is not None and running and job.out == shown.out:
    shown = None  # the same setting is running again: its report files are being rewritten
if shown is not None:
    EV.show(shown.report(), shown.html)
elif not running:
    st.info(
        "Choose an experiment and press **Run experiment**. A shipped example (2 arms x 10 seeds x 60 steps on "
        "the bundled network, the treatment branching at its intervention) takes about 50 s with one worker and "
        "about half that with two, on an idle 2-core machine.",
        icon=":material/science:",
    )

# -- single runs ----------------------------------------------------------------------------------------
st.subheader("Single runs (no effect claimed)")
st.caption(
    "Overlay runs of this session. A difference between two single runs is one draw: it mixes the "
    "intervention's effect with the chance of that seed, and says nothing about how much it varies. For an "
    "effect with an interval, run an experiment above."
)
with st.container(border=True):
    st.markdown(
        f"**New single runs of '{md_escape(ws.scenario.name)}'** on {md_escape(ws.net.label)}, seed {ws.scenario.seed}"
    )
    c = st.columns([1, 1.6, 1.6, 1], vertical_alignment="bottom")
    c[0].number_input("Steps", min_value=1, max_value=100_000, value=ws.scenario.steps, key="cmp_steps")
    busy = bool(ws.running_jobs())
    c[1].button(
        "Run baseline (no interventions)",
        key="cmp_baseline",
        on_click=_start,
        args=(ws, "baseline"),
        type="primary",
        disabled=busy,
        width="stretch",
        help="The current scenario without its interventions (only the event's seed posts chosen below), same seed, into a new run file.",
    )
    c[2].button(
        "Run scenario (with interventions)",
        key="cmp_scenario",
        on_click=_start,
        args=(ws, "scenario"),
        disabled=busy,
        width="stretch",
        help="The current scenario as configured, into a new run file.",
    )
    c[3].button("Stop", key="cmp_stop", on_click=_stop_jobs, args=(ws,), disabled=not busy, width="stretch")
    seeds = scenario_io.seed_labels(ws.scenario)
    if seeds:
        st.multiselect(
            "The baseline keeps these seed posts (the event itself; every other intervention is left out)",
            seeds,
            default=scenario_io.event_seeds(ws.scenario),
            key="cmp_keep_seeds",
            help="Without any seed post nothing happens, so by default the baseline keeps the seeds of the "
            "earliest step: the event. Boosts, moderation and later seeds (e.g. corrections) are removed.",
        )


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
    st.info(
        "Overlaying needs at least two single runs with steps. Use the buttons above (a baseline and a run with "
        "interventions), or Step/Run on the Simulate page and Reset between runs.",
        icon=":material/info:",
    )
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
chosen = c[0].multiselect(
    "Runs to compare",
    names,
    key="cmp_runs",
    format_func=lambda n: f"{n} · {by_name[n].name} · {by_name[n].steps} steps",
)
metric = c[1].selectbox(
    "Curve", list(charts.COMPARE_METRICS), key="cmp_metric", format_func=lambda k: charts.COMPARE_METRICS[k][0]
)
if len(chosen) < 2:
    st.info("Pick at least two runs.")
    st.stop()
baseline = c[2].selectbox(
    "Reference run",
    chosen,
    key="cmp_base",
    index=next((i for i, n in enumerate(chosen) if "baseline" in n), 0),
    help="Differences are each other run minus this one: one draw each, not an effect.",
)

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
    fig = charts.difference(baseline, frames[baseline], others, metric, mps)
    fig.update_layout(
        title_text=f"{charts.COMPARE_METRICS[metric][0]}: difference between single runs (one draw, no interval)"
    )
    chart(fig, key="cmp_difference")


def _summary(name: str, df: pd.DataFrame) -> dict:
    density = df["emotion_density"].to_numpy()
    positive = df["positive"].to_numpy()
    peaks, troughs = M.peaks(density), M.troughs(positive)
    return {
        "run": name,
        "steps": len(df),
        "aware at end": int(df["aware"].iloc[-1]),
        "total posts": int(df["posts"].sum()),
        "emotion density peak": float(density.max()),
        "peak at step": int(df["step"].iloc[int(density.argmax())]),
        "emotion peaks": len(peaks),
        "positive at end": float(positive[-1]),
        "lowest positive": float(positive.min()),
        "attitude troughs": len(troughs),
        "deepest chain": int(df["max_depth"].max()),
    }


table = pd.DataFrame([_summary(n, f) for n, f in frames.items()])
st.markdown("**Single-run summary**")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key="cmp_summary",
    column_config={
        k: st.column_config.NumberColumn(format="%.3f")
        for k in ("emotion density peak", "positive at end", "lowest positive")
    },
)
base = table.set_index("run").loc[baseline]
diff = table.set_index("run").drop(index=baseline)
numeric = diff.select_dtypes("number").columns
st.caption(f"Differences from the reference run {md_escape(baseline)} (single runs: one draw each, not an effect):")
st.dataframe((diff[numeric] - base[numeric]).reset_index(), hide_index=True, width="stretch", key="cmp_summary_diff")
