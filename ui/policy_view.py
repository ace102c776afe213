"""What the decision policy does, as curves: action and emotion probabilities for a typical agent.

Builds small synthetic decision batches and asks the policy itself, so the curves always show
the model's own formula for the current parameters.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from s3core.params import AttitudeParams, EmotionParams, PolicyParams
from s3core.policy import DecisionBatch, HeuristicPolicy
from s3core.transitions import emotion_rise_probability
from s3core.types import Source, UserCategory

# x-axis choices: batch field -> (label with unit, values)
VARIABLES = {
    "focal_relevance": ("relevance of the post to the agent (cosine, 0-1)", np.linspace(0.0, 1.0, 41)),
    "received": ("posts received this step (count)", np.arange(1, 31, dtype=float)),
    "focal_age": ("age of the post (steps)", np.arange(0, 25, dtype=float)),
    "actions_taken": ("the agent's earlier actions on the event (count)", np.arange(0, 11, dtype=float)),
    "focal_depth": ("hops of the post from its source (0 = the source)", np.arange(0, 11, dtype=float)),
}


def action_curve(
    params: PolicyParams,
    vary: str,
    category: int = int(UserCategory.REGULAR),
    emotion: int = 1,
    agrees: bool = True,
    mutual: bool = False,
    labelled: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(x values, probabilities n x 4 in ignore/repost/quote/post order) as one input varies."""
    x = VARIABLES[vary][1]
    n = len(x)
    base = {
        "received": np.full(n, 2.0),
        "focal_relevance": np.full(n, 0.3),
        "focal_age": np.ones(n),
        "actions_taken": np.zeros(n),
        "focal_depth": np.zeros(n),
    }
    base[vary] = x
    attitude = np.ones(n, dtype=np.int8)
    values = dict(
        step=0,
        agent=np.arange(n),
        received=base["received"],
        mean_intensity=np.ones(n),
        max_relevance=base["focal_relevance"],
        focal_post=np.zeros(n, np.int32),
        focal_source=np.full(n, Source.MUTUAL if mutual else Source.FOLLOWEE, np.int8),
        focal_stance=attitude if agrees else 1 - attitude,
        focal_emotion=np.ones(n, np.int8),
        focal_age=base["focal_age"],
        focal_relevance=base["focal_relevance"],
        focal_labelled=np.full(n, labelled),
        emotion=np.full(n, emotion, np.int8),
        attitude=attitude,
        pool_positive=np.full(n, 0.5),
        pool_weight=np.ones(n),
        category=np.full(n, category, np.uint8),
        age=np.full(n, 30),
        gender=np.zeros(n, np.int8),
        occupation=np.zeros(n, np.int8),
        actions_taken=base["actions_taken"],
        was_aware=np.ones(n, dtype=bool),
        focal_depth=base["focal_depth"],
    )
    # Fields the engine may add later get neutral zeros, so the explorer keeps working.
    known = {f.name for f in dataclasses.fields(DecisionBatch)}
    batch = DecisionBatch(
        **{k: v for k, v in values.items() if k in known},
        **{
            f.name: np.zeros(n)
            for f in dataclasses.fields(DecisionBatch)
            if f.name not in values and f.name != "context" and f.default is dataclasses.MISSING
        },
    )
    policy = HeuristicPolicy(EmotionParams(), AttitudeParams(), params)
    return x, policy.action_probabilities(batch, np.full(n, emotion, np.int8), attitude)


def emotion_rise(params: EmotionParams, relevance: float = 0.3) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Chance that a calm agent leaves calm versus posts received, for received posts of each level."""
    received = np.arange(0, 31, dtype=float)
    curves = {}
    for level, name in enumerate(("calm posts", "moderate posts", "intense posts")):
        curves[name] = emotion_rise_probability(
            params, received, np.full(len(received), float(level)), np.full(len(received), relevance)
        )
    return received, curves
