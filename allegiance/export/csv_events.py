"""ACLED-style event table: one row per ``attacked`` fact.

Columns follow ACLED's names where they apply (event_date, year, event_type, actor1,
actor2, location, country, latitude, longitude, fatalities, notes, source); the rest carry
Allegiance provenance.  ``event_type`` is always ``Attack`` (the extractor does not tell
battles from remote violence).  Location: the fact's ``place`` attribute, else the target
when it is a place; country and coordinates from the gazetteer.  Cells are made safe for
spreadsheets (see :func:`allegiance.export.csv_facts.cell`)."""
from __future__ import annotations

import csv
from typing import TextIO

from allegiance.export import Selection
from allegiance.export.csv_facts import cell
from allegiance.export.query import local_actor_ids
from allegiance.store.queries import get_actor

COLUMNS = [
    "event_id", "event_date", "year", "time_precision", "event_type", "actor1", "actor1_id",
    "actor2", "actor2_id", "location", "location_id", "country", "iso", "latitude", "longitude",
    "fatalities", "notes", "source", "source_id", "source_url", "attributed_to", "hedged",
    "confidence", "date_source",
]
#: ACLED time_precision: 1 = day, 2 = month (or week), 3 = year (or vaguer)
_PRECISION = {10: 1, 7: 2, 4: 3}


def _countries(gazetteer) -> dict[str, str]:
    return {e.country: e.name for e in gazetteer.entries if e.type == "PLACE" and e.kind == "country" and e.country}


def rows(sel: Selection) -> list[dict]:
    from allegiance.resolve.gazetteer import load_gazetteer

    gazetteer = load_gazetteer()
    countries = _countries(gazetteer)
    attacks = [f for f in sel.facts if f["relation"] == "attacked"]
    local = local_actor_ids(sel.con, sorted({f["document_id"] for f in attacks if f.get("document_id")}))
    out = []
    for f in attacks:
        attrs = f.get("attributes") or {}
        place_id = None
        place = attrs.get("place")
        if isinstance(place, str) and place:
            place_id = local.get((f.get("document_id"), place)) or (place if place in sel.actors else None)
        if place_id is None and f.get("object_type") == "PLACE":
            place_id = f["object_id"]
        place_actor = sel.actors.get(place_id or "") or (get_actor(sel.con, place_id) if place_id else None) or {}
        entry = gazetteer.by_id.get(place_actor.get("gazetteer_id") or "") if place_actor else None
        iso = entry.country if entry else None
        killed = attrs.get("killed")
        doc = sel.documents.get(f.get("document_id") or "", {})
        source = doc.get("source") or f.get("source") or ""
        date = f.get("date") or ""
        out.append(
            {
                "event_id": f["id"],
                "event_date": date,
                "year": date[:4],
                "time_precision": _PRECISION.get(len(date), ""),
                "event_type": "Attack",
                "actor1": f["subject"],
                "actor1_id": f["subject_id"],
                "actor2": f["object"],
                "actor2_id": f["object_id"],
                "location": place_actor.get("name") or "",
                "location_id": place_id or "",
                "country": countries.get(iso, "") if iso else "",
                "iso": iso or "",
                "latitude": entry.lat if entry and entry.lat is not None else "",
                "longitude": entry.lon if entry and entry.lon is not None else "",
                "fatalities": killed if isinstance(killed, int) and not isinstance(killed, bool) else "",
                "notes": " ".join((f.get("evidence") or "").split()),
                "source": f.get("title") or f.get("doc_id") or "",
                "source_id": f.get("doc_id") or "",
                "source_url": source if source.startswith(("http://", "https://")) else "",
                "attributed_to": f.get("attributed_to") or "",
                "hedged": "true" if f.get("hedged") else "false",
                "confidence": "" if f.get("confidence") is None else round(float(f["confidence"]), 3),
                "date_source": f.get("date_source") or "",
            }
        )
    return out


def write(sel: Selection, fh: TextIO) -> int:
    """Write the events CSV; returns the number of events."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(COLUMNS)
    events = rows(sel)
    for r in events:
        w.writerow([cell(r[c]) for c in COLUMNS])
    return len(events)
