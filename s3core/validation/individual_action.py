"""Individual-level validation of the engagement action: quote (repost with a comment) or plain repost.

After Qiu, Lyu, Xiong and Luo 2025 (arXiv 2502.12073), who predict a user's engagement action
toward a post before generating the text. Here each user who forwarded a cascade (Weibo CED,
Song et al. 2018, arXiv 1811.04175) is one decision; the label is whether they added a comment.
Cascades are split by time: predictors learn on the early ones and are scored on the late ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .. import lexicon
from .. import transitions as T
from ..policy import DecisionBatch, HeuristicPolicy
from ..scenario import Scenario
from ..types import Action, Gender, Source, UserCategory
from .datasets import CascadeData
from .trees import build_trees

SHRINKAGE = 5.0  # pseudo-decisions at the global quote rate added to each user's history


def time_split(
    sources: pd.DataFrame, id_column: str = "cascade_id", time_column: str = "time_utc", train_share: float = 0.7
) -> tuple[list[str], list[str]]:
    """(train ids, test ids): the earliest ``train_share`` of the rows by time, the rest.

    Without a time column, or for rows without a time, the given order decides (missing times
    go last); ties keep the given order.
    """
    if not 0.0 < train_share < 1.0:
        raise ValueError(f"train_share = {train_share}: must lie strictly between 0 and 1")
    ids = sources[id_column].astype(str).to_numpy()
    if time_column in sources:
        t = pd.to_datetime(sources[time_column], utc=True).dt.tz_convert(None)
        missing = t.isna().to_numpy()
        ns = np.where(missing, np.iinfo(np.int64).max, t.astype("datetime64[ns]").to_numpy().astype(np.int64))
        order = np.lexsort((np.arange(len(ids)), ns))
    else:
        order = np.arange(len(ids))
    cut = int(round(len(ids) * train_share))
    return [str(i) for i in ids[order[:cut]]], [str(i) for i in ids[order[cut:]]]


def forwarded_text(parent: np.ndarray, parent_text: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """What each participant saw when forwarding: the parent's comment, or, for a plain repost
    parent, the nearest commenting ancestor's, up to the source text (Weibo shows the chain).

    Arrays are one tree's (or several trees' with global ``parent`` indices); returns objects.
    """
    out = np.asarray(parent_text, dtype=object).copy()
    for level in np.unique(depth):
        rows = np.flatnonzero((depth == level) & (parent >= 0))
        empty = rows[np.array([not str(x).strip() for x in out[rows]], dtype=bool)] if len(rows) else rows
        out[empty] = out[parent[empty]]
    return out


def decisions(data: CascadeData) -> pd.DataFrame:
    """One row per forwarding user and cascade, as ``trees.build_trees`` keeps them.

    Columns: cascade_id, user_id, depth, t_min (minutes after the source), delay_min (age of the
    forwarded post when forwarded, minutes), forwarded (text seen, see ``forwarded_text``), parent_quote (the forwarded post
    itself carries a comment; false for the source), quote (bool label).
    """
    events = data.events
    # Tag each event by its row so the trees name the event (and so the user) behind each entry.
    tagged = events.assign(text=np.arange(len(events)).astype(str))
    trees = build_trees(tagged, data.sources.assign(text=""))
    source_text = dict(zip(data.sources["cascade_id"].astype(str), data.sources["text"].astype(str)))
    parts, offset = [], 0
    for cid, tree in trees.items():
        n = len(tree)
        if n == 0:
            continue
        parts.append((cid, tree, offset))
        offset += n
    if not parts:
        return pd.DataFrame(
            {
                "cascade_id": [],
                "user_id": [],
                "depth": [],
                "t_min": [],
                "delay_min": [],
                "forwarded": [],
                "parent_quote": [],
                "quote": [],
            }
        )
    row = np.concatenate([t.text.astype(np.int64) for _, t, _ in parts])
    parent = np.concatenate([np.where(t.parent >= 0, t.parent + o, -1) for _, t, o in parts])
    depth = np.concatenate([t.depth for _, t, _ in parts])
    t_min = np.concatenate([t.t_min for _, t, _ in parts])
    cascade = np.concatenate([np.full(len(t), cid, dtype=object) for cid, t, _ in parts])
    texts = events["text"].to_numpy(dtype=object)
    own = texts[row]
    parent_text = np.where(
        parent >= 0, own[np.maximum(parent, 0)], np.array([source_text.get(c, "") for c in cascade], dtype=object)
    )
    parent_quote = (parent >= 0) & np.array([bool(str(x).strip()) for x in own[np.maximum(parent, 0)]], dtype=bool)
    delay = np.maximum(t_min - np.where(parent >= 0, t_min[np.maximum(parent, 0)], 0.0), 0.0)
    return pd.DataFrame(
        {
            "cascade_id": cascade,
            "user_id": events["user_id"].to_numpy(dtype=object)[row],
            "depth": depth,
            "t_min": t_min,
            "delay_min": delay,
            "forwarded": forwarded_text(parent, parent_text, depth),
            "parent_quote": parent_quote,
            "quote": events["quote"].to_numpy(dtype=bool)[row],
        }
    )


def thread_counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(quotes, forwards) among the earlier decisions of each row's cascade, by ``t_min``.

    What a simulated agent can see of its event when it decides: how many of the forwards so
    far carried a comment. Ties in time keep the frame's order.
    """
    if len(frame) == 0:
        return np.zeros(0), np.zeros(0)
    order = np.lexsort((np.arange(len(frame)), frame["t_min"].to_numpy(float), pd.factorize(frame["cascade_id"])[0]))
    ordered = frame.iloc[order]
    label = ordered["quote"].to_numpy(float)
    groups = ordered.assign(quote=label).groupby("cascade_id", sort=False)["quote"]
    quotes, forwards = np.empty(len(frame)), np.empty(len(frame))
    quotes[order] = groups.cumsum().to_numpy(float) - label
    forwards[order] = groups.cumcount().to_numpy(float)
    return quotes, forwards


def simulator_quote_probability(
    frame: pd.DataFrame, scenario: Scenario | None = None, propensity: np.ndarray | None = None
) -> np.ndarray:
    """P(quote) / (P(quote) + P(repost)) of the offline ``HeuristicPolicy`` per decision row.

    The batch holds what the model knows at decision time: one received post (the forwarded one)
    whose emotion and stance come from ``lexicon`` on the forwarded text, its age in steps, a
    newcomer who was calm (S3: calm until one learns of the event). The newcomer's emotion moves
    by the model's kernel (``transitions.emotion_moves``) before the action is drawn, so the three
    emotion outcomes are mixed with their probabilities. Unknown profile fields take neutral values
    (regular user, no relevance, followee source), which move quote and repost alike. With a
    fitted ``policy.quote_model`` the batch also carries the forwarded post's depth and kind, the
    cascade's earlier forwards (``thread_counts``) and the user's ``propensity`` (in validation, the
    shrunk training history; None: the model's average).
    """
    sc = scenario or Scenario()
    policy = HeuristicPolicy(sc.emotion, sc.attitude, sc.policy)
    n = len(frame)
    codes, unique = pd.factorize(frame["forwarded"].astype(str))  # many rows forward the same source text
    emotion = lexicon.emotion_level(list(unique)).astype(np.int8)[codes]
    stance = lexicon.stance(list(unique)).astype(np.int8)[codes]
    zeros, ones = np.zeros(n), np.ones(n)
    quotes, forwards = thread_counts(frame) if {"t_min", "quote"} <= set(frame) else (zeros, zeros)
    focal_quoted = frame["parent_quote"].to_numpy(bool) if "parent_quote" in frame else np.zeros(n, bool)
    batch = DecisionBatch(
        step=0,
        agent=np.arange(n, dtype=np.int64),
        received=ones,
        mean_intensity=emotion.astype(float),
        max_relevance=zeros,
        focal_post=np.zeros(n, np.int32),
        focal_source=np.full(n, Source.FOLLOWEE, np.int8),
        focal_stance=stance,
        focal_emotion=emotion,
        focal_age=frame["delay_min"].to_numpy(float) / sc.minutes_per_step,
        focal_relevance=zeros,
        focal_labelled=np.zeros(n, bool),
        emotion=np.zeros(n, np.int8),
        attitude=stance,
        pool_positive=stance.astype(float),
        pool_weight=ones,
        category=np.full(n, UserCategory.REGULAR, np.uint8),
        age=np.full(n, 30.0),
        gender=np.full(n, Gender.UNKNOWN, np.int8),
        occupation=np.zeros(n, np.int8),
        actions_taken=zeros,
        was_aware=np.zeros(n, bool),
        focal_depth=frame["depth"].to_numpy(np.int64) - 1,
        focal_quoted=focal_quoted,
        thread_quotes=quotes,
        thread_forwards=forwards,
        quote_propensity=np.full(n, np.nan) if propensity is None else np.asarray(propensity, np.float64),
        minutes_per_step=sc.minutes_per_step,
    )
    p_echo = T.echo_probability(sc.emotion, batch.focal_relevance, batch.received)
    moves = T.emotion_moves(sc.emotion, batch.emotion, batch.focal_emotion, p_echo)
    quote = np.zeros(n)
    repost = np.zeros(n)
    for level in range(3):
        weight = moves[:, level]
        probs = policy.action_probabilities(batch, np.full(n, level, np.int8), stance)
        quote += weight * probs[:, Action.QUOTE]
        repost += weight * probs[:, Action.REPOST]
    return quote / np.maximum(quote + repost, 1e-300)


def user_history(
    train: pd.DataFrame, rows: pd.DataFrame, global_rate: float, leave_one_out: bool, shrinkage: float = SHRINKAGE
) -> tuple[np.ndarray, np.ndarray]:
    """(shrunk quote rate, decisions seen) of each row's user in the training decisions.

    The rate is (quotes + shrinkage * global rate) / (decisions + shrinkage); with
    ``leave_one_out`` (rows are the training decisions themselves) a row's own label is removed.
    """
    codes, _ = pd.factorize(pd.concat([train["user_id"], rows["user_id"]], ignore_index=True))
    known, asked = codes[: len(train)], codes[len(train) :]
    size = int(codes.max()) + 1 if len(codes) else 0
    k = np.bincount(known, weights=train["quote"].to_numpy(float), minlength=size)[asked]
    n = np.bincount(known, minlength=size)[asked].astype(float)
    if leave_one_out:
        k = k - rows["quote"].to_numpy(float)
        n = n - 1.0
    return (k + shrinkage * global_rate) / (n + shrinkage), n


def _features(frame: pd.DataFrame, rate: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [rate, np.log1p(count), frame["depth"].to_numpy(float), np.log1p(frame["delay_min"].to_numpy(float))]
    )


def binary_scores(y: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy, ROC AUC (None with one class only) and F1 of the positive class, rounded to 4 places."""
    y = np.asarray(y, bool)
    auc = float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "auc": None if auc is None else round(auc, 4),
        "f1": round(float(f1_score(y, predicted, zero_division=0)), 4),
    }


def action_report(data: CascadeData, scenario: Scenario | None = None, train_share: float = 0.7, seed: int = 0) -> dict:
    """Quote-vs-repost prediction on the late cascades, after learning on the early ones.

    Returns {"task": "action", "dataset", "positive_class": "quote", "train_share",
    "n_train", "n_test" (decisions), "n_train_cascades", "n_test_cascades", "test_quote_share",
    "predictors": {name: {"accuracy", "auc", "f1"}}} with predictors "simulator" (heuristic
    policy, predicts quote when its probability is at least 0.5), "majority" (the training
    majority class; constant score, AUC 0.5) and "logistic_regression" (user's shrunk quote
    rate and count in training cascades, depth, log delay). Datasets without comment texts
    give {"task": "action", "dataset", "skipped": reason}.
    """
    if not data.has_text:
        return {
            "task": "action",
            "dataset": data.name,
            "skipped": "the events carry no comment texts, so quotes cannot be told from plain reposts",
        }
    frame = decisions(data)
    train_ids, test_ids = time_split(data.sources, train_share=train_share)
    train = frame[frame["cascade_id"].isin(set(train_ids))].reset_index(drop=True)
    test = frame[frame["cascade_id"].isin(set(test_ids))].reset_index(drop=True)
    if len(train) == 0 or len(test) == 0:
        return {"task": "action", "dataset": data.name, "skipped": "too few cascades with reposts to split by time"}
    y_train, y_test = train["quote"].to_numpy(bool), test["quote"].to_numpy(bool)
    rate = float(y_train.mean())
    predictors = {}
    history, _ = user_history(train, test, rate, leave_one_out=False)
    p_sim = simulator_quote_probability(test, scenario, history)
    predictors["simulator"] = binary_scores(y_test, p_sim, p_sim >= 0.5)
    majority = rate >= 0.5
    predictors["majority"] = binary_scores(y_test, np.full(len(test), float(majority)), np.full(len(test), majority))
    if 0 < y_train.sum() < len(y_train):
        x_train = _features(train, *user_history(train, train, rate, leave_one_out=True))
        x_test = _features(test, *user_history(train, test, rate, leave_one_out=False))
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
        model.fit(x_train, y_train)
        p_lr = model.predict_proba(x_test)[:, 1]
        predictors["logistic_regression"] = binary_scores(y_test, p_lr, p_lr >= 0.5)
    else:
        predictors["logistic_regression"] = None
    return {
        "task": "action",
        "dataset": data.name,
        "positive_class": "quote",
        "train_share": train_share,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "n_train_cascades": int(train["cascade_id"].nunique()),
        "n_test_cascades": int(test["cascade_id"].nunique()),
        "test_quote_share": round(float(y_test.mean()), 4),
        "simulator_mean_probability": round(float(p_sim.mean()), 4),
        "predictors": predictors,
    }
