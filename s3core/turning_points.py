"""Confirmed peaks and troughs of a curve: a turn is marked only once the curve has visibly turned.

A live chart must not call the newest point of a still-rising curve a peak. The rule, in one place:

- a **peak** is a point (the first of a plateau) that rose by more than ``tolerance`` from the
  lowest point since the previous peak (or the start), and is followed by at least ``k`` points
  lower than it by more than ``tolerance`` before the curve goes above it again;
- a **trough** is the same rule on the curve turned upside down.

So the newest point of a series is never a turn, and a maximum is confirmed only once the curve
has come down from it (a slow turn is confirmed a few steps later than a sharp one).
"""

from __future__ import annotations

import numpy as np

CONFIRM_POINTS = 2  # k: points after a turn that must be on the other side
TOLERANCE = 0.01  # how far (in the series' units) those points, and the rise before, must be


def confirmed_peaks(series, k: int = CONFIRM_POINTS, tolerance: float = TOLERANCE) -> np.ndarray:
    """Indices (int64, ascending) of the confirmed maxima of a 1-D series; NaN points are never turns.

    Raises:
        ValueError: ``k`` below 1 or ``tolerance`` negative.
    """
    return _confirmed_maxima(np.asarray(series, dtype=float), k, tolerance)


def confirmed_troughs(series, k: int = CONFIRM_POINTS, tolerance: float = TOLERANCE) -> np.ndarray:
    """Indices (int64, ascending) of the confirmed minima of a 1-D series (the peaks of its negation)."""
    return _confirmed_maxima(-np.asarray(series, dtype=float), k, tolerance)


def _confirmed_maxima(s: np.ndarray, k: int, tolerance: float) -> np.ndarray:
    if k < 1:
        raise ValueError(f"k (points confirming a turn) must be at least 1, got {k}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more, got {tolerance}")
    if s.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {s.shape}")
    n = len(s)
    found: list[int] = []
    lowest = np.inf  # the lowest point since the last confirmed peak (or the start)
    i = 0
    while i < n:
        v = s[i]
        if np.isnan(v):
            i += 1
            continue
        end = i  # the plateau of equal values starting at i
        while end + 1 < n and s[end + 1] == v:
            end += 1
        if lowest < v - tolerance and _comes_down(s, end + 1, v, k, tolerance):
            found.append(i)
            lowest = np.inf
        else:
            lowest = min(lowest, v)
        i = end + 1
    return np.asarray(found, dtype=np.int64)


def _comes_down(s: np.ndarray, start: int, top: float, k: int, tolerance: float) -> bool:
    """Whether ``k`` points from ``start`` on are below ``top - tolerance`` before any point is above ``top``."""
    below = 0
    for v in s[start:]:
        if v > top:
            return False
        if v < top - tolerance:
            below += 1
            if below >= k:
                return True
    return False
