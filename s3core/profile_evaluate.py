"""Demographic inference measured against self-reported labels: load labelled users, run an inferrer, score it.

S3 (Gao et al. 2023, Table 2) reports gender accuracy 0.710, F1 0.667, AUC 0.708 and an age MAE
of 7.53 years for its LLM inferrer. `evaluate` computes the same figures for the offline rules or
any `DemographicInferrer`, always beside coverage (how many labelled users got an answer) and the
majority-class baseline, without which a score on a handful of answered users reads as more than it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .demographics import PROVENANCE_COLUMNS, VALID_AGE, RuleInferrer
from .profile_eval import BinaryScores, binary_scores
from .profile_labels import LabelledUsers, load_labelled, users_file_labels, weibo_ced_authors
from .types import Gender, Occupation

__all__ = [
    "AgeScores",
    "EvaluationReport",
    "LabelledUsers",
    "OccupationScores",
    "evaluate",
    "load_labelled",
    "users_file_labels",
    "weibo_ced_authors",
]
S3_PUBLISHED = {"accuracy": 0.710, "f1": 0.667, "auc": 0.708, "age_mae": 7.53}  # Gao et al. 2023, Table 2
CHUNK = 200  # users per inferrer call, so progress is reported while an LLM works


# ---- scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeScores:
    """Mean absolute error in years over the labelled users that got an age."""

    labelled: int
    answered: int
    coverage: float
    mae: float  # NaN when nobody was answered
    median_baseline_mae: float  # always answering the labelled users' median age


@dataclass(frozen=True)
class OccupationScores:
    """Share of answered labelled users whose occupation category is right."""

    labelled: int
    answered: int
    coverage: float
    accuracy: float
    majority_accuracy: float


@dataclass(frozen=True)
class EvaluationReport:
    """Scores of one inferrer on one labelled set; None for attributes the set has no labels for."""

    dataset: str
    source: str
    inferrer: str
    users: int
    asked: int  # users with any text, the only ones the inferrer is given
    gender: BinaryScores | None
    age: AgeScores | None
    occupation: OccupationScores | None
    seconds: float
    gender_majority: str = "male"  # the labelled users' majority gender, the baseline's constant answer
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """JSON-ready (NaN becomes None)."""
        return _json_ready(asdict(self))

    def rows(self) -> list[dict]:
        """One row per (attribute, who): the inferrer, the majority baseline and S3's published figures."""
        rows = []
        if self.gender is not None:
            g = self.gender
            rows.append({"attribute": "gender", "who": self.inferrer, **_binary_row(g)})
            rows.append(
                {
                    "attribute": "gender",
                    "who": f"majority ({self.gender_majority})",
                    **_majority_row(g, self.gender_majority == "male"),
                }
            )
            rows.append(
                {
                    "attribute": "gender",
                    "who": "S3 (Gao et al. 2023)",
                    **{k: S3_PUBLISHED[k] for k in ("accuracy", "f1", "auc")},
                }
            )
        if self.age is not None:
            a = self.age
            common = {"labelled": a.labelled}
            rows.append(
                {
                    "attribute": "age",
                    "who": self.inferrer,
                    **common,
                    "answered": a.answered,
                    "coverage": a.coverage,
                    "mae": a.mae,
                }
            )
            rows.append(
                {
                    "attribute": "age",
                    "who": "median age",
                    **common,
                    "answered": a.labelled,
                    "coverage": 1.0,
                    "mae": a.median_baseline_mae,
                }
            )
            rows.append({"attribute": "age", "who": "S3 (Gao et al. 2023)", "mae": S3_PUBLISHED["age_mae"]})
        if self.occupation is not None:
            o = self.occupation
            rows.append(
                {
                    "attribute": "occupation",
                    "who": self.inferrer,
                    "labelled": o.labelled,
                    "answered": o.answered,
                    "coverage": o.coverage,
                    "accuracy": o.accuracy,
                }
            )
            rows.append(
                {
                    "attribute": "occupation",
                    "who": "majority class",
                    "labelled": o.labelled,
                    "answered": o.labelled,
                    "coverage": 1.0,
                    "accuracy": o.majority_accuracy,
                }
            )
        return rows

    def table(self) -> str:
        """Plain aligned text: a title line, then one line per row of `rows`."""
        lines = _grid(self.rows(), _cell)
        title = f"{self.dataset}: {self.users:,} labelled users, {self.asked:,} with text; inferrer {self.inferrer}"
        return "\n".join([title, *lines, *self.notes])

    def markdown(self) -> str:
        """A README table of `rows`."""
        header, *body = _grid(self.rows(), _cell, sep=" | ")
        rule = "|" + "|".join("---" for _ in header.split(" | ")) + "|"
        return "\n".join([f"| {header.strip()} |", rule, *(f"| {line.strip()} |" for line in body)])


def _json_ready(value):
    """NaN floats as None, tuples as lists, numpy scalars as Python numbers, recursively."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


_COLUMNS = (
    "attribute",
    "who",
    "labelled",
    "answered",
    "coverage",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "auc",
    "mae",
)


def _binary_row(s: BinaryScores) -> dict:
    return {
        k: getattr(s, k) for k in ("labelled", "answered", "coverage", "accuracy", "precision", "recall", "f1", "auc")
    }


def _majority_row(s: BinaryScores, male_majority: bool) -> dict:
    """Always answering the majority class: precision = share of 1s if that is the majority, AUC 0.5."""
    share = s.majority_accuracy  # accuracy of the majority answer = the majority's share
    precision, recall = (share, 1.0) if male_majority else (0.0, 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "labelled": s.labelled,
        "answered": s.labelled,
        "coverage": 1.0,
        "accuracy": share,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": 0.5,
    }


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if np.isnan(value):
        return "n/a"
    return f"{value:.3f}"


def _grid(rows: list[dict], cell: Callable, sep: str = "  ") -> list[str]:
    """Header plus rows, each column padded to its widest cell (text left, numbers right)."""
    columns = [c for c in _COLUMNS if any(c in r for r in rows)]
    cells = [columns] + [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    left = {"attribute", "who"}
    return [
        sep.join(v.ljust(w) if c in left else v.rjust(w) for v, w, c in zip(row, widths, columns)).rstrip()
        for row in cells
    ]


# ---- evaluation -------------------------------------------------------------------------------


def evaluate(
    users: LabelledUsers,
    inferrer="rules",
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> EvaluationReport:
    """Run ``inferrer`` on the labelled users that have any text and score it against their labels.

    Users without any text are not asked (an inferrer could only guess) but count as labelled, so
    coverage is over all labelled users. Gender AUC is of hard answers (female 0 / male 1) for
    both the rules and an LLM inferrer, whose answer is a class, not a probability: it then equals
    balanced accuracy over the answered users.

    Args:
        users: the labelled set (`weibo_ced_authors`, `users_file_labels`, `load_labelled`).
        inferrer: "rules" for the offline `RuleInferrer`, or any object with
            ``.infer(descriptions, histories) -> list[dict | None]`` (e.g. `LLMDemographicInferrer`).
        progress: optional ``callback(done_users, total_users)`` after each chunk of CHUNK users.
        limit: score a seeded random sample of this many users (``numpy.random.default_rng(seed)``).
        seed: the sample's seed.
    """
    if limit is not None:
        users = users.sample(limit, seed)
    started = time.perf_counter()
    asked = np.flatnonzero(users.has_text())
    subset = users.take(asked)
    if isinstance(inferrer, str):
        if inferrer != "rules":
            raise ValueError(f"inferrer must be 'rules' or an object with .infer(), not {inferrer!r}")
        label = "rules"
        found = RuleInferrer(users.reference_year).infer_arrays(
            subset.descriptions, subset.post_owner, subset.post_texts
        )
        if progress is not None:
            progress(len(asked), len(asked))
    else:
        label = getattr(inferrer, "label", None) or _llm_label(inferrer)
        found = _infer_with(inferrer, subset, progress)
    guess = {name: np.full(len(users), np.nan) for name in PROVENANCE_COLUMNS}
    for name in PROVENANCE_COLUMNS:
        guess[name][asked] = found[name]
    male_share = np.nanmean(users.gender) if np.isfinite(users.gender).any() else 1.0
    return EvaluationReport(
        dataset=users.name,
        source=users.source,
        inferrer=label,
        users=len(users),
        asked=len(asked),
        gender=_gender_scores(users.gender, guess["gender"]),
        age=_age_scores(users.age, guess["age"]),
        occupation=_occupation_scores(users.occupation, guess["occupation"]),
        seconds=time.perf_counter() - started,
        gender_majority="male" if male_share >= 0.5 else "female",
    )


def _llm_label(inferrer) -> str:
    model = getattr(getattr(getattr(inferrer, "gateway", None), "settings", None), "model", None)
    return f"LLM {model}" if model else type(inferrer).__name__


def _infer_with(inferrer, users: LabelledUsers, progress) -> dict[str, np.ndarray]:
    """Per-user answers of a protocol inferrer as float arrays, invalid values as NaN (like assign_demographics)."""
    histories = users.histories()
    out = {name: np.full(len(users), np.nan) for name in PROVENANCE_COLUMNS}
    for start in range(0, len(users), CHUNK):
        stop = min(start + CHUNK, len(users))
        answers = inferrer.infer(users.descriptions[start:stop], histories[start:stop])
        for i, answer in enumerate(answers, start):
            for name in PROVENANCE_COLUMNS:
                if answer and answer.get(name) is not None:
                    out[name][i] = float(answer[name])
        if progress is not None:
            progress(stop, len(users))
    out["age"][(out["age"] < VALID_AGE[0]) | (out["age"] > VALID_AGE[1])] = np.nan
    out["gender"][~np.isin(out["gender"], [Gender.FEMALE, Gender.MALE])] = np.nan
    out["occupation"][~np.isin(out["occupation"], np.arange(len(Occupation)))] = np.nan
    return out


def _gender_scores(truth: np.ndarray, guess: np.ndarray) -> BinaryScores | None:
    labelled = np.isin(truth, (0.0, 1.0))
    return binary_scores(truth[labelled], guess[labelled]) if labelled.any() else None


def _age_scores(truth: np.ndarray, guess: np.ndarray) -> AgeScores | None:
    labelled = ~np.isnan(truth)
    if not labelled.any():
        return None
    y, g = truth[labelled], guess[labelled]
    answered = ~np.isnan(g)
    return AgeScores(
        labelled=int(labelled.sum()),
        answered=int(answered.sum()),
        coverage=float(answered.mean()),
        mae=float(np.mean(np.abs(g[answered] - y[answered]))) if answered.any() else float("nan"),
        median_baseline_mae=float(np.mean(np.abs(y - np.median(y)))),
    )


def _occupation_scores(truth: np.ndarray, guess: np.ndarray) -> OccupationScores | None:
    labelled = ~np.isnan(truth)
    if not labelled.any():
        return None
    y, g = truth[labelled], guess[labelled]
    answered = ~np.isnan(g)
    return OccupationScores(
        labelled=int(labelled.sum()),
        answered=int(answered.sum()),
        coverage=float(answered.mean()),
        accuracy=float(np.mean(g[answered] == y[answered])) if answered.any() else float("nan"),
        majority_accuracy=float(np.bincount(y.astype(np.int64)).max() / len(y)),
    )
