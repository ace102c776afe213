"""Shared fixtures: the shipped text resources and small seeded networks, built once per session."""

import numpy as np
import pytest
from browser_harness import app_server, browser, chromium_exe, page  # noqa: F401 - one browser per session for every browser test

from s3core import scenario as S
from s3core.resources import load_text_resources
from s3core.synthetic import synthetic_network


@pytest.fixture(scope="session", autouse=True)
def _private_llm_cache(tmp_path_factory):
    """No test writes to the user's real LLM cache directory (tests may still set their own)."""
    import os

    previous = os.environ.get("S3_LLM_CACHE")
    os.environ["S3_LLM_CACHE"] = str(tmp_path_factory.mktemp("llm-cache"))
    yield
    if previous is None:
        os.environ.pop("S3_LLM_CACHE", None)
    else:
        os.environ["S3_LLM_CACHE"] = previous


@pytest.fixture(scope="session")
def text():
    return load_text_resources()


@pytest.fixture(scope="session")
def small_network():
    return synthetic_network(2000, mean_followees=8.0, reciprocity=0.3, rng=np.random.default_rng(5))


@pytest.fixture(scope="module")
def server():
    """The scripted local OpenAI-compatible server of tests/llm_server.py, one per test module."""
    from llm_server import ScriptedServer

    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def srv(server):
    """The module's scripted server, reset to prompt valid replies with no latency."""
    server.reset()
    server.latency, server.default, server.timeout_stall = 0.0, "valid", 2.5
    return server


@pytest.fixture
def make_sim(text, small_network):
    """Build a Simulation on the small network from scenario keyword changes."""
    from s3core.engine import Simulation

    def build(**changes):
        base = S.Scenario(seed=changes.pop("seed", 1), steps=changes.pop("steps", 10))
        return Simulation(base.replace(**changes), network=small_network, text=text)

    return build
