"""Individual-level validation of attitude: reply stance on RumourEval threads, and its course over time.

Data: SemEval-2017 Task 8 (RumourEval, Derczynski et al. 2017), replies labelled support / deny /
query / comment. The simulator's attitude is binary (S3: negative / positive, Gao et al. 2023,
arXiv 2307.14984) and comes from text through ``s3core.lexicon``; ``text_stance`` gives the four
labels (English: the classifier trained on the earlier threads, ``s3core.stance_classifier``;
otherwise a fixed rule) so that real and simulated texts are labelled alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline

from .. import lexicon, stance_classifier
from .datasets import STANCES, StanceThreads
from .individual_action import time_split
from .trees import CascadeTree

STANCE_BINS_MIN = (0.0, 10.0, 60.0, 360.0, 1440.0, np.inf)  # 0-10 min, 10-60 min, 1-6 h, 6-24 h, 24 h+
_URL = re.compile(r"https?://\S+|www\.\S+")
_QUESTION = re.compile(r"[?？]")


def lexicon_score(texts: Iterable[str]) -> np.ndarray:
    """Net stance score (``lexicon.stance_score``: positive minus negative hits; 0 = no signal)."""
    return lexicon.stance_score(texts)


def text_stance(texts: Iterable[str], reply: Iterable[bool] | None = None) -> np.ndarray:
    """Four-way stance from text alone, the rule applied to real and simulated texts alike.

    English texts: the shipped classifier (``s3core.stance_classifier``, trained on RumourEval's
    earlier threads only; ``reply`` per text, None = all replies, as simulated comments). Others: a question mark outside URLs -> query; else the lexicon's net
    score: > 0 support, < 0 deny, 0 (no net signal) comment. Returns an object array of labels.
    """
    texts = ["" if t is None else str(t) for t in texts]
    score = lexicon_score(texts)
    question = np.array([bool(_QUESTION.search(_URL.sub(" ", t))) for t in texts], dtype=bool)
    label = np.where(score > 0, "support", np.where(score < 0, "deny", "comment"))
    label = np.where(question, "query", label).astype(object)
    english = np.flatnonzero(stance_classifier.is_english(texts))
    if len(english):
        flags = None if reply is None else np.asarray(list(reply), dtype=bool)[english]
        label[english] = stance_classifier.shipped_model().predict([texts[i] for i in english], flags)
    return label


def _scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "macro_f1": round(float(f1_score(y, predicted, labels=list(STANCES), average="macro", zero_division=0)), 4),
    }


def _thread_starts(posts: pd.DataFrame) -> pd.DataFrame:
    """Per thread: its source's time (the earliest post where no post lacks a parent)."""
    posts = posts.assign(time_utc=pd.to_datetime(posts["time_utc"], utc=True))
    roots = posts[posts["parent_id"].isna()].groupby("thread_id")["time_utc"].min()
    first = posts.groupby("thread_id")["time_utc"].min()
    start = roots.reindex(first.index).fillna(first)
    return start.rename("time_utc").reset_index()


def stance_report(threads: StanceThreads, train_share: float = 0.7, seed: int = 0) -> dict:
    """Stance of every labelled post in the late threads, after learning on the early ones.

    Returns {"task": "stance", "dataset", "labels": STANCES, "train_share", "n_train", "n_test"
    (labelled posts), "n_train_threads", "n_test_threads", "test_counts": {label: n},
    "predictors": {name: {"accuracy", "macro_f1"}}, "support_vs_deny": {...}} with predictors
    "simulator_text_rule" (``text_stance``), "majority" (the training majority label) and
    "tfidf_logistic_regression" (word 1-2 grams and ?/! marks, class-balanced). ``support_vs_deny``
    scores the simulator's own binary attitude (``lexicon.stance``: positive = support) on the
    posts labelled support or deny, beside the majority of those labels in training.
    """
    posts = threads.posts
    starts = _thread_starts(posts)
    train_ids, test_ids = time_split(starts, id_column="thread_id", train_share=train_share)
    labelled = posts[posts["stance"].notna()].assign(thread_id=lambda f: f["thread_id"].astype(str))
    train = labelled[labelled["thread_id"].isin(set(train_ids))]
    test = labelled[labelled["thread_id"].isin(set(test_ids))]
    if len(train) == 0 or len(test) == 0:
        return {"task": "stance", "dataset": threads.name, "skipped": "too few labelled threads to split by time"}
    y_train, y_test = train["stance"].to_numpy(object), test["stance"].to_numpy(object)
    predictors = {"simulator_text_rule": _scores(y_test, text_stance(test["text"], test["parent_id"].notna()))}
    majority = pd.Series(y_train).value_counts().sort_index().idxmax()
    predictors["majority"] = _scores(y_test, np.full(len(test), majority, dtype=object))
    if len(set(y_train)) > 1:
        model = make_pipeline(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, token_pattern=r"(?u)\b\w+\b|[?!]"),
            LogisticRegression(max_iter=2000, class_weight="balanced", solver="newton-cg", random_state=seed),
        )
        model.fit(train["text"].tolist(), y_train)
        predictors["tfidf_logistic_regression"] = _scores(y_test, model.predict(test["text"].tolist()))
    else:
        predictors["tfidf_logistic_regression"] = None
    binary = test[test["stance"].isin(("support", "deny"))]
    binary_train = train[train["stance"].isin(("support", "deny"))]
    sd = {"n": int(len(binary))}
    if len(binary) and len(binary_train):
        truth = binary["stance"].to_numpy(object)
        sim = np.where(lexicon.stance(binary["text"].tolist()) == 1, "support", "deny")
        major = binary_train["stance"].value_counts().sort_index().idxmax()
        sd.update(
            {
                "simulator_accuracy": round(float(np.mean(sim == truth)), 4),
                "majority": str(major),
                "majority_accuracy": round(float(np.mean(truth == major)), 4),
            }
        )
    return {
        "task": "stance",
        "dataset": threads.name,
        "labels": list(STANCES),
        "train_share": train_share,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "n_train_threads": int(train["thread_id"].nunique()),
        "n_test_threads": int(test["thread_id"].nunique()),
        "test_counts": {s: int(np.sum(y_test == s)) for s in STANCES},
        "predictors": predictors,
        "support_vs_deny": sd,
    }


def support_share_by_bin(
    minutes: np.ndarray, labels: np.ndarray, bins: tuple[float, ...] = STANCE_BINS_MIN
) -> list[dict]:
    """Rows per time bin: {"bin", "from_min", "to_min" (None = open), "support", "deny", "n"
    (support + deny), "support_share" (None when n = 0)}; other labels are left out."""
    minutes = np.maximum(np.asarray(minutes, dtype=np.float64), 0.0)
    labels = np.asarray(labels, dtype=object)
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        inside = (minutes >= lo) & (minutes < hi)
        support = int(np.sum(inside & (labels == "support")))
        deny = int(np.sum(inside & (labels == "deny")))
        n = support + deny
        rows.append(
            {
                "bin": _bin_name(lo, hi),
                "from_min": float(lo),
                "to_min": None if np.isinf(hi) else float(hi),
                "support": support,
                "deny": deny,
                "n": n,
                "support_share": round(support / n, 4) if n else None,
            }
        )
    return rows


def _bin_name(lo: float, hi: float) -> str:
    def fmt(m: float) -> str:
        return f"{m / 60:g} h" if m >= 60 else f"{m:g} min"

    return f"{fmt(lo)}+" if np.isinf(hi) else f"{fmt(lo)}-{fmt(hi)}"


def stance_over_time(
    posts: pd.DataFrame, source: str = "labels", bins: tuple[float, ...] = STANCE_BINS_MIN
) -> list[dict]:
    """Share of support among support + deny replies per bin of minutes since the thread's source.

    ``source="labels"``: the human labels (unlabelled replies left out); ``source="text"``: every
    reply labelled by ``text_stance``, as simulated comments are. Source posts are left out.
    Rows as in ``support_share_by_bin``.
    """
    if source not in ("labels", "text"):
        raise ValueError(f"source must be 'labels' or 'text', not {source!r}")
    starts = _thread_starts(posts).set_index("thread_id")["time_utc"]
    replies = posts[posts["parent_id"].notna()]
    t = pd.to_datetime(replies["time_utc"], utc=True)
    minutes = ((t - replies["thread_id"].map(starts)).dt.total_seconds() / 60.0).to_numpy(float)
    labels = replies["stance"].to_numpy(object) if source == "labels" else text_stance(replies["text"])
    return support_share_by_bin(minutes, labels, bins)


def simulated_stance_over_time(trees: Iterable[CascadeTree], bins: tuple[float, ...] = STANCE_BINS_MIN) -> list[dict]:
    """The same shares for simulated comments: each quote's text labelled by ``text_stance`` at its
    ``t_min`` (minutes since the source). Rows as in ``support_share_by_bin``."""
    minutes, texts = [], []
    for tree in trees:
        keep = np.asarray(tree.quote, bool) & np.array([bool(str(x).strip()) for x in tree.text], dtype=bool)
        minutes.append(tree.t_min[keep])
        texts.extend(str(x) for x in tree.text[keep])
    minutes = np.concatenate(minutes) if minutes else np.zeros(0)
    return support_share_by_bin(minutes, text_stance(texts), bins)


def stance_time_report(posts: pd.DataFrame, simulated: Iterable[CascadeTree] | None = None) -> dict:
    """{"bins_min": bin edges (None = open), "real_labels", "real_text", "simulated_text" (None
    without simulated trees)}: each a list of rows from ``support_share_by_bin``."""
    return {
        "bins_min": [None if np.isinf(b) else float(b) for b in STANCE_BINS_MIN],
        "real_labels": stance_over_time(posts, "labels"),
        "real_text": stance_over_time(posts, "text"),
        "simulated_text": None if simulated is None else simulated_stance_over_time(simulated),
    }
