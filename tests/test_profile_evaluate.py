"""Demographic inference scored against labels on tiny labelled sets whose figures are worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from llm_server import ScriptedServer, client_settings, instance_of, requested_schema

from s3core.llm.cache import LLMCache
from s3core.llm.demographics import LLMDemographicInferrer
from s3core.loaders.errors import LoadError
from s3core.profile_evaluate import evaluate, load_labelled, users_file_labels, weibo_ced_authors

KEY = "sk-test-NEVER-STORE-THIS-0123456789"


@pytest.fixture
def ced(tmp_path):
    """A weibo-ced-shaped folder: five labelled authors, one without gender, one repost-only user."""
    folder = tmp_path / "weibo-ced"
    folder.mkdir()
    t = pd.Timestamp("2012-01-01", tz="UTC")
    pd.DataFrame(
        {
            "cascade_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "post_id": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "user_id": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "time_utc": [t + pd.Timedelta(days=d) for d in range(6)],
            "text": ["我老公今天做饭了", "地震了，大家注意安全", "转发抽奖", "天气不错", "新闻一则", "我老公出差了"],
            "user_gender": ["f", "m", "m", "f", "m", None],
        }
    ).to_parquet(folder / "sources.parquet")
    pd.DataFrame(
        {
            "cascade_id": ["c1", "c3", "c4", "c5", "c5", "c1", "c2"],
            "post_id": [f"r{i}" for i in range(7)],
            "parent_id": ["p1", "p3", "p4", "p5", "p5", "p1", "p2"],
            "user_id": ["u2", "u3", "u4", "x9", "u2", "u5", "u2"],
            "parent_user_id": ["u1", "u3", "u4", "u5", "u5", "u1", "u2"],
            "t_min": [5.0, 1.0, 2.0, 3.0, 9.0, 4.0, 1.0],
            # u2's male cue only in a comment; u3's comment claims motherhood (a wrong answer); x9 is not an author
            "text": ["我老婆说要捐款", "作为一个妈妈我很担心", "", "我老婆也看到了", "我老婆说要捐款", "顶", "同意"],
        }
    ).to_parquet(folder / "reposts.parquet")
    return tmp_path


def test_weibo_ced_authors_pool_source_posts_and_own_comments(ced):
    users = weibo_ced_authors(ced / "weibo-ced")
    assert list(users.user_id) == ["u1", "u2", "u3", "u4", "u5"]  # u6 has no gender, x9 wrote no source
    assert list(users.gender) == [0, 1, 1, 0, 1]
    assert math.isnan(users.age[0]) and math.isnan(users.occupation[0])
    histories = users.histories()
    # source first, then comments by cascade time + minutes; the repeated comment is kept once; '' is no text
    assert histories[1] == ["地震了，大家注意安全", "我老婆说要捐款", "同意"]
    assert histories[3] == ["天气不错"] and histories[4] == ["新闻一则", "顶"]
    assert len(weibo_ced_authors(ced / "weibo-ced", max_posts=1).histories()[1]) == 1


def test_rules_on_weibo_ced_layout_score_by_hand(ced):
    report = evaluate(load_labelled("weibo-ced", ced))
    g = report.gender
    # answered: u1 female (right), u2 male from a comment (right), u3 female (wrong, truly male)
    assert (g.labelled, g.answered, g.coverage) == (5, 3, 0.6)
    assert g.accuracy == pytest.approx(2 / 3)
    assert (g.precision, g.recall) == (1.0, 0.5)  # one male guess, right; two answered males, one found
    assert g.f1 == pytest.approx(2 / 3)
    assert g.auc == pytest.approx(0.75)  # male scores (1, 0) over the female's 0: (1 + 0.5) / 2
    assert g.majority_accuracy == pytest.approx(0.6) and report.gender_majority == "male"
    assert report.age is None and report.occupation is None
    table = report.table()
    assert "majority (male)" in table and "S3 (Gao et al. 2023)" in table and "0.710" in table and "0.708" in table
    assert report.markdown().count("\n") == 4  # header, rule and three rows
    data = json.loads(json.dumps(report.as_dict()))
    assert data["gender"]["answered"] == 3 and data["age"] is None


@pytest.fixture
def labelled_csv(tmp_path):
    users = tmp_path / "users.csv"
    users.write_text(
        "user_id,gender,age,occupation,description\n"
        "1001,f,30,education practitioner,90后小学老师，宝妈\n"
        "1002,male,40,media personnel,\n"
        "1003,女,,,在读大学生\n"
        "1004,,25,MEDIA,\n",
        encoding="utf-8",
    )
    posts = tmp_path / "posts.csv"
    posts.write_text("user_id,text\n1002.0,我是一名程序员\n77,我老公\n1004,\n", encoding="utf-8")
    return users, posts


def test_users_file_labels_score_gender_age_and_occupation_by_hand(labelled_csv):
    users = users_file_labels(*labelled_csv)
    assert list(users.gender[:3]) == [0, 1, 0] and math.isnan(users.gender[3])
    assert users.histories() == [
        [],
        ["我是一名程序员"],
        [],
        [],
    ]  # '1002.0' is user 1002; 77 is unlabelled; 1004's post is empty
    report = evaluate(users)  # reference year 2023: '90后' is born 1995, aged 28
    assert report.users == 4 and report.asked == 3  # 1004 has no text
    g = report.gender
    assert (g.labelled, g.answered, g.accuracy) == (3, 1, 1.0)  # only 宝妈 is a gender cue
    a = report.age
    assert (a.labelled, a.answered) == (3, 1) and a.coverage == pytest.approx(1 / 3)
    assert a.mae == pytest.approx(2.0)  # |28 - 30|
    assert a.median_baseline_mae == pytest.approx(5.0)  # ages 30, 40, 25 around 30
    o = report.occupation
    # labelled 1001 (teacher: right), 1002 (media, but says programmer: wrong), 1004 (not asked)
    assert (o.labelled, o.answered, o.accuracy) == (3, 2, 0.5)
    assert o.coverage == pytest.approx(2 / 3) and o.majority_accuracy == pytest.approx(2 / 3)
    assert "MAE" not in report.table() and "mae" in report.table() and "median age" in report.table()


def test_users_file_problems_name_the_file(tmp_path, labelled_csv):
    bare = tmp_path / "bare.csv"
    bare.write_text("user_id,description\n1,hi\n", encoding="utf-8")
    with pytest.raises(LoadError, match="no gender, age or occupation column"):
        users_file_labels(bare)
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,gender\n1,f\n2,robot\n", encoding="utf-8")
    with pytest.raises(LoadError, match="robot") as info:
        users_file_labels(bad)
    assert "line 3" in str(info.value)
    with pytest.raises(LoadError, match="neither 'weibo-ced'"):
        load_labelled(str(tmp_path / "missing.csv"), tmp_path)
    frame = pd.read_csv(labelled_csv[0], dtype=str)
    frame.to_parquet(tmp_path / "users.parquet")
    assert list(users_file_labels(tmp_path / "users.parquet").gender[:3]) == [0, 1, 0]


def test_limit_takes_a_seeded_sample_and_halves_partition(ced):
    users = weibo_ced_authors(ced / "weibo-ced")
    chosen = np.sort(np.random.default_rng(3).choice(5, size=2, replace=False))
    report = evaluate(users, limit=2, seed=3)
    assert report.users == 2 and "sample of 2, seed 3" in report.dataset
    assert list(users.sample(2, seed=3).user_id) == list(users.user_id[chosen])
    halves = [set(users.half(h).user_id) for h in (0, 1)]
    assert halves[0] | halves[1] == set(users.user_id) and not halves[0] & halves[1]
    calls = []
    evaluate(users, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(5, 5)]


@pytest.fixture(scope="module")
def server():
    with ScriptedServer() as srv:
        yield srv


def _expected(server, users) -> tuple[int, int]:
    """(answered, right) from the replies the scripted server made: it answers each prompt deterministically."""
    markers = [d or (h[0] if h else None) for d, h in zip(users.descriptions, users.histories())]
    answered = right = 0
    for body in server.requests:
        reply = instance_of(requested_schema(body), json.dumps(body["messages"], sort_keys=True, ensure_ascii=False))
        prompt = body["messages"][-1]["content"]
        (who,) = [i for i, m in enumerate(markers) if m and m in prompt]
        if reply["gender"] in ("female", "male"):
            answered += 1
            right += (reply["gender"] == "male") == (users.gender[who] == 1)
    return answered, right


def test_llm_inferrer_one_request_per_user_and_cached_rerun(tmp_path, server):
    path = tmp_path / "users.csv"
    rows = [f"{i},{'mf'[i % 2]},,,用户{i}号的自我介绍" for i in range(12)]
    path.write_text("user_id,gender,age,occupation,description\n" + "\n".join(rows) + "\n13,f,,,\n", encoding="utf-8")
    users = users_file_labels(path)
    server.reset()
    cache = tmp_path / "llm-cache"
    inferrer = LLMDemographicInferrer(client_settings(server, KEY), LLMCache(cache))
    report = evaluate(users, inferrer)
    inferrer.close()
    assert server.count == report.asked == 12  # the user without text is not asked
    answered, right = _expected(server, users)
    g = report.gender
    assert g.labelled == 13 and g.answered == answered and 0 < answered < 12  # 'unknown' replies are unanswered
    assert g.accuracy == pytest.approx(right / answered)
    assert report.inferrer == "LLM openai/test-model"

    again = LLMDemographicInferrer(client_settings(server, KEY), LLMCache(cache))
    rerun = evaluate(users, again)
    again.close()
    assert server.count == 12, "a rerun with the same cache makes no requests"
    assert {k: v for k, v in rerun.as_dict().items() if k != "seconds"} == {
        k: v for k, v in report.as_dict().items() if k != "seconds"
    }


def test_benchmark_prints_rules_and_llm_reports(ced, tmp_path, server, monkeypatch, capsys):
    from benchmarks.profile_eval_bench import main

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.reset()
    argv = ["--datasets", str(ced), "--model", "openai/test-model", "--api-base", server.api_base]
    assert main([*argv, "--llm-cache", str(tmp_path / "c"), "--retries", "1"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out.strip().splitlines()[-1])
    assert set(data["reports"]) == {f"{k}/{p}" for k in ("rules", "llm") for p in ("all", "half0", "half1")}
    assert data["reports"]["rules/all"]["gender"]["answered"] == 3
    assert data["reports"]["llm/all"]["asked"] == 5 and server.count == 5  # the halves hit the cache
    assert "S3 (Gao et al. 2023)" in out and KEY not in out


def test_gender_self_references_count_only_in_the_authors_own_voice():
    from s3core.demographics import RuleInferrer
    from s3core.types import Gender

    posts = [
        "我男朋友今天送我花",  # own voice, a kin word the English list already had (my boyfriend)
        "周末和我女友去爬山",
        "@某人 :昨晚我老公鸣笛提醒",  # a quoted '@user: ...' post
        "他回答说：“我老婆的眼泪。因为我是一个男人”",  # inside quotation marks
        "小薇老师说，作为一个男人，你要有担当",  # reported speech
        "转【顶贴】你知道我男人是谁吗",  # copied text
        "今天下雨，我老婆说别出门",  # own voice before any quotation
    ]
    answers = RuleInferrer().infer([""] * len(posts), [[p] for p in posts])
    genders = [a.get("gender") if a else None for a in answers]
    assert genders == [Gender.FEMALE, Gender.MALE, None, None, None, None, Gender.MALE]
