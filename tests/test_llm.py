"""The LLM backend against a real local OpenAI-compatible server through the real litellm client."""

import json
import logging
import pickle
import threading

import duckdb
import numpy as np
import pytest
from llm_server import ScriptedServer, by_marker, client_settings

from s3core.demographics import DemographicParams, assign_demographics
from s3core.interventions import SeedPost
from s3core.llm.cache import LLMCache
from s3core.llm.cost import estimate_run
from s3core.llm.demographics import LLMDemographicInferrer
from s3core.llm.gateway import ChatRequest, Gateway, test_connection
from s3core.llm.policy import HybridPolicy, LLMPolicy
from s3core.llm.schemas import SCHEMAS, parse_reply, validate
from s3core.llm.settings import Deployment, LLMSettings, Secret
from s3core.llm.subset import SubsetSpec, parse_subset, select_agents
from s3core.runner import run_to_trace
from s3core.types import Attitude, Emotion, Gender, Occupation

SEED = (
    SeedPost(
        step=0, text="日本核电站辐射泄漏，大家注意！", name="event", stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
    ),
)
KEY = "sk-test-NEVER-STORE-THIS-0123456789"


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    """Never the user's real cache directory: the default cache lives in the test's tmp_path."""
    monkeypatch.setenv("S3_LLM_CACHE", str(tmp_path / "default-llm-cache"))


def settings_for(srv, **kw) -> LLMSettings:
    return client_settings(srv, KEY, **kw)


def ask(marker: str) -> ChatRequest:
    return ChatRequest("decision", ({"role": "user", "content": marker},))


# ---- pure parts ------------------------------------------------------------------------------


def test_validator_accepts_valid_and_names_problems():
    assert parse_reply('{"emotion": "calm", "attitude": "positive", "action": "quote"}', "decision")[0]
    assert parse_reply('```json\n{"text": "好"}\n```', "text")[0] == {"text": "好"}
    decision = {"emotion": "calm", "attitude": "positive", "action": "quote"}
    for shape in (
        "Here is my answer.\n```json\n{}\n```",
        "Sure! {} Hope this helps.",
        '<think>{{"emotion": "?"}}</think> {}',
        "```\n{}\n```\nThe braces {{ in prose do not count.",
        "{} {}",
    ):
        raw = json.dumps(decision)
        assert parse_reply(shape.format(raw, raw), "decision") == (decision, None), shape
    other = {**decision, "action": "post"}
    assert "ambiguous" in parse_reply(f"{json.dumps(decision)} or {json.dumps(other)}", "decision")[1]
    assert "does not fit" in parse_reply('Answer: {"emotion": "calm"}', "decision")[1]
    assert "no JSON object" in parse_reply("I would ignore it.", "decision")[1]
    assert "not JSON" in parse_reply('{"emotion": ', "decision")[1]
    assert "refusal" in parse_reply(None, "decision")[1]
    assert parse_reply('{"text": "  "}', "text")[1]
    problems = validate({"age": 5, "gender": "x", "occupation": "engineer", "extra": 1}, SCHEMAS["demographics"])
    assert len(problems) == 3 and any("extra" in p for p in problems)
    assert validate({"age": None, "gender": "male", "occupation": "unknown"}, SCHEMAS["demographics"]) == []
    assert validate({"ok": 1}, SCHEMAS["connection"])  # 1 is not a boolean, True is not an integer
    for schema in SCHEMAS.values():  # strict structured outputs: closed objects, every property required
        assert schema["additionalProperties"] is False and schema["required"] == list(schema["properties"])


def test_settings_never_reveal_keys(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-from-env-abcdef")
    s = LLMSettings(api_key=Secret(KEY), deployments=(Deployment("openai/a", api_key_env="MY_KEY"),))
    for shown in (repr(s), str(s.api_key), s.public_json(), json.dumps(s.public())):
        assert KEY not in shown and "sk-from-env" not in shown
    assert s.deployments[0].key() == "sk-from-env-abcdef" and KEY in s.secrets()
    with pytest.raises(TypeError):
        pickle.dumps(s.api_key)
    with pytest.raises(ValueError):
        LLMSettings(temperature=5.0)


def test_subset_selection(make_sim):
    sim = make_sim()

    def pick(spec):
        return select_agents(spec, sim.network, sim.population, seed=3)

    a, b = pick(SubsetSpec(share=0.1)), pick(SubsetSpec(share=0.1))
    assert (a == b).all() and 0.05 < a.mean() < 0.15
    assert pick(SubsetSpec()).all()
    top = pick(SubsetSpec(top_followers=20))
    assert top.sum() == 20 and sim.network.follower_count[top].min() >= np.sort(sim.network.follower_count)[-20]
    women = pick(parse_subset(["gender=female", "age=18-30"]))
    assert (sim.population.gender[women] == Gender.FEMALE).all() and (sim.population.age[women] <= 30).all()
    media = pick(parse_subset(["occupation=media,engineer"]))
    assert set(np.unique(sim.population.occupation[media])) <= {Occupation.MEDIA, Occupation.ENGINEER}
    with pytest.raises(ValueError):
        parse_subset(["colour=blue"])
    with pytest.raises(ValueError):
        parse_subset(["category=famous"])


# ---- the gateway over real HTTP ------------------------------------------------------------------


def test_errors_are_retried_repaired_or_given_up(srv):
    srv.rule = by_marker(
        {
            "A-malformed-once": ["malformed"],
            "B-refusal-twice": ["refusal", "refusal"],
            "C-429-once": ["429"],
            "D-500-always": ["500"] * 9,
            "E-timeout-always": ["timeout"] * 9,
            "F-401": ["401"] * 9,
            "G-empty-once": ["empty"],
        }
    )
    gateway = Gateway(settings_for(srv, timeout=1.2))
    names = [
        "A-malformed-once",
        "B-refusal-twice",
        "C-429-once",
        "D-500-always",
        "E-timeout-always",
        "F-401",
        "G-empty-once",
        "H-valid",
    ]
    out = dict(zip(names, gateway.run([ask(n) for n in names])))
    gateway.close()
    assert out["A-malformed-once"].ok and out["A-malformed-once"].calls == 2  # repaired
    assert not out["B-refusal-twice"].ok and out["B-refusal-twice"].cacheable
    assert out["C-429-once"].ok and out["C-429-once"].calls == 2  # retried
    assert out["D-500-always"].error_kind == "server" and out["D-500-always"].calls == 2  # 1 + retries
    assert out["E-timeout-always"].error_kind == "timeout" and not out["E-timeout-always"].cacheable
    assert out["F-401"].error_kind == "auth" and out["F-401"].calls == 1 and KEY not in out["F-401"].error
    assert out["G-empty-once"].ok and out["H-valid"].ok and out["H-valid"].calls == 1
    stats = gateway.stats
    assert stats.repairs == 3 and stats.invalid == 1 and stats.retries >= 3 and stats.errors["timeout"] == 2


def test_identical_prompts_go_once_and_concurrency_is_bounded(srv):
    srv.latency = 0.05
    gateway = Gateway(settings_for(srv, concurrency=4))
    out = gateway.run([ask("same")] * 10 + [ask(f"distinct {i}") for i in range(24)])
    gateway.close()
    assert all(o.ok for o in out) and srv.count == 25
    assert gateway.stats.deduplicated == 9 and srv.max_in_flight <= 4


def test_router_spreads_calls_over_two_servers(srv):
    with ScriptedServer() as other:
        s = settings_for(
            srv,
            deployments=(
                Deployment("openai/test-model", srv.api_base, api_key=Secret(KEY)),
                Deployment("openai/test-model", other.api_base, api_key=Secret(KEY + "2")),
            ),
        )
        gateway = Gateway(s)
        out = gateway.run([ask(f"q{i}") for i in range(40)])
        gateway.close()
        assert all(o.ok for o in out)
        assert srv.count + other.count == 40 and srv.count >= 5 and other.count >= 5


def test_connection_check(srv):
    ok = test_connection(settings_for(srv))
    assert ok.ok and ok.structured and srv.count == 1
    down = test_connection(
        LLMSettings(
            model="openai/test-model", api_base="http://127.0.0.1:9/v1", api_key=Secret(KEY), timeout=1, retries=0
        )
    )
    assert not down.ok and KEY not in down.message


# ---- simulations ---------------------------------------------------------------------------------


def _run(make_sim, tmp_path, name, settings, subset, cache_path, steps=3):
    sim = make_sim(seed=2, steps=steps, interventions=SEED)
    policy = HybridPolicy(LLMPolicy(settings, LLMCache(cache_path)), subset)
    sim.policy = policy
    out = tmp_path / f"{name}.duckdb"
    try:
        summary = run_to_trace(sim.scenario, out, sim=sim)
        con = duckdb.connect(str(out))
        policy.write_trace(con)
        con.close()
    finally:
        policy.close()
    return summary, policy, out


def test_failures_fall_back_are_recorded_and_the_run_completes(srv, make_sim, tmp_path):
    bad = {"n": 0}
    lock = threading.Lock()

    def flaky(body):  # every third request fails for good: 500, malformed twice, or a stall past the timeout
        with lock:
            bad["n"] += 1
            return ("500", "malformed", None, "timeout", None, None)[bad["n"] % 6]

    srv.rule = flaky
    summary, policy, out = _run(
        make_sim, tmp_path, "flaky", settings_for(srv, retries=0, timeout=1.2), SubsetSpec(share=0.3), None
    )
    stats = policy.stats
    assert len(summary["steps"]) == 3 and stats.decisions > 20
    assert stats.fallbacks > 0 and stats.errors.get("server") and stats.errors.get("timeout")
    con = duckdb.connect(str(out), read_only=True)
    fallbacks = con.execute("SELECT sum(fallbacks) FROM metrics").fetchone()[0]
    calls = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT ok) FROM llm_calls").fetchone()
    meta = dict(con.execute("SELECT key, value FROM run").fetchall())
    con.close()
    assert fallbacks == stats.fallbacks + stats.text_fallbacks  # texts are asked only of LLM-decided agents
    assert calls[0] == stats.requests and calls[1] > 0
    assert json.loads(meta["llm_settings"])["model"] == "openai/test-model"


def test_rerun_is_served_from_the_cache_with_zero_requests(srv, make_sim, tmp_path):
    srv.rule = by_marker({"日本核电站": ["malformed"] * 3})  # a few repairs; repaired answers are cached too
    cache = tmp_path / "cache"
    first, p1, _ = _run(make_sim, tmp_path, "a", settings_for(srv), SubsetSpec(share=0.3), cache)
    sent = srv.count
    assert sent > 20 and p1.stats.calls == sent and p1.stats.repairs >= 1
    second, p2, _ = _run(make_sim, tmp_path, "b", settings_for(srv), SubsetSpec(share=0.3), cache)
    assert srv.count == sent, "a rerun must not send a single request"
    assert second == first and p2.stats.calls == 0 and p2.stats.hit_rate == 1.0


def test_modular_mode_and_written_texts(srv, make_sim, tmp_path):
    summary, policy, out = _run(
        make_sim, tmp_path, "modular", settings_for(srv, mode="modular"), SubsetSpec(share=0.5), None, steps=2
    )
    kinds = {json.loads(json.dumps(b.get("response_format", {})))["json_schema"]["name"] for b in srv.requests}
    assert {"emotion", "attitude", "action", "text"} <= kinds
    con = duckdb.connect(str(out), read_only=True)
    written = con.execute("SELECT count(*) FROM posts WHERE text LIKE '模拟文本%'").fetchone()[0]
    con.close()
    assert written > 0
    agent = next(a for a in range(2000) if policy.last_exchange(a))
    exchange = policy.last_exchange(agent)
    assert exchange[0].kind == "emotion" and exchange[0].messages[0]["role"] == "system" and exchange[0].parsed


def test_api_key_never_reaches_files_logs_or_exports(srv, make_sim, tmp_path, caplog, capfd, monkeypatch):
    env_key = "sk-env-ALSO-SECRET-9876543210"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    srv.rule = by_marker({"日本核电站": ["401", "500", "malformed"]})
    caplog.set_level(logging.DEBUG)
    cache = tmp_path / "cache"
    _, policy, out = _run(make_sim, tmp_path, "keys", settings_for(srv), SubsetSpec(share=0.3), cache, steps=2)
    assert any(KEY in h.get("authorization", "") for h in srv.headers), "the key was sent"
    export = tmp_path / "export"
    con = duckdb.connect(str(out))
    con.execute(f"EXPORT DATABASE '{export}' (FORMAT csv)")
    con.close()
    import diskcache

    with diskcache.Cache(
        str(cache), disk=diskcache.JSONDisk
    ) as stored:  # the values as text (they are stored compressed)
        entries = json.dumps([stored[k] for k in stored], ensure_ascii=False).encode()
    assert entries.count(b'"replies"') > 10
    blobs = [
        out.read_bytes(),
        caplog.text.encode(),
        entries,
        *(p.read_bytes() for p in export.iterdir()),
        *(p.read_bytes() for p in cache.rglob("*") if p.is_file()),
    ]
    captured = capfd.readouterr()
    blobs += [captured.out.encode(), captured.err.encode(), json.dumps(policy.stats.as_dict()).encode()]
    for secret in (KEY, env_key):
        assert not any(secret.encode() in blob for blob in blobs)
    assert policy.stats.errors.get("auth"), "the server echoed the key in a 401, and it was redacted"


def test_llm_initial_attitudes_and_demographics(srv, make_sim):
    sim = make_sim(seed=2, interventions=SEED)
    policy = HybridPolicy(LLMPolicy(settings_for(srv)), SubsetSpec(share=0.05))
    before = sim.state.attitude.copy()
    changed = policy.apply_initial_attitudes(sim)
    policy.close()
    mask = policy.mask(sim)
    assert changed == mask.sum() and (sim.state.attitude[~mask] == before[~mask]).all()

    inferrer = LLMDemographicInferrer(settings_for(srv))
    answers = inferrer.infer(["90后程序员，热爱生活", ""], [["今天加班"], []])
    assert all(a is None or set(a) <= {"age", "gender", "occupation"} for a in answers)
    assert any(a for a in answers)
    demo = assign_demographics(sim.network, DemographicParams(), np.random.default_rng(0), inferrer=inferrer)
    inferrer.close()
    assert len(demo.age) == sim.network.n_users


def test_estimate_counts_calls_tokens_and_price(make_sim):
    sim = make_sim(seed=2, steps=3, interventions=SEED)
    unknown = estimate_run(sim.scenario, LLMSettings(model="openai/test-model"), SubsetSpec(share=0.3), sim=sim)
    assert unknown.decisions > 0 and unknown.calls == unknown.decisions + unknown.texts and unknown.cost_usd is None
    assert unknown.prompt_tokens > 100 * unknown.calls
    priced = estimate_run(sim.scenario, LLMSettings(model="gpt-4o-mini"), SubsetSpec(share=0.3), sim=sim)
    assert priced.calls == unknown.calls and priced.cost_usd > 0


def test_cli_flags_build_settings_and_deployments(monkeypatch):
    from s3core.cli import _parser
    from s3core.llm.cli import settings_from_args

    monkeypatch.setenv("SECOND_KEY", "sk-second-0000000")
    args = _parser().parse_args(
        [
            "run",
            "x.toml",
            "--out",
            "x.duckdb",
            "--backend",
            "llm",
            "--model",
            "openai/m",
            "--api-base",
            "http://a/v1",
            "--temperature",
            "0.2",
            "--max-tokens",
            "64",
            "--concurrency",
            "8",
            "--timeout",
            "3",
            "--retries",
            "0",
            "--llm-mode",
            "modular",
            "--deployment",
            "api_base=http://b/v1,key_env=SECOND_KEY,rpm=60",
            "--llm-share",
            "0.1",
            "--llm-subset",
            "category=influential",
            "--structured-output",
            "json_object",
            "--max-wait",
            "4",
        ]
    )
    s = settings_from_args(args)
    assert (s.model, s.temperature, s.max_tokens, s.concurrency, s.timeout, s.retries, s.mode) == (
        "openai/m",
        0.2,
        64,
        8,
        3.0,
        0,
        "modular",
    )
    assert (s.structured_output, s.max_wait, args.max_fallback_share) == ("json_object", 4.0, 0.5)
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "x.toml", "--out", "x.duckdb", "--structured-output", "xml"])
    assert [d.api_base for d in s.endpoints()] == ["http://a/v1", "http://b/v1"] and s.endpoints()[
        1
    ].key() == "sk-second-0000000"
    assert "sk-second" not in s.public_json() and s.model_signature() == "openai/m"
    assert parse_subset(args.llm_subset, args.llm_share) == SubsetSpec(share=0.1, categories=("influential",))
