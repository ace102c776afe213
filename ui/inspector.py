"""The Simulate page's lower panels: one agent in depth, and the network coloured by state at a step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from s3core.types import Gender, Occupation, Source, UserCategory, label

from . import charts, interview_view, llm_panel, netview, traces
from .live import LiveRun
from .session import Workspace
from .widgets import agent_suggestions, chart, md_escape, resolve_agent, sample_controls, sample_layout, show_network

EMOTIONS = ("calm", "moderate", "intense")
ATTITUDES = ("negative", "positive")
ACTIONS = ("ignore", "repost", "quote", "post")
LLM_SUGGESTED = 6  # the LLM's most-followed agents offered in an LLM run
POOL_COLUMNS = [
    "post",
    "author",
    "arrived (step)",
    "source",
    "time factor",
    "relevance",
    "source authenticity",
    "influence",
    "stance",
    "emotion",
    "labelled",
    "removed",
    "text",
]


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _decision_rows(d: dict) -> dict:
    """The inputs of one decision as readable rows (fields the engine does not send are left out)."""
    rows = {
        "posts received this step": d.get("received"),
        "mean emotion of received posts (0 calm - 2 intense)": d.get("mean_intensity"),
        "relevance of the most relevant received post": d.get("max_relevance"),
        "focal post (the strongest received)": f"{d['focal_post']} by {d['focal_author']}",
        "focal source": Source(d["focal_source"]).name.lower() if "focal_source" in d else None,
        "focal stance / emotion": (
            f"{ATTITUDES[d['focal_stance']]} / {EMOTIONS[d['focal_emotion']]}"
            if "focal_stance" in d and "focal_emotion" in d
            else None
        ),
        "focal age (steps)": d.get("focal_age"),
        "focal relevance": d.get("focal_relevance"),
        "focal labelled by a moderator": bool(d["focal_labelled"]) if "focal_labelled" in d else None,
        "memory pool: positive share (influence-weighted)": d.get("pool_positive"),
        "memory pool: total influence": d.get("pool_weight"),
        "knew of the event before this step": bool(d["was_aware"]) if "was_aware" in d else None,
        "earlier actions on the event": d.get("actions_taken"),
    }
    return {k: v for k, v in rows.items() if v is not None}


def history_to_step(history: pd.DataFrame, step: int, current: dict | None = None) -> pd.DataFrame:
    """An agent's state history (rows step, aware, emotion, attitude at the steps it changed, step -1 the
    start) run on to ``step``, the run's latest finished step, so the chart ends where the run is.

    The closing row holds ``current`` (the live state: exact even when the trace is a few steps behind),
    else the last recorded state carried forward. Nothing is added when the history is empty, already
    reaches ``step``, or no step has run (``step`` < 0).
    """
    if not len(history) or step < 0 or int(history["step"].max()) >= step:
        return history
    last = history.sort_values("step").iloc[-1]
    row = {column: last[column] for column in history.columns}
    row["step"] = step
    if current is not None:
        row.update({k: current[k] for k in ("aware", "emotion", "attitude") if k in current and k in row})
    return pd.concat([history, pd.DataFrame([row])], ignore_index=True).astype(history.dtypes.to_dict())


def _llm_agents(live: LiveRun) -> np.ndarray | None:
    """Sorted agent indices the run's LLM decides for; None in a heuristic run."""
    from .llm import llm_policy

    policy = llm_policy(live.sim)
    return None if policy is None else np.flatnonzero(policy.mask(live.sim))


def _in(sorted_agents: np.ndarray, agent: int | None) -> bool:
    if agent is None or not len(sorted_agents):
        return False
    i = np.searchsorted(sorted_agents, agent)
    return bool(i < len(sorted_agents) and sorted_agents[i] == agent)


def agent_inspector(ws: Workspace, live: LiveRun, recent_agents: list[int]) -> None:
    """Profile, state, memory pool with every influence factor, state history and the last decision."""
    net = live.net.network
    mps = live.sim.scenario.minutes_per_step
    llm_agents = _llm_agents(live)
    if llm_agents is not None:  # the LLM's agents first: recent posters among them, then its most-followed
        top = llm_agents[np.argsort(-net.follower_count[llm_agents], kind="stable")[:LLM_SUGGESTED]]
        recent_agents = [a for a in recent_agents if _in(llm_agents, a)] + top.tolist() + recent_agents
    options = agent_suggestions(net, recent_agents)
    marked = set()  # the suggestions' user ids the LLM decides for (from their agent indices: no id lookup)
    if llm_agents is not None:
        suggested = recent_agents + np.argsort(-net.follower_count, kind="stable")[: len(options)].tolist()
        marked = {str(net.user_ids[a]) for a in suggested if _in(llm_agents, a)}
    pick = st.selectbox(
        "Agent (user id or agent index)",
        options,
        key="sim_agent",
        accept_new_options=True,
        index=None,
        format_func=lambda uid: f"{uid} · LLM agent" if uid in marked else uid,
        placeholder="the newest poster (pick or type another user id or index)",
        help="Recent posters and the most-followed users are suggested (in an LLM run, the LLM's agents first, "
        "marked); type any user id, or an agent index as #N.",
    )
    agent = resolve_agent(net, pick if pick is not None else options[0])
    if agent is None:
        st.error(
            f"No user {md_escape(pick)} in this network. Type a user id from the feed, or an agent index "
            f"as #N (#0 to #{net.n_users - 1})."
        )
        return
    info = live.inspect(agent)
    c = st.columns(2)
    with c[0], st.container(border=True):
        st.markdown("**Profile**")
        hist = info["history_stance"]
        st.markdown(
            md_escape(f"user {info['user_id']} (agent {agent})") + "  \n"
            f"{info['age']} years · {label(Gender(info['gender']))} · {label(Occupation(info['occupation']))}  \n"
            f"{label(UserCategory(info['category']))} user · {info['followers']:,} followers · "
            f"{info['followees']:,} followees  \n"
            + ("no posting history" if hist is None else f"posting history {hist:.0%} positive")
        )
    with c[1], st.container(border=True):
        st.markdown(f"**State after step {info['step'] - 1}**" if info["step"] else "**State at the start**")
        if info["aware"]:
            st.markdown(
                f"aware since step {info['aware_step']} · emotion **{EMOTIONS[info['emotion']]}** · "
                f"attitude **{ATTITUDES[info['attitude']]}** · {info['actions_taken']} action{'' if info['actions_taken'] == 1 else 's'} so far"
            )
        else:
            st.markdown(f"unaware · attitude would start **{ATTITUDES[info['attitude']]}**")

    params = live.sim.scenario.memory
    st.markdown("**Memory pool** (the messages this agent keeps, strongest influence first)")
    st.caption(
        f"influence = {params.weight_time:g} × time factor + {params.weight_relevance:g} × relevance + "
        f"{params.weight_source:g} × source authenticity; the time factor halves every {params.half_life:g} steps."
    )
    if info["pool"]:
        pool = (
            pd.DataFrame(info["pool"])
            .sort_values("score", ascending=False)
            .rename(
                columns={
                    "arrived_step": "arrived (step)",
                    "temporal": "time factor",
                    "authenticity": "source authenticity",
                    "score": "influence",
                }
            )
        )
        st.dataframe(
            pool[POOL_COLUMNS],
            hide_index=True,
            width="stretch",
            key="sim_pool",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("time factor", "relevance", "source authenticity", "influence")
            },
        )
    else:
        st.caption("Empty: nothing has reached this agent yet.")

    d = info["decision"]
    c = st.columns(2)
    with c[0]:
        history = traces.agent_history(ws, live.path, agent) if live.has_trace else pd.DataFrame()
        chart(charts.state_history(history_to_step(history, info["step"] - 1, info), mps), key="sim_history")
    with c[1]:
        if d is None:
            st.markdown("**Last decision**")
            st.caption("None yet: the agent has not been exposed to any post.")
        elif all(p != p for p in d["probabilities"]):  # NaN: a backend without probabilities (the LLM) chose
            st.markdown("**Last decision**")
            st.caption(llm_panel.decision_note(live, agent, ACTIONS[d["action"]]))
        else:
            chart(charts.decision_probabilities(d["probabilities"], ACTIONS[d["action"]]), key="sim_decision")
    if d is not None:
        st.markdown(
            f"**Last decision, step {d['step']}**: {ACTIONS[d['action']]} · emotion "
            f"{EMOTIONS[d['emotion']]} → {EMOTIONS[d['new_emotion']]} · attitude "
            f"{ATTITUDES[d['attitude']]} → {ATTITUDES[d['new_attitude']]}"
        )
        rows = _decision_rows(d)
        st.dataframe(
            pd.DataFrame({"input": list(rows), "value": [_fmt(v) for v in rows.values()]}),
            hide_index=True,
            width="stretch",
            key="sim_decision_inputs",
        )
        st.markdown("Focal post text:")
        st.text(d["focal_text"])
    llm_panel.exchange_view(live, agent)
    interview_view.interview_panel(ws, live, agent, info)


def state_network_view(ws: Workspace, live: LiveRun, recent_agents: list[int]) -> None:
    """A sample or ego network coloured by awareness and emotion or attitude at the latest (or a chosen) step."""
    net = live.net.network
    mps = live.sim.scenario.minutes_per_step
    mode, size, center = sample_controls(net, "sim_view", extra=recent_agents)
    c = st.columns([1, 1, 2], vertical_alignment="bottom")
    color_by = c[0].radio("Colour by", ["emotion", "attitude"], horizontal=True, key="sim_view_color")
    follow = c[1].toggle("Latest step", value=True, key="sim_view_follow", help="Off: pick any recorded step.")
    steps_done = live.steps_done
    at_step = steps_done - 1
    if not follow and steps_done > 1:
        at_step = c[2].slider("At step", 0, steps_done - 1, steps_done - 1, key="sim_view_step")
    lay = sample_layout(live.net.key, mode, size, center, net)
    nodes = lay.nodes.tolist()
    if live.has_trace and at_step >= 0:
        state = traces.states_at(ws, live.path, at_step, nodes)
    else:
        state = pd.DataFrame({"agent": nodes, "aware": False, "emotion": 0, "attitude": 0})
    aware, emotion, attitude = (state[k].to_numpy() for k in ("aware", "emotion", "attitude"))
    colors = netview.state_colors(aware, emotion, attitude, color_by)
    titles = [
        f"{net.user_ids[a]} · " + (f"aware, {EMOTIONS[int(e)]}, {ATTITUDES[int(t)]}" if w else "unaware")
        for a, w, e, t in zip(nodes, aware, emotion, attitude)
    ]
    labels = [str(net.user_ids[a])[:10] for a in nodes] if len(nodes) <= 80 else None
    html = netview.render(lay, colors, titles, netview.node_sizes(net.follower_count[lay.nodes]), labels)
    legend = (
        "grey = unaware, sky blue = calm, orange = moderate, vermillion = intense"
        if color_by == "emotion"
        else "grey = unaware, blue = positive, vermillion = negative"
    )
    when = "before the first step" if at_step < 0 else f"after step {at_step} ({(at_step + 1) * mps / 60:g} h)"
    st.caption(f"State {when}: {int(aware.sum())} of {len(nodes)} shown users aware. {legend}.")
    show_network(html)
