"""Scenario files: round trip, shipped scenarios, and clear errors."""
from pathlib import Path

import pytest

from s3core import scenario as S
from s3core.interventions import Audience, Boost, Moderation, SeedPost
from s3core.types import Attitude, Emotion, UserCategory

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "data" / "scenarios").glob("*.toml"))


def test_at_least_three_scenarios_ship():
    names = {p.stem for p in SCENARIOS}
    assert {"default", "emotion_gender", "attitude_nuclear"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_round_trip(path):
    sc = S.load(path)
    assert sc.interventions, "every shipped scenario has an intervention"
    again = S.loads(S.dumps(sc), base_dir=sc.base_dir)
    assert again == sc


def test_round_trip_of_every_intervention_kind():
    sc = S.Scenario(seed=3, interventions=(
        SeedPost(step=0, text="x", name="a", stance=Attitude.POSITIVE, emotion=Emotion.INTENSE),
        Boost(step=1, duration=3, strength=0.2, post="a", audience=Audience(kind="category", category=UserCategory.INFLUENTIAL)),
        Boost(step=2, stance=Attitude.NEGATIVE, audience=Audience(kind="group", age_min=18, age_max=30)),
        Moderation(step=4, action="remove", post="a"),
        Moderation(step=5, action="downrank", stance=Attitude.NEGATIVE, strength=0.5),
    ))
    assert S.loads(S.dumps(sc)) == sc


@pytest.mark.parametrize("text, fragment", [
    ("seed = 1\n[emotion]\ndecay = 2.0\n", "decay"),
    ("seed = 1\n[emotion]\ndekay = 0.1\n", "unknown key 'dekay'"),
    ("seed = 'x'\n", "seed"),
    ("steps = 0\n", "steps"),
    ("bogus = 1\n", "unknown top-level key 'bogus'"),
    ("[network]\nsource = 'ftp'\n", "network.source"),
    ("[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'a'\nstance = 'angry'\n", "interventions[0].stance"),
    ("[[interventions]]\nkind = 'nuke'\nstep = 0\n", "interventions[0].kind"),
    ("[[interventions]]\nkind = 'boost'\nstep = 0\n", "exactly one of"),
    ("[platform]\nrecommender = 'magic'\n", "recommender"),
    ("seed = [\n", "invalid TOML"),
])
def test_bad_scenarios_name_the_problem(text, fragment):
    with pytest.raises(S.ScenarioError) as err:
        S.loads(text, origin="bad.toml")
    assert fragment in str(err.value) and "bad.toml" in str(err.value)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(S.ScenarioError, match="no such scenario file"):
        S.load(tmp_path / "nope.toml")
    bad = tmp_path / "latin.toml"
    bad.write_bytes(b"name = '\xe9'\n")
    with pytest.raises(S.ScenarioError, match="not UTF-8"):
        S.load(bad)


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path):
    (tmp_path / "s.toml").write_text("[network]\nsource = 'files'\nedges = 'e.csv'\n")
    sc = S.load(tmp_path / "s.toml")
    assert sc.resolve(sc.network.edges) == tmp_path / "e.csv"


def test_population_keys_and_ranges_are_checked_when_loading():
    with pytest.raises(S.ScenarioError, match="population"):
        S.loads("[population]\nfemale_shar = 0.5\n")
    with pytest.raises(S.ScenarioError, match="female_share"):
        S.loads("[population]\nfemale_share = 1.5\n")
    assert S.loads("[population]\nfemale_share = 0.5\n").population == {"female_share": 0.5}


def test_a_synthetic_graph_seed_fixes_the_graph_whatever_the_run_seed():
    import numpy as np

    from s3core.sources import load_network

    text = "seed = {}\n[network]\nsource = 'synthetic'\nn_users = 500\ngraph_seed = 3\n"
    a = load_network(S.loads(text.format(1)), np.random.default_rng(1))
    b = load_network(S.loads(text.format(2)), np.random.default_rng(2))
    assert (a.follower_idx == b.follower_idx).all() and (a.follower_ptr == b.follower_ptr).all()
