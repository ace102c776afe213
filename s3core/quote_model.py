"""The fitted quote-versus-plain-repost model: loads its JSON (written by
``validation.fit_quote_model``) and scores decisions with numpy only.

Features, all known when an agent decides (Weibo CED fit, Song et al. 2018):
the agent's own quote propensity (logit), whether the focal post is the source (a direct
repost), log of the forwarder's depth, log(1 + minutes since the focal post), whether the focal
post itself carries a comment, and the shrunk quote share of the event's earlier forwards (logit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import betaincinv

from .keyed_random import KeyedRandom, Purpose

PARAMS_DIR = Path(__file__).resolve().parent.parent / "data" / "params"
FEATURES = ("user_propensity_logit", "direct", "log_depth", "log_delay", "focal_quoted", "thread_quote_logit")
FORMAT = "s3core-quote-model"
EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def feature_matrix(
    propensity, depth, delay_min, focal_quoted, thread_quotes, thread_forwards, prior: float, shrinkage: float
) -> np.ndarray:
    """Rows of ``FEATURES``; ``depth`` is the forwarder's (1 = reposting the source).

    The event's quote share is (quotes + shrinkage * prior) / (forwards + shrinkage), so the
    first forwards of an event start at the prior.
    """
    depth = np.maximum(np.asarray(depth, dtype=np.float64), 1.0)
    share = (np.asarray(thread_quotes, np.float64) + shrinkage * prior) / (
        np.asarray(thread_forwards, np.float64) + shrinkage
    )
    return np.column_stack(
        [
            _logit(propensity),
            (depth == 1).astype(np.float64),
            np.log(depth),
            np.log1p(np.maximum(np.asarray(delay_min, np.float64), 0.0)),
            np.asarray(focal_quoted, np.float64),
            _logit(share),
        ]
    )


@dataclass(frozen=True)
class QuoteModel:
    """A standardized logistic regression over ``FEATURES`` and the Beta law of users' quote propensities."""

    mean: np.ndarray
    scale: np.ndarray
    low: np.ndarray  # features are clipped to the training range (0.5% and 99.5% quantiles)
    high: np.ndarray
    coef: np.ndarray
    intercept: float
    prior: float  # training quote share, the event share's starting point
    shrinkage: float
    beta_a: float
    beta_b: float
    path: str = ""

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(quote | forwards) per row of a ``feature_matrix``."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(x)))

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of quoting over reposting plainly per row of a ``feature_matrix``.

        The dot product runs feature by feature, left to right (not through BLAS, whose order
        varies), so the compiled policy (``policy_kernels``) reproduces it to the last bit.
        """
        z = (np.clip(x, self.low, self.high) - self.mean) / self.scale
        total = z[:, 0] * self.coef[0]
        for j in range(1, z.shape[1]):
            total = total + z[:, j] * self.coef[j]
        return total + self.intercept

    def propensity(self, random: KeyedRandom, agents: np.ndarray) -> np.ndarray:
        """Each agent's own quote propensity: the Beta quantile of its keyed uniform.

        Drawn from its own purpose by agent id, so it does not depend on the population's order,
        the step or any other draw.
        """
        u = random.stream(Purpose.QUOTE_PROPENSITY).uniform(np.asarray(agents, dtype=np.int64))
        return betaincinv(self.beta_a, self.beta_b, np.clip(u, EPS, 1.0 - EPS))

    @property
    def mean_propensity(self) -> float:
        return self.beta_a / (self.beta_a + self.beta_b)


def resolve(path: str) -> Path:
    """A quote-model path; relative ones are under ``data/params``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PARAMS_DIR / p


def from_dict(data: dict, path: str = "") -> QuoteModel:
    """A model from its JSON object; raises ValueError naming what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f'not a quote model (expected "format": "{FORMAT}")')
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(f"features {data.get('features')!r}: expected {list(FEATURES)}")
    try:
        arr = {
            k: np.asarray(data["scaler"][k] if k in ("mean", "scale") else data[k], dtype=np.float64)
            for k in ("mean", "scale", "coef", "low", "high")
        }
        beta = data["propensity_beta"]
        model = QuoteModel(
            mean=arr["mean"],
            scale=arr["scale"],
            low=arr["low"],
            high=arr["high"],
            coef=arr["coef"],
            intercept=float(data["intercept"]),
            prior=float(data["thread_prior"]),
            shrinkage=float(data["shrinkage"]),
            beta_a=float(beta["a"]),
            beta_b=float(beta["b"]),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed quote model ({type(exc).__name__}: {exc})") from None
    if any(a.shape != (len(FEATURES),) for a in arr.values()) or model.beta_a <= 0 or model.beta_b <= 0:
        raise ValueError("malformed quote model (arrays must have one entry per feature, Beta parameters > 0)")
    return model


@lru_cache(maxsize=8)
def _load_cached(resolved: str, mtime_ns: int) -> QuoteModel:
    with open(resolved, encoding="utf-8") as fh:
        return from_dict(json.load(fh), resolved)


def load(path: str) -> QuoteModel:
    """The model at ``path`` (see ``resolve``), read once per file version.

    Raises ValueError naming the file when it is missing or not a quote model.
    """
    full = resolve(path)
    try:
        return _load_cached(str(full), full.stat().st_mtime_ns)
    except FileNotFoundError:
        raise ValueError(f"no such quote model file ({full})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read quote model file {full} ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{full}: {exc}") from None


def check(path: str) -> None:
    """Refuse a quote-model setting that cannot be loaded ('' means none)."""
    if path:
        load(path)
