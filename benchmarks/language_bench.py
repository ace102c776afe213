"""Relevance of English posts in the Chinese LSA model and in the multilingual (E5) English pool.

``python -m benchmarks.language_bench [--steps 12]`` prints the figures of README "Languages":

- topical relevance: ten English posts, one per S3 occupation and worded without its interest
  keywords, against the ten occupation profiles (relevance to their own, to the others, rank);
- four English rumours seeded on the bundled network: their mean relevance to all agents, and how
  close (raw E5 cosine, an outside judge for both models) the texts that directly quote them are,
  beside a random text of the same pool.
"""

from __future__ import annotations

import argparse

import numpy as np

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.resources import DATA_DIR, TextResources, load_text_resources
from s3core.text import prototype_vectors
from s3core.text_multilingual import encode_raw
from s3core.types import Action, Occupation

TOPICAL = {
    Occupation.MEDICAL: "A new flu strain is filling the wards and the clinic ran out of vaccines",
    Occupation.FINANCIAL: "Shares plunged on Wall Street after the lender froze withdrawals",
    Occupation.EDUCATION: "The national entrance test questions leaked online the night before pupils sat it",
    Occupation.LOGISTICS: "Truckers blocked the motorway and parcels piled up at the depots",
    Occupation.ENTERTAINMENT_ARTS: "The pop star cancelled her world tour after the album flopped",
    Occupation.LABOR_WORKER: "Assembly-line staff walked out over unpaid pay and forced night shifts",
    Occupation.ENGINEER: "A bug in the app leaked millions of passwords from the cloud servers",
    Occupation.ADMINISTRATIVE: "The mayor's office quietly changed the housing rules after the minister's visit",
    Occupation.MEDIA: "The newspaper retracted its front-page story after the reporter admitted inventing sources",
    Occupation.UNEMPLOYED_STUDENT: "Thousands of new graduates still cannot find a first job a year after leaving university",
}
RUMOURS = (
    "Breaking: the city's tap water is contaminated with chemicals, officials hid the test results for weeks.",
    "The vaccine causes autism, doctors are hiding the truth",
    "BREAKING: Explosion reported at the Boston marathon finish line",
    "Japan's nuclear plant disaster will be raised to level 8, worse than Chernobyl",
)


def topical(model) -> dict:
    """Relevance of each TOPICAL post to its own occupation's profile and to the others; its rank (1 best)."""
    occupation = prototype_vectors(model)["occupation"]
    rel = model.embed(list(TOPICAL.values())) @ occupation.T
    own = np.array([list(Occupation).index(o) for o in TOPICAL])
    mine = rel[np.arange(len(own)), own]
    rank = (rel > mine[:, None]).sum(axis=1) + 1
    others = (rel.sum(axis=1) - mine) / (rel.shape[1] - 1)
    return {
        "own": mine.mean(),
        "others": others.mean(),
        "first": int((rank == 1).sum()),
        "top2": int((rank <= 2).sum()),
    }


def rumours(text: TextResources, steps: int) -> dict:
    """Mean relevance of each rumour to all agents of the bundled network, and its direct quotes' E5 cosine to it."""
    base = S.load(DATA_DIR / "scenarios" / "default.toml")
    rel, judge, baseline = [], [], []
    for seed in RUMOURS:
        sim = Simulation(base.replace(steps=steps, interventions=(SeedPost(step=0, text=seed, name="e"),)), text=text)
        sim.run(steps)
        sid = sim.seed_ids["e"]
        agents = np.arange(sim.network.n_users)
        rel.append(float(sim.relevance(agents, np.full(len(agents), sid)).mean()))
        quotes = np.flatnonzero((sim.posts.action == Action.QUOTE) & (sim.posts.parent == sid))[:40]
        pool = sim.text.texts[np.random.default_rng(0).integers(0, len(sim.text.texts), 40)]
        v = encode_raw([seed, *sim.texts_of(sim.posts.text_id[quotes]), *pool])
        judge.append(float((v[1 : 1 + len(quotes)] @ v[0]).mean()))
        baseline.append(float((v[1 + len(quotes) :] @ v[0]).mean()))
    return {"relevance": np.mean(rel), "quotes": np.mean(judge), "random": np.mean(baseline), "pool": sim.text.language}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    a = ap.parse_args()
    zh = load_text_resources()
    chinese = TextResources(model=zh.model, pool=zh.pool)  # built in code: never swapped for the English pool
    english = load_text_resources(language="en")
    for label, text, model in (("Chinese LSA", chinese, zh.model), ("English pool, E5", zh, english.model)):
        t = topical(model)  # the shipped resources ``zh`` become the English pool in a run of an English event
        r = rumours(text, a.steps)
        print(
            f"{label}: topical relevance {t['own']:.3f} (others {t['others']:.3f}; first {t['first']}/10, "
            f"top two {t['top2']}/10); rumours: mean relevance to all agents {r['relevance']:.3f}, "
            f"quotes' E5 cosine {r['quotes']:.3f} (random {r['pool']} pool text {r['random']:.3f})"
        )


if __name__ == "__main__":
    main()
