"""An experiment's results on the Compare page: bands, effect curves, the effects table and the forest plot.

Figures come from ``s3core.experiment.figures`` (the same as the HTML report's); this module adds
the page's widgets and writes intervals the way people read them, "−0.21 [−0.30, −0.12]".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from s3core.experiment import figures as F

from .widgets import chart, md_escape

MINUS = "\u2212"
ROOT = Path(__file__).resolve().parent.parent


def scenario_name(path: str) -> str:
    """A scenario path as people know it: relative to the checkout when it lies inside."""
    p = Path(path)
    try:
        return str(p.relative_to(ROOT)) if p.is_absolute() else path
    except ValueError:
        return path


def decimals(*values: float | None, digits: int = 2) -> int:
    """Decimals that show ``digits`` significant digits of the largest value (0 to 4)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 0
    return int(min(4, max(0, digits - 1 - math.floor(math.log10(max(finite))))))


def number(x: float | None, places: int, signed: bool = False) -> str:
    """A number with a true minus sign; ``signed`` adds + to positive values (effects)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if round(x, places) == 0:
        return f"{0:.{places}f}"
    return (f"{x:+.{places}f}" if signed else f"{x:.{places}f}").replace("-", MINUS)


def interval(mean: float | None, low: float | None, high: float | None, seeds: int, signed: bool = True) -> str:
    """ "−0.21 [−0.30, −0.12]"; with one seed only the estimate, since there is no interval."""
    places = decimals(mean, low, high)
    if seeds < 2:
        return f"{number(mean, places, signed)} (1 seed: no interval)"
    return f"{number(mean, places, signed)} [{number(low, places, signed)}, {number(high, places, signed)}]"


def effects_table(report: dict) -> pd.DataFrame:
    """``figures.effects_frame`` for reading: outcomes in words, each effect with its 95% interval."""
    frame = F.effects_frame(report)
    rows = []
    for r in frame.to_dict("records"):
        places = decimals(r["baseline"], r["arm mean"], digits=3)
        low, high, seeds = r["ci_low"], r["ci_high"], int(r["seeds"])
        known = all(v is not None and math.isfinite(v) for v in (low, high))
        rows.append(
            {
                "arm": r["arm"],
                "outcome": F.OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
                "baseline": number(r["baseline"], places),
                "arm mean": number(r["arm mean"], places),
                "effect [95% interval]": interval(r["effect"], low, high, seeds),
                "interval excludes 0": "n/a" if not known or seeds < 2 else "yes" if low > 0 or high < 0 else "no",
                "seeds": seeds,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["arm", "outcome", "baseline", "arm mean", "effect [95% interval]", "interval excludes 0", "seeds"],
    )


def arms_text(report: dict) -> str:
    """Each arm and what it changes, baseline first, as one markdown line."""
    parts = []
    for name, arm in report["arms"].items():
        own = [c for c in arm.get("changes") or [] if not c.startswith("from step ")]
        changes = "; ".join(own) or "the scenario as written"
        if arm.get("from_step"):
            changes += f", branching from the baseline's run at step {arm['from_step']}"
        role = " (baseline)" if arm["baseline"] else ""
        model = f", {arm['model'].replace('_', ' ')} model" if arm.get("model", "agents") != "agents" else ""
        parts.append(f"**{md_escape(name)}**{role}: {md_escape(changes)}{model}")
    return " · ".join(parts)


def show(report: dict, html: Callable[[], bytes], key: str = "exp") -> None:
    """The results of one experiment; ``html`` returns the HTML report's bytes, read when it is downloaded."""
    seeds, first = report["seeds"], report["first_seed"]
    st.markdown(f"#### Results: {md_escape(report['experiment'])}")
    window = (
        f" Peaks and troughs are measured from step {report['outcomes_from_step']} on."
        if report.get("outcomes_from_step")
        else ""
    )
    st.caption(
        f"{seeds} seed{'s' if seeds != 1 else ''} ({first} to {first + seeds - 1}), {report['steps']} steps, "
        f"scenario {md_escape(scenario_name(report['scenario']))}. Arms: {arms_text(report)}.{window}"
    )
    for note in report.get("notes") or []:
        st.warning(md_escape(note), icon=":material/warning:")
    if seeds < 2:
        st.info(
            "One seed: there is no interval (each band and interval equals the estimate). Run two or more seeds "
            "to see how much the effect varies.",
            icon=":material/info:",
        )

    curve = st.selectbox("Curve", list(F.CURVE_LABELS), key=f"{key}_curve", format_func=lambda c: F.CURVE_LABELS[c][0])
    left, right = st.columns(2)
    with left:
        chart(F.mean_curves(report, curve), key=f"{key}_chart_mean")
    with right:
        chart(F.effect_curves(report, curve), key=f"{key}_chart_effect")
    st.caption(
        f"Bands and intervals: {md_escape(report['bands'])}. An effect is the mean over seeds of arm minus "
        f"baseline on the same seed; 0 is no effect."
    )

    st.markdown("**Effects on the outcomes** (arm minus baseline, paired by seed, with 95% intervals)")
    st.dataframe(effects_table(report), hide_index=True, width="stretch", key=f"{key}_effects")

    outcomes = list(next((a["effects"] for a in report["arms"].values() if not a["baseline"]), {}))
    if outcomes:
        outcome = st.selectbox(
            "Outcome for the effects by group",
            outcomes,
            key=f"{key}_outcome",
            format_func=lambda o: F.OUTCOME_LABELS.get(o, o),
        )
        chart(F.forest(report, outcome), key=f"{key}_forest")
        st.caption(
            "Each dot is an effect within one group of agents (by user category, gender, occupation and age), "
            "with its 95% interval over seeds; groups where nobody became aware on any seed are left out."
        )

    c = st.columns([1, 1, 2])
    name = report["experiment"]
    c[0].download_button(
        "Download the HTML report",
        data=html,
        file_name=f"{name}-report.html",
        mime="text/html",
        key=f"{key}_download_html",
        icon=":material/download:",
        on_click="ignore",
        help="One self-contained file that opens offline: arms, effects with intervals, curves with "
        "bands, effects by group, parameters and provenance.",
    )
    c[1].download_button(
        "Download the report as JSON",
        data=lambda: json.dumps(report, indent=1).encode("utf-8"),
        file_name=f"{name}-report.json",
        mime="application/json",
        key=f"{key}_download_json",
        icon=":material/data_object:",
        on_click="ignore",
        help="What `python -m s3core experiment --json` prints: curves, bands and effects per arm.",
    )
