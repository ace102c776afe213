"""Networks for the dashboard: the bundled sample, synthetic graphs and uploaded files.

Read-only networks are cached process-wide under a content key (the same bytes or the same
generator settings give the same key), so caches never mix two different networks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from s3core.demographics import DemographicParams, assign_demographics
from s3core.loaders import LoadError, read_edge_list, read_graph_file
from s3core.network import Network
from s3core.scenario import NetworkSpec
from s3core.sources import load_bundled
from s3core.synthetic import SyntheticParams, synthetic_network

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


@st.cache_resource(show_spinner="Loading the bundled Weibo network...")
def bundled() -> LoadedNetwork:
    """The shipped real Weibo sample, loaded once per process (read-only)."""
    net = load_bundled()
    return LoadedNetwork(net, "bundled", f"bundled Weibo sample ({net.n_users:,} users)", NetworkSpec(source="bundled"))


@st.cache_resource(max_entries=4, show_spinner="Generating the synthetic network...")
def synthetic(
    n_users: int, mean_followees: float, reciprocity: float, tail_exponent: float, seed: int
) -> LoadedNetwork:
    """A synthetic follow graph; the same settings and seed always give the same graph."""
    if not 2 <= n_users <= MAX_SYNTHETIC_USERS:
        raise ValueError(f"n_users = {n_users}: the dashboard builds 2 to {MAX_SYNTHETIC_USERS:,} users")
    net = synthetic_network(
        n_users,
        mean_followees=mean_followees,
        reciprocity=reciprocity,
        tail_exponent=tail_exponent,
        rng=np.random.default_rng(seed),
        name="synthetic",
    )
    key = f"synthetic-{n_users}-{mean_followees:g}-{reciprocity:g}-{tail_exponent:g}-{seed}"
    label = (
        f"synthetic ({n_users:,} users, {mean_followees:g} followees each, reciprocity {reciprocity:g}, seed {seed})"
    )
    spec = NetworkSpec(
        source="synthetic",
        n_users=n_users,
        mean_followees=float(mean_followees),
        reciprocity=float(reciprocity),
        tail_exponent=float(tail_exponent),
        graph_seed=int(seed),
    )
    return LoadedNetwork(net, key, label, spec)


@st.cache_data(max_entries=8, show_spinner=False)
def provenance(key: str, population: tuple, _network: Network) -> np.ndarray:
    """Where each user's age, gender and occupation came from (0 given, 1 inferred, 2 drawn); rng-free.

    Cached under the network's key and the population shares (a sorted tuple of items).
    """
    demo = assign_demographics(_network, DemographicParams(**dict(population)), np.random.default_rng(0))
    return demo.provenance


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
    if "graph" in paths:
        result = read_graph_file(paths["graph"], name=paths["graph"].stem)
        spec = NetworkSpec(source="graph", graph=paths["graph"].name)
    else:
        result = read_edge_list(paths["edges"], paths.get("users"), paths.get("posts"), name=paths["edges"].stem)
        spec = NetworkSpec(
            source="files",
            edges=paths["edges"].name,
            users=paths["users"].name if "users" in paths else "",
            posts=paths["posts"].name if "posts" in paths else "",
        )
    net = result.network
    if net.n_users < 2 or net.n_edges < 1:
        raise LoadError(
            paths.get("graph") or paths["edges"],
            f"the network has {net.n_users} users and {net.n_edges} follow edges",
            "give at least two users and one follow edge",
        )
    names = " + ".join(p.name for p in paths.values())
    infos = tuple(n.text for n in result.notes if n.level != "warning")
    return LoadedNetwork(
        net,
        f"upload-{key}",
        f"uploaded {names} ({net.n_users:,} users)",
        spec,
        warnings=tuple(result.warnings),
        notes=infos,
    )


def describe_error(exc: Exception, files: dict[str, tuple[str, bytes]]) -> str:
    """A message for people: LoadErrors already say file, line, column and fix; others get context."""
    if isinstance(exc, LoadError):
        return str(exc)
    names = ", ".join(name for name, _ in files.values() if name) or "the upload"
    return (
        f"{names}: could not be read as a network ({type(exc).__name__}: {exc}). Fix: check that the edge list "
        "is a CSV with a header row follower,followee (users and posts CSVs need a user_id column), "
        "or that the graph is valid GraphML/GEXF."
    )
