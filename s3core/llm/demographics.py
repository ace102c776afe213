"""S3's demographics module as LLM calls: age, gender and one of ten occupations from a user's text.

Implements ``s3core.demographics.DemographicInferrer``; pass it as ``inferrer=`` to
``assign_demographics``. Users whose call fails get None, so the usual draws fill them in.
"""

from __future__ import annotations

from ..demographics import VALID_AGE
from ..types import OCCUPATION_LABELS, Gender, Occupation
from . import prompts as P
from .cache import LLMCache
from .gateway import ChatRequest, Gateway
from .settings import LLMSettings

_GENDER = {"female": Gender.FEMALE, "male": Gender.MALE}
_OCCUPATION = {label: occ for occ, label in OCCUPATION_LABELS.items()}
BATCH = 2000  # users per concurrent batch, so a million users never sit in memory as prompts at once


class LLMDemographicInferrer:
    """Age, gender and occupation per user, one structured call each, cached like every other call."""

    def __init__(
        self,
        settings: LLMSettings,
        cache: LLMCache | None = None,
        gateway: Gateway | None = None,
        posts_shown: int = 10,
    ):
        self.gateway = gateway or Gateway(settings, cache)
        self.posts_shown = posts_shown

    def infer(self, descriptions: list[str], histories: list[list[str]]) -> list[dict | None]:
        out: list[dict | None] = []
        for start in range(0, len(descriptions), BATCH):
            chunk = range(start, min(start + BATCH, len(descriptions)))
            requests = [
                ChatRequest("demographics", P.demographics(descriptions[i] or "", list(histories[i]), self.posts_shown))
                for i in chunk
            ]
            out.extend(parse_answer(o.data) if o.ok else None for o in self.gateway.run(requests))
        return out

    @property
    def stats(self):
        return self.gateway.stats

    def close(self) -> None:
        self.gateway.close()


def parse_answer(data: dict) -> dict | None:
    """A validated reply as codes (``age`` years, ``gender`` Gender, ``occupation`` Occupation); None when it holds
    nothing usable. Ages outside ``VALID_AGE`` and words outside the vocabulary count as no answer."""
    guess: dict = {}
    age = data.get("age")
    if isinstance(age, (int, float)) and VALID_AGE[0] <= age <= VALID_AGE[1]:
        guess["age"] = int(round(age))
    if data.get("gender") in _GENDER:
        guess["gender"] = _GENDER[data["gender"]]
    if data.get("occupation") in _OCCUPATION:
        guess["occupation"] = Occupation(_OCCUPATION[data["occupation"]])
    return guess or None
