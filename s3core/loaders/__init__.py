"""Network loaders for user files (CSV edge lists, GraphML, GEXF) and the shared cascade datasets."""
from .cascades import load_cascades
from .errors import LoadError
from .files import load_edge_list, load_graph_file

__all__ = ["LoadError", "load_cascades", "load_edge_list", "load_graph_file"]
