"""Figures and tables of an experiment report (``effects.summarize``), for the Compare page and the HTML report.

Pure functions: a report dict in, a plotly figure or a pandas frame out. Bands and error bars
are the report's 95% bootstrap intervals over seeds; effects are paired by seed (arm minus
baseline), never the difference of two single runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..plotstyle import COLORWAY, GREY, cycle, fade, styled

# curve -> (title, y-axis label with unit)
CURVE_LABELS = {
    "aware": ("Spread: agents aware of the event", "share of all agents (0-1)"),
    "emotion_density": ("Emotion density (moderate or intense)", "share of aware agents (0-1)"),
    "positive": ("Positive attitude", "share of aware agents (0-1)"),
}
# outcome -> label with unit
OUTCOME_LABELS = {
    "final_reach": "final reach (share of agents)",
    "half_reach_minutes": "time to half reach (minutes)",
    "peak_emotion": "peak emotion density (share of aware)",
    "peak_emotion_minutes": "time of the emotion peak (minutes)",
    "trough_positive": "attitude trough (lowest positive share)",
    "trough_minutes": "time of the attitude trough (minutes)",
    "final_positive": "final positive share (of aware)",
}
DIMENSION_LABELS = {"category": "category", "gender": "gender", "occupation": "occupation", "age_bracket": "age"}


def _hours(report: dict) -> np.ndarray:
    return np.asarray(report["minutes"], dtype=float) / 60.0


def _band(fig: go.Figure, x: np.ndarray, band: dict, name: str, color: str) -> None:
    """A mean line with its interval as a shaded area (hidden from the legend)."""
    low, high = (np.array([np.nan if v is None else v for v in band[k]], dtype=float) for k in ("low", "high"))
    fig.add_scatter(
        x=np.r_[x, x[::-1]],
        y=np.r_[high, low[::-1]],
        fill="toself",
        fillcolor=fade(color, 0.2),
        mode="lines",
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        name=f"{name} 95% band",
    )
    fig.add_scatter(x=x, y=band["mean"], name=name, mode="lines", line={"color": color, "width": 2})


def mean_curves(report: dict, curve: str) -> go.Figure:
    """Each arm's mean curve over seeds with its 95% band."""
    title, y_label = CURVE_LABELS[curve]
    fig, x = go.Figure(), _hours(report)
    for (name, arm), color in zip(report["arms"].items(), cycle(COLORWAY)):
        _band(fig, x, arm["curves"][curve], name, color)
    return styled(fig, f"{title}: mean of {report['seeds']} seeds, 95% band", "time (hours)", y_label)


def effect_curves(report: dict, curve: str) -> go.Figure:
    """Each arm minus the baseline, paired per seed, with its 95% band; 0 is no effect."""
    title, y_label = CURVE_LABELS[curve]
    fig, x = go.Figure(), _hours(report)
    fig.add_hline(y=0, line={"color": GREY, "width": 1})
    others = [(n, a) for n, a in report["arms"].items() if not a["baseline"]]
    for (name, arm), color in zip(others, cycle(COLORWAY[1:])):
        _band(fig, x, arm["effect_curves"][curve], f"{name} - {report['baseline']}", color)
    return styled(fig, f"{title}: effect (paired by seed), 95% band", "time (hours)", f"difference in {y_label}")


def effects_frame(report: dict) -> pd.DataFrame:
    """One row per (arm, outcome): the baseline's and the arm's means, the effect and its 95% interval."""
    base = report["arms"][report["baseline"]]["outcomes"]
    rows = []
    for name, arm in report["arms"].items():
        if arm["baseline"]:
            continue
        for outcome, e in arm["effects"].items():
            rows.append(
                {
                    "arm": name,
                    "outcome": outcome,
                    "baseline": base[outcome]["mean"],
                    "arm mean": arm["outcomes"][outcome]["mean"],
                    "effect": e["mean"],
                    "ci_low": e["ci_low"],
                    "ci_high": e["ci_high"],
                    "seeds": e["n"],
                }
            )
    return pd.DataFrame(
        rows, columns=["arm", "outcome", "baseline", "arm mean", "effect", "ci_low", "ci_high", "seeds"]
    )


def group_effects_frame(report: dict) -> pd.DataFrame:
    """One row per (arm, group, outcome) of ``effects_by_group``, plus the overall effect as group ``all``."""
    rows = []
    for name, arm in report["arms"].items():
        if arm["baseline"]:
            continue
        for outcome, e in arm["effects"].items():
            rows.append(
                {
                    "arm": name,
                    "dimension": "all",
                    "group": "all agents",
                    "agents": None,
                    "outcome": outcome,
                    "effect": e["mean"],
                    "ci_low": e["ci_low"],
                    "ci_high": e["ci_high"],
                    "seeds": e["n"],
                }
            )
        for e in arm.get("effects_by_group", []):
            rows.append(
                {
                    "arm": name,
                    "dimension": e["dimension"],
                    "group": e["group_name"],
                    "agents": e["agents"],
                    "outcome": e["outcome"],
                    "effect": e["mean"],
                    "ci_low": e["ci_low"],
                    "ci_high": e["ci_high"],
                    "seeds": e["n"],
                }
            )
    return pd.DataFrame(
        rows, columns=["arm", "dimension", "group", "agents", "outcome", "effect", "ci_low", "ci_high", "seeds"]
    )


def forest(report: dict, outcome: str) -> go.Figure:
    """A forest plot: each arm's effect on ``outcome`` overall and in every group, with 95% intervals.

    Groups without an estimate (nobody in them became aware on any seed) are left out.
    """
    frame = group_effects_frame(report)
    frame = frame[(frame["outcome"] == outcome) & frame["effect"].notna()]
    labels = [
        f"{DIMENSION_LABELS.get(d, d)}: {g}" if d != "all" else "all agents"
        for d, g in zip(frame["dimension"], frame["group"])
    ]
    frame = frame.assign(label=labels)
    order = list(dict.fromkeys(labels))
    fig = go.Figure()
    fig.add_vline(x=0, line={"color": GREY, "width": 1})
    arms = list(dict.fromkeys(frame["arm"]))
    for (name, color), k in zip(zip(arms, cycle(COLORWAY[1:])), range(len(arms))):
        rows = frame[frame["arm"] == name]
        y = [order.index(v) + (k - (len(arms) - 1) / 2) * 0.25 for v in rows["label"]]
        fig.add_scatter(
            x=rows["effect"],
            y=y,
            mode="markers",
            name=f"{name} - {report['baseline']}",
            marker={"color": color, "size": 8},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": rows["ci_high"] - rows["effect"],
                "arrayminus": rows["effect"] - rows["ci_low"],
                "color": color,
                "thickness": 1.5,
            },
            customdata=rows[["label", "ci_low", "ci_high", "seeds"]].to_numpy(),
            hovertemplate="%{customdata[0]}: %{x:.4g} [%{customdata[1]:.4g}, %{customdata[2]:.4g}], "
            "%{customdata[3]} seeds<extra></extra>",
        )
    height = max(320, 26 * len(order) + 140)
    return styled(
        fig,
        f"Effect on {OUTCOME_LABELS.get(outcome, outcome)} by group, 95% intervals",
        f"effect (arm minus {report['baseline']})",
        "",
        height=height,
        hovermode="closest",
        showlegend=True,
        yaxis={"tickvals": list(range(len(order))), "ticktext": order, "autorange": "reversed"},
    )
