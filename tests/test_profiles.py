"""Profiles files (``s3core.profiles``): format checks, alignment, the scenario key, and precedence in the engine."""

import numpy as np
import pandas as pd
import pytest

from s3core import scenario as S
from s3core.demographics import Provenance
from s3core.engine import Simulation
from s3core.profiles import ProfilesError, align, check_profiles, read_profiles, write_profiles
from s3core.types import Attitude, Gender, Occupation

BUNDLED = '[network]\nsource = "bundled"\n'


def test_values_are_normalised_to_words_and_blank_cells_are_unknown():
    table = check_profiles(
        pd.DataFrame(
            {
                "user_id": [" a ", "b", "c"],
                "age": ["20", "", "41.0"],
                "gender": ["F", "男", ""],
                "occupation": ["Engineer", "3", "student"],
                "attitude": ["positive", "0", None],
            }
        )
    )
    assert table["user_id"].tolist() == ["a", "b", "c"]
    assert table["age"].tolist()[0] == 20 and table["age"].isna().tolist() == [False, True, False]
    assert table["gender"].tolist()[:2] == ["female", "male"] and table["gender"].isna().iloc[2]
    assert table["occupation"].tolist() == ["engineer", "engineer", "unemployed_student"]
    assert table["attitude"].tolist()[:2] == ["positive", "negative"] and table["attitude"].isna().iloc[2]


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"id": ["a"]}), "no user_id column"),
        (pd.DataFrame({"user_id": ["a"], "height": [1]}), "unknown column 'height'"),
        (pd.DataFrame({"user_id": ["a", "a"]}), "column user_id expects a user id already listed above; row 2 ('a')"),
        (pd.DataFrame({"user_id": ["a", ""]}), "row 2"),
        (pd.DataFrame({"user_id": ["a", "b"], "age": ["30", "300"]}), "column age expects a whole number"),
        (pd.DataFrame({"user_id": ["a", "b"], "age": ["30", "x"]}), "row 2 ('x')"),
        (pd.DataFrame({"user_id": ["a"], "gender": ["other"]}), "column gender expects one of female, male; row 1"),
        (pd.DataFrame({"user_id": ["a"], "occupation": ["astronaut"]}), "column occupation expects one of"),
        (
            pd.DataFrame({"user_id": ["a"], "attitude": ["neutral"]}),
            "column attitude expects one of negative, positive",
        ),
    ],
)
def test_bad_tables_are_refused_naming_the_column_and_row(frame, message):
    with pytest.raises(ProfilesError, match="where") as info:
        check_profiles(frame, "where")
    assert message in str(info.value)


def test_many_bad_rows_are_counted_not_all_listed():
    frame = pd.DataFrame({"user_id": [str(i) for i in range(12)], "gender": ["x"] * 12})
    with pytest.raises(ProfilesError, match=r"row 5 .* and 7 more"):
        check_profiles(frame)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_written_file_reads_back_equal(tmp_path, suffix):
    table = check_profiles(
        pd.DataFrame({"user_id": ["1", "2"], "age": [30, None], "gender": ["m", None], "source": ["llm:x", "rules"]})
    )
    path = write_profiles(table, tmp_path / f"p{suffix}")
    back = read_profiles(path)
    pd.testing.assert_frame_equal(back, table)
    assert not list(tmp_path.glob("*.part"))


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(ProfilesError, match="junk.parquet: cannot be read"):
        read_profiles(junk)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_profiles(tmp_path / "nope.csv")


def test_align_counts_unmatched_rows_and_refuses_a_file_for_another_network():
    table = check_profiles(pd.DataFrame({"user_id": ["b", "zz"], "age": [33, 44], "gender": ["female", "male"]}))
    values = align(table, np.array(["a", "b", "c"]))
    assert values.matched == 1 and values.unmatched == 1
    assert np.isnan(values.age[[0, 2]]).all() and values.age[1] == 33 and values.gender[1] == Gender.FEMALE
    assert values.filled() == {"age": 1, "gender": 1, "occupation": 0, "attitude": 0}
    with pytest.raises(ProfilesError, match="none of its 2 user ids is in the network"):
        align(table, np.array(["x", "y"]))


def test_the_scenario_key_round_trips_and_is_checked():
    scenario = S.loads('[population]\nprofiles = "p.parquet"\nfemale_share = 0.5\n')
    assert scenario.profiles == "p.parquet" and scenario.population == {"female_share": 0.5}
    assert S.loads(S.dumps(scenario)) == scenario
    with pytest.raises(S.ScenarioError, match="population.profiles = 3: expected a file path"):
        S.loads("[population]\nprofiles = 3\n")


def test_profiles_win_over_rules_and_draws_but_not_over_given_columns(tmp_path):
    base = Simulation(S.loads(BUNDLED))
    ids = np.asarray(base.network.user_ids).astype(str)
    given = int(np.flatnonzero(base.population.provenance[:, 1] == Provenance.GIVEN)[0])
    drawn = np.flatnonzero((base.population.provenance == Provenance.DRAWN).all(axis=1))[:3]
    chosen = [*drawn, given]
    flipped = 1 - int(base.population.gender[given])
    table = pd.DataFrame(
        {
            "user_id": ids[chosen],
            "age": [71, 15, None, 30],
            "gender": ["female", "male", None, Gender(flipped).name.lower()],
            "occupation": ["media", None, None, "medical"],
            "attitude": ["positive", "negative", None, None],
        }
    )
    write_profiles(table, tmp_path / "profiles.csv")
    (tmp_path / "s.toml").write_text(BUNDLED + '[population]\nprofiles = "profiles.csv"\n')
    sim = Simulation(S.load(tmp_path / "s.toml"))  # the path is relative to the scenario file
    pop, a, b, c = sim.population, *drawn
    assert (pop.age[a], pop.gender[a], pop.occupation[a]) == (71, Gender.FEMALE, Occupation.MEDIA)
    assert pop.provenance[a].tolist() == [Provenance.PROFILED] * 3
    assert pop.age[b] == 15 and pop.gender[b] == Gender.MALE and pop.provenance[b, 2] == Provenance.DRAWN
    assert pop.provenance[c].tolist() == [Provenance.DRAWN] * 3 and pop.age[c] == base.population.age[c]
    assert pop.gender[given] == base.population.gender[given] != flipped, "a users file's own gender wins"
    assert pop.provenance[given, 1] == Provenance.GIVEN and pop.provenance[given, 2] == Provenance.PROFILED
    assert sim.state.attitude[a] == Attitude.POSITIVE and sim.state.attitude[b] == Attitude.NEGATIVE
    others = np.setdiff1d(np.arange(sim.network.n_users), chosen)
    assert np.array_equal(sim.state.attitude[others], base.state.attitude[others]), "every other draw is unchanged"
    assert np.array_equal(pop.age[others], base.population.age[others])


def test_a_missing_profiles_file_names_the_scenario_key(tmp_path):
    (tmp_path / "s.toml").write_text(BUNDLED + '[population]\nprofiles = "gone.parquet"\n')
    with pytest.raises(ProfilesError, match="population.profiles = 'gone.parquet': no such file"):
        Simulation(S.load(tmp_path / "s.toml"))
