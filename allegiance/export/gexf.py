"""GEXF 1.3 (Gephi) with a timeline: ``mode="dynamic"``, ``timeformat="date"``, each edge
with ``<spells>``: one ``<spell>`` per span of its tie (``graph.py``), from the first day of
the span's start to the day before its end (no ``end`` while the tie is in force), so
Gephi's timeline shows the tie when the network page's "as of" does. An edge with no dated
fact has neither spells nor ``start``/``end``, so it is always shown. The spans are also
edge attributes (``span_start``, ``span_end``, ``in_force``, ``spans``, ``ended_by``)."""
from __future__ import annotations

from typing import TextIO

import networkx as nx

from allegiance.export import Selection
from allegiance.export.graph import build_graph

# networkx writes the XSI namespace of GEXF 1.3 without "www."
_BAD_XSI = 'xmlns:xsi="http://w3.org/2001/XMLSchema-instance"'
_XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def write(sel: Selection, fh: TextIO) -> int:
    """Write GEXF 1.3; returns the number of edges."""
    G = build_graph(sel, dynamic=True)
    fh.write("<?xml version='1.0' encoding='utf-8'?>\n")
    lines = nx.generate_gexf(G, version="1.3", prettyprint=True)
    for n, line in enumerate(lines):
        if n == 0:
            line = line.replace(_BAD_XSI, _XSI)
        elif "<creator>" in line:
            line = line.replace("NetworkX", "Allegiance (networkx)")
        fh.write(line + "\n")
    return G.number_of_edges()
