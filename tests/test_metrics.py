"""Curves, peak and trough detection, and breakdowns."""

import numpy as np
import pandas as pd

from s3core import metrics


def test_two_emotion_peaks_are_found():
    x = np.r_[np.linspace(0, 0.5, 5), np.linspace(0.5, 0.2, 5), np.linspace(0.2, 0.4, 5), np.linspace(0.4, 0.1, 5)]
    found = metrics.peaks(x, prominence=0.05)
    assert list(found) == [4, 14]


def test_a_peak_at_the_first_step_counts():
    assert list(metrics.peaks(np.array([0.9, 0.5, 0.2]))) == [0]


def test_trough_needs_a_recovery():
    falling = np.array([0.7, 0.6, 0.5, 0.4])
    assert len(metrics.troughs(falling)) == 0
    dip = np.array([0.7, 0.6, 0.45, 0.5, 0.6, 0.62])
    assert list(metrics.troughs(dip)) == [2]


def test_noise_below_prominence_is_ignored():
    x = 0.5 + 0.001 * np.sin(np.arange(30))
    assert len(metrics.peaks(x, 0.02)) <= 1 and len(metrics.troughs(x, 0.02)) == 0


def test_curves_and_breakdown_from_tables():
    df = pd.DataFrame(
        {
            "step": [1, 0],
            "minutes": [120.0, 60.0],
            "aware": [30, 10],
            "moderate": [0.2, 0.5],
            "intense": [0.1, 0.0],
            "positive": [0.4, 0.6],
            "max_depth": [2, 1],
            "max_breadth": [5, 3],
        }
    )
    c = metrics.curves(df)
    assert list(c.aware) == [10, 30] and np.allclose(c.emotion_density, [0.5, 0.3])
    assert list(metrics.spread_rate(c.aware)) == [10, 20]
    bd = pd.DataFrame(
        {
            "step": [0, 0],
            "dimension": ["category", "category"],
            "grp": [0, 2],
            "agents": [10, 0],
            "aware": [5, 0],
            "positive": [0.2, 0.0],
            "intense": [0.0, 0.0],
            "mean_emotion": [1.0, 0.0],
        }
    )
    out = metrics.breakdown_frame(bd, "category")
    assert list(out["group_name"]) == ["influential", "low-impact"] and out["aware_share"].iloc[0] == 0.5
