"""Free running at realistic density: does one event die out without interventions?

``python -m benchmarks.free_run [--params PARAMS.json] [--agents 100000] [--hours 36]`` seeds one
post by a most-followed user of a synthetic follow graph (the parameter file's density, else
10 followees per user) and prints, per simulated hour, the aware share and the share of
exposures that came from the recommender, then one JSON line with the final figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from s3core import scenario as S
from s3core.engine import Simulation
from s3core.interventions import SeedPost
from s3core.synthetic import synthetic_network
from s3core.types import Attitude, Emotion

ROOT = Path(__file__).resolve().parent.parent

EVENT = "国际原子能机构即将把日本核电站灾害提升到人类史上未曾有过的第八级。"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", help="parameter file from calibrate (default: the model's defaults)")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--hours", type=float, default=36.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = {"name": "free-run", "seed": args.seed, "network": {"source": "synthetic", "n_users": args.agents}}
    if args.params:
        data["params"] = str(Path(args.params).resolve())
    scenario = S.from_dict(data)
    spec = scenario.network
    network = synthetic_network(
        args.agents,
        spec.mean_followees,
        spec.reciprocity,
        spec.tail_exponent,
        rng=np.random.default_rng([args.seed, 7]),
    )
    author = str(network.user_ids[int(np.argmax(network.follower_count))])
    steps = math.ceil(args.hours * 60 / scenario.minutes_per_step)
    scenario = scenario.replace(
        steps=steps,
        interventions=(
            SeedPost(
                step=0, text=EVENT, name="event", author=author, stance=Attitude.NEGATIVE, emotion=Emotion.INTENSE
            ),
        ),
    )
    sim = Simulation(scenario, network=network)
    per_hour = max(1, round(60 / scenario.minutes_per_step))
    recommended = delivered = 0
    t0 = time.perf_counter()
    print(f"{'hour':>5} {'aware share':>12} {'recommended share of exposures':>32}")
    for step in range(steps):
        record = sim.step()
        delivered += record.metrics["exposures"]
        recommended += record.exposure_sources["recommended"]
        if (step + 1) % per_hour == 0:
            share = recommended / delivered if delivered else 0.0
            print(f"{(step + 1) // per_hour:>5} {record.metrics['aware'] / args.agents:>12.4f} {share:>32.3f}")
            recommended = delivered = 0
    final = {
        "agents": args.agents,
        "mean_followees": spec.mean_followees,
        "hours": args.hours,
        "minutes_per_step": scenario.minutes_per_step,
        "final_aware_share": round(int(sim.state.aware.sum()) / args.agents, 4),
        "posts": len(sim.posts),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
