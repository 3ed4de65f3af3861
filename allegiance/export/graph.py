"""The actor graph as a networkx MultiDiGraph (shared by the GraphML and GEXF writers).

Nodes are actors; one edge per (subject, relation, object) with the facts behind it folded
in (evidence count, first/last seen, best confidence, hedged only when every fact is).
``weight`` is the number of facts, except for ``attacked``: the number of distinct
incidents (``incident_count``), so one attack told by many reports weighs one.
Keys and ``id`` are globally unique edge ids (Gephi rejects duplicate edge ids).

Each edge carries its tie's spans (``allegiance.analysis.ties``, the network page's): when
the tie is in force, from its first dated fact until a defection from the group or a
belonging elsewhere ends it, a later report opening a new span. ``span_start`` (start of
the first span), ``span_end`` (end of the last one; absent while the tie is in force),
``in_force``, ``spans`` (every span as ``start..end``, ``start..`` when open, joined by
``; ``), ``ended_by`` (the ids of the facts that ended them). A fact without a date of its
own counts at its article's date, as on the network page. GEXF also writes the spans as
``<spells>`` (see ``gexf.py``)."""
from __future__ import annotations

import re

import networkx as nx

from allegiance.export import Selection, period

# XML 1.0 allows tab, LF, CR and these ranges only; article text may hold anything
_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value: str) -> str:
    """Drop the characters XML 1.0 cannot carry (control characters, lone surrogates)."""
    return _XML_BAD.sub("", value)


def _first_day(date: str) -> str:
    return period(date)[0]


def _day_before(date: str) -> str:
    from datetime import date as day, timedelta

    return (day.fromisoformat(_first_day(date)) - timedelta(days=1)).isoformat()


def _clean(attrs: dict) -> dict:
    """GraphML/GEXF take str/int/float/bool only: drop None, make strings XML-safe."""
    out = {}
    for k, v in attrs.items():
        if v is None:
            continue
        out[k] = xml_safe(v) if isinstance(v, str) else v
    return out


def tie_spans(sel: Selection) -> dict[str, list[dict]]:
    """Edge id (``subject|relation|object``) -> the tie's spans
    (``[{"start", "end", "ended_by"}]``, date order), from the selection's facts."""
    from allegiance.analysis import ties as T

    rows = [{"id": f["id"], "subject_id": f["subject_id"], "relation": f["relation"], "object_id": f["object_id"],
             "date": f.get("date"), "date_source": f.get("date_source"), "document_id": f.get("document_id"),
             "published": f.get("published"), "doc_id": f.get("doc_id"), "start": f.get("start"),
             "hedged": f.get("hedged")} for f in sel.facts]
    undated = {r["document_id"] for r in rows if not r["date"] and r["document_id"]}
    T.place_in_time(rows, T.article_dates(sel.con, undated) if undated else {})
    return {f"{t['subject_id']}|{t['relation']}|{t['object_id']}": t["spans"]
            for t in T.build_ties([r for r in rows if r["when"]])}


def span_attrs(spans: list[dict]) -> dict:
    """The edge attributes of a tie's spans (module doc)."""
    if not spans:
        return {}
    return {
        "span_start": spans[0]["start"],
        "span_end": spans[-1]["end"],
        "in_force": spans[-1]["end"] is None,
        "spans": "; ".join(f"{sp['start']}..{sp['end'] or ''}" for sp in spans),
        "ended_by": "; ".join(sp["ended_by"]["id"] for sp in spans if sp.get("ended_by")) or None,
    }


def build_graph(sel: Selection, dynamic: bool = False) -> nx.MultiDiGraph:
    """``dynamic``: add GEXF ``start``/``end`` (first/last day of the edge's dated facts).
    Symmetric relations stay directed edges (networkx cannot read mixed graphs back)
    flagged ``symmetric``."""
    G = nx.MultiDiGraph()
    G.graph["name"] = "allegiance actor graph"
    if dynamic:
        G.graph["mode"] = "dynamic"
    for aid, a in sel.actors.items():
        G.add_node(
            aid,
            **_clean(
                {
                    "label": a.get("name") or aid,
                    "type": a.get("type"),
                    "kind": a.get("kind"),
                    "gazetteer_id": a.get("gazetteer_id"),
                    "aliases": "; ".join(a.get("aliases") or []),
                    "mention_count": int(a.get("mentions") or 0),
                    "document_count": int(a.get("documents") or 0),
                    "first_seen": a.get("first_seen"),
                    "last_seen": a.get("last_seen"),
                }
            ),
        )
    from allegiance.store.incidents import fact_incidents, incident_count

    # attacks are weighted by incidents, not reports: three outlets telling one attack are
    # one attack (facts whose evidence sentence belongs to one incident count once)
    attacks = fact_incidents(sel.con, [f["id"] for f in sel.facts if f["relation"] == "attacked"])
    spans_of = tie_spans(sel)
    for e in sel.edges():
        best = max(e.facts, key=lambda f: (float(f.get("confidence") or 0.0), not f.get("hedged")))
        attrs = {
            "id": e.id,
            "label": e.relation,
            "relation": e.relation,
            "weight": float(incident_count([f["id"] for f in e.facts], attacks) if e.relation == "attacked"
                            else len(e.facts)),
            "evidence_count": len(e.facts),
            "incident_count": incident_count([f["id"] for f in e.facts], attacks) if e.relation == "attacked" else None,
            "first_seen": e.first_seen,
            "last_seen": e.last_seen,
            "confidence": round(e.confidence, 3),
            "hedged": e.hedged,
            "symmetric": e.symmetric,
            "evidence": " ".join((best.get("evidence") or "").split()),
            "attributed_to": "; ".join(sorted({f["attributed_to"] for f in e.facts if f.get("attributed_to")})) or None,
            "doc_ids": "; ".join(e.documents),
            "fact_ids": "; ".join(f["id"] for f in e.facts),
        }
        spans = spans_of.get(e.id, [])
        attrs.update(span_attrs(spans))
        if dynamic and spans:
            # GEXF spells: in force from the first day of a span's start up to the day
            # before the first day of its end (as of that day it has ended); open: no end
            attrs["spells"] = [(_first_day(sp["start"]), _day_before(sp["end"]) if sp["end"] else None)
                               for sp in spans]
        elif dynamic:
            first, last = period(e.first_seen), period(e.last_seen)
            if first and last:
                attrs["start"], attrs["end"] = first[0], last[1]
        for end in (e.source, e.target):
            if end not in G:  # an end outside the selection's actors (should not happen)
                G.add_node(end, label=end)
        G.add_edge(e.source, e.target, key=e.id, **_clean(attrs))
    return G
