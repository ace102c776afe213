"""Experiment arms beyond add/remove: branches from the baseline's snapshot, classical diffusion
models on the same graph and seeds, and effects by demographic group and user category."""

import dataclasses

import duckdb
import numpy as np
import pytest
from test_experiment import REMOVAL, run, tables, write

from s3core.classical import IndependentCascadePolicy, classical_scenario
from s3core.engine import Simulation
from s3core.experiment import runner, spec

BASELINE = '[[arms]]\nname = "baseline"\n'
LATE_REMOVAL = (
    BASELINE
    + """
[[arms]]
name = "removed"
add = [{ kind = "moderation", step = 5, action = "remove", post = "event" }]
[[arms]]
name = "removed_branch"
from_step = 5
add = [{ kind = "moderation", step = 5, action = "remove", post = "event" }]
[[arms]]
name = "unchanged_branch"
from_step = 4
"""
)


def test_a_branch_replays_the_baseline_before_its_step_and_matches_the_same_change_run_whole(tmp_path, text):
    report = run(write(tmp_path, LATE_REMOVAL, seeds=3, steps=10), tmp_path / "out", text)
    (curves,) = tables(tmp_path / "out", "curves")
    arm = {name: g.drop(columns="arm").reset_index(drop=True) for name, g in curves.groupby("arm")}
    assert arm["removed"].equals(arm["removed_branch"]), "a branch with the same change differs from the whole run"
    assert arm["unchanged_branch"].equals(arm["baseline"])
    assert not arm["removed"].equals(arm["baseline"]), "the removal changed nothing: the test compares nothing"
    for outcome, e in report["arms"]["unchanged_branch"]["effects"].items():
        assert (e["mean"], e["ci_low"], e["ci_high"]) == (0.0, 0.0, 0.0), outcome
    assert report["arms"]["removed_branch"]["from_step"] == 5
    assert any("'unchanged_branch' runs exactly the baseline" in n for n in report["notes"])


def test_resume_reruns_the_baseline_for_a_branch_whose_baseline_run_is_already_stored(tmp_path, text):
    whole = run(write(tmp_path, LATE_REMOVAL, seeds=2, steps=10), tmp_path / "whole", text)
    path = write(tmp_path, LATE_REMOVAL, seeds=2, steps=10, name="again.toml")
    run(path, tmp_path / "part", text)
    with duckdb.connect(str(tmp_path / "part" / runner.FILE_NAME)) as con:
        for table in ("runs", "curves", "group_curves"):
            con.execute(f"DELETE FROM {table} WHERE arm = 'removed_branch' AND seed = 4")
    resumed = run(path, tmp_path / "part", text, resume=True)
    assert resumed["arms"] == whole["arms"]
    (runs,) = tables(tmp_path / "part", "runs")
    assert len(runs) == 8, "the baseline rerun for the branch was stored twice or the branch is missing"


def test_a_classical_model_arm_runs_the_policy_on_the_same_network_and_seed(tmp_path, text):
    arms = BASELINE + REMOVAL + '[[arms]]\nname = "ic"\nmodel = { kind = "independent_cascade", p = 0.2 }\n'
    report = run(write(tmp_path, arms, seeds=2, steps=8), tmp_path / "out", text)
    assert report["arms"]["ic"]["model"] == "independent_cascade"
    ic_effects = report["arms"]["ic"]["effects"]
    assert ic_effects["final_reach"]["mean"] is not None
    assert all(ic_effects[o]["mean"] is None for o in ("peak_emotion", "trough_positive", "final_positive"))
    assert any("'ic' runs independent cascade, which models reach only" in n for n in report["notes"])
    assert any("only 2 seeds" in n for n in report["notes"])
    experiment = spec.load(tmp_path / "exp.toml")
    ic = next(a for a in experiment.arms if a.name == "ic")
    assert ic.scenario.platform == classical_scenario(experiment.baseline.scenario).platform
    direct = Simulation(ic.scenario.replace(seed=3), text=text, policy=IndependentCascadePolicy(0.2))
    aware = [r.metrics["aware"] / direct.network.n_users for r in direct.run(8)]
    (curves,) = tables(tmp_path / "out", "curves")
    stored = curves[(curves.arm == "ic") & (curves.seed == 3)].sort_values("step")["aware"].to_numpy()
    np.testing.assert_array_equal(stored, aware)
    assert stored[-1] > 0


def test_effects_by_group_are_zero_for_an_identical_arm_and_cover_every_dimension(tmp_path, text):
    arms = BASELINE + REMOVAL + '[[arms]]\nname = "same"\n'
    report = run(write(tmp_path, arms, seeds=3, steps=8), tmp_path / "out", text)
    same = report["arms"]["same"]["effects_by_group"]
    assert {row["dimension"] for row in same} == {"category", "gender", "occupation", "age_bracket"}
    assert all((row["mean"], row["ci_low"], row["ci_high"]) in {(0.0, 0.0, 0.0), (None, None, None)} for row in same)
    assert any("'same' runs exactly the baseline" in n for n in report["notes"])
    removed = [r for r in report["arms"]["removed"]["effects_by_group"] if r["outcome"] == "final_reach"]
    assert sum(r["mean"] < 0 for r in removed) > len(removed) // 2, "the removal lowered reach in few groups"
    assert all(r["ci_low"] <= r["mean"] <= r["ci_high"] for r in removed if r["mean"] is not None)
    (stored,) = tables(tmp_path / "out", "group_effects")
    assert len(stored) == len(same) + len(report["arms"]["removed"]["effects_by_group"])
    assert report["arms"]["baseline"]["effects_by_group"] == []


@pytest.mark.parametrize(
    "arms, message",
    [
        (
            '[[arms]]\nname = "b"\nfrom_step = 6\nadd = [{ kind = "moderation", step = 3, action = "remove", post = "event" }]',
            r"arms\[0\]\.from_step = 6: .* before step 6 .* the baseline's \('baseline'\); it has moderation \(remove\) of 'event' \(step 3\), which the baseline has not",
        ),
        (
            '[[arms]]\nname = "b"\nfrom_step = 3\nremove = ["boost:event"]',
            r"arms\[0\]\.from_step = 3: .* the baseline has boost of 'event' \(step 2\), which it has not",
        ),
        ('[[arms]]\nname = "b"\nfrom_step = 12', r"arms\[0\]\.from_step = 12: expected a whole number in \[1, 11\]"),
        (
            '[[arms]]\nname = "baseline"\nfrom_step = 2\n[[arms]]\nname = "x"',
            r"is the baseline, .* cannot have from_step",
        ),
        (
            '[[arms]]\nname = "b"\nmodel = "sir"',
            r"arms\[0\]\.model = 'sir': expected one of agents, independent_cascade",
        ),
        ('[[arms]]\nname = "b"\nmodel = { kind = "linear_threshold", p = 0.1 }', r"only independent_cascade takes p"),
        (
            '[[arms]]\nname = "b"\nmodel = { kind = "independent_cascade", p = 2 }',
            r"model\.p = 2: expected a chance in \[0, 1\]",
        ),
        (
            '[[arms]]\nname = "b"\nadd = [{ kind = "boost", step = 2, post = "nopost" }]',
            r"arms\[0\] \('b'\): arms\[0\]\.add\[0\]\.post = 'nopost': no seed post has that name",
        ),
        (
            '[[arms]]\nname = "b"\n[arms.platform]\nattention = 3.0',
            r"arms\[0\]\.platform\.attention = 3\.0: must lie in",
        ),
    ],
)
def test_bad_branches_and_models_are_refused_naming_file_and_key(tmp_path, arms, message):
    with pytest.raises(spec.ExperimentError, match=r"exp\.toml: .*" + message):
        spec.load(write(tmp_path, arms))


def test_peaks_and_troughs_are_looked_for_from_outcomes_from_step_on():
    from s3core.experiment import effects as E

    minutes = np.arange(1, 9) * 10.0
    aware = np.full(8, 0.5)
    density = np.array([0.9, 0.5, 0.4, 0.3, 0.6, 0.4, 0.3, 0.2])  # the highest at the start, a later peak at step 4
    positive = np.array([0.1, 0.5, 0.6, 0.7, 0.4, 0.5, 0.6, 0.6])
    whole, late = E.outcomes(minutes, aware, density, positive), E.outcomes(minutes, aware, density, positive, 3)
    assert (whole["peak_emotion"], whole["peak_emotion_minutes"], whole["trough_minutes"]) == (0.9, 10.0, 10.0)
    assert (late["peak_emotion"], late["peak_emotion_minutes"]) == (0.6, 50.0)
    assert (late["trough_positive"], late["trough_minutes"]) == (0.4, 50.0)
    assert late["final_reach"] == whole["final_reach"] == 0.5


def test_outcomes_from_step_must_lie_inside_the_run(tmp_path):
    with pytest.raises(
        spec.ExperimentError, match=r"exp\.toml: outcomes_from_step = 12: expected a whole number in \[0, 11\]"
    ):
        spec.load(write(tmp_path, "", extra="outcomes_from_step = 12"))
    assert spec.load(write(tmp_path, "", extra="outcomes_from_step = 5")).outcomes_from_step == 5


def test_a_worker_builds_a_seed_independent_network_once_for_all_its_seeds(tmp_path, text, monkeypatch):
    from s3core.experiment import seed_runs

    drawn = spec.load(write(tmp_path, BASELINE + REMOVAL, seeds=2, steps=4)).arms  # graph drawn from each seed
    fixed = tuple(
        dataclasses.replace(
            a, scenario=a.scenario.replace(network=dataclasses.replace(a.scenario.network, graph_seed=5))
        )
        for a in drawn
    )
    built = []
    real = seed_runs.Simulation

    def counting(scenario, network=None, **kw):
        built.append(network is None)
        return real(scenario, network=network, **kw)

    monkeypatch.setattr(seed_runs, "Simulation", counting)
    monkeypatch.setattr(seed_runs, "_NETWORKS", {})
    first, second = seed_runs.run_seed(fixed, 3, text), seed_runs.run_seed(fixed, 4, text)
    assert built == [True, False, False, False], "the network was rebuilt for a later seed"
    assert first[0].agents == second[0].agents
    built.clear()
    seed_runs.run_seed(drawn, 3, text)
    seed_runs.run_seed(drawn, 4, text)
    assert built == [True, False, True, False], "a seed-drawn graph was reused for another seed"


def test_removing_an_intervention_index_the_scenario_does_not_have_says_how_many_it_has(tmp_path):
    with pytest.raises(
        spec.ExperimentError,
        match=r"arms\[0\]\.remove\[0\] = 'interventions\[9\]': the scenario has 2 "
        r"interventions, interventions\[0\] to interventions\[1\]$",
    ):
        spec.load(write(tmp_path, '[[arms]]\nname = "b"\nremove = ["interventions[9]"]'))
