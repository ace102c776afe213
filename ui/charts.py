"""Pure plotly figure builders: data in, figure out, no streamlit, one colour-blind-safe palette (``s3core.plotstyle``).

Every figure has a title and axis labels with units; time axes say how long a step is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from s3core.interventions import Boost, SeedPost
from s3core.plotstyle import (  # noqa: F401
    ACTION_COLORS,
    ATTITUDE_COLORS,
    COLORWAY,
    EMOTION_COLORS,
    GREY,
    OKABE_ITO,
    step_axis,
    styled,
    time_axis,
)
from s3core.plotstyle import cycle as _cycle
from s3core.plotstyle import fade as _fade
from s3core.types import Gender, Occupation, UserCategory, label

from . import run_charts

CATEGORY_COLORS = {"influential": OKABE_ITO["vermillion"], "regular": OKABE_ITO["blue"], "low-impact": OKABE_ITO["sky"]}
PROVENANCE_COLORS = {
    "given": OKABE_ITO["blue"],
    "inferred": OKABE_ITO["green"],
    "drawn": GREY,
    "profiled": OKABE_ITO["orange"],  # the scenario's profiles file (LLM or rules), s3core.demographics.Provenance
}
KIND_COLORS = {"seed": OKABE_ITO["green"], "boost": OKABE_ITO["blue"], "moderation": OKABE_ITO["vermillion"]}

# What the Compare page can overlay: column -> (title, y-axis label with unit).
COMPARE_METRICS = {
    "aware": ("Spread: agents aware of the event", "aware agents (count)"),
    "emotion_density": ("Emotion density (moderate or intense)", "share of aware agents (0-1)"),
    "intense": ("Intense emotion", "share of aware agents (0-1)"),
    "positive": ("Positive attitude", "share of aware agents (0-1)"),
    "posts": ("Posts per step (reposts, quotes and new posts)", "posts per step (count)"),
    "new_aware": ("Newly aware agents per step", "agents per step (count)"),
    "max_depth": ("Deepest repost chain", "chain depth (reposts)"),
}


def with_density(df: pd.DataFrame) -> pd.DataFrame:
    """Metrics with the emotion density column (share of aware agents at moderate or intense)."""
    out = df.copy()
    if len(out):
        out["emotion_density"] = out["moderate"] + out["intense"]
    else:
        out["emotion_density"] = pd.Series(dtype=float)
    return out


# -- live simulation curves: ui.run_charts (confirmed turns, time axes, per-seed split) ---------
spread, emotion, attitude, actions = run_charts.spread, run_charts.emotion, run_charts.attitude, run_charts.actions


# -- network and population -----------------------------------------------------------------
def degree_distribution(followers: np.ndarray, followees: np.ndarray) -> go.Figure:
    """How many users have each follower and followee count, on log-log axes (zeros left out)."""
    fig = go.Figure()
    for name, values, color in (
        ("followers (in-degree)", followers, OKABE_ITO["blue"]),
        ("followees (out-degree)", followees, OKABE_ITO["orange"]),
    ):
        values = np.asarray(values)
        values = values[values > 0]
        if len(values):
            degree, count = np.unique(values, return_counts=True)
            fig.add_scatter(
                x=degree, y=count, name=name, mode="markers", marker={"color": color, "size": 6, "opacity": 0.8}
            )
    fig = styled(fig, "Degree distribution (log-log)", "degree (accounts, log scale)", "users (count, log scale)")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    fig.update_layout(hovermode="closest")
    return fig


def categories(category: np.ndarray) -> go.Figure:
    """Users per S3 category (influential, regular, low-impact)."""
    counts = np.bincount(np.asarray(category, dtype=np.int64), minlength=len(UserCategory))
    names = [label(c) for c in UserCategory]
    fig = go.Figure(
        go.Bar(x=names, y=counts, marker_color=[CATEGORY_COLORS[n] for n in names], text=counts, textposition="outside")
    )
    return styled(fig, "User categories (S3)", "category", "users (count)", showlegend=False, hovermode="closest")


def _provenance_bars(
    fig: go.Figure, groups: Sequence[str], codes: np.ndarray, provenance: np.ndarray | None, n_groups: int
) -> None:
    if provenance is None:
        fig.add_bar(
            x=list(groups), y=np.bincount(codes, minlength=n_groups), name="users", marker_color=OKABE_ITO["blue"]
        )
        return
    for p, name in enumerate(PROVENANCE_COLORS):  # Provenance codes: given 0, inferred 1, drawn 2, profiled 3
        mask = provenance == p
        if name == "profiled" and not mask.any():
            continue  # no profiles file: the legend keeps its three sources
        fig.add_bar(
            x=list(groups),
            y=np.bincount(codes[mask], minlength=n_groups),
            name=name,
            marker_color=PROVENANCE_COLORS[name],
        )


def age_histogram(age: np.ndarray, provenance: np.ndarray | None = None) -> go.Figure:
    """Ages in 5-year bins, split by where each value came from (given, inferred from text, drawn, profiles file)."""
    age = np.asarray(age, dtype=np.int64)
    edges = np.arange(10, 105, 5)
    codes = np.clip(np.searchsorted(edges, age, side="right") - 1, 0, len(edges) - 2)
    groups = [f"{a}-{a + 4}" for a in edges[:-1]]
    fig = go.Figure()
    _provenance_bars(fig, groups, codes, provenance, len(groups))
    return styled(fig, "Age", "age (years, 5-year bins)", "users (count)", barmode="stack", hovermode="closest")


def gender_bars(gender: np.ndarray, provenance: np.ndarray | None = None) -> go.Figure:
    fig = go.Figure()
    _provenance_bars(fig, [label(g) for g in Gender], np.asarray(gender, dtype=np.int64), provenance, len(Gender))
    return styled(fig, "Gender", "gender", "users (count)", barmode="stack", hovermode="closest")


def occupation_bars(occupation: np.ndarray, provenance: np.ndarray | None = None) -> go.Figure:
    fig = go.Figure()
    _provenance_bars(
        fig, [label(o) for o in Occupation], np.asarray(occupation, dtype=np.int64), provenance, len(Occupation)
    )
    fig = styled(
        fig,
        "Occupation (S3's ten categories)",
        "occupation",
        "users (count)",
        barmode="stack",
        hovermode="closest",
        height=460,
        margin={"l": 70, "r": 20, "t": 88, "b": 170},
    )
    fig.update_xaxes(tickangle=-35, automargin=True)
    return fig


def initial_attitude(attitude: np.ndarray, category: np.ndarray, has_history: np.ndarray) -> go.Figure:
    """Share of agents starting positive, by S3 category and by whether their own history sets the lean."""
    attitude, category, has_history = (np.asarray(a) for a in (attitude, category, has_history))
    rows = [("all agents", attitude)]
    rows += [(label(c), attitude[category == c]) for c in UserCategory]
    rows += [("with posting history", attitude[has_history]), ("without history", attitude[~has_history])]
    names = [r[0] for r in rows]
    share = [float(a.mean()) if len(a) else 0.0 for _, a in rows]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=share,
        name="positive",
        marker_color=ATTITUDE_COLORS["positive"],
        text=[f"{s:.0%}" for s in share],
        textposition="outside",
    )
    fig.add_bar(x=names, y=[1 - s for s in share], name="negative", marker_color=ATTITUDE_COLORS["negative"])
    return styled(
        fig,
        "Initial attitude (step 0)",
        "group of agents",
        "share of agents (0-1)",
        barmode="stack",
        hovermode="closest",
    )


def emotion_rise_curves(received: np.ndarray, curves: Mapping[str, np.ndarray]) -> go.Figure:
    """Chance that a calm agent's emotion rises on exposure, versus posts received (flat: content, not volume)."""
    fig = go.Figure()
    for (name, y), color in zip(curves.items(), (OKABE_ITO["sky"], OKABE_ITO["orange"], OKABE_ITO["vermillion"])):
        fig.add_scatter(x=received, y=y, name=name, mode="lines", line={"color": color, "width": 2})
    return styled(
        fig,
        "Emotion: chance a calm agent is stirred",
        "posts received in one step (count)",
        "probability per step (0-1)",
        yaxis_range=[0, 1],
    )


def action_probabilities(x: np.ndarray, probs: np.ndarray, x_label: str, title: str) -> go.Figure:
    """Stacked probabilities of ignore / repost / quote / post as one input varies."""
    fig = go.Figure()
    for j, action in enumerate(("ignore", "repost", "quote", "post")):
        fig.add_scatter(
            x=x,
            y=probs[:, j],
            name=action,
            mode="lines",
            stackgroup="p",
            line={"color": ACTION_COLORS[action], "width": 0.5},
        )
    return styled(fig, title, x_label, "probability (0-1)", yaxis_range=[0, 1])


# -- interventions --------------------------------------------------------------------------
def plain(text: str) -> str:
    """User text made safe for plotly labels, which otherwise interpret a few HTML tags."""
    return html.escape(str(text), quote=False)


def describe_target(item) -> str:
    if getattr(item, "post", None) is not None:
        return f"post {item.post}" if isinstance(item.post, int) else f"seed '{item.post}'"
    stance = getattr(item, "stance", None)
    return f"all {label(stance)} posts" if stance is not None else ""


def timeline(interventions: Sequence, steps: int, minutes_per_step: float) -> go.Figure:
    """The schedule over the run's steps 0..steps-1: seed posts and moderation as markers, boosts as bars.

    The x axis stops at the run's last step. An intervention scheduled after it (it never happens
    in this run) is drawn as an arrow at the right edge, and a note says how many there are.
    """
    fig = go.Figure()
    rows = {"seed": "seed posts", "boost": "boosts", "moderation": "moderation"}
    last_step = max(int(steps) - 1, 0)
    edge = last_step + 0.45
    shown = set()
    late = []
    names: list[tuple[float, str, str, int]] = []  # (step, row, text, number) of each label drawn beside a marker
    for i, item in enumerate(interventions):
        row = rows[item.kind]
        after_end = item.step > last_step
        if isinstance(item, SeedPost):
            hover = f"#{i} seed '{plain(item.name)}' ({label(item.stance)}, {label(item.emotion)}) at step {item.step}"
            text = plain(item.name) if item.name else f"#{i}"
        elif isinstance(item, Boost):
            hover = f"#{i} boost {plain(describe_target(item))} to {item.audience.kind}, strength {item.strength:g}, steps {item.step}-{item.step + item.duration - 1}"
            text = plain(describe_target(item))
        else:
            hover = f"#{i} {item.action} {plain(describe_target(item))} at step {item.step}"
            text = f"{item.action} {plain(describe_target(item))}"
        if after_end:
            late.append(f"{text} (step {item.step})")
            hover += f": after the run's last step ({last_step}), so it never happens in this run"
        common = dict(
            name=item.kind,
            legendgroup=item.kind,
            showlegend=item.kind not in shown,
            hovertext=hover,
            hoverinfo="text",
        )
        if isinstance(item, Boost) and not after_end:
            end = min(item.step + item.duration - 0.6, edge)  # a boost running past the end is cut at the edge
            fig.add_bar(
                x=[end - (item.step - 0.4)],
                y=[row],
                base=[item.step - 0.4],
                orientation="h",
                width=0.5,
                marker_color=KIND_COLORS[item.kind],
                text=[text],
                textposition="inside",
                insidetextanchor="start",
                **common,
            )
        else:
            fig.add_scatter(
                x=[edge if after_end else item.step],
                y=[row],
                mode="markers",  # named by staggered labels (late ones in the note), the text kept for hover tools
                text=[text],
                marker={
                    "size": 14,
                    "color": KIND_COLORS[item.kind],
                    "symbol": "triangle-right" if after_end else "circle" if item.kind == "seed" else "x",
                },
                cliponaxis=False,
                **common,
            )
            if not after_end:
                names.append((item.step, row, text, i))
        shown.add(item.kind)
    fig = styled(fig, "Intervention schedule", "", "intervention kind", height=300, hovermode="closest")
    time_axis(fig, last_step, minutes_per_step)
    for label_spec in staggered_labels(names, last_step):
        fig.add_annotation(**label_spec)
    if late:
        fig.add_annotation(
            text=f"{len(late)} after the last step →: " + ", ".join(late[:3]) + (", ..." if len(late) > 3 else ""),
            x=1.0,
            y=1.0,
            xref="paper",
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"color": OKABE_ITO["vermillion"], "size": 12},
        )
    fig.update_yaxes(categoryorder="array", categoryarray=list(rows.values())[::-1], type="category", range=[-0.5, 2.5])
    return fig


TIMELINE_PX = 500  # the schedule's plot width assumed when keeping its labels apart (a narrow page)
LABEL_LEVELS = (16, -16, 30, -30)  # label offsets from a marker (pixels up): above, below, further out
LABEL_CHAR_PX = 6.5


def staggered_labels(names: Sequence[tuple[float, str, str, int]], last_step: int) -> list[dict]:
    """Annotations naming markers, each on the first level (above, below, further out) where it overlaps no
    other label of its row; where all four are taken, the marker is numbered (``#3``) and named on hover."""
    taken: dict[tuple[str, int], list[tuple[float, float]]] = {}
    out = []
    for step, row, text, number in sorted(names, key=lambda n: (n[1], n[0])):
        x = (step + 0.6) / (last_step + 1.2) * TIMELINE_PX
        chosen = None
        for level in range(len(LABEL_LEVELS)):
            half = LABEL_CHAR_PX * len(text) / 2 + 3
            spans = taken.setdefault((row, level), [])
            if all(x + half <= a or b <= x - half for a, b in spans):
                chosen = level
                break
        if chosen is None:
            text, chosen = f"#{number}", min(range(len(LABEL_LEVELS)), key=lambda lv: len(taken[(row, lv)]))
            half = LABEL_CHAR_PX * len(text) / 2 + 3
        taken[(row, chosen)].append((x - half, x + half))
        out.append(
            {
                "x": step,
                "y": row,
                "text": text,
                "showarrow": False,
                "yshift": LABEL_LEVELS[chosen],
                "font": {"size": 11},
                "bgcolor": "rgba(255,255,255,0.7)",
            }
        )
    return out


TIME_MARGIN = {"l": 70, "r": 20, "t": 88, "b": 72}  # room for two-line ticks (step, time)


def _last_step(frames) -> int:
    """The last step any of the frames holds (at least 1, so an empty chart still has an axis)."""
    return max([1, *(int(df["step"].max()) for df in frames if len(df))])


# -- comparing runs ---------------------------------------------------------------------------
def compare(runs: Mapping[str, pd.DataFrame], metric: str, minutes_per_step: float) -> go.Figure:
    """The same curve of several runs, overlaid."""
    title, y_label = COMPARE_METRICS[metric]
    fig = go.Figure()
    for (name, df), color in zip(runs.items(), _cycle(COLORWAY)):
        fig.add_scatter(
            x=df["step"],
            y=df[metric],
            name=name,
            mode="lines+markers",
            line={"color": color, "width": 2},
            marker={"size": 4},
        )
    fig = styled(fig, f"{title}: runs compared", "", y_label, margin=TIME_MARGIN)
    return time_axis(fig, _last_step(runs.values()), minutes_per_step)


def difference(
    base_name: str, base: pd.DataFrame, others: Mapping[str, pd.DataFrame], metric: str, minutes_per_step: float
) -> go.Figure:
    """Each run minus the baseline, step by step (over the steps both recorded)."""
    title, y_label = COMPARE_METRICS[metric]
    fig = go.Figure()
    fig.add_hline(y=0, line={"color": GREY, "width": 1})
    for (name, df), color in zip(others.items(), _cycle(COLORWAY[1:])):
        merged = df[["step", metric]].merge(base[["step", metric]], on="step", suffixes=("", "_base"))
        fig.add_scatter(
            x=merged["step"],
            y=merged[metric] - merged[f"{metric}_base"],
            name=f"{name} - {base_name}",
            mode="lines+markers",
            line={"color": color, "width": 2},
            marker={"size": 4},
            fill="tozeroy",
            fillcolor=_fade(color),
        )
    fig = styled(fig, f"{title}: difference from baseline", "", f"difference in {y_label}", margin=TIME_MARGIN)
    return time_axis(fig, _last_step([base, *others.values()]), minutes_per_step)


def breakdown(frame: pd.DataFrame, value: str, dimension: str, minutes_per_step: float) -> go.Figure:
    """One value of the per-group breakdown over time, a line per group."""
    labels = {
        "aware_share": "share of the group aware (0-1)",
        "positive": "share positive among aware (0-1)",
        "intense": "share intense among aware (0-1)",
        "mean_emotion": "mean emotion level (0 calm - 2 intense)",
    }
    fig = go.Figure()
    for (name, group), color in zip(frame.groupby("group_name", sort=False), _cycle(COLORWAY)):
        fig.add_scatter(
            x=group["step"], y=group[value], name=str(name), mode="lines", line={"color": color, "width": 2}
        )
    fig = styled(
        fig,
        f"{labels[value].split(' (')[0].capitalize()} by {dimension.replace('_', ' ')}",
        "",
        labels[value],
        margin=TIME_MARGIN,
    )
    return time_axis(fig, _last_step([frame]), minutes_per_step)


def state_history(df: pd.DataFrame, minutes_per_step: float) -> go.Figure:
    """One agent's emotion level and attitude over the steps it changed."""
    fig = go.Figure()
    if len(df):
        fig.add_scatter(
            x=df["step"],
            y=df["emotion"],
            name="emotion (0 calm, 1 moderate, 2 intense)",
            mode="lines+markers",
            line={"shape": "hv", "color": OKABE_ITO["orange"], "width": 2},
        )
        fig.add_scatter(
            x=df["step"],
            y=df["attitude"],
            name="attitude (0 negative, 1 positive)",
            mode="lines+markers",
            line={"shape": "hv", "color": OKABE_ITO["blue"], "width": 2, "dash": "dot"},
        )
    fig = styled(fig, "State history", step_axis(minutes_per_step), "level", height=300)
    fig.update_yaxes(range=[-0.2, 2.2], tickvals=[0, 1, 2])
    return fig


def decision_probabilities(probs: Sequence[float], chosen: str) -> go.Figure:
    names = ["ignore", "repost", "quote", "post"]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=list(probs),
            marker_color=[ACTION_COLORS[n] for n in names],
            marker_line={"color": [OKABE_ITO["black"] if n == chosen else "rgba(0,0,0,0)" for n in names], "width": 3},
            text=[f"{p:.1%}" for p in probs],
            textposition="outside",
        )
    )
    return styled(
        fig,
        f"Action probabilities (chosen: {chosen})",
        "action",
        "probability (0-1)",
        height=300,
        showlegend=False,
        yaxis_range=[0, 1.15],
        hovermode="closest",
    )
