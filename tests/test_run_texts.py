"""Texts added during a run (seed posts, LLM-written posts): one id and one vector per distinct string, no neighbour
lookup for a text the backend wrote, and the written texts shown in the trace and kept by checkpoints."""

import json

import duckdb
import numpy as np
from llm_server import client_settings

from s3core.interventions import SeedPost
from s3core.llm.policy import HybridPolicy, LLMPolicy
from s3core.llm.subset import SubsetSpec
from s3core.phases import act
from s3core.run_texts import RunTexts
from s3core.runner import open_run, record, run_to_trace
from s3core.types import Action, Attitude, Emotion

SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)
KEY = "sk-test-run-texts-0123456789"
WRITTEN = "同一段文字：大家都这么写"


def writes_one_text(body) -> str:
    """Every cell: quote or post, always with the same text."""
    return "reply=" + json.dumps(
        {
            "emotion": {"calm": 0, "moderate": 0, "intense": 1},
            "attitude": {"negative": 1, "positive": 0},
            "action": {"ignore": 0, "repost": 0.2, "quote": 0.4, "post": 0.4},
            "texts": [WRITTEN],
        },
        ensure_ascii=False,
    )


class CountingEmbed:
    """An embedding that records which strings it was asked for."""

    def __init__(self, dim: int = 4):
        self.dim, self.calls = dim, []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(s), s.count("a"), 1.0, 0.0] for s in texts], dtype=np.float32).reshape(-1, self.dim)


def pool(n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    return np.array([f"pool {i}" for i in range(n)]), np.arange(4 * n, dtype=np.float32).reshape(n, 4)


# ---- the store ------------------------------------------------------------------------------------


def test_repeated_strings_get_one_id_and_one_embedding():
    embed = CountingEmbed()
    texts = RunTexts(*pool(), embed)
    first = texts.add(["b", "a", "b", "b", "ca"])
    again = texts.add(["ca", "d", "a", "d"])
    assert first.tolist() == [5, 6, 5, 5, 7] and again.tolist() == [7, 8, 6, 8]
    assert embed.calls == [["b", "a", "ca"], ["d"]], "only new distinct strings are embedded, in first-seen order"
    assert texts.added == ["b", "a", "ca", "d"] and len(texts) == 9
    assert np.array_equal(texts.added_vectors, CountingEmbed()(["b", "a", "ca", "d"]))
    assert np.array_equal(texts.vectors[:5], pool()[1])
    assert texts.texts_of(np.array([0, 7, 5, 7])) == ["pool 0", "ca", "b", "ca"] and texts.text(8) == "d"
    assert texts.add([]).tolist() == [] and len(embed.calls) == 2, "an empty add embeds nothing"


def test_the_buffer_grows_without_changing_earlier_views():
    texts = RunTexts(*pool(), CountingEmbed())
    texts.add(["x"])
    early = texts.vectors
    copy = early.copy()
    for i in range(3000):  # past the first capacity (pool + 1024): the buffer is regrown
        texts.add([f"t{i}", f"t{i}"])
    assert np.array_equal(early, copy) and len(texts.vectors) == 5 + 1 + 3000
    assert texts.texts_of(np.array([5, 6, 3005])) == ["x", "t0", "t2999"]


def test_restoring_a_checkpoint_with_repeated_texts_keeps_the_first_id():
    embed = CountingEmbed()
    texts = RunTexts(*pool(), embed)
    texts.restore(["p", "q", "p"], CountingEmbed()(["p", "q", "p"]))  # saved before texts were deduplicated
    assert texts.add(["p", "q", "r"]).tolist() == [5, 6, 8] and embed.calls == [["r"]]
    assert texts.text(7) == "p", "a repeated copy keeps its own id for the posts that use it"


# ---- in the engine ----------------------------------------------------------------------------------


def run_archetypes(make_sim, srv, tmp_path, name, share=1.0, steps=3):
    srv.rule = writes_one_text
    sim = make_sim(seed=2, steps=steps, interventions=SEED)
    llm = LLMPolicy(client_settings(srv, KEY, agent_mode="archetype"))
    sim.policy = llm if share >= 1 else HybridPolicy(llm, SubsetSpec(share=share))
    out = tmp_path / f"{name}.duckdb"
    try:
        run_to_trace(sim.scenario, out, sim=sim)
    finally:
        sim.policy.close()
    return sim, out


def test_a_text_many_agents_write_is_stored_once_and_shown_on_all_their_posts(srv, make_sim, tmp_path):
    sim, out = run_archetypes(make_sim, srv, tmp_path, "same")
    pool_size = len(sim.text.texts)
    assert sim.extra_texts.count(WRITTEN) == 1 and len(sim.extra_texts) == 2  # the seed's text and the written one
    assert sim.extra_vectors.shape == (2, sim.text.vectors.shape[1])
    text_id = pool_size + sim.extra_texts.index(WRITTEN)
    np.testing.assert_array_equal(sim.text_vectors[text_id], sim.text.model.embed([WRITTEN])[0])
    posts = sim.posts
    made = np.isin(posts.action[: len(posts)], [Action.QUOTE, Action.POST])
    made[list(sim.seed_ids.values())] = False
    assert made.sum() > 20, "the run should have many written quotes and posts"
    assert (posts.text_id[: len(posts)][made] == text_id).all(), "every written post shares the one text id"
    con = duckdb.connect(str(out), read_only=True)
    shown = con.execute(
        "SELECT text, count(*) FROM posts WHERE action IN ('quote', 'post') AND post_id <> ? GROUP BY text",
        [sim.seed_ids["event"]],
    ).fetchall()
    con.close()
    assert shown == [(WRITTEN, int(made.sum()))], "the trace shows the written text on every written post"
    assert sim.view.text_of(text_id) == WRITTEN  # what the feed and the inspector read


def test_a_given_text_skips_the_neighbour_lookup(srv, make_sim, tmp_path, monkeypatch):
    looked_up = []
    choose = act.choose_texts

    def counting(sim, kind, u, *rest):
        looked_up.append(len(u))
        return choose(sim, kind, u, *rest)

    monkeypatch.setattr(act, "choose_texts", counting)
    sim, _ = run_archetypes(make_sim, srv, tmp_path, "hybrid", share=0.5)
    posts = sim.posts
    n = len(posts)
    made = np.isin(posts.action[:n], [Action.QUOTE, Action.POST])
    made[list(sim.seed_ids.values())] = False
    from_pool = made & (posts.text_id[:n] < len(sim.text.texts))
    assert (made & ~from_pool).sum() > 10 and from_pool.sum() > 0, "both backends should make quotes and posts"
    assert sim.scenario.policy.text_neighbours > 0, "the default looks up neighbours of the focal text"
    assert sum(looked_up) == from_pool.sum(), "only the rows without a written text choose a pool text"


def test_a_resumed_run_reuses_the_ids_of_texts_written_before(srv, make_sim, tmp_path):
    srv.rule = writes_one_text
    out = tmp_path / "resume.duckdb"
    runs = []
    for steps_now in (2, None):  # two steps of a four-step run, then a resume from its checkpoint
        sim = make_sim(seed=2, steps=4, interventions=SEED)
        sim.policy = LLMPolicy(client_settings(srv, KEY, agent_mode="archetype"))
        try:
            if steps_now:
                sim, store = open_run(sim.scenario, out, sim=sim)
                for _ in range(steps_now):
                    record(sim, store, sim.step(), sim.scenario.steps - 1)
                store.close()
            else:
                run_to_trace(sim.scenario, out, resume=True, sim=sim)
        finally:
            sim.policy.close()
        runs.append(sim)
    part, resumed = runs
    assert resumed.step_index == 4 and part.extra_texts == [SEED[0].text, WRITTEN]
    assert resumed.extra_texts == part.extra_texts, "a text written before the resume is not added again"
    written = part.text_vectors.shape[0] - 1
    posts = resumed.posts
    later = (posts.step[: len(posts)] >= 2) & np.isin(posts.action[: len(posts)], [Action.QUOTE, Action.POST])
    assert later.sum() > 0 and (posts.text_id[: len(posts)][later] == written).all()
    con = duckdb.connect(str(out), read_only=True)
    shown = con.execute("SELECT DISTINCT text FROM posts WHERE step >= 2 AND action IN ('quote', 'post')").fetchall()
    con.close()
    assert shown == [(WRITTEN,)]
