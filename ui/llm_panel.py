"""The LLM backend on the pages: the Agents page's settings panel, the Simulate page's counters, the inspector's exchange.

Setting widgets come from ``LLMSettings`` field metadata (range, help, choices). The API key is taken
from its password box by a callback, wrapped in a ``Secret`` and the box is emptied, so the key is
never sent back to the browser and lives only in this session's workspace.
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import streamlit as st

from s3core.llm.errors import hint
from s3core.llm.errors import label as error_label
from s3core.llm.explain import explain
from s3core.llm.gateway import ConnectionResult, test_connection
from s3core.llm.settings import LLMSettings, Secret, redact
from s3core.types import OCCUPATION_LABELS, Gender, Occupation, UserCategory, label

from . import llm
from .live import LiveRun
from .session import Workspace
from .widgets import md_escape

BACKENDS = {"heuristic": "offline heuristic", "llm": "LLM"}
AGENT_MODE_LABELS = {
    "per_agent": "one agent (per-agent)",
    "batched": "several agents (batched)",
    "archetype": "a cell of similar agents (archetype)",
}
NUMBERS = ("concurrency", "temperature", "max_tokens", "timeout", "retries", "max_wait")
UNITS = {"timeout": " (s)", "max_wait": " (s)"}
KEY_BOX = "agents_llm_api_key"
FIELDS = {f.name: f for f in dataclasses.fields(LLMSettings)}


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s`<>()]*[^\s`<>().,;:!?'\"]")


def message_md(text: object) -> str:
    """Markdown for a message: escaped, with each URL as code, so no address becomes a clickable link."""
    text = str(text)
    out, at = [], 0
    for m in _URL.finditer(text):
        out += [md_escape(text[at : m.start()]), f"`{m.group(0)}`"]
        at = m.end()
    return "".join(out + [md_escape(text[at:])])


def _set_backend(ws: Workspace) -> None:
    run = dataclasses.replace(ws.scenario.run, backend=st.session_state["agents_backend"])
    ws.scenario = ws.scenario.replace(run=run)


def _take_key(ws: Workspace) -> None:
    """Move a typed key out of the widget into a Secret; the box is emptied so the page never echoes it."""
    value = (st.session_state.get(KEY_BOX) or "").strip()
    st.session_state[KEY_BOX] = ""
    if value:
        ws.llm = dataclasses.replace(ws.llm, settings=dataclasses.replace(ws.llm.settings, api_key=Secret(value)))


def _forget_key(ws: Workspace) -> None:
    ws.llm = dataclasses.replace(ws.llm, settings=dataclasses.replace(ws.llm.settings, api_key=None))


def _number(name: str, value, container):
    """A number box with the field's own range and help."""
    meta = FIELDS[name].metadata
    kind = int if isinstance(value, int) else float
    step = 1 if kind is int else (0.1 if meta["max"] <= 10 else 1.0)
    return container.number_input(
        name.replace("_", " ").capitalize() + UNITS.get(name, ""),
        min_value=kind(meta["min"]),
        max_value=kind(meta["max"]),
        value=value,
        step=step,
        help=meta["help"],
        key=f"agents_llm_{name}",
    )


def _settings_form(ws: Workspace) -> None:
    s = ws.llm.settings
    c = st.columns(2)
    model = c[0].text_input("Model", value=s.model, key="agents_llm_model", help=FIELDS["model"].metadata["help"])
    api_base = c[1].text_input(
        "API base",
        value=s.api_base or "",
        key="agents_llm_api_base",
        placeholder="provider default",
        help=FIELDS["api_base"].metadata["help"],
    )
    c = st.columns([3, 1], vertical_alignment="bottom")
    c[0].text_input(
        "API key",
        type="password",
        key=KEY_BOX,
        on_change=_take_key,
        args=(ws,),
        placeholder="a key is set for this session" if s.api_key else "empty: the provider's variable, or none",
        help="Kept in this browser session's memory only: never written to scenario files, traces, caches, "
        "logs or exports. Leave empty to use the provider's usual variable (e.g. OPENAI_API_KEY). A local "
        "server (an API base on this machine or a private network, e.g. Ollama or vLLM) needs no key: "
        "a placeholder is sent when none is set.",
    )
    c[1].button(
        "Forget key",
        key="agents_llm_forget_key",
        on_click=_forget_key,
        args=(ws,),
        disabled=s.api_key is None,
        width="stretch",
    )
    cols = st.columns(3)
    values = {name: _number(name, getattr(s, name), cols[i % 3]) for i, name in enumerate(NUMBERS)}
    cols = st.columns(2)
    modes = list(FIELDS["mode"].metadata["choices"])
    values["mode"] = cols[0].selectbox(
        "Mode", modes, index=modes.index(s.mode), key="agents_llm_mode", help=FIELDS["mode"].metadata["help"]
    )
    shapes = list(FIELDS["structured_output"].metadata["choices"])
    values["structured_output"] = cols[1].selectbox(
        "Structured output",
        shapes,
        index=shapes.index(s.structured_output),
        key="agents_llm_structured_output",
        help=FIELDS["structured_output"].metadata["help"],
    )
    agent_modes = list(FIELDS["agent_mode"].metadata["choices"])
    cols = st.columns(2)
    values["agent_mode"] = cols[0].selectbox(
        "Agents per request",
        agent_modes,
        index=agent_modes.index(s.agent_mode),
        key="agents_llm_agent_mode",
        format_func=AGENT_MODE_LABELS.get,
        help=FIELDS["agent_mode"].metadata["help"],
    )
    if values["agent_mode"] == "batched":
        values["batch_size"] = _number("batch_size", s.batch_size, cols[1])
    if values["agent_mode"] != "per_agent" and values["mode"] != "combined":
        st.caption("Batched and archetype requests ask for the combined decision: mode set to combined.")
        values["mode"] = "combined"
    if not model.strip():
        st.error("Not applied: the model is empty. Use a litellm model string, e.g. openai/gpt-4o-mini.")
        return
    try:
        edited = dataclasses.replace(s, model=model.strip(), api_base=api_base.strip() or None, **values)
    except ValueError as exc:
        st.error(f"Not applied: {message_md(exc)}")
        return
    if edited != s:
        ws.llm = dataclasses.replace(ws.llm, settings=edited)


def _subset_form(ws: Workspace) -> None:
    spec = ws.llm.subset
    pop = ws.population()
    bounds = (int(pop.age.min()), int(pop.age.max()))
    share = st.slider(
        "Share of agents",
        0.0,
        1.0,
        1.0 if spec.share is None else spec.share,
        step=0.01,
        key="agents_llm_share",
        help="A seeded random share of the agents that pass the filters below; 1 keeps them all.",
    )
    c = st.columns(3)
    categories = c[0].multiselect(
        "User categories",
        [m.name.lower() for m in UserCategory],
        default=list(spec.categories),
        key="agents_llm_categories",
        format_func=lambda n: label(UserCategory[n.upper()]),
        placeholder="all",
    )
    genders = c[1].multiselect(
        "Genders",
        [m.name.lower() for m in Gender],
        default=list(spec.genders),
        key="agents_llm_genders",
        placeholder="all",
    )
    occupations = c[2].multiselect(
        "Occupations",
        [m.name.lower() for m in Occupation],
        default=list(spec.occupations),
        key="agents_llm_occupations",
        placeholder="all",
        format_func=lambda n: OCCUPATION_LABELS[Occupation[n.upper()]],
    )
    ages = st.slider(
        "Ages", bounds[0], bounds[1], (spec.min_age or bounds[0], spec.max_age or bounds[1]), key="agents_llm_ages"
    )
    edited = llm.subset_from(share, categories, genders, occupations, ages, bounds)
    if edited != spec:
        ws.llm = dataclasses.replace(ws.llm, subset=edited)
    n = llm.subset_size(ws.llm.subset, ws.net.network, pop, ws.scenario.seed)
    st.caption(
        f"**{n:,} of {pop.size:,} agents** use the LLM ({md_escape(ws.llm.subset.describe())}); the rest, and any "
        "agent whose call fails, use the offline heuristic."
    )


def _check(settings: LLMSettings) -> ConnectionResult:
    try:
        return test_connection(settings)
    except Exception as exc:  # a bad setting must never crash the page
        return ConnectionResult(False, 0.0, redact(f"{type(exc).__name__}: {exc}", settings.secrets()))


def _actions(ws: Workspace) -> None:
    """Test connection and the cost estimate, each on demand; results stay until the next press."""
    c = st.columns(2)
    if c[0].button("Test connection", key="agents_llm_test", icon=":material/network_check:", width="stretch"):
        with st.spinner("Sending one small request..."):
            ws.llm_results["check"] = _check(ws.llm.settings)
    if c[1].button(
        "Estimate cost",
        key="agents_llm_estimate",
        icon=":material/calculate:",
        width="stretch",
        help="Runs the scenario once with the heuristic and counts the prompts the LLM agents would get.",
    ):
        with st.spinner("Estimating (a heuristic dry run of the scenario)..."):
            try:
                result = llm.estimate(ws, ws.llm)
            except Exception as exc:
                result = f"{type(exc).__name__}: {exc}"
            ws.llm_results["estimate"] = (ws.llm.signature(), ws.scenario, result)
    check = ws.llm_results.get("check")
    if check is not None:
        text = message_md(check.message.rstrip(". "))
        if check.ok and check.structured:
            st.success(f"Connected: {text}", icon=":material/check_circle:")
        elif check.ok:
            st.warning(f"Connected, but: {text}", icon=":material/warning:")
        else:
            st.error(f"Connection failed. {message_md(check.message)}", icon=":material/error:")
            if check.detail:
                with st.expander("The provider's message"):
                    st.text(check.detail)
    if "estimate" in ws.llm_results:
        signature, scenario, result = ws.llm_results["estimate"]
        if isinstance(result, str):
            st.error(f"Estimate failed: {message_md(result)}")
            return
        cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
        rows = {
            "LLM agents": f"{result.llm_agents:,}",
            "steps": result.steps,
            "decisions": f"{result.decisions:,}",
            "texts (quote/post)": f"{result.texts:,}",
            "calls": f"{result.calls:,}",
            "prompt tokens": f"{result.prompt_tokens:,}",
            "completion tokens": f"{result.completion_tokens:,}",
            "cost": cost,
        }
        st.dataframe(
            pd.DataFrame({"estimate": list(rows), "value": [str(v) for v in rows.values()]}),
            hide_index=True,
            width="stretch",
            key="agents_llm_estimate_table",
        )
        if result.modes:
            st.dataframe(
                pd.DataFrame(
                    {
                        "agents per request": [AGENT_MODE_LABELS[m.mode] for m in result.modes],
                        "calls": [f"{m.calls:,}" for m in result.modes],
                        "prompt tokens": [f"{m.prompt_tokens:,}" for m in result.modes],
                        "cost": ["unknown" if m.cost_usd is None else f"${m.cost_usd:.4f}" for m in result.modes],
                        "expected time": [f"{m.wall_s / 60:.1f} min" for m in result.modes],
                    }
                ),
                hide_index=True,
                width="stretch",
                key="agents_llm_estimate_modes",
            )
            st.caption(
                "The same run in each mode. Expected time assumes a hosted model (0.5 s per call plus 60 reply tokens "
                "a second) at this concurrency, and 10 ms of client work per call; measure yours with "
                "benchmarks/llm_bench.py."
            )
        stale = signature != ws.llm.signature() or scenario != ws.scenario
        st.caption(
            ("Settings or scenario changed since: press Estimate cost again. " if stale else "")
            + f"For {md_escape(result.model)} with an empty cache"
            + (" (litellm has no price for this model)" if result.cost_usd is None else "")
            + "; a rerun with the same seed is answered from the cache."
        )


def backend_panel(ws: Workspace) -> None:
    """The backend choice and, for the LLM, its settings, subset, connection test and estimate."""
    st.subheader("LLM backend")
    field = {f.name: f for f in dataclasses.fields(ws.scenario.run)}["backend"]
    choices = list(field.metadata["choices"])
    st.radio(
        "Decision backend",
        choices,
        index=choices.index(ws.scenario.run.backend),
        key="agents_backend",
        format_func=BACKENDS.get,
        horizontal=True,
        on_change=_set_backend,
        args=(ws,),
        help=field.metadata["help"],
    )
    if ws.scenario.run.backend == "llm":
        where = llm.cache_path(ws.run_dir)
        st.caption(
            "New runs on the Simulate page ask the model for the agents chosen below (press Reset there if a run "
            "is under way). Calls are batched, never stop a run, and are cached in the machine's shared LLM cache "
            f"({md_escape(str(where)) if where else 'in memory: $S3_LLM_CACHE is none'}), which the command line "
            "uses too."
        )
    else:
        st.caption(
            "Every agent uses the offline heuristic: no network, no key. The LLM settings below apply once "
            "you choose LLM."
        )
    with st.container(border=True):
        st.markdown("**Model and endpoint**")
        _settings_form(ws)
    with st.container(border=True):
        st.markdown("**Which agents use the LLM**")
        _subset_form(ws)
    _actions(ws)


# -- the Simulate page ---------------------------------------------------------------------------------
def run_counters(live: LiveRun) -> None:
    """Calls, cache hits, fallbacks, tokens and cost of the run's LLM backend (nothing for the heuristic)."""
    policy = llm.llm_policy(live.sim)
    if policy is None:
        return
    s = llm.stats(policy)
    mask = policy.mask(live.sim)
    st.caption(
        f"LLM backend: **{md_escape(policy.llm.settings.model)}** for {int(mask.sum()):,} of {len(mask):,} agents "
        f"({md_escape(policy.subset.describe())})."
    )
    m = st.columns(5)
    m[0].metric(
        "LLM calls",
        f"{s.calls:,}",
        help=f"HTTP requests sent, retries and repairs included, for {s.decisions:,} agent decisions.",
    )
    m[1].metric(
        "Cache hits",
        f"{s.cache_hits:,} ({s.hit_rate:.0%})",
        help="Prompts answered from the cache, and their share of the distinct prompts.",
    )
    m[2].metric(
        "Fallbacks",
        f"{s.fallbacks:,}",
        help=f"Agents whose LLM call failed and who kept the heuristic decision "
        f"(plus {s.text_fallbacks:,} text{'' if s.text_fallbacks == 1 else 's'} taken from the pool).",
    )
    m[3].metric(
        "Tokens",
        f"{s.prompt_tokens + s.completion_tokens:,}",
        help=f"{s.prompt_tokens:,} prompt + {s.completion_tokens:,} completion tokens.",
    )
    m[4].metric(
        "Cost",
        "unknown" if s.cost_usd is None else f"${s.cost_usd:.4f}",
        help="From litellm's price map; unknown for models it has no price for (e.g. local servers).",
    )
    for notice in s.notices:
        st.info(md_escape(notice), icon=":material/info:")
    if s.errors:
        st.dataframe(
            error_table(s),
            hide_index=True,
            key="sim_llm_errors",
            column_config={"calls": st.column_config.NumberColumn("failed calls", format="%d")},
        )
    judged = llm.run_verdict(s)
    last = llm.last_error(live) if s.errors else None
    if last:
        settings = policy.llm.settings
        sentence = explain(last[0], last[1], settings.model, settings.api_base, settings.timeout)
        detail = f" Latest failure: {message_md(sentence)}"
    else:
        detail = ""
    if judged.failed:
        st.error(
            f"**This is not an LLM run:** {message_md(judged.message())}. The agents concerned kept the offline "
            f"heuristic's decision.{detail}",
            icon=":material/error:",
        )
    elif s.errors:
        kinds = ", ".join(f"{error_label(k)} × {v:,}" for k, v in s.top_errors(len(s.errors)))
        st.warning(
            f"LLM errors so far: {md_escape(kinds)}. The agents concerned kept the offline heuristic's decision; "
            f"the run goes on.{detail}",
            icon=":material/cloud_off:",
        )


def error_table(s) -> pd.DataFrame:
    """Failed calls per error class, most frequent first, with what to do about each."""
    rows = s.top_errors(len(s.errors))
    return pd.DataFrame(
        {
            "error class": [error_label(k) for k, _ in rows],
            "calls": [v for _, v in rows],
            "what to do": [hint(k) for k, _ in rows],
        }
    )


# -- the agent inspector -----------------------------------------------------------------------------------
def decision_note(live: LiveRun, agent: int, action: str) -> str:
    """Why an LLM run's inspector has no probability chart for this agent."""
    policy = llm.llm_policy(live.sim)
    if policy is not None and llm.is_llm_agent(policy, live.sim, agent):
        return f"Chosen by the LLM: {action} (the heuristic's, if the call failed). The prompt and reply are below."
    return f"Decided by the offline heuristic: {action}. Action probabilities are not recorded in LLM runs."


def exchange_view(live: LiveRun, agent: int) -> None:
    """The agent's latest prompts and replies, as plain text."""
    policy = llm.llm_policy(live.sim)
    if policy is None:
        return
    st.markdown("**LLM prompt and response**")
    if not llm.is_llm_agent(policy, live.sim, agent):
        st.caption("This agent is not in the LLM subset: the offline heuristic decides for it.")
        return
    exchanges = policy.last_exchange(agent)
    if not exchanges:
        st.caption("No LLM call yet: the agent has not been exposed to any post in this run.")
        return
    for ex in exchanges:
        origin = "answered from the cache" if ex.cached else "sent to the model"
        st.markdown(f"*{md_escape(ex.kind)}*, step {ex.step}, {origin}")
        with st.expander("Prompt", expanded=False):
            st.text("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in ex.messages))
        st.text(ex.response if ex.response else "(no reply)")
        if ex.error:
            st.caption(f"Failed ({message_md(ex.error)}): the heuristic decision was kept.")
