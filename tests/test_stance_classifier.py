"""Tests for the shipped English stance classifier and its use in the lexicon labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from s3core import lexicon
from s3core.stance_classifier import ATTITUDE, CLASSES, MODEL_PATH, StanceModel, is_english, shipped_model

RUMOUREVAL = Path("/work/shared/datasets/rumoureval2017")


@pytest.fixture(scope="module")
def model() -> StanceModel:
    return shipped_model()


def test_shipped_model_loads_small_and_consistent(model):
    assert MODEL_PATH.stat().st_size < 3_000_000
    v = len(model.vocab)
    assert model.classes == CLASSES
    assert model.idf.shape == (v,) and model.coef.shape == (4, v + 5) and model.intercept.shape == (4,)
    assert 0 < model.n_word < v
    assert set(model.report["held_out"]) == {"accuracy", "macro_f1"}


def test_predict_shapes_and_classes(model):
    texts = ["@bbc is this true?", "", None, "Totally agree, confirmed by police", "lol"]
    labels = model.predict(texts)
    assert labels.shape == (5,) and set(labels) <= set(CLASSES)
    proba = model.predict_proba(texts)
    assert proba.shape == (5, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict([]).shape == (0,)
    assert model.attitude(texts).dtype == np.int8


@pytest.mark.parametrize(
    "text, reply, label",
    [
        ("@user Is this true? Any source for this?", True, "query"),
        ("@user Where did you hear that? Can you confirm?", True, "query"),
        ("@user no, he was not armed, that is false", True, "deny"),
        ("BREAKING: Police confirm two gunmen killed in the attack", False, "support"),
        ("@user the meeting is at 3pm", True, "comment"),
    ],
)
def test_clear_examples(model, text, reply, label):
    assert model.predict([text], [reply])[0] == label


def test_attitude_mapping():
    assert ATTITUDE == {"support": 1, "deny": -1, "query": 0, "comment": 0}


def test_english_detection():
    assert is_english(["hello", "你好 hello", "", "!!!", "[哈哈]", "RT @x: ok"]).tolist() == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def test_texts_without_signal_are_neutral():
    texts = ["@user the meeting is at 3pm", "今天开会讨论了预算。", "", "!!!"]
    assert lexicon.stance_score(texts).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert lexicon.stance(texts).tolist() == [1, 1, 1, 1]  # binary attitude: no objection reads as positive


def test_english_stance_follows_classifier(model):
    texts = ["@user no, he was not armed, that is false", "@user Is this true? Any source for this?"]
    assert lexicon.stance_score(texts).tolist() == [-1.0, 0.0]
    assert lexicon.stance(texts).tolist() == [0, 1]


@pytest.mark.skipif(not RUMOUREVAL.is_dir(), reason="RumourEval folder not available")
def test_held_out_figures_reproduced(model):
    from s3core.validation.fit_stance import scores, split

    posts = pd.read_parquet(RUMOUREVAL / "posts.parquet")
    _, test = split(posts)
    assert len(test) == model.report["n_test"]
    predicted = model.predict(test["text"].fillna("").astype(str).tolist(), test["parent_id"].notna().to_numpy())
    got = scores(test["stance"].to_numpy(object), predicted)
    assert got == pytest.approx(model.report["held_out"], abs=1e-3)
