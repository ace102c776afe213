"""Fits the quote-versus-plain-repost model on the early 70% of a cascade folder's forwards and
writes it as JSON for ``s3core.quote_model`` (no pickle); the late 30% is only scored.

``python -m s3core.validation.fit_quote_model --dataset DIR --out data/params/quote-model-weibo.json``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from .. import quote_model as Q
from .datasets import CascadeData, load_dataset
from .individual_action import SHRINKAGE, binary_scores, decisions, thread_counts, time_split, user_history

MIN_USER_DECISIONS = 10  # users with at least this many training decisions describe the spread of raw rates


def model_features(frame: pd.DataFrame, history: pd.DataFrame, prior: float, leave_one_out: bool) -> np.ndarray:
    """``quote_model.FEATURES`` of decision rows; the user's propensity is the shrunk rate in ``history``."""
    rate, _ = user_history(history, frame, prior, leave_one_out=leave_one_out)
    quotes, forwards = thread_counts(frame)
    return Q.feature_matrix(
        rate,
        frame["depth"].to_numpy(float),
        frame["delay_min"].to_numpy(float),
        frame["parent_quote"].to_numpy(bool),
        quotes,
        forwards,
        prior,
        SHRINKAGE,
    )


def beta_moments(x: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) with the mean and variance of ``x`` (method of moments)."""
    m, v = float(np.mean(x)), float(np.var(x))
    common = m * (1.0 - m) / max(v, 1e-9) - 1.0
    return m * common, (1.0 - m) * common


def _by_depth(frame: pd.DataFrame, values: np.ndarray) -> dict:
    depth = np.minimum(frame["depth"].to_numpy(int), 3)
    return {
        ("3+" if d == 3 else str(d)): round(float(values[depth == d].mean()), 4)
        for d in (1, 2, 3)
        if (depth == d).any()
    }


def fit(data: CascadeData, train_share: float = 0.7, seed: int = 0) -> dict:
    """The model's JSON object: coefficients, scaler, clip range, propensity Beta and a fit report."""
    frame = decisions(data)
    train_ids, test_ids = time_split(data.sources, train_share=train_share)
    train = frame[frame["cascade_id"].isin(set(train_ids))].reset_index(drop=True)
    test = frame[frame["cascade_id"].isin(set(test_ids))].reset_index(drop=True)
    y_train, y_test = train["quote"].to_numpy(bool), test["quote"].to_numpy(bool)
    prior = float(y_train.mean())
    x_train = model_features(train, train, prior, leave_one_out=True)
    x_test = model_features(test, train, prior, leave_one_out=False)
    low, high = np.quantile(x_train, 0.005, axis=0), np.quantile(x_train, 0.995, axis=0)
    scaler = StandardScaler().fit(np.clip(x_train, low, high))
    lr = LogisticRegression(max_iter=1000, random_state=seed).fit(
        scaler.transform(np.clip(x_train, low, high)), y_train
    )
    # The simulator draws each agent's propensity where the fit saw the shrunk training rate:
    # the Beta matches that feature's law over decisions, so the model's mean output carries over.
    shrunk, _ = user_history(train, train, prior, leave_one_out=True)
    a, b = beta_moments(shrunk)
    counts = train.groupby("user_id")["quote"].agg(["sum", "size"])
    known = counts[counts["size"] >= MIN_USER_DECISIONS]
    raw_a, raw_b = (
        beta_moments((known["sum"] / known["size"]).to_numpy(float)) if len(known) > 1 else (float("nan"),) * 2
    )
    model = {
        "format": Q.FORMAT,
        "features": list(Q.FEATURES),
        "feature_help": {
            "user_propensity_logit": "logit of the agent's own quote propensity (fit: the user's quote rate in the other training decisions, shrunk with 5 pseudo-decisions at the training share)",
            "direct": "1 when the focal post is the event's source (the forwarder's depth is 1)",
            "log_depth": "log of the forwarder's depth (focal post's depth + 1)",
            "log_delay": "log(1 + minutes since the focal post was made)",
            "focal_quoted": "1 when the focal post itself carries a comment (is a quote)",
            "thread_quote_logit": "logit of (earlier quotes of the event + shrinkage * thread_prior) / (earlier forwards + shrinkage)",
        },
        "scaler": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        "low": low.tolist(),
        "high": high.tolist(),
        "coef": lr.coef_[0].tolist(),
        "intercept": float(lr.intercept_[0]),
        "thread_prior": prior,
        "shrinkage": SHRINKAGE,
        "propensity_beta": {
            "a": a,
            "b": b,
            "fitted_on": "shrunk training quote rates, one per decision (method of moments)",
            "raw_users": {"a": raw_a, "b": raw_b, "users": int(len(known)), "min_decisions": MIN_USER_DECISIONS},
        },
    }
    fitted = Q.from_dict(model)
    p_train, p_test = fitted.probability(x_train), fitted.probability(x_test)
    model["report"] = {
        "dataset": data.name,
        "train_share": train_share,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "train": binary_scores(y_train, p_train, p_train >= 0.5),
        "test": binary_scores(y_test, p_test, p_test >= 0.5),
        "quote_share_by_depth": {
            "train_real": _by_depth(train, y_train.astype(float)),
            "train_model": _by_depth(train, p_train),
            "test_real": _by_depth(test, y_test.astype(float)),
            "test_model": _by_depth(test, p_test),
        },
        "quote_share": {
            "train_real": round(prior, 4),
            "test_real": round(float(y_test.mean()), 4),
            "test_model": round(float(p_test.mean()), 4),
        },
    }
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m s3core.validation.fit_quote_model", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", required=True, help="cascade folder with comment texts (e.g. weibo-ced)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    data = load_dataset(args.dataset)
    if not isinstance(data, CascadeData) or not data.has_text:
        print(f"{args.dataset}: needs repost cascades with comment texts", file=sys.stderr)
        return 2
    model = fit(data, seed=args.seed)
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(model["report"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
