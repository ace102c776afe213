"""Population curves from a run's metrics: spread, emotion peaks, attitude troughs, cascade shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from .types import Gender, Occupation, UserCategory, label

AGE_BRACKET_LABELS = ("<25", "25-39", "40-59", "60+")


@dataclass(frozen=True)
class Curves:
    """The population curves of one run, indexed by step, with minutes for axes."""

    step: np.ndarray
    minutes: np.ndarray
    aware: np.ndarray
    emotion_density: np.ndarray  # share of aware agents at moderate or intense emotion
    intense: np.ndarray
    positive: np.ndarray
    max_depth: np.ndarray
    max_breadth: np.ndarray


def curves(metrics: pd.DataFrame) -> Curves:
    """Curves from the ``metrics`` table of a trace (or the metrics of step records)."""
    m = metrics.sort_values("step")
    return Curves(
        step=m["step"].to_numpy(),
        minutes=m["minutes"].to_numpy(),
        aware=m["aware"].to_numpy(),
        emotion_density=(m["moderate"] + m["intense"]).to_numpy(),
        intense=m["intense"].to_numpy(),
        positive=m["positive"].to_numpy(),
        max_depth=m["max_depth"].to_numpy(),
        max_breadth=m["max_breadth"].to_numpy(),
    )


def peaks(series: np.ndarray, prominence: float = 0.02) -> np.ndarray:
    """Indices of local maxima that stand out by at least ``prominence`` (S3's emotion peaks).

    The series is padded with its minimum so a maximum at either end still counts.
    """
    x = np.asarray(series, dtype=float)
    if len(x) < 2:
        return np.zeros(0, dtype=np.int64)
    pad = np.nanmin(x) - prominence
    found, _ = find_peaks(np.r_[pad, x, pad], prominence=prominence)
    return found - 1


def troughs(series: np.ndarray, prominence: float = 0.02) -> np.ndarray:
    """Indices of local minima that stand out by at least ``prominence`` (S3's attitude troughs).

    Unlike peaks, an end point is not a trough: a trough must be followed by a recovery.
    """
    x = -np.asarray(series, dtype=float)
    if len(x) < 3:
        return np.zeros(0, dtype=np.int64)
    found, _ = find_peaks(np.r_[x[0], x], prominence=prominence)
    return found - 1


def spread_rate(aware: np.ndarray) -> np.ndarray:
    """Newly aware agents per step (the first difference of the spread curve)."""
    return np.diff(np.asarray(aware), prepend=0)


def group_labels(dimension: str) -> dict[int, str]:
    """Readable names of the groups of a breakdown dimension."""
    if dimension == "category":
        return {int(c): label(c) for c in UserCategory}
    if dimension == "gender":
        return {int(g): label(g) for g in Gender}
    if dimension == "occupation":
        return {int(o): label(o) for o in Occupation}
    return dict(enumerate(AGE_BRACKET_LABELS))


def breakdown_frame(breakdown: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One dimension of the ``breakdown`` table, with readable group names and aware shares."""
    df = breakdown[breakdown["dimension"] == dimension].copy()
    df["group_name"] = df["grp"].map(group_labels(dimension))
    df["aware_share"] = df["aware"] / df["agents"].clip(lower=1)
    return df.sort_values(["step", "grp"])
