"""The closed set of LLM error classes, what to do about each, and the verdict on one model reply.

Transport failures are classified from the exception litellm raises (``client.classify``); a reply
that did arrive is judged here, the same way when it is fresh and when it is read from the cache.
"""

from __future__ import annotations

from enum import Enum

from .schemas import parse_reply


class ErrorKind(str, Enum):
    """Why one LLM call gave no usable answer; the value is what traces and counters store."""

    RATE_LIMIT = "rate_limit"  # 429
    TIMEOUT = "timeout"  # no answer within the timeout (or 408)
    SERVER = "server"  # 5xx
    CONNECTION = "connection"  # the endpoint could not be reached
    AUTH = "auth"  # 401/403: a bad request because of the key
    BAD_REQUEST = "bad_request"  # any other 4xx
    REFUSAL = "refusal"  # the model refused, or the provider's content filter stopped the reply
    LENGTH = "length"  # the reply was cut off at max_tokens
    INVALID = "invalid"  # a reply arrived but holds no JSON object that fits the schema
    OTHER = "other"  # an exception none of the above describes


RETRYABLE = frozenset({ErrorKind.TIMEOUT, ErrorKind.RATE_LIMIT, ErrorKind.SERVER, ErrorKind.CONNECTION})
FROM_MODEL = frozenset({ErrorKind.REFUSAL, ErrorKind.LENGTH, ErrorKind.INVALID})  # the model answered: cacheable

LABELS = {
    ErrorKind.RATE_LIMIT: "rate limit",
    ErrorKind.TIMEOUT: "timeout",
    ErrorKind.SERVER: "server error",
    ErrorKind.CONNECTION: "connection error",
    ErrorKind.AUTH: "authentication",
    ErrorKind.BAD_REQUEST: "bad request",
    ErrorKind.REFUSAL: "refusal or content filter",
    ErrorKind.LENGTH: "cut off at max tokens",
    ErrorKind.INVALID: "invalid reply",
    ErrorKind.OTHER: "other error",
}
HINTS = {
    ErrorKind.RATE_LIMIT: "lower --concurrency, add --deployment keys, or raise --retries",
    ErrorKind.TIMEOUT: "raise --timeout or lower --concurrency",
    ErrorKind.SERVER: "the provider failed; retry later or raise --retries",
    ErrorKind.CONNECTION: "check --api-base and that the server is running",
    ErrorKind.AUTH: (
        "check the API key (--api-key-env or the provider's usual variable); a local server needs none: "
        "give its --api-base"
    ),
    ErrorKind.BAD_REQUEST: "check --model, and try --structured-output prompt",
    ErrorKind.REFUSAL: "the model or the provider's filter declined; try another model",
    ErrorKind.LENGTH: "raise --max-tokens (Max tokens on the Agents page)",
    ErrorKind.INVALID: "try --structured-output json_schema, or a stronger model",
    ErrorKind.OTHER: "see the error column of llm_calls in the trace",
}


def label(kind: str) -> str:
    """A reader's name for an error class (the stored value for unknown ones)."""
    try:
        return LABELS[ErrorKind(kind)]
    except ValueError:
        return kind


def hint(kind: str) -> str:
    try:
        return HINTS[ErrorKind(kind)]
    except ValueError:
        return ""


def judge(
    content: str | None, finish_reason: str | None, refusal: str | None, schema: str, max_tokens: int
) -> tuple[dict | None, ErrorKind | None, str | None]:
    """(data, None, None) for a usable reply, else (None, kind, why) with kind REFUSAL, LENGTH or INVALID.

    A reply cut off at ``max_tokens`` that still holds a complete fitting object is used; otherwise the
    cause is named with the setting to raise, since asking again with the same limit cuts it again.
    """
    if finish_reason == "content_filter":
        return None, ErrorKind.REFUSAL, "the provider's content filter stopped the reply"
    if refusal and not (content or "").strip():
        return None, ErrorKind.REFUSAL, f"refused: {refusal}"[:500]
    data, problem = parse_reply(content, schema)
    if data is not None:
        return data, None, None
    if finish_reason == "length":
        return (
            None,
            ErrorKind.LENGTH,
            (
                f"the reply was cut off at max_tokens={max_tokens} before its JSON was complete; "
                "raise max tokens (--max-tokens, or Max tokens on the Agents page)"
            ),
        )
    return None, ErrorKind.INVALID, problem
