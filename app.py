"""Entry point of the S3 policy-intervention dashboard: `streamlit run app.py --server.address 127.0.0.1`.

Sets up navigation (Overview, Network, Agents, Interventions, Simulate, Compare, Traces, Validate, Runs,
Model) and the sidebar summary of this workspace; each page also runs on its own (tests load them directly).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import streamlit as st

from ui import workspace_store as store
from ui.example import network_note, render_try_example
from ui.session import Workspace, ensure_defaults, show_flash, take_hand_off, use_app_navigation
from ui.widgets import md_escape

use_app_navigation()
# An emoji icon: a material icon would make the browser fetch a font from the internet.
st.set_page_config(page_title="S3 policy lab", page_icon="🕸️", layout="wide")


def overview() -> None:
    """The landing page: what the tool is, what is loaded, where to go next."""
    ws = ensure_defaults()
    st.title("S3 policy lab")
    show_flash(ws)
    st.markdown(
        "Test policy interventions on a simulated social network before trying them on people. "
        "Agents follow the **S3** model (Gao et al. 2023): awareness spreads along follow edges, "
        "emotion (calm, moderate, intense) and attitude (negative, positive) change as Markov processes "
        "driven by each agent's **memory pool**, and each exposed agent first chooses an **action** "
        "(ignore, repost, quote, post) before any text is chosen (Qiu et al. 2025)."
    )
    render_try_example(ws)
    net = ws.net.network  # the loaded network, as the Network page counts it
    cols = st.columns(5)
    cols[0].metric("Users", f"{net.n_users:,}")
    cols[1].metric("Follow edges", f"{net.n_edges:,}", help="Of the loaded network (Network page).")
    cols[2].metric("Mean followees", f"{net.n_edges / max(net.n_users, 1):.2f}")
    cols[3].metric("Scenario", ws.scenario.name)
    cols[4].metric("Interventions", len(ws.scenario.interventions))
    st.caption(
        f"Network: {md_escape(ws.net.label)}. Scenario: {md_escape(ws.scenario.description or ws.scenario.name)}"
    )
    if note := network_note(ws):
        st.caption(md_escape(note))
    st.subheader("Workflow")
    steps = [
        (
            "pages/1_Network.py",
            "Network",
            ":material/hub:",
            "choose the bundled Weibo sample, a synthetic graph or your own files.",
        ),
        ("pages/2_Agents.py", "Agents", ":material/groups:", "look at the population and tune the model's parameters."),
        (
            "pages/3_Interventions.py",
            "Interventions",
            ":material/campaign:",
            "schedule seed posts, boosts and moderation; save the scenario as TOML.",
        ),
        (
            "pages/4_Simulate.py",
            "Simulate",
            ":material/play_circle:",
            "step or run the simulation and watch it spread; inspect any agent.",
        ),
        (
            "pages/5_Compare.py",
            "Compare",
            ":material/compare_arrows:",
            "overlay runs against a no-intervention baseline.",
        ),
        (
            "pages/6_Traces.py",
            "Traces",
            ":material/table_view:",
            "filter and export every post, state change and metric.",
        ),
        (
            "pages/7_Validate.py",
            "Validate",
            ":material/fact_check:",
            "replay real cascades and compare the curves with baselines and published figures.",
        ),
        (
            "pages/8_Runs.py",
            "Runs",
            ":material/folder_open:",
            "every run and experiment of this workspace: open, compare, export or delete them.",
        ),
        (
            "pages/9_Model.py",
            "Model",
            ":material/menu_book:",
            "the assumptions, the equations with the current values, calibration, limitations and how to cite.",
        ),
    ]
    for path, title, icon, text in steps:
        row = st.columns([1, 4], vertical_alignment="center")
        row[0].page_link(path, label=title, icon=icon)
        row[1].write(text)
    workspace_link(ws)


def workspace_link(ws: Workspace) -> None:
    """Where this workspace's work is kept, and the link that brings it back."""
    try:
        age = store.max_age_days()
    except store.WorkspaceError:  # ensure_defaults has shown the message; no cleanup runs
        age = 0
    kept = f"Workspaces unused for {age:g} days are deleted." if age > 0 else "Workspaces are kept until deleted."
    st.markdown("**Your workspace**")
    st.caption(
        "Your scenario, runs and experiments are kept in this workspace, private to whoever has its link. "
        "Reloading the page keeps it; to come back later or from another tab, use this link "
        f"(a run that is still going on is found there too). Files: `{ws.run_dir}`. {kept} "
        "Everything runs offline; no API key is needed."
    )
    st.code(link_of(ws), language=None)


def link_of(ws: Workspace) -> str:
    """This page's address with only ``?ws=<id>`` as its query (the address of the workspace)."""
    try:
        url = urlsplit(st.context.url or "")
    except (AttributeError, RuntimeError, ValueError):
        url = urlsplit("")
    return urlunsplit((url.scheme, url.netloc, url.path or "/", f"{store.QUERY_KEY}={ws.session_id}", ""))


def summary(ws: Workspace) -> tuple:
    """What the sidebar shows, to tell whether a page changed it."""
    live = ws.live
    if live is None:
        state = None
    elif live.running:
        state = f"paused at step {live.steps_done}" if live.paused else "running"
    else:
        state = f"step {live.steps_done}"
    return (ws.net.label, ws.scenario.name, len(ws.scenario.interventions), state, len(ws.running_jobs()))


def sidebar(slot, ws: Workspace) -> tuple:
    """Draw the workspace summary into the sidebar's slot; returns what it showed."""
    shown = summary(ws)
    label, name, interventions, state, jobs = shown
    with slot.container():
        st.caption("This workspace")
        st.markdown(f"**Network** · {md_escape(label)}")
        st.markdown(f"**Scenario** · {md_escape(name)} · {interventions} interventions")
        if state is not None:
            st.markdown(f"**Interactive run** · {state}")
        if jobs:
            st.markdown(f"**Batch runs** · {jobs} running")
        st.caption(f"workspace {ws.session_id[:8]}")
    return shown


pages = [
    st.Page(overview, title="Overview", icon=":material/home:", url_path="overview", default=True),
    st.Page("pages/1_Network.py", title="Network", icon=":material/hub:", url_path="Network"),
    st.Page("pages/2_Agents.py", title="Agents", icon=":material/groups:", url_path="Agents"),
    st.Page("pages/3_Interventions.py", title="Interventions", icon=":material/campaign:", url_path="Interventions"),
    st.Page("pages/4_Simulate.py", title="Simulate", icon=":material/play_circle:", url_path="Simulate"),
    st.Page("pages/5_Compare.py", title="Compare", icon=":material/compare_arrows:", url_path="Compare"),
    st.Page("pages/6_Traces.py", title="Traces", icon=":material/table_view:", url_path="Traces"),
    st.Page("pages/7_Validate.py", title="Validate", icon=":material/fact_check:", url_path="Validate"),
    st.Page("pages/8_Runs.py", title="Runs", icon=":material/folder_open:", url_path="Runs"),
    st.Page("pages/9_Model.py", title="Model", icon=":material/menu_book:", url_path="Model"),
]
current = st.navigation(pages)
workspace = ensure_defaults()
take_hand_off(current.url_path)
slot = st.sidebar.empty()
before = sidebar(slot, workspace)
current.run()
# Drawn again once the page has run when it changed something the summary shows (e.g. a new network).
# A page that ends with st.stop() ends this script too; those pages change nothing shown here.
if summary(workspace) != before:
    sidebar(slot, workspace)
