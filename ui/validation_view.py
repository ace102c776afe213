"""The Validate page's figures and tables: real against modelled cascade curves, comments over time, NRMSE.

Pure builders (data in, figure or frame out, no streamlit), in the look of ``ui.charts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from s3core.validation import individual_content as IC
from s3core.validation import individual_stance as IS
from s3core.validation.trees import CascadeTree

from .charts import GREY, OKABE_ITO, styled

CURVE_TITLES = {
    "scale": ("Scale: participants so far", "participants (count)"),
    "depth": ("Depth: deepest repost hop so far", "hops from the source"),
    "max_breadth": ("Max breadth: most participants at one depth", "participants at one depth (count)"),
}
LINE_STYLES = {  # model -> (legend name, colour, dash, width)
    "real": ("real", OKABE_ITO["black"], "solid", 3.0),
    "simulator": ("simulator", OKABE_ITO["blue"], "solid", 2.2),
    "independent_cascade": ("independent cascade", OKABE_ITO["orange"], "dash", 2.0),
    "mean_curve": ("mean curve", OKABE_ITO["green"], "dot", 2.0),
}
SIDE_COLORS = {"real": OKABE_ITO["black"], "simulated": OKABE_ITO["blue"]}
AGGREGATE_ROWS = {"nrmse": "simulator", "baseline_nrmse": "independent cascade", "mean_curve_nrmse": "mean curve"}
PROTOCOL_NOTE = (
    "How these numbers differ from the published ones. **OASIS** replays Twitter15/16 cascades with the real "
    "participants and their real follow relations and profiles, and LLM agents; here the simulator knows only the "
    "source text and N (participants within 150 minutes) and replays on a network synthesized "
    "from the model's network statistics, so the real cascade's edges and timings are never read. Both use the "
    "same per-minute scale, depth and max-breadth curves over 150 minutes and RMSE divided by the real curve's "
    "maximum. **S3 Tables 2 and 3** are individual-level accuracies (emotion level, propagation, attitude) and "
    "content cosine on S3's own gender and nuclear-energy Weibo events; they are not NRMSE and are listed for "
    "reference only. The baselines here see no more than the simulator: the independent cascade runs on the same "
    "synthesized network with one probability fitted on the earlier (training) half of the cascades, the mean "
    "curve is the training cascades' average shape scaled by N."
)


def curve_figure(curves: Mapping[str, Mapping[str, Sequence[float]]], curve: str) -> go.Figure:
    """One curve (scale, depth or max breadth) per minute for the real cascade and every model present."""
    title, y = CURVE_TITLES[curve]
    fig = go.Figure()
    for model, (name, color, dash, width) in LINE_STYLES.items():
        if model not in curves:
            continue
        values = np.asarray(curves[model][curve], dtype=float)
        fig.add_scatter(
            x=np.arange(1, len(values) + 1),
            y=values,
            name=name,
            mode="lines",
            line={"color": color, "dash": dash, "width": width},
        )
    return styled(fig, title, "minutes after the source post", y, height=380)


def _bars(rows_by_side: Mapping[str, list[dict]], value: str, labels: list[str], title: str, y: str) -> go.Figure:
    fig = go.Figure()
    for side, rows in rows_by_side.items():
        values = [r[value] for r in rows]
        fig.add_bar(
            x=labels,
            y=[np.nan if v is None else v for v in values],
            name=f"{side} comments",
            marker_color=SIDE_COLORS.get(side, GREY),
            customdata=[r["n"] for r in rows],
            hovertemplate="%{y:.2f} of %{customdata} comments<extra>" + side + "</extra>",
            text=[f"n={r['n']}" for r in rows],
            textposition="outside",
        )
    return styled(
        fig,
        title,
        "time since the source post",
        y,
        height=330,
        barmode="group",
        yaxis_range=[0, 1.15],
        hovermode="closest",
    )


def emotion_rows(tree: CascadeTree) -> list[dict]:
    """Emotion density (share of comments at moderate or intense emotion) per bin of hours, with n."""
    rows = IC.emotion_density([tree])
    return [{**r, "density": None if r["n"] == 0 else round(r["moderate"] + r["intense"], 4)} for r in rows]


def emotion_figure(real: CascadeTree, simulated: CascadeTree) -> go.Figure:
    """Emotion density of the real cascade's comments beside the free run's, per bin of hours."""
    rows = {"real": emotion_rows(real), "simulated": emotion_rows(simulated)}
    labels = [r["bin"] for r in rows["real"]]
    return _bars(
        rows,
        "density",
        labels,
        "Emotion density of comments over time (moderate or intense)",
        "share of comments (0-1)",
    )


def stance_rows(tree: CascadeTree) -> list[dict]:
    """Support share among comments labelled support or deny (``individual_stance.text_stance``) per time bin."""
    return IS.simulated_stance_over_time([tree])


def stance_figure(real: CascadeTree, simulated: CascadeTree) -> go.Figure:
    """Stance share (support among support + deny) of the real cascade's comments beside the free run's."""
    rows = {"real": stance_rows(real), "simulated": stance_rows(simulated)}
    labels = [r["bin"] for r in rows["real"]]
    return _bars(
        rows,
        "support_share",
        labels,
        "Stance of comments over time: support among support + deny",
        "support share (0-1)",
    )


def over_time_table(real: CascadeTree, simulated: CascadeTree) -> pd.DataFrame:
    """The numbers behind both over-time charts, one row per bin and side."""
    out = []
    for side, tree in (("real", real), ("simulated", simulated)):
        for e in emotion_rows(tree):
            out.append(
                {"side": side, "measure": "emotion density", "bin": e["bin"], "comments": e["n"], "share": e["density"]}
            )
        for s in stance_rows(tree):
            out.append(
                {
                    "side": side,
                    "measure": "support share",
                    "bin": s["bin"],
                    "comments": s["n"],
                    "share": s["support_share"],
                }
            )
    return pd.DataFrame(out)


def aggregate_table(summary: Mapping) -> pd.DataFrame:
    """Mean NRMSE per curve of the simulator and both baselines, from a validation summary."""
    rows = []
    for key, label in AGGREGATE_ROWS.items():
        scores = summary.get(key) or {}
        rows.append({"model": label, **{c: _num(scores.get(c)) for c in ("scale", "depth", "max_breadth")}})
    return pd.DataFrame(rows)


def stylized_table(summary: Mapping) -> pd.DataFrame:
    """Free-running stylized facts with a single number per side (simulated, real, distance)."""
    rows = []
    for name, fact in (summary.get("stylized") or {}).items():
        if name == "quote_share" and isinstance(fact, Mapping):
            for part, f in fact.items():
                rows.append(
                    {
                        "fact": f"quote share ({part})",
                        "simulated": _num(f.get("simulated")),
                        "real": _num(f.get("real")),
                        "distance": _num(f.get("distance")),
                    }
                )
            continue
        if name == "size_conditioned_ks" and isinstance(fact, Mapping):
            for part, value in (fact.get("weighted_mean") or {}).items():
                rows.append(
                    {
                        "fact": f"KS of {part.replace('_', ' ')}, like-sized cascades",
                        "simulated": None,
                        "real": None,
                        "distance": _num(value),
                    }
                )
            continue
        sim, real = fact.get("simulated"), fact.get("real")
        if isinstance(sim, Mapping) and "median" in sim:
            sim, real = sim.get("median"), (real or {}).get("median")
            name = f"{name} (median; distance: {fact.get('distance_kind', '')})"
        if isinstance(sim, (list, Mapping)):
            continue
        rows.append(
            {
                "fact": name.replace("_", " "),
                "simulated": _num(sim),
                "real": _num(real),
                "distance": _num(fact.get("distance")),
            }
        )
    return pd.DataFrame(rows, columns=["fact", "simulated", "real", "distance"])


def published_table(published: Mapping) -> pd.DataFrame:
    """``validate.PUBLISHED`` flattened: source, measure, reported value (as text: some are pairs or bounds)."""
    rows = []
    for source, measures in published.items():
        for measure, value in measures.items():
            shown = " / ".join(f"{v:g}" for v in value) if isinstance(value, (list, tuple)) else str(value)
            rows.append({"source": source, "measure": measure, "reported": shown})
    return pd.DataFrame(rows)


def finite(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether every value in ``columns`` is a finite number (the page warns otherwise)."""
    values = frame[list(columns)].to_numpy(dtype=float)
    return bool(np.isfinite(values).all())


def _num(x) -> float:
    return float("nan") if x is None else float(x)
