"""The LLM backend on the pages: the Agents page's settings panel, the Simulate page's counters, the inspector's exchange.

Setting widgets come from ``LLMSettings`` field metadata (range, help, choices). The API key is taken
from its password box by a callback, wrapped in a ``Secret`` and the box is emptied, so the key is
never sent back to the browser and lives only in this session's workspace.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import streamlit as st

from s3core.llm.archetypes import distributions
from s3core.llm.cost import duration
from s3core.llm.errors import hint
from s3core.llm.errors import label as error_label
from s3core.llm.explain import explain
from s3core.llm.gateway import ConnectionResult, test_connection
from s3core.llm.schemas import ACTIONS, ATTITUDES, EMOTIONS
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
MODE_SHORT = {"per_agent": "per-agent", "batched": "batched", "archetype": "archetype"}
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
    st.caption(subset_sentence(n, pop.size, ws.llm.subset.describe()))


def subset_sentence(n: int, total: int, described: str) -> str:
    """Who uses the LLM, in one sentence: all agents, none, or n of them and the heuristic for the rest."""
    if n >= total:
        return (
            f"**All {total:,} agents** use the LLM; an agent whose call fails keeps the offline heuristic's decision "
            "for that step."
        )
    if n == 0:
        return f"**No agent** passes these filters ({md_escape(described)}): every agent uses the offline heuristic."
    return (
        f"**{n:,} of {total:,} agents** use the LLM ({md_escape(described)}); the rest, and any agent whose call "
        "fails, use the offline heuristic."
    )


def requests_sentence(settings: LLMSettings) -> str:
    """What one LLM request carries in the chosen agent mode."""
    if settings.agent_mode == "batched":
        return (
            f"Up to {settings.batch_size} agents' decisions go in one request (batched), and their quote or post "
            "texts in another"
        )
    if settings.agent_mode == "archetype":
        return (
            "One request per cell of similar agents (archetype): each member draws its own decision from the cell's "
            "answer"
        )
    return "Each LLM agent's decision is its own request (per-agent), and a quote or post text a second one"


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
            ws.llm_results["check_signature"] = _settings_signature(ws)
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
        if ws.llm_results.get("check_signature") != _settings_signature(ws):
            st.caption("Settings changed since this test: press Test connection again.")
    if "estimate" in ws.llm_results:
        signature, scenario, result = ws.llm_results["estimate"]
        if isinstance(result, str):
            st.error(f"Estimate failed: {message_md(result)}")
            return
        _estimate_view(ws, signature, scenario, result)


def _settings_signature(ws: Workspace) -> tuple:
    """What a connection test depends on: the settings (the key by identity), not the subset."""
    return ws.llm.signature()[:2]


def modes_frame(result) -> pd.DataFrame:
    """The run in each agent mode, modes as columns (narrow enough for the panel); the chosen one marked ✓."""
    columns = {"whole run": ["calls", "prompt tokens", "completion tokens", "cost", "expected time"]}
    for m in result.modes:
        name = MODE_SHORT[m.mode] + (" ✓" if m.mode == result.agent_mode else "")
        columns[name] = [
            f"{m.calls:,}",
            f"{m.prompt_tokens:,}",
            f"{m.completion_tokens:,}",
            "unknown" if m.cost_usd is None else f"${m.cost_usd:.4f}",
            duration(m.wall_s, 0),
        ]
    return pd.DataFrame(columns)


MODES_CAPTION = (
    "The same run in each agent mode (✓: the chosen one). Expected time assumes a hosted model (0.5 s per call plus "
    "60 reply tokens a second) at this concurrency, and 10 ms of client work per call; measure yours with "
    "benchmarks/llm_bench.py. Batched can take longer than per-agent when steps are small: it sends fewer but longer "
    "calls, and a reply holding k answers takes about k times as long to generate, so batching saves calls and client "
    "work, not waiting; and with few LLM agents deciding per step most batches are not full, so the batch size barely "
    "changes the count."
)


def _estimate_view(ws: Workspace, signature: tuple, scenario, result) -> None:
    """The estimate for the agent mode it was made for (``result.agent_mode``), then every mode side by side."""
    mode = AGENT_MODE_LABELS.get(result.agent_mode, result.agent_mode)
    if result.agent_mode == "batched":
        size = json.loads(signature[0]).get("batch_size")  # the settings the estimate was made with
        mode += f", up to {size} a request" if size else ""
    rows = {
        "agents per request": mode,
        "LLM agents": f"{result.llm_agents:,}",
        "steps": result.steps,
        "decisions": f"{result.decisions:,}",
        "texts (quote/post)": f"{result.texts:,}",
        "calls": f"{result.calls:,}",
        "prompt tokens": f"{result.prompt_tokens:,}",
        "completion tokens": f"{result.completion_tokens:,}",
        "cost": "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}",
        "expected time": duration(result.wall_s, 0),
    }
    st.dataframe(
        pd.DataFrame({"estimate": list(rows), "value": [str(v) for v in rows.values()]}),
        hide_index=True,
        width="stretch",
        key="agents_llm_estimate_table",
    )
    if result.modes:
        st.dataframe(modes_frame(result), hide_index=True, width="stretch", key="agents_llm_estimate_modes")
        st.caption(MODES_CAPTION)
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
    about = st.empty()  # filled after the form, so it describes the agent mode just chosen
    with st.container(border=True):
        st.markdown("**Model and endpoint**")
        _settings_form(ws)
    if ws.scenario.run.backend == "llm":
        where = llm.cache_path(ws.run_dir)
        about.caption(
            "New runs on the Simulate page ask the model for the agents chosen below (press Reset there if a run "
            f"is under way). {requests_sentence(ws.llm.settings)}; a step's requests go out concurrently, a failed "
            "call never stops a run, and answers are cached in the machine's shared LLM cache "
            f"({md_escape(str(where)) if where else 'in memory: $S3_LLM_CACHE is none'}), which the command line "
            "uses too."
        )
    else:
        about.caption(
            "Every agent uses the offline heuristic: no network, no key. The LLM settings below apply once "
            "you choose LLM."
        )
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
    settings = policy.llm.settings
    per_request = AGENT_MODE_LABELS.get(settings.agent_mode, settings.agent_mode)
    if settings.agent_mode == "batched":
        per_request += f", up to {settings.batch_size} a request"
    st.caption(
        f"LLM backend: **{md_escape(settings.model)}**, agents per request: {per_request}, for "
        f"{int(mask.sum()):,} of {len(mask):,} agents ({md_escape(policy.subset.describe())})."
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
TEXT_KINDS = ("text", "text_batch")  # exchanges that write a quote or post, not the decision
_CELL_SIZE = re.compile(r"The group \((\d+) users?\)")


def _decision_exchanges(live: LiveRun, policy, agent: int) -> list:
    """The exchanges that decided the agent's latest decision (texts left out); [] when none is kept for it."""
    last = getattr(live.sim.policy, "last", None)
    decided = last(agent) if callable(last) else None
    step = None if decided is None else decided["step"]
    return [ex for ex in policy.last_exchange(agent) if ex.kind not in TEXT_KINDS and (step is None or ex.step == step)]


def decision_note(live: LiveRun, agent: int, action: str) -> str:
    """Why an LLM run's inspector has no probability chart for this agent, and who chose its action."""
    policy = llm.llm_policy(live.sim)
    if policy is None or not llm.is_llm_agent(policy, live.sim, agent):
        return f"Decided by the offline heuristic: {action}. Action probabilities are not recorded in LLM runs."
    exchanges = _decision_exchanges(live, policy, agent)
    if not exchanges:
        return f"An LLM agent: {action}. Its exchange for this decision is not kept, so its source is not shown here."
    failed = next((ex for ex in exchanges if ex.error or ex.parsed is None), None)
    if failed is not None:
        why = message_md(failed.error or "no usable reply")
        return f"The LLM call failed ({why}), so this is the offline heuristic's decision: {action}."
    if any(ex.kind == "archetype" for ex in exchanges):
        return f"Drawn from the LLM's answer for this agent's cell: {action}. The prompt and reply are below."
    return f"Chosen by the LLM: {action}. The prompt and reply are below."


def archetype_note(ex) -> str:
    """What an archetype reply is to the inspected agent: its cell's answer, from which it drew its own decision."""
    size = _CELL_SIZE.search(ex.messages[-1]["content"]) if ex.messages else None
    n = int(size.group(1)) if size else 0
    if n == 1:
        whose = "This reply is the answer for this agent's cell, which held only this agent this step"
    else:
        whose = (
            f"This reply is the answer for this agent's cell of {n or 'several'} similar agents (the prompt says "
            "what they share), not for this agent alone"
        )
    note = (
        f"{whose}: the agent drew its own emotion, attitude and action from these probabilities (normalised to sum "
        "to 1) with its own keyed random numbers, so members of one cell can differ."
    )
    if ex.parsed is None or ex.error:
        return note
    got = distributions(ex.parsed)
    if isinstance(got, str):
        return note
    names = (("emotion", EMOTIONS), ("attitude", ATTITUDES), ("action", ACTIONS))
    shown = "; ".join(
        f"{name}: " + ", ".join(f"{k} {v:.2f}" for k, v in zip(labels, p)) for (name, labels), p in zip(names, got)
    )
    return f"{note} Normalised: {shown}."


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
        if ex.kind == "archetype":
            st.caption(archetype_note(ex))
        if ex.error:
            st.caption(f"Failed ({message_md(ex.error)}): the heuristic decision was kept.")
