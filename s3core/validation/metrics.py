"""Cascade metrics: per-minute curves, normalized RMSE, structural virality and stylized facts.

Definitions follow the papers the figures are compared with: per-minute scale, depth and max
breadth over the first 150 minutes, RMSE divided by the real curve's maximum (OASIS, Yang et
al. 2024, arXiv 2411.11581, sec. 4.1); structural virality as the mean shortest-path distance
between all pairs of nodes of the cascade tree, root included (Goel, Anderson, Hofman and
Watts 2016, Management Science 62(1)).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .trees import CascadeTree

WINDOW_MINUTES = 150
CURVES = ("scale", "depth", "max_breadth")


def curves(tree: CascadeTree, minutes: int = WINDOW_MINUTES) -> dict[str, np.ndarray]:
    """Scale (participants), depth (deepest hop) and max breadth (most participants at one depth)
    at the end of each minute 1..``minutes``; each a float64 array of shape (minutes,)."""
    grid = np.arange(1, minutes + 1, dtype=np.float64)
    t = np.sort(tree.t_min)
    scale = np.searchsorted(t, grid, side="right").astype(np.float64)
    depth = np.zeros(minutes)
    breadth = np.zeros(minutes)
    for d in np.unique(tree.depth):
        at_d = np.searchsorted(np.sort(tree.t_min[tree.depth == d]), grid, side="right")
        breadth = np.maximum(breadth, at_d)
        depth = np.where(at_d > 0, np.maximum(depth, d), depth)
    return {"scale": scale, "depth": depth, "max_breadth": breadth}


def nrmse(simulated: np.ndarray, real: np.ndarray) -> float:
    """Root mean squared error over the curve, divided by the real curve's maximum; NaN if that is 0."""
    top = float(np.max(real)) if len(real) else 0.0
    if top <= 0:
        return float("nan")
    return float(np.sqrt(np.mean((np.asarray(simulated, float) - np.asarray(real, float)) ** 2)) / top)


def structural_virality(tree: CascadeTree) -> float:
    """Mean pairwise hop distance over the tree's nodes, root included; NaN for a lone root.

    Computed in O(n) from subtree sizes: the Wiener index is the sum over edges of
    size(below) x size(above).
    """
    n = len(tree) + 1
    if n < 2:
        return float("nan")
    size = np.ones(len(tree), dtype=np.float64)
    order = np.argsort(-tree.depth, kind="stable")
    for level in np.unique(tree.depth)[::-1]:
        nodes = order[tree.depth[order] == level]
        children_parent = tree.parent[nodes]
        inner = children_parent >= 0
        np.add.at(size, children_parent[inner], size[nodes[inner]])
    wiener = float(np.sum(size * (n - size)))
    return 2.0 * wiener / (n * (n - 1))


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (scipy.stats.ks_2samp); NaN if either is empty."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.ks_2samp(a, b).statistic)


def depth_shares(trees: list[CascadeTree]) -> dict[str, float]:
    """Share of all reposts at depth 1, and at depth 2 or more (the branching ratio)."""
    depth = np.concatenate([t.depth for t in trees]) if trees else np.zeros(0)
    if len(depth) == 0:
        return {"depth1_share": float("nan"), "branching_ratio": float("nan")}
    return {"depth1_share": float(np.mean(depth == 1)), "branching_ratio": float(np.mean(depth >= 2))}


def quote_shares(trees: list[CascadeTree]) -> dict[str, float]:
    """Share of reposts that add a comment, overall and at depth 1, 2 and 3 or more."""
    depth = np.concatenate([t.depth for t in trees]) if trees else np.zeros(0, int)
    quote = np.concatenate([t.quote for t in trees]) if trees else np.zeros(0, bool)
    out = {"overall": float(quote.mean()) if len(quote) else float("nan")}
    for name, mask in (("depth1", depth == 1), ("depth2", depth == 2), ("depth3+", depth >= 3)):
        out[name] = float(quote[mask].mean()) if mask.any() else float("nan")
    return out


def timing(trees: list[CascadeTree], horizon_minutes: float = 36 * 60) -> dict[str, float]:
    """Median minutes to half the cascade's reach within ``horizon_minutes``, the median share of
    that reach within the first hour, and the log-log slope of pooled hourly activity, hours 1-24."""
    half, first_hour = [], []
    hourly = np.zeros(24)
    for tree in trees:
        t = np.sort(tree.t_min[tree.t_min <= horizon_minutes])
        if len(t) == 0:
            continue
        half.append(float(t[(len(t) - 1) // 2]))
        first_hour.append(float(np.mean(t <= 60.0)))
        hours = np.floor(t / 60.0).astype(np.int64)
        hourly += np.bincount(hours[hours < 24], minlength=24)[:24]
    return {
        "median_minutes_to_half_reach": float(np.median(half)) if half else float("nan"),
        "first_hour_share": float(np.median(first_hour)) if first_hour else float("nan"),
        "activity_slope_1_24h": activity_slope(hourly),
    }


def activity_slope(hourly: np.ndarray) -> float:
    """Least-squares slope of log(activity) on log(hour) over hours with activity (hour h = 1..24)."""
    hours = np.arange(1, len(hourly) + 1, dtype=np.float64)
    keep = hourly > 0
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(hours[keep]), np.log(hourly[keep]), 1)[0])


SIZE_BINS = (1, 10, 100, 1000, np.inf)


def structure_by_size(trees: list[CascadeTree]) -> list[dict]:
    """Mean depth, max breadth and structural virality per bin of cascade size (Juul and Ugander
    2021: structure compared only between cascades of similar size)."""
    rows = []
    sizes = np.array([len(t) for t in trees])
    for lo, hi in zip(SIZE_BINS[:-1], SIZE_BINS[1:]):
        members = [t for t, s in zip(trees, sizes) if lo <= s < hi]
        label = _bin_label(lo, hi)
        if not members:
            rows.append({"size": label, "cascades": 0, "depth": None, "max_breadth": None, "structural_virality": None})
            continue
        rows.append(
            {
                "size": label,
                "cascades": len(members),
                "depth": float(np.mean([t.depth.max() for t in members])),
                "max_breadth": float(np.mean([np.bincount(t.depth).max() for t in members])),
                "structural_virality": float(np.nanmean([structural_virality(t) for t in members])),
            }
        )
    return rows


def _bin_label(lo, hi) -> str:
    return f"{lo}-{int(hi) - 1}" if np.isfinite(hi) else f"{lo}+"


def size_conditioned_ks(real: list[CascadeTree], simulated: list[CascadeTree]) -> dict:
    """KS distances of depth, max breadth and structural virality between real and simulated
    cascades of the same size bin, and their means weighted by the real cascades per bin.

    Bins where either side has no cascade are listed with ``None``; a size distribution far
    from the real one leaves few comparable bins, which the size KS distance already shows.
    """

    def values(trees):
        size = np.array([len(t) for t in trees])
        depth = np.array([t.depth.max() if len(t) else 0 for t in trees], dtype=float)
        breadth = np.array([np.bincount(t.depth).max() if len(t) else 0 for t in trees], dtype=float)
        virality = np.array([structural_virality(t) for t in trees], dtype=float)
        return size, {"depth": depth, "max_breadth": breadth, "structural_virality": virality}

    size_r, real_v = values(real)
    size_s, sim_v = values(simulated)
    rows, weights, sums = [], 0, {k: 0.0 for k in real_v}
    for lo, hi in zip(SIZE_BINS[:-1], SIZE_BINS[1:]):
        in_r, in_s = (size_r >= lo) & (size_r < hi), (size_s >= lo) & (size_s < hi)
        row = {"size": _bin_label(lo, hi), "real": int(in_r.sum()), "simulated": int(in_s.sum())}
        for k in real_v:
            a, b = real_v[k][in_r], sim_v[k][in_s]
            row[k] = ks_distance(a[~np.isnan(a)], b[~np.isnan(b)]) if in_r.any() and in_s.any() else None
        if in_r.any() and in_s.any():
            weights += int(in_r.sum())
            for k in real_v:
                sums[k] += (row[k] if row[k] is not None and not np.isnan(row[k]) else 1.0) * int(in_r.sum())
        rows.append(row)
    mean = {k: (sums[k] / weights if weights else None) for k in real_v}
    return {"bins": rows, "weighted_mean": mean, "real_cascades_compared": weights}
