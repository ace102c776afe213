"""validate: metrics on hand-made cascades, the blind simulated side, malformed folders."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from s3core.validation import metrics as M
from s3core.validation.calibrate import _default, start_values
from s3core.validation.datasets import DatasetError, load_dataset
from s3core.validation.simulate import ParamsError, setup_from_params
from s3core.validation.trees import build_trees
from s3core.validation.validate import validate

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
needs_data = pytest.mark.skipif(not (DATASETS / "twitter15").exists(), reason="shared datasets not found")


def _tree(rows, root="r", text=""):
    """rows: (user, parent, t_min[, comment])."""
    events = pd.DataFrame(
        [(*r[:3], r[3] if len(r) > 3 else "") for r in rows], columns=["user_id", "parent_user_id", "t_min", "text"]
    )
    events.insert(0, "cascade_id", "c")
    events["quote"] = events["text"] != ""
    sources = pd.DataFrame({"cascade_id": ["c"], "user_id": [root], "text": [text]})
    return build_trees(events, sources)["c"]


def test_tree_depths_follow_parent_links_and_repeats_keep_the_first_repost():
    tree = _tree([("a", "r", 1.0), ("b", "a", 3.0), ("c", "r", 2.0), ("d", "c", 5.0), ("a", "d", 9.0), ("r", "a", 4.0)])
    assert len(tree) == 4, "the root author and a's second repost are not participants"
    depth = dict(zip(tree.t_min.tolist(), tree.depth.tolist()))
    assert depth == {1.0: 1, 2.0: 1, 3.0: 2, 5.0: 2}


def test_orphans_attach_to_the_root_and_cycles_are_cut():
    tree = _tree([("a", "ghost", 1.0), ("b", "c", 2.0), ("c", "b", 3.0)])
    assert (tree.depth == 1).all() and (tree.parent == -1).all()
    assert tree.orphans == 3


def test_curves_on_a_hand_made_cascade():
    tree = _tree([("a", "r", 1.0), ("b", "a", 3.0), ("c", "r", 2.0), ("d", "c", 5.0)])
    c = M.curves(tree, minutes=6)
    np.testing.assert_array_equal(c["scale"], [1, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(c["depth"], [1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(c["max_breadth"], [1, 2, 2, 2, 2, 2])
    early = tree.within(2.5)
    assert len(early) == 2 and (early.depth == 1).all()


def test_nrmse_divides_by_the_real_maximum():
    assert M.nrmse(np.array([0.0, 0.0]), np.array([1.0, 2.0])) == pytest.approx(np.sqrt(2.5) / 2)
    assert M.nrmse(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert np.isnan(M.nrmse(np.array([1.0]), np.array([0.0])))


def test_structural_virality_known_answers():
    star = _tree([("a", "r", 1.0), ("b", "r", 1.0), ("c", "r", 1.0)])
    assert M.structural_virality(star) == pytest.approx(1.5)  # 3 root-leaf pairs at 1, 3 leaf pairs at 2
    chain = _tree([("a", "r", 1.0), ("b", "a", 2.0)])
    assert M.structural_virality(chain) == pytest.approx(4 / 3)
    long_chain = _tree([(f"u{i}", f"u{i - 1}" if i else "r", float(i)) for i in range(9)])
    n = 10  # path of n nodes: mean distance (n + 1) / 3
    assert M.structural_virality(long_chain) == pytest.approx((n + 1) / 3)


def test_ks_and_shares():
    assert M.ks_distance(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert M.ks_distance(np.array([1.0, 2.0]), np.array([5.0, 6.0])) == 1.0
    tree = _tree([("a", "r", 1.0, "好"), ("b", "a", 3.0), ("c", "r", 2.0), ("d", "c", 70.0, "啊")])
    assert M.depth_shares([tree]) == {"depth1_share": 0.5, "branching_ratio": 0.5}
    q = M.quote_shares([tree])
    assert q["overall"] == 0.5 and q["depth1"] == 0.5 and q["depth2"] == 0.5
    timing = M.timing([tree])
    assert timing["first_hour_share"] == 0.75 and timing["median_minutes_to_half_reach"] == 2.0
    hourly = np.array([100.0 / h for h in range(1, 25)])
    assert M.activity_slope(hourly) == pytest.approx(-1.0)


def _write(folder: Path, **tables: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


SOURCES = pd.DataFrame({"cascade_id": ["c1"], "user_id": ["u0"], "text": ["hello"]})
EDGES = pd.DataFrame({"cascade_id": ["c1"], "parent_user_id": ["u0"], "user_id": ["u1"], "t_min": [3.0]})


@pytest.mark.parametrize(
    "tables, message",
    [
        ({"sources": SOURCES}, "needs reposts.parquet or edges.parquet"),
        ({"edges": EDGES}, "no sources.parquet"),
        ({"sources": SOURCES.drop(columns="text"), "edges": EDGES}, "sources.parquet: missing column(s) text"),
        ({"sources": SOURCES, "edges": EDGES.assign(t_min=["soon"])}, "edges.parquet: column t_min must be numeric"),
        ({"sources": SOURCES, "edges": EDGES.assign(t_min=[np.nan])}, "edges.parquet: column t_min is empty in row 0"),
        ({"sources": SOURCES, "edges": EDGES.assign(cascade_id=["zz"])}, "no cascade_id matches sources.parquet"),
        ({"sources": pd.concat([SOURCES, SOURCES]), "edges": EDGES}, "cascade_id 'c1' appears more than once"),
        (
            {
                "posts": pd.DataFrame(
                    {
                        "thread_id": ["t"],
                        "post_id": ["p"],
                        "parent_id": [None],
                        "time_utc": pd.to_datetime(["2020-01-01"], utc=True),
                        "text": ["x"],
                        "stance": ["agree"],
                    }
                )
            },
            "column stance holds 'agree'",
        ),
    ],
)
def test_malformed_folders_name_the_table_and_column(tmp_path, tables, message):
    folder = _write(tmp_path / "d", **tables)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_dataset(folder)


def test_damaged_table_and_missing_folder(tmp_path):
    folder = _write(tmp_path / "d", sources=SOURCES)
    (folder / "edges.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match="edges.parquet: not a readable Parquet table"):
        load_dataset(folder)
    with pytest.raises(DatasetError, match="no such dataset folder"):
        load_dataset(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"colour": {}}, "unknown parameter group"),
        ({"network": {"density": 3}}, "network.density"),
        ({"network": {"reciprocity": 1.5}}, "reciprocity"),
        ({"policy": {"base_repost": 99}}, "base_repost"),
        ({"minutes_per_step": 0}, "minutes_per_step"),
    ],
)
def test_bad_parameters_name_the_key(params, message):
    with pytest.raises(ParamsError, match=message):
        setup_from_params(params, 0)


def test_cli_reports_a_malformed_folder_in_one_line(tmp_path):
    folder = _write(tmp_path / "d", sources=SOURCES.drop(columns="user_id"), edges=EDGES)
    out = subprocess.run(
        [sys.executable, "-m", "s3core", "validate", "--dataset", str(folder), "--out", str(tmp_path / "v.duckdb")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "missing column(s) user_id" in out.stderr


SMALL = {"network": {"n_users": 1500}, "minutes_per_step": 30}


def _twitter_subset(folder: Path, cascades: int = 14) -> Path:
    sources = pd.read_parquet(DATASETS / "twitter15" / "sources.parquet")
    edges = pd.read_parquet(DATASETS / "twitter15" / "edges.parquet")
    sizes = edges.groupby("cascade_id").size()
    keep = sources[sources["cascade_id"].isin(sizes[sizes < 300].index)].head(cascades)
    return _write(folder, sources=keep, edges=edges[edges["cascade_id"].isin(keep["cascade_id"])])


def _shuffled(folder: Path, target: Path, seed: int = 1) -> Path:
    """Within each cascade, permute the parent links and the times (within and beyond the window)."""
    rng = np.random.default_rng(seed)
    edges = pd.read_parquet(folder / "edges.parquet")
    for _, rows in edges.groupby("cascade_id").groups.items():
        rows = np.asarray(rows)
        edges.loc[rows, "parent_user_id"] = edges.loc[rng.permutation(rows), "parent_user_id"].to_numpy()
        for group in (
            rows[edges.loc[rows, "t_min"].to_numpy() <= M.WINDOW_MINUTES],
            rows[edges.loc[rows, "t_min"].to_numpy() > M.WINDOW_MINUTES],
        ):
            edges.loc[group, "t_min"] = edges.loc[rng.permutation(group), "t_min"].to_numpy()
    return _write(target, sources=pd.read_parquet(folder / "sources.parquet"), edges=edges)


def _simulated_side(result: dict) -> dict:
    return {
        "curves": {cid: c["simulated"] for cid, c in result["curves"].items()},
        "reach": [
            (r["cascade_id"], r["n_users"], r["simulated_reach"], r["free_run_size"]) for r in result["per_cascade"]
        ],
        "stylized": {k: v["simulated"] for k, v in result["stylized"].items() if "simulated" in v},
    }


@needs_data
@pytest.mark.slow
def test_the_simulated_side_never_reads_the_evaluated_edges_or_timings(tmp_path):
    original = _twitter_subset(tmp_path / "original")
    shuffled = _shuffled(original, tmp_path / "shuffled")
    setup = setup_from_params(SMALL, 3)
    a = validate(original, setup, limit=4, progress=False, individual=False)
    b = validate(shuffled, setup, limit=4, progress=False, individual=False)
    assert a["cascades"] == 4
    assert json.dumps(_simulated_side(a), sort_keys=True) == json.dumps(_simulated_side(b), sort_keys=True)
    real_a = {cid: c["real"] for cid, c in a["curves"].items()}
    real_b = {cid: c["real"] for cid, c in b["curves"].items()}
    assert real_a != real_b, "the shuffle changed nothing: the test compares nothing"
    assert {k: v["real"] for k, v in a["stylized"].items() if "real" in v} != {
        k: v["real"] for k, v in b["stylized"].items() if "real" in v
    }


@needs_data
@pytest.mark.slow
def test_cli_validate_prints_the_json_and_writes_duckdb(tmp_path):
    import duckdb

    folder = _twitter_subset(tmp_path / "d", cascades=8)
    params = tmp_path / "p.json"
    params.write_text(json.dumps(SMALL))
    out = tmp_path / "v.duckdb"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3core",
            "validate",
            "--dataset",
            str(folder),
            "--params",
            str(params),
            "--limit",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    for key in ("nrmse", "baseline_nrmse", "mean_curve_nrmse"):
        assert set(result[key]) == {"scale", "depth", "max_breadth"}
        assert all(v is None or v >= 0 for v in result[key].values())
    assert result["cascades"] == 2 and len(result["per_cascade"]) == 2
    assert {"branching_ratio", "cascade_size", "first_hour_share"} <= set(result["stylized"])
    assert "validate: cascades 2/2" in run.stderr
    with duckdb.connect(str(out), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM cascades").fetchone()[0] == 6
        assert con.execute("SELECT count(DISTINCT model) FROM curves").fetchone()[0] == 4
    again = subprocess.run(
        [sys.executable, "-m", "s3core", "validate", "--dataset", str(folder), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_size_conditioned_ks_compares_like_sized_cascades_only():
    chain = _tree([(f"u{i}", f"u{i - 1}" if i else "r", float(i)) for i in range(5)])
    star = _tree([(f"u{i}", "r", float(i)) for i in range(5)])
    same = M.size_conditioned_ks([chain, star], [chain, star])
    assert same["weighted_mean"] == {"depth": 0.0, "max_breadth": 0.0, "structural_virality": 0.0}
    apart = M.size_conditioned_ks([chain, chain], [star, star])
    assert apart["weighted_mean"]["depth"] == 1.0 and apart["real_cascades_compared"] == 2
    big = _tree([(f"u{i}", "r", float(i)) for i in range(20)])
    none_alike = M.size_conditioned_ks([chain], [big])
    assert none_alike["real_cascades_compared"] == 0 and none_alike["weighted_mean"]["depth"] is None


@needs_data
@pytest.mark.slow
def test_calibrate_writes_a_parameter_file_that_validate_reads(tmp_path):
    folder = _twitter_subset(tmp_path / "d", cascades=14)
    out = tmp_path / "fit.json"
    start = ROOT / "data" / "params" / "twitter15.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "s3core",
            "calibrate",
            "--dataset",
            str(folder),
            "--out",
            str(out),
            "--trials",
            "2",
            "--minutes",
            "5",
            "--start",
            str(start),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "calibrate: trial 2" in run.stderr
    params = json.loads(out.read_text())
    fit = params["calibration"]
    assert fit["trials"] == 2 and fit["distance"] <= fit["start_distance"]
    # two trials: the defaults, then the start file's values, so the best is one of the two
    tried = {_default("attention"), start_values(start)["attention"]}
    assert params["platform"]["attention"] in tried and fit["second_trial"] == "the start values given"
    assert set(fit["terms"]) >= {"replay_nrmse", "branching_ratio", "first_hour_share", "size_ks"}
    assert params["minutes_per_step"] == 10.0 and 0.05 <= params["platform"]["attention"] <= 0.95
    setup = setup_from_params(params, 0)
    assert setup.scenario.platform.attention == params["platform"]["attention"]


def test_start_values_are_clipped_and_a_bad_start_file_is_named(tmp_path):
    good = tmp_path / "start.json"
    good.write_text(json.dumps({"platform": {"attention": 0.99}, "policy": {"depth_decay": 1.5, "base_post": -2.0}}))
    values = start_values(good)
    assert values == {"attention": 0.95, "depth_decay": 1.5}  # clipped into the search range; keys outside it left out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ParamsError, match="bad.json"):
        start_values(bad)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"polcy": {"depth_decay": 1.0}}))
    with pytest.raises(ParamsError, match=r"typo\.json: unknown parameter group\(s\) polcy"):
        start_values(typo)  # a typo is refused as validate --params refuses it, never silently unused


def test_validate_names_the_params_file_at_fault(tmp_path):
    from s3core.validation.cli import params_setup

    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"foo": 1}))
    with pytest.raises(ParamsError, match=r"typo\.json: unknown parameter group\(s\) foo"):
        params_setup(str(typo), 0)
    assert params_setup(None, 0).scenario.seed == 0


def test_calibrate_refuses_stance_threads(tmp_path):
    from s3core.validation.calibrate import calibrate

    folder = _write(
        tmp_path / "t",
        posts=pd.DataFrame(
            {
                "thread_id": ["t"],
                "post_id": ["p"],
                "parent_id": [None],
                "time_utc": pd.to_datetime(["2020-01-01"], utc=True),
                "text": ["x"],
                "stance": ["support"],
            }
        ),
    )
    with pytest.raises(DatasetError, match="needs cascades"):
        calibrate(folder, trials=1)


def test_replay_knobs_add_author_follows_and_lift_engagement(text):
    from s3core.validation.simulate import replay, replay_network

    plain = setup_from_params({"minutes_per_step": 10}, 1)
    knobs = setup_from_params({"minutes_per_step": 10, "replay": {"author_share": 0.8, "engagement": 5.0}}, 1)
    net0, a0 = replay_network(plain, "c9", 400)
    net1, a1 = replay_network(knobs, "c9", 400)
    assert a0 == a1 and net1.follower_count[a1] >= 0.75 * 400 > net0.follower_count[a0]
    assert net1.users["followers"].iloc[a1] == net1.follower_count[a1]
    assert len(replay(knobs, "c9", "日本核电站辐射泄漏，大家注意！", 400, text)) > len(
        replay(plain, "c9", "日本核电站辐射泄漏，大家注意！", 400, text)
    )
    with pytest.raises(ParamsError, match="replay.author_share"):
        setup_from_params({"replay": {"author_share": 2.0}}, 0)
    with pytest.raises(ParamsError, match="replay.reach"):
        setup_from_params({"replay": {"reach": 1}}, 0)


def test_output_problems_are_refused_before_any_work(tmp_path):
    folder = _write(tmp_path / "d", sources=SOURCES, edges=EDGES)
    taken = tmp_path / "taken.json"
    taken.write_text("{}")
    for command in (
        ["calibrate", "--dataset", str(folder), "--out", str(taken), "--trials", "1"],
        ["validate", "--dataset", str(folder), "--out", str(taken)],
        ["calibrate", "--dataset", str(folder), "--out", str(tmp_path), "--trials", "1"],
    ):
        run = subprocess.run([sys.executable, "-m", "s3core", *command], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert "exists; pass --force" in run.stderr or "is a folder" in run.stderr
    assert taken.read_text() == "{}"
