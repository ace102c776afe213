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
    sc = S.Scenario(
        seed=3,
        interventions=(
            SeedPost(step=0, text="x", name="a", stance=Attitude.POSITIVE, emotion=Emotion.INTENSE),
            Boost(
                step=1,
                duration=3,
                strength=0.2,
                post="a",
                audience=Audience(kind="category", category=UserCategory.INFLUENTIAL),
            ),
            Boost(step=2, stance=Attitude.NEGATIVE, audience=Audience(kind="group", age_min=18, age_max=30)),
            Moderation(step=4, action="remove", post="a"),
            Moderation(step=5, action="downrank", stance=Attitude.NEGATIVE, strength=0.5),
        ),
    )
    assert S.loads(S.dumps(sc)) == sc


@pytest.mark.parametrize(
    "text, fragment",
    [
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
    ],
)
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


# ---------------------------------------------------------------- values accepted and then ignored or failing late


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("seed = -1\n", "seed = -1: must lie in [0,"),
        ("steps = 200000\n", "steps = 200000"),
        ("[network]\nsource = 'synthetic'\nreciprocity = 1.5\n", "network.reciprocity = 1.5"),
        ("[network]\nsource = 'synthetic'\nn_users = 1\n", "network.n_users = 1"),
        ("[network]\nsource = 'synthetic'\ngraph_seed = -2\n", "network.graph_seed = -2"),
        ("[network]\nsource = 'cascades'\ndataset_dir = 'd'\nmax_edges = -1\n", "network.max_edges = -1"),
        ("[network]\nsource = 'graph'\n", "network.graph"),
        ("[network]\nsource = 'files'\nedges = 'e.csv'\ngraph = 'g.gexf'\n", "network.graph = 'g.gexf' is not used"),
        ("name = 3\n", "name = 3"),
        ("steps = 3\n[[interventions]]\nkind = 'seed'\nstep = 1.5\ntext = 'x'\n", "interventions[0].step = 1.5"),
        ("steps = 3\n[[interventions]]\nkind = 'boost'\nstep = 0\npost = 'nope'\n", "interventions[0].post = 'nope'"),
        ("steps = 3\n[[interventions]]\nkind = 'boost'\nstep = 0\npost = -4\n", "interventions[0].post = -4"),
        (
            "steps = 3\n[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'x'\nauthor = ''\n",
            "interventions[0].author is empty",
        ),
        (
            "steps = 3\n[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'x'\nauthor = '1.2E+17'\n",
            "scientific notation",
        ),
        (
            "steps = 3\n[[interventions]]\nkind = 'boost'\nstep = 0\nstance = 'negative'\n[interventions.audience]\nkind = 'category'\n",
            "interventions[0].audience.category is missing",
        ),
    ],
)
def test_values_that_would_be_ignored_or_fail_late_are_refused_naming_the_key(text, fragment):
    with pytest.raises(S.ScenarioError) as err:
        S.loads(text, origin="bad.toml")
    assert fragment in str(err.value) and str(err.value).startswith("bad.toml: ")


def test_scenarios_built_in_code_get_the_same_checks():
    with pytest.raises(S.ScenarioError, match="seed = -1"):
        S.Scenario(seed=-1)
    with pytest.raises(S.ScenarioError, match=r"interventions\[0\].step = -1"):
        S.Scenario(interventions=(SeedPost(step=-1, text="x"),))
    twice = (SeedPost(step=0, text="x", name="a"), SeedPost(step=3, text="y", name="a"))
    with pytest.raises(S.ScenarioError, match=r"interventions\[1\].name = 'a': already the name of interventions\[0\]"):
        S.Scenario(interventions=twice)
    with pytest.raises(S.ScenarioError, match="network.reciprocity"):
        S.NetworkSpec(source="synthetic", reciprocity=1.5)


def test_author_written_as_a_number_names_that_user():
    sc = S.loads(
        "steps = 3\n[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'x'\nauthor = 1002\n"
        "[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'y'\nauthor = '1002.0'\n"
    )
    assert [iv.author for iv in sc.interventions] == ["1002", "1002"]


def test_unknown_author_is_refused_when_the_network_loads_naming_file_and_key(tmp_path):
    import numpy as np

    from s3core.sources import load_network

    (tmp_path / "e.csv").write_text("follower,followee\na,b\n")
    (tmp_path / "s.toml").write_text(
        "steps = 2\n[network]\nsource = 'files'\nedges = 'e.csv'\n"
        "[[interventions]]\nkind = 'seed'\nstep = 0\ntext = 'x'\nauthor = 'c'\n"
    )
    with pytest.raises(S.ScenarioError) as err:
        load_network(S.load(tmp_path / "s.toml"), np.random.default_rng(0))
    assert str(err.value).startswith(str(tmp_path / "s.toml")) and "interventions[0].author = 'c'" in str(err.value)


def test_saved_scenarios_leave_out_keys_their_kind_does_not_read():
    sc = S.Scenario(
        network=S.NetworkSpec(source="files", edges="e.csv"),
        interventions=(
            SeedPost(step=0, text="x", name="a"),
            Moderation(step=1, action="label", post="a", strength=0.7),
            Boost(step=1, post="a", audience=Audience(kind="fraction", fraction=0.5, age_min=30)),
        ),
    )
    data = S.to_dict(sc)
    assert "n_users" not in data["network"] and data["network"]["edges"] == "e.csv"
    assert "strength" not in data["interventions"][1]
    assert data["interventions"][2]["audience"] == {"kind": "fraction", "fraction": 0.5}
    again = S.loads(S.dumps(sc))
    assert again.interventions[2].audience.fraction == 0.5 and again.network.edges == "e.csv"


def test_a_scenario_takes_a_parameter_file_under_its_own_values(tmp_path):
    import json

    (tmp_path / "fit.json").write_text(
        json.dumps(
            {
                "minutes_per_step": 10.0,
                "platform": {"attention": 0.2, "feed_delay_median": 90.0},
                "policy": {"base_repost": -5.0},
                "network": {"mean_followees": 4.0},
                "calibration": {"trials": 3},
            }
        )
    )
    text = (
        'params = "fit.json"\nsteps = 5\n[policy]\nbase_repost = -4.0\n[network]\nsource = "synthetic"\nn_users = 500\n'
    )
    scenario = S.loads(text, base_dir=str(tmp_path))
    assert scenario.minutes_per_step == 10.0 and scenario.platform.attention == 0.2
    assert scenario.platform.feed_delay_median == 90.0 and scenario.policy.base_repost == -4.0
    assert scenario.network.mean_followees == 4.0 and scenario.network.n_users == 500
    assert S.loads(S.dumps(scenario)) == scenario.replace(base_dir="")
    bundled = S.loads('params = "fit.json"\n', base_dir=str(tmp_path))
    assert bundled.network.source == "bundled" and bundled.platform.attention == 0.2


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("{not json", "not a JSON parameter file"),
        ('{"colour": {}}', "unknown group 'colour'"),
        ('{"platform": {"attention": 7}}', "attention"),
    ],
)
def test_bad_parameter_files_are_named(tmp_path, content, message):
    if content is not None:
        (tmp_path / "fit.json").write_text(content)
    with pytest.raises(S.ScenarioError, match=message):
        S.loads('params = "fit.json"\n', base_dir=str(tmp_path))


def test_an_unknown_network_source_is_named_before_the_keys_it_would_not_read():
    with pytest.raises(
        S.ScenarioError, match=r"network\.source = 'dataset': must be one of bundled, synthetic, files, graph, cascades"
    ):
        S.loads('[network]\nsource = "dataset"\ndataset_dir = "x"')


def test_an_intervention_after_the_last_step_loads_and_is_named_so_downloads_load_again():
    text = "steps = 5\n[[interventions]]\nkind = 'seed'\nstep = 9\ntext = 'late'\nname = 'late'\n"
    scenario = S.loads(text, origin="late.toml")
    assert scenario.interventions[0].step == 9
    assert S.after_last_step(scenario) == ["interventions[0] (seed at step 9)"]
    assert S.loads(S.dumps(scenario), origin="again.toml") == scenario
    assert S.after_last_step(scenario.replace(steps=10)) == []
