"""The shared look of every chart (dashboard and HTML reports): one colour-blind-safe palette and layout."""

from __future__ import annotations

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
    settings = dict(
        title={
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "y": 0.985,
            "yanchor": "top",
            "yref": "container",
            "font": {"size": 15},
        },
        xaxis_title=x,
        yaxis_title=y,
        colorway=COLORWAY,
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 20, "t": 88, "b": 56},
        font={"family": "sans-serif", "size": 12},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0, "title": None},
        hovermode="x unified",
    )
    fig.update_layout(**{**settings, **layout})  # fixed margins: automargin costs the browser a re-layout per update
    return fig


def cycle(colors: Sequence[str]):
    """The colours over and over, for any number of traces."""
    while True:
        yield from colors


def fade(hex_color: str, alpha: float = 0.15) -> str:
    """A ``#rrggbb`` colour as a translucent ``rgba()`` fill."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
