"""Derive the bundled Weibo sample, text model and text pool in data/ from the CED cascades.

Usage: python scripts/build_sample.py [--src ../shared/datasets/weibo-ced] [--out data]

Deterministic: cascades are chosen greedily (ties broken by cascade id) and the text model
is fitted with a fixed seed, so the same inputs give the same files.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from s3core.lexicon import emotion_level, stance
from s3core.text import TextModel, TextPool, clean_text, tokens

# Weibo's default text for a repost without a comment: as good as empty.
_DEFAULT_REPOST = re.compile(r"^(?:转发微博|轉發微博|转发|轉發|repost)[。.!！~～\s]*$", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^回复@用户\s*[:：]\s*")


def cascade_members(sources: pd.DataFrame, reposts: pd.DataFrame) -> dict[str, set[str]]:
    """All users of each cascade: source author, reposters and their parents."""
    a = pd.concat(
        [
            sources[["cascade_id", "user_id"]],
            reposts[["cascade_id", "user_id"]],
            reposts[["cascade_id", "parent_user_id"]].rename(columns={"parent_user_id": "user_id"}),
        ]
    ).drop_duplicates()
    return {c: set(g) for c, g in a.groupby("cascade_id").user_id}


def choose_cascades(members: dict[str, set[str]], target_users: int, alpha: float) -> list[str]:
    """Greedy: start from the pair of cascades that share most users, then keep adding the
    cascade whose users overlap the set most (shared / size**alpha), so the union is
    connected and has cross-cascade paths, until the target number of users is reached."""
    ids = sorted(members)
    owner: dict[str, list[str]] = {}
    for c in ids:
        for u in members[c]:
            owner.setdefault(u, []).append(c)
    pair: dict[tuple[str, str], int] = {}
    for cs in owner.values():
        for i in range(len(cs)):
            for j in range(i + 1, len(cs)):
                pair[(cs[i], cs[j])] = pair.get((cs[i], cs[j]), 0) + 1
    (c0, c1), _ = min(pair.items(), key=lambda kv: (-kv[1], kv[0]))
    chosen, users = [c0, c1], members[c0] | members[c1]
    while len(users) < target_users:
        shared: dict[str, int] = {}
        for u in users:
            for c in owner[u]:
                shared[c] = shared.get(c, 0) + 1
        cands = [(-(n / len(members[c]) ** alpha), c) for c, n in shared.items() if c not in chosen]
        if not cands:
            break
        best = min(cands)[1]
        chosen.append(best)
        users |= members[best]
    return chosen


def model_corpus(sources: pd.DataFrame, reposts: pd.DataFrame, datasets: Path, per_cascade: int = 40) -> list[str]:
    """Documents for the text model: each source post of the split alone and again with its
    first comments, so the LSA axes learn which words co-occur around one event, plus the
    English tweets and replies of twitter15 and RumourEval (if present) for English terms.
    (Chosen over the sample's own texts, which gave near-identical vectors for unrelated
    topics: held-out comment-to-own-source AUC 0.54 vs 0.61; raw TF-IDF, unreduced, 0.71.)"""
    rep = reposts[reposts.text != ""].sort_values(["cascade_id", "t_min", "post_id"])
    rep = rep.groupby("cascade_id").head(per_cascade)
    comments = rep.groupby("cascade_id").text.apply(lambda s: " ".join(clean_text(t) for t in s))
    src = sources.sort_values("cascade_id")
    docs = [clean_text(t) + " " + comments.get(c, "") for c, t in zip(src.cascade_id, src.text)]
    docs.extend(clean_text(t) for t in src.text)
    for path in (datasets / "twitter15" / "sources.parquet", datasets / "rumoureval2017" / "posts.parquet"):
        if path.exists():
            docs.extend(clean_text(t) for t in pd.read_parquet(path, columns=["text"]).text)
        else:
            print(f"note: {path} not found; the text model will know fewer English words")
    return docs


def largest_component(users: np.ndarray, edges: pd.DataFrame) -> np.ndarray:
    """Mask over ``users`` (sorted) of the largest weakly connected component."""
    f = np.searchsorted(users, edges.follower.to_numpy())
    g = np.searchsorted(users, edges.followee.to_numpy())
    n = len(users)
    adj = coo_matrix((np.ones(len(f)), (f, g)), shape=(n, n)).tocsr()
    _, lab = connected_components(adj, directed=True, connection="weak")
    return lab == np.bincount(lab).argmax()


def reciprocity(edges: pd.DataFrame) -> float:
    fwd = set(zip(edges.follower, edges.followee))
    return sum((b, a) in fwd for a, b in fwd) / max(1, len(fwd))


def build(src: Path, out: Path, target_users: int, alpha: float, seed: int) -> dict:
    sources = pd.read_parquet(src / "sources.parquet")
    reposts = pd.read_parquet(src / "reposts.parquet")
    chosen = choose_cascades(cascade_members(sources, reposts), target_users, alpha)
    sel_src = sources[sources.cascade_id.isin(chosen)]
    sel_rep = reposts[reposts.cascade_id.isin(chosen)]
    users = np.array(sorted(set(sel_src.user_id) | set(sel_rep.user_id) | set(sel_rep.parent_user_id)))

    # Relations among the chosen users, from every cascade of the split (as S3 keeps an
    # edge whenever both ends are in the user set).
    all_edges = reposts[["user_id", "parent_user_id"]].set_axis(["follower", "followee"], axis=1)
    edges = all_edges[
        all_edges.follower.isin(users) & all_edges.followee.isin(users) & (all_edges.follower != all_edges.followee)
    ]
    edges = edges.drop_duplicates().sort_values(["follower", "followee"], ignore_index=True)
    keep = largest_component(users, edges)
    users = users[keep]
    edges = edges[edges.follower.isin(users) & edges.followee.isin(users)].reset_index(drop=True)
    in_cascades = int(
        (
            edges.merge(
                sel_rep[["user_id", "parent_user_id"]].drop_duplicates().set_axis(["follower", "followee"], axis=1)
            ).shape[0]
        )
    )

    # Attributes where a user authored some source post of the split (the latest one).
    attrs = (
        sources.sort_values(["time_utc", "cascade_id"])
        .drop_duplicates("user_id", keep="last")
        .set_index("user_id")[["user_gender", "user_followers", "user_friends"]]
    )
    user_df = pd.DataFrame({"user_id": users}).join(attrs, on="user_id")
    user_df = user_df.rename(
        columns={"user_gender": "gender", "user_followers": "followers", "user_friends": "friends"}
    )
    user_df[["followers", "friends"]] = user_df[["followers", "friends"]].round().astype("Int64")

    # History: each kept user's real source posts and non-empty comments in the sample.
    src_keep = sel_src[sel_src.user_id.isin(users)].sort_values("cascade_id")
    rep_keep = sel_rep[sel_rep.user_id.isin(users)].sort_values(["cascade_id", "t_min", "post_id"])
    posts = pd.concat(
        [
            pd.DataFrame({"user_id": src_keep.user_id, "text": src_keep.text.map(clean_text), "kind": "original"}),
            pd.DataFrame({"user_id": rep_keep.user_id, "text": rep_keep.text.map(clean_text), "kind": "comment"}),
        ],
        ignore_index=True,
    )
    meaningful = posts.text.map(tokens).str.len().gt(0) & ~posts.text.str.match(_DEFAULT_REPOST)
    posts = posts[meaningful].sort_values("user_id", kind="stable", ignore_index=True)

    source_df = src_keep[["cascade_id", "user_id", "text", "time_utc", "label"]].copy()
    source_df["text"] = source_df.text.map(clean_text)
    source_df["time_utc"] = source_df.time_utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    out.mkdir(parents=True, exist_ok=True)
    d = out / "weibo_sample"
    d.mkdir(exist_ok=True)
    edges.to_csv(d / "edges.csv", index=False, encoding="utf-8")
    user_df.to_csv(d / "users.csv", index=False, encoding="utf-8")
    posts[["user_id", "text"]].to_csv(d / "posts.csv", index=False, encoding="utf-8")
    source_df.to_csv(d / "sources.csv", index=False, encoding="utf-8")

    model = TextModel.fit(model_corpus(sources, reposts, src.parent), center_on=posts.text.tolist(), seed=seed)
    model.save(out / "text_model.npz")

    # Pool: what an agent may write; tags and reply prefixes removed, duplicates merged.
    # Originals: every source post of the split, so new posts have more than the sample's few.
    originals = pd.DataFrame({"text": sources.sort_values("cascade_id").text.map(clean_text), "kind": "original"})
    pool = pd.concat([posts[["text", "kind"]], originals], ignore_index=True)
    pool["text"] = pool.text.str.replace(_REPLY_PREFIX, "", regex=True).str.replace("@用户", "", regex=False)
    pool["text"] = pool.text.str.replace(r"\s+", " ", regex=True).str.strip(" :：,，")
    pool = pool[pool.text.str.len() > 0].drop_duplicates(["kind", "text"]).reset_index(drop=True)
    vectors = model.embed(pool.text.tolist())
    has_vec = np.abs(vectors).sum(axis=1) > 0
    pool, vectors = pool[has_vec].reset_index(drop=True), vectors[has_vec]
    texts = pool.text.tolist()
    text_pool = TextPool(texts, pool.kind.to_numpy(), emotion_level(texts), stance(texts), vectors)
    text_pool.save(out / "text_pool.parquet")

    files = sorted(p for p in out.rglob("*") if p.is_file() and "scenarios" not in p.parts)
    return {
        "cascades": len(chosen),
        "cascades_by_label": src_keep.label.value_counts().to_dict(),
        "users": len(users),
        "users_with_attributes": int(user_df.gender.notna().sum()),
        "edges": len(edges),
        "edges_from_chosen_cascades": in_cascades,
        "reciprocity": round(reciprocity(edges), 4),
        "posts": len(posts),
        "pool": len(text_pool),
        "pool_counts": text_pool.frame().groupby(["kind", "emotion", "attitude"]).size().to_dict(),
        "bytes": {str(p.relative_to(out)): p.stat().st_size for p in files},
        "total_bytes": sum(p.stat().st_size for p in files),
    }


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--src", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "weibo-ced"
    )
    ap.add_argument("--out", type=Path, default=root / "data")
    ap.add_argument("--target-users", type=int, default=10000)
    ap.add_argument("--alpha", type=float, default=1.0, help="size penalty in the overlap score")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    summary = build(a.src, a.out, a.target_users, a.alpha, a.seed)
    for k, v in summary.items():
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"  {kk}: {vv:,}" if isinstance(vv, int) else f"  {kk}: {vv}")
        else:
            print(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}")


if __name__ == "__main__":
    main()
