"""What a paired experiment costs: wall time with 1 and 2 local workers, and a 1M-agent experiment's time and memory.

``python -m benchmarks.experiment_bench workers [--repeats 3]``: 2 arms x 20 seeds x 50 steps on
the bundled network (the default scenario: the rumour, with or without the correction), run
with 1 and then 2 workers, interleaved, ``--repeats`` times; prints each time, the medians and
the speed-up. ``python -m benchmarks.experiment_bench weibo-1m``: 2 arms x 5 seeds x 20 steps on
the full Weibo (CED) repost network (about 1M users), 1 worker, in a child process so its peak
memory is its own. Both print one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
BUNDLED_EXPERIMENT = """
name = "bench-bundled"
scenario = "{scenario}"
seeds = 20
steps = 50
[[arms]]
name = "none"
remove = ["correction"]
[[arms]]
name = "correction"
"""
WEIBO_SCENARIO = """
name = "bench-weibo-1m"
seed = 42
steps = 20
params = "{params}"
[network]
source = "cascades"
dataset_dir = "{datasets}"
dataset = "weibo-ced"
[platform]
official_reach = 0.02
[[interventions]]
kind = "seed"
step = 0
name = "event"
text = "国际原子能机构即将把日本核电站灾害提升到人类史上未曾有过的第八级。"
stance = "negative"
emotion = "intense"
[[interventions]]
kind = "seed"
step = 6
name = "correction"
text = "辟谣：日本核电站事故并未提升到第八级，请以官方发布为准。"
stance = "positive"
emotion = "calm"
"""
WEIBO_EXPERIMENT = """
name = "bench-weibo-1m"
scenario = "scenario.toml"
seeds = 5
steps = 20
[[arms]]
name = "none"
remove = ["correction"]
[[arms]]
name = "correction"
"""


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "s3core", "experiment", *args, "--quiet"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def bench_workers(repeats: int) -> dict:
    """1 vs 2 workers on the bundled network, interleaved so both see the same machine load."""
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(
            BUNDLED_EXPERIMENT.format(scenario=(ROOT / "data/scenarios/default.toml").as_posix()), encoding="utf-8"
        )
        for r in range(repeats):
            for workers in (1, 2):
                seconds = _timed([str(path), "--out", f"{tmp}/w{workers}r{r}", "--workers", str(workers)])
                times[workers].append(seconds)
                print(f"repeat {r + 1}: {workers} worker(s) {seconds:.1f} s", file=sys.stderr)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    return {
        "benchmark": "2 arms x 20 seeds x 50 steps, bundled network",
        "runs": 40,
        "seconds_1_worker": [round(t, 1) for t in times[1]],
        "seconds_2_workers": [round(t, 1) for t in times[2]],
        "median_1_worker": round(one, 1),
        "median_2_workers": round(two, 1),
        "speedup": round(one / two, 2),
    }


def bench_weibo(datasets: Path) -> dict:
    """2 arms x 5 seeds x 20 steps on the full Weibo repost network, in a child for its own peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "scenario.toml").write_text(
            WEIBO_SCENARIO.format(
                params=(ROOT / "data/params/weibo-ced.json").as_posix(), datasets=(datasets / "weibo-ced").as_posix()
            ),
            encoding="utf-8",
        )
        Path(tmp, "exp.toml").write_text(WEIBO_EXPERIMENT, encoding="utf-8")
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.experiment_bench", "_child", f"{tmp}/exp.toml", f"{tmp}/out"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if child.returncode:
            raise SystemExit(f"the 1M-agent experiment failed:\n{child.stderr[-3000:]}")
        seconds = time.perf_counter() - started
        result = json.loads(child.stdout.strip().splitlines()[-1])
    return {
        "benchmark": "2 arms x 5 seeds x 20 steps, Weibo (CED) repost network",
        "seconds": round(seconds, 1),
        **result,
    }


def _child(experiment_path: str, out: str) -> dict:
    from s3core.experiment import runner, spec

    experiment = spec.load(experiment_path)
    started = time.perf_counter()
    report = runner.run_experiment(experiment, out, progress=None)
    return {
        "agents": None if not report else _agents(out),
        "experiment_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "file_mb": round(Path(out, runner.FILE_NAME).stat().st_size / 2**20, 1),
        "reach_effect": report["arms"]["correction"]["effects"]["final_reach"],
    }


def _agents(out: str) -> int:
    import duckdb

    from s3core.experiment import runner

    with duckdb.connect(str(Path(out, runner.FILE_NAME)), read_only=True) as con:
        return int(con.execute("SELECT max(agents) FROM runs").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("workers", "weibo-1m", "_child"))
    parser.add_argument("args", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", default=str(DEFAULT_DATASETS))
    a = parser.parse_args(argv)
    if a.what == "_child":
        print(json.dumps(_child(*a.args)))
        return 0
    result = bench_workers(a.repeats) if a.what == "workers" else bench_weibo(Path(a.datasets))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
