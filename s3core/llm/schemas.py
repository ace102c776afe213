"""JSON schemas of every LLM reply, how they are asked for, and a validator for the subset of JSON Schema they use.

The same schema goes out (as OpenAI structured outputs, or in the prompt) and checks the reply
that comes back, so a provider that ignores ``response_format`` is held to the same contract.
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


def _share() -> dict:
    return {"type": "number", "minimum": 0, "maximum": 1}


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
    # Batched prompts (batching.py): one entry per agent, named by the id the prompt gave it.
    "decision_batch": _object(
        decisions={
            "type": "array",
            "items": _object(
                agent={"type": "string"}, emotion=_enum(EMOTIONS), attitude=_enum(ATTITUDES), action=_enum(ACTIONS)
            ),
        }
    ),
    "text_batch": _object(texts={"type": "array", "items": _object(agent={"type": "string"}, text={"type": "string"})}),
    # Archetypes (archetypes.py): one answer per cell of similar agents, from which each member draws.
    "archetype": _object(
        emotion=_object(**{e: _share() for e in EMOTIONS}),
        attitude=_object(**{a: _share() for a in ATTITUDES}),
        action=_object(**{a: _share() for a in ACTIONS}),
        texts={"type": "array", "items": {"type": "string"}},
    ),
    "interview": _object(answer={"type": "string"}),  # an agent's free answer to an interviewer (interview.py)
}
_NON_EMPTY = {"text": "text", "interview": "answer"}  # schemas whose one string must hold more than spaces
# A batched reply is accepted whole when its envelope fits; each entry is then checked on its own against the
# single-agent schema, so one bad entry falls back alone (batching.py).
_ENVELOPES = {
    "decision_batch": _object(decisions={"type": "array"}),
    "text_batch": _object(texts={"type": "array"}),
}


# How the reply's shape is asked for, strongest first; a provider that refuses one gets the next.
STRUCTURED_MODES = ("json_schema", "json_object", "prompt")


def response_format(name: str, mode: str = "json_schema") -> dict | None:
    """The OpenAI ``response_format`` for schema ``name`` in ``mode`` (None for ``prompt``: the schema goes in the prompt)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "prompt":
        return None
    raise ValueError(f"structured output mode {mode!r}: use one of {', '.join(STRUCTURED_MODES)}")


def step_down(mode: str) -> str | None:
    """The next weaker mode, or None after ``prompt``."""
    i = STRUCTURED_MODES.index(mode)
    return STRUCTURED_MODES[i + 1] if i + 1 < len(STRUCTURED_MODES) else None


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


_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)  # reasoning models' visible scratchpad
MAX_SCAN = 20_000  # characters of a reply searched for embedded JSON objects
SCHEMA_INSTRUCTION = "Reply with one JSON object only, with no other text, matching this JSON Schema: "


def schema_instruction(name: str) -> str:
    """The prompt text that carries schema ``name`` when the provider is not sent it as ``response_format``."""
    return SCHEMA_INSTRUCTION + json.dumps(SCHEMAS[name], ensure_ascii=False, separators=(",", ":"))


def json_objects(text: str) -> list[dict]:
    """Every top-level JSON object embedded in ``text`` (in fences, after prose, ...), in order of appearance."""
    decoder = json.JSONDecoder()
    found, i = [], text.find("{")
    while 0 <= i < min(len(text), MAX_SCAN):
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        i = text.find("{", end)
    return found


def _check(data, name: str) -> str | None:
    problems = validate(data, _ENVELOPES.get(name, SCHEMAS[name]))
    if problems:
        return "; ".join(problems[:3])
    if name in _NON_EMPTY and not data[_NON_EMPTY[name]].strip():
        return f"$.{_NON_EMPTY[name]}: empty"
    return None


def parse_reply(content: str | None, name: str) -> tuple[dict | None, str | None]:
    """(data, None) for a reply that carries exactly one JSON object fitting schema ``name``, else (None, why not).

    The object may be the whole reply or sit among other text: in a ```json fence, after a sentence of
    prose, after a <think> block. Several different objects that fit are ambiguous and refused.
    """
    if content is None or not content.strip():
        return None, "empty reply or refusal"
    try:
        whole = json.loads(content)
    except json.JSONDecodeError as exc:
        whole, why = None, f"not JSON ({exc.msg} at char {exc.pos})"
    if whole is not None:
        problem = _check(whole, name)
        return (whole, None) if problem is None else (None, problem)
    candidates = json_objects(_THINK.sub(" ", content))
    if not candidates:
        return None, f"{why}, and no JSON object found in the text"
    fitting = []
    for value in candidates:
        if _check(value, name) is None and value not in fitting:
            fitting.append(value)
    if len(fitting) == 1:
        return fitting[0], None
    if fitting:
        return None, f"ambiguous: {len(fitting)} different JSON objects in the reply fit the schema"
    return None, f"the JSON object in the reply does not fit: {_check(candidates[-1], name)}"
