"""Turn a scenario's network section into a Network, whatever its source."""

from __future__ import annotations

import functools

import numpy as np

from .network import Network
from .scenario import DATA_DIR, Scenario, ScenarioError

BUNDLED_DIR = DATA_DIR / "weibo_sample"


@functools.lru_cache(maxsize=1)
def load_bundled() -> Network:
    """The shipped real Weibo sample (see data/README.md); read once per process and shared (do not modify it)."""
    from .loaders import load_edge_list

    return load_edge_list(
        BUNDLED_DIR / "edges.csv", BUNDLED_DIR / "users.csv", BUNDLED_DIR / "posts.csv", name="weibo-sample"
    )


def load_network(scenario: Scenario, rng: np.random.Generator) -> Network:
    """The network a scenario names, with seed authors checked against it; errors name the key to fix."""
    spec = scenario.network
    if spec.source == "bundled":
        network = load_bundled()
    elif spec.source == "synthetic":
        from .synthetic import synthetic_network

        if spec.graph_seed >= 0:
            rng = np.random.default_rng(spec.graph_seed)
        network = synthetic_network(
            spec.n_users,
            mean_followees=spec.mean_followees,
            reciprocity=spec.reciprocity,
            tail_exponent=spec.tail_exponent,
            rng=rng,
        )
    elif spec.source == "files":
        from .loaders import load_edge_list

        optional = [scenario.resolve(p) if p else None for p in (spec.users, spec.posts)]
        network = load_edge_list(scenario.resolve(spec.edges), *optional, max_bytes=spec.max_bytes)
    elif spec.source == "graph":
        from .loaders import load_graph_file

        network = load_graph_file(scenario.resolve(spec.graph), max_bytes=spec.max_bytes)
    else:
        from .loaders import load_cascades

        network = load_cascades(
            scenario.resolve(spec.dataset_dir), dataset=spec.dataset, max_edges=spec.max_edges or None
        )
    if spec.source != "synthetic" and spec.augment_followees > 0:
        from .augment import augment_follow_graph

        network = augment_follow_graph(network, spec.augment_followees, rng=rng)
    check_authors(scenario, network)
    return network


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
