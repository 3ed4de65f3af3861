"""ACLED-style incident table: one row per incident (issue 13), not per report.

event_date is the incident's earliest told date (the range in ``date_range`` when reports
differ); actor1 the attacker most reports name, assoc_actor the other attackers, actor2 the
targets; location the incident's place. ``fatalities`` is the lowest reported figure, as
ACLED codes a contested toll conservatively; every figure with its source is in ``notes``.
``disputed`` marks incidents whose reports differ on who did it or on the toll. Cells go
through ``allegiance.textsafe.csv_cell`` (control characters escaped, formula-safe)."""
from __future__ import annotations

import csv
from typing import TextIO

from allegiance.textsafe import csv_cell

COLUMNS = [
    "event_id", "event_date", "date_range", "year", "event_type", "actor1", "assoc_actor", "actor2",
    "location", "country", "iso", "latitude", "longitude", "fatalities", "fatalities_max", "disputed",
    "notes", "source_count", "sources",
]


def _status(a: dict) -> str:
    parts = []
    for r in a["reports"]:
        s = r["status"] + (f" by {r['by']}" if r.get("by") and r["status"] != "claimed" else "")
        if r.get("denied"):
            s += ", denied"
        parts.append(f"{s} ({r['doc_id']})")
    return f"{a['name']}: " + "; ".join(parts)


def rows(records: list[dict]) -> list[dict]:
    from allegiance.resolve.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    countries = {e.country: e.name for e in gaz.entries if e.type == "PLACE" and e.kind == "country" and e.country}
    out = []
    for rec in records:
        place = rec.get("place") or {}
        entry = gaz.by_id.get(place.get("gazetteer_id") or "")
        attackers = rec["attackers"]
        killed = rec["killed"]
        notes = []
        if killed["figures"]:
            notes.append("killed reported: " + "; ".join(f"{f['figure']} ({f['doc_id']})" for f in killed["figures"])
                         + f" (range {killed['min']}-{killed['max']})")
        if rec["wounded"]["figures"]:
            w = rec["wounded"]
            notes.append("wounded reported: " + "; ".join(f"{f['figure']} ({f['doc_id']})" for f in w["figures"])
                         + f" (range {w['min']}-{w['max']})")
        if attackers:
            notes.append("attackers: " + " | ".join(_status(a) for a in attackers))
        if rec["disputed"]:
            notes.append("disputed: " + ", ".join(rec["disputes"]))
        date = rec.get("date") or ""
        out.append({
            "event_id": rec["incident_id"],
            "event_date": date,
            "date_range": f"{rec['date']}/{rec['date_max']}" if rec.get("date_max") and rec["date_max"] != date else "",
            "year": date[:4],
            "event_type": "Attack",
            "actor1": attackers[0]["name"] if attackers else "Unidentified armed group",
            "assoc_actor": "; ".join(a["name"] for a in attackers[1:]),
            "actor2": "; ".join(t["name"] for t in rec["targets"]),
            "location": place.get("name") or "",
            "country": countries.get(entry.country, "") if entry and entry.country else "",
            "iso": entry.country if entry else "",
            "latitude": entry.lat if entry else None,
            "longitude": entry.lon if entry else None,
            "fatalities": killed["min"],
            "fatalities_max": killed["max"],
            "disputed": rec["disputed"],
            "notes": ". ".join(notes),
            "source_count": rec["sources"],
            "sources": "; ".join(r["doc_id"] for r in rec["reports"]),
        })
    return out


def write_records(records: list[dict], fh: TextIO) -> int:
    w = csv.writer(fh)
    w.writerow(COLUMNS)
    out = rows(records)
    for row in out:
        w.writerow([csv_cell(row[c]) for c in COLUMNS])
    return len(out)


def write(sel, fh: TextIO) -> int:
    """The export framework's entry (``allegiance export incidents-csv``): the incidents of
    the selection's period (``--since/--until``, on the incident's date range) and, with
    ``--actor``, those where a matched actor is an attacker, a target or the place.
    ``--no-hedged`` does not apply (an incident is not a fact). A store without incidents
    gives the header alone, so a reader still gets the columns."""
    from allegiance.store.incidents import incidents, involves

    records = incidents(sel.con, since=sel.since, until=sel.until)
    if sel.matched:
        records = [r for r in records if involves(r, sel.matched)]
    return write_records(records, fh)
