"""Entry point of the S3 policy-intervention dashboard: `streamlit run app.py --server.address 127.0.0.1`.

Sets up navigation (Overview, Network, Agents, Interventions, Simulate, Compare, Traces, Validate) and
the sidebar summary of this session; each page also runs on its own (tests load them directly).
"""

from __future__ import annotations

import streamlit as st

from ui.session import ensure_defaults, use_app_navigation
from ui.widgets import md_escape

use_app_navigation()
# An emoji icon: a material icon would make the browser fetch a font from the internet.
st.set_page_config(page_title="S3 policy lab", page_icon="🕸️", layout="wide")


def overview() -> None:
    """The landing page: what the tool is, what is loaded, where to go next."""
    ws = ensure_defaults()
    st.title("S3 policy lab")
    st.markdown(
        "Test policy interventions on a simulated social network before trying them on people. "
        "Agents follow the **S3** model (Gao et al. 2023): awareness spreads along follow edges, "
        "emotion (calm, moderate, intense) and attitude (negative, positive) change as Markov processes "
        "driven by each agent's **memory pool**, and each exposed agent first chooses an **action** "
        "(ignore, repost, quote, post) before any text is chosen (Qiu et al. 2025)."
    )
    net = ws.net.network
    cols = st.columns(4)
    cols[0].metric("Users", f"{net.n_users:,}")
    cols[1].metric("Follow edges", f"{net.n_edges:,}")
    cols[2].metric("Scenario", ws.scenario.name)
    cols[3].metric("Interventions", len(ws.scenario.interventions))
    st.caption(
        f"Network: {md_escape(ws.net.label)}. Scenario: {md_escape(ws.scenario.description or ws.scenario.name)}"
    )
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
    ]
    for path, title, icon, text in steps:
        row = st.columns([1, 4], vertical_alignment="center")
        row[0].page_link(path, label=title, icon=icon)
        row[1].write(text)
    st.caption(
        f"Your runs are private to this browser session and stored in `{ws.run_dir}`. "
        "Everything runs offline; no API key is needed."
    )


def sidebar() -> None:
    ws = ensure_defaults()
    with st.sidebar:
        st.caption("This session")
        st.markdown(f"**Network** · {md_escape(ws.net.label)}")
        st.markdown(f"**Scenario** · {md_escape(ws.scenario.name)} · {len(ws.scenario.interventions)} interventions")
        live = ws.live
        if live is not None:
            state = "running" if live.running else f"step {live.steps_done}"
            st.markdown(f"**Interactive run** · {state}")
        if ws.running_jobs():
            st.markdown(f"**Batch runs** · {len(ws.running_jobs())} running")
        st.caption(f"session {ws.session_id[:8]}")


pages = [
    st.Page(overview, title="Overview", icon=":material/home:", url_path="overview", default=True),
    st.Page("pages/1_Network.py", title="Network", icon=":material/hub:", url_path="Network"),
    st.Page("pages/2_Agents.py", title="Agents", icon=":material/groups:", url_path="Agents"),
    st.Page("pages/3_Interventions.py", title="Interventions", icon=":material/campaign:", url_path="Interventions"),
    st.Page("pages/4_Simulate.py", title="Simulate", icon=":material/play_circle:", url_path="Simulate"),
    st.Page("pages/5_Compare.py", title="Compare", icon=":material/compare_arrows:", url_path="Compare"),
    st.Page("pages/6_Traces.py", title="Traces", icon=":material/table_view:", url_path="Traces"),
    st.Page("pages/7_Validate.py", title="Validate", icon=":material/fact_check:", url_path="Validate"),
]
current = st.navigation(pages)
sidebar()
current.run()
