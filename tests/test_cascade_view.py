"""The per-post cascade view: s3core.cascade_tree's numbers on a hand-made tree and on a real run, and the
Traces page's Cascades tab (AppTest) with per-seed curves and a capped tree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from s3core import cascade_tree as C
from s3core import scenario as S
from s3core.runner import run_to_trace
from ui import cascade_view
from ui.networks import bundled
from ui.session import DEFAULT_SCENARIO, STATE_KEY, Workspace

ROOT = Path(__file__).resolve().parent.parent
TWO_SEEDS = """
name = "two seeds"
seed = 11
steps = 8
params = "{params}"
[[interventions]]
kind = "seed"
step = 0
name = "rumour"
text = "=1+1 the plant leaks"
stance = "negative"
emotion = "intense"
[[interventions]]
kind = "seed"
step = 3
name = "correction"
text = "The plant does not leak."
stance = "positive"
emotion = "calm"
"""


def _posts(rows):
    """A posts table from (post_id, step, author, parent, root, depth, action) tuples."""
    cols = ["post_id", "step", "author", "parent", "root", "depth", "action"]
    return pd.DataFrame(rows, columns=cols).assign(text=lambda d: [f"text {i}" for i in d.post_id])


# root 0 (official) -> 1, 2 (step 1); 2 -> 3 (step 2), 4 (step 3); 3 -> 5 (step 3, same author as 1)
# root 6 (agent 9 posts at step 2) -> 7 (step 3)
HAND = _posts(
    [
        (0, 0, -1, -1, 0, 0, "post"),
        (1, 1, 10, 0, 0, 1, "repost"),
        (2, 1, 11, 0, 0, 1, "quote"),
        (3, 2, 12, 2, 0, 2, "repost"),
        (4, 3, 13, 2, 0, 2, "repost"),
        (5, 3, 10, 3, 0, 3, "quote"),
        (6, 2, 9, -1, 6, 0, "post"),
        (7, 3, 14, 6, 6, 1, "repost"),
    ]
)


def test_summary_and_growth_of_a_hand_made_cascade():
    seeds = C.seed_labels(HAND)
    assert seeds == {0: "seed post 0"}, "the official account's root is the seed; agent 9's post is not"
    s = C.summary(HAND, seeds, minutes_per_step=30).set_index("root")
    assert list(s.index) == [0, 6], "seed posts first"
    assert s.loc[0, ["posts", "reach", "depth", "breadth", "last_step"]].tolist() == [6, 4, 3, 2, 3]
    assert s.loc[6, ["posts", "reach", "depth", "breadth"]].tolist() == [2, 2, 1, 1]
    # Wiener index over the edges (nodes below x nodes above): 0-1 1x5, 0-2 4x2, 2-3 2x4, 2-4 1x5, 3-5 1x5 = 31
    assert s.loc[0, "structural_virality"] == pytest.approx(31 / 15)
    g = C.growth(HAND, [0, 6], last_step=4)
    zero = g[g.root == 0].set_index("step")
    assert zero["posts"].tolist() == [1, 3, 4, 6, 6]
    assert zero["reach"].tolist() == [0, 2, 3, 4, 4], "agent 10 posts twice and counts once"
    assert zero["depth"].tolist() == [0, 1, 2, 3, 3]
    assert zero["breadth"].tolist() == [0, 2, 2, 2, 2]
    assert g[g.root == 6]["step"].tolist() == [2, 3, 4], "a cascade's curve starts at its root's step"


def test_tree_layout_caps_the_drawn_posts_and_keeps_one_connected_tree():
    full = C.tree_layout(HAND, 0)
    assert (full.total, full.shown) == (6, 6)
    assert full.nodes.set_index("post_id")["x"].to_dict() == {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3}
    leaves = full.nodes.set_index("post_id").loc[[1, 5, 4], "y"].tolist()
    assert leaves == sorted(leaves) and len(set(leaves)) == 3, "leaves get distinct rows in depth-first order"
    capped = C.tree_layout(HAND, 0, max_nodes=3)
    assert (capped.total, capped.shown) == (6, 3) and len(capped.edges) == 2
    with pytest.raises(ValueError, match="post 3 is not the root"):
        C.tree_layout(HAND, 3)
    with pytest.raises(ValueError, match="lacks column"):
        C.summary(HAND.drop(columns="root"), {}, 10)


@pytest.fixture(scope="module")
def two_seed_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascades")
    params = (ROOT / "data" / "params" / "weibo-ced.json").as_posix()
    path = folder / "001-two-seeds.duckdb"
    run_to_trace(S.loads(TWO_SEEDS.format(params=params)), path)
    return path


def test_a_real_run_names_both_seeds_and_its_curves_match_the_posts(two_seed_run):
    with duckdb.connect(str(two_seed_run), read_only=True) as con:
        posts = con.execute("SELECT * FROM posts").df()
    roots = posts[(posts.parent < 0) & (posts.author < 0)].sort_values("post_id")
    seeds = C.seeds_from_scenario(posts, [("rumour", 0, "=1+1 the plant leaks"), ("correction", 3, "x")])
    assert seeds == {int(roots.post_id.iloc[0]): "rumour"}, "a seed is matched by its step and its text"
    seeds = C.seeds_from_scenario(
        posts, [("rumour", 0, "=1+1 the plant leaks"), ("correction", 3, "The plant does not leak.")]
    )
    assert sorted(seeds.values()) == ["correction", "rumour"] and set(seeds) == set(roots.post_id)
    g = C.growth(posts, list(seeds))
    for root in seeds:
        mine = posts[posts.root == root]
        last = g[g.root == root].iloc[-1]
        assert last.posts == len(mine) and last.depth == mine.depth.max()
        assert last.reach == mine.loc[mine.author >= 0, "author"].nunique()
        assert (np.diff(g[g.root == root].posts) >= 0).all(), "cumulative counts never fall"


def _traces_page(ws: Workspace, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "6_Traces.py"), default_timeout=60)
    at.session_state[STATE_KEY] = ws
    at.session_state["tr_tabs"] = "Cascades"
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chart(at: AppTest, title: str) -> dict:
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"]["title"]["text"].startswith(title):
            return spec
    raise AssertionError(f"no chart titled {title!r}")


def test_traces_cascades_tab_draws_each_seed_and_a_capped_tree(two_seed_run, tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="t", run_dir=two_seed_run.parent, net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    monkeypatch.setattr(cascade_view, "MAX_TREE_NODES", 5)
    at = _traces_page(ws)
    table = at.dataframe[1].value
    assert table["cascade"].tolist()[:2] == ["rumour", "correction"]
    assert table["author"].tolist()[:2] == ["official account"] * 2
    assert all(re.fullmatch(r"user \S+ \(agent \d+\)", a) for a in table["author"][2:]), "users by id and index"
    with duckdb.connect(str(two_seed_run), read_only=True) as con:
        has_awareness = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'seed_metrics'"
        ).fetchone()[0]
        size = con.execute("SELECT count(*) FROM posts WHERE root = (SELECT min(post_id) FROM posts)").fetchone()[0]
    growth = _chart(at, "Aware" if has_awareness else "Reach")
    assert [t["name"] for t in growth["data"]] == ["rumour", "correction"]
    ticks = growth["layout"]["xaxis"]["ticktext"]
    assert ticks[0].startswith("0<br>") and all("<br>" in t for t in ticks), "steps with the simulated time under"
    tree = _chart(at, "Cascade tree of rumour")
    assert f"first 5 of {size:,} posts" in tree["layout"]["title"]["text"]
    assert any("the first 5" in c.value for c in at.caption), "the cap is said in words"
    at = _traces_page(ws, tr_cascades_measure="depth", tr_cascades_tree_of=int(table["root post"].iloc[1]))
    assert _chart(at, "Depth").get("data")
    assert _chart(at, "Cascade tree of correction")


def test_live_inputs_read_the_live_runs_trace(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="t", run_dir=tmp_path / "ws", net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    run = ws.live_run()
    posts, seeds, _ = cascade_view.live_inputs(run)
    assert posts.empty and list(posts.columns) == list(C.NEEDED), "before the first step: no posts, no error"
    for _ in range(2):
        run.step()
    posts, seeds, awareness = cascade_view.live_inputs(run)
    assert len(posts) > 1 and list(seeds.values()) == ["rumour"], "the default scenario's first seed is 'rumour'"
    assert set(seeds) == set(posts.loc[(posts.parent < 0) & (posts.author < 0), "post_id"])
    if awareness is not None:
        assert set(awareness["root"]) == set(seeds)
    run.close()


def test_a_trace_without_per_seed_awareness_names_seeds_from_its_scenario(two_seed_run, tmp_path, monkeypatch):
    import shutil

    from ui import traces

    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "ws"
    folder.mkdir()
    old = folder / "001-older.duckdb"
    shutil.copy(two_seed_run, old)
    with duckdb.connect(str(old)) as con:
        con.execute("DROP TABLE IF EXISTS seed_metrics")  # as in traces written before the table existed
    ws = Workspace(session_id="t", run_dir=folder, net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    (run,) = traces.list_runs(ws)
    posts, seeds, awareness = traces.cascade_inputs(ws, run)
    assert awareness is None
    official = posts[(posts.parent < 0) & (posts.author < 0)].sort_values("post_id")
    assert seeds == dict(zip(official.post_id.astype(int), ["rumour", "correction"]))


def test_table_counts_time_like_the_charts_and_leaves_aware_blank_for_agent_cascades():
    summary = C.summary(HAND, {0: "rumour"}, 10)
    awareness = pd.DataFrame({"step": [0, 1], "seed": "rumour", "root": [0, 0], "aware": [3, 7]})
    table = cascade_view._table(summary, HAND, 10, awareness)
    started = dict(zip(table["cascade"], table["started"]))
    assert started["rumour"] == "step 0 (to 10 min)", "step s ends at (s + 1) x 10 min, as on the charts"
    assert started["post 6"] == "step 2 (to 30 min)"
    aware = dict(zip(table["cascade"], table["aware"]))
    assert aware["rumour"] == "7" and aware["post 6"] == "", "no raw None for an agent-started cascade"


def test_traces_says_no_match_without_showing_the_first_0(two_seed_run, tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = Workspace(session_id="t", run_dir=two_seed_run.parent, net=bundled(), scenario=S.load(DEFAULT_SCENARIO))
    at = _traces_page(ws, tr_tabs="Posts", tr_posts_text="no post says this")
    captions = [c.value for c in at.caption]
    assert any(c.startswith("0 posts match") for c in captions), captions
    assert not any("showing the first 0" in c for c in captions)


def test_summary_minutes_are_the_end_of_the_start_step():
    summary = C.summary(HAND, {0: "rumour"}, 10).set_index("root")
    assert summary.loc[0, "minutes"] == 10 and summary.loc[6, "minutes"] == 30
