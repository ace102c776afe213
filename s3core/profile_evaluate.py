"""Demographic inference measured against self-reported labels: load labelled users, run an inferrer, score it.

S3 (Gao et al. 2023, Table 2) reports gender accuracy 0.710, F1 0.667, AUC 0.708 and an age MAE
of 7.53 years for its LLM inferrer. `evaluate` computes the same figures for the offline rules or
any `DemographicInferrer`, always beside coverage (how many labelled users got an answer) and the
majority-class baseline, without which a score on a handful of answered users reads as more than it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .demographics import MAX_POSTS, PROVENANCE_COLUMNS, VALID_AGE, RuleInferrer
from .loaders.columns import parse_user_columns
from .loaders.csvfile import read_csv
from .loaders.errors import CellError, LoadError
from .loaders.files import MAX_BYTES
from .loaders.ids import IdError, normalize_ids
from .profile_eval import BinaryScores, binary_scores
from .types import Gender, Occupation

PathLike = str | os.PathLike[str]
S3_PUBLISHED = {"accuracy": 0.710, "f1": 0.667, "auc": 0.708, "age_mae": 7.53}  # Gao et al. 2023, Table 2
WEIBO_CED_YEAR = 2013  # the CED cascades run 2010-12 to 2013-12; '90后' is counted from here
CHUNK = 200  # users per inferrer call, so progress is reported while an LLM works
_LABEL_COLUMNS = ("gender", "age", "occupation")
_USER_ALIASES = {"id": "user_id", "user": "user_id", "uid": "user_id", "userid": "user_id", "node": "user_id"}
_POST_ALIASES = {**_USER_ALIASES, "content": "text", "message": "text", "post": "text", "body": "text"}


@dataclass(frozen=True, eq=False)
class LabelledUsers:
    """Users with self-reported labels and their own texts, in the RuleInferrer's input layout.

    ``post_owner`` (m,) int64 is sorted and indexes ``user_id``; ``post_texts`` (m,) are those
    users' own posts, at most ``max_posts`` each. Labels are float (n,), NaN where not reported:
    gender 0 = female, 1 = male (``Gender``); age in years; occupation an ``Occupation`` code.
    """

    name: str
    source: str
    user_id: np.ndarray  # (n,) object
    descriptions: list[str]  # (n,), '' where none
    post_owner: np.ndarray  # (m,) int64, sorted
    post_texts: list[str]  # (m,)
    gender: np.ndarray  # (n,) float 0/1/NaN
    age: np.ndarray  # (n,) float years/NaN
    occupation: np.ndarray  # (n,) float Occupation code/NaN
    reference_year: int = 2023  # year at which the rules count ages from '90后' or a birth year

    def __len__(self) -> int:
        return len(self.user_id)

    def histories(self) -> list[list[str]]:
        """Per user the list of own texts (the `DemographicInferrer.infer` layout)."""
        split = np.searchsorted(self.post_owner, np.arange(1, len(self)))
        return [list(chunk) for chunk in np.split(np.asarray(self.post_texts, dtype=object), split)]

    def has_text(self) -> np.ndarray:
        """(n,) bool: a description or at least one post, i.e. something an inferrer can read."""
        posts = np.bincount(self.post_owner, minlength=len(self)) > 0
        return posts | np.array([bool(d.strip()) for d in self.descriptions], dtype=bool)

    def take(self, index) -> LabelledUsers:
        """The users at ``index`` (sorted positions), with their posts."""
        index = np.sort(np.asarray(index, dtype=np.int64))
        position = np.full(len(self), -1, dtype=np.int64)
        position[index] = np.arange(len(index))
        keep = np.flatnonzero(position[self.post_owner] >= 0)
        return replace(
            self,
            user_id=self.user_id[index],
            descriptions=[self.descriptions[i] for i in index],
            post_owner=position[self.post_owner[keep]],
            post_texts=[self.post_texts[i] for i in keep],
            gender=self.gender[index],
            age=self.age[index],
            occupation=self.occupation[index],
        )

    def sample(self, limit: int, seed: int = 0) -> LabelledUsers:
        """A seeded random sample of ``limit`` users (all when ``limit`` >= n), for cheap LLM runs."""
        if limit >= len(self):
            return self
        chosen = np.random.default_rng(seed).choice(len(self), size=limit, replace=False)
        return replace(self.take(chosen), name=f"{self.name} (sample of {limit}, seed {seed})")

    def half(self, which: int) -> LabelledUsers:
        """Half 0 or 1 of the users, split by a hash of user_id (stable across runs and machines)."""
        parity = np.array([hashlib.sha256(str(u).encode()).digest()[0] % 2 for u in self.user_id])
        return replace(self.take(np.flatnonzero(parity == which)), name=f"{self.name} (half {which})")


# ---- loaders ----------------------------------------------------------------------------------


def weibo_ced_authors(dataset_dir: PathLike, max_posts: int = MAX_POSTS) -> LabelledUsers:
    """Source authors of weibo-ced with a user_gender, and their own texts.

    Texts are the author's source posts (by time) then their own non-empty repost comments in any
    cascade (by the cascade's time and minutes after it), exact repeats dropped, at most
    ``max_posts`` per author. The data has no self-descriptions, so descriptions are ''.

    Raises:
        LoadError: when sources.parquet or reposts.parquet is missing from ``dataset_dir``.
    """
    import duckdb

    folder = Path(dataset_dir)
    paths = {name: folder / f"{name}.parquet" for name in ("sources", "reposts")}
    for path in paths.values():
        if not path.is_file():
            raise LoadError(path, "file not found", "point --datasets at the folder holding weibo-ced/")
    con = duckdb.connect()
    try:
        authors = con.sql(
            "SELECT user_id, any_value(user_gender) AS g FROM read_parquet(?) "
            "WHERE user_gender IN ('m', 'f') GROUP BY user_id ORDER BY user_id",
            params=[str(paths["sources"])],
        ).to_arrow_table()
        texts = con.sql(
            """
            WITH authors AS (SELECT DISTINCT user_id FROM read_parquet($1) WHERE user_gender IN ('m', 'f')),
            cascades AS (SELECT cascade_id, min(time_utc) AS t0 FROM read_parquet($1) GROUP BY cascade_id),
            own AS (
                SELECT s.user_id, s.text, 0 AS kind, s.time_utc AS t0, 0.0 AS t_min FROM read_parquet($1) s
                WHERE s.text <> '' AND s.user_id IN (SELECT user_id FROM authors)
                UNION ALL
                SELECT r.user_id, r.text, 1, c.t0, r.t_min FROM read_parquet($2) r
                LEFT JOIN cascades c USING (cascade_id)
                WHERE r.text <> '' AND r.user_id IN (SELECT user_id FROM authors)
            ),
            firsts AS (
                SELECT user_id, text, kind, t0, t_min FROM own
                QUALIFY row_number() OVER (PARTITION BY user_id, text ORDER BY kind, t0, t_min) = 1
            )
            SELECT user_id, text FROM firsts
            QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY kind, t0, t_min, text) <= $3
            ORDER BY user_id, kind, t0, t_min, text
            """,
            params=[str(paths["sources"]), str(paths["reposts"]), int(max_posts)],
        ).to_arrow_table()
    finally:
        con.close()
    user_id = authors.column("user_id").to_numpy().astype(object)
    owner = pc.index_in(texts.column("user_id"), value_set=authors.column("user_id").combine_chunks())
    gender = np.where(authors.column("g").to_numpy(zero_copy_only=False) == "f", Gender.FEMALE, Gender.MALE)
    n = len(user_id)
    return LabelledUsers(
        name="weibo-ced source authors",
        source=str(folder),
        user_id=user_id,
        descriptions=[""] * n,
        post_owner=owner.to_numpy(zero_copy_only=False).astype(np.int64),
        post_texts=texts.column("text").to_pylist(),
        gender=gender.astype(np.float64),
        age=np.full(n, np.nan),
        occupation=np.full(n, np.nan),
        reference_year=WEIBO_CED_YEAR,
    )


def users_file_labels(
    users_path: PathLike, posts_path: PathLike | None = None, max_posts: int = MAX_POSTS
) -> LabelledUsers:
    """Labelled users from a users CSV or Parquet (user_id plus any of gender/age/occupation/description)
    and an optional posts CSV or Parquet (user_id, text), with the loaders' spellings and checks.

    Gender accepts m/f/male/female/男/女, age 10-100 years, occupation an S3 label, enum name or 0-9
    (`s3core.loaders.columns`). Posts by users not in the users file are ignored; at most
    ``max_posts`` per user, in file order.

    Raises:
        LoadError: naming the file (and line or column) when it cannot be read, has no label column,
            holds a bad cell or repeats a user.
    """
    frame = _read_table(users_path, ("user_id",), ("description", *_LABEL_COLUMNS), _USER_ALIASES)
    if not any(c in frame for c in _LABEL_COLUMNS):
        raise LoadError(users_path, "no gender, age or occupation column to score against", "add at least one")
    keys = _id_keys(users_path, frame["user_id"])
    repeated = keys.duplicated()
    if repeated.any():
        raise LoadError(
            users_path,
            f"user {frame['user_id'].iloc[int(np.argmax(repeated))]!r} is listed twice",
            "keep one line per user",
            column="user_id",
        )
    try:
        parsed = parse_user_columns({c: frame[c] for c in ("description", *_LABEL_COLUMNS) if c in frame})
    except CellError as exc:
        raise LoadError(users_path, exc.problem, exc.fix, line=exc.row + 2, column=exc.column) from None
    n = len(frame)
    gender = parsed["gender"].to_numpy(dtype=np.float64) if "gender" in parsed else np.full(n, np.nan)
    gender[gender == Gender.UNKNOWN] = np.nan
    occupation = (
        parsed["occupation"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        if "occupation" in parsed
        else np.full(n, np.nan)
    )
    description = parsed.get("description", pd.Series([None] * n)).fillna("").astype(str).tolist()
    owner, texts = np.zeros(0, dtype=np.int64), []
    if posts_path is not None:
        posts = _read_table(posts_path, ("user_id", "text"), (), _POST_ALIASES)
        position = pd.Series(np.arange(n), index=keys.to_numpy()).reindex(_id_keys(posts_path, posts["user_id"]))
        known = position.notna().to_numpy() & posts["text"].notna().to_numpy()
        owner = position.to_numpy()[known].astype(np.int64)
        order = np.argsort(owner, kind="stable")
        owner = owner[order]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)  # position within the user's posts
        keep = order[rank < max_posts]
        owner, texts = owner[rank < max_posts], posts["text"].to_numpy()[known][keep].astype(str).tolist()
    return LabelledUsers(
        name=Path(users_path).name,
        source=str(users_path),
        user_id=frame["user_id"].to_numpy(dtype=object),
        descriptions=description,
        post_owner=owner,
        post_texts=texts,
        gender=gender,
        age=parsed["age"].to_numpy(dtype=np.float64) if "age" in parsed else np.full(n, np.nan),
        occupation=occupation,
    )


def load_labelled(spec: str, datasets_dir: PathLike | None = None, posts: PathLike | None = None) -> LabelledUsers:
    """'weibo-ced' (under ``datasets_dir``) or the path of a users file (with an optional posts file)."""
    if spec == "weibo-ced":
        if datasets_dir is None:
            raise LoadError(spec, "no datasets folder given", "pass the folder holding weibo-ced/ (e.g. --datasets)")
        return weibo_ced_authors(Path(datasets_dir) / "weibo-ced")
    if not Path(spec).exists():
        raise LoadError(spec, "neither 'weibo-ced' nor an existing users file", "give 'weibo-ced' or a users CSV")
    return users_file_labels(spec, posts)


def _read_table(path: PathLike, required: tuple, optional: tuple, aliases: dict) -> pd.DataFrame:
    """A CSV (through the loaders' checked reader) or Parquet file as string-ish columns by canonical name."""
    if str(path).lower().endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise LoadError(path, f"unreadable Parquet file ({exc})", "choose a Parquet or CSV file") from None
        frame = frame.rename(columns={c: str(c).strip().lower() for c in frame})
        missing = [c for c in required if c not in frame]
        if missing:
            hint = [f"rename {k!r} -> {v!r}" for k, v in aliases.items() if v in missing and k in frame]
            raise LoadError(
                path, f"no {', '.join(missing)} column", "; ".join([f"the file needs {', '.join(required)}", *hint])
            )
        frame = frame[[c for c in (*required, *optional) if c in frame]]
        frame["user_id"] = frame["user_id"].astype(str).str.strip()
        return frame.reset_index(drop=True)
    table = read_csv(path, required, optional, max_bytes=MAX_BYTES, aliases=aliases)
    return pd.DataFrame({name: column.to_pandas() for name, column in table.columns.items()})


def _id_keys(path: PathLike, ids: pd.Series) -> pd.Series:
    """User ids under the loaders' id rules (1002, 1002.0 and 001002 are one user)."""
    try:
        keys = normalize_ids(pa.array(ids.astype(str).str.strip().tolist(), type=pa.string())).keys
    except IdError as exc:
        raise LoadError(path, exc.problem, exc.fix, line=exc.row + 2, column="user_id") from None
    return pd.Series(keys.to_pylist(), dtype=object)


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
        return json.loads(json.dumps(asdict(self), default=str).replace("NaN", "null"))

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
