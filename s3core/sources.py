"""Turn a scenario's network section into a Network, whatever its source."""
from __future__ import annotations

import numpy as np

from .network import Network
from .scenario import DATA_DIR, Scenario, ScenarioError

BUNDLED_DIR = DATA_DIR / "weibo_sample"


def load_bundled() -> Network:
    """The shipped real Weibo sample (see data/README.md)."""
    from .loaders import load_edge_list

    return load_edge_list(BUNDLED_DIR / "edges.csv", BUNDLED_DIR / "users.csv", BUNDLED_DIR / "posts.csv", name="weibo-sample")


def load_network(scenario: Scenario, rng: np.random.Generator) -> Network:
    """The network a scenario names; errors name the scenario key to fix."""
    spec = scenario.network
    if spec.source == "bundled":
        return load_bundled()
    if spec.source == "synthetic":
        from .synthetic import synthetic_network

        if spec.graph_seed >= 0:
            rng = np.random.default_rng(spec.graph_seed)
        return synthetic_network(spec.n_users, mean_followees=spec.mean_followees, reciprocity=spec.reciprocity,
                                 tail_exponent=spec.tail_exponent, rng=rng)
    if spec.source == "files":
        from .loaders import load_edge_list

        if not spec.edges:
            raise ScenarioError("network.source = 'files' needs network.edges = 'path/to/edges.csv'")
        optional = [scenario.resolve(p) if p else None for p in (spec.users, spec.posts)]
        return load_edge_list(scenario.resolve(spec.edges), *optional, max_bytes=spec.max_bytes)
    if spec.source == "graph":
        from .loaders import load_graph_file

        if not spec.graph:
            raise ScenarioError("network.source = 'graph' needs network.graph = 'path/to/file.graphml' (or .gexf)")
        return load_graph_file(scenario.resolve(spec.graph), max_bytes=spec.max_bytes)
    from .loaders import load_cascades

    if not spec.dataset_dir:
        raise ScenarioError("network.source = 'cascades' needs network.dataset_dir = 'path/to/datasets'")
    return load_cascades(scenario.resolve(spec.dataset_dir), dataset=spec.dataset, max_edges=spec.max_edges or None)
