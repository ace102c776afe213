"""Validate: replay one real cascade with the simulator beside two baselines, and read validation results.

One cascade runs here (a few seconds); a validation over several cascades runs the ``validate``
command in its own process and writes a results file, which this page reads like any other.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import streamlit as st

from s3core.validation.validate import PUBLISHED
from ui import validation_data as VD
from ui import validation_view as VV
from ui.session import ensure_defaults, show_flash
from ui.widgets import chart, md_escape

POLL_SECONDS = 1.0
DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
KEPT_RUNS = 6  # single-cascade results kept per session
NUMBER = st.column_config.NumberColumn(format="%.3f")


def _start_job(ws, folder: Path, params: dict | None, seed: int) -> None:
    limit = int(st.session_state.get("val_limit") or 5)
    out = ws.run_dir / "validation" / f"{folder.name}-seed{seed}-{limit}c-{time.strftime('%Y%m%d-%H%M%S')}.duckdb"
    try:
        st.session_state["val_job"] = VD.ValidationJob(str(folder), params, seed, limit, out)
    except OSError as exc:
        ws.notify("error", f"Could not start the validation: {exc}")
        return


def _stop_job(ws) -> None:
    job = st.session_state.get("val_job")
    if job is not None and job.running:
        job.stop()
        ws.notify("info", "Stopped the validation run; it wrote no results file.")


ws = ensure_defaults()
st.title("Validate")
st.caption(
    "Measure the simulator against real cascades. A cascade is replayed as in OASIS: the simulator gets only "
    "the source text and N, the number of users who took part within 150 minutes, and its per-minute scale, "
    "depth and max-breadth curves are compared with the real ones, beside an independent-cascade model and "
    "the mean training curve. The same measurement over many cascades is `python -m s3core validate`."
)
show_flash(ws)

# -- inputs ----------------------------------------------------------------------------------------
with st.container(border=True):
    c = st.columns([2.2, 1.4, 0.8], vertical_alignment="bottom")
    root = c[0].text_input(
        "Datasets folder",
        value=str(DEFAULT_ROOT),
        key="val_root",
        help="A folder of dataset folders (each with sources.parquet and reposts.parquet or "
        "edges.parquet), or one dataset folder.",
    )
    names = VD.subfolders(root)
    name = c[1].selectbox("Dataset", names, key="val_dataset") if names else None
    seed = int(
        c[2].number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            value=0,
            step=1,
            key="val_seed",
            help="Seeds the synthesized networks and every draw.",
        )
    )
    p = st.columns(2)
    upload = p[0].file_uploader(
        "Parameter JSON (optional)",
        type=["json"],
        key="val_params_upload",
        help="Scenario keys: minutes_per_step, network (mean_followees, reciprocity, "
        "tail_exponent, n_users) and the model groups; defaults where absent.",
    )
    params_path = p[1].text_input(
        "or a parameter file path",
        key="val_params_path",
        placeholder='e.g. params.json with {"network": {"n_users": 1500}}',
    )

folder = Path(root) / name if name else Path(root)
if not names and not VD.stamp(folder):
    st.warning(
        f"No dataset folders in {md_escape(root)}. Give a folder that holds dataset folders "
        "(such as twitter15 or weibo-ced) or a dataset folder itself.",
        icon=":material/folder_off:",
    )
    st.stop()

try:
    params = VD.parse_params(upload.getvalue(), upload.name) if upload is not None else VD.read_params_file(params_path)
    setup, params_key = VD.make_setup(params, seed)
except VD.ParamsError as exc:
    st.error(f"Parameters: {md_escape(exc)}", icon=":material/error:")
    st.stop()

try:
    loaded = VD.load_folder(folder)
except VD.DatasetError as exc:
    st.error(f"This dataset folder cannot be used: {md_escape(exc)}", icon=":material/error:")
    st.stop()
if not isinstance(loaded, VD.Loaded):
    st.info(
        "This folder holds stance threads (posts.parquet), not cascades: there is nothing to replay. "
        "`python -m s3core validate --dataset` on it writes the individual-level stance report.",
        icon=":material/info:",
    )
    st.stop()

data = loaded.data
st.caption(
    f"**{md_escape(data.name)}** ({data.format} format): {len(data.sources):,} cascades, "
    f"{loaded.n_events:,} {'reposts' if data.format == 'reposts' else 'edges'}; the earlier half "
    f"({len(loaded.train):,} with participants in the window) trains the baselines, "
    f"{len(loaded.evaluate):,} later cascades can be evaluated. "
    f"Model: {setup.scenario.network.n_users:,}-user free-run network, 1 step = {setup.minutes_per_step:g} min."
)

# -- one cascade -------------------------------------------------------------------------------------
st.subheader("One cascade")
if not loaded.evaluate:
    st.warning("No evaluated cascade has participants within 150 minutes of its source.", icon=":material/warning:")
    st.stop()
c = st.columns([4, 1], vertical_alignment="bottom")
cid = c[0].selectbox(
    "Cascade (later half; id · participants within 150 min · source text)",
    loaded.evaluate,
    key="val_cascade",
    format_func=lambda k: VD.cascade_label(loaded, k),
)
run_key = (str(folder), VD.stamp(folder), params_key, seed, cid)
runs = st.session_state.setdefault("val_runs", {})
if c[1].button(
    "Run this cascade",
    key="val_run_one",
    type="primary",
    width="stretch",
    help="Replay it with the simulator and the independent cascade, add the mean curve, and let "
    "the source post run free for 36 hours.",
):
    bar = st.progress(0.0, text="Starting...")
    try:
        runs[run_key] = VD.run_cascade(
            str(folder), params_key, seed, cid, progress=lambda s, t: bar.progress(s, text=t)
        )
    except Exception as exc:  # shown on the page: a cascade that cannot run must not take the page down
        st.error(f"The cascade could not be simulated: {md_escape(exc)}", icon=":material/error:")
    bar.empty()
    while len(runs) > KEPT_RUNS:
        runs.pop(next(iter(runs)))

result = runs.get(run_key)
if result is None:
    st.info("Press **Run this cascade** to replay it (a few seconds).", icon=":material/play_circle:")
else:
    st.text(f"Source text: {loaded.text_of.get(cid, '')}")
    m = st.columns(4)
    m[0].metric("N within 150 min", f"{result.n_users:,}")
    m[1].metric("Simulated reach at 150 min", f"{int(result.curves['simulator']['scale'][-1]):,}")
    m[2].metric(
        "Independent-cascade probability",
        "-" if math.isnan(result.ic_probability) else f"{result.ic_probability:.3f}",
        help=f"Fitted on up to {VD.IC_SAMPLE} training cascades.",
    )
    m[3].metric("Size after 36 h: real / free run", f"{len(result.real_free):,} / {len(result.simulated_free):,}")
    row = st.columns(3)
    for col, curve in zip(row, ("scale", "depth", "max_breadth")):
        with col:
            chart(VV.curve_figure(result.curves, curve), key=f"val_chart_{curve}")
    table = VD.nrmse_rows(result)
    st.markdown(
        "**NRMSE against the real curves** (RMSE over the 150 minutes divided by the real curve's maximum; lower is better)"
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="val_nrmse",
        column_config={k: NUMBER for k in ("scale", "depth", "max_breadth", "mean")},
    )
    if not VV.finite(table, ["scale", "depth", "max_breadth"]):
        st.caption("An empty cell is a curve that stays at 0 in the real cascade, where NRMSE is undefined.")
    if "mean_curve" not in result.curves:
        st.caption("No training cascade has participants in the window, so there is no mean-curve baseline.")
    st.markdown(
        "**Comments over time** (real comments within 36 hours vs the simulated free run's, labelled by the same lexicon)"
    )
    if not result.has_text:
        st.info(
            f"The {md_escape(data.name)} tables carry no comment texts ({data.format} format), so emotion "
            "density and stance of comments cannot be measured on the real side.",
            icon=":material/info:",
        )
    else:
        row = st.columns(2)
        with row[0]:
            chart(VV.emotion_figure(result.real_free, result.simulated_free), key="val_chart_emotion")
        with row[1]:
            chart(VV.stance_figure(result.real_free, result.simulated_free), key="val_chart_stance")
        with st.expander("The numbers behind these charts"):
            st.dataframe(
                VV.over_time_table(result.real_free, result.simulated_free),
                hide_index=True,
                width="stretch",
                key="val_over_time",
                column_config={"share": NUMBER},
            )

# -- across cascades ---------------------------------------------------------------------------------
st.subheader("Across cascades")
job = st.session_state.get("val_job")
busy = job is not None and job.running
c = st.columns([1, 2, 1, 3], vertical_alignment="bottom")
c[0].number_input(
    "Cascades",
    min_value=1,
    max_value=50,
    value=5,
    step=1,
    key="val_limit",
    disabled=busy,
    help="Evenly spread over the later half. About a second per cascade with small parameters.",
)
c[1].button(
    "Run validation on N cascades",
    key="val_run_many",
    on_click=_start_job,
    args=(ws, folder, params, seed),
    disabled=busy,
    width="stretch",
    help="Runs `python -m s3core validate` in its own process with these "
    "parameters and seed; the results file appears below.",
)
c[2].button("Stop", key="val_stop", on_click=_stop_job, args=(ws,), disabled=not busy, width="stretch")


@st.fragment(run_every=POLL_SECONDS if busy else None)
def job_view(polling: bool) -> None:
    """The background validation's progress; redraws the page once it ends."""
    run = st.session_state.get("val_job")
    if run is None:
        return
    if run.running:
        done, total = run.progress()
        text = f"Validating: {done} of {total} cascades" if done else "Reading the dataset and fitting the baselines..."
        st.progress(done / max(total, 1), text=text)
    elif polling:
        st.rerun(scope="app")
    if run.error():
        st.error(f"The validation run failed: {md_escape(run.error())}", icon=":material/error:")


job_view(busy)
if job is not None and not job.running and job.out.exists() and st.session_state.get("val_shown_job") is not job:
    st.session_state["val_results_file"] = str(job.out)  # show a finished run's results once
    st.session_state["val_shown_job"] = job

files = [str(f) for f in VD.results_files(ws.run_dir)]
c = st.columns(2)
picked = c[0].selectbox(
    "Validation results file",
    files,
    key="val_results_file",
    index=0 if files else None,
    placeholder="none yet: run a validation above" if not files else "choose a file",
    format_func=lambda f: Path(f).name,
)
typed = c[1].text_input("or a results file path (written by validate --out)", key="val_results_path")
chosen = typed.strip() or picked
if chosen:
    try:
        res = VD.read_results(chosen, Path(chosen).stat().st_mtime_ns if Path(chosen).exists() else 0)
    except ValueError as exc:
        st.error(md_escape(exc), icon=":material/error:")
    else:
        s = res.summary
        v = {
            k: md_escape(s.get(k, "?"))
            for k in (
                "dataset",
                "cascades",
                "training_cascades",
                "seed",
                "minutes_per_step",
                "baseline_ic_probability",
                "seconds",
            )
        }
        st.caption(
            f"{md_escape(Path(chosen).name)}: dataset **{v['dataset']}**, {v['cascades']} cascades evaluated, "
            f"{v['training_cascades']} training, seed {v['seed']}, 1 step = {v['minutes_per_step']} min, "
            f"independent-cascade probability {v['baseline_ic_probability']}, {v['seconds']} s."
        )
        left, right = st.columns(2)
        with left:
            st.markdown("**Mean NRMSE over the evaluated cascades** (lower is better)")
            st.dataframe(
                VV.aggregate_table(s),
                hide_index=True,
                width="stretch",
                key="val_aggregate",
                column_config={k: NUMBER for k in ("scale", "depth", "max_breadth")},
            )
            facts = VV.stylized_table(s)
            if len(facts):
                st.markdown("**Free-running stylized facts** (36 h)")
                st.dataframe(
                    facts,
                    hide_index=True,
                    width="stretch",
                    key="val_stylized",
                    column_config={k: NUMBER for k in ("simulated", "real", "distance")},
                )
        with right:
            st.markdown("**Published figures**")
            st.dataframe(
                VV.published_table(s.get("published") or PUBLISHED),
                hide_index=True,
                width="stretch",
                key="val_published",
            )
        with st.expander("Per-cascade NRMSE"):
            st.dataframe(
                res.cascades,
                hide_index=True,
                width="stretch",
                key="val_per_cascade",
                column_config={k: NUMBER for k in ("scale", "depth", "max_breadth")},
            )
else:
    st.markdown("**Published figures**")
    st.dataframe(VV.published_table(PUBLISHED), hide_index=True, width="stretch", key="val_published")
st.markdown(VV.PROTOCOL_NOTE)
