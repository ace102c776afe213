"""The shipped scenarios tell their stories with the calibrated mechanics (Weibo fit, follower graph
around the bundled network), with no emotion or attitude parameters tuned per scenario."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from s3core import metrics as M
from s3core import scenario as S
from s3core.engine import Simulation

SCENARIOS = Path(__file__).resolve().parent.parent / "data" / "scenarios"


def _run(name: str, text) -> tuple[S.Scenario, M.Curves, list]:
    scenario = S.load(SCENARIOS / f"{name}.toml")
    records = Simulation(scenario, text=text).run(scenario.steps)
    frame = pd.DataFrame([dict(step=r.step, minutes=r.minutes, **r.metrics) for r in records])
    return scenario, M.curves(frame), records


def _step_of(scenario: S.Scenario, name: str) -> int:
    return next(item.step for item in scenario.interventions if getattr(item, "name", None) == name)


@pytest.mark.parametrize("name", ["default", "emotion_gender", "attitude_nuclear"])
def test_shipped_scenarios_use_the_calibrated_mechanics_without_tuned_groups(name):
    raw = (SCENARIOS / f"{name}.toml").read_text(encoding="utf-8")
    assert 'params = "../params/weibo-ced.json"' in raw
    assert "[emotion]" not in raw and "[attitude]" not in raw and "[policy]" not in raw and "[platform]" not in raw
    scenario = S.load(SCENARIOS / f"{name}.toml")
    assert scenario.minutes_per_step == 10.0 and scenario.network.augment_followees > 1.25


@pytest.mark.slow
def test_default_spreads_by_followers_and_the_recommender_does_not_carry_it(text):
    scenario, c, records = _run("default", text)
    assert np.all(np.diff(c.aware) >= 0) and c.aware[-1] > 0.5 * 10_095
    hour = int(round(60 / scenario.minutes_per_step))
    rate = np.diff(c.aware)
    assert rate[: 3 * hour].mean() > 5 * rate[-3 * hour :].mean()  # an S-shaped curve that levels off
    sources = pd.DataFrame([r.exposure_sources for r in records]).fillna(0)
    followers = sources["followee"].sum() + sources["mutual"].sum()
    assert sources["recommended"].sum() < 0.25 * followers


@pytest.mark.slow
def test_emotion_gender_has_a_second_emotion_peak_after_the_follow_up(text):
    scenario, c, _ = _run("emotion_gender", text)
    follow_up = _step_of(scenario, "follow-up")
    peaks = M.peaks(c.emotion_density, prominence=0.02)
    assert (peaks < follow_up).any() and (peaks > follow_up).any(), peaks


@pytest.mark.slow
def test_attitude_nuclear_has_a_trough_that_recovers_after_the_science_post(text):
    scenario, c, _ = _run("attitude_nuclear", text)
    science = _step_of(scenario, "science")
    troughs = M.troughs(c.positive, prominence=0.02)
    assert len(troughs) and abs(int(troughs[-1]) - science) <= 12, troughs
    low = c.positive[troughs[-1]]
    assert c.positive[-1] > low + 0.04 and c.positive[6:science].max() > low + 0.04
