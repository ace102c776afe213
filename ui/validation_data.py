"""The Validate page's data side: cached dataset loading, one replayed cascade, background validation runs, results files.

Everything that measures calls ``s3core.validation``; this module only caches, sequences and
reads. A loaded dataset is read-only and large (a million reposts), so it is shared through
``st.cache_resource``; a validation over many cascades runs the ``validate`` command in its own
process, so it never holds up the server, and its results file is read read-only.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from s3core.validation import metrics as M
from s3core.validation.baselines import (
    fit_ic_probability,
    ic_steps,
    independent_cascade,
    mean_curve_model,
    mean_curve_prediction,
)
from s3core.validation.datasets import CascadeData, DatasetError, StanceThreads, load_dataset  # noqa: F401 - the page catches DatasetError from here
from s3core.validation.simulate import (
    FREE_RUN_MINUTES,
    ParamsError,
    Setup,
    free_run,
    free_run_world,
    replay,
    replay_network,
    setup_from_params,
)
from s3core.validation.trees import CascadeTree, build_trees
from s3core.validation.validate import split_cascades

from .command_job import CommandJob
from .session import text_resources

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
IC_SAMPLE = 8  # training cascades the page fits the independent-cascade probability on (the CLI uses 40)
SNIPPET = 60
MODELS = {"simulator": "simulator", "independent_cascade": "independent cascade", "mean_curve": "mean curve"}
_PROGRESS = re.compile(r"validate: cascades (\d+)/(\d+)")


# -- dataset -------------------------------------------------------------------------------------
def subfolders(root: str | Path) -> list[str]:
    """Names of the folders directly inside ``root`` that hold Parquet tables, cascade datasets (with a
    sources.parquet) first; empty if ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and any(p.glob("*.parquet"))]
    return [p.name for p in sorted(found, key=lambda p: (not (p / "sources.parquet").exists(), p.name))]


def stamp(folder: str | Path) -> tuple:
    """What identifies a dataset folder's content for the caches: its tables' names, sizes and times."""
    folder = Path(folder)
    if not folder.is_dir():
        return ()
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.parquet")))


@dataclass(frozen=True)
class Loaded:
    """A checked cascade dataset with its trees, its train/evaluate split and the mean-curve baseline.

    ``data.events`` is left empty once the trees are built (they hold everything the page needs), to
    keep a million-repost dataset's memory down; ``n_events`` keeps its length.
    """

    data: CascadeData
    n_events: int
    trees: dict[str, CascadeTree]
    train: list[str]
    evaluate: list[str]  # evaluated cascades with participants in the window, in split order
    n_window: dict[str, int]  # participants within the 150-minute window
    text_of: dict[str, str]
    mean_model: dict | None  # None without a training cascade with participants in the window


@st.cache_resource(max_entries=2, show_spinner="Reading the dataset and building its cascade trees...")
def load(folder: str, content: tuple) -> Loaded | StanceThreads:
    """The dataset in ``folder``; raises DatasetError (never cached) naming the table and column at fault."""
    data = load_dataset(folder)
    if isinstance(data, StanceThreads):
        return data
    trees = build_trees(data.events, data.sources)
    split = split_cascades(data, None)
    n_window = {cid: int(np.sum(trees[cid].t_min <= M.WINDOW_MINUTES)) for cid in split.train + split.evaluate}
    train = [c for c in split.train if n_window[c]]
    model = None
    if train:
        model = mean_curve_model(
            [M.curves(trees[c].within(M.WINDOW_MINUTES)) for c in train], [n_window[c] for c in train]
        )
    text_of = dict(zip(data.sources["cascade_id"].astype(str), data.sources["text"]))
    slim = dataclasses.replace(data, events=data.events.iloc[:0])
    return Loaded(
        slim, len(data.events), trees, train, [c for c in split.evaluate if n_window[c]], n_window, text_of, model
    )


def load_folder(folder: str | Path) -> Loaded | StanceThreads:
    """``load`` keyed by the folder's content, so a changed table is read again."""
    return load(str(folder), stamp(folder))


def cascade_label(loaded: Loaded, cid: str) -> str:
    """One line per cascade for pickers: id, N within the window and the start of the source text."""
    text = " ".join(str(loaded.text_of.get(cid, "")).split())
    snippet = text[:SNIPPET] + ("..." if len(text) > SNIPPET else "")
    return f"{cid} · N = {loaded.n_window[cid]} · {snippet or '(no text)'}"


# -- parameters ----------------------------------------------------------------------------------
def parse_params(raw: bytes | str | None, where: str) -> dict | None:
    """A parameter JSON object from an upload or a file's text; ParamsError naming ``where`` if it is not one."""
    if raw is None or (isinstance(raw, (bytes, str)) and not raw.strip()):
        return None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = (
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        )
        raise ParamsError(f"{where}: not JSON ({detail})") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{where}: must hold a JSON object of parameter groups")
    return data


def read_params_file(path: str) -> dict | None:
    """The parameter JSON at ``path`` (empty path: none); ParamsError for a missing or bad file."""
    if not path.strip():
        return None
    p = Path(path.strip()).expanduser()
    if not p.is_file():
        raise ParamsError(f"{p}: no such parameter file")
    return parse_params(p.read_bytes(), str(p))


def make_setup(params: dict | None, seed: int) -> tuple[Setup, str]:
    """The model under validation and its cache key (canonical JSON); raises ParamsError naming the key."""
    return setup_from_params(params, int(seed)), json.dumps(params or {}, sort_keys=True)


@st.cache_resource(max_entries=4, show_spinner=False)
def _setup(params_key: str, seed: int) -> Setup:
    return setup_from_params(json.loads(params_key), seed)


@st.cache_data(max_entries=16, show_spinner="Fitting the independent-cascade probability on training cascades...")
def ic_probability(folder: str, content: tuple, params_key: str, seed: int) -> float:
    """The baseline's adoption probability fitted on up to IC_SAMPLE training cascades (evenly spread)."""
    loaded = load(folder, content)
    setup = _setup(params_key, seed)
    train = loaded.train
    if not train:
        return float("nan")
    pick = np.unique(np.linspace(0, len(train) - 1, min(IC_SAMPLE, len(train))).round().astype(int))
    replays = [
        (
            *replay_network(setup, train[i], loaded.n_window[train[i]]),
            train[i],
            M.curves(loaded.trees[train[i]].within(M.WINDOW_MINUTES)),
        )
        for i in pick
    ]
    return fit_ic_probability(replays, setup.minutes_per_step, setup.seed)


@st.cache_resource(max_entries=2, show_spinner=False)
def _world(params_key: str, seed: int):
    """The free-run network every cascade of one model shares (read-only once built)."""
    return free_run_world(_setup(params_key, seed), text_resources())


# -- one cascade ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CascadeRun:
    """One evaluated cascade: real and modelled curves, the free run and the real cascade over 36 hours."""

    cascade_id: str
    n_users: int
    ic_probability: float
    curves: dict[str, dict[str, np.ndarray]]  # "real" and the MODELS keys -> curve name -> per-minute values
    real_free: CascadeTree
    simulated_free: CascadeTree
    has_text: bool


def run_cascade(
    folder: str,
    params_key: str,
    seed: int,
    cascade_id: str,
    progress: Callable[[float, str], None] = lambda share, text: None,
) -> CascadeRun:
    """Replay one cascade with the simulator, the independent cascade and the mean curve, and let it run free.

    The same calls as ``validate`` makes for each evaluated cascade (``replay_runner``), except that the
    independent-cascade probability is fitted on fewer training cascades (IC_SAMPLE).
    """
    content = stamp(folder)
    loaded = load(folder, content)
    setup = _setup(params_key, seed)
    text, n = loaded.text_of[cascade_id], loaded.n_window[cascade_id]
    progress(0.05, "Fitting the independent-cascade probability on training cascades...")
    p = ic_probability(folder, content, params_key, seed)
    progress(0.3, f"Replaying the cascade among N = {n} users...")
    replayed = replay(setup, cascade_id, text, n, text_resources())
    progress(0.55, "Running the independent-cascade baseline...")
    model_curves = {"simulator": M.curves(replayed)}
    if np.isfinite(p):
        network, author = replay_network(setup, cascade_id, n)
        ic = independent_cascade(
            network, author, p, ic_steps(setup.minutes_per_step), setup.minutes_per_step, setup.seed, cascade_id
        )
        model_curves["independent_cascade"] = M.curves(ic)
    if loaded.mean_model is not None:
        model_curves["mean_curve"] = mean_curve_prediction(loaded.mean_model, n)
    progress(0.65, "Letting the source post run free for 36 hours...")
    free = free_run(setup, _world(params_key, seed), cascade_id, text, text_resources())
    progress(1.0, "Done.")
    real = M.curves(loaded.trees[cascade_id].within(M.WINDOW_MINUTES))
    return CascadeRun(
        cascade_id,
        n,
        p,
        {"real": real, **model_curves},
        loaded.trees[cascade_id].within(FREE_RUN_MINUTES),
        free,
        loaded.data.has_text,
    )


def nrmse_rows(run: CascadeRun) -> pd.DataFrame:
    """NRMSE of each model's curves against the real ones (rows: models; columns: curves and their mean)."""
    rows = []
    for key, label in MODELS.items():
        if key not in run.curves:
            continue
        scores = {c: M.nrmse(run.curves[key][c], run.curves["real"][c]) for c in M.CURVES}
        rows.append(
            {
                "model": label,
                **scores,
                "mean": float(np.nanmean(list(scores.values())))
                if any(np.isfinite(v) for v in scores.values())
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# -- validation over many cascades, in its own process ---------------------------------------------
class ValidationJob(CommandJob):
    """``python -m s3core validate`` on a few cascades, started by this session; progress read from its stderr."""

    def __init__(self, folder: str, params: dict | None, seed: int, limit: int, out: Path):
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        cmd = [
            sys.executable,
            "-m",
            "s3core",
            "validate",
            "--dataset",
            str(folder),
            "--limit",
            str(limit),
            "--seed",
            str(int(seed)),
            "--workers",
            "1",
            "--out",
            str(self.out),
            "--force",
        ]
        if params:
            params_path = self.out.with_suffix(".params.json")
            params_path.write_text(json.dumps(params), encoding="utf-8")
            cmd += ["--params", str(params_path)]
        super().__init__("validate", cmd, self.out.with_suffix(".log"))

    def progress(self) -> tuple[int, int]:
        """(cascades done, cascades to do); (0, limit) while the dataset is read and the baselines fitted."""
        return self.last_progress(_PROGRESS) or (0, self.limit)

    def error(self) -> str | None:
        """The command's error line once it has failed, else None."""
        return self.last_error_line(_PROGRESS)


def results_files(run_dir: Path) -> list[Path]:
    """Validation results files to offer: this session's runs, then ``*.validation.duckdb`` in the checkout."""
    own = (
        sorted((run_dir / "validation").glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        if (run_dir / "validation").is_dir()
        else []
    )
    return own + sorted(ROOT.glob("*.validation.duckdb"))


@dataclass(frozen=True)
class Results:
    """A validation results file: the summary (JSON values by key) and the per-cascade scores."""

    summary: dict
    cascades: pd.DataFrame


@st.cache_data(max_entries=8, show_spinner=False)
def read_results(path: str, _mtime: int) -> Results:
    """Read a results file written by ``store.write_results`` (read-only); ValueError if it is not one."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    try:
        with duckdb.connect(str(p), read_only=True) as con:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            missing = [t for t in ("summary", "cascades") if t not in tables]
            if missing:
                raise ValueError(f"{p}: not a validation results file (no table {', '.join(missing)})")
            summary = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM summary").fetchall()}
            cascades = con.execute("SELECT * FROM cascades ORDER BY cascade_id, model").df()
    except duckdb.Error as exc:
        raise ValueError(f"{p}: cannot be read as DuckDB ({type(exc).__name__}: {exc})") from None
    return Results(summary, cascades)
