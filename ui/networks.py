"""Networks for the dashboard: the bundled sample, synthetic graphs and uploaded files.

Read-only networks are cached process-wide under a content key (the same bytes or the same
generator settings give the same key), so caches never mix two different networks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from s3core.loaders import LoadError
from s3core.loaders.errors import clip
from s3core.network import Network
from s3core.scenario import NetworkSpec
from s3core.sources import build_network, network_paths
from s3core.synthetic import SyntheticParams

UPLOAD_ROLES = ("edges", "users", "posts", "graph")
GRAPH_SUFFIXES = (".graphml", ".gexf")
MAX_SYNTHETIC_USERS = 500_000  # the dashboard's cap; the CLI takes up to SyntheticParams' own maximum


@dataclass(frozen=True, eq=False)
class LoadedNetwork:
    """A network with the key caches use, a label for people and the scenario section that names it.

    ``warnings`` and ``notes`` are what the loader said about the files (ids read as whole numbers,
    edge ids missing from the users file, users in no edge); the Network page shows them.
    """

    network: Network
    key: str
    label: str
    spec: NetworkSpec
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _built(spec: NetworkSpec, base_dir: Path | str = "", seed: int = 0):
    """The network of a section through s3core's one path; a too-large synthetic graph is refused first."""
    if spec.source == "synthetic" and not 2 <= spec.n_users <= MAX_SYNTHETIC_USERS:
        raise ValueError(f"n_users = {spec.n_users}: the dashboard builds 2 to {MAX_SYNTHETIC_USERS:,} users")
    return build_network(spec, base_dir, seed)


@st.cache_resource(show_spinner="Loading the bundled Weibo network...")
def bundled() -> LoadedNetwork:
    """The shipped real Weibo sample, loaded once per process (read-only)."""
    spec = NetworkSpec(source="bundled")
    net = _built(spec).network
    return LoadedNetwork(net, "bundled", f"bundled Weibo sample ({net.n_users:,} users)", spec)


@st.cache_resource(max_entries=4, show_spinner="Generating the synthetic network...")
def synthetic(
    n_users: int, mean_followees: float, reciprocity: float, tail_exponent: float, seed: int
) -> LoadedNetwork:
    """A synthetic follow graph; the same settings and seed always give the same graph (the CLI's too)."""
    spec = NetworkSpec(
        source="synthetic",
        n_users=int(n_users),
        mean_followees=float(mean_followees),
        reciprocity=float(reciprocity),
        tail_exponent=float(tail_exponent),
        graph_seed=int(seed),
    )
    return _synthetic_of(spec, 0)


def _synthetic_of(spec: NetworkSpec, run_seed: int) -> LoadedNetwork:
    """A synthetic section's network, its key and label (``run_seed`` matters only when graph_seed is -1)."""
    net = _built(spec, "", run_seed).network
    seed = f"{spec.graph_seed}" if spec.graph_seed >= 0 else f"run{run_seed}"
    key = f"synthetic-{spec.n_users}-{spec.mean_followees:g}-{spec.reciprocity:g}-{spec.tail_exponent:g}-{seed}"
    shown = f"seed {spec.graph_seed}" if spec.graph_seed >= 0 else f"drawn from the run seed {run_seed}"
    label = (
        f"synthetic ({spec.n_users:,} users, {spec.mean_followees:g} followees each, reciprocity "
        f"{spec.reciprocity:g}, tail exponent {spec.tail_exponent:g}, {shown})"
    )
    return LoadedNetwork(net, key, label, spec)


@st.cache_resource(max_entries=4, show_spinner="Building the scenario's network...")
def _cached_network(key: str, _spec: NetworkSpec, _base_dir: str, _seed: int) -> LoadedNetwork:
    """A network by its content key (the key names everything it depends on, so the other arguments are not hashed)."""
    if _spec.source == "synthetic":
        return _synthetic_of(_spec, _seed)
    built = _built(_spec, _base_dir, _seed)
    net = built.network
    if _spec.source == "bundled":
        label = f"bundled Weibo sample ({net.n_users:,} users)"
    else:
        names = " + ".join(Path(p).name for p in network_paths(_spec, _base_dir).values())
        label = f"uploaded {names} ({net.n_users:,} users)"
    if _spec.augment_followees > 0:
        measured = net.n_edges / max(net.n_users, 1)  # the Network page's "Mean followees", so the two agree
        label += f", follower graph augmented to a target of {_spec.augment_followees:g} followees each (measured {measured:.2f})"
    return LoadedNetwork(net, key, label, _spec, warnings=built.warnings, notes=built.notes)


class NetworkNotFound(LookupError):
    """A scenario names network files the dashboard cannot open; the message says which and why."""


def _in_uploads(spec: NetworkSpec, uploads: Path, current: LoadedNetwork | None) -> NetworkSpec:
    """The section with its files as ``<upload folder>/<name>`` under ``uploads``, or NetworkNotFound.

    The dashboard opens only files uploaded in this workspace. A bare file name (scenarios written
    before upload folders were named) is looked up in the upload folders: the loaded network's
    folder first, else the only folder holding every named file.
    """
    keys = [k for k in ("edges", "users", "posts", "graph") if getattr(spec, k)]
    root = Path(uploads).resolve()
    if all(Path(getattr(spec, k)).parent == Path(".") for k in keys):
        folders = sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
        holding = [f for f in folders if all((f / getattr(spec, k)).is_file() for k in keys)]
        loaded = current.key.removeprefix("upload-") if current is not None else ""
        chosen = [f for f in holding if f.name == loaded] or holding
        if len(chosen) != 1:
            names = ", ".join(getattr(spec, k) for k in keys)
            why = "no uploaded files" if not chosen else f"{len(chosen)} different uploads"
            raise NetworkNotFound(
                f"[network] names {names}, and this workspace has {why} of that name; "
                "upload the files on the Network page, then apply the scenario again"
            )
        return replace(spec, **{k: f"{chosen[0].name}/{getattr(spec, k)}" for k in keys})
    for k in keys:
        path = (root / getattr(spec, k)).resolve()
        if not path.is_relative_to(root) or path.parent == root:
            raise NetworkNotFound(
                f"network.{k} = {getattr(spec, k)!r}: the dashboard opens only files uploaded in this workspace "
                "(named <upload folder>/<file> by a scenario the dashboard wrote); upload the file on the Network page"
            )
        if not path.is_file():
            raise NetworkNotFound(
                f"network.{k} = {getattr(spec, k)!r}: no such uploaded file in this workspace; "
                "upload it on the Network page, then apply the scenario again"
            )
    return spec


def from_scenario(spec: NetworkSpec, seed: int, uploads: Path, current: LoadedNetwork | None = None) -> LoadedNetwork:
    """The network a scenario's ``[network]`` names, built as ``s3core run`` builds it (``sources.build_network``).

    ``seed`` is the scenario's run seed; ``uploads`` the workspace's upload folder, against which
    file paths resolve. Raises NetworkNotFound for files outside it or missing, for a cascades
    dataset (not opened by the dashboard), LoadError for a bad file, ValueError for a bad size.
    """
    if spec.source == "synthetic" and spec.augment_followees == 0 and spec.graph_seed >= 0:
        return synthetic(spec.n_users, spec.mean_followees, spec.reciprocity, spec.tail_exponent, spec.graph_seed)
    if spec.source == "bundled" and spec.augment_followees == 0:
        return bundled()
    if spec.source == "cascades":
        raise NetworkNotFound(
            f"[network] source = 'cascades' (dataset_dir = {spec.dataset_dir!r}): the dashboard does not open "
            "datasets from a scenario file; run it with `s3core run`, or load its network on the Network page"
        )
    augment = f"-augment{spec.augment_followees:g}-run{seed}" if spec.augment_followees > 0 else ""
    if spec.source == "synthetic":
        key = f"synthetic-{spec.n_users}-{spec.mean_followees:g}-{spec.reciprocity:g}-{spec.tail_exponent:g}-run{seed}"
        return _cached_network(key, spec, "", seed)
    if spec.source == "bundled":
        return _cached_network(f"bundled{augment}", spec, "", seed)
    spec = _in_uploads(spec, uploads, current)
    files = sorted(getattr(spec, k) for k in ("edges", "users", "posts", "graph") if getattr(spec, k))
    folders = {Path(f).parent.as_posix() for f in files}
    name = folders.pop() if len(folders) == 1 else "+".join(files)  # one upload folder: the key load_upload gave
    return _cached_network(f"upload-{name}{augment}", spec, str(Path(uploads).resolve()), seed)


def synthetic_fields() -> dict:
    """SyntheticParams' fields with their metadata, for building the generator's widgets."""
    from dataclasses import fields

    return {f.name: f for f in fields(SyntheticParams)}


def _safe_name(name: str, fallback: str) -> str:
    """A plain file name (no folders, no odd characters) that still reads like the user's own."""
    base = Path(name or fallback).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or fallback
    return base[:120]


def load_upload(files: dict[str, tuple[str, bytes]], folder: Path) -> LoadedNetwork:
    """Load uploaded files, given as role -> (file name, bytes); raise LoadError on any fault.

    Roles are ``edges`` (+ optional ``users`` and ``posts``) for CSVs, or ``graph`` for one
    GraphML/GEXF file. Files are written under ``folder`` (the session's own) because the
    loaders read paths; the folder is named by the content hash, so re-uploads reuse it.
    """
    files = {role: item for role, item in files.items() if item is not None}
    unknown = sorted(set(files) - set(UPLOAD_ROLES))
    if unknown:
        raise ValueError(f"unknown upload role {unknown[0]!r}; roles: {', '.join(UPLOAD_ROLES)}")
    if not files:
        raise LoadError(
            folder,
            "no file was uploaded",
            "upload an edge list CSV (follower,followee) or one .graphml/.gexf graph file",
        )
    if "graph" in files and set(files) - {"graph"}:
        raise LoadError(
            files["graph"][0],
            "a graph file and CSV files were uploaded together",
            "upload either one .graphml/.gexf file or CSV files (edges, users, posts), not both",
        )
    if "graph" not in files and "edges" not in files:
        names = ", ".join(name for name, _ in files.values())
        raise LoadError(
            names,
            "users or posts were uploaded without an edge list",
            "also upload the edge list CSV (one line per follow: follower,followee)",
        )
    digest = hashlib.sha256()
    for role in UPLOAD_ROLES:
        if role in files:
            name, data = files[role]
            digest.update(f"{role}\0{name}\0{len(data)}\0".encode())
            digest.update(data)
    key = digest.hexdigest()[:20]
    target = Path(folder) / key
    target.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, (name, data) in files.items():
        path = target / _safe_name(name, f"{role}.csv")
        if path in paths.values():
            path = target / f"{role}-{path.name}"
        path.write_bytes(data)
        paths[role] = path
    rel = {role: f"{key}/{path.name}" for role, path in paths.items()}  # as a scenario names them: under folder
    if "graph" in paths:
        spec = NetworkSpec(source="graph", graph=rel["graph"])
    else:
        spec = NetworkSpec(source="files", edges=rel["edges"], users=rel.get("users", ""), posts=rel.get("posts", ""))
    built = build_network(spec, Path(folder).resolve(), 0)
    net = built.network
    if net.n_users < 2 or net.n_edges < 1:
        raise LoadError(
            paths.get("graph") or paths["edges"],
            f"the network has {net.n_users} users and {net.n_edges} follow edges",
            "give at least two users and one follow edge",
        )
    names = " + ".join(p.name for p in paths.values())
    return LoadedNetwork(
        net,
        f"upload-{key}",
        f"uploaded {names} ({net.n_users:,} users)",
        spec,
        warnings=built.warnings,
        notes=built.notes,
    )


def describe_error(exc: Exception, files: dict[str, tuple[str, bytes]]) -> str:
    """A message for people: LoadErrors already say file, line, column and fix (one line per bad value, as
    markdown line breaks, when there are several); others get context, their text cut to 300 characters."""
    if isinstance(exc, LoadError):
        return "  \n".join(exc.as_lines())
    names = ", ".join(name for name, _ in files.values() if name) or "the upload"
    return (
        f"{names}: could not be read as a network ({type(exc).__name__}: {clip(str(exc), 300)}). "
        "Fix: check that the edge list "
        "is a CSV with a header row follower,followee (users and posts CSVs need a user_id column), "
        "or that the graph is valid GraphML/GEXF."
    )
