"""Demographics: given columns win, text rules infer, draws match the shares, seeds reproduce."""

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from s3core.demographics import (
    AGE_BRACKETS,
    DemographicInferrer,
    DemographicParams,
    Demographics,
    Provenance,
    RuleInferrer,
    assign_demographics,
)
from s3core.network import Network
from s3core.types import Gender, Occupation

PARAMS = DemographicParams()


def _network(n: int, users: pd.DataFrame | None = None, posts: pd.DataFrame | None = None) -> Network:
    ids = np.array([f"u{i}" for i in range(n)])
    return Network.from_edges("t", ids, np.array([0]), np.array([1 % n]), users=users, posts=posts)


def _assign(
    descriptions: list, posts: list[tuple[int, str]] = (), users: dict | None = None, seed: int = 0
) -> Demographics:
    table = pd.DataFrame({"description": descriptions, **(users or {})})
    post_table = pd.DataFrame(list(posts), columns=["user_index", "text"]) if posts else None
    return assign_demographics(_network(len(descriptions), table, post_table), PARAMS, np.random.default_rng(seed))


def test_given_columns_win_over_text():
    demo = _assign(
        ["我是医生，90后，两个孩子的妈妈", "software engineer", None],
        users={
            "age": [52, np.nan, 200],
            "gender": [Gender.MALE, np.nan, Gender.UNKNOWN],
            "occupation": [Occupation.LOGISTICS, np.nan, 99],
        },
    )
    assert (demo.age[0], demo.gender[0], demo.occupation[0]) == (52, Gender.MALE, Occupation.LOGISTICS)
    assert (demo.provenance[0] == Provenance.GIVEN).all()
    assert demo.occupation[1] == Occupation.ENGINEER and demo.source("occupation")[1] == Provenance.INFERRED
    # impossible age, UNKNOWN gender and an unknown occupation code count as missing
    assert (demo.provenance[2] == Provenance.DRAWN).all()
    assert demo.gender[2] in (Gender.FEMALE, Gender.MALE)


def test_string_gender_codes_are_read():
    demo = _assign(["", "", ""], users={"gender": ["f", "m", None]})
    assert list(demo.gender[:2]) == [Gender.FEMALE, Gender.MALE]
    assert list(demo.source("gender")) == [Provenance.GIVEN, Provenance.GIVEN, Provenance.DRAWN]


@pytest.mark.parametrize(
    "text, occupation",
    [
        ("北京大学学生", Occupation.UNEMPLOYED_STUDENT),
        ("三甲医院护士", Occupation.MEDICAL),
        ("中学生物老师", Occupation.EDUCATION),
        ("律师，执业十年", Occupation.ADMINISTRATIVE),
        ("资深记者、编辑", Occupation.MEDIA),
        ("程序员一枚", Occupation.ENGINEER),
        ("快递小哥", Occupation.LOGISTICS),
        ("银行理财经理", Occupation.FINANCIAL),
        ("独立音乐人，歌手", Occupation.ENTERTAINMENT_ARTS),
        ("公务员", Occupation.ADMINISTRATIVE),
        ("车间技工", Occupation.LABOR_WORKER),
        ("PhD student at MIT", Occupation.UNEMPLOYED_STUDENT),
        ("ER nurse and runner", Occupation.MEDICAL),
        ("High school teacher", Occupation.EDUCATION),
        ("Journalist at the Times", Occupation.MEDIA),
        ("Senior software engineer", Occupation.ENGINEER),
        ("Truck driver", Occupation.LOGISTICS),
        ("Product manager", Occupation.ADMINISTRATIVE),
    ],
)
def test_rules_infer_occupation_from_descriptions(text, occupation):
    demo = _assign([text])
    assert demo.occupation[0] == occupation and demo.source("occupation")[0] == Provenance.INFERRED


@pytest.mark.parametrize(
    "text, gender",
    [
        ("两个孩子的妈妈", Gender.FEMALE),
        ("宝妈一枚", Gender.FEMALE),
        ("我老公是程序员", Gender.FEMALE),
        ("爱笑的女生", Gender.FEMALE),
        ("she/her, coffee addict", Gender.FEMALE),
        ("Wife and mother of three", Gender.FEMALE),
        ("80后奶爸", Gender.MALE),
        ("东北男人", Gender.MALE),
        ("Husband, father, runner", Gender.MALE),
        ("he/him", Gender.MALE),
    ],
)
def test_rules_infer_gender(text, gender):
    demo = _assign([text])
    assert demo.gender[0] == gender and demo.source("gender")[0] == Provenance.INFERRED


@pytest.mark.parametrize(
    "text, lo, hi",
    [
        ("90后", 24, 33),
        ("00后", 14, 23),
        ("大一新生", 18, 22),
        ("退休教师", 60, 79),
        ("1990年出生", 33, 33),
        ("今年25岁", 25, 25),
        ("I'm 31 and love hiking", 31, 31),
        ("retired engineer", 60, 79),
        ("高中生", 15, 18),
    ],
)
def test_rules_infer_age(text, lo, hi):
    demo = _assign([text])
    assert lo <= demo.age[0] <= hi and demo.source("age")[0] == Provenance.INFERRED


def test_mentions_of_others_are_not_the_author():
    demo = _assign(["我妈妈是医生", "My wife is a doctor", "3岁宝宝"])
    assert demo.source("occupation")[0] == Provenance.DRAWN
    assert demo.source("occupation")[1] == Provenance.DRAWN and demo.gender[1] == Gender.MALE
    assert demo.source("age")[2] == Provenance.DRAWN


def test_posts_count_only_in_the_first_person():
    posts = [
        (0, "今天看到新闻说老师打学生"),
        (1, "哈哈哈"),
        (1, "我是一名三甲医院的医生，作为一个90后"),
        (2, "I'm a nurse"),
        (2, "my husband said hi"),
        (3, "转发//@某人:我是医生"),
    ]
    demo = _assign(["", "", "", ""], posts=posts)
    assert (demo.provenance[0] == Provenance.DRAWN).all()
    assert demo.occupation[1] == Occupation.MEDICAL and 24 <= demo.age[1] <= 33
    assert demo.occupation[2] == Occupation.MEDICAL and demo.gender[2] == Gender.FEMALE
    assert demo.source("occupation")[3] == Provenance.DRAWN  # reposted text belongs to someone else


def test_description_beats_posts():
    demo = _assign(["律师"], posts=[(0, "我是一名医生")])
    assert demo.occupation[0] == Occupation.ADMINISTRATIVE


def test_drawn_shares_match_params():
    n = 100_000
    demo = assign_demographics(_network(n), PARAMS, np.random.default_rng(3))
    assert (demo.provenance == Provenance.DRAWN).all()
    assert demo.age.dtype == np.int16 and demo.gender.dtype == np.int8 and demo.occupation.dtype == np.int8
    assert abs((demo.gender == Gender.FEMALE).mean() - PARAMS.female_share) < 0.01
    edges = [lo for lo, _ in AGE_BRACKETS[1:]]
    bracket_share = np.bincount(np.searchsorted(edges, demo.age, side="right"), minlength=len(AGE_BRACKETS)) / n
    assert np.abs(bracket_share - PARAMS.age_shares).max() < 0.01
    assert demo.age.min() >= AGE_BRACKETS[0][0] and demo.age.max() <= AGE_BRACKETS[-1][1]
    occupation_share = np.bincount(demo.occupation, minlength=len(Occupation)) / n
    assert np.abs(occupation_share - PARAMS.occupation_shares).max() < 0.01
    assert (demo.occupation[demo.age < 18] == Occupation.UNEMPLOYED_STUDENT).all()


def test_custom_shares_are_followed():
    params = DemographicParams(
        female_share=0.8, age_under_18=0, age_18_24=0, age_25_34=0, age_35_44=0, age_45_59=0, age_60_plus=1
    )
    demo = assign_demographics(_network(20_000), params, np.random.default_rng(1))
    assert abs((demo.gender == Gender.FEMALE).mean() - 0.8) < 0.02
    assert (demo.age >= 60).all()


def test_seeds_reproduce_and_differ():
    net = _network(5_000, pd.DataFrame({"description": ["90后程序员"] * 10 + [None] * 4_990}))
    a, b, c = (assign_demographics(net, PARAMS, np.random.default_rng(s)) for s in (7, 7, 8))
    for name in ("age", "gender", "occupation", "provenance"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.age, c.age) and not np.array_equal(a.occupation, c.occupation)


def test_draws_do_not_depend_on_other_users_data():
    base = assign_demographics(_network(1_000), PARAMS, np.random.default_rng(5))
    given = pd.DataFrame({"age": [30.0] + [np.nan] * 999})
    other = assign_demographics(_network(1_000, given), PARAMS, np.random.default_rng(5))
    assert np.array_equal(base.age[1:], other.age[1:]) and np.array_equal(base.gender, other.gender)


class _FakeLLM:
    """A test double for a later LLM backend."""

    def __init__(self):
        self.calls = []

    def infer(self, descriptions, histories):
        self.calls.append((descriptions, histories))
        return [
            {"age": 40, "gender": Gender.FEMALE, "occupation": Occupation.MEDIA},
            None,
            {"age": 500, "occupation": 42},
        ]


def test_pluggable_inferrer_protocol():
    assert isinstance(RuleInferrer(), DemographicInferrer)
    fake = _FakeLLM()
    assert isinstance(fake, DemographicInferrer)
    users = pd.DataFrame({"description": ["a", "b", "c", None]})
    posts = pd.DataFrame({"user_index": [2, 0, 2], "text": ["p1", "p0", "p2"]})
    demo = assign_demographics(_network(4, users, posts), PARAMS, np.random.default_rng(0), inferrer=fake)
    ((descriptions, histories),) = fake.calls
    assert descriptions == ["a", "b", "c"] and histories == [["p0"], [], ["p1", "p2"]]
    assert (demo.age[0], demo.gender[0], demo.occupation[0]) == (40, Gender.FEMALE, Occupation.MEDIA)
    assert (demo.provenance[0] == Provenance.INFERRED).all()
    assert (demo.provenance[1] == Provenance.DRAWN).all()
    assert (demo.provenance[2] == Provenance.DRAWN).all()  # out-of-range answers are ignored


def test_rule_inferrer_protocol_answers():
    answers = RuleInferrer().infer(["大学生", "", ""], [[], ["我是医生"], ["hello"]])
    assert answers[0] == {"age": 20, "occupation": Occupation.UNEMPLOYED_STUDENT}
    assert answers[1] == {"occupation": Occupation.MEDICAL}
    assert answers[2] is None


def test_params_describe_themselves():
    for f in fields(DemographicParams):
        assert {"min", "max", "help"} <= set(f.metadata), f.name
    assert PARAMS.female_share == pytest.approx(875 / 2215, abs=0.001)
    assert PARAMS.age_shares.sum() == pytest.approx(1) and PARAMS.occupation_shares.sum() == pytest.approx(1)
    with pytest.raises(ValueError):
        DemographicParams(occupation_media=-0.1)


def test_to_frame_has_one_row_per_user():
    demo = _assign(["程序员", ""])
    frame = demo.to_frame()
    assert len(frame) == 2 and {"age", "gender", "occupation", "occupation_provenance"} <= set(frame.columns)


def test_history_without_stance_words_leaves_the_initial_attitude_unlean(text):
    from s3core.population import build_population

    posts = pd.DataFrame(
        [(0, "今天去了北京，天气一般"), (0, "下午开会"), (1, "赞！支持！"), (2, "谣言，太假了，骗人的")],
        columns=["user_index", "text"],
    )
    pop = build_population(
        _network(4, pd.DataFrame({"description": [""] * 4}), posts), PARAMS, text.model, np.random.default_rng(0)
    )
    assert np.isnan(pop.history_stance[0]), "neutral texts do not lean a user positive"
    assert pop.history_stance[1] == 1.0 and pop.history_stance[2] == 0.0
    assert np.isnan(pop.history_stance[3]), "no history at all"
