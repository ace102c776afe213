"""End to end in a real Chromium: the Agents page's LLM panel against a keyless local server.

The dashboard runs with no provider key in its environment, as on a machine that only serves a local
model (``ollama serve``, ``vllm serve``); the scripted server of tests/llm_server.py needs no key either.
The connection test must succeed, and a wrong base URL must fail at once with one plain sentence.
"""

from __future__ import annotations

import re
import time

import pytest
from browser_harness import ARTIFACTS, AppServer, by_key, click, go_to, new_page, screenshot, wait_idle
from llm_server import ScriptedServer
from playwright.sync_api import expect

from s3core.llm.endpoints import PLACEHOLDER_KEY

pytestmark = pytest.mark.browser
KEY_VARIABLES = ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY", "HOSTED_VLLM_API_KEY", "OLLAMA_API_KEY")


@pytest.fixture(scope="module")
def keyless_app(request, chromium_exe, tmp_path_factory):
    """A dashboard server with no provider key in its environment: the session's, when the test run has none
    (the usual case), else one started without them."""
    import os

    if not any(os.environ.get(name) for name in KEY_VARIABLES):
        yield request.getfixturevalue("app_server")
        return
    with pytest.MonkeyPatch.context() as mp:
        for name in KEY_VARIABLES:
            mp.delenv(name, raising=False)
        ARTIFACTS.mkdir(exist_ok=True)
        server = AppServer(tmp_path_factory.mktemp("keyless-runs"), log_path=ARTIFACTS / "streamlit-keyless.log")
        try:
            server.start().wait_healthy()
        except Exception as exc:  # noqa: BLE001 - a server that does not start is a clear failure
            server.stop()
            pytest.fail(f"the dashboard did not start: {exc}", pytrace=False)
    yield server
    server.stop()


def type_into(page, key: str, value: str) -> None:
    box = page.locator(f"{by_key(key)} input")
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def test_the_connection_test_succeeds_against_a_keyless_local_server(browser, keyless_app):
    t0 = time.perf_counter()
    context, page = new_page(browser, keyless_app)
    try:
        with ScriptedServer() as srv:
            go_to(page, "Agents", by_key("agents_llm_model"))
            t1 = time.perf_counter()
            box = page.locator(f"{by_key('agents_llm_model')} input")
            expect(box).to_have_value(re.compile(r"^openai/"))  # the default model; the local server serves any name
            model = box.input_value()
            type_into(page, "agents_llm_api_base", srv.api_base)
            click(page, "agents_llm_test")
            ok = page.locator('[data-testid="stAlertContentSuccess"]', has_text="Connected").first
            ok.wait_for(timeout=60_000)  # the first test imports litellm in the server (seconds)
            wait_idle(page)
            t2 = time.perf_counter()
            print(f"open {t1 - t0:.1f} s, settings and connection test {t2 - t1:.1f} s")
            assert f"{model} answered" in ok.inner_text()
            assert srv.count == 1 and srv.headers[-1]["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
            assert not page.get_by_text(re.compile("Missing credentials")).count()
            screenshot(page, "llm-keyless-connected")

            type_into(page, "agents_llm_api_base", "http://127.0.0.1:9/v1")  # nothing listens on port 9
            started = time.perf_counter()
            click(page, "agents_llm_test")
            error = page.locator('[data-testid="stAlertContentError"]', has_text="Nothing answered").first
            error.wait_for(timeout=10_000)
            took = time.perf_counter() - started
            text = error.inner_text()
            assert "Connection failed. Nothing answered at http://127.0.0.1:9/v1:" in text, text
            assert "Fix: start the server" in text and "Exception" not in text
            assert took < 5.0, f"the refused connection took {took:.1f} s to be reported"
            wait_idle(page)
            screenshot(page, "llm-keyless-wrong-base")
            assert srv.count == 1
    finally:
        context.close()
