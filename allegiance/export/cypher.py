"""A Cypher script for Neo4j (``cypher-shell -f graph.cypher``), idempotent (MERGE only).

* ``(:Actor:Organization|:Person|:Place {id})`` with name, type, kind, aliases, first/last seen;
* ``(:Document {id})`` with doc_id, title, source, published;
* one relationship per fact between the two actors, typed by the relation in upper snake case
  (``LEADER_OF``, ``PLEDGED_ALLEGIANCE_TO``...) and keyed by ``fact_id``, with evidence, date,
  confidence, hedged, attributed_to and document_id;
* the fact reified as ``(:Fact {id})`` with ``-[:EVIDENCED_BY]->(:Document)``,
  ``-[:SUBJECT]->`` and ``-[:OBJECT]->`` its actors, for provenance queries.

Every value is a literal escaped by :func:`literal`; article text cannot end a string or a
statement.  Labels and relationship types come from fixed lists (and are backquoted if not
plain identifiers)."""
from __future__ import annotations

import json
import math
import re
from typing import Any, TextIO

from allegiance.export import Selection

TYPE_LABELS = {"ORG": "Organization", "PERSON": "Person", "PLACE": "Place"}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def string(value: str) -> str:
    """A single-quoted Cypher string literal: backslash, quotes and control characters
    escaped; line/paragraph separators and lone surrogates as ``\\uXXXX``."""
    out = ["'"]
    for ch in value:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        cp = ord(ch)
        if cp < 0x20 or 0x7F <= cp <= 0x9F or cp in (0x2028, 0x2029) or 0xD800 <= cp <= 0xDFFF:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return string(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return string(str(value))


def identifier(name: str) -> str:
    """A label / relationship type / property key, backquoted unless plain."""
    return name if _IDENT.match(name) else "`" + name.replace("`", "``") + "`"


def rel_type(relation: str) -> str:
    return identifier(re.sub(r"[^A-Za-z0-9]+", "_", relation).strip("_").upper() or "RELATED_TO")


def _set(var: str, props: dict[str, Any]) -> str:
    return ", ".join(f"{var}.{identifier(k)} = {literal(v)}" for k, v in props.items() if v is not None)


def statements(sel: Selection) -> list[str]:
    out = [
        "CREATE CONSTRAINT allegiance_actor_id IF NOT EXISTS FOR (n:Actor) REQUIRE n.id IS UNIQUE;",
        "CREATE CONSTRAINT allegiance_document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE;",
        "CREATE CONSTRAINT allegiance_fact_id IF NOT EXISTS FOR (n:Fact) REQUIRE n.id IS UNIQUE;",
    ]
    for aid, a in sel.actors.items():
        label = identifier(TYPE_LABELS.get(a.get("type") or "", "Actor"))
        props = {
            "name": a.get("name"),
            "type": a.get("type"),
            "kind": a.get("kind"),
            "gazetteer_id": a.get("gazetteer_id"),
            "aliases": list(a.get("aliases") or []),
            "mentions": int(a.get("mentions") or 0),
            "documents": int(a.get("documents") or 0),
            "first_seen": a.get("first_seen"),
            "last_seen": a.get("last_seen"),
        }
        out.append(f"MERGE (n:Actor {{id: {literal(aid)}}}) SET n:{label}, {_set('n', props)};")
    for did, d in sel.documents.items():
        props = {
            "doc_id": d.get("doc_id"),
            "title": d.get("title"),
            "source": d.get("source"),
            "published": d.get("published"),
            "language": d.get("language"),
            "extractor_version": d.get("extractor_version"),
        }
        out.append(f"MERGE (n:Document {{id: {literal(did)}}}) SET {_set('n', props)};")
    for f in sel.facts:
        if f["subject_id"] not in sel.actors or f["object_id"] not in sel.actors:
            continue
        attrs = f.get("attributes") or {}
        rel_props = {
            "evidence": f.get("evidence"),
            "date": f.get("date"),
            "date_source": f.get("date_source"),
            "confidence": None if f.get("confidence") is None else float(f["confidence"]),
            "hedged": bool(f.get("hedged")),
            "attributed_to": f.get("attributed_to"),
            "document_id": f.get("document_id"),
            "doc_id": f.get("doc_id"),
        }
        if isinstance(attrs.get("killed"), int) and not isinstance(attrs.get("killed"), bool):
            rel_props["killed"] = attrs["killed"]
        fact_props = {
            "relation": f["relation"],
            **{k: v for k, v in rel_props.items() if k not in ("document_id", "doc_id")},
            "start": f.get("start"),
            "end": f.get("end"),
            "attributes": attrs or None,
            "rule": f.get("rule"),
            "extractor_version": f.get("extractor_version"),
        }
        match = f"MATCH (s:Actor {{id: {literal(f['subject_id'])}}}), (o:Actor {{id: {literal(f['object_id'])}}})"
        lines = [
            match,
            f"MERGE (s)-[r:{rel_type(f['relation'])} {{fact_id: {literal(f['id'])}}}]->(o)",
            f"SET {_set('r', rel_props)}",
            f"MERGE (f:Fact {{id: {literal(f['id'])}}})",
            f"SET {_set('f', fact_props)}",
            "MERGE (f)-[:SUBJECT]->(s)",
            "MERGE (f)-[:OBJECT]->(o)",
        ]
        if f.get("document_id") in sel.documents:
            lines += [
                "WITH f",
                f"MATCH (d:Document {{id: {literal(f['document_id'])}}})",
                "MERGE (f)-[:EVIDENCED_BY]->(d)",
            ]
        out.append("\n".join(lines) + ";")
    return out


def write(sel: Selection, fh: TextIO) -> int:
    """Write the script; returns the number of statements."""
    stmts = statements(sel)
    fh.write(
        f"// Allegiance actor graph: {len(sel.actors)} actors, {len(sel.documents)} documents, "
        f"{len(sel.facts)} facts.\n// Load with: cypher-shell -f FILE (re-running it changes nothing).\n"
    )
    for s in stmts:
        fh.write(s + "\n")
    return len(stmts)
