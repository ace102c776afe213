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


PROMINENCE_SHARE = 0.15  # a main turn stands out by at least this share of the curve's range
MOST_TURNS = 2  # main turns per curve: the most extreme one and at most one more


def prominence(series, index: int) -> float:
    """How far the maximum at ``index`` stands above the higher of the two lowest points that separate it
    from higher ground on each side (the whole side when there is none): the topographic prominence."""
    s = np.asarray(series, dtype=float)
    top = s[index]
    bases = []
    for side in (s[:index][::-1], s[index + 1 :]):
        higher = np.flatnonzero(side > top)
        part = side[: higher[0]] if len(higher) else side
        part = part[~np.isnan(part)]
        bases.append(float(part.min()) if len(part) else top)
    return float(top - max(bases))


def main_peaks(series, most: int = MOST_TURNS, share: float = PROMINENCE_SHARE, **confirm) -> np.ndarray:
    """Indices (ascending) of the confirmed peaks that stand out from the noise: prominence at least ``share``
    of the curve's range; the highest such peak plus the next most prominent ones, ``most`` in all."""
    return _main(np.asarray(series, dtype=float), most, share, confirm)


def main_troughs(series, most: int = MOST_TURNS, share: float = PROMINENCE_SHARE, **confirm) -> np.ndarray:
    """The ``main_peaks`` rule on the curve turned upside down."""
    return _main(-np.asarray(series, dtype=float), most, share, confirm)


def _main(s: np.ndarray, most: int, share: float, confirm: dict) -> np.ndarray:
    found = confirmed_peaks(s, **confirm)
    if not len(found) or most < 1:
        return np.asarray([], dtype=np.int64)
    span = float(np.nanmax(s) - np.nanmin(s))
    prom = np.array([prominence(s, int(i)) for i in found])
    clear = found[prom >= share * span]
    if not len(clear):
        return np.asarray([], dtype=np.int64)
    highest = int(clear[np.argmax(s[clear])])
    rest = [int(i) for i in clear[np.argsort(-prom[prom >= share * span], kind="stable")] if i != highest]
    return np.asarray(sorted([highest, *rest[: most - 1]]), dtype=np.int64)
