"""A scripted OpenAI-compatible chat server on 127.0.0.1, for the LLM tests and the benchmark.

It answers ``POST /v1/chat/completions`` with a reply that fits the request's JSON schema (from
``response_format``, else from the schema the client put in the prompt), or with whatever a test
scripted: malformed JSON, the JSON among prose or in a fence, a refusal, a content filter, a reply
cut off at max_tokens, a slow reply, 429 with or without Retry-After / retry-after-ms, 400, 500,
or a stall longer than the client's timeout. ``accepts`` lists the ``response_format`` types it
supports; others get the 400 a provider without structured outputs sends. It counts requests and
keeps their bodies, headers and arrival times.

Run standalone (the benchmark does): ``python tests/llm_server.py --port 0 --latency 0.2``
prints ``PORT <n>`` on stdout and serves until killed; ``GET /stats`` returns ``{"requests": n}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BEHAVIOURS = (
    "valid",
    "malformed",
    "refusal",
    "slow",
    "429",
    "500",
    "401",
    "400",
    "timeout",
    "empty",
    "prose_fence",
    "prose",
    "think",
    "two_objects",
    "length",
    "content_filter",
    "batch_one_bad",  # batched requests: the first agent's entry off-schema (an unknown emotion, or an empty text)
    "batch_missing_one",  # batched requests: the last agent's entry left out
    "batch_duplicate_one",  # batched requests: the first agent answered twice, differently
)
# "429;Retry-After=2" or "429;retry-after-ms=2000": a 429 carrying that header
FORMATS = ("json_schema", "json_object", None)  # None: no response_format
SCHEMA_MARKER = "JSON Schema: "  # where s3core puts the schema in the prompt when it is not sent as response_format
AGENT_MARKER = re.compile(r"\[agent (A\d+)\]")  # s3core.llm.batching.AGENT_MARKER: an agent's block in a batched prompt


def instance_of(schema: dict, seed: str) -> object:
    """A deterministic value that satisfies ``schema`` (the subset s3core uses), chosen by ``seed``."""
    h = int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16)
    if "enum" in schema:
        values = schema["enum"]
        return values[h % len(values)]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return {k: instance_of(v, seed + "/" + k) for k, v in schema.get("properties", {}).items()}
    if kind == "integer":
        lo, hi = schema.get("minimum", 0), schema.get("maximum", 100)
        return lo + h % (hi - lo + 1)
    if kind == "number":  # spread over [minimum, maximum] (default [0, 1]), e.g. archetype probabilities
        lo, hi = float(schema.get("minimum", 0.0)), float(schema.get("maximum", 1.0))
        return round(lo + (hi - lo) * (h % 1000) / 999, 3)
    if kind == "boolean":
        return bool(h % 2)
    if kind == "array":
        return [instance_of(schema.get("items", {}), seed + "/0")]
    return f"模拟文本 {h % 1000}：这件事值得关注。"


class ScriptedServer:
    """The server, its request counter and its script; use as a context manager."""

    def __init__(self, latency: float = 0.0, default: str = "valid", port: int = 0):
        self.latency = latency
        self.default = default
        self.script: deque[str] = deque()  # behaviours for the next requests, then ``default``
        self.rule = None  # optional callable(body) -> behaviour or None, consulted before the script
        self.timeout_stall = 5.0
        self.accepts: set = set(FORMATS)  # response_format types answered; others get a 400 naming response_format
        self.models: set | None = None  # when set, other model names get the 404 vLLM sends for an unknown model
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.times: list[float] = []  # time.monotonic() at each request's arrival
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 512
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.headers.clear()
            self.times.clear()
            self.accepts = set(FORMATS)
            self.models = None
            self.script.clear()
            self.rule = None
            self.max_in_flight = 0

    def start(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _next_behaviour(self, body: dict) -> str:
        with self._lock:
            self.requests.append(body)
            self.times.append(time.monotonic())
            fmt = (body.get("response_format") or {}).get("type")
            if self.models is not None and body.get("model") not in self.models:
                return "unknown_model"
            if fmt not in self.accepts:
                return "unsupported_format"
            if self.rule is not None:
                chosen = self.rule(body)
                if chosen:
                    return chosen
            return self.script.popleft() if self.script else self.default

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path.rstrip("/").endswith("/stats"):
                    return self._send(200, {"requests": server.count})
                self._send(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                with server._lock:
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                self._answer(body)

            def _answer(self, body: dict):
                behaviour = server._next_behaviour(body)
                if server.latency:  # in flight = waiting here (counted before any reply byte is sent)
                    with server._lock:
                        server.in_flight += 1
                        server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    time.sleep(server.latency)
                    with server._lock:
                        server.in_flight -= 1
                if behaviour == "401":  # echoes the key, as a careless real server might
                    auth = self.headers.get("Authorization", "")
                    return self._send(
                        401,
                        {"error": {"message": f"Incorrect API key provided: {auth}", "type": "invalid_request_error"}},
                    )
                if behaviour == "unknown_model":
                    return self._send(
                        404,
                        {
                            "error": {
                                "message": f"The model `{body.get('model')}` does not exist.",
                                "type": "NotFoundError",
                                "code": 404,
                            }
                        },
                    )
                if behaviour == "unsupported_format":
                    fmt = body["response_format"]["type"]
                    return self._send(
                        400,
                        {
                            "error": {
                                "message": f"Invalid parameter: 'response_format' of type '{fmt}' is not "
                                "supported with this model.",
                                "type": "invalid_request_error",
                                "param": "response_format",
                            }
                        },
                    )
                if behaviour.startswith("429"):
                    _, _, header = behaviour.partition(";")
                    name, _, value = header.partition("=")
                    return self._send(
                        429,
                        {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                        {name: value} if header else {"Retry-After": "0"},
                    )
                if behaviour == "400":
                    return self._send(
                        400, {"error": {"message": "Invalid value for 'messages'.", "type": "invalid_request_error"}}
                    )
                if behaviour == "500":
                    return self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                if behaviour == "timeout":
                    time.sleep(server.timeout_stall)
                if behaviour == "slow":
                    time.sleep(0.5)
                self._send(200, _completion(body, behaviour))

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def requested_schema(body: dict) -> dict:
    """The schema a request asks for: in ``response_format``, else after ``SCHEMA_MARKER`` in its messages."""
    fmt = body.get("response_format") or {}
    if (fmt.get("json_schema") or {}).get("schema"):
        return fmt["json_schema"]["schema"]
    for message in reversed(body.get("messages", [])):
        text = message.get("content") or ""
        at = text.rfind(SCHEMA_MARKER)
        if at >= 0:
            return json.JSONDecoder().raw_decode(text, at + len(SCHEMA_MARKER))[0]
    return {"type": "object", "properties": {}}


def batched_reply(body: dict, schema: dict, behaviour: str) -> dict | None:
    """For a batched request (one array of entries with an ``agent`` id): one entry per agent labelled in the prompt,
    each drawn from the agent's own block (so it does not depend on who else shares the request); else None."""
    props = schema.get("properties", {})
    if len(props) != 1:
        return None
    ((name, array),) = props.items()
    items = array.get("items", {}) if array.get("type") == "array" else {}
    if "agent" not in items.get("properties", {}):
        return None
    text = "\n".join(m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user")
    entries, seen = [], set()
    for match in AGENT_MARKER.finditer(text):
        agent = match.group(1)
        if agent in seen:
            continue
        seen.add(agent)
        end = text.find("\n\n", match.end())
        block = text[match.end() : end if end >= 0 else len(text)]
        entries.append({**instance_of(items, block), "agent": agent})
    if entries and behaviour == "batch_one_bad":
        entries[0] = {**entries[0], **({"emotion": "furious"} if "emotion" in entries[0] else {"text": " "})}
    elif entries and behaviour == "batch_missing_one":
        entries.pop()
    elif entries and behaviour == "batch_duplicate_one":
        entries.append({**instance_of(items, f"{text}/again"), "agent": entries[0]["agent"]})
    return {name: entries}


def _completion(body: dict, behaviour: str) -> dict:
    messages = body.get("messages", [])
    seed = json.dumps(messages, sort_keys=True, ensure_ascii=False)
    refusal, finish = None, "stop"
    schema = requested_schema(body)
    batched = batched_reply(body, schema, behaviour)
    valid = json.dumps(batched if batched is not None else instance_of(schema, seed), ensure_ascii=False)
    if behaviour.startswith("reply="):  # a scripted reply, verbatim: "reply={...}" (e.g. archetype distributions)
        content = behaviour[len("reply=") :]
    elif behaviour == "malformed":
        content = '{"emotion": "calm", "attitude": '
    elif behaviour == "refusal":
        content, refusal = None, "I'm sorry, I can't help with that."
    elif behaviour == "empty":
        content = ""
    elif behaviour == "prose_fence":
        content = f"Here is how this user would react, as requested.\n```json\n{valid}\n```"
    elif behaviour == "prose":
        content = f"Sure! {valid} I hope this captures the user's reaction."
    elif behaviour == "think":
        content = f'<think>The user might feel {{"emotion": "unsure"}} at first.</think>\n{valid}'
    elif behaviour == "two_objects":
        others = (json.dumps(instance_of(requested_schema(body), f"{seed}/{i}"), ensure_ascii=False) for i in range(50))
        other = next((o for o in others if o != valid), valid)
        content = f"Either {valid} or {other}, hard to say."
    elif behaviour == "length":
        content, finish = valid[: max(1, len(valid) // 2)], "length"
    elif behaviour == "content_filter":
        content, finish = "", "content_filter"
    else:
        content = valid
    prompt_tokens = max(1, len(seed) // 4)
    completion_tokens = max(1, len(content or refusal or "") // 4)
    message = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each reply waits")
    parser.add_argument("--default", choices=BEHAVIOURS, default="valid")
    parser.add_argument(
        "--accepts",
        default="json_schema,json_object,none",
        help="response_format types answered, comma-separated (none: no response_format); others get a 400",
    )
    args = parser.parse_args()
    server = ScriptedServer(latency=args.latency, default=args.default, port=args.port)
    server.accepts = {None if a.strip() == "none" else a.strip() for a in args.accepts.split(",")}
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()


def by_marker(plan: dict[str, list[str]]):
    """A server rule: requests whose prompt contains a marker get that marker's behaviours in turn."""
    queues = {k: deque(v) for k, v in plan.items()}

    def rule(body):
        text = json.dumps(body.get("messages", []), ensure_ascii=False)
        for marker, queue in queues.items():
            if marker in text and queue:
                return queue.popleft()
        return None

    return rule


def client_settings(server, key: str, **changes):
    """LLMSettings pointing at ``server`` with fast retries, for tests."""
    from s3core.llm.settings import LLMSettings, Secret

    base = dict(
        model="openai/test-model",
        api_base=server.api_base,
        api_key=Secret(key),
        timeout=10.0,
        retries=1,
        backoff=0.01,
        concurrency=16,
    )
    return LLMSettings(**{**base, **changes})
