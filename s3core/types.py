"""Closed sets of the S3 model as enums, so states and actions are never bare strings."""

from __future__ import annotations

from enum import IntEnum


class Emotion(IntEnum):
    """Emotion intensity toward the event; calm until the user learns of it."""

    CALM = 0
    MODERATE = 1
    INTENSE = 2


class Attitude(IntEnum):
    """Binary attitude toward the event."""

    NEGATIVE = 0
    POSITIVE = 1


class Action(IntEnum):
    """Engagement actions after Qiu et al. 2025: the action is chosen before the text."""

    IGNORE = 0
    REPOST = 1
    QUOTE = 2
    POST = 3


class Source(IntEnum):
    """Where a message in a memory pool came from; S3 scores each source differently."""

    FOLLOWEE = 0
    MUTUAL = 1
    RECOMMENDED = 2
    OWN = 3


class UserCategory(IntEnum):
    """S3's three user groups by follower/followee balance and activity."""

    INFLUENTIAL = 0
    REGULAR = 1
    LOW_IMPACT = 2


class Gender(IntEnum):
    """Gender as inferred or given; UNKNOWN when nothing is known."""

    FEMALE = 0
    MALE = 1
    UNKNOWN = 2


class Occupation(IntEnum):
    """S3's ten occupation categories."""

    EDUCATION = 0
    ADMINISTRATIVE = 1
    UNEMPLOYED_STUDENT = 2
    ENGINEER = 3
    LABOR_WORKER = 4
    LOGISTICS = 5
    MEDICAL = 6
    FINANCIAL = 7
    MEDIA = 8
    ENTERTAINMENT_ARTS = 9


OCCUPATION_LABELS = {
    Occupation.EDUCATION: "education practitioner",
    Occupation.ADMINISTRATIVE: "administrative manager/officer",
    Occupation.UNEMPLOYED_STUDENT: "unemployed/student",
    Occupation.ENGINEER: "engineer",
    Occupation.LABOR_WORKER: "labor technician/worker",
    Occupation.LOGISTICS: "logistics practitioner",
    Occupation.MEDICAL: "medical personnel",
    Occupation.FINANCIAL: "financial practitioner",
    Occupation.MEDIA: "media personnel",
    Occupation.ENTERTAINMENT_ARTS: "entertainment and arts practitioner",
}


def label(member: IntEnum) -> str:
    """Human-readable label of any enum member, for charts and traces."""
    if isinstance(member, Occupation):
        return OCCUPATION_LABELS[member]
    return member.name.lower().replace("_", "-")
