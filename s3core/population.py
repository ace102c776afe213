"""Agents' fixed attributes: demographics, S3 category, interest vector and posting-history stance."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import lexicon
from .demographics import DemographicInferrer, DemographicParams, assign_demographics
from .network import Network
from .profiles import ProfileValues
from .text import TextModel, prototype_vectors

AGE_BRACKETS = (25, 40, 60)  # upper bounds of the <25, 25-40, 40-60 brackets; 60+ is the last


@dataclass(frozen=True, eq=False)
class Population:
    """Per-agent attributes that do not change during a run."""

    age: np.ndarray  # int16 years
    gender: np.ndarray  # int8 Gender
    occupation: np.ndarray  # int8 Occupation
    category: np.ndarray  # uint8 UserCategory
    user_vectors: np.ndarray  # float32 (n, d), L2-normalised interests
    history_stance: np.ndarray  # float32 share of positive posts in the user's history, NaN if none
    profile_key: np.ndarray  # int16 occupation x age-bracket profile of users without history, -1 otherwise
    profile_vectors: np.ndarray  # float32 (10 * brackets, d): the interest vector of each such profile
    provenance: np.ndarray | None = None  # int8 (n, 3) demographics.Provenance of age, gender, occupation
    profile_attitude: np.ndarray | None = None  # int8 initial Attitude from a profiles file, -1 where none

    @property
    def size(self) -> int:
        return len(self.age)

    def age_bracket(self) -> np.ndarray:
        """Index of each agent's age bracket, for prototypes and breakdowns."""
        return np.searchsorted(np.asarray(AGE_BRACKETS), self.age, side="right").astype(np.int8)

    @cached_property
    def _groups(self) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        dims = {
            dim: (self.age_bracket() if dim == "age_bracket" else getattr(self, dim)).astype(np.intp)
            for dim in ("category", "gender", "occupation", "age_bracket")
        }
        sizes = [int(codes.max()) + 1 if len(codes) else 1 for codes in dims.values()]
        joint = np.ravel_multi_index(tuple(dims.values()), sizes)
        # Each dimension's group of every joint cell, so marginals are one small bincount away.
        cell_groups = np.unravel_index(np.arange(int(np.prod(sizes))), sizes)
        return joint, {dim: (cell_groups[i], np.bincount(dims[dim], minlength=sizes[i])) for i, dim in enumerate(dims)}

    def groups(self) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Joint group cell per agent, and per dimension each cell's group and agents per group (computed once)."""
        return self._groups


def _per_user_mean(index: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of row vectors grouped by user index, and the count per user."""
    count = np.bincount(index, minlength=n).astype(np.float32)
    if values.ndim == 1:
        total = np.bincount(index, weights=values, minlength=n)
    else:
        total = np.zeros((n, values.shape[1]), dtype=np.float64)
        np.add.at(total, index, values)
    denom = np.maximum(count, 1.0)
    return (total / (denom if values.ndim == 1 else denom[:, None])).astype(np.float32), count


def build_population(
    network: Network,
    params: DemographicParams,
    text_model: TextModel,
    rng: np.random.Generator,
    history_weight: float = 1.0,
    inferrer: DemographicInferrer | None = None,
    profiles: ProfileValues | None = None,
) -> Population:
    """Demographics, categories and interest vectors for every user of the network.

    ``profiles`` (a profiles file aligned with the network, ``s3core.profiles``) wins over text rules and
    draws; its attitudes become ``profile_attitude``, the initial attitudes the engine starts from.
    """
    demo = assign_demographics(network, params, rng, inferrer=inferrer, profiles=profiles)
    n = network.n_users
    protos = prototype_vectors(text_model)
    age = demo.age.astype(np.int16)
    bracket = np.searchsorted(np.asarray(AGE_BRACKETS), age, side="right")
    n_brackets = len(protos["age"])
    profile_table = (protos["occupation"][:, None, :] + protos["age"][None, :, :]).reshape(-1, protos["age"].shape[1])
    profile_key = (demo.occupation.astype(np.int16) * n_brackets + bracket).astype(np.int16)
    vectors = profile_table[profile_key]
    history_stance = np.full(n, np.nan, dtype=np.float32)
    if network.posts is not None and len(network.posts):
        hist_vec, count, shared_stance = _history_features(network.posts, n, text_model)
        history_stance = shared_stance.copy()
        vectors = vectors + history_weight * hist_vec
        profile_key[count > 0] = -1  # their own history makes their interests individual
    vectors = _normalise(vectors)
    return Population(
        age=age,
        gender=demo.gender.astype(np.int8),
        occupation=demo.occupation.astype(np.int8),
        category=network.categories(),
        user_vectors=vectors,
        history_stance=history_stance,
        profile_key=profile_key,
        profile_vectors=_normalise(profile_table),
        provenance=demo.provenance,
        profile_attitude=None
        if profiles is None
        else np.where(np.isnan(profiles.attitude), -1, profiles.attitude).astype(np.int8),
    )


_HISTORY: list = []  # the latest (posts table, users, text model, features): seeds of one network share them


def _history_features(posts, n: int, text_model: TextModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user: the mean vector of their own posts (n, dim), how many they have (n,), and the share of
    their stance-bearing posts that are positive (n,; NaN without any). Networks that share their
    posts table (the seeds of one scenario, whose follow edges alone differ) compute them once."""
    if _HISTORY and _HISTORY[0][0] is posts and _HISTORY[0][1] == n and _HISTORY[0][2] is text_model:
        return _HISTORY[0][3]
    index = posts["user_index"].to_numpy(dtype=np.int64)
    texts = posts["text"].astype(str).tolist()
    hist_vec, count = _per_user_mean(index, text_model.embed(texts), n)
    score = lexicon.stance_score(texts)
    signal = score != 0  # texts without a stance signal are neutral: they do not lean a user either way
    share, with_signal = _per_user_mean(index[signal], (score[signal] > 0).astype(np.float32), n)
    features = (hist_vec, count, np.where(with_signal > 0, share, np.nan).astype(np.float32))
    _HISTORY[:] = [(posts, n, text_model, features)]
    return features


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norm, 1e-9)).astype(np.float32)
