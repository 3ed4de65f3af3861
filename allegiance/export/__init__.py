"""Exports of the store for analysts' tools (Gephi, STIX consumers, spreadsheets, Neo4j)
and a lossless JSON Lines dump that ``allegiance import`` loads back.

One module per format; each has ``write(selection, fh) -> int`` (what it wrote, counted in
that format's main unit).  :func:`select` picks the facts and actors the filters keep; every
format works from that one selection, so ``--since/--until/--actor/--no-hedged`` mean the same
everywhere:

* no filter: every document, actor and fact in the store;
* with filters: the facts ``Store.facts`` keeps (for several ``--actor`` names, the union), the
  actors at their ends (plus the actors the names matched) and the documents they come from.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Iterable, TextIO

from allegiance.export import query
from allegiance.records import SYMMETRIC_RELATIONS
from allegiance.store import StoreError

#: format name -> (module under allegiance.export, usual file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "graphml": ("graphml", ".graphml"),
    "gexf": ("gexf", ".gexf"),
    "stix": ("stix", ".json"),
    "events-csv": ("csv_events", ".csv"),
    "facts-csv": ("csv_facts", ".csv"),
    "incidents-csv": ("csv_incidents", ".csv"),
    "cypher": ("cypher", ".cypher"),
    "jsonl": ("jsonl", ".jsonl"),
}


class ExportError(StoreError):
    """A bad export request (unknown format, actor that matches nothing): one line for the user."""


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def period(date: str | None) -> tuple[str, str] | None:
    """The first and last day a partial ISO date stands for: ``2013-06`` ->
    (``2013-06-01``, ``2013-06-30``); None when it is not a valid date."""
    if not date:
        return None
    m = _DATE.match(str(date).strip())
    if not m:
        return None
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else None
    d = int(m.group(3)) if m.group(3) else None
    if mo is not None and not 1 <= mo <= 12:
        return None
    if mo is None:
        return f"{y:04d}-01-01", f"{y:04d}-12-31"
    last = calendar.monthrange(y, mo)[1]
    if d is None:
        return f"{y:04d}-{mo:02d}-01", f"{y:04d}-{mo:02d}-{last:02d}"
    if not 1 <= d <= last:
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}", f"{y:04d}-{mo:02d}-{d:02d}"


def earliest(dates: Iterable[str | None]) -> str | None:
    valid = [(p[0], len(d), d) for d in dates if (p := period(d))]
    return min(valid)[2] if valid else None


def latest(dates: Iterable[str | None]) -> str | None:
    valid = [(p[1], -len(d), d) for d in dates if (p := period(d))]
    return max(valid)[2] if valid else None


def _in_range(date: str, since: str | None, until: str | None) -> bool:
    """The prefix comparison ``Store.facts`` uses for --since/--until."""
    for bound, ok in ((since, lambda a, b: a >= b), (until, lambda a, b: a <= b)):
        if bound:
            n = min(len(date), len(bound))
            if not ok(date[:n], bound[:n]):
                return False
    return True


@dataclass
class Edge:
    """The facts sharing subject, relation and object, folded into one graph edge
    (symmetric relations: ends in id order)."""

    id: str
    source: str
    target: str
    relation: str
    facts: list[dict] = field(default_factory=list)

    @property
    def symmetric(self) -> bool:
        return self.relation in SYMMETRIC_RELATIONS

    @property
    def first_seen(self) -> str | None:
        return earliest(f.get("date") for f in self.facts)

    @property
    def last_seen(self) -> str | None:
        return latest(f.get("date") for f in self.facts)

    @property
    def confidence(self) -> float:
        return max(float(f.get("confidence") or 0.0) for f in self.facts)

    @property
    def hedged(self) -> bool:
        """True only when every fact behind the edge is hedged."""
        return all(bool(f.get("hedged")) for f in self.facts)

    @property
    def documents(self) -> list[str]:
        return sorted({f["doc_id"] for f in self.facts if f.get("doc_id")})


@dataclass
class Selection:
    """What one export writes."""

    con: Any                                  # the store's DuckDB connection (read queries)
    facts: list[dict]                         # Store.facts rows + ``document_id``
    actors: dict[str, dict]                   # id -> actor row + aliases, first_seen, last_seen
    documents: dict[str, dict]                # internal document id -> document row
    filtered: bool = False
    since: str | None = None
    until: str | None = None
    matched: frozenset = frozenset()          # actor ids the --actor names matched

    def edges(self) -> list[Edge]:
        out: dict[tuple[str, str, str], Edge] = {}
        for f in self.facts:
            s, o, rel = f["subject_id"], f["object_id"], f["relation"]
            if rel in SYMMETRIC_RELATIONS and o < s:
                s, o = o, s
            key = (s, rel, o)
            if key not in out:
                out[key] = Edge(id=f"{s}|{rel}|{o}", source=s, target=o, relation=rel)
            out[key].facts.append(f)
        return list(out.values())


def _fact_sort_key(f: dict) -> tuple:
    return (f.get("date") is None, f.get("date") or "", f.get("doc_id") or "", f.get("start") or 0,
            f["relation"], f["id"])


def select(
    store,
    since: str | None = None,
    until: str | None = None,
    actors: Iterable[str] = (),
    include_hedged: bool = True,
) -> Selection:
    """The facts, actors and documents an export with these filters writes."""
    names = [a for a in (actors or ()) if a and a.strip()]
    filtered = bool(since or until or names or not include_hedged)
    con = store.con
    matched: set[str] = set()
    if names:
        by_id: dict[str, dict] = {}
        for name in names:
            ids = query_resolve(con, name)
            if not ids:
                raise ExportError(f"no actor matches {name!r} (try `allegiance actors`)")
            matched.update(ids)
            for f in store.facts(actor=name, since=since, until=until, include_hedged=include_hedged):
                by_id.setdefault(f["id"], f)
        facts = sorted(by_id.values(), key=_fact_sort_key)
    else:
        facts = store.facts(since=since, until=until, include_hedged=include_hedged)
    doc_of = query.fact_documents(con, [f["id"] for f in facts])
    for f in facts:
        f["document_id"] = doc_of.get(f["id"])
        f["hedged"] = bool(f.get("hedged"))

    all_actors = {a["id"]: a for a in store.actors()}
    all_docs = {d["id"]: d for d in store.documents()}
    if filtered:
        keep_actors = matched | {f["subject_id"] for f in facts} | {f["object_id"] for f in facts}
        keep_docs = {f["document_id"] for f in facts if f.get("document_id")}
    else:
        keep_actors, keep_docs = set(all_actors), set(all_docs)
    actor_rows = {aid: dict(all_actors[aid]) for aid in sorted(keep_actors) if aid in all_actors}
    aliases = query.actor_aliases(con, list(actor_rows))
    published = query.actor_published(con, list(actor_rows))
    dates: dict[str, list[str]] = {}
    for f in facts:
        if f.get("date"):
            dates.setdefault(f["subject_id"], []).append(f["date"])
            dates.setdefault(f["object_id"], []).append(f["date"])
    gazetteer = None
    for aid, a in actor_rows.items():
        if not a.get("kind") and a.get("gazetteer_id"):  # stores filled without kinds
            if gazetteer is None:
                from allegiance.resolve.gazetteer import load_gazetteer

                gazetteer = load_gazetteer()
            entry = gazetteer.by_id.get(a["gazetteer_id"])
            a["kind"] = entry.kind if entry is not None else None
        a["aliases"] = aliases.get(aid, [])
        seen = dates.get(aid, []) + [p for p in published.get(aid, []) if _in_range(p, since, until)]
        a["first_seen"] = earliest(seen)
        a["last_seen"] = latest(seen)
    docs = {did: all_docs[did] for did in sorted(keep_docs, key=lambda d: (all_docs.get(d, {}).get("doc_id") or "", d))
            if did in all_docs}
    return Selection(con=con, facts=facts, actors=actor_rows, documents=docs, filtered=filtered,
                     since=since, until=until, matched=frozenset(matched))


def query_resolve(con, name: str) -> list[str]:
    from allegiance.store.queries import resolve_actor_ids

    return resolve_actor_ids(con, name)


def writer(fmt: str):
    """The ``write(selection, fh)`` function of a format."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; one of: {', '.join(FORMATS)}")
    return import_module(f"allegiance.export.{FORMATS[fmt][0]}").write


def export(
    store,
    fmt: str,
    fh: TextIO,
    since: str | None = None,
    until: str | None = None,
    actors: Iterable[str] = (),
    include_hedged: bool = True,
) -> int:
    """Write the selection in one format to ``fh``; returns what the format counts."""
    write = writer(fmt)
    sel = select(store, since=since, until=until, actors=actors, include_hedged=include_hedged)
    return write(sel, fh)


__all__ = ["FORMATS", "Edge", "ExportError", "Selection", "export", "period", "select", "writer"]
