"""GraphML (Gephi, yEd, Cytoscape, networkx): actors as nodes, folded facts as edges."""
from __future__ import annotations

from typing import TextIO

import networkx as nx

from allegiance.export import Selection
from allegiance.export.graph import build_graph


def write(sel: Selection, fh: TextIO) -> int:
    """Write GraphML; returns the number of edges."""
    G = build_graph(sel)
    fh.write("<?xml version='1.0' encoding='utf-8'?>\n")
    for line in nx.generate_graphml(G, prettyprint=True):
        fh.write(line + "\n")
    return G.number_of_edges()
