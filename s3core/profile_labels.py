"""Users with self-reported demographic labels and their own texts, from weibo-ced or a user's files.

The inputs of `s3core.profile_evaluate`: labels (gender, age, occupation) beside the texts an
inferrer reads, laid out as `RuleInferrer.infer_arrays` takes them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .demographics import MAX_POSTS
from .loaders.columns import parse_user_columns
from .loaders.csvfile import read_csv
from .loaders.errors import CellError, LoadError
from .loaders.files import MAX_BYTES
from .loaders.ids import IdError, normalize_ids
from .types import Gender

PathLike = str | os.PathLike[str]
WEIBO_CED_YEAR = 2013  # the CED cascades run 2010-12 to 2013-12; '90后' is counted from here
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
        text = posts["text"].astype(object).where(posts["text"].notna(), "").astype(str)
        known = position.notna().to_numpy() & (text.str.strip() != "").to_numpy()  # empty posts say nothing
        owner = position.to_numpy()[known].astype(np.int64)
        order = np.argsort(owner, kind="stable")
        owner = owner[order]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)  # position within the user's posts
        keep = order[rank < max_posts]
        owner, texts = owner[rank < max_posts], text.to_numpy()[known][keep].tolist()
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
