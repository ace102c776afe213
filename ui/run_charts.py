"""A run's curves (Simulate and Traces): spread, emotion, attitude and actions, drawn so they cannot mislead.

- Peaks and troughs are marked only once confirmed and only where they stand out from the curve's
  range (``s3core.turning_points.main_peaks``): the newest point of a rising curve is never a peak,
  noise wiggles are not turns, at most two per curve are labelled, and a chart says when none is clear yet.
- Labels sit inside the plot (the y range leaves room; labels near an edge are anchored inward).
- The x axis shows steps and the simulated time they end at; count axes have whole-number ticks
  and start at 0, also when there is no data yet.
- The spread can be split per seed post (``StepRecord.seed_metrics`` rows), so a rumour and its
  correction each have their own reach.

Pure builders: a metrics frame in (one row per step: ``step``, ``aware``, ``new_aware``,
``calm``/``moderate``/``intense``/``positive`` shares, action counts), a plotly figure out.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from s3core.plotstyle import (
    ACTION_COLORS,
    ATTITUDE_COLORS,
    COLORWAY,
    EMOTION_COLORS,
    GREY,
    OKABE_ITO,
    clock,
    count_axis_spec,
    cycle,
    fast_figure,
    layout_spec,
    step_end_minutes,
    time_axis_spec,
)
from s3core.turning_points import main_peaks, main_troughs

SHARE_TOLERANCE = 0.01  # a turn of a share must move by more than one percentage point
MIN_SHARE_SPAN = 0.04  # a zoomed share axis spans at least 4 points, so noise is not blown up
EMPTY_STEPS = 10  # the x range shown before the first step
MARGIN = {"l": 60, "r": 16, "t": 76, "b": 72}  # room for two-line ticks (step, time)
MOST_SEEDS_LISTED = 3  # seeds named in the per-seed legend (the largest reach); the others on hover
SHORT_NAME = 24  # characters of a seed's name in the legend (the hover gives it in full)
SEED_LEGEND = {  # two short rows above the plot: three seeds and everyone aware
    "orientation": "h",
    "yanchor": "bottom",
    "y": 1.02,
    "xanchor": "left",
    "x": 0.0,
    "font": {"size": 10},
    "itemwidth": 30,
    "entrywidth": 0.5,  # two entries a row: without it a narrow chart lists one per row
    "entrywidthmode": "fraction",
    "tracegroupgap": 0,
}
MOST_LABELS = 2  # turns marked and labelled per curve: the most extreme and at most one more
PLOT_PX = (260, 340 - 76 - 72)  # a narrow chart's plot area (width, height) in pixels, to keep labels apart
CHAR_PX = 6.2  # width of one character of an 11-px label
LABEL_PX = 16  # height of a label
MOST_POINTS = 600  # a longer run is drawn thinned: lines every k-th step, bars as k-step means


def thin(df: pd.DataFrame, most: int = MOST_POINTS) -> tuple[pd.DataFrame, int]:
    """Every k-th row (and always the last), with k the smallest that keeps at most ``most`` rows."""
    k = -(-len(df) // most) if len(df) > most else 1
    if k == 1:
        return df, 1
    keep = np.r_[np.arange(0, len(df) - 1, k), len(df) - 1]
    return df.iloc[keep], k


def binned(df: pd.DataFrame, columns: list[str], k: int) -> pd.DataFrame:
    """Means per step over bins of ``k`` steps (``step`` = each bin's middle), so bar heights keep their unit."""
    if k == 1:
        return df
    groups = np.arange(len(df)) // k
    out = df[columns].groupby(groups).mean()
    out["step"] = df["step"].groupby(groups).mean().to_numpy()
    return out


def _last_step(df: pd.DataFrame, planned: int | None) -> int:
    if len(df):
        return int(df["step"].iloc[-1])
    return max(int(planned or EMPTY_STEPS) - 1, 1)


def _figure(
    data: list[dict],
    annotations: list[dict],
    df: pd.DataFrame,
    minutes_per_step: float,
    planned: int | None,
    title: str,
    y: str,
    yaxis: dict,
    **layout,
) -> go.Figure:
    """The chart: time axis over the data (or the planned run when empty), a note when there is no data."""
    first = int(df["step"].iloc[0]) if len(df) else 0
    if not len(df):
        annotations = [*annotations, _paper_note("No steps yet: press Step or Run.", 0.5, 0.5, "center", 13)]
    spec = layout_spec(
        title,
        "",
        y,
        xaxis=time_axis_spec(_last_step(df, planned), minutes_per_step, first_step=first),
        yaxis=yaxis,
        annotations=annotations,
        margin=MARGIN,
        meta=_meta(df),
        **layout,
    )
    return fast_figure(data, spec)


def _meta(df: pd.DataFrame) -> dict:
    """What the chart shows, for the browser benchmark: the last step drawn and when it was recorded (epoch s)."""
    if not len(df):
        return {"last_step": -1}
    out = {"last_step": int(df["step"].iloc[-1])}
    if "recorded" in df:
        out["recorded"] = float(df["recorded"].iloc[-1])
    return out


def _paper_note(text: str, x: float, y: float, anchor: str, size: int = 11) -> dict:
    return {
        "text": text,
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": anchor,
        "yanchor": "top" if anchor == "left" else "middle",
        "showarrow": False,
        "font": {"color": "#555", "size": size},
        "bgcolor": "rgba(255,255,255,0.85)",
    }


def _note(text: str) -> dict:
    """A short remark in the plot's top-left corner (e.g. no confirmed trough yet)."""
    return _paper_note(text, 0.01, 0.98, "left")


def _times(df: pd.DataFrame, minutes_per_step: float) -> list[str]:
    return [clock(step_end_minutes(s, minutes_per_step)) for s in df["step"].to_numpy()]


def _line(df, y, name: str, color: str, width: float = 2, markers: bool = False, **extra) -> dict:
    return {
        "type": "scatter",
        "x": df["step"].to_numpy(),
        "y": np.asarray(y),
        "name": name,
        "mode": "lines+markers" if markers else "lines",
        "line": {"color": color, "width": width, **extra.pop("line", {})},
        "marker": {"size": 5},
        **extra,
    }


def _timed(df: pd.DataFrame, minutes_per_step: float, fmt: str) -> dict:
    """Hover text with the simulated time of each point."""
    return {"customdata": _times(df, minutes_per_step), "hovertemplate": f"%{{y:{fmt}}} (t = %{{customdata}})"}


def turn_marks(
    df, values, found, kind: str, color: str, x_span: tuple[float, float], y_span: tuple[float, float]
) -> tuple[dict, list[dict]]:
    """A marker trace and one label per main turn, each placed inside the plot and clear of the others.

    ``found``: the few main turns (``s3core.turning_points.main_peaks``/``main_troughs``). A label goes
    above a peak (below a trough) where the plot has room, else the other side, and one row further
    out while its box would overlap an earlier label's (boxes estimated for a narrow chart, ``PLOT_PX``).
    """
    steps = df["step"].to_numpy()[found]
    picked = np.asarray(values, dtype=float)[found]
    trace = {
        "type": "scatter",
        "x": steps,
        "y": picked,
        "name": kind,
        "mode": "markers",
        "marker": {"symbol": "triangle-down" if kind == "peak" else "triangle-up", "size": 12, "color": color},
        "cliponaxis": False,
        "hoverinfo": "skip",
    }
    labels: list[dict] = []
    boxes: list[tuple[float, float, float, float]] = []
    for s, v in list(zip(steps.tolist(), picked.tolist()))[:MOST_LABELS]:
        text = f"{kind} {v:.2f} (step {s})"
        anchor = _anchor(s, x_span)
        ay, box = _place(s, v, text, anchor, -1 if kind == "peak" else 1, x_span, y_span, boxes)
        boxes.append(box)
        labels.append(
            {
                "x": s,
                "y": v,
                "text": text,
                "showarrow": True,
                "arrowhead": 0,
                "arrowcolor": color,
                "ax": 0,
                "ay": ay,
                "xanchor": anchor,
                "yanchor": "middle",
                "font": {"size": 11, "color": color},
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        )
    return trace, labels


def _anchor(step: float, x_span: tuple[float, float]) -> str:
    where = (step - x_span[0]) / max(x_span[1] - x_span[0], 1)
    return "right" if where > 0.7 else "left" if where < 0.3 else "center"


def label_box(step, value, ay, text, anchor, x_span, y_span) -> tuple[float, float, float, float]:
    """The estimated box (left, top, right, bottom; pixels from the plot's top-left) of a turn label."""
    w, h = PLOT_PX
    x = (step - x_span[0]) / max(x_span[1] - x_span[0], 1) * w
    y = (y_span[1] - value) / max(y_span[1] - y_span[0], 1e-9) * h + ay
    width = CHAR_PX * len(text) + 6
    left = {"left": x, "center": x - width / 2, "right": x - width}[anchor]
    return left, y - LABEL_PX / 2, left + width, y + LABEL_PX / 2


def _place(step, value, text, anchor, prefer, x_span, y_span, taken):
    """The first offset (pixels, preferred side first, rows further out) whose box is inside and clear."""
    h = PLOT_PX[1]
    options = [side * (22 + row * (LABEL_PX + 4)) for side in (prefer, -prefer) for row in range(4)]
    for ay in options:
        box = label_box(step, value, ay, text, anchor, x_span, y_span)
        inside = box[1] >= 0 and box[3] <= h
        if inside and not any(_overlap(box, other) for other in taken):
            return ay, box
    ay = options[0]
    return ay, label_box(step, value, ay, text, anchor, x_span, y_span)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


EMOTION_RANGE = (0.0, 1.22)  # room above a share of 1 for peak labels


def _x_span(df: pd.DataFrame, planned: int | None) -> tuple[float, float]:
    first = int(df["step"].iloc[0]) if len(df) else 0
    return float(first), float(_last_step(df, planned))


# -- the four curves ----------------------------------------------------------------------------
def spread(
    df: pd.DataFrame,
    minutes_per_step: float,
    seeds: pd.DataFrame | None = None,
    planned_steps: int | None = None,
) -> go.Figure:
    """Aware agents over time with newly aware per step as bars; or, given ``seeds``, one reach curve per seed post.

    ``seeds``: long frame with columns ``step``, ``seed`` (name), ``aware`` (agents who received a
    post of that seed's cascade, cumulative). Counts are whole agents.
    """
    data: list[dict] = []
    notes: list[dict] = []
    layout: dict = {}
    top = 0.0
    if seeds is not None and len(seeds):
        groups = list(seeds.groupby("seed", sort=False))
        reach = {str(name): float(rows["aware"].max()) for name, rows in groups}
        listed = set(sorted(reach, key=lambda n: -reach[n])[:MOST_SEEDS_LISTED])
        for (name, rows), color in zip(groups, cycle(COLORWAY)):
            rows, k = thin(rows)
            full = str(name)
            line = _line(rows, rows["aware"].to_numpy(), short_name(full), color, 2.5, markers=k == 1)
            line.update(showlegend=full in listed, hovertemplate=f"{escape(full)}: %{{y:,d}}<extra></extra>")
            data.append(line)
            top = max(top, float(rows["aware"].max()))
        if len(df):
            shown, _ = thin(df)
            data.append(
                _line(
                    shown,
                    shown["aware"],
                    "aware of any seed",
                    GREY,
                    line={"dash": "dot"},
                    **_timed(shown, minutes_per_step, ",d"),
                )
            )
            top = max(top, float(df["aware"].max()))
        title = "Reach per seed post (agents reached)"
        layout["legend"] = SEED_LEGEND
        if len(groups) > MOST_SEEDS_LISTED:  # the smaller seeds are named on hover only
            notes.append(_note(f"legend: the {MOST_SEEDS_LISTED} largest of {len(groups)} seeds"))
    else:
        if len(df):
            shown, k = thin(df)
            data.append(
                _line(
                    shown,
                    shown["aware"],
                    "aware (total)",
                    OKABE_ITO["blue"],
                    2.5,
                    k == 1,
                    **_timed(shown, minutes_per_step, ",d"),
                )
            )
            bars = binned(df, ["new_aware"], k)
            data.append(
                {
                    "type": "bar",
                    "x": bars["step"].to_numpy(),
                    "y": bars["new_aware"].to_numpy(),
                    "width": k,
                    "name": "newly aware" if k == 1 else f"newly aware (per step, mean of {k})",
                    "marker": {"color": OKABE_ITO["sky"], "line": {"width": 0}},
                    "opacity": 0.6,
                }
            )
            top = float(max(df["aware"].max(), df["new_aware"].max()))
        title = "Spread: agents aware of the event"
    yaxis = count_axis_spec(top)
    return _figure(data, notes, df, minutes_per_step, planned_steps, title, "agents (count)", yaxis, **layout)


def short_name(name: str, most: int = SHORT_NAME) -> str:
    """A seed's name cut to ``most`` characters (with an ellipsis), for a legend that fits one row."""
    return name if len(name) <= most else name[: most - 1] + "…"


def emotion(df: pd.DataFrame, minutes_per_step: float, planned_steps: int | None = None) -> go.Figure:
    """Shares of calm, moderate and intense among aware agents, with confirmed emotion-density peaks labelled."""
    data: list[dict] = []
    notes: list[dict] = []
    if len(df):
        shown, _ = thin(df)
        for level in ("calm", "moderate", "intense"):
            data.append(_line(shown, shown[level].to_numpy(), level, EMOTION_COLORS[level]))
        density = (df["moderate"] + df["intense"]).to_numpy(dtype=float)
        data.append(
            _line(
                shown,
                (shown["moderate"] + shown["intense"]).to_numpy(dtype=float),
                "density",
                OKABE_ITO["black"],
                line={"dash": "dash"},
                **_timed(shown, minutes_per_step, ".3f"),
            )
        )
        found = main_peaks(density, MOST_LABELS, tolerance=SHARE_TOLERANCE)
        if len(found):
            span = _x_span(df, planned_steps)
            trace, labels = turn_marks(df, density, found, "peak", OKABE_ITO["black"], span, EMOTION_RANGE)
            data.append(trace)
            notes += labels
        else:
            notes.append(_note("no clear density peak yet"))
    yaxis = {"range": list(EMOTION_RANGE), "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0]}  # room above 1 for peak labels
    return _figure(
        data,
        notes,
        df,
        minutes_per_step,
        planned_steps,
        "Emotion density among aware agents",
        "share of aware agents (0-1)",
        yaxis,
    )


def share_range(values, room_below: float = 0.25) -> tuple[float, float, bool]:
    """A y range for a share (0-1) zoomed to the data: (low, high, zoomed).

    Spans at least ``MIN_SHARE_SPAN``; leaves ``room_below`` of the span under the data for trough
    labels; the full 0-1 when the data cover most of it.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return 0.0, 1.0, False
    lo, hi = float(values.min()), float(values.max())
    span = max(hi - lo, MIN_SHARE_SPAN)
    mid = (lo + hi) / 2
    low = max(mid - span / 2 - span * room_below, 0.0)
    high = min(mid + span / 2 + span * 0.1, 1.0)
    if high - low >= 0.9:
        return 0.0, 1.0, False
    return low, high, True


def attitude(df: pd.DataFrame, minutes_per_step: float, planned_steps: int | None = None) -> go.Figure:
    """Share of aware agents with a positive attitude, axis zoomed to the data, confirmed troughs labelled."""
    data: list[dict] = []
    marks: list[dict] = []
    low, high, zoomed = 0.0, 1.0, False
    notes = []
    if len(df):
        positive = df["positive"].to_numpy(dtype=float)
        shown, k = thin(df)
        data.append(
            _line(
                shown,
                shown["positive"].to_numpy(dtype=float),
                "positive",
                ATTITUDE_COLORS["positive"],
                2.5,
                k == 1,
                **_timed(shown, minutes_per_step, ".3f"),
            )
        )
        low, high, zoomed = share_range(positive)
        found = main_troughs(positive, MOST_LABELS, tolerance=SHARE_TOLERANCE)
        if len(found):
            span = _x_span(df, planned_steps)
            trace, marks = turn_marks(df, positive, found, "trough", OKABE_ITO["vermillion"], span, (low, high))
            data.append(trace)
        else:
            notes.append("no clear trough yet")
        if zoomed:
            notes.append(f"axis zoomed to {low:.2f}-{high:.2f}")
    if notes:
        marks.append(_note(" · ".join(notes)))
    return _figure(
        data,
        marks,
        df,
        minutes_per_step,
        planned_steps,
        "Attitude: share positive among aware agents",
        "share of aware agents (0-1)",
        {"range": [low, high]},
    )


def actions(df: pd.DataFrame, minutes_per_step: float, planned_steps: int | None = None) -> go.Figure:
    """Reposts, quotes and new posts per step, stacked."""
    data: list[dict] = []
    top = 0.0
    if len(df):
        k = thin(df)[1]
        bars = binned(df, ["repost", "quote", "post"], k)
        for action in ("repost", "quote", "post"):
            data.append(
                {
                    "type": "bar",
                    "x": bars["step"].to_numpy(),
                    "y": bars[action].to_numpy(),
                    "width": k,
                    "name": action if k == 1 else f"{action} (mean of {k} steps)",
                    "marker": {"color": ACTION_COLORS[action], "line": {"width": 0}},  # no white edges
                }
            )
        top = float((bars["repost"] + bars["quote"] + bars["post"]).max())
    return _figure(
        data,
        [],
        df,
        minutes_per_step,
        planned_steps,
        "Actions per step",
        "actions per step (count)",
        count_axis_spec(top),
        barmode="stack",
        bargap=0,  # bars touch: the colour must not pale as bars get thinner and the gaps (or edges) show
    )
