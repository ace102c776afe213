"""Network loaders for user files (CSV edge lists, GraphML, GEXF) and the shared cascade datasets."""

from .cascades import load_cascades
from .errors import LoadError
from .files import LoadResult, load_edge_list, read_edge_list
from .graphfile import load_graph_file, read_graph_file

__all__ = [
    "LoadError",
    "LoadResult",
    "load_cascades",
    "load_edge_list",
    "load_graph_file",
    "read_edge_list",
    "read_graph_file",
]
