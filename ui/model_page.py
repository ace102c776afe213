"""The Model page's content: what the simulator assumes, its equations with the scenario's current values.

Like NetLogo's Info tab: every equation is written from the code that runs it (``s3core.transitions``,
``memory``, ``policy``, ``feeds``) and filled in with the workspace scenario's parameters, so
what the page shows is what a run does. Calibration, validation, limitations and citations are
in ``ui.model_facts``.
"""

from __future__ import annotations

from dataclasses import fields

import pandas as pd
import streamlit as st

from s3core import params as P
from s3core import scenario as S

from . import model_facts


def v(value) -> str:
    """A parameter value as LaTeX shows it (a number in braces, so a minus sign binds)."""
    if isinstance(value, float):
        return "{" + f"{value:.4g}" + "}"
    return "{" + str(value) + "}"


def parameter_table(group: str, current) -> pd.DataFrame:
    """One row per parameter of a group: name, current value, default, whether changed, meaning."""
    default = type(current)()
    rows = []
    for f in fields(current):
        now, was = getattr(current, f.name), getattr(default, f.name)
        rows.append(
            {
                "parameter": f"{group}.{f.name}",
                "value": _text(now),
                "default": _text(was),
                "changed": "yes" if now != was else "",
                "meaning": f.metadata.get("help", ""),
            }
        )
    return pd.DataFrame(rows)


def _text(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _parameters(group: str, current) -> None:
    st.dataframe(parameter_table(group, current), hide_index=True, width="stretch")


def render(scenario: S.Scenario) -> None:
    """The page's content (below its title) for one scenario, the workspace's current one."""
    st.caption(
        "What the simulator assumes and computes, with the current scenario's parameter values "
        f"({scenario.name}, seed {scenario.seed}, {scenario.minutes_per_step:g} minutes per step). "
        "Change a value on Agents or Interventions, or load a scenario, and this page follows."
    )
    fit = model_facts.matching_fit(scenario)
    if fit:
        st.info(
            f"The scenario's mechanics are the {fit} calibration (data/params/{fit}.json); see the Calibration and validation tab."
        )
    tabs = st.tabs(["Assumptions", "Equations", "Calibration and validation", "Limitations", "Cite"])
    with tabs[0]:
        assumptions(scenario)
    with tabs[1]:
        emotion(scenario.emotion)
        attitude(scenario.attitude)
        memory(scenario.memory)
        action(scenario.policy)
        feeds(scenario.platform)
        interventions()
    with tabs[2]:
        model_facts.calibration(scenario)
    with tabs[3]:
        model_facts.limitations()
    with tabs[4]:
        model_facts.citations()


def assumptions(scenario: S.Scenario) -> None:
    st.markdown(
        f"""
**S3** (Gao et al. 2023): agents on a directed follower graph learn of one event through the posts
they receive, and each step update an **emotion** (calm, moderate, intense), an **attitude**
(negative, positive) and choose an **action** (ignore, repost, quote, post).

- **Time.** A step is {scenario.minutes_per_step:g} simulated minutes. All agents' new states are applied
  together at the end of a step, so agent order never matters.
- **One step, four phases.** Interventions due now (seed posts, moderation) → feeds (followees' posts,
  the recommender, boosts) → decisions (memory pools, then the policy) → transitions and new posts.
- **Awareness.** An agent is aware from the first step it receives any post (or writes a seed post).
  Awareness is also counted **per seed post**: a repost or quote belongs to the cascade of the post it
  forwards, an agent's own new post to the cascade of the post it reacted to, so a rumour and its
  correction each have their own reach, and together they cover every aware agent.
- **Users.** Influential, regular and low-impact users are told apart by follower/followee ratio and
  activity; age, gender and occupation come from the network's columns, else offline rules over
  descriptions and posts, else configurable shares.
- **Content.** Reposts forward the text unchanged; quotes and new posts take a real text that matches
  the author's emotion and stance and is close to the post they answer, from the pool of the event's
  language: the Chinese Weibo pool, or, when the seed posts are English, the English pool (Twitter15
  and RumourEval texts with multilingual E5 vectors; texts marked offensive are left out). A
  mixed-language event (say a Chinese rumour and an English correction) or another language gets the
  Chinese pool, and the Interventions and Simulate pages say so (README, "Languages"). An LLM
  backend may write texts and decide instead (Agents page).
- **Randomness.** Every draw is keyed by (seed, purpose, step, agent or post), so two arms that differ
  by one intervention share every draw it does not touch (common random numbers).
"""
    )


def emotion(p: P.EmotionParams) -> None:
    st.subheader("Emotion: a Markov kernel driven by the content received")
    st.markdown(
        "An exposed agent at level $e$ reads its focal post (level $c$, relevance $r$ to the agent) among $n$ "
        "posts received this step. It **echoes** the post's level with probability"
    )
    st.latex(
        rf"p_{{\mathrm{{echo}}}} = \sigma\!\left({v(p.echo_bias)} + {v(p.echo_relevance)}\,r"
        rf" + {v(p.echo_volume)}\,(1 - 1/n)\right),\qquad \sigma(x) = \frac{{1}}{{1+e^{{-x}}}}"
    )
    st.markdown("Otherwise it reacts on its own, or keeps its level and may habituate:")
    st.latex(
        r"\begin{aligned}"
        r"P(e' = c) &\mathrel{+}= p_{\mathrm{echo}}\\"
        rf"P(e' = \mathrm{{moderate}}) &\mathrel{{+}}= (1-p_{{\mathrm{{echo}}}})\cdot{v(p.react_moderate)}\\"
        rf"P(e' = \mathrm{{intense}}) &\mathrel{{+}}= (1-p_{{\mathrm{{echo}}}})\cdot{v(p.react_intense)}\\"
        rf"k &= (1-p_{{\mathrm{{echo}}}})\,\max(0,\ 1-{v(p.react_moderate)}-{v(p.react_intense)})\\"
        rf"f &= k\cdot{v(p.fall_on_exposure)}\cdot[e > \mathrm{{calm}}]\\"
        r"P(e' = e-1) &\mathrel{+}= f,\qquad P(e' = e) \mathrel{+}= k - f"
        r"\end{aligned}"
    )
    st.markdown("An aware agent that receives nothing this step **decays** one level toward calm:")
    st.latex(rf"P(e_{{t+1}} = e_t - 1 \mid e_t > \mathrm{{calm}},\ n = 0) = \delta = {v(p.decay)}")
    st.caption("Code: s3core/transitions.py (echo_probability, emotion_moves, emotion_decay).")
    _parameters("emotion", p)


def attitude(p: P.AttitudeParams) -> None:
    st.subheader("Attitude: a two-state Markov chain")
    st.markdown(
        "Initial attitude from the population prior $\\pi$ and the stance of the user's own posting history "
        "($s_h$: share of positive posts; $s_h = 1/2$ without a history):"
    )
    st.latex(
        rf"P(a_0 = \mathrm{{positive}}) = \sigma\!\left(\operatorname{{logit}}({v(p.initial_positive)})"
        rf" + {v(p.history_weight)}\,(2 s_h - 1)\right)"
    )
    st.markdown(
        "Each step an exposed agent with a non-empty memory pool switches with a chance set by $q$, the "
        "influence-weighted share of the **opposing** stance in its pool (a moderator-labelled post weighs "
        f"{p.label_discount:g}, a removed one 0). An agent who learns of the event this step is persuaded "
        f"{p.first_exposure:g} times as easily:"
    )
    st.latex(
        rf"P(a_{{t+1}} \neq a_t) = \sigma\!\left({v(p.inertia)} + {v(p.persuasion)}\,(2q - 1)\right)"
        rf"\times \begin{{cases}} {v(p.first_exposure)} & \text{{newly aware}}\\ 1 & \text{{otherwise}}\end{{cases}}"
    )
    st.caption("Code: s3core/transitions.py (initial_attitude, attitude_switch_probability), memory.pool_stance.")
    _parameters("attitude", p)


def memory(p: P.MemoryParams) -> None:
    st.subheader("Memory pool: recency, relevance, source")
    st.markdown(
        f"Each agent keeps the **{p.capacity}** messages of highest influence score. A message that arrived "
        "$\\Delta t$ steps ago, with cosine relevance $r$ between the agent's interests and the text, from a "
        "source with authenticity $s$, scores"
    )
    st.latex(
        rf"I = {v(p.weight_time)}\cdot 2^{{-\Delta t / {v(p.half_life)}}} + {v(p.weight_relevance)}\,r"
        rf" + {v(p.weight_source)}\,s"
    )
    st.latex(
        rf"s = \begin{{cases}} {v(p.source_followee)} & \text{{one-way followee}}\\"
        rf" {v(p.source_mutual)} & \text{{mutual follow}}\\"
        rf" {v(p.source_recommended)} & \text{{recommender or boost}}\\"
        rf" {v(p.source_own)} & \text{{own earlier post}} \end{{cases}}"
    )
    st.markdown("The pool's stance share weights each held post by $\\max(I, 0)$; removed posts are purged.")
    st.caption("Code: s3core/memory.py (temporal_factor, static_score, influence, merge, stance_share).")
    _parameters("memory", p)


def action(p: P.PolicyParams) -> None:
    st.subheader("Action: a multinomial logit (action first, then the text)")
    st.markdown(
        "After Qiu et al. (2025), an agent first chooses what to do, then the text. Utilities relative to "
        "ignoring ($U_{\\mathrm{ignore}} = 0$), with $n$ posts received, focal relevance $r$, emotion $e$ (0-2), "
        "the focal post's age $\\tau$ in steps and depth $d$, and $m$ earlier actions:"
    )
    st.latex(
        rf"\begin{{aligned}}"
        rf"C &= {v(p.exposure)}\ln(1+n) + {v(p.relevance)}\,r + {v(p.mutual)}\,[\mathrm{{mutual}}]"
        rf" - {v(p.staleness)}\ln(1+\tau) - {v(p.fatigue)}\ln(1+m) + {v(p.low_impact)}\,[\mathrm{{low\ impact}}]\\"
        rf"F &= {v(p.agreement)}\,[\mathrm{{stance}} = a] - {v(p.label_penalty)}\,[\mathrm{{labelled}}]"
        rf" - {v(p.depth_decay)}\,d\\"
        rf"U_{{\mathrm{{repost}}}} &= {v(p.base_repost)} + C + F\\"
        rf"U_{{\mathrm{{quote}}}} &= {v(p.base_quote)} + C + F + {v(p.emotion)}\,e\\"
        rf"U_{{\mathrm{{post}}}} &= {v(p.base_post)} + C + {v(p.emotion)}\,e + {v(p.influential)}\,[\mathrm{{influential}}]\\"
        rf"P(k) &= e^{{U_k}} \big/ \textstyle\sum_j e^{{U_j}}"
        rf"\end{{aligned}}"
    )
    if p.quote_model:
        st.markdown(
            f"With the fitted quote model (`{p.quote_model}`), the total engagement "
            "$E = \\ln(e^{U_{\\mathrm{repost}}} + e^{U_{\\mathrm{quote}}})$ is kept and split by the model's "
            "log-odds $z$ of quoting (from the agent's quote propensity, depth, minutes since the focal post, "
            "whether it is a quote, and the event's quote share so far):"
        )
        st.latex(
            rf"U_{{\mathrm{{quote}}}} = E - \ln(1 + e^{{-(z + {v(p.quote_shift)})}}),\qquad"
            rf"U_{{\mathrm{{repost}}}} = E - \ln(1 + e^{{z + {v(p.quote_shift)}}})"
        )
    else:
        st.markdown("No quote model: the emotion term alone splits quoting from plain reposting.")
    st.markdown(
        f"Quotes and new posts take a real pool text of the author's emotion and stance, among the "
        f"{p.text_neighbours} nearest to the post they answer (0: any of that emotion and stance)."
    )
    st.caption("Code: s3core/policy.py (HeuristicPolicy.action_probabilities), s3core/quote_model.py.")
    _parameters("policy", p)


def feeds(p: P.PlatformParams) -> None:
    st.subheader("Feeds and the recommender")
    st.markdown(
        "A follower sees a followee's post with probability attention times the post's visibility (1, lowered "
        "by down-ranks), after a log-normal delay ($z$ standard normal; activity scale "
        "$(\\mathrm{posts}/\\mathrm{median})^{\\gamma}$):"
    )
    st.latex(
        rf"P(\mathrm{{seen}}) = {v(p.attention)}\cdot\mathrm{{visibility}},\qquad"
        rf"\mathrm{{delay}} = \frac{{{v(p.feed_delay_median)}\,e^{{{v(p.feed_delay_sigma)}\,z}}}}"
        rf"{{(\mathrm{{posts}}/\mathrm{{median}})^{{{v(p.activity_delay)}}}}}\ \text{{minutes}}"
    )
    st.markdown(
        f"Recommender (**{p.recommender}**): each step a share {p.recommend_rate:g} of agents is shown one post "
        f"among the {p.recommend_pool} most popular of the "
        f"{'last step' if p.recommend_window == 1 else f'last {p.recommend_window} steps'}, picked with chance "
        "proportional to its popularity (or, for similarity, the most relevant of them):"
    )
    half = rf"\cdot 2^{{-\mathrm{{age}}/{v(p.recommend_half_life)}}}" if p.recommend_half_life > 0 else ""
    st.latex(rf"w = (1 + \mathrm{{reposts}})\cdot\mathrm{{visibility}}{half}")
    st.markdown(
        f"Seed posts without a named author come from an official account followed by a share "
        f"{p.official_reach:g} of agents."
    )
    st.caption("Code: s3core/feeds.py (fan_out, deliver, popularity, from_recommender).")
    _parameters("platform", p)


def interventions() -> None:
    st.subheader("Interventions")
    st.markdown(
        """
- **Seed post** at a step: a post by a named user or the official account, with a stance and an emotion.
  It starts a cascade, whose reach is reported on its own (Simulate, Traces).
- **Boost** for a duration: each step, each audience member is reached with probability *strength* and shown
  the target (a seed, a post, or popular posts of a stance) or its most popular forwards; memory scores it as
  a recommendation.
- **Moderation** of a post (and its forwards) or of a whole stance: *remove* (never delivered again, purged
  from memory pools), *down-rank* (visibility times the strength, passed once to later forwards), *label*
  (reposting and quoting lose the label penalty; attitude weighs it by the label discount).
"""
    )
    st.caption("Code: s3core/interventions.py, s3core/phases/inject.py, feeds.from_boost.")
