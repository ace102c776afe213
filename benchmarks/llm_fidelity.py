"""Fidelity of the LLM agent modes against each other: the same cascades, seeds and endpoint, replayed by
per-agent, batched and archetype decisions (and the heuristic, for reference).

Every arm replays the same evaluated cascades of ``validate`` (same split, ``--limit``, ``--seed``, parameters
and replay networks) with ``validate``'s replay, the LLM driving every agent of each replay network. Per arm:
the NRMSE of the scale, depth and max-breadth curves against the real cascades (``validate``'s figure),
the final reach, aware share, mean emotion and positive share, the LLM calls and the wall time. Per pair of
arms (B against A, A the earlier in heuristic, per_agent, batched, archetype): the NRMSE of B's per-cascade
curves against A's (A's maximum normalizes) and the mean per-cascade difference of the final figures.

By default the arms ask the scripted server (``tests/llm_server.py``), started here in its own process:
its every answer is a deterministic hash of its prompt (uniform over the allowed values), so the
differences measure the mechanics (how each mode asks, and how archetype members draw from their cell's
answer), not a model's judgement. With ``--model``/``--api-base`` the arms ask a real endpoint instead.

    python -m benchmarks.llm_fidelity --limit 20 --seed 0
    python -m benchmarks.llm_fidelity --limit 20 --model openai/qwen2.5-7b-instruct \\
        --api-base http://localhost:8000/v1 --api-key-env VLLM_KEY --llm-cache ~/.cache/s3-fidelity

A fifth arm, ``per_agent_b`` (leave it out with ``--no-noise-floor``), asks per agent again with another
sampling seed: its distance to ``per_agent`` is the floor under which two modes cannot be told apart (a
real model at temperature > 0 samples anew; the scripted server, which answers by the prompt alone, is
made to redraw by a prefix to the prompts' event line). Prints a table and one JSON line (stdout);
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from benchmarks.llm_local import start_server
from s3core.llm import cli as llm_cli
from s3core.llm.settings import LLMSettings, Secret
from s3core.llm.subset import SubsetSpec
from s3core.resources import load_text_resources
from s3core.validation import metrics as M
from s3core.validation.cli import params_setup
from s3core.validation.datasets import load_dataset
from s3core.validation.llm_replay import ReplayPolicies
from s3core.validation.simulate import Setup, cascade_events, replay_network, replay_run
from s3core.validation.trees import build_trees
from s3core.validation.validate import split_cascades

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "datasets" / "weibo-ced"
SCRIPTED_MODEL = "openai/scripted"
SCRIPTED_KEY = "sk-scripted-fidelity-0000"  # the scripted server checks no key; litellm wants one
FINALS = ("reach", "aware_share", "mean_emotion", "positive_share")
REDRAW = "(b) "  # the scripted server's noise-floor arm: a prefix to the event line redraws every answer


def evaluated_cascades(folder: str | Path, limit: int | None) -> tuple[list[tuple[str, str, int]], dict]:
    """``validate``'s evaluated cascades as (id, source text, N in the window), and their real curves."""
    data = load_dataset(folder)
    trees = build_trees(data.events, data.sources)
    split = split_cascades(data, limit)
    text_of = dict(zip(data.sources["cascade_id"].astype(str), data.sources["text"]))
    tasks, real = [], {}
    for cid in split.evaluate:
        window = trees[cid].within(M.WINDOW_MINUTES)
        if len(window):
            tasks.append((cid, text_of[cid], len(window)))
            real[cid] = M.curves(window)
    return tasks, real


def replay_arm(
    setup: Setup, tasks, text, policies: ReplayPolicies | None, label: str, event_prefix: str | None = None
) -> dict:
    """Replay every task; per cascade the curves and final figures; the arm's wall time and LLM counters.

    ``event_prefix`` goes before the source post in the prompts' event line (the scripted server's redraw).
    """
    started = time.perf_counter()
    per = {}
    for i, (cid, source, n) in enumerate(tasks):
        network = replay_network(setup, cid, n)
        event = None if event_prefix is None else f"{event_prefix}{source or '(no text)'}"
        policy = policies(cid, event=event) if policies is not None else None
        sim, records = replay_run(setup, cid, source, n, text, network=network, policy=policy)
        sources, events = cascade_events(sim, cid, M.WINDOW_MINUTES)
        tree = build_trees(events, sources)[cid]
        last = records[-1].metrics
        per[cid] = {
            "curves": M.curves(tree),
            "reach": float(len(tree)),
            "aware_share": last["aware"] / sim.network.n_users,
            "mean_emotion": last["moderate"] + 2 * last["intense"],  # among the aware, 0 calm .. 2 intense
            "positive_share": last["positive"],  # among the aware
        }
        print(f"  {label}: {i + 1}/{len(tasks)} cascades, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    arm = {"per_cascade": per, "seconds": round(time.perf_counter() - started, 1)}
    if policies is not None:
        stats = policies.stats
        arm["llm"] = {
            "calls": stats.calls,
            "decisions": stats.decisions,
            "fallbacks": stats.fallbacks,
            "cache_hits": stats.cache_hits,
            "llm_agents": policies.agents,
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "llm_wall_s": round(stats.wall_s, 1),
        }
    return arm


def _mean(values) -> float | None:
    values = np.asarray([v for v in values if v is not None and not np.isnan(v)], dtype=float)
    return round(float(values.mean()), 4) if len(values) else None


def scores_vs_real(arm: dict, real: dict) -> dict:
    """Mean NRMSE per curve against the real cascades (``validate``'s simulator row)."""
    per = arm["per_cascade"]
    return {c: _mean([M.nrmse(per[cid]["curves"][c], real[cid][c]) for cid in per]) for c in M.CURVES}


def distance(a: dict, b: dict) -> dict:
    """How far arm ``b`` moves from arm ``a``: mean NRMSE of b's curves against a's (cascades where a's curve
    is all zero have no NRMSE and are left out), mean |b - a| per cascade of the final figures, and the
    signed difference of their means."""
    pa, pb = a["per_cascade"], b["per_cascade"]
    out = {"nrmse": {c: _mean([M.nrmse(pb[cid]["curves"][c], pa[cid]["curves"][c]) for cid in pa]) for c in M.CURVES}}
    out["mean_abs_diff"] = {f: _mean([abs(pb[cid][f] - pa[cid][f]) for cid in pa]) for f in FINALS}
    out["diff_of_means"] = {
        f: _mean([np.mean([pb[cid][f] for cid in pb]) - np.mean([pa[cid][f] for cid in pa])]) for f in FINALS
    }
    return out


def _settings(args, api_base: str | None) -> LLMSettings:
    if args.model is None:
        args.model = SCRIPTED_MODEL
    if api_base is not None:
        args.api_base = api_base
    settings = llm_cli.settings_from_args(args)
    if api_base is not None:  # the scripted server
        settings = dataclasses.replace(settings, api_key=Secret(SCRIPTED_KEY))
    return settings


def arms_to_run(args, scripted: bool) -> list[tuple[str, dict | None, str | None]]:
    """(label, LLMSettings changes or None for the heuristic, event prefix), in the order the pairs are read.

    The noise-floor arm re-asks per agent with another sampling seed; the scripted server answers by the
    prompt alone, so there its event line also carries a prefix, which redraws every answer.
    """
    arms = [("heuristic", None, None)] + [
        (mode, {"agent_mode": mode, **({"batch_size": args.batch_size} if mode == "batched" else {})}, None)
        for mode in args.modes
    ]
    if args.noise_floor:
        seed = {"agent_mode": "per_agent", "seed": 1 + (args.llm_seed or 0)}
        arms.append(("per_agent_b", seed, REDRAW if scripted else None))
    return arms


def table(report: dict) -> str:
    lines = [
        f"{report['dataset']}: {report['cascades']} cascades, seed {report['seed']}, "
        f"endpoint {report['endpoint']} ({report['model']})",
        "",
        f"{'arm':<13}{'NRMSE scale':>12}{'depth':>8}{'breadth':>9}{'reach':>8}{'aware':>8}{'emotion':>9}"
        f"{'positive':>10}{'calls':>8}{'decisions':>11}{'fallbk':>8}{'wall s':>8}",
    ]
    for label, arm in report["arms"].items():
        s, f, llm = arm["vs_real"], arm["finals"], arm.get("llm", {})
        lines.append(
            f"{label:<13}{s['scale']:>12.3f}{s['depth']:>8.3f}{s['max_breadth']:>9.3f}{f['reach']:>8.1f}"
            f"{f['aware_share']:>8.3f}{f['mean_emotion']:>9.3f}{f['positive_share']:>10.3f}"
            f"{llm.get('calls', 0):>8}{llm.get('decisions', 0):>11}{llm.get('fallbacks', 0):>8}{arm['seconds']:>8.1f}"
        )
    lines += [
        "",
        "B against A: NRMSE of B's curves against A's; mean per-cascade |B - A| of the final figures",
        f"{'B vs A':<26}{'scale':>8}{'depth':>8}{'breadth':>9}{'|reach|':>9}{'|aware|':>9}{'|emotion|':>10}"
        f"{'|positive|':>11}",
    ]
    fmt = lambda v: float("nan") if v is None else v  # noqa: E731
    for pair, d in report["pairs"].items():
        n, m = d["nrmse"], d["mean_abs_diff"]
        lines.append(
            f"{pair:<26}{fmt(n['scale']):>8.3f}{fmt(n['depth']):>8.3f}{fmt(n['max_breadth']):>9.3f}"
            f"{fmt(m['reach']):>9.1f}{fmt(m['aware_share']):>9.3f}{fmt(m['mean_emotion']):>10.3f}"
            f"{fmt(m['positive_share']):>11.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(DATASET), help="cascade dataset folder (default: weibo-ced)")
    parser.add_argument("--limit", type=int, default=20, help="evaluated cascades (default 20, as validate --limit)")
    parser.add_argument("--seed", type=int, default=0, help="validation seed (networks and every draw; default 0)")
    parser.add_argument("--params", help="validate --params file (default: the project's defaults)")
    parser.add_argument(
        "--modes",
        type=lambda s: [m.strip() for m in s.split(",") if m.strip()],
        default=["per_agent", "batched", "archetype"],
        help="comma-separated agent modes (default per_agent,batched,archetype)",
    )
    parser.add_argument("--batch-size", type=int, default=10, help="agents per request in batched mode (default 10)")
    parser.add_argument("--latency", type=float, default=0.05, help="scripted server latency per request (s)")
    parser.add_argument("--llm-cache", help="cache directory shared by the arms' reruns (default: memory, per arm)")
    parser.add_argument("--llm-seed", type=int, help="sampling seed sent to the provider (default none)")
    parser.add_argument(
        "--no-noise-floor",
        dest="noise_floor",
        action="store_false",
        help="leave out per_agent_b, the second per-agent arm with another sampling seed",
    )
    llm_cli.add_connection_arguments(parser.add_argument_group("endpoint (default: the scripted server)"))
    args = parser.parse_args(argv)
    bad = sorted(set(args.modes) - {"per_agent", "batched", "archetype"})
    if bad or not args.modes:
        parser.error(f"--modes: {bad[0] if bad else '(none)'} is not per_agent, batched or archetype")

    server, api_base = (None, None) if args.model else start_server(args.latency)
    try:
        base = _settings(args, api_base)
        if args.llm_seed is not None:
            base = dataclasses.replace(base, seed=args.llm_seed)
        setup = params_setup(args.params, args.seed)
        tasks, real = evaluated_cascades(args.dataset, args.limit)
        text = load_text_resources(follow_event=False)  # validate's representation
        cache = Path(args.llm_cache).expanduser() if args.llm_cache else None
        arms = {}
        for label, changes, prefix in arms_to_run(args, scripted=api_base is not None):
            policies = None
            if changes is not None:
                settings = dataclasses.replace(base, **changes)
                policies = ReplayPolicies(settings, SubsetSpec(), cache, notify=llm_cli.say)
            try:
                arms[label] = replay_arm(setup, tasks, text, policies, label, prefix)
            finally:
                if policies is not None:
                    policies.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    report = {
        "bench": "llm_fidelity",
        "dataset": Path(args.dataset).name,
        "cascades": len(tasks),
        "seed": args.seed,
        "limit": args.limit,
        "endpoint": "scripted server" if api_base else (args.api_base or "provider default"),
        "model": base.model,
        "batch_size": args.batch_size,
        "temperature": base.temperature,
        "arms": {},
        "pairs": {},
    }
    for label, arm in arms.items():
        per = arm["per_cascade"]
        report["arms"][label] = {
            "vs_real": scores_vs_real(arm, real),
            "finals": {f: _mean([per[cid][f] for cid in per]) for f in FINALS},
            "seconds": arm["seconds"],
            **({"llm": arm["llm"]} if "llm" in arm else {}),
        }
    for a, b in combinations(arms, 2):
        report["pairs"][f"{b} vs {a}"] = distance(arms[a], arms[b])
    print(table(report))
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
