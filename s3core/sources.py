"""Turn a scenario's network section into a Network, whatever its source.

This is the one path from a ``[network]`` section to a network: the command line
(``Simulation`` through ``load_network``) and the dashboard (``ui.networks``) both build
through ``build_network``, so the same scenario file gives the same network everywhere.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .network import Network
from .scenario import DATA_DIR, NetworkSpec, Scenario, ScenarioError

BUNDLED_DIR = DATA_DIR / "weibo_sample"
NETWORK_STREAM = "network"  # the generator stream the engine builds a network from (Simulation._rng)


@functools.lru_cache(maxsize=1)
def load_bundled() -> Network:
    """The shipped real Weibo sample (see data/README.md); read once per process and shared (do not modify it)."""
    from .loaders import load_edge_list

    return load_edge_list(
        BUNDLED_DIR / "edges.csv", BUNDLED_DIR / "users.csv", BUNDLED_DIR / "posts.csv", name="weibo-sample"
    )


def network_rng(seed: int) -> np.random.Generator:
    """The generator a scenario with run seed ``seed`` builds its network with.

    The same stream as ``Simulation._rng("network")``: a synthetic graph with ``graph_seed = -1``
    and an augmented follower graph draw from it, so they follow the run seed.
    """
    key = int.from_bytes(NETWORK_STREAM.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng([int(seed), 2, key])


@dataclass(frozen=True)
class BuiltNetwork:
    """A network built from a ``[network]`` section and what its loader said about the files.

    ``warnings`` need the user's attention (ids read as whole numbers, ...); ``notes`` are
    informative (users in no edge, ...). Both are sentences; empty for bundled and synthetic.
    """

    network: Network
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def network_paths(spec: NetworkSpec, base_dir: str | Path) -> dict[str, Path]:
    """The files a section reads, by key (``edges``, ``users``, ``posts``, ``graph``, ``dataset_dir``),
    relative paths resolved against ``base_dir``; empty for bundled and synthetic sources."""
    keys = {"files": ("edges", "users", "posts"), "graph": ("graph",), "cascades": ("dataset_dir",)}
    out = {}
    for key in keys.get(spec.source, ()):
        value = getattr(spec, key)
        if value:
            path = Path(value)
            out[key] = path if path.is_absolute() else Path(base_dir or ".") / path
    return out


def build_network(spec: NetworkSpec, base_dir: str | Path, seed: int) -> BuiltNetwork:
    """The network a ``[network]`` section names; ``seed`` is the scenario's run seed.

    Paths are relative to ``base_dir`` (the scenario file's folder). A synthetic graph draws
    from ``graph_seed`` when it is 0 or more, else from the run seed's network stream, as does
    an augmented follower graph. Raises LoadError (files), ValueError (sizes) or OSError.
    """
    rng = network_rng(seed)
    paths = network_paths(spec, base_dir)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if spec.source == "bundled":
        network = load_bundled()
    elif spec.source == "synthetic":
        from .synthetic import synthetic_network

        network = synthetic_network(
            spec.n_users,
            mean_followees=spec.mean_followees,
            reciprocity=spec.reciprocity,
            tail_exponent=spec.tail_exponent,
            rng=np.random.default_rng(spec.graph_seed) if spec.graph_seed >= 0 else rng,
        )
    elif spec.source in ("files", "graph"):
        from .loaders import read_edge_list, read_graph_file

        if spec.source == "files":
            result = read_edge_list(paths["edges"], paths.get("users"), paths.get("posts"), max_bytes=spec.max_bytes)
        else:
            result = read_graph_file(paths["graph"], max_bytes=spec.max_bytes)
        network = result.network
        warnings = tuple(result.warnings)
        notes = tuple(n.text for n in result.notes if n.level != "warning")
    else:
        from .loaders import load_cascades

        network = load_cascades(paths["dataset_dir"], dataset=spec.dataset, max_edges=spec.max_edges or None)
    if spec.source != "synthetic" and spec.augment_followees > 0:
        from .augment import augment_follow_graph

        network = augment_follow_graph(network, spec.augment_followees, rng=rng)
    return BuiltNetwork(network, warnings, notes)


def load_network(scenario: Scenario, rng: np.random.Generator | None = None) -> Network:
    """The network a scenario names, with seed authors checked against it; errors name the key to fix.

    Loader warnings go to the 's3core.loaders' logger (stderr by default). ``rng`` is accepted
    for older callers and ignored: the network's draws come from the scenario seed (``network_rng``).
    """
    from .loaders.files import LOG

    built = build_network(scenario.network, scenario.base_dir, scenario.seed)
    for text in built.warnings:
        LOG.warning("warning: %s", text)
    for text in built.notes:
        LOG.info("warning: %s", text)
    check_authors(scenario, built.network)
    return built.network


def check_authors(scenario: Scenario, network: Network) -> None:
    """Every seed post's author and every user a boost's audience lists must be a user of the loaded
    network; the error names the key."""
    users = None
    for i, item in enumerate(scenario.interventions):
        author = getattr(item, "author", None)
        audience = getattr(item, "audience", None)
        listed = audience.users if audience is not None else ()
        named = ([(f"interventions[{i}].author", author)] if author is not None else []) + [
            (f"interventions[{i}].audience.users[{j}]", user) for j, user in enumerate(listed)
        ]
        if not named:
            continue
        users = users if users is not None else set(network.user_ids.astype(str))
        for key, user in named:
            if user not in users:
                shown = ", ".join(repr(u) for u in network.user_ids[:3])
                raise ScenarioError(
                    f"{scenario.origin or 'scenario'}: {key} = {user!r}: no such user in the network "
                    f"({network.n_users:,} users, e.g. {shown}); use a user id from the network's files"
                )
