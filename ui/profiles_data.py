"""What the Agents page's profiles tab computes (no streamlit): who filled each attribute, how profiled values
differ from the offline ones, which users a profiling job asks about, what a job did, and where its profiles
file is saved.

Sources follow ``s3core.demographics.Provenance`` and use the charts' legend words (``charts.PROVENANCE_COLORS``):
given (users file), profiled (the scenario's profiles file, split by its ``source`` column, e.g.
``llm:openai/gpt-4o-mini`` or ``rules``), inferred (the offline text rules) and drawn (population shares).
Initial attitudes come from the profiles file or are drawn from the posting history's stance, else the prior:
the users file and the rules never fill them (NA in the tables, shown as "—").
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
GIVEN, RULES = "given (users file)", "inferred (offline text rules)"
DRAWN = "drawn (shares; attitude: history or prior)"  # attitudes are drawn from the history's stance or the prior
PROFILED = "profiled"  # row label prefix: "profiled: <the profiles file's source>"
CHOICES = {  # the first is the default: a small, cheap job
    "top": "the most-followed users",
    "share": "a seeded random share",
    "llm": "the LLM panel's subset",
    "text": "all users with a description or posts",
}
DEFAULT_TOP = 100  # users of the default choice
CONFIRM_CALLS, CONFIRM_USD = 1_000, 1.0  # past either, a job runs only once its estimated cost is accepted


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
    """Users per source (rows: given, profiled per source, inferred, drawn) and attribute (columns: ``ATTRIBUTES``).

    NA where a source cannot fill an attribute (initial attitudes from the users file or the rules).

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


def _order(label: str) -> tuple[int, str]:
    """Rows in ``source_table``'s order: given, profiled (by source), inferred, drawn."""
    return ({GIVEN: 0, RULES: 2, DRAWN: 3}.get(label, 1), label)


def _count(value) -> str:
    return "—" if pd.isna(value) else f"{int(value):,}"


def before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two ``source_table``s as one, for reading: one row per source of either (in ``source_table``'s order),
    one text column per attribute, ``"<before> → <after>"`` where the count changed, else the one count.

    A source in one table only filled 0 in the other; "—" where the source cannot fill the attribute.
    """
    b, a = before.set_index("source"), after.set_index("source")
    index = sorted(dict.fromkeys([*b.index, *a.index]), key=_order)
    out = pd.DataFrame(index=pd.Index(index, name="source"))
    for name in ATTRIBUTES:
        old, new = b[name].reindex(index).astype("Int64"), a[name].reindex(index).astype("Int64")
        old, new = old.mask(old.isna() & new.notna(), 0), new.mask(new.isna() & old.notna(), 0)
        out[name] = [
            _count(n) if (pd.isna(o) and pd.isna(n)) or o == n else f"{_count(o)} → {_count(n)}"
            for o, n in zip(old, new, strict=True)
        ]
    return out.reset_index()


def answered(new: pd.DataFrame, pop, user_ids) -> str:
    """What the model answered in ``new`` (a job's filled rows), per attribute, and how much of it is used.

    ``pop`` is the population with the saved profiles file: where the users file gives a user's attribute, it
    wins over the model's answer (``Provenance.GIVEN``), which the sentence says. Returns one sentence.
    """
    position = pd.Index(np.asarray(user_ids).astype(str)).get_indexer(new["user_id"].astype(str))
    parts = []
    for j, name in enumerate(PROVENANCE_COLUMNS):
        has = new[name].notna().to_numpy() & (position >= 0)
        n = int(has.sum())
        given = int((pop.provenance[position[has], j] == Provenance.GIVEN).sum())
        kept = (
            f" ({given:,} of these users already have {'an' if name[0] in 'aeiou' else 'a'} {name} in the users "
            "file, which wins)"
            if given
            else ""
        )
        parts.append(f"{name} {n:,}{kept}")
    parts.append(f"initial attitude {int(new['attitude'].notna().sum()):,}")
    return f"Answered by the model for {len(new):,} users: {', '.join(parts)}."


def run_summary(stats, seconds: float) -> str:
    """A job's gateway counters (``s3core.llm.stats.LLMStats``) as one readable sentence."""
    cost = "cost unknown (no price for this model)" if stats.cost_usd is None else f"cost ${stats.cost_usd:.4f}"
    failed = sum(stats.errors.values())
    retries = f" ({stats.retries:,} retries, {stats.wait_s:.1f} s waited)" if stats.retries else ""
    return (
        f"{stats.calls:,} calls sent{retries}, {stats.cache_hits:,} answered from the cache; "
        f"{stats.prompt_tokens + stats.completion_tokens:,} tokens ({stats.prompt_tokens:,} prompt + "
        f"{stats.completion_tokens:,} completion); {cost}; {seconds:.1f} s; "
        f"{'no failed calls' if not failed else f'{failed:,} failed call' + ('s' if failed > 1 else '')}."
    )


def needs_confirmation(calls: int, cost_usd: float | None) -> bool:
    """Whether a job with ``calls`` calls to send and an estimated ``cost_usd`` (None: unknown) needs an accept."""
    return calls > CONFIRM_CALLS or (cost_usd is not None and cost_usd > CONFIRM_USD)


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
        "offline: inferred": int((was == Provenance.INFERRED).sum()),
        "offline: drawn": int((was == Provenance.DRAWN).sum()),
        "differ from offline": differ,
        "vs offline": measure,
    }


def chosen_agents(
    kind: str,
    network,
    population,
    seed: int,
    top: int = DEFAULT_TOP,
    share: float = 0.1,
    subset: SubsetSpec | None = None,
) -> np.ndarray:
    """Agent indices (int64, sorted) a profiling job asks about: users with text among ``CHOICES[kind]``.

    "top" is the ``top`` most-followed users among those with text (ties by agent index). ``population`` is
    the offline one (as the CLI's ``profile``), for the LLM subset's demographic filters. Raises ValueError
    for an unknown kind.
    """
    n = network.n_users
    readable = np.zeros(n, dtype=bool)
    readable[users_with_text(network)] = True
    if kind == "text":
        mask = np.ones(n, dtype=bool)
    elif kind == "top":
        followers = np.where(readable, network.follower_count, -1)
        best = np.argsort(-followers, kind="stable")[: int(top)]
        mask = np.zeros(n, dtype=bool)
        mask[best[followers[best] >= 0]] = True
    elif kind == "share":
        mask = select_agents(SubsetSpec(share=float(share)), network, population, seed)  # as the CLI's --share
    elif kind == "llm":
        mask = select_agents(subset or SubsetSpec(), network, population, seed)
    else:
        raise ValueError(f"unknown choice of users {kind!r}: expected one of {', '.join(CHOICES)}")
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
