"""Bring GraphML and GEXF files from real tools to the form networkx's readers expect, then parse.

Producers differ in namespaces (Gephi 0.9 writes ``http://www.gexf.net/1.3``, the schema says
``http://gexf.net/1.3``), versions (GEXF 1.1draft, 1.2draft, 1.3), attribute types (Gephi's
``biginteger``, ``listint``), extension elements (viz, yEd's ``y:``) and mixed edge directions.
The tree is normalized in place and handed to networkx's own parser; features the simulator
cannot represent (time-varying graphs, nested graphs, hyperedges) are refused by name.
"""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import networkx as nx
from networkx.readwrite.gexf import GEXF

from .errors import LoadError, clipped_repr

PathLike = str | os.PathLike[str]
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
_GEXF_NS = re.compile(r"^https?://(?:www\.)?(?:gexf\.net|gephi\.org/gexf)(?:/(1\.[0-3])(?:draft)?)?/?$", re.I)
_GRAPHML_NS = re.compile(r"^https?://graphml\.graphdrawing\.org/xmlns(?:/graphml)?/?$", re.I)
_GEXF_VERSIONS = {"1.0": "1.1draft", "1.1": "1.1draft", "1.2": "1.2draft", "1.3": "1.3"}
_GRAPHML_TYPES = {"boolean", "int", "long", "float", "double", "string"}
_TIME_ATTRS = ("start", "end", "startopen", "endopen", "timestamp", "timestamps", "spells")
_ONE_VALUE = "each agent has one value per attribute for the whole run"
_SNAPSHOT_FIX = (
    "export a static snapshot: in Gephi, pick one moment on the Timeline (or a Dynamic Range filter) "
    "and export with File > Export > Graph file, Options, 'Dynamic' unticked; from networkx or "
    "igraph, write the graph of one time step"
)


def _local(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def parse_xml(path: PathLike) -> ET.ElementTree:
    """The XML tree; syntax faults become LoadErrors with line and character."""
    try:
        return ET.parse(path)
    except ET.ParseError as exc:
        line, col = exc.position
        problem = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise LoadError(
            path,
            f"malformed XML ({problem} at character {col + 1})",
            "repair the XML there (every tag closed, attributes quoted), or export the graph again",
            line=line,
        ) from None


def _retag(root: ET.Element, is_own: Callable[[str], bool], ns: str) -> None:
    """Move the format's own elements into ``ns`` and drop elements of display extensions (viz)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str):  # comments, processing instructions
                continue
            child_ns, name = _local(child.tag)
            if is_own(child_ns):
                child.tag = f"{{{ns}}}{name}"
            elif "viz" in child_ns.lower():
                parent.remove(child)
    root.tag = f"{{{ns}}}{_local(root.tag)[1]}"


def _refuse(
    path: PathLike, feature: str, fix: str = _SNAPSHOT_FIX, why: str = "the simulator needs one fixed follow network"
) -> LoadError:
    return LoadError(path, f"{feature} is not supported: {why}", fix)


# ---- GEXF -----------------------------------------------------------------------------------


def _gexf_version(path: PathLike, root: ET.Element) -> str:
    """networkx's name for the file's GEXF version, from the version attribute or the namespace."""
    ns, name = _local(root.tag)
    if name != "gexf":
        raise LoadError(
            path,
            f"not a GEXF file: the root element is <{name}>, not <gexf>",
            "choose a .gexf file exported by Gephi or networkx, or rename a GraphML file to .graphml",
        )
    match = _GEXF_NS.match(ns)
    version = (root.get("version") or (match.group(1) if match else "1.2")).strip()
    version = version.removesuffix("draft")
    if version not in _GEXF_VERSIONS:
        raise LoadError(
            path,
            f"GEXF version {clipped_repr(version)} is not supported (supported: 1.1, 1.2 and 1.3)",
            "export the graph again from Gephi 0.9 or later (GEXF 1.3) or networkx (GEXF 1.2)",
        )
    return _GEXF_VERSIONS[version]


def _gexf_normalize(path: PathLike, tree: ET.ElementTree, user_columns: Callable[[str], str | None]) -> None:
    """Rewrite a GEXF tree, in place, into what networkx reads; refuse time-varying content."""
    root = tree.getroot()
    version = _gexf_version(path, root)
    reader = GEXF()
    reader.set_version(version)
    ns = reader.NS_GEXF
    _retag(root, lambda n: n == "" or bool(_GEXF_NS.match(n)), ns)
    reader.construct_types()
    known_types = set(reader.python_type)
    graph = root.find(f"{{{ns}}}graph")
    if graph is None:
        raise LoadError(path, "the GEXF file has no <graph> element", "export the graph again from Gephi or networkx")
    for elem in graph.iter():
        _, name = _local(elem.tag)
        if name in ("node", "edge") and any(elem.get(a) is not None for a in _TIME_ATTRS):
            raise _refuse(path, f"a time-varying graph ({name} '{elem.get('id')}' exists only during a time interval)")
        if name in ("spells", "slices"):
            raise _refuse(path, "a time-varying graph (<spells>: nodes or edges that exist only at some times)")
        if name == "node" and elem.find(f"{{{ns}}}nodes") is not None:
            raise LoadError(
                path,
                f"node '{elem.get('id')}' contains other nodes (a hierarchical graph), which is not supported",
                "flatten the hierarchy before exporting (in Gephi, ungroup all groups)",
            )
    graph.attrib.pop("mode", None)
    graph.attrib.pop("timeformat", None)
    declared: dict[tuple[str, str], str] = {}
    for attributes in graph.findall(f"{{{ns}}}attributes"):
        klass = attributes.get("class")
        if klass not in ("node", "edge"):
            graph.remove(attributes)
            continue
        dynamic = attributes.get("mode") == "dynamic"
        attributes.attrib.pop("mode", None)
        for attribute in attributes.findall(f"{{{ns}}}attribute"):
            if attribute.get("type") not in known_types:
                attribute.set("type", "string")
            title = attribute.get("title") or attribute.get("id") or ""
            attribute.set("title", title)
            declared[(klass, attribute.get("id"))] = title
            if dynamic and klass == "node" and user_columns(title):
                raise _refuse(path, f"a time-varying node attribute ('{title}' changes over time)", why=_ONE_VALUE)
    for klass, tag in (("node", "nodes"), ("edge", "edges")):
        for owner in graph.iterfind(f"{{{ns}}}{tag}/{{{ns}}}{klass}"):
            values = owner.find(f"{{{ns}}}attvalues")
            if values is None:
                continue
            for value in list(values):
                if value.get("for") is None and value.get("id") is not None:  # GEXF 1.0/1.1 spelling
                    value.set("for", value.attrib.pop("id"))
                timed = any(value.get(a) is not None for a in _TIME_ATTRS)
                title = declared.get((klass, value.get("for")), "")
                if timed and klass == "node" and user_columns(title):
                    raise _refuse(
                        path,
                        f"a time-varying node attribute ('{title}' of node '{owner.get('id')}' has "
                        "values for different times)",
                        why=_ONE_VALUE,
                    )
                if timed:
                    values.remove(value)
    _gexf_mixed_edges(graph, ns)


def _gexf_mixed_edges(graph: ET.Element, ns: str) -> None:
    """A graph with both directed and undirected edges becomes directed; undirected edges become mutual."""
    edges = graph.findall(f"{{{ns}}}edges/{{{ns}}}edge")
    default = graph.get("defaultedgetype", "undirected")
    kinds = {edge.get("type", default) for edge in edges}
    if "directed" in kinds and "undirected" in kinds or (default == "mutual"):
        graph.set("defaultedgetype", "directed")
        for edge in edges:
            if edge.get("type", default) in ("undirected", "mutual"):
                edge.set("type", "mutual")
            else:
                edge.attrib.pop("type", None)


# ---- GraphML --------------------------------------------------------------------------------


def _graphml_normalize(path: PathLike, tree: ET.ElementTree) -> None:
    """Rewrite a GraphML tree, in place, into what networkx reads; refuse nested graphs and hyperedges."""
    root = tree.getroot()
    ns, name = _local(root.tag)
    if name != "graphml":
        raise LoadError(
            path,
            f"not a valid GraphML file: the root element is <{name}>, not <graphml>",
            "export the graph again as GraphML, or use load_edge_list for a CSV edge list",
        )
    _retag(root, lambda n: n == "" or bool(_GRAPHML_NS.match(n)), GRAPHML_NS)
    g = f"{{{GRAPHML_NS}}}"
    for key in root.iter(f"{g}key"):
        if key.get("yfiles.type") is None:
            if key.get("attr.type") not in _GRAPHML_TYPES:
                key.set("attr.type", "string")
            if key.get("attr.name") is None:
                key.set("attr.name", key.get("id") or "")
    for node in root.iter(f"{g}node"):
        if node.find(f"{g}graph") is not None:
            raise LoadError(
                path,
                f"node '{node.get('id')}' contains a nested graph (a yEd group or folder), which is not supported",
                "ungroup the graph before saving (in yEd: select all, "
                "Grouping > Ungroup) so that every user is a top-level node",
            )
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and _local(child.tag)[1] == "port":  # networkx warns and skips them
                parent.remove(child)
    for graph in root.iter(f"{g}graph"):
        if graph.find(f"{g}hyperedge") is not None:
            raise _refuse(
                path,
                "a hyperedge (an edge joining more than two nodes)",
                "replace each hyperedge by ordinary edges between pairs of users and export again",
            )
        _graphml_mixed_edges(graph, g)


def _graphml_mixed_edges(graph: ET.Element, g: str) -> None:
    """Edges whose ``directed`` differs from the graph's default: the graph becomes directed and
    each undirected edge becomes two follow edges."""
    edges = graph.findall(f"{g}edge")
    default = graph.get("edgedefault", "directed")
    directed = [edge.get("directed", "true" if default == "directed" else "false") == "true" for edge in edges]
    if all(directed) or not any(directed):
        for edge in edges:
            edge.attrib.pop("directed", None)
        return
    graph.set("edgedefault", "directed")
    for edge, is_directed in zip(edges, directed):
        edge.attrib.pop("directed", None)
        if not is_directed:
            back = ET.SubElement(graph, f"{g}edge", {"source": edge.get("target"), "target": edge.get("source")})
            back.extend(list(edge))


# ---- reading --------------------------------------------------------------------------------


def read_graph(path: PathLike, kind: str, user_columns: Callable[[str], str | None]) -> tuple[nx.Graph, str]:
    """Parse a 'GraphML' or 'GEXF' file with networkx after normalizing it: (graph, producer).

    Errors are LoadErrors.
    ``user_columns`` maps an attribute name to the users-table column it feeds (or None), so
    that only attributes the simulator reads are refused when they vary over time.
    """
    tree = parse_xml(path)
    if kind == "GEXF":
        _gexf_normalize(path, tree, user_columns)
    else:
        _graphml_normalize(path, tree)
    data = ET.tostring(tree.getroot(), encoding="utf-8")
    made_by = producer(tree.getroot())
    try:
        if kind == "GraphML":
            return nx.read_graphml(io.BytesIO(data)), made_by
        return nx.read_gexf(io.BytesIO(data), relabel=False), made_by
    except nx.NetworkXError as exc:
        raise LoadError(
            path,
            f"not a valid {kind} file ({exc})",
            f"export the graph again as {kind}, or use load_edge_list for a CSV edge list",
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        quoted = re.search(r"'([^']*)'$", str(exc))
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        spot = max(text.find(f">{quoted.group(1)}<"), text.find(f'"{quoted.group(1)}"')) if quoted else -1
        raise LoadError(
            path,
            f"a value does not match its declared type ({type(exc).__name__}: {exc})",
            "make each attribute value match its declared type, or declare the attribute as string",
            line=text.count("\n", 0, spot) + 1 if spot >= 0 else None,
        ) from None


def producer(tree_root: ET.Element) -> str:
    """Which tool wrote a normalized tree: 'yEd', 'igraph', 'Cytoscape', a GEXF <creator>, or ''."""
    g = f"{{{GRAPHML_NS}}}"
    keys = list(tree_root.iter(f"{g}key"))
    if any(k.get("yfiles.type") for k in keys):
        return "yEd"
    node_keys = {k.get("attr.name"): k.get("id") for k in keys if k.get("for") in ("node", "all")}
    if "shared name" in node_keys or "SUID" in node_keys:
        return "Cytoscape"
    if node_keys.get("name") == "v_name":
        return "igraph"
    creator = next((e.text for e in tree_root.iter() if isinstance(e.tag, str) and _local(e.tag)[1] == "creator"), "")
    return (creator or "").strip()
