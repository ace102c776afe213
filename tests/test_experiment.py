"""Experiments: paired arms give exact zeros when nothing differs, intervals bracket real effects,
bands narrow with seeds, resume reproduces an uninterrupted run, and spec errors name file and key."""

import dataclasses
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from s3core.cli import main
from s3core.experiment import effects as E
from s3core.experiment import runner, spec
from s3core.trace_lock import TraceExists

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "experiments"
SCENARIO = """
name = "tiny"
seed = 3
steps = 30
[network]
source = "synthetic"
n_users = 1500
mean_followees = 8.0
[[interventions]]
kind = "seed"
step = 0
name = "event"
text = "日本核电站辐射泄漏，大家注意！"
stance = "negative"
emotion = "intense"
[[interventions]]
kind = "boost"
step = 2
duration = 3
strength = 0.2
post = "event"
"""
PAIRED = """
[[arms]]
name = "baseline"
[[arms]]
name = "same"
[[arms]]
name = "readded"  # the boost removed and added back at the end of the schedule
remove = ["boost:event"]
add = [{ kind = "boost", step = 2, duration = 3, strength = 0.2, post = "event" }]
"""
REMOVAL = """
[[arms]]
name = "removed"
add = [{ kind = "moderation", step = 3, action = "remove", post = "event" }]
"""


def write(tmp_path: Path, arms: str, seeds: int = 3, steps: int = 12, extra: str = "", name: str = "exp.toml") -> Path:
    (tmp_path / "tiny.toml").write_text(SCENARIO, encoding="utf-8")
    path = tmp_path / name
    path.write_text(
        f'name = "t"\nscenario = "tiny.toml"\nseeds = {seeds}\nsteps = {steps}\n{extra}\n{arms}', encoding="utf-8"
    )
    return path


def run(path: Path, out: Path, text, **kw) -> dict:
    return runner.run_experiment(spec.load(path), out, text=text, progress=kw.pop("progress", None), **kw)


def tables(out: Path, *names: str):
    with duckdb.connect(str(out / runner.FILE_NAME), read_only=True) as con:
        return [con.execute(f"SELECT * FROM {n} ORDER BY ALL").df() for n in names]


def test_identical_arms_give_effects_of_exactly_zero_for_every_seed(tmp_path, text):
    report = run(write(tmp_path, PAIRED), tmp_path / "out", text)
    runs, curves = tables(tmp_path / "out", "runs", "curves")
    assert len(runs) == 9 and len(curves) == 9 * 12
    base = curves[curves.arm == "baseline"].drop(columns="arm").reset_index(drop=True)
    assert base["aware"].iloc[-1] > 0.05, "nothing spread: the test compares nothing"
    for arm in ("same", "readded"):
        other = curves[curves.arm == arm].drop(columns="arm").reset_index(drop=True)
        assert other.equals(base), f"{arm} differs from the baseline on some seed"
        for outcome, e in report["arms"][arm]["effects"].items():
            assert (e["mean"], e["ci_low"], e["ci_high"]) == (0.0, 0.0, 0.0), outcome
        for curve in report["arms"][arm]["effect_curves"].values():
            assert set(curve["mean"]) | set(curve["low"]) | set(curve["high"]) == {0.0}


def test_a_real_change_has_a_nonzero_effect_inside_its_interval(tmp_path, text):
    report = run(write(tmp_path, REMOVAL, seeds=5), tmp_path / "out", text)
    assert report["baseline"] == "baseline" and list(report["arms"]) == ["baseline", "removed"]
    reach = report["arms"]["removed"]["effects"]["final_reach"]
    assert reach["mean"] < 0 and reach["n"] == 5
    for e in report["arms"]["removed"]["effects"].values():
        assert e["ci_low"] <= e["mean"] <= e["ci_high"]
    curve = report["arms"]["removed"]["effect_curves"]["aware"]
    assert all(lo <= m <= hi for lo, m, hi in zip(curve["low"], curve["mean"], curve["high"]))
    with duckdb.connect(str(tmp_path / "out" / runner.FILE_NAME), read_only=True) as con:
        stored = con.execute(
            "SELECT mean, ci_low, ci_high FROM effects WHERE arm = 'removed' AND outcome = 'final_reach'"
        ).fetchone()
    assert stored == pytest.approx((reach["mean"], reach["ci_low"], reach["ci_high"]), abs=1e-6)


def test_band_width_shrinks_as_one_over_root_seeds(tmp_path, text):
    path = write(tmp_path, '[[arms]]\nname = "baseline"', seeds=16, steps=10)
    experiment = spec.load(path)
    run(path, tmp_path / "out", text)
    (curves,) = tables(tmp_path / "out", "curves")

    def width(seeds):
        bands = E.summarize(dataclasses.replace(experiment, seeds=seeds), curves)["arms"]["baseline"]["curves"]
        return np.mean([np.subtract(b["high"], b["low"]).mean() for b in bands.values()])

    four = np.mean([width(experiment.seeds[i : i + 4]) for i in range(0, 16, 4)])
    ratio = width(experiment.seeds) / four
    assert 0.3 < ratio < 0.8, ratio  # 1/sqrt(4) = 0.5


def test_resume_after_a_partial_experiment_gives_the_uninterrupted_result(tmp_path, text):
    whole = run(write(tmp_path, REMOVAL, seeds=4), tmp_path / "whole", text)
    run(write(tmp_path, REMOVAL, seeds=2, name="short.toml"), tmp_path / "part", text)
    with duckdb.connect(str(tmp_path / "part" / runner.FILE_NAME)) as con:  # a seed killed half-way
        con.execute("DELETE FROM runs WHERE arm = 'removed' AND seed = 4")
        con.execute("DELETE FROM curves WHERE arm = 'removed' AND seed = 4")
        con.execute("DELETE FROM group_curves WHERE arm = 'removed' AND seed = 4")
    calls = []
    resumed = run(
        write(tmp_path, REMOVAL, seeds=4),
        tmp_path / "part",
        text,
        resume=True,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[0] == (3, 8) and calls[-1] == (8, 8)
    assert json.dumps(resumed) == json.dumps(whole)


def test_an_existing_file_is_kept_unless_resumed_or_forced(tmp_path, text):
    path = write(tmp_path, REMOVAL, seeds=1, steps=5)
    run(path, tmp_path / "out", text)
    with pytest.raises(TraceExists, match="--resume"):
        run(path, tmp_path / "out", text)
    replaced = []
    report = run(path, tmp_path / "out", text, force=True, on_replace=replaced.append)
    assert "2 runs" in replaced[0] and report["seeds"] == 1 and "fewer than 2 seeds" in report["bands"]
    other = write(tmp_path, PAIRED, seeds=1, steps=5, name="other.toml")
    with pytest.raises(
        runner.ExperimentResumeError,
        match=r"different experiment \(arm 'readded' is new; arm 'same' "
        r"is new; arm 'removed' is gone\)",
    ):
        run(other, tmp_path / "out", text, resume=True)
    longer = write(tmp_path, REMOVAL, seeds=1, steps=6, name="longer.toml")
    with pytest.raises(runner.ExperimentResumeError, match=r"\(steps 5 then, 6 now; arm 'baseline' changed"):
        run(longer, tmp_path / "out", text, resume=True)
    with pytest.raises(ValueError, match=r"--out .*experiment\.duckdb names a file; --out is the folder that holds"):
        run(path, tmp_path / "out" / runner.FILE_NAME, text)


def test_two_workers_give_the_same_numbers_as_one(tmp_path, text):
    path = write(tmp_path, REMOVAL, seeds=3, steps=8)
    one = run(path, tmp_path / "one", text)
    two = runner.run_experiment(spec.load(path), tmp_path / "two", workers=2, progress=None)
    assert json.dumps(one) == json.dumps(two)


def test_cli_prints_one_json_object_and_a_table(tmp_path, capsys):
    path = write(tmp_path, REMOVAL, seeds=2, steps=6)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert {"experiment", "seeds", "arms"} <= set(report)
    arm = report["arms"]["removed"]
    assert set(arm["curves"]) == {"aware", "emotion_density", "positive"}
    assert set(arm["effects"]["final_reach"]) >= {"mean", "ci_low", "ci_high"}
    assert "experiment: runs 4/4" in captured.err
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--resume", "--quiet"]) == 0
    assert "final_reach" in capsys.readouterr().out
    assert main(["experiment", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "--force" in err


@pytest.mark.parametrize(
    "body, key",
    [
        ('seeds = 0\n[[arms]]\nname = "a"', "seeds = 0"),
        ('seeds = "many"\n[[arms]]\nname = "a"', "seeds = 'many'"),
        ("seeds = 2\nbogus = 1", "unknown top-level key 'bogus'"),
        ('seeds = 2\noutcomes = ["reach"]', "outcomes[0] = 'reach'"),
        ('seeds = 2\n[[arms]]\nname = "a"\nremove = ["nope"]', "arms[0].remove[0] = 'nope'"),
        ('seeds = 2\n[[arms]]\nname = "a"\n[[arms]]\nname = "a"', "arms[1].name = 'a'"),
        ('seeds = 2\n[[arms]]\nname = "a"\ncolour = 1', "arms[0]: unknown key 'colour'"),
        ('seeds = 2\n[[arms]]\nname = "a"\n[arms.policy]\nexposure = "high"', "arms[0].policy.exposure"),
        ('seeds = 2\n[[arms]]\nname = "a"\n[arms.platform]\nwhatever = 1', "arms[0].platform] unknown key 'whatever'"),
        (
            'seeds = 2\nsteps = 5\n[[arms]]\nname = "a"\nadd = [{ kind = "seed", step = 9, text = "x" }]',
            "arms[0].add[0].step = 9",
        ),
        (
            'seeds = 2\n[[arms]]\nname = "a"\nremove = ["event"]\nadd = [{ kind = "boost", step = 2, post = "event" }]',
            "arms[0] ('a')",
        ),
    ],
)
def test_spec_errors_name_the_file_and_the_key(tmp_path, body, key):
    (tmp_path / "tiny.toml").write_text(SCENARIO, encoding="utf-8")
    path = tmp_path / "bad.toml"
    path.write_text(f'scenario = "tiny.toml"\n{body}', encoding="utf-8")
    with pytest.raises(spec.ExperimentError) as err:
        spec.load(path)
    assert str(err.value).startswith(f"{path}: ") and key in str(err.value), str(err.value)


def test_a_lone_arm_gets_an_implicit_baseline_and_parameter_changes_apply(tmp_path):
    experiment = spec.load(write(tmp_path, '[[arms]]\nname = "eager"\n[arms.policy]\nexposure = 1.5', seeds=2))
    assert [a.name for a in experiment.arms] == ["baseline", "eager"]
    assert experiment.arms[1].scenario.policy.exposure == 1.5
    assert experiment.arms[0].scenario.policy == experiment.arms[1].scenario.policy.__class__()
    assert experiment.seeds == (3, 4) and experiment.steps == 12


@pytest.mark.parametrize("name", ["factcheck", "boost", "moderation"])
def test_shipped_examples_load(name):
    experiment = spec.load(EXAMPLES / f"{name}.toml")
    assert experiment.name == name and len(experiment.arms) == 2 and not experiment.notes
    base, arm = (a.scenario.interventions for a in experiment.arms)
    assert base != arm, "the arms do not differ"
    kinds = {i.kind for i in set(arm) ^ set(base)}
    assert kinds == {"factcheck": {"seed"}, "boost": {"boost"}, "moderation": {"moderation"}}[name]
