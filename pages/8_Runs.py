"""Runs: every run and experiment kept in this workspace; open, compare, export or delete them.

The list is read from the workspace folder, so it survives reloads and restarts. Open shows a run
on Traces (an experiment on Compare), Compare overlays runs there, Export downloads the DuckDB
file or a CSV of the metrics, and Delete asks first and refuses what is still being written.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import existing_work as W
from ui import traces
from ui.export import csv_bytes
from ui.session import ensure_defaults, hand_off, show_flash
from ui.widgets import md_escape

TRACES_PAGE, COMPARE_PAGE = "pages/6_Traces.py", "pages/5_Compare.py"


def _running_experiments(ws) -> set:
    job = st.session_state.get("exp_job")
    return {job.out} if job is not None and getattr(job, "running", False) else set()


def _delete_run(ws, run) -> None:
    st.session_state.pop("runs_confirm", None)
    try:
        W.delete_run(run.path, ws.open_runs())
    except (W.DeleteRefused, OSError) as exc:
        ws.notify("error", f"Not deleted: {exc}")
        return
    ws.notify("success", f"Deleted {run.path.name}.")


def _delete_experiment(ws, exp) -> None:
    st.session_state.pop("runs_confirm", None)
    try:
        W.delete_experiment(exp, _running_experiments(ws))
    except (W.DeleteRefused, OSError) as exc:
        ws.notify("error", f"Not deleted: {exc}")
        return
    ws.notify("success", f"Deleted the experiment {exp.name} ({exp.folder.name}).")


def _confirm(what: str, target: str) -> None:
    st.session_state["runs_confirm"] = (what, target)


def _cancel() -> None:
    st.session_state.pop("runs_confirm", None)


def _confirm_box(ws, what: str, target: str, label: str, on_yes, args) -> None:
    """The question asked before deleting, with Yes and Cancel (shown after Delete was pressed)."""
    if st.session_state.get("runs_confirm") != (what, target):
        return
    with st.container(border=True):
        st.warning(f"Delete {md_escape(label)}? This cannot be undone.", icon=":material/delete_forever:")
        c = st.columns([1, 1, 4])
        c[0].button("Yes, delete", key=f"runs_{what}_yes", type="primary", on_click=on_yes, args=args)
        c[1].button("Cancel", key=f"runs_{what}_no", on_click=_cancel)


ws = ensure_defaults()
st.title("Runs")
st.caption(
    "Everything kept in this workspace: single runs (from Simulate and Compare) and experiments (from Compare). "
    f"They stay while the workspace does, also after a reload or a restart of the server. Folder: `{ws.run_dir}`."
)
show_flash(ws)

# -- single runs ------------------------------------------------------------------------------------------
st.subheader("Runs")
runs = traces.list_runs(ws)
if not runs:
    st.info(
        "No runs yet. Press Step or Run on the Simulate page, or start a single run on Compare.", icon=":material/info:"
    )
else:
    by_name = {r.run: r for r in runs}
    table = pd.DataFrame(
        [
            {
                "run": r.run,
                "scenario": r.name,
                "created (UTC)": r.created,
                "status": r.status,
                "steps": r.steps,
                "interventions": r.interventions,
                "network": r.network,
                "agents": r.agents,
                "size": W.human_size(W.size_of(r.path)),
            }
            for r in reversed(runs)
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", key="runs_table")
    names = list(by_name)[::-1]
    with st.container(border=True):
        c = st.columns([3, 1.2, 1.6, 1.6, 1], vertical_alignment="bottom")
        name = c[0].selectbox(
            "Run",
            names,
            key="runs_pick",
            format_func=lambda n: (
                f"{n} · {by_name[n].name} · {traces.count(by_name[n].steps, 'step')} · {by_name[n].status}"
            ),
        )
        run = by_name[name]
        held = run.path in ws.open_runs()
        if c[1].button("Open", key="runs_open", type="primary", width="stretch", help="Show this run on Traces."):
            hand_off(TRACES_PAGE, {"tr_run": run.run})
        c[2].download_button(
            "DuckDB file",
            data=lambda: run.path.read_bytes(),
            file_name=run.path.name,
            mime="application/octet-stream",
            key="runs_dl_duckdb",
            icon=":material/download:",
            on_click="ignore",
            disabled=held or bool(run.busy),
            help="The whole trace (scenario, agents, states, posts, metrics) for DuckDB or `s3core`. "
            + ("Available once the run is closed (Reset on Simulate)." if held else ""),
        )
        c[3].download_button(
            "Metrics (CSV)",
            data=lambda: csv_bytes(traces.metrics(ws, run.path)),
            file_name=f"{run.run}-metrics.csv",
            mime="text/csv",
            key="runs_dl_csv",
            icon=":material/download:",
            on_click="ignore",
            disabled=bool(run.busy) or run.steps == 0,
            help="One row per step: awareness, emotion, attitude, actions.",
        )
        c[4].button(
            "Delete",
            key="runs_delete",
            on_click=_confirm,
            args=("run", run.run),
            width="stretch",
            disabled=held,
            help=(
                "This run is open for writing in this workspace; press Reset on Simulate first."
                if held
                else "Delete this run's file (asks first)."
            ),
        )
        if held:
            st.caption(
                "This run is still open in this workspace (running, or the interactive run on Simulate): "
                "its file can be downloaded and deleted once it is closed."
            )
        _confirm_box(ws, "run", run.run, run.path.name, _delete_run, (ws, run))
        with_steps = [n for n in names if by_name[n].steps > 0 and not by_name[n].busy]
        c = st.columns([4, 1.2], vertical_alignment="bottom")
        chosen = c[0].multiselect(
            "Runs to compare",
            with_steps,
            default=with_steps[:2] if len(with_steps) >= 2 else [],
            key="runs_compare_pick",
            format_func=lambda n: f"{n} · {by_name[n].name} · {traces.count(by_name[n].steps, 'step')}",
        )
        if c[1].button(
            "Compare",
            key="runs_compare",
            disabled=len(chosen) < 2,
            width="stretch",
            help="Overlay these runs on the Compare page.",
        ):
            hand_off(COMPARE_PAGE, {"cmp_runs": list(chosen)})

# -- experiments ----------------------------------------------------------------------------------------
st.subheader("Experiments")
running = _running_experiments(ws)
experiments = W.list_experiments(ws.run_dir, running)
if not experiments:
    st.info("No experiments yet. Run one on the Compare page.", icon=":material/info:")
    st.stop()
by_folder = {e.folder.name: e for e in experiments}
st.dataframe(
    pd.DataFrame(
        [
            {
                "experiment": e.name,
                "created (UTC)": e.created,
                "status": e.status,
                "arms": ", ".join(e.arms),
                "seeds": e.seeds,
                "steps": e.steps,
                "size": W.human_size(e.size),
                "folder": e.folder.name,
            }
            for e in reversed(experiments)
        ]
    ),
    hide_index=True,
    width="stretch",
    key="runs_exp_table",
)
with st.container(border=True):
    c = st.columns([3, 1.2, 1.6, 1.6, 1], vertical_alignment="bottom")
    folder = c[0].selectbox(
        "Experiment",
        list(by_folder)[::-1],
        key="runs_exp_pick",
        format_func=lambda f: (
            f"{by_folder[f].name} · {traces.count(by_folder[f].seeds, 'seed')} · {by_folder[f].status}"
        ),
    )
    exp = by_folder[folder]
    finished = exp.status == "finished"
    if c[1].button(
        "Open", key="runs_exp_open", type="primary", disabled=not finished, width="stretch", help="Show on Compare."
    ):
        job = st.session_state.get("exp_job")
        values = {"exp_shown": W.FinishedExperiment(exp.folder)}
        if job is None or not job.running:
            values["exp_job"] = None  # the last experiment's report must not replace this one
        hand_off(COMPARE_PAGE, values)
    c[2].download_button(
        "Report (HTML)",
        data=lambda: exp.html_path.read_bytes(),
        file_name=f"{exp.folder.name}-report.html",
        mime="text/html",
        key="runs_exp_dl_html",
        icon=":material/download:",
        on_click="ignore",
        disabled=not (finished and exp.html_path.is_file()),
    )
    c[3].download_button(
        "DuckDB file",
        data=lambda: exp.data_path.read_bytes(),
        file_name=f"{exp.folder.name}.duckdb",
        mime="application/octet-stream",
        key="runs_exp_dl_duckdb",
        icon=":material/download:",
        on_click="ignore",
        disabled=exp.status == "running" or not exp.data_path.is_file(),
        help="Every run's curves of every arm and seed (the experiment's own DuckDB file).",
    )
    c[4].button(
        "Delete",
        key="runs_exp_delete",
        on_click=_confirm,
        args=("experiment", exp.folder.name),
        disabled=exp.status == "running",
        width="stretch",
        help="Delete this experiment's folder (asks first).",
    )
    _confirm_box(ws, "experiment", exp.folder.name, f"the experiment {exp.name}", _delete_experiment, (ws, exp))
