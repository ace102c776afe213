"""Agents: the population, its initial state, the decision policy and every model parameter.

Parameter widgets are built from the parameter dataclasses' own metadata (range, help, choices).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from s3core import params as P
from s3core.demographics import DemographicParams
from s3core.engine import Simulation
from s3core.types import UserCategory, label
from ui import charts, llm_panel, policy_view, profiles_panel
from ui.params_form import clear_widgets, params_form
from ui.session import ensure_defaults, show_flash, text_resources
from ui.widgets import chart

GROUP_TITLES = {
    "emotion": "Emotion",
    "attitude": "Attitude",
    "memory": "Memory pool",
    "platform": "Platform",
    "policy": "Action policy",
}


def _restore(ws, group: str) -> None:
    if group == "population":
        ws.scenario = ws.scenario.replace(population={})
        clear_widgets("agents_population", DemographicParams)
    else:
        cls = P.PARAM_GROUPS[group]
        ws.scenario = ws.scenario.replace(**{group: cls()})
        clear_widgets(f"agents_{group}", cls)
    ws.notify("success", f"{GROUP_TITLES.get(group, 'Population shares')}: defaults restored.")


ws = ensure_defaults()
st.title("Agents")
st.caption(
    "Who the agents are, how they start, and how they decide. Changes here apply to the next run "
    "(press Reset on the Simulate page if a run is under way)."
)
show_flash(ws)

pop_box, policy_box, params_box = st.container(), st.container(), st.container()

# -- parameters -------------------------------------------------------------------------------------
with params_box:
    st.header("Parameters")
    st.caption("Ranges and help texts come from the model's own parameter definitions. Hover the ? for what each does.")
    groups = list(GROUP_TITLES) + ["population"]
    ptabs = st.tabs([GROUP_TITLES.get(g, "Population shares") for g in groups], key="agents_param_tabs")
    changed = {}
    for tab, group in zip(ptabs, groups):
        with tab:
            if group == "population":
                current = DemographicParams(**ws.scenario.population)
                st.caption(
                    "Used only where neither the users file nor the text says anything; shares are renormalised."
                )
                try:
                    edited = params_form(current, "agents_population", columns=3)
                except ValueError as exc:  # e.g. every age share set to zero
                    st.error(f"Not applied: {exc}")
                    edited = current
            else:
                current = getattr(ws.scenario, group)
                st.caption((type(current).__doc__ or "").strip().splitlines()[0])
                edited = params_form(current, f"agents_{group}", columns=2)
            st.button("Restore defaults", key=f"agents_restore_{group}", on_click=_restore, args=(ws, group))
            if edited != current:
                changed[group] = edited

    if changed:
        try:
            updates = {}
            for group, edited in changed.items():
                if group == "population":
                    defaults = DemographicParams()
                    updates["population"] = {
                        f.name: getattr(edited, f.name)
                        for f in dataclasses.fields(edited)
                        if getattr(edited, f.name) != getattr(defaults, f.name)
                    }
                else:
                    P.validate(edited)
                    updates[group] = edited
            ws.scenario = ws.scenario.replace(**updates)
        except ValueError as exc:
            st.error(f"Not applied: {exc}")

# -- population ---------------------------------------------------------------------------------
with pop_box:
    pop = ws.population()
    net = ws.net.network
    probe = Simulation(ws.scenario.replace(interventions=()), network=net, text=text_resources(), population=pop)
    initial = probe.state.attitude
    has_history = ~np.isnan(pop.history_stance)

    st.header("Population")
    cols = st.columns(5)
    cols[0].metric("Agents", f"{pop.size:,}")
    for i, c in enumerate(UserCategory):
        cols[1 + i].metric(label(c).capitalize(), f"{int((pop.category == c).sum()):,}")
    cols[4].metric("Start positive", f"{initial.mean():.1%}")

    tabs = st.tabs(
        ["Demographics", "Initial attitude and emotion", "Profiles (S3 profiling)"],
        key="agents_pop_tabs",
        on_change="rerun",
    )
    with tabs[0]:
        if tabs[0].open:
            c = st.columns(2)
            with c[0]:
                chart(charts.age_histogram(pop.age), key="agents_age")
            with c[1]:
                chart(charts.gender_bars(pop.gender), key="agents_gender")
            chart(charts.occupation_bars(pop.occupation), key="agents_occupation")
    with tabs[1]:
        if tabs[1].open:
            c = st.columns(2)
            with c[0]:
                chart(charts.initial_attitude(initial, pop.category, has_history), key="agents_initial_attitude")
                st.caption(
                    f"{has_history.mean():.0%} of agents have a posting history; its stance shifts their starting "
                    "attitude (history weight below). The rest start from the population prior."
                )
            with c[1]:
                received, curves = policy_view.emotion_rise(ws.scenario.emotion)
                chart(charts.emotion_rise_curves(received, curves), key="agents_emotion_rise")
                st.caption(
                    "Every agent starts **calm and unaware** (S3). Once exposed, a calm agent becomes moderate or "
                    "intense with this chance per step (for a post of relevance 0.3): the level of the post it reads "
                    "counts, not how many arrive. Emotion decays toward calm when nothing new arrives."
                )
    with tabs[2]:
        if tabs[2].open:
            profiles_panel.profiles_panel(ws)  # who filled each attribute; S3's profiling by the LLM

# -- policy ---------------------------------------------------------------------------------------
with policy_box:
    st.header("Decision policy")
    left, right = st.columns([1, 1])
    with left:
        with st.container(border=True):
            st.subheader(
                "Offline heuristic (active)"
                if ws.scenario.run.backend == "heuristic"
                else "Offline heuristic (for agents outside the LLM subset and failed calls)"
            )
            st.markdown(
                "Each exposed agent first updates emotion and attitude (Markov steps driven by its memory pool), "
                "then chooses **ignore, repost, quote or post** from a multinomial logit over the focal post: "
                "relevance, source, stance agreement, staleness, fatigue and the agent's category and emotion. "
                "Post texts are drawn from real posts matching the new emotion and attitude. No network, no API key."
            )
            vary = st.selectbox(
                "Vary",
                list(policy_view.VARIABLES),
                key="agents_explore_vary",
                format_func=lambda v: policy_view.VARIABLES[v][0],
            )
            c = st.columns(3)
            category = c[0].selectbox(
                "Agent category", list(UserCategory), index=1, key="agents_explore_category", format_func=label
            )
            emotion = c[1].select_slider(
                "Agent emotion",
                [0, 1, 2],
                value=1,
                key="agents_explore_emotion",
                format_func=["calm", "moderate", "intense"].__getitem__,
            )
            agrees = c[2].toggle("Post agrees with agent", value=True, key="agents_explore_agrees")
            x, probs = policy_view.action_curve(ws.scenario.policy, vary, int(category), emotion, agrees)
            chart(
                charts.action_probabilities(
                    x, probs, policy_view.VARIABLES[vary][0], "What the policy does: action probabilities"
                ),
                key="agents_explore_chart",
            )
    with right:
        with st.container(border=True, key="agents_llm_panel"):
            llm_panel.backend_panel(ws)
