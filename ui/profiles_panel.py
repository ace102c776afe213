"""The Agents page's profiles tab: S3's profiling by the LLM on the loaded network (as ``python -m s3core profile``),
with the estimate before the run, progress, and where each attribute's values come from.

The job runs inside the script run (synchronously), updating ``st.progress`` after each batch of users. A Stop
or a rerun interrupts it between batches: nothing is written, the gateway is closed, and the answers already
received stay in the shared LLM cache, so running again sends only what is left. The result is the workspace's
``profiles.parquet`` (merged with the profiles in use), which the scenario then names.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from s3core.engine import Simulation
from s3core.llm.cache import LLMCache
from s3core.llm.errors import label as error_label
from s3core.llm.explain import explain
from s3core.llm.gateway import Gateway
from s3core.llm.profiling import ProfileJob, users_with_text
from s3core.llm.prompts import event_summary
from s3core.llm.settings import redact
from s3core.profile_cli import rules_profiles
from s3core.profiles import ProfilesError

from . import charts, llm
from . import profiles_data as D
from .export import csv_bytes, parquet_bytes
from .llm_panel import message_md
from .session import Workspace, text_resources
from .widgets import chart, md_escape

OFFLINE_KEY = "agents_prof_offline_sim"  # st.session_state: (key, Simulation without the profiles file)
ESTIMATE_KEY = "agents_prof_estimate"  # (key, ProfileEstimate or error text)
RESULT_KEY = "agents_prof_result"  # (workspace id, profiles state, dict) of the last job, shown while that state holds
ALT = {  # each table's description for screen readers (tests find the tables by it: st.dataframe has no id)
    "agents_prof_sources": "Users per source and attribute",
    "agents_prof_compare": "Profiled values against the offline ones",
    "agents_prof_change": "Users per source and attribute, before and after the last profiling job",
    "agents_prof_rules": "The offline text rules' answers as a profiles table",
}
ACCEPT_KEY = "agents_prof_accept"  # the checkbox accepting a costly estimate; cleared when the estimate changes
RUNS_KEY = "agents_prof_runs"  # jobs run in this session: a new one changes what the cache holds
NOT_CONFIGURED = (
    "No LLM is configured, so nothing can be profiled. Choose **LLM** as the decision backend and set a model "
    "in the **LLM backend** panel under *Decision policy* on this page (a local OpenAI-compatible server needs "
    "no key); you may switch the decisions back to the offline heuristic afterwards: the profiles stay."
)


class _Watching:
    """The gateway as ``ProfileJob.run`` uses it, remembering the newest failed call for a one-sentence error."""

    def __init__(self, gateway: Gateway):
        self.gateway, self.stats, self.failure = gateway, gateway.stats, None

    def run(self, requests):
        outcomes = self.gateway.run(requests)
        for outcome in outcomes:
            if not outcome.ok:
                self.failure = (outcome.error_kind, outcome.error)
        return outcomes


def code(text: object) -> str:
    """``text`` as inline code: nothing inside is escaped (markdown shows code verbatim), longer fences if needed."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def profiles_state(ws: Workspace) -> tuple[str, int | None]:
    """The profiles file the scenario names and its modification time (ns; None when absent or unnamed).

    A job's result is shown while this holds: stopping, an upload or a rewrite of the file changes it.
    """
    name = ws.scenario.profiles
    if not name:
        return "", None
    try:
        return name, ws.scenario.resolve(name).stat().st_mtime_ns
    except OSError:
        return name, None


def configured(ws: Workspace) -> bool:
    """Whether the Agents page set an LLM to profile with: the LLM backend chosen and a model named."""
    return ws.scenario.run.backend == "llm" and bool((ws.llm.settings.model or "").strip())


def offline_sim(ws: Workspace) -> Simulation:
    """The scenario's simulation without its profiles file (rules and draws only), kept while nothing changes.

    Its population is what the CLI's ``profile`` prompts with and what the profiled values are compared to.
    """
    scenario = ws.scenario.replace(profiles="", interventions=())
    key = (ws.session_id, ws.net.key, scenario)
    held = st.session_state.get(OFFLINE_KEY)
    if held is None or held[0] != key:
        pop = None if ws.scenario.profiles else ws.population()
        sim = Simulation(scenario, network=ws.net.network, text=text_resources(), population=pop)
        st.session_state[OFFLINE_KEY] = held = (key, sim)
    return held[1]


def _table_in_use(ws: Workspace):
    """The profiles table the scenario names, or None; a file that cannot be read is reported once, here."""
    try:
        return D.current_table(ws.scenario)
    except (ProfilesError, OSError) as exc:
        st.error(f"The scenario's profiles file cannot be used: {message_md(exc)}", icon=":material/error:")
        return None


def sources_section(ws: Workspace, table, offline: Simulation) -> None:
    """Users per source and attribute, the demographics by source, and how the profiled values differ."""
    pop, ids = ws.population(), ws.net.network.user_ids
    st.markdown("**Where each attribute comes from** (users)")
    counts(D.source_table(pop, table, ids), key="agents_prof_sources")
    where = code(ws.scenario.profiles) if ws.scenario.profiles else "none"
    st.caption(
        f"Profiles file in use: {where}. Order: **given** by the users file, then **profiled** by the profiles file "
        "(by its source), then **inferred** by the offline text rules (users with a description or posts), then "
        "**drawn** from the population shares; the charts use the same words. Initial attitudes come from the "
        "profiles file, else they are drawn from the posting history's stance or the prior; — : the users file "
        "and the rules never fill them."
    )
    c = st.columns(2)
    with c[0]:
        chart(charts.age_histogram(pop.age, pop.provenance[:, 0]), key="agents_prof_age")
    with c[1]:
        chart(charts.gender_bars(pop.gender, pop.provenance[:, 1]), key="agents_prof_gender")
    chart(charts.occupation_bars(pop.occupation, pop.provenance[:, 2]), key="agents_prof_occupation")
    if ws.scenario.profiles:
        base = offline.state.attitude
        attitude = (
            base if pop.profile_attitude is None else np.where(pop.profile_attitude >= 0, pop.profile_attitude, base)
        )
        st.markdown("**Profiled values against the offline ones** (the same users without the profiles file)")
        counts(D.compare_offline(pop, offline.population, attitude, base), key="agents_prof_compare")


def counts(frame, key: str) -> None:
    """A table of user counts (its integer columns): thousands separators, "—" where a value cannot exist."""
    number = st.column_config.NumberColumn(format="%,d")
    config = {c: number for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])}
    st.dataframe(frame, hide_index=True, key=key, column_config=config, placeholder="—", alt=ALT[key])


def _choice(ws: Workspace, offline: Simulation) -> tuple[np.ndarray, bool]:
    """The users and whether to infer attitudes, from the widgets."""
    network = ws.net.network
    c = st.columns([2, 1])
    kind = c[0].radio(
        "Which users", list(D.CHOICES), format_func=D.CHOICES.get, key="agents_prof_users", horizontal=True
    )
    attitudes = c[1].checkbox(
        "Also initial attitudes",
        key="agents_prof_attitudes",
        help="A second call per user: their attitude toward the event at the start, from profile and posts (S3).",
    )
    top = share = None
    if kind == "top":
        top = st.number_input(
            "How many",
            1,
            network.n_users,
            min(D.DEFAULT_TOP, network.n_users),
            key="agents_prof_top",
            help="The most-followed users among those with a description or posts.",
        )
    elif kind == "share":
        share = st.slider("Share of users", 0.01, 1.0, 0.1, 0.01, key="agents_prof_share")
    agents = D.chosen_agents(
        kind,
        network,
        offline.population,
        ws.scenario.seed,
        top=top or D.DEFAULT_TOP,
        share=share or 0.1,
        subset=ws.llm.subset,
    )
    subset = f" ({md_escape(ws.llm.subset.describe())})" if kind == "llm" else ""
    st.caption(
        f"**{len(agents):,} users** chosen{subset}: only users with a description or posts, since the model has "
        f"nothing else to read ({len(users_with_text(network)):,} of {network.n_users:,} have some)."
    )
    return agents, attitudes


def _estimate(ws: Workspace, job: ProfileJob):
    """The job's estimate against the shared cache, kept until the choice, the settings or the cache change."""
    digest = hashlib.sha1(job.agents.tobytes()).hexdigest()
    key = (ws.net.key, ws.llm.settings.public_json(), digest, job.attitudes, job.event, st.session_state.get(RUNS_KEY))
    held = st.session_state.get(ESTIMATE_KEY)
    if held is None or held[0] != key:
        with st.spinner("Estimating (building the prompts and counting tokens)..."):
            cache = None
            try:
                cache = LLMCache(llm.cache_path(ws.run_dir))
                result = job.estimate(cache)
            except Exception as exc:  # a cache that cannot be opened, a tokenizer failure: said, never raised
                result = redact(f"{type(exc).__name__}: {exc}", ws.llm.settings.secrets())
            finally:
                if cache is not None:
                    cache.close()
        st.session_state[ESTIMATE_KEY] = held = (key, result)
        st.session_state.pop(ACCEPT_KEY, None)  # an acceptance holds for the estimate it was given for
    return held[1]


def _show_estimate(estimate) -> None:
    if isinstance(estimate, str):
        st.error(f"Estimate failed: {message_md(estimate)}", icon=":material/error:")
        return
    m = st.columns(4)
    m[0].metric("Calls to send", f"{estimate.calls:,}", help="Requests not yet in the shared LLM cache.")
    m[1].metric("Already cached", f"{estimate.cached:,}", help="Prompts answered from the cache: no call, no cost.")
    m[2].metric("Tokens (estimate)", f"{estimate.prompt_tokens + estimate.completion_tokens:,}")
    m[3].metric("Cost (estimate)", "unknown" if estimate.cost_usd is None else f"${estimate.cost_usd:.4f}")
    st.caption(f"Estimate: {md_escape(estimate.line())}.")


def _accepted(estimate, job: ProfileJob) -> bool:
    """Whether the job may run: small enough, or its estimated cost accepted with a checkbox (cleared on change)."""
    if isinstance(estimate, str):  # no estimate: judge by the prompts (one per user, two with attitudes)
        calls, cost = len(job.agents) * (2 if job.attitudes else 1), None
    else:
        calls, cost = estimate.calls, estimate.cost_usd
    if not D.needs_confirmation(calls, cost):
        return True
    price = "unknown cost" if cost is None else f"about ${cost:,.2f}"
    return st.checkbox(
        f"I accept the estimated cost: {calls:,} calls, {price}",
        key=ACCEPT_KEY,
        help=f"Asked when a job sends more than {D.CONFIRM_CALLS:,} calls or costs more than ${D.CONFIRM_USD:.2f}. "
        "A smaller choice of users (e.g. the most-followed) costs less; answers already cached are free.",
    )


def _run(ws: Workspace, job: ProfileJob, table) -> dict:
    """Run the job with a progress bar; save and name the profiles file. Returns what the page shows next."""
    settings, ids = ws.llm.settings, ws.net.network.user_ids
    before = D.source_table(ws.population(), table, ids)
    bar = st.progress(0.0, text=f"Profiling {len(job.agents):,} users...")
    gateway = Gateway(settings, LLMCache(llm.cache_path(ws.run_dir)))  # closes the cache when closed
    watch = _Watching(gateway)

    def progress(done: int, total: int) -> None:
        s = gateway.stats
        bar.progress(
            done / max(total, 1),
            text=f"Users {done:,}/{total:,}: {s.calls:,} calls, {s.cache_hits:,} answered from the cache",
        )

    try:
        result = job.run(watch, progress)
    except Exception as exc:  # litellm missing, an unusable setting: one sentence, never a traceback
        return {"error": redact(f"Profiling failed: {type(exc).__name__}: {exc}", settings.secrets())}
    finally:
        gateway.close()
        st.session_state[RUNS_KEY] = st.session_state.get(RUNS_KEY, 0) + 1
    out = {"summary": D.run_summary(result.stats, result.seconds), "cost": result.stats.cost_usd}
    out["calls"] = result.stats.calls
    if watch.failure is not None:
        kind, error = watch.failure
        sentence = explain(kind, error, settings.model, settings.api_base, settings.timeout)
        failed = ", ".join(f"{error_label(k)} × {v:,}" for k, v in result.stats.top_errors(len(result.stats.errors)))
        out["warning"] = f"Some calls failed ({failed}): {sentence}"
    new = D.filled_rows(result.table)
    if not len(new):
        out["error"] = "The model answered for no user, so nothing was saved. " + out.pop("warning", "")
        return out
    try:
        path = D.save_job(ws.run_dir, ws.scenario, new)
    except (ProfilesError, OSError) as exc:
        out["error"] = f"The profiles could not be saved: {exc}"
        return out
    ws.scenario = ws.scenario.replace(profiles=str(path))
    pop = ws.population()
    out |= {"path": str(path), "answered": len(new), "before": before, "filled": D.answered(new, pop, ids)}
    out["after"] = D.source_table(pop, D.current_table(ws.scenario), ids)
    return out


def _show_result(ws: Workspace) -> None:
    """The last job's outcome, while the profiles it saw or saved are still the ones in use."""
    held = st.session_state.get(RESULT_KEY)
    if held is None or held[0] != ws.session_id or held[1] != profiles_state(ws):
        return
    out = held[2]
    if "error" in out:
        st.error(message_md(out["error"]), icon=":material/error:")
    if "warning" in out:
        st.warning(message_md(out["warning"]), icon=":material/cloud_off:")
    if "path" not in out:
        return
    cost = "cost unknown" if out["cost"] is None else f"${out['cost']:.4f}"
    st.success(
        f"Profiled: {out['answered']:,} users answered, {out['calls']:,} calls sent, {cost}. Saved to "
        f"{code(out['path'])}, which the scenario now names.",
        icon=":material/check_circle:",
    )
    st.caption(f"{md_escape(out['filled'])} Calls: {md_escape(out['summary'])}")
    st.markdown("**Users per source, before → after this job**")
    config = {c: st.column_config.TextColumn(alignment="right") for c in D.ATTRIBUTES}
    st.dataframe(
        D.before_after(out["before"], out["after"]),
        hide_index=True,
        key="agents_prof_change",
        column_config=config,
        alt=ALT["agents_prof_change"],
    )
    st.caption("One number: unchanged by this job. — : the source never fills initial attitudes.")


def infer_section(ws: Workspace, table, offline: Simulation) -> None:
    st.markdown("**Infer with the LLM** (S3's profiling: age, gender, occupation from description and posts)")
    agents, attitudes = _choice(ws, offline)
    ready = configured(ws) and len(agents) > 0
    if not configured(ws):
        st.warning(NOT_CONFIGURED, icon=":material/block:")
    elif not len(agents):
        st.info("No user to profile: the choice is empty, or none of its users has a description or posts.")
    job = None
    if ready:
        job = ProfileJob(offline, agents, ws.llm.settings, attitudes=attitudes, event=event_summary(ws.scenario))
        estimate = _estimate(ws, job)
        _show_estimate(estimate)
        ready = _accepted(estimate, job)
    if st.button(
        "Run profiling",
        key="agents_prof_run",
        icon=":material/person_search:",
        disabled=not ready,
        help="Calls the model for the chosen users (cached prompts are free) and saves the profiles file.",
    ):
        out = _run(ws, job, table)
        st.session_state[RESULT_KEY] = (ws.session_id, profiles_state(ws), out)
        st.rerun()  # the whole page, population included, follows the new profiles file
    _show_result(ws)


def _use_upload(ws: Workspace, upload) -> None:
    try:
        table = D.parse_upload(upload.name, upload.getvalue(), ws.net.network.user_ids)
        path = D.save_upload(ws.run_dir, table)
    except (ProfilesError, OSError) as exc:
        st.error(f"Not loaded (the profiles in use are kept): {message_md(exc)}", icon=":material/error:")
        return
    ws.scenario = ws.scenario.replace(profiles=str(path))
    st.session_state.pop(RESULT_KEY, None)  # the last job's result no longer describes the profiles in use
    filled = ", ".join(f"{c} {int(table[c].notna().sum()):,}" for c in ("age", "gender", "occupation", "attitude"))
    ws.notify("success", f"Profiles loaded from {upload.name}: {len(table):,} users ({filled}); saved as {path}.")
    st.rerun()


def _stop_using(ws: Workspace) -> None:
    kept = ws.scenario.resolve(ws.scenario.profiles)
    ws.scenario = ws.scenario.replace(profiles="")
    st.session_state.pop(RESULT_KEY, None)  # the last job's result no longer describes the profiles in use
    ws.notify("info", f"Profiles no longer used: rules and draws fill the attributes again. The file stays at {kept}.")


def files_section(ws: Workspace, table) -> None:
    st.markdown("**Load, stop, download**")
    c = st.columns([3, 1], vertical_alignment="bottom")
    upload = c[0].file_uploader(
        "A profiles file (Parquet or CSV: user_id, age, gender, occupation, attitude, source)",
        type=["parquet", "csv"],
        key="agents_prof_upload",
    )
    if c[1].button("Use this file", key="agents_prof_use_upload", disabled=upload is None, width="stretch"):
        _use_upload(ws, upload)
    c = st.columns(3)
    c[0].button(
        "Stop using profiles",
        key="agents_prof_stop",
        on_click=_stop_using,
        args=(ws,),
        disabled=not ws.scenario.profiles,
        help="The scenario stops naming the file; the file itself is kept on disk.",
        width="stretch",
    )
    if table is not None:
        c[1].download_button(
            "Profiles (CSV)", csv_bytes(table), "profiles.csv", "text/csv", key="agents_prof_dl_csv", width="stretch"
        )
        c[2].download_button(
            "Profiles (Parquet)",
            parquet_bytes(table),
            "profiles.parquet",
            "application/octet-stream",
            key="agents_prof_dl_parquet",
            width="stretch",
        )


def rules_section(ws: Workspace, offline: Simulation) -> None:
    with st.expander("The offline text rules' answers as a profiles table"):
        table = rules_profiles(offline, users_with_text(ws.net.network))
        st.caption(
            f"The rules answered for {len(table):,} users (self-descriptions such as '90后', '女生', '记者'); "
            "the same table as `python -m s3core profile --backend rules`."
        )
        st.dataframe(table.head(500), hide_index=True, key="agents_prof_rules", alt=ALT["agents_prof_rules"])
        c = st.columns(2)
        c[0].download_button(
            "Rules (CSV)", csv_bytes(table), "rules-profiles.csv", "text/csv", key="agents_prof_rules_csv"
        )
        c[1].download_button(
            "Rules (Parquet)",
            parquet_bytes(table),
            "rules-profiles.parquet",
            "application/octet-stream",
            key="agents_prof_rules_parquet",
        )


def profiles_panel(ws: Workspace) -> None:
    """The tab: sources of every attribute, the LLM job, the profiles file's load/stop/download, the rules' table."""
    table = _table_in_use(ws)
    offline = offline_sim(ws)
    sources_section(ws, table, offline)
    with st.container(border=True):
        infer_section(ws, table, offline)
    with st.container(border=True):
        files_section(ws, table)
    rules_section(ws, offline)
