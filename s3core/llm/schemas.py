"""JSON schemas of every LLM reply, and a validator for the subset of JSON Schema they use.

The same schema goes out as OpenAI structured outputs and checks the reply that comes back,
so a provider that ignores ``response_format`` is held to the same contract.
"""
from __future__ import annotations

import json
import re

from ..types import OCCUPATION_LABELS, Action, Attitude, Emotion, Occupation

EMOTIONS = [e.name.lower() for e in Emotion]
ATTITUDES = [a.name.lower() for a in Attitude]
ACTIONS = [a.name.lower() for a in Action]
OCCUPATIONS = [OCCUPATION_LABELS[o] for o in Occupation]
MAX_TEXT = 500  # characters kept of a written post


def _object(**properties) -> dict:
    """A closed object whose properties are all required (what strict structured outputs demand)."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _enum(values: list[str]) -> dict:
    return {"type": "string", "enum": list(values)}


SCHEMAS = {
    "decision": _object(emotion=_enum(EMOTIONS), attitude=_enum(ATTITUDES), action=_enum(ACTIONS)),
    "emotion": _object(emotion=_enum(EMOTIONS)),
    "attitude": _object(attitude=_enum(ATTITUDES)),
    "action": _object(action=_enum(ACTIONS)),
    "text": _object(text={"type": "string"}),
    "initial_attitude": _object(attitude=_enum(ATTITUDES)),
    "demographics": _object(
        age={"type": ["integer", "null"], "minimum": 10, "maximum": 100},
        gender=_enum(["female", "male", "unknown"]),
        occupation=_enum(OCCUPATIONS + ["unknown"]),
    ),
    "connection": _object(ok={"type": "boolean"}),
}


def response_format(name: str) -> dict:
    """The OpenAI ``response_format`` that asks for the named schema."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def validate(value, schema: dict, path: str = "$") -> list[str]:
    """Problems of ``value`` against ``schema`` (type, enum, properties, required,
    additionalProperties, items, minimum/maximum, minLength/maxLength); empty when valid."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, k) for k in kinds):
            return [f"{path}: expected {' or '.join(kinds)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    problems = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        problems += [f"{path}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{path}: unexpected {k!r}" for k in value if k not in props]
        for k, sub in props.items():
            if k in value:
                problems += validate(value[k], sub, f"{path}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += validate(item, schema["items"], f"{path}[{i}]")
    elif _is(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: {value} > maximum {schema['maximum']}")
    elif isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
    return problems


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def parse_reply(content: str | None, name: str) -> tuple[dict | None, str | None]:
    """(data, None) for a reply that parses and fits schema ``name``, else (None, why not)."""
    if content is None or not content.strip():
        return None, "empty reply or refusal"
    fenced = _FENCE.match(content)
    try:
        data = json.loads(fenced.group(1) if fenced else content)
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg} at char {exc.pos})"
    problems = validate(data, SCHEMAS[name])
    if problems:
        return None, "; ".join(problems[:3])
    if name == "text" and not data["text"].strip():
        return None, "$.text: empty"
    return data, None
