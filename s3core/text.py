"""Offline text representation (char n-gram LSA) and the pool of real texts agents write.

The text model gives the engine cosine relevance between users and messages without any
download or neural network; the pool lets agents "write" real Weibo texts that match
their emotion and attitude. Both are built by ``scripts/build_sample.py`` and shipped in
``data/``; loading them never writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .text_kernels import nearest_in_buckets
from .types import Occupation

DIM = 32
KINDS = ("comment", "original")
AGE_EDGES = (25, 40, 60)  # brackets <25, 25-40, 40-60, 60+

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@[\w\-\u00b7]{1,30}")
_SPACE = re.compile(r"\s+")
_LONG_NUMBER = re.compile(r"(?<![A-Za-z0-9_/.=&?-])\d{7,}(?![A-Za-z0-9_/])")  # phone / QQ numbers; not inside URLs
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_text(text: str | None) -> str:
    """Shippable form of a real post: one line, no control characters, @names and phone numbers masked."""
    if text is None:
        return ""
    text = _CONTROL.sub(" ", str(text))
    text = _MENTION.sub("@用户", text)
    text = _LONG_NUMBER.sub("[号码]", text)
    return _SPACE.sub(" ", text).strip()


_NOISE = re.compile(_URL.pattern + "|" + _MENTION.pattern)
_PUNCT = re.compile(r"[^\w\s]|_")
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_BIGRAM = re.compile(r"(?=([^\x00-\x7f\s]{2}))")


def tokens(text: str) -> list[str]:
    """Terms of a text: each CJK (or other non-Latin) character and each pair of adjacent
    ones, plus whole Latin words and numbers; URLs, @mentions and punctuation dropped.
    Char 1-2-grams need no Chinese tokenizer; for English, words carry the topic where
    letter pairs do not."""
    t = _PUNCT.sub(" ", _NOISE.sub(" ", text.lower()))
    return _TOKEN.findall(t) + _BIGRAM.findall(t)


class TextModel:
    """TF-IDF over :func:`tokens` (sublinear tf) projected by truncated SVD to 32 dims (LSA),
    then standardized per axis over ordinary posts.

    Raw LSA cosines of short posts sit near 0.4-0.9 whatever the topic, because a few
    axes carry the common "it is a Weibo comment" direction; subtracting their mean and
    dividing by their spread lets every topic axis count (on held-out cascades, AUC of a
    comment's cosine to its own source vs. another source 0.58 -> 0.61; mean cosine between
    occupation prototypes 0.62 -> 0.24). Stored as plain arrays in an ``.npz``, never pickled.
    """

    def __init__(
        self,
        vocabulary: np.ndarray,
        idf: np.ndarray,
        components: np.ndarray,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ):
        self.vocabulary = np.asarray(vocabulary, dtype=str)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        d = self.components.shape[0]
        self.mean = np.zeros(d, np.float32) if mean is None else np.asarray(mean, np.float32)
        self.scale = np.ones(d, np.float32) if scale is None else np.asarray(scale, np.float32)
        if self.components.shape[1] != len(self.vocabulary) or len(self.idf) != len(self.vocabulary):
            raise ValueError("vocabulary, idf and components disagree in size")
        self._counter = CountVectorizer(
            analyzer=tokens, vocabulary={t: i for i, t in enumerate(self.vocabulary)}, dtype=np.float32
        )

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @classmethod
    def fit(
        cls,
        corpus: Sequence[str],
        center_on: Sequence[str] | None = None,
        dim: int = DIM,
        max_features: int = 20000,
        seed: int = 0,
    ) -> "TextModel":
        """Fit on ``corpus`` (long documents give better topic axes); the mean direction is
        per-axis mean and spread over ``center_on`` (typical short posts). Deterministic."""
        tfidf = TfidfVectorizer(
            analyzer=tokens, max_features=max_features, min_df=2, sublinear_tf=True, dtype=np.float32
        )
        x = tfidf.fit_transform(list(corpus))
        svd = TruncatedSVD(n_components=dim, algorithm="randomized", n_iter=10, random_state=seed)
        svd.fit(x)
        comps = svd.components_.astype(np.float32)
        # Fix the sign of each axis so refits on the same data give identical files.
        comps *= np.where(comps[np.arange(dim), np.abs(comps).argmax(axis=1)] < 0, -1, 1)[:, None]
        model = cls(np.array(tfidf.get_feature_names_out(), dtype=str), tfidf.idf_.astype(np.float32), comps)
        if center_on is not None:
            v = model._project(list(center_on))
            v = v[np.abs(v).sum(axis=1) > 0]
            model.mean = v.mean(axis=0).astype(np.float32)
            model.scale = np.maximum(v.std(axis=0), 1e-3).astype(np.float32)
        return model

    def save(self, path: str | Path) -> None:
        """Write the arrays (components as float16, enough for cosines) to a compressed npz."""
        np.savez_compressed(
            path,
            vocabulary=self.vocabulary,
            idf=self.idf,
            components=self.components.astype(np.float16),
            mean=self.mean,
            scale=self.scale,
        )

    @classmethod
    def load(cls, path: str | Path) -> "TextModel":
        with np.load(path, allow_pickle=False) as z:
            return cls(z["vocabulary"], z["idf"], z["components"].astype(np.float32), z["mean"], z["scale"])

    def _project(self, texts: list[str]) -> np.ndarray:
        """Unit-length LSA vectors before centering; zero rows for texts with no known term."""
        x = self._counter.transform(texts).tocsr()
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]
        return _normalize(np.asarray(x @ self.components.T, dtype=np.float32))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(m, dim) float32 rows with unit L2 norm; all-zero rows for texts with no known term."""
        texts = ["" if t is None else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self._project(texts)
        known = np.abs(v).sum(axis=1) > 0
        return _normalize(np.where(known[:, None], (v - self.mean) / self.scale, 0.0))


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(norm > 0, norm, 1.0)).astype(np.float32)


class TextPool:
    """Real texts bucketed by (kind, emotion, attitude), for fast seeded draws.

    ``sample`` falls back, when a bucket is empty, to the same attitude at the nearest
    emotion (the calmer one on a tie), then to the other attitude.
    """

    def __init__(
        self, texts: Sequence[str], kind: np.ndarray, emotion: np.ndarray, attitude: np.ndarray, vectors: np.ndarray
    ):
        self.texts = np.asarray(texts, dtype=object)
        self.kind = np.asarray(kind, dtype=str)
        self.emotion = np.asarray(emotion, dtype=np.int8)
        self.attitude = np.asarray(attitude, dtype=np.int8)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        n = len(self.texts)
        if not (len(self.kind) == len(self.emotion) == len(self.attitude) == len(self.vectors) == n):
            raise ValueError("pool columns differ in length")
        self._flat: dict[str, np.ndarray] = {}
        self._start: dict[str, np.ndarray] = {}
        self._size: dict[str, np.ndarray] = {}
        for k in KINDS:
            self._index_kind(k)

    def __len__(self) -> int:
        return len(self.texts)

    def _index_kind(self, kind: str) -> None:
        """Per (emotion, attitude) bucket b = 2*emotion + attitude: a slice of one flat index array."""
        rows = np.flatnonzero(self.kind == kind)
        buckets = [rows[(self.emotion[rows] == e) & (self.attitude[rows] == a)] for e in range(3) for a in range(2)]
        sizes = np.array([len(b) for b in buckets])
        target = np.arange(6)
        for b in range(6):
            if sizes[b]:
                continue
            e, a = divmod(b, 2)
            order = sorted(range(3), key=lambda x: (abs(x - e), x))
            options = [2 * x + a for x in order] + [2 * x + 1 - a for x in order]
            target[b] = next((o for o in options if sizes[o]), -1)
        if rows.size:
            flat = np.concatenate([buckets[t] for t in target])
            size = sizes[target]
            self._flat[kind] = flat.astype(np.int64)
            self._start[kind] = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
            self._size[kind] = size.astype(np.int64)

    def sample(self, u: np.ndarray, kind: str, emotion: np.ndarray, attitude: np.ndarray) -> np.ndarray:
        """One pool row per (emotion, attitude) request, uniform within its bucket.

        ``u``: one uniform in [0, 1) per request (keyed draws); returns int64 pool rows.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if kind not in self._flat:
            raise ValueError(f"the pool has no {kind!r} texts")
        emotion = np.asarray(emotion, dtype=np.int64)
        attitude = np.asarray(attitude, dtype=np.int64)
        b = 2 * np.clip(emotion, 0, 2) + np.clip(attitude, 0, 1)
        u = np.asarray(u, dtype=np.float64)
        if u.shape != b.shape:
            raise ValueError(
                f"one uniform per request: got {u.shape[0] if u.ndim else 'a scalar'} for {b.size} requests"
            )
        offset = np.minimum((u * self._size[kind][b]).astype(np.int64), self._size[kind][b] - 1)
        return self._flat[kind][self._start[kind][b] + offset]

    def neighbours(self, kind: str, queries: np.ndarray, k: int) -> np.ndarray:
        """For each query vector, the ``k`` pool rows of each (emotion, attitude) bucket most similar
        to it (dot product of unit vectors, best first; equal scores in pool order): int64 array
        (queries, 6, k), a row repeated where a bucket is smaller than ``k``. Buckets fall back as in
        ``sample``. A query's answer does not depend on the other queries (``text_kernels``)."""
        queries = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1]))
        return nearest_in_buckets(queries, self.vectors, self._flat[kind], self._start[kind], self._size[kind], int(k))

    def sample_near(
        self, u: np.ndarray, kind: str, emotion: np.ndarray, attitude: np.ndarray, candidates: np.ndarray
    ) -> np.ndarray:
        """Like ``sample``, but uniform among each request's own candidates (rows of ``neighbours``:
        shape (requests, 6, k)), so the text is close to what the request quotes or answers."""
        b = 2 * np.clip(np.asarray(emotion, np.int64), 0, 2) + np.clip(np.asarray(attitude, np.int64), 0, 1)
        k = candidates.shape[2]
        pick = np.minimum((np.asarray(u, np.float64) * k).astype(np.int64), k - 1)
        return candidates[np.arange(len(b)), b, pick]

    # --- persistence -------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Parquet with text, kind, emotion, attitude and a 32-value float16 ``vector`` column."""
        v = self.vectors.astype(np.float16)
        table = pa.table(
            {
                "text": pa.array(self.texts.tolist(), pa.string()),
                "kind": pa.array(self.kind.tolist(), pa.string()).dictionary_encode(),
                "emotion": pa.array(self.emotion, pa.int8()),
                "attitude": pa.array(self.attitude, pa.int8()),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.ravel(), pa.float16()), v.shape[1]),
            }
        )
        pq.write_table(table, path, compression="zstd", compression_level=19)

    @classmethod
    def load(cls, data_dir: str | Path, offensive: bool = False) -> "TextPool":
        """Read ``text_pool.parquet`` from a data directory (or the file itself); rows marked ``offensive``
        at build time (data/README.md) are left out unless ``offensive``."""
        path = Path(data_dir)
        if path.is_dir():
            path = path / "text_pool.parquet"
        table = pq.read_table(path)
        if not offensive and "offensive" in table.column_names:
            table = table.filter(pa.array(~table.column("offensive").to_numpy(zero_copy_only=False)))
        vec = table.column("vector").combine_chunks()
        vectors = np.asarray(vec.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(vec), -1)
        kind = table.column("kind").cast(pa.string()).to_numpy(zero_copy_only=False)
        return cls(
            table.column("text").to_pylist(),
            kind,
            table.column("emotion").to_numpy(),
            table.column("attitude").to_numpy(),
            vectors,
        )

    def frame(self) -> pd.DataFrame:
        """The pool without vectors, for inspection pages."""
        return pd.DataFrame({"text": self.texts, "kind": self.kind, "emotion": self.emotion, "attitude": self.attitude})


# Interest keywords per S3 occupation category and age bracket (own curation, Chinese then
# English), after S3's example that the young lean to entertainment, the middle-aged to politics.
OCCUPATION_KEYWORDS = {
    Occupation.EDUCATION: "教育 学校 老师 教师 学生 孩子 考试 高考 课堂 校园 education school teacher students exam",
    Occupation.ADMINISTRATIVE: "政府 官员 政策 管理 领导 部门 改革 干部 公务员 government officials policy management reform",
    Occupation.UNEMPLOYED_STUDENT: "大学生 毕业 找工作 就业 游戏 考研 宿舍 实习 明星 college graduate jobs games internship",
    Occupation.ENGINEER: "技术 工程 科技 软件 互联网 手机 电脑 数据 研发 technology engineering software internet data",
    Occupation.LABOR_WORKER: "工人 工厂 工资 打工 农民工 加班 维权 劳动 安全 workers factory wages labor overtime",
    Occupation.LOGISTICS: "快递 物流 运输 司机 交通 货车 高速 仓库 铁路 delivery logistics transport drivers traffic",
    Occupation.MEDICAL: "医院 医生 护士 病人 健康 疾病 治疗 药 医疗 hospital doctor nurse patients health medicine",
    Occupation.FINANCIAL: "股市 银行 经济 投资 房价 理财 金融 基金 钱 stock market bank economy investment finance",
    Occupation.MEDIA: "新闻 媒体 记者 报道 真相 舆论 微博 电视台 采访 news media journalist reporting truth",
    Occupation.ENTERTAINMENT_ARTS: "明星 娱乐 电影 音乐 演唱会 艺术 综艺 歌手 导演 celebrity entertainment movie music art",
}
AGE_KEYWORDS = (
    "明星 娱乐 游戏 偶像 电影 音乐 动漫 恋爱 考试 校园 celebrity entertainment games idol music love school",
    "工作 职场 房价 结婚 孩子 创业 科技 旅游 工资 买房 career work housing marriage salary technology travel",
    "政治 政府 政策 经济 社会 腐败 教育 房价 国家 新闻 politics government policy economy society news",
    "健康 养生 退休 养老 家庭 孙子 历史 传统 医院 国家 health retirement pension family history tradition",
)


def prototype_vectors(model: TextModel) -> dict[str, np.ndarray]:
    """Interest vectors for user profiles: ``occupation`` (10, d) in ``Occupation`` order,
    ``age`` (4, d) for <25, 25-40, 40-60, 60+, and ``age_edges`` (the bracket limits)."""
    occ = model.embed([OCCUPATION_KEYWORDS[o] for o in Occupation])
    return {"occupation": occ, "age": model.embed(list(AGE_KEYWORDS)), "age_edges": np.array(AGE_EDGES)}


def age_bracket(age: np.ndarray) -> np.ndarray:
    """Row index into ``prototype_vectors(...)['age']`` for each age in years."""
    return np.searchsorted(np.asarray(AGE_EDGES), np.asarray(age), side="right")
