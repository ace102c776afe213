"""Validation results in a DuckDB file: summary, per-cascade scores, curves and stylized facts."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE summary (key VARCHAR PRIMARY KEY, value JSON);
CREATE TABLE cascades (cascade_id VARCHAR, n_users INTEGER, simulated_reach INTEGER, free_run_size INTEGER,
    real_size_36h INTEGER, model VARCHAR, scale DOUBLE, depth DOUBLE, max_breadth DOUBLE);
CREATE TABLE curves (cascade_id VARCHAR, model VARCHAR, minute INTEGER, scale DOUBLE, depth DOUBLE, max_breadth DOUBLE);
"""
MODELS = {"nrmse": "simulator", "baseline_nrmse": "independent_cascade", "mean_curve_nrmse": "mean_curve"}


def write_results(path: str | Path, result: dict) -> None:
    """Write ``validate``'s result to a new DuckDB file at ``path`` (replacing an older one)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    with duckdb.connect(str(tmp)) as con:
        con.execute(SCHEMA)
        summary = pd.DataFrame(
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in result.items() if k not in ("per_cascade", "curves")],
            columns=["key", "value"],
        )
        con.register("summary_df", summary)
        con.execute("INSERT INTO summary SELECT key, value FROM summary_df")
        rows = [
            {
                **{k: r[k] for k in ("cascade_id", "n_users", "simulated_reach", "free_run_size", "real_size_36h")},
                "model": model,
                **r[key],
            }
            for r in result.get("per_cascade", [])
            for key, model in MODELS.items()
        ]
        if rows:
            con.register("cascades_df", pd.DataFrame(rows))
            con.execute(
                "INSERT INTO cascades SELECT cascade_id, n_users, simulated_reach, free_run_size, real_size_36h, "
                "model, scale, depth, max_breadth FROM cascades_df"
            )
        curve_rows = []
        for cid, models in result.get("curves", {}).items():
            for model, curves in models.items():
                frame = pd.DataFrame(curves)
                frame.insert(0, "minute", range(1, len(frame) + 1))
                frame.insert(0, "model", model)
                frame.insert(0, "cascade_id", cid)
                curve_rows.append(frame)
        if curve_rows:
            con.register("curves_df", pd.concat(curve_rows, ignore_index=True))
            con.execute("INSERT INTO curves SELECT cascade_id, model, minute, scale, depth, max_breadth FROM curves_df")
    tmp.replace(path)
