"""Agents' age, gender and occupation: given columns first, then text inference, then draws from shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .network import Network
from .profiles import ProfileValues
from .types import Gender, Occupation

AGE_BRACKETS = ((13, 17), (18, 24), (25, 34), (35, 44), (45, 59), (60, 79))  # inclusive years; draws are uniform within
VALID_AGE = (10, 100)  # loaders refuse ages outside this range; inferred ones outside it count as unknown
MAX_POSTS = 50  # posts per user that the rules read; self-descriptions rarely hide deeper
PROVENANCE_COLUMNS = ("age", "gender", "occupation")


class Provenance(IntEnum):
    """Where an attribute value came from, so charts can separate data from assumptions."""

    GIVEN = 0
    INFERRED = 1  # by the offline text rules (or an inferrer passed in code)
    DRAWN = 2
    PROFILED = 3  # from the scenario's profiles file (e.g. inferred by an LLM with ``s3core profile``)


def _share(default: float, what: str) -> float:
    """A share field with the dashboard metadata every population share carries."""
    return field(
        default=default,
        metadata={
            "min": 0.0,
            "max": 1.0,
            "help": f"Share of {what} among users whose value is drawn (assumed Weibo-like default, to be calibrated; shares are renormalized).",
        },
    )


@dataclass(frozen=True)
class DemographicParams:
    """Population shares used only where neither the users table nor the text says anything."""

    # Fitted: weibo-ced sources.parquet, one row per distinct user_id, users with a known
    # user_gender: 875 'f' of 2,215 = 0.395 (source authors, who skew to verified and media accounts).
    female_share: float = field(
        default=0.395,
        metadata={
            "min": 0.0,
            "max": 1.0,
            "help": "Share of women among drawn genders; default fitted on weibo-ced source authors (875 of 2,215 users with known gender).",
        },
    )
    age_under_18: float = _share(0.06, "ages 13-17")
    age_18_24: float = _share(0.30, "ages 18-24")
    age_25_34: float = _share(0.35, "ages 25-34")
    age_35_44: float = _share(0.17, "ages 35-44")
    age_45_59: float = _share(0.09, "ages 45-59")
    age_60_plus: float = _share(0.03, "ages 60-79")
    occupation_education: float = _share(0.07, "education practitioners")
    occupation_administrative: float = _share(0.12, "administrative managers/officers")
    occupation_unemployed_student: float = _share(0.30, "the unemployed and students (all drawn minors are students)")
    occupation_engineer: float = _share(0.10, "engineers")
    occupation_labor_worker: float = _share(0.12, "labor technicians/workers")
    occupation_logistics: float = _share(0.05, "logistics practitioners")
    occupation_medical: float = _share(0.05, "medical personnel")
    occupation_financial: float = _share(0.06, "financial practitioners")
    occupation_media: float = _share(0.06, "media personnel")
    occupation_entertainment_arts: float = _share(0.07, "entertainment and arts practitioners")
    reference_year: int = field(
        default=2023,
        metadata={
            "min": 2009,
            "max": 2035,
            "help": "Year at which ages are counted from text cues such as '90后' or a birth year; set it to the dataset's year.",
        },
    )

    def __post_init__(self) -> None:
        for name, shares in (("age", self.age_shares_raw), ("occupation", self.occupation_shares_raw)):
            if (shares < 0).any() or shares.sum() <= 0:
                raise ValueError(f"{name} shares must be non-negative with a positive sum")
        if not 0.0 <= self.female_share <= 1.0:
            raise ValueError("female_share must be in [0, 1]")

    @property
    def age_shares_raw(self) -> np.ndarray:
        return np.array(
            [self.age_under_18, self.age_18_24, self.age_25_34, self.age_35_44, self.age_45_59, self.age_60_plus]
        )

    @property
    def occupation_shares_raw(self) -> np.ndarray:
        return np.array([getattr(self, f"occupation_{o.name.lower()}") for o in Occupation])

    @property
    def age_shares(self) -> np.ndarray:
        """Bracket shares in AGE_BRACKETS order, summing to one."""
        return self.age_shares_raw / self.age_shares_raw.sum()

    @property
    def occupation_shares(self) -> np.ndarray:
        """Occupation shares in Occupation code order, summing to one."""
        return self.occupation_shares_raw / self.occupation_shares_raw.sum()


@dataclass(frozen=True, eq=False)
class Demographics:
    """Per-user attributes aligned with ``network.user_ids``.

    ``provenance`` is int8 of shape (n_users, 3), one Provenance code per attribute in
    PROVENANCE_COLUMNS order (age, gender, occupation), since each can come from a different place.
    """

    age: np.ndarray  # int16 years
    gender: np.ndarray  # int8 Gender (never UNKNOWN: unknowns are drawn)
    occupation: np.ndarray  # int8 Occupation
    provenance: np.ndarray  # int8 (n_users, 3) Provenance

    def source(self, attribute: str) -> np.ndarray:
        """Provenance codes of one attribute ('age', 'gender' or 'occupation')."""
        return self.provenance[:, PROVENANCE_COLUMNS.index(attribute)]

    def to_frame(self) -> pd.DataFrame:
        """One row per user, for inspectors and exports."""
        frame = pd.DataFrame({"age": self.age, "gender": self.gender, "occupation": self.occupation})
        for j, name in enumerate(PROVENANCE_COLUMNS):
            frame[f"{name}_provenance"] = self.provenance[:, j]
        return frame


@runtime_checkable
class DemographicInferrer(Protocol):
    """Guesses attributes from text; the offline rules below and a later LLM backend both fit."""

    def infer(self, descriptions: list[str], histories: list[list[str]]) -> list[dict | None]:
        """Per user a dict with any of 'age' (int), 'gender' (Gender), 'occupation' (Occupation), or None."""
        ...


# ---- rules -----------------------------------------------------------------------------------
# Patterns are RE2 (run by pyarrow, ~20x faster than Python's re on a million texts), so there
# are no look-arounds: guards are spelled as character classes, and mentions of other people
# (我妈妈..., my wife...) are blanked out before the bare cues run. Descriptions are about their
# author, so bare keywords count there; posts talk about anyone (an event about a teacher says
# 老师 everywhere), so in posts a keyword counts only after a first-person lead (我是, I'm a).


def _en(words: str) -> str:
    """Lower-case English alternatives as whole words (plural allowed)."""
    return rf"\b(?:{words})s?\b"


_LEAD = r"(?:我是一?[名个位]?|我一个|本人是?|作为一?[名个位]?|身为一?[名个位]?|\b(?:i am|i'm|im|as) an?\s)\s?[^，。！？,.!?\n]{0,6}?"
_NOISE = r"(?s)//@.*|@[^\s:：,，@]+|《[^》]*》|https?://\S+"  # reposted text below //@ is someone else's; names and titles are not the author
_ANY_LEAD = r"我|作为|身为|本人|\b(?:i am|i'm|im|as an?|my)\b"  # every post rule starts with one of these
_KIN = "妈妈|妈咪|母亲|老妈|爸爸|父亲|老爸|奶奶|爷爷|外婆|外公|姥姥|姥爷|老公|丈夫|先生|老婆|媳妇|妻子|太太|女儿|儿子|孩子|宝宝|男朋友|女朋友|哥哥|姐姐|弟弟|妹妹"
_OTHERS = (
    rf"(?:我|他|她|咱|俺|你)(?:的|家)?(?:{_KIN})[^，。！？,.!?;；\n]*"
    r"|\b(?:my|his|her|your|our) (?:mom|mother|mum|mama|dad|father|husband|hubby|wife|wifey|boyfriend|girlfriend|son|daughter|kid|brother|sister|grandma|grandpa|grandmother|grandfather|boss|friend)s?\b[^,.!?;\n]*"
)
# Occupation rules in priority order: the first that matches wins ('音乐老师' is a teacher,
# '银行经理' financial); students come last because 学生/大学 also appear inside other titles.
_OCCUPATION_RULES = (
    (
        Occupation.MEDICAL,
        "医生|护士|医师|大夫|药剂师|牙医|护理|医护|医务|白衣天使|"
        + _en("doctor|nurse|physician|surgeon|pharmacist|dentist|paramedic"),
    ),
    (
        Occupation.EDUCATION,
        "老师|教师|教授|讲师|班主任|辅导员|幼师|教育工作者|" + _en("teacher|professor|lecturer|tutor|educator"),
    ),
    (
        Occupation.LOGISTICS,
        "司机|快递|物流|外卖|骑手|货运|仓储|配送员|驾驶员|" + _en("driver|courier|delivery|logistics|trucker"),
    ),
    (
        Occupation.ENGINEER,
        "工程师|程序员|码农|架构师|开发者|软件开发|算法|" + _en("engineer|developer|programmer|software|coder"),
    ),
    (
        Occupation.FINANCIAL,
        "银行|金融|基金|证券|投行|会计|理财|保险|财务|"
        + _en("bank|banker|banking|finance|financial|accountant|investor|trader|insurance"),
    ),
    (
        Occupation.MEDIA,
        "记者|编辑|媒体|主编|撰稿人?|主持人|新闻|博主|" + _en("journalist|reporter|editor|columnist|blogger|media"),
    ),
    (
        Occupation.ENTERTAINMENT_ARTS,
        "演员|歌手|音乐人|艺人|导演|画家|舞者|舞蹈|摄影师|作家|艺术家|设计师|"
        + _en("actor|actress|singer|musician|artist|painter|dancer|photographer|writer|designer"),
    ),
    (
        Occupation.LABOR_WORKER,
        "工人|技工|电工|焊工|农民|工厂|车间|流水线|木匠|装修|"
        + _en("worker|technician|electrician|mechanic|farmer|plumber|welder|carpenter"),
    ),
    # lawyers, judges and police go with officers: the closest of S3's ten categories
    (
        Occupation.ADMINISTRATIVE,
        "公务员|经理|总监|主管|总裁|董事|创始人|老板|行政|干部|律师|法官|检察官|警察|民警|"
        + _en("manager|director|executive|ceo|founder|officer|civil servant|lawyer|attorney|police"),
    ),
    (
        Occupation.UNEMPLOYED_STUDENT,
        "学生(?:[^物]|$)|在读|本科|研究生|博士生|考研|大[一二三四](?:[^点些统]|$)|高[一二三](?:学生|党|狗)|待业|无业|失业|退休|家庭主妇|全职妈妈|宝妈|"
        + _en("student|undergrad|freshman|sophomore|unemployed|retired|homemaker|housewife"),
    ),
)
# A self-reference counts only before anything that hands the text to someone else: a quotation
# mark, reported speech (说：) or, at the very start, a colon (a quoted '@user: ...' post) or a
# 转 (copied) marker. Weibo posts retell news and others' words in the first person.
_UNQUOTED = r'(?:[^“”「」『』"说]|说[^:：，,“”「」『』"])'
_OWN_VOICE = rf'^(?:\s*(?:[^\s:：转“”「」『』"说]|说[^:：，,“”「」『』"]){_UNQUOTED}*?)?'
_GENDER_SELF = {  # run on the raw text, descriptions and posts alike
    Gender.FEMALE: _OWN_VOICE
    + r"(?:我(?:的|家)?(?:老公|丈夫|先生|男朋友|男友|男人)|(?:作为|身为|我是)一?[个名位]?(?:女生|女孩子?|女人|女性|妈妈|母亲|宝妈)|\bmy (?:husband|hubby|boyfriend)\b|\b(?:i am|i'm|as) an? (?:woman|girl|mother|mom|mum|wife)\b)",
    Gender.MALE: _OWN_VOICE
    + r"(?:我(?:的|家)?(?:老婆|媳妇|妻子|太太|女朋友|女友)|(?:作为|身为|我是)一?[个名位]?(?:男生|男孩子?|男人|男性|爸爸|父亲|宝爸)|\bmy (?:wife|wifey|girlfriend)\b|\b(?:i am|i'm|as) an? (?:man|guy|boy|father|dad|husband)\b)",
}
_GENDER_BARE = {  # descriptions only, after other people are blanked out
    Gender.FEMALE: "女生|女孩|女汉子|小女子|本姑娘|姑娘|少女|孕妈|准妈妈|宝妈|家庭主妇|妈妈|妈咪|奶奶|外婆|(?:好|的)(?:妻子|老婆|太太)|she/her|she/they|"
    + _en("mom|mother|mum|mama|wife|girl|woman|lady|grandma|grandmother|housewife"),
    Gender.MALE: "男生|男孩|男人|男子汉|汉子|爷们|小伙|大叔|宝爸|奶爸|爸爸|爷爷|外公|(?:好|的)(?:丈夫|老公)|he/him|he/they|"
    + _en("dad|father|husband|boy|guy|gentleman|grandpa|grandfather"),
}
_N = r"(?P<n>1[2-9]|[2-8]\d)"
_AGE_BARE = (
    rf"(?:^|[^\d.]){_N}岁(?:[^宝娃孩的]|的[^宝娃孩女儿]|$)",
    rf"\b(?:i am|i'm|im|aged?) {_N}(?:[^\d%]|$)",
    rf"(?:^|\D){_N} ?(?:years old|yrs old|y/o|yo)\b",
)
_AGE_SELF = (rf"我今年{_N}岁", rf"我{_N}岁了", rf"\b(?:i am|i'm) {_N} years old")
_YEAR = r"(?P<n>19[3-9]\d|20[01]\d)"
_BIRTH_YEAR = (rf"(?:^|\D){_YEAR}年(?:出?生|生人)", rf"生于{_YEAR}", rf"\bborn (?:in )?{_YEAR}")
_COHORT = r"(?P<n>60|65|70|75|80|85|90|95|00|05|10|[六七八九零][零五])后(?:[^面来]|$)"
_CHINESE_DIGITS = str.maketrans("零五六七八九", "056789")
_STAGE_AGES = (  # life stages that pin the age roughly; first match wins
    ("初中生|初[一二三]学生|中学生(?:[^物]|$)", 14),
    ("高中生|高考生|高[一二三](?:学生|党|狗)", 17),
    ("大学生|大[一二三四](?:[^点些统]|$)|本科生|" + _en("undergrad|freshman|sophomore|college student"), 20),
    ("研究生|硕士在读|研[一二三](?:[^究发]|$)|考研|" + _en("grad student|masters? student|graduate student"), 24),
    ("博士生|博士在读|读博|" + _en("phd student|phd candidate|doctoral student"), 27),
    ("学生(?:[^物]|$)|" + _en("student"), 19),
    ("退休|奶奶|爷爷|外婆|外公|" + _en("retired|retiree|grandma|grandpa|grandmother|grandfather"), 65),
)


class RuleInferrer:
    """Offline keyword rules in Chinese and English, vectorized: one RE2 pass per rule over all texts."""

    def __init__(self, reference_year: int = 2023) -> None:
        self.reference_year = reference_year

    def infer(self, descriptions: list[str], histories: list[list[str]]) -> list[dict | None]:
        """The protocol form; `assign_demographics` calls `infer_arrays` directly and skips the dicts."""
        owner = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
        found = self.infer_arrays(descriptions, owner, [post for h in histories for post in h])
        out: list[dict | None] = []
        for i in range(len(descriptions)):
            guess = {
                name: kind(int(found[name][i]))
                for name, kind in (("age", int), ("gender", Gender), ("occupation", Occupation))
                if not np.isnan(found[name][i])
            }
            out.append(guess or None)
        return out

    def infer_arrays(self, descriptions, post_owner: np.ndarray, post_texts) -> dict[str, np.ndarray]:
        """Float arrays age, gender, occupation (NaN = no cue) per description; descriptions beat posts."""
        m = len(descriptions)
        desc = self._scan(descriptions, own_words=True)
        hist = self._scan(post_texts, own_words=False)
        post_owner = np.asarray(post_owner, dtype=np.int64)
        out = {}
        for name in PROVENANCE_COLUMNS:
            own = _per_owner(desc[name], np.arange(m), m, name)
            out[name] = np.where(np.isnan(own), _per_owner(hist[name], post_owner, m, name), own)
        return out

    def _scan(self, texts, own_words: bool) -> dict[str, np.ndarray]:
        """Per text: age, gender code, and (k, 10) occupation matches in priority order."""
        raw = pc.utf8_lower(pa.array(texts, type=pa.large_string())).fill_null("")
        raw = pc.replace_substring_regex(raw, _NOISE, " ")
        out = {
            "age": np.full(len(raw), np.nan),
            "gender": np.full(len(raw), np.nan),
            "occupation": np.zeros((len(raw), len(_OCCUPATION_RULES)), dtype=bool),
        }
        rows = np.arange(len(raw)) if own_words else np.flatnonzero(_match(raw, _ANY_LEAD))  # posts need a lead
        if len(rows):
            for name, values in self._scan_rows(raw.take(pa.array(rows)), own_words).items():
                out[name][rows] = values
        return out

    def _scan_rows(self, raw: pa.Array, own_words: bool) -> dict[str, np.ndarray]:
        """`_scan` on rows that can match at all (every post rule needs a first-person lead)."""
        clean = pc.replace_substring_regex(raw, _OTHERS, "|")
        lead = "" if own_words else _LEAD
        rules = [f"{lead}(?:{pattern})" for _, pattern in _OCCUPATION_RULES]
        occupation = np.zeros((len(raw), len(rules)), dtype=bool)
        hit = np.flatnonzero(_match(clean, "|".join(rules)))
        if len(hit):
            subset = clean.take(pa.array(hit))
            occupation[hit] = np.column_stack([_match(subset, rule) for rule in rules])
        female, male = (
            _match(raw, _GENDER_SELF[g]) | (_match(clean, _GENDER_BARE[g]) if own_words else False)
            for g in (Gender.FEMALE, Gender.MALE)
        )
        gender = np.where(female & ~male, float(Gender.FEMALE), np.where(male & ~female, float(Gender.MALE), np.nan))
        return {"age": self._ages(clean, own_words), "gender": gender, "occupation": occupation}

    def _ages(self, text: pa.Array, own_words: bool) -> np.ndarray:
        """Explicit age, then birth year, then '90后' cohort, then life stage; NaN where none fires."""
        age = _first_number(text, _AGE_BARE if own_words else _AGE_SELF)
        if own_words:
            age = np.where(np.isnan(age), self.reference_year - _first_number(text, _BIRTH_YEAR), age)
        lead = r"(?:^|\D)" if own_words else r"(?:我是|作为一?[个名]?|身为一?[个名]?|我们)"
        cohort = (
            pc.struct_field(pc.extract_regex(text, lead + _COHORT), "n")
            .to_pandas()
            .astype(object)
            .str.translate(_CHINESE_DIGITS)
        )
        two = pd.to_numeric(cohort, errors="coerce").to_numpy(dtype=np.float64)
        birth = np.where(two >= 30, 1900, 2000) + two + np.where(two % 10 == 5, 2, 5)  # middle of the cohort
        age = np.where(np.isnan(age), self.reference_year - birth, age)
        stage_lead = "" if own_words else _LEAD
        for pattern, stage_age in _STAGE_AGES:
            unknown = np.isnan(age)
            if not unknown.any():
                break
            age[unknown & _match(text, f"{stage_lead}(?:{pattern})")] = stage_age
        age[(age < VALID_AGE[0]) | (age > VALID_AGE[1])] = np.nan
        return age


def _match(text: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False).astype(bool)


def _first_number(text: pa.Array, patterns: tuple[str, ...]) -> np.ndarray:
    """The number (group ``n``) of the first pattern that matches, as float; NaN where none does."""
    out = np.full(len(text), np.nan)
    for pattern in patterns:
        found = pc.struct_field(pc.extract_regex(text, pattern), "n")
        number = pc.cast(found, pa.float64()).to_numpy(zero_copy_only=False)
        out = np.where(np.isnan(out), number, out)
    return out


def _per_owner(values: np.ndarray, owner: np.ndarray, m: int, name: str) -> np.ndarray:
    """Post-level cues pooled per user: first age, one-sided gender, highest-priority occupation."""
    out = np.full(m, np.nan)
    if name == "occupation":
        any_post = np.column_stack([np.bincount(owner[values[:, j]], minlength=m) > 0 for j in range(values.shape[1])])
        codes = np.array([code for code, _ in _OCCUPATION_RULES], dtype=np.float64)
        return np.where(any_post.any(axis=1), codes[any_post.argmax(axis=1)], np.nan)
    if name == "gender":
        female = np.bincount(owner[values == Gender.FEMALE], minlength=m) > 0
        male = np.bincount(owner[values == Gender.MALE], minlength=m) > 0
        return np.where(female & ~male, float(Gender.FEMALE), np.where(male & ~female, float(Gender.MALE), np.nan))
    valid = np.flatnonzero(~np.isnan(values))
    users, first = np.unique(owner[valid], return_index=True)  # first post, in given order, that states an age
    out[users] = values[valid[first]]
    return out


# ---- assignment -------------------------------------------------------------------------------


def assign_demographics(
    network: Network,
    params: DemographicParams,
    rng: np.random.Generator,
    inferrer: DemographicInferrer | None = None,
    profiles: ProfileValues | None = None,
) -> Demographics:
    """Given users columns win, then a profiles file's values, then the inferrer (rules by default) on users
    with text, then draws.

    Every user gets a draw whatever else is known, so one user's value never depends on which
    other users had data; drawn minors are students and adults' occupation shares are adjusted
    so the overall occupation mix still matches ``params``.
    """
    n = network.n_users
    users = network.users if network.users is not None else pd.DataFrame(index=range(n))
    values = [
        _given_age(users, n),
        _given_code(users, "gender", n, 2),
        _given_code(users, "occupation", n, len(Occupation)),
    ]
    provenance = np.full((n, 3), Provenance.DRAWN, dtype=np.int8)
    for j, value in enumerate(values):
        provenance[~np.isnan(value), j] = Provenance.GIVEN
    if profiles is not None:
        for j, name in enumerate(PROVENANCE_COLUMNS):
            fill = np.isnan(values[j]) & ~np.isnan(getattr(profiles, name))
            values[j][fill] = getattr(profiles, name)[fill]
            provenance[fill, j] = Provenance.PROFILED

    todo = np.flatnonzero(np.isnan(np.column_stack(values)).any(axis=1) & _has_text(network, users))
    if len(todo):
        inferred = _infer(network, users, todo, inferrer or RuleInferrer(params.reference_year))
        for j, name in enumerate(PROVENANCE_COLUMNS):
            fill = np.isnan(values[j][todo]) & ~np.isnan(inferred[name])
            values[j][todo[fill]] = inferred[name][fill]
            provenance[todo[fill], j] = Provenance.INFERRED

    bracket = rng.choice(len(AGE_BRACKETS), size=n, p=params.age_shares)
    low = np.array([b[0] for b in AGE_BRACKETS])[bracket]
    high = np.array([b[1] for b in AGE_BRACKETS])[bracket]
    drawn_age = low + np.floor(rng.random(n) * (high - low + 1))
    drawn_gender = np.where(rng.random(n) < params.female_share, Gender.FEMALE, Gender.MALE)
    occupation_u = rng.random(n)

    age = np.where(np.isnan(values[0]), drawn_age, values[0]).astype(np.int16)
    gender = np.where(np.isnan(values[1]), drawn_gender, values[1]).astype(np.int8)
    drawn_occupation = _draw_occupation(occupation_u, age < 18, params)
    occupation = np.where(np.isnan(values[2]), drawn_occupation, values[2]).astype(np.int8)
    return Demographics(age=age, gender=gender, occupation=occupation, provenance=provenance)


def _draw_occupation(u: np.ndarray, minor: np.ndarray, params: DemographicParams) -> np.ndarray:
    """Minors are students; adults follow the shares less the students the minors already account for."""
    shares = params.occupation_shares.copy()
    student = int(Occupation.UNEMPLOYED_STUDENT)
    shares[student] = max(shares[student] - params.age_shares[0], 0.0)
    adult_cdf = np.cumsum(shares / shares.sum())
    adult = np.minimum(np.searchsorted(adult_cdf, u, side="right"), len(shares) - 1)
    return np.where(minor, student, adult)


def _given_age(users: pd.DataFrame, n: int) -> np.ndarray:
    """Ages from the users table; the file loaders already refuse ages outside VALID_AGE, so only
    a table built in code can still hold one here, and such an age counts as unknown."""
    if "age" not in users:
        return np.full(n, np.nan)
    age = pd.to_numeric(users["age"], errors="coerce").to_numpy(dtype=np.float64).copy()
    age[(age < VALID_AGE[0]) | (age > VALID_AGE[1])] = np.nan
    return np.round(age)


_GENDER_WORDS = {"f": 0, "female": 0, "woman": 0, "女": 0, "m": 1, "male": 1, "man": 1, "男": 1}


def _given_code(users: pd.DataFrame, column: str, n: int, n_codes: int) -> np.ndarray:
    """Int codes (or names: 'f'/'男', 'engineer') as floats; NaN for missing, UNKNOWN or out of range."""
    if column not in users:
        return np.full(n, np.nan)
    raw = users[column]
    codes = pd.to_numeric(raw, errors="coerce")
    if not pd.api.types.is_numeric_dtype(raw):
        words = _GENDER_WORDS if column == "gender" else {o.name.lower(): int(o) for o in Occupation}
        named = raw.astype("string").str.strip().str.lower().map(words)
        codes = codes.fillna(pd.to_numeric(named, errors="coerce"))
    codes = codes.to_numpy(dtype=np.float64).copy()
    codes[~np.isin(codes, np.arange(n_codes))] = np.nan
    return codes


def _has_text(network: Network, users: pd.DataFrame) -> np.ndarray:
    has = np.zeros(network.n_users, dtype=bool)
    if "description" in users:
        has |= (users["description"].astype("string").str.strip().str.len().fillna(0) > 0).to_numpy()
    return has | (network.activity() > 0)


def _infer(
    network: Network, users: pd.DataFrame, todo: np.ndarray, inferrer: DemographicInferrer
) -> dict[str, np.ndarray]:
    """Run the inferrer over the users in ``todo``; float arrays (NaN = no guess) per attribute."""
    if "description" in users:
        descriptions = users["description"].iloc[todo].astype(object).fillna("").astype(str).tolist()
    else:
        descriptions = [""] * len(todo)
    owner, texts = _posts_of(network, todo)
    if isinstance(inferrer, RuleInferrer):
        return inferrer.infer_arrays(descriptions, owner, texts)
    split = np.searchsorted(owner, np.arange(1, len(todo)))  # owner is sorted
    histories = [list(chunk) for chunk in np.split(np.asarray(texts, dtype=object), split)]
    answers = inferrer.infer(descriptions, histories)
    out = {name: np.full(len(todo), np.nan) for name in PROVENANCE_COLUMNS}
    for i, answer in enumerate(answers):  # per user only on this path, which is the LLM's
        for name in PROVENANCE_COLUMNS:
            if answer and answer.get(name) is not None:
                out[name][i] = float(answer[name])
    out["age"][(out["age"] < VALID_AGE[0]) | (out["age"] > VALID_AGE[1])] = np.nan
    out["gender"][~np.isin(out["gender"], [Gender.FEMALE, Gender.MALE])] = np.nan
    out["occupation"][~np.isin(out["occupation"], np.arange(len(Occupation)))] = np.nan
    return out


def _posts_of(network: Network, todo: np.ndarray) -> tuple[np.ndarray, list]:
    """Up to MAX_POSTS texts per user in ``todo``: (position in todo, sorted; text), in table order."""
    posts = network.posts
    if posts is None or len(posts) == 0:
        return np.zeros(0, dtype=np.int64), []
    position = np.full(network.n_users, -1, dtype=np.int64)
    position[todo] = np.arange(len(todo))
    owner = position[posts["user_index"].to_numpy()]
    keep = np.flatnonzero((owner >= 0) & posts["text"].notna().to_numpy())
    order = keep[np.argsort(owner[keep], kind="stable")]
    owner = owner[order]
    row = np.arange(len(owner))
    run_start = np.maximum.accumulate(np.where(np.r_[True, owner[1:] != owner[:-1]], row, 0))
    first = row - run_start < MAX_POSTS
    return owner[first], posts["text"].iloc[order[first]].astype(str).tolist()
