"""One self-contained HTML report per experiment: charts, parameters, effects with intervals, provenance, versions.

plotly.js is inlined once, so the file opens offline in any browser (no network request).
Everything shown comes from the report dict of ``effects.summarize`` and the experiment's own
files; nothing is recomputed here.
"""

from __future__ import annotations

import hashlib
import html
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from .. import scenario as S
from ..trace import package_versions
from . import figures as F
from .spec import Experiment

REPORTED_PACKAGES = ("numpy", "pandas", "scipy", "duckdb", "networkx", "plotly", "scikit-learn", "pyarrow", "ray")
FOREST_OUTCOMES = ("final_reach", "final_positive", "peak_emotion", "trough_positive")
_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f4f4f4; }
td:first-child, th:first-child, td.text { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { background: #fff6e0; border-left: 4px solid #E69F00; padding: 0.4em 0.8em; margin: 0.4em 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5em; }
"""


def network_provenance(scenario: S.Scenario) -> str:
    """Where the experiment's network and texts come from, in words, with the file to read for details."""
    spec = scenario.network
    if spec.source == "bundled":
        text = (
            "the bundled real Weibo repost network (data/weibo_sample: about 10k users from 45 cascades of the "
            "Weibo CED repost dataset, built by scripts/build_sample.py; see data/README.md)"
        )
    elif spec.source == "cascades":
        text = f"the {spec.dataset} repost cascades in {spec.dataset_dir}" + (
            f" (earliest {spec.max_edges:,} edges)" if spec.max_edges else ""
        )
    elif spec.source == "synthetic":
        graph_seed = "the run seed" if spec.graph_seed < 0 else f"graph seed {spec.graph_seed}"
        text = (
            f"a synthetic follower graph of {spec.n_users:,} users (mean followees {spec.mean_followees}, "
            f"reciprocity {spec.reciprocity}, tail exponent {spec.tail_exponent}, {graph_seed})"
        )
    elif spec.source == "files":
        text = (
            f"the edge list {spec.edges}"
            + (f" with users {spec.users}" if spec.users else "")
            + (f" and posts {spec.posts}" if spec.posts else "")
        )
    else:
        text = f"the graph file {spec.graph}"
    if spec.source != "synthetic" and spec.augment_followees > 0:
        text += (
            f", augmented to {spec.augment_followees} mean followees with Chung-Lu edges (s3core.augment; "
            "the loaded edges are all kept)"
        )
    return text


def _figure(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "n/a"
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def code_version() -> str:
    """s3core's version, with the git commit of this checkout when there is one (and "+changes" if edited)."""
    release = package_versions(("s3core",), absent="not installed")["s3core"]
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{release}" + (f", commit {commit}" + (" +changes" if dirty else "") if commit else "")


def _files(experiment: Experiment, scenario_text: str) -> list[tuple[str, Path]]:
    """The experiment file, its scenario and the scenario's parameter file (``params = ...``), as found."""
    if not experiment.origin:
        return []
    origin = Path(experiment.origin).resolve()
    scenario = (origin.parent / experiment.scenario_path).resolve()
    found = [("experiment file", origin), ("scenario", scenario)]
    match = re.search(r'^\s*params\s*=\s*"([^"]+)"', scenario_text, flags=re.M)
    if match:
        found.append(("parameter file", (scenario.parent / match.group(1)).resolve()))
    return [(what, path) for what, path in found if path.is_file()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_text(experiment: Experiment) -> tuple[str, str]:
    """The experiment file's and the base scenario file's text, when they can still be read."""
    texts = []
    origin = Path(experiment.origin) if experiment.origin else None
    for path in (origin, (origin.parent / experiment.scenario_path) if origin else None):
        try:
            texts.append(path.read_text(encoding="utf-8") if path and path.is_file() else "")
        except OSError:
            texts.append("")
    return texts[0], texts[1]


def html_report(report: dict, experiment: Experiment, created: datetime | None = None) -> str:
    """The experiment's report as one HTML page that needs no network to open.

    Args:
        report: the dict ``runner.run_experiment`` returns (``effects.summarize``).
        experiment: the experiment it summarises (for parameters and provenance).
        created: the time printed as the report's creation time (default: now, UTC).
    """
    created = created or datetime.now(timezone.utc)
    e = html.escape
    parts = [f"<h1>Experiment {e(report['experiment'])}</h1>"]
    if experiment.description:
        parts.append(f"<p>{e(experiment.description)}</p>")
    last = report["first_seed"] + report["seeds"] - 1
    parts.append(
        f"<p>{report['seeds']} seeds ({report['first_seed']} to {last}), {report['steps']} steps, baseline "
        f"arm <b>{e(report['baseline'])}</b>. Bands and intervals: {e(report['bands'])}. Peaks and troughs "
        f"are looked for from step {report.get('outcomes_from_step', 0)} on, over steps with at least 1% of "
        f"agents aware. Created {created.strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    parts += [f'<p class="note">{e(n)}</p>' for n in report.get("notes", [])]
    arms = pd.DataFrame(
        [
            {
                "arm": name,
                "role": "baseline" if a["baseline"] else "treatment",
                "model": a.get("model", "agents"),
                "branches at step": a.get("from_step") or "",
                "changes": "; ".join(a["changes"]) or "none",
            }
            for name, a in report["arms"].items()
        ]
    )
    parts += ["<h2>Arms</h2>", _table(arms)]
    effects = F.effects_frame(report)
    effects["outcome"] = effects["outcome"].map(lambda o: F.OUTCOME_LABELS.get(o, o))
    parts += ["<h2>Effects (arm minus baseline, paired by seed), 95% intervals</h2>", _table(effects)]
    parts.append("<h2>Curves: mean over seeds with 95% bands, and paired effects</h2><div class='grid'>")
    for curve in F.CURVE_LABELS:
        parts += [_figure(F.mean_curves(report, curve)), _figure(F.effect_curves(report, curve))]
    parts.append("</div><h2>Effects by demographic group and user category</h2>")
    groups = F.group_effects_frame(report)
    for outcome in [o for o in FOREST_OUTCOMES if o in experiment.outcomes]:
        parts.append(_figure(F.forest(report, outcome)))
    parts.append(f"<details><summary>All {len(groups)} group effects</summary>{_table(groups)}</details>")
    experiment_text, scenario_text = _source_text(experiment)
    base = experiment.baseline.scenario
    parts += [
        "<h2>Data provenance</h2>",
        f"<p>Network: {e(network_provenance(base))}. Agents' demographics, emotions and attitudes are drawn "
        "from the scenario's parameters with keyed random draws of each seed (common random numbers: every "
        "arm of a seed shares the same draws). Experiment file: "
        f"<code>{e(experiment.origin or 'not from a file')}</code>; base scenario: "
        f"<code>{e(experiment.scenario_path)}</code> (relative to the experiment file).</p>",
    ]
    hashes = pd.DataFrame(
        [(what, str(path), _sha256(path)) for what, path in _files(experiment, scenario_text)],
        columns=["file", "path", "sha256"],
    )
    if len(hashes):
        parts.append(_table(hashes))
    parts.append("<h2>Parameters</h2>")
    if experiment_text:
        parts.append(f"<details open><summary>Experiment file</summary><pre>{e(experiment_text)}</pre></details>")
    if scenario_text:
        parts.append(f"<details><summary>Base scenario file</summary><pre>{e(scenario_text)}</pre></details>")
    for arm in experiment.arms:
        as_run = S.dumps(arm.scenario).replace(
            f"seed = {arm.scenario.seed}\n", f"seed = {report['first_seed']}  # to {last}: one run per seed\n", 1
        )
        parts.append(
            f"<details><summary>Arm {e(arm.name)}: every parameter as run</summary><pre>{e(as_run)}</pre></details>"
        )
    versions = package_versions(REPORTED_PACKAGES, absent="not installed")
    versions = pd.DataFrame([("s3core", code_version()), *versions.items()], columns=["package", "version"])
    parts += ["<h2>Package versions</h2>", _table(versions)]
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Experiment {e(report['experiment'])}"
        f"</title><style>{_STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(report: dict, experiment: Experiment, path: str | Path) -> Path:
    """Write ``html_report`` to ``path`` (UTF-8), creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(report, experiment), encoding="utf-8")
    return path
