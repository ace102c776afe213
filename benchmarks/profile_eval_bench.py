"""Demographic inference against real self-reported labels: weibo-ced source authors' user_gender.

Prints, for the offline rules (and an LLM when ``--model`` is given), gender accuracy, precision,
recall, F1 and AUC over the answered authors, coverage, the majority-class baseline and S3's
published figures; then the same on the two halves of a split by a hash of user_id; then one
JSON line with everything.

    python -m benchmarks.profile_eval_bench [--datasets ../shared/datasets] [--users FILE [--posts FILE]]
        [--model M --api-base URL] [--limit N --seed S] [--llm-cache DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from s3core.profile_evaluate import evaluate, load_labelled

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=str(DATASETS), help="folder holding weibo-ced/ (default %(default)s)")
    parser.add_argument("--users", help="a users file with gender/age/occupation columns, instead of weibo-ced")
    parser.add_argument("--posts", help="the users' posts file (user_id,text), with --users")
    parser.add_argument("--limit", type=int, help="score a seeded random sample of N users (for cheap LLM runs)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--no-halves", action="store_true", help="skip the per-half tables")
    parser.add_argument("--llm-cache", help="LLM cache directory (default: $S3_LLM_CACHE, else the user's cache)")
    from s3core.llm.cli import add_connection_arguments

    add_connection_arguments(parser.add_argument_group("LLM inferrer (runs only with --model)"))
    return parser


def _llm(args):
    from s3core.llm.cache import LLMCache, resolve_cache_dir
    from s3core.llm.cli import settings_from_args
    from s3core.llm.demographics import LLMDemographicInferrer

    return LLMDemographicInferrer(settings_from_args(args), LLMCache(resolve_cache_dir(args.llm_cache)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    users = load_labelled(args.users or "weibo-ced", args.datasets, posts=args.posts)
    if args.limit is not None:
        users = users.sample(args.limit, args.seed)
    inferrers = [("rules", "rules")]
    llm = _llm(args) if args.model else None
    if llm is not None:
        inferrers.append(("llm", llm))
    out = {"dataset": users.name, "source": users.source, "users": len(users), "reports": {}}
    try:
        for key, inferrer in inferrers:
            parts = [("all", users)] + ([] if args.no_halves else [(f"half{h}", users.half(h)) for h in (0, 1)])
            for part, subset in parts:
                report = evaluate(subset, inferrer, progress=_progress if key == "llm" else None)
                print(report.table(), end="\n\n", flush=True)
                out["reports"][f"{key}/{part}"] = report.as_dict()
                if part == "all":
                    out["reports"][f"{key}/{part}"]["markdown"] = report.markdown()
    finally:
        if llm is not None:
            print(f"llm: {json.dumps(llm.stats.as_dict())}", file=sys.stderr)
            llm.close()
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _progress(done: int, total: int) -> None:
    print(f"\r  {done:,}/{total:,} users", end="" if done < total else "\n", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
