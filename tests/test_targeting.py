"""Targeting under a budget: rankings agree with networkx, CELF picks what plain greedy picks with fewer
evaluations, the branched objective equals a full run, and the CLI judges each choice on held-out seeds."""

import json

import networkx as nx
import numpy as np
import pytest

from s3core import scenario as S
from s3core.cli import main
from s3core.engine import Simulation
from s3core.experiment.effects import outcomes
from s3core.experiment.targeting import budget as B
from s3core.experiment.targeting import greedy as G
from s3core.experiment.targeting import ranking as R
from s3core.network import Network
from s3core.synthetic import synthetic_network

SCENARIO = """
name = "tiny"
seed = 3
steps = 14
[network]
source = "synthetic"
n_users = 600
mean_followees = 8.0
[[interventions]]
kind = "seed"
step = 0
name = "event"
text = "日本核电站辐射泄漏，大家注意！"
stance = "negative"
emotion = "intense"
[[interventions]]
kind = "seed"
step = 4
name = "fix"
text = "【辟谣】辐射泄漏的消息不实，请勿传播。"
stance = "positive"
emotion = "calm"
[[interventions]]
kind = "boost"
step = 4
duration = 3
strength = 0.2
post = "fix"
"""


def test_degree_and_pagerank_rank_as_networkx_does():
    net = synthetic_network(300, mean_followees=5.0, reciprocity=0.2, rng=np.random.default_rng(1))
    follower, followee = net.edges()
    graph = nx.DiGraph()
    graph.add_nodes_from(str(u) for u in net.user_ids)
    graph.add_edges_from((str(net.user_ids[a]), str(net.user_ids[b])) for a, b in zip(follower, followee))
    ids = net.user_ids.astype(str)
    in_degree = dict(graph.in_degree())
    assert [in_degree[u] for u in ids] == R.degree(net).tolist()
    expected = nx.pagerank(graph)
    assert np.allclose(R.pagerank(net), [expected[u] for u in ids], rtol=1e-4)
    top = [ids[i] for i in R.order(R.pagerank(net))[:10]]
    assert top == sorted(expected, key=lambda u: -expected[u])[:10]
    hub = Network.from_edges("star", np.array(["h", "a", "b", "c"]), np.array([1, 2, 3, 2]), np.array([0, 0, 0, 1]))
    assert R.order(R.degree(hub))[:2].tolist() == [0, 1] and R.order(R.pagerank(hub))[0] == 0


def test_candidate_pool_is_the_union_of_both_top_lists_without_repeats():
    assert R.candidate_pool(np.array([4, 2, 7, 1]), np.array([2, 9, 4, 3]), 3).tolist() == [4, 2, 7, 9]


def test_celf_picks_what_plain_greedy_picks_with_fewer_evaluations():
    rng = np.random.default_rng(0)
    covers = {c: set(rng.choice(200, size=rng.integers(5, 40), replace=False).tolist()) for c in range(40)}

    def coverage(chosen):  # submodular: lazy gains are exact upper bounds
        return float(len(set().union(*(covers[c] for c in chosen))))

    for maximize, f in ((True, coverage), (False, lambda chosen: -coverage(chosen))):
        plain = G.plain_greedy(list(covers), f, 6, maximize)
        lazy = G.celf(list(covers), f, 6, maximize)
        assert lazy.chosen == plain.chosen and lazy.values == plain.values
        assert lazy.evaluations < plain.evaluations / 2, (lazy.evaluations, plain.evaluations)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("target") / "tiny.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_simulated_objective_branches_to_exactly_the_full_run_and_celf_matches_greedy(tiny, text):
    sc = S.load(tiny)
    budget = B.make_budget(sc, "fix", "accounts", 2, 14)
    base, post = B.base_scenario(sc, budget, 14), B.seed_post(sc, "fix")
    objective = G.SimulatedObjective(base, budget, post, (3, 4), "final_positive", text)
    ids = objective.user_ids()
    pool = [str(ids[i]) for i in R.order(R.degree(objective.networks[0]))[:8]]
    value = objective(tuple(pool[:2]))
    full = []
    for (sim, _, _), seed in zip(objective.starts, (3, 4)):
        run = Simulation(B.targeted(base, budget, post, pool[:2]).replace(seed=seed), text=text)
        assert np.array_equal(run.network.follower_idx, sim.network.follower_idx)
        rows = [G._row(run, run.step()) for _ in range(14)]
        full.append(outcomes(*np.array(rows).T)["final_positive"])
    assert value == pytest.approx(np.mean(full), abs=1e-12)
    assert value != objective(()), "the targeted posts changed nothing: the test compares nothing"
    before = objective.simulations
    lazy = G.celf(pool, objective, 3)
    lazy_sims = objective.simulations - before
    plain = G.plain_greedy(pool, objective, 3)
    assert lazy.chosen == plain.chosen and lazy.values == plain.values
    assert lazy_sims == 2 * lazy.evaluations < 2 * plain.evaluations, (lazy.evaluations, plain.evaluations)


def _target(tiny, out, *extra):
    return main(
        [
            "target",
            str(tiny),
            "--post",
            "fix",
            "--k",
            "2",
            "--candidates",
            "3",
            "--fit-seeds",
            "2",
            "--seeds",
            "3",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )


def test_cli_judges_each_choice_on_held_out_seeds_with_intervals(tiny, tmp_path, capsys):
    assert _target(tiny, tmp_path / "a", "--budget", "impressions", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fit_seeds"] == [3, 4] and report["seeds"] == [5, 6, 7] and "held-out" in report["note"]
    assert report["budget"] == {"kind": "impressions", "k": 2, "step": 4} and report["steps"] == 14
    assert report["greedy"]["simulations"] < report["greedy"]["plain_greedy_simulations"]
    pool = report["candidates"]["pool"]
    for name in ("degree", "pagerank", "greedy"):
        strategy = report["strategies"][name]
        assert len(set(strategy["targets"])) == 2
        effect = strategy["effects"]["final_reach"]
        assert effect["n"] == 3 and effect["ci_low"] <= effect["mean"] <= effect["ci_high"]
    assert set(report["strategies"]["greedy"]["targets"]) <= set(pool)
    assert any(
        report["strategies"][s]["effects"]["final_positive"]["mean"] != 0 for s in ("degree", "pagerank", "greedy")
    )
    assert json.loads((tmp_path / "a" / "targeting.json").read_text())["strategies"] == report["strategies"]
    assert (tmp_path / "a" / "experiment.duckdb").exists()

    assert _target(tiny, tmp_path / "b", "--budget", "accounts") == 0
    table = capsys.readouterr().out
    assert "accounts budget k = 2 at step 4" in table and "95% interval" in table
    assert all(f"{name:<9} final_reach" in table for name in ("degree", "pagerank", "greedy"))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--post", "nope"], "--post 'nope': no seed post has that name (seed names: 'event', 'fix')"),
        (["--k", "5"], "--k 5 is more than --candidates 3"),
        (["--budget", "impressions", "--at", "2"], "--at 2: the boost would come before seed 'fix' is posted (step 4)"),
        (["--steps", "4"], "--at 4: the run has 4 steps"),
        (["--objective", "reach"], "--objective 'reach': must be one of final_reach"),
        (["--seeds", "1"], "--seeds 1: expected 2 or more"),
    ],
)
def test_bad_requests_fail_in_one_line_before_running(tiny, tmp_path, capsys, extra, message):
    # argparse keeps an option's last value, so ``extra`` overrides the valid request before it
    argv = [
        "target",
        str(tiny),
        "--post",
        "fix",
        "--budget",
        "accounts",
        "--k",
        "2",
        "--candidates",
        "3",
        "--out",
        str(tmp_path),
        "--quiet",
        *extra,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "experiment.duckdb").exists()


def test_an_out_folder_that_holds_an_evaluation_is_refused(tiny, tmp_path, capsys):
    (tmp_path / "experiment.duckdb").write_bytes(b"x")
    assert _target(tiny, tmp_path, "--budget", "accounts") == 2
    assert "already holds an evaluation; pass --resume" in capsys.readouterr().err
