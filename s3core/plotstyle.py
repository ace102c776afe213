"""The shared look of every chart (dashboard and HTML reports): one colour-blind-safe palette and layout."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import plotly.graph_objects as go

# Okabe & Ito (2008), the palette distinguishable under the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
GREY = "#BBBBBB"
COLORWAY = [OKABE_ITO[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "yellow", "black")]
EMOTION_COLORS = {"calm": OKABE_ITO["sky"], "moderate": OKABE_ITO["orange"], "intense": OKABE_ITO["vermillion"]}
ATTITUDE_COLORS = {"negative": OKABE_ITO["vermillion"], "positive": OKABE_ITO["blue"]}
ACTION_COLORS = {"repost": OKABE_ITO["blue"], "quote": OKABE_ITO["orange"], "post": OKABE_ITO["green"], "ignore": GREY}


def step_axis(minutes_per_step: float) -> str:
    """The x-axis label of every time chart, with the length of a step."""
    return f"step (1 step = {minutes_per_step:g} min)"


def styled(fig: go.Figure, title: str, x: str, y: str, height: int = 340, **layout) -> go.Figure:
    """Apply the shared look: title, axis labels, palette, white background, legend on top."""
    settings = {**_settings(title), "xaxis_title": x, "yaxis_title": y, "template": "plotly_white", "height": height}
    fig.update_layout(**{**settings, **layout})  # fixed margins: automargin costs the browser a re-layout per update
    return fig


def _settings(title: str) -> dict:
    return dict(
        title={
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 0.985,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 15},
        },
        colorway=COLORWAY,
        margin={"l": 70, "r": 20, "t": 88, "b": 56},
        font={"family": "sans-serif", "size": 12},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0, "title": None},
        hovermode="x unified",
    )


def cycle(colors: Sequence[str]):
    """The colours over and over, for any number of traces."""
    while True:
        yield from colors


def fade(hex_color: str, alpha: float = 0.15) -> str:
    """A ``#rrggbb`` colour as a translucent ``rgba()`` fill."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# -- time axes: steps and the simulated time they stand for -------------------------------------
NICE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def clock(minutes: float) -> str:
    """Simulated time as a person reads it: ``45 min``, ``6 h``, ``1 d 6 h``, ``2 d``."""
    minutes = float(minutes)
    if minutes < 60:
        return f"{minutes:g} min"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days:g} d"] if days else []
    if hours or mins:
        parts.append(f"{hours:g} h" if not mins else f"{hours:g} h {mins:g} min")
    return " ".join(parts)


def short_clock(minutes: float) -> str:
    """Simulated time in one short token for a tick: ``30 min``, ``6 h``, ``30 h``, ``1 d``, ``2.5 d``."""
    minutes = float(minutes)
    if minutes < 60:
        return f"{minutes:g} min"
    if minutes % 1440 == 0:
        return f"{minutes / 1440:g} d"
    if minutes < 2880:
        return f"{round(minutes / 60, 1):g} h"
    return f"{round(minutes / 1440, 1):g} d"


def step_end_minutes(step: float, minutes_per_step: float) -> float:
    """Simulated minutes at the end of ``step``: step s is the period ending at (s + 1) x minutes_per_step.

    The one time convention of charts, tables and the metrics CSV (step 0 ends at 10 min with 10-min steps).
    """
    return (float(step) + 1) * float(minutes_per_step)


def step_time(step: int, minutes_per_step: float) -> str:
    """A step named with the simulated time it ends at: ``step 0 (to 10 min)``."""
    return f"step {int(step)} (to {clock(step_end_minutes(step, minutes_per_step))})"


def time_ticks(last_step: int, minutes_per_step: float, most: int = 6) -> tuple[list[int], list[str]]:
    """Step ticks over steps 0..``last_step`` at round step numbers (multiples of 1, 2, 5, 10, 20, 25, 50...),
    each labelled with the step and the simulated time it ends at; at most about ``most`` ticks.

    Returns (tick steps, tick texts).
    """
    last_step = max(int(last_step), 0)
    every = next((n for n in NICE_STEPS if (last_step + 1) / n <= most), NICE_STEPS[-1])
    steps = list(range(0, last_step + 1, every))
    return steps, [f"{s}<br>{short_clock(step_end_minutes(s, minutes_per_step))}" for s in steps]


def time_axis_spec(last_step: int, minutes_per_step: float, first_step: int = 0) -> dict:
    """Layout of an x axis of steps with the simulated time under each tick, its range stopping at ``last_step``."""
    vals, text = time_ticks(last_step, minutes_per_step)
    return {
        "tickmode": "array",
        "tickvals": vals,
        "ticktext": text,
        "range": [first_step - 0.6, max(last_step, first_step + 1) + 0.6],
        "title": {"text": f"step / simulated time (1 step = {minutes_per_step:g} min)"},
    }


def time_axis(fig: go.Figure, last_step: int, minutes_per_step: float, first_step: int = 0) -> go.Figure:
    """Steps on the x axis with the simulated time under each tick; the range stops at the run's steps."""
    fig.update_xaxes(**time_axis_spec(last_step, minutes_per_step, first_step))
    return fig


def count_axis_spec(top: float, headroom: float = 0.08) -> dict:
    """Layout of a y axis of counts: from 0, whole-number ticks only (step 1 for small counts), never below 0."""
    top = max(float(top), 0.0)
    upper = max(top, 1.0) * (1 + headroom)
    spec = {"range": [0, upper], "tickformat": ",d", "hoverformat": ",d"}
    if top < 8:
        spec.update(range=[0, max(upper, top + 0.5)], dtick=1, tick0=0)
    return spec


def count_axis(fig: go.Figure, top: float, headroom: float = 0.08) -> go.Figure:
    fig.update_yaxes(**count_axis_spec(top, headroom))
    return fig


@functools.cache
def _white_template() -> dict:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def layout_spec(title: str, x: str, y: str, height: int = 340, **layout) -> dict:
    """The layout ``styled`` gives, as a plain dict, for figures built without plotly's validation.

    Live charts redraw twice a second: a validated figure costs about 50 ms to build, this about 5.
    Axis settings may be given as ``xaxis``/``yaxis`` dicts; they are merged with the titles.
    """
    xaxis = {"title": {"text": x}, **layout.pop("xaxis", {})}
    yaxis = {"title": {"text": y}, **layout.pop("yaxis", {})}
    return {
        **_settings(title),
        "template": _white_template(),
        "height": height,
        "xaxis": xaxis,
        "yaxis": yaxis,
        **layout,
    }


def fast_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain trace dicts and a ``layout_spec`` layout, skipping plotly's (slow) validation."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)
