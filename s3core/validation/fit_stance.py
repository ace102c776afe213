"""Fit the shipped stance model on RumourEval's earlier threads and score it on the later ones.

``python -m s3core.validation.fit_stance --dataset DIR --out data/stance-rumoureval.npz``. The
regularization and the class-weight strength are chosen by 3-fold cross-validation grouped by
thread within the training threads only; the held-out threads are scored once, at the end.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from ..stance_classifier import CLASSES, StanceModel, char_grams, cues, normalize, word_grams
from .datasets import load_dataset
from .individual_action import time_split
from .individual_stance import _thread_starts

GRID_C = (0.5, 2.0)
GRID_WEIGHT_POWER = (0.5, 1.0)  # class weight = (n / (k * n_class)) ** power; 1 = "balanced"
MIN_DF = 2


def split(posts: pd.DataFrame, train_share: float = 0.7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled posts of the earlier and the later threads, as ``individual_stance`` splits them."""
    train_ids, test_ids = time_split(_thread_starts(posts), id_column="thread_id", train_share=train_share)
    labelled = posts[posts["stance"].notna()].assign(thread_id=lambda f: f["thread_id"].astype(str))
    return labelled[labelled["thread_id"].isin(set(train_ids))], labelled[labelled["thread_id"].isin(set(test_ids))]


def vocabulary(texts: list[str], min_df: int = MIN_DF) -> tuple[tuple[str, ...], np.ndarray, int]:
    """(vocab, smoothed idf, size of the word block) from document frequencies."""
    n = len(texts)
    df_word, df_char = Counter(), Counter()
    for t in texts:
        norm = normalize(t)
        df_word.update(set(word_grams(norm)))
        df_char.update(set(char_grams(norm)))
    words = sorted(g for g, k in df_word.items() if k >= min_df)
    chars = sorted(g for g, k in df_char.items() if k >= min_df)
    vocab = tuple(words + chars)
    df = np.array([df_word[g] for g in words] + [df_char[g] for g in chars], dtype=np.float64)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    return vocab, idf, len(words)


def design(model: StanceModel, texts: list[str], reply: np.ndarray) -> csr_matrix:
    """The predictor's own features as a sparse matrix (TF-IDF block, then the cues)."""
    r, c, v = model.features(texts)
    tfidf = csr_matrix((v, (r, c)), shape=(len(texts), len(model.vocab)))
    return hstack([tfidf, csr_matrix(cues(texts, reply))]).tocsr()


def _weights(y: np.ndarray, power: float) -> dict:
    counts = pd.Series(y).value_counts()
    return {k: float((len(y) / (len(counts) * n)) ** power) for k, n in counts.items()}


def fit(texts: list[str], reply: np.ndarray, y: np.ndarray, c: float, power: float, seed: int = 0) -> StanceModel:
    """One model on these texts with these settings."""
    vocab, idf, n_word = vocabulary(texts)
    blank = StanceModel(vocab, idf, n_word, np.zeros((4, len(vocab) + 5)), np.zeros(4), CLASSES, {})
    lr = LogisticRegression(C=c, max_iter=3000, class_weight=_weights(y, power), random_state=seed)
    lr.fit(design(blank, texts, reply), y)
    order = [list(lr.classes_).index(k) for k in CLASSES]
    return StanceModel(vocab, idf, n_word, lr.coef_[order], lr.intercept_[order], CLASSES, {})


def scores(y: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "macro_f1": round(float(f1_score(y, predicted, labels=list(CLASSES), average="macro", zero_division=0)), 4),
    }


def train_and_report(posts: pd.DataFrame, seed: int = 0, log=print) -> StanceModel:
    """Choose settings by grouped cross-validation on training threads, refit, score held-out."""
    train, test = split(posts)
    texts, y = train["text"].fillna("").astype(str).tolist(), train["stance"].to_numpy(object)
    reply = train["parent_id"].notna().to_numpy()
    groups = train["thread_id"].to_numpy()
    grid = []
    for c, power in itertools.product(GRID_C, GRID_WEIGHT_POWER):
        pred = np.empty(len(y), dtype=object)
        for a, b in GroupKFold(n_splits=3).split(texts, y, groups):
            m = fit([texts[i] for i in a], reply[a], y[a], c, power, seed)
            pred[b] = m.predict([texts[i] for i in b], reply[b])
        s = scores(y, pred)
        grid.append({"C": c, "weight_power": power, **{f"cv_{k}": v for k, v in s.items()}})
        log(f"C={c:g} weight power={power:g}: cv accuracy {s['accuracy']:.3f}, macro-F1 {s['macro_f1']:.3f}")
    best = max(grid, key=lambda g: (g["cv_accuracy"] + g["cv_macro_f1"], g["cv_macro_f1"]))
    model = fit(texts, reply, y, best["C"], best["weight_power"], seed)
    test_texts, y_test = test["text"].fillna("").astype(str).tolist(), test["stance"].to_numpy(object)
    held = scores(y_test, model.predict(test_texts, test["parent_id"].notna().to_numpy()))
    report = {
        "dataset": "rumoureval2017",
        "split": "earlier 70% of threads by source time (train), later 30% (held out)",
        "n_train": len(y),
        "n_test": len(y_test),
        "n_train_threads": int(train["thread_id"].nunique()),
        "n_test_threads": int(test["thread_id"].nunique()),
        "selection": "max cv accuracy + macro-F1",
        "grid": grid,
        "chosen": {"C": best["C"], "weight_power": best["weight_power"]},
        "held_out": held,
        "n_features": len(model.vocab) + 5,
    }
    log(
        f"chosen C={best['C']:g}, weight power={best['weight_power']:g}; held-out accuracy "
        f"{held['accuracy']:.4f}, macro-F1 {held['macro_f1']:.4f} on {len(y_test)} posts"
    )
    return StanceModel(model.vocab, model.idf, model.n_word, model.coef, model.intercept, CLASSES, report)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m s3core.validation.fit_stance", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, help="stance-thread folder (posts.parquet), e.g. rumoureval2017")
    p.add_argument("--out", required=True, help="model file to write (.npz)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = load_dataset(args.dataset)
    posts = getattr(data, "posts", None)
    if posts is None:
        print(f"{args.dataset}: not a stance-thread folder (posts.parquet with stance labels)", file=sys.stderr)
        return 2
    start = time.time()
    model = train_and_report(posts, seed=args.seed, log=lambda s: print(s, file=sys.stderr, flush=True))
    model.save(Path(args.out))
    print(
        f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB) in {time.time() - start:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
