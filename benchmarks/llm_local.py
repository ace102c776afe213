"""What the LLM benchmarks share: the scripted server in its own process, and a batch of agents in varied states."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from s3core.policy import DecisionBatch

ROOT = Path(__file__).resolve().parent.parent


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """tests/llm_server.py in its own process (it must not share the client's interpreter lock); its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "llm_server.py"), "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}/v1"


def varied_batch(
    sim, agents: np.ndarray, rng: np.random.Generator, step: int, focal: np.ndarray, stance, emotion, depth
) -> DecisionBatch:
    """``agents`` (shape (n,)) deciding on ``focal`` posts (with their stance, emotion and depth), each in a state
    drawn from ``rng`` (posts received, emotion, attitude, memory), so that their prompts differ."""
    n, pop = len(agents), sim.population
    return DecisionBatch(
        step=step,
        agent=agents,
        received=rng.integers(1, 30, n).astype(float),
        mean_intensity=rng.integers(0, 21, n) / 10,
        max_relevance=rng.random(n),
        focal_post=focal,
        focal_source=rng.integers(0, 3, n).astype(np.int8),
        focal_stance=stance,
        focal_emotion=emotion,
        focal_age=rng.integers(0, 3, n),
        focal_relevance=rng.random(n),
        focal_labelled=np.zeros(n, bool),
        emotion=rng.integers(0, 3, n).astype(np.int8),
        attitude=rng.integers(0, 2, n).astype(np.int8),
        pool_positive=rng.random(n),
        pool_weight=rng.random(n),
        category=pop.category[agents],
        age=pop.age[agents],
        gender=pop.gender[agents],
        occupation=pop.occupation[agents],
        actions_taken=np.zeros(n, np.int32),
        was_aware=rng.random(n) < 0.5,
        focal_depth=depth,
        focal_quoted=np.zeros(n, bool),
        thread_quotes=np.zeros(n),
        thread_forwards=np.zeros(n),
        quote_propensity=sim.quote_propensity()[agents],
        minutes_per_step=sim.scenario.minutes_per_step,
        context=sim.view,
    )
