"""What the Agents page's profiles tab computes (no streamlit): who filled each attribute, how profiled values
differ from the offline ones, which users a profiling job asks about, and where its profiles file is saved.

Sources follow ``s3core.demographics.Provenance``: given (users file), profiled (the scenario's profiles file,
split by its ``source`` column, e.g. ``llm:openai/gpt-4o-mini`` or ``rules``), inferred (the offline text
rules) and drawn (population shares). Initial attitudes come from the profiles file or are drawn (from the
posting history's stance, else the prior): nothing is given or inferred by the rules for them.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

from s3core.demographics import PROVENANCE_COLUMNS, Provenance
from s3core.llm.profiling import merge_profiles, users_with_text
from s3core.llm.subset import SubsetSpec, select_agents
from s3core.profiles import ProfilesError, align, check_profiles, empty_profiles, read_profiles, write_profiles

PROFILES_FILE = "profiles.parquet"  # the workspace's own profiles file, in ws.run_dir
ATTRIBUTES = ("age", "gender", "occupation", "initial attitude")
GIVEN, RULES, DRAWN = "given (users file)", "offline text rules", "drawn"
PROFILED = "profiles file"  # row label prefix: "profiles file: <source>"
CHOICES = {
    "text": "users with a description or posts",
    "top": "the most-followed users",
    "share": "a seeded random share",
    "llm": "the LLM panel's subset",
}


def user_sources(table: pd.DataFrame | None, user_ids) -> np.ndarray:
    """Each agent's ``source`` in a profiles table (object array, shape (n_users,)); "(no source)" where empty."""
    ids = pd.Index(np.asarray(user_ids).astype(str))
    out = np.full(len(ids), "(no source)", dtype=object)
    if table is None or not len(table):
        return out
    position = ids.get_indexer(table["user_id"].astype(str))
    hit = position >= 0
    source = table["source"].astype("string").fillna("(no source)").to_numpy(dtype=object)
    out[position[hit]] = source[hit]
    return out


def source_table(pop, table: pd.DataFrame | None, user_ids) -> pd.DataFrame:
    """Users per source (rows) and attribute (columns: ``ATTRIBUTES``); NA where a source cannot fill one.

    ``pop`` is the population the engine built for the scenario (``provenance`` int8 (n, 3),
    ``profile_attitude`` int8 or None); ``table`` the profiles file it named (for the ``source`` split).
    """
    sources = user_sources(table, user_ids)
    profiled = pop.provenance == Provenance.PROFILED
    attitude = pop.profile_attitude if pop.profile_attitude is not None else np.full(pop.size, -1, dtype=np.int8)
    names = sorted(set(sources[profiled.any(axis=1) | (attitude >= 0)]))
    rows: dict[str, list] = {GIVEN: [], **{f"{PROFILED}: {s}": [] for s in names}, RULES: [], DRAWN: []}
    for j, _ in enumerate(PROVENANCE_COLUMNS):
        column = pop.provenance[:, j]
        rows[GIVEN].append(int((column == Provenance.GIVEN).sum()))
        for s in names:
            rows[f"{PROFILED}: {s}"].append(int(((column == Provenance.PROFILED) & (sources == s)).sum()))
        rows[RULES].append(int((column == Provenance.INFERRED).sum()))
        rows[DRAWN].append(int((column == Provenance.DRAWN).sum()))
    rows[GIVEN].append(pd.NA)
    for s in names:
        rows[f"{PROFILED}: {s}"].append(int(((attitude >= 0) & (sources == s)).sum()))
    rows[RULES].append(pd.NA)
    rows[DRAWN].append(int((attitude < 0).sum()))
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(ATTRIBUTES)).astype("Int64")
    frame.index.name = "source"
    return frame.reset_index()


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two ``source_table``s side by side: one row per source of either, ``<attribute>: before`` / ``after``."""
    b, a = before.set_index("source"), after.set_index("source")
    index = list(dict.fromkeys([*b.index, *a.index]))
    out = pd.DataFrame(index=pd.Index(index, name="source"))
    for name in ATTRIBUTES:
        old, new = b[name].reindex(index).astype("Int64"), a[name].reindex(index).astype("Int64")
        out[f"{name}: before"] = old.mask(old.isna() & new.notna(), 0)  # a source new in one table filled none
        out[f"{name}: after"] = new.mask(new.isna() & old.notna(), 0)
    return out.reset_index()


def compare_offline(pop, offline, attitude: np.ndarray, offline_attitude: np.ndarray) -> pd.DataFrame:
    """How the profiles file's values differ from what the offline rules and draws give the same users.

    ``pop``/``attitude`` are with the profiles file, ``offline``/``offline_attitude`` without it (initial
    attitudes, shape (n_users,)). One row per attribute: users the file filled, how many of them the
    offline order gave by rules or draws, how many differ, and the age MAE (years) or the agreement share.
    """
    rows = []
    for j, name in enumerate(PROVENANCE_COLUMNS):
        mask = pop.provenance[:, j] == Provenance.PROFILED
        new, old = getattr(pop, name)[mask].astype(float), getattr(offline, name)[mask].astype(float)
        was = offline.provenance[mask, j]
        rows.append(_row(name, new, old, was, age=name == "age"))
    if pop.profile_attitude is not None:
        mask = pop.profile_attitude >= 0
        was = np.full(int(mask.sum()), Provenance.DRAWN)
        rows.append(_row("initial attitude", attitude[mask].astype(float), offline_attitude[mask].astype(float), was))
    else:
        rows.append(_row("initial attitude", np.zeros(0), np.zeros(0), np.zeros(0)))
    return pd.DataFrame(rows)


def _row(name: str, new: np.ndarray, old: np.ndarray, was: np.ndarray, age: bool = False) -> dict:
    n = len(new)
    differ = int((new != old).sum())
    if not n:
        measure = "no users"
    elif age:
        measure = f"MAE {np.abs(new - old).mean():.1f} years"
    else:
        measure = f"agree {1 - differ / n:.0%}"
    return {
        "attribute": name,
        "from the profiles file": n,
        "offline: rules": int((was == Provenance.INFERRED).sum()),
        "offline: drawn": int((was == Provenance.DRAWN).sum()),
        "differ from offline": differ,
        "vs offline": measure,
    }


def chosen_agents(
    kind: str, network, population, seed: int, top: int = 100, share: float = 0.1, subset: SubsetSpec | None = None
) -> np.ndarray:
    """Agent indices (int64, sorted) a profiling job asks about: users with text among ``CHOICES[kind]``.

    ``population`` is the offline one (as the CLI's ``profile``), for the LLM subset's demographic filters.
    Raises ValueError for an unknown kind.
    """
    n = network.n_users
    if kind == "text":
        mask = np.ones(n, dtype=bool)
    elif kind == "top":
        mask = select_agents(SubsetSpec(top_followers=int(top)), network, population, seed)
    elif kind == "share":
        mask = select_agents(SubsetSpec(share=float(share)), network, population, seed)  # as the CLI's --share
    elif kind == "llm":
        mask = select_agents(subset or SubsetSpec(), network, population, seed)
    else:
        raise ValueError(f"unknown choice of users {kind!r}: expected one of {', '.join(CHOICES)}")
    readable = np.zeros(n, dtype=bool)
    readable[users_with_text(network)] = True
    return np.flatnonzero(mask & readable)


def current_table(scenario) -> pd.DataFrame | None:
    """The profiles table the scenario names (None without one). Raises ProfilesError / FileNotFoundError."""
    if not scenario.profiles:
        return None
    return read_profiles(scenario.resolve(scenario.profiles))


def _set_aside(target: Path) -> Path | None:
    """Rename an existing ``target`` to ``profiles-<UTC time>.parquet`` beside it (kept, not used)."""
    if not target.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    aside = target.with_name(f"{target.stem}-{stamp}{target.suffix}")
    k = 1
    while aside.exists():
        aside, k = target.with_name(f"{target.stem}-{stamp}-{k}{target.suffix}"), k + 1
    target.replace(aside)
    return aside


def save_job(run_dir: Path, scenario, new: pd.DataFrame) -> Path:
    """Write ``new`` merged over the profiles in use to ``run_dir/profiles.parquet``; returns its absolute path.

    The base is the scenario's profiles file when it names one, else the workspace's own file when it exists
    (e.g. after "Stop using profiles"). A workspace file that is not the base is renamed aside, never lost.
    Raises ProfilesError when the merged table is not a valid profiles table, OSError when it cannot be written.
    """
    target = (Path(run_dir) / PROFILES_FILE).resolve()
    base_path = scenario.resolve(scenario.profiles).resolve() if scenario.profiles else target
    base = read_profiles(base_path) if base_path.is_file() else empty_profiles()
    merged = check_profiles(merge_profiles(base, new), "merged profiles")
    if base_path != target:
        _set_aside(target)
    return write_profiles(merged, target)


def filled_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a profiles table with at least one value (failed calls leave rows with none)."""
    return table.dropna(how="all", subset=["age", "gender", "occupation", "attitude"]).reset_index(drop=True)


def parse_upload(name: str, data: bytes, user_ids) -> pd.DataFrame:
    """An uploaded profiles file (``.csv``, else Parquet) as the canonical table, checked against the network.

    Raises ProfilesError naming ``name`` (and the row and column where it applies).
    """
    try:
        if name.lower().endswith(".csv"):
            raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        else:
            raw = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pandas and pyarrow raise many kinds for a file that is not what it says
        kind = "CSV" if name.lower().endswith(".csv") else "Parquet"
        raise ProfilesError(f"{name}: cannot be read as {kind} ({type(exc).__name__}: {exc})") from None
    table = check_profiles(raw, name)
    align(table, user_ids, name)  # refuses a file made for another network
    return table


def save_upload(run_dir: Path, table: pd.DataFrame) -> Path:
    """Make a checked upload the workspace's profiles file (a previous one is renamed aside); absolute path."""
    target = (Path(run_dir) / PROFILES_FILE).resolve()
    part = write_profiles(table, target.with_name("profiles.upload.parquet"))  # written before anything moves
    _set_aside(target)
    part.replace(target)
    return target
