"""Persistence of attack mentions and incidents (issue 13). The linking itself is
``allegiance.resolve.incidents``; this module only reads and writes rows.

attack_mentions   one row per attack mention of a stored document: local entity ids
                  resolved to actor ids when written (``data``: JSON, see ``_mention_data``)
incidents         one row per incident: its record (JSON) and the columns queries filter on
incident_reports  incident -> its mentions and documents
incident_edits    analysts' merges and splits (audit trail; replayed after every relink)
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from allegiance.records import Extraction
from allegiance.resolve import incidents as linking

DDL = [
    """
    CREATE TABLE IF NOT EXISTS attack_mentions (
        id VARCHAR PRIMARY KEY,
        document_id VARCHAR NOT NULL,
        local_id VARCHAR NOT NULL,
        "current" BOOLEAN,
        data JSON
    )""",
    """
    CREATE TABLE IF NOT EXISTS incidents (
        id VARCHAR PRIMARY KEY,
        date VARCHAR,
        date_max VARCHAR,
        place_id VARCHAR,
        place_name VARCHAR,
        disputed BOOLEAN,
        sources INTEGER,
        killed_min INTEGER,
        killed_max INTEGER,
        record JSON
    )""",
    """
    CREATE TABLE IF NOT EXISTS incident_reports (
        incident_id VARCHAR NOT NULL,
        mention_id VARCHAR NOT NULL,
        document_id VARCHAR NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS incident_edits (
        id VARCHAR PRIMARY KEY,
        action VARCHAR NOT NULL,
        mention_ids JSON NOT NULL,
        note VARCHAR,
        "user" VARCHAR,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS idx_attack_mentions_document ON attack_mentions(document_id)",
    "CREATE INDEX IF NOT EXISTS idx_incident_reports_incident ON incident_reports(incident_id)",
    "CREATE INDEX IF NOT EXISTS idx_incident_reports_mention ON incident_reports(mention_id)",
]


def _mention_data(ex: Extraction, a, local: dict[str, str], names: dict[str, str], gz: dict[str, str | None]) -> dict:
    ents = {e.id: e for e in ex.entities}

    def actor(eid):
        aid = local.get(eid)
        return None if aid is None else {"actor_id": aid, "name": names.get(aid) or ents[eid].name,
                                         "gazetteer_id": gz.get(aid)}

    place = actor(a.place) if a.place else None
    targets = [t for t in (actor(e) for e in a.targets) if t]
    attackers = []
    for x in a.attackers:
        ref = actor(x.entity)
        if ref:
            attackers.append({"actor_id": ref["actor_id"], "name": ref["name"], "status": x.status,
                              "by": x.by, "denied": x.denied})
    return {
        "trigger": a.trigger, "triggers": a.triggers, "date": a.date, "date_source": a.date_source,
        "place": place, "target_places": [t for e, t in zip(a.targets, [actor(e) for e in a.targets])
                                          if t and ents.get(e) is not None and ents[e].type == "PLACE"],
        "attackers": attackers, "targets": targets,
        "killed": a.killed, "killed_figures": a.killed_figures, "wounded": a.wounded,
        "wounded_figures": a.wounded_figures, "evidence": a.evidence, "start": a.start, "end": a.end,
        "sentences": [list(s) for s in a.sentences], "current": a.current, "past_cue": a.past_cue,
        "names": a.names,
    }


def store_attacks(con, exs: list[Extraction], results: list) -> None:
    """Write the attack mentions of the documents just added or replaced, then link
    the changed neighbourhood into incidents. Runs inside the batch's transaction."""
    changed: set[str] = set()
    removed: set[str] = set()
    for ex, result in zip(exs, results):
        if result.status not in ("added", "replaced"):
            continue
        did = result.document_id
        old = [r[0] for r in con.execute("SELECT id FROM attack_mentions WHERE document_id = ?", [did]).fetchall()]
        if old:
            removed |= {r[0] for r in con.execute(
                "SELECT DISTINCT incident_id FROM incident_reports WHERE document_id = ?", [did]).fetchall()}
            con.execute("DELETE FROM attack_mentions WHERE document_id = ?", [did])
            con.execute("DELETE FROM incident_reports WHERE document_id = ?", [did])
        if not ex.attacks:
            continue
        rows = con.execute(
            "SELECT da.local_id, da.actor_id, a.name, a.gazetteer_id FROM document_actors da "
            "JOIN actors a ON a.id = da.actor_id WHERE da.document_id = ?", [did]).fetchall()
        local = {r[0]: r[1] for r in rows}
        names = {r[1]: r[2] for r in rows}
        gz = {r[1]: r[3] for r in rows}
        seen = set()
        for a in ex.attacks:
            mid = linking.mention_id_for(ex.document.content_hash, a.start, a.trigger)
            if mid in seen:
                continue
            seen.add(mid)
            data = _mention_data(ex, a, local, names, gz)
            con.execute("INSERT OR REPLACE INTO attack_mentions VALUES (?, ?, ?, ?, ?)",
                        [mid, did, a.id, a.current, json.dumps(data, ensure_ascii=False)])
            if a.current:
                changed.add(mid)
    if changed or removed:
        relink(con, changed, removed)


def load_mentions(con, where: str = "", params: list | None = None) -> list[dict]:
    """Stored attack mentions as the linking reads them, actor ids through redirects."""
    redirects = dict(con.execute("SELECT old_id, new_id FROM actor_redirects").fetchall())
    rows = con.execute(
        f"SELECT m.id, m.document_id, m.\"current\", m.data, d.doc_id, d.title, d.published "
        f"FROM attack_mentions m JOIN documents d ON d.id = m.document_id {where} ORDER BY m.id",
        params or []).fetchall()
    # what each document is about: its actors with how often it names them (linking reads
    # the places and armed groups an article keeps coming back to)
    context: dict[str, list[dict]] = {}
    docs = sorted({r[1] for r in rows})
    if docs:
        for did, aid, typ, kind, gz, n in con.execute(
                "SELECT da.document_id, da.actor_id, a.type, a.kind, a.gazetteer_id, sum(da.mention_count) "
                "FROM document_actors da JOIN actors a ON a.id = da.actor_id "
                "WHERE da.document_id IN (SELECT unnest(?::VARCHAR[])) "
                "GROUP BY da.document_id, da.actor_id, a.type, a.kind, a.gazetteer_id", [docs]).fetchall():
            context.setdefault(did, []).append({"actor_id": redirects.get(aid, aid), "type": typ, "kind": kind,
                                                "gazetteer_id": gz, "count": int(n or 0)})
    out = []
    for mid, did, current, data, doc_id, title, published in rows:
        d = json.loads(data)
        d["context"] = sorted(context.get(did, []), key=lambda c: (-c["count"], c["actor_id"]))
        for a in d.get("attackers", []) + d.get("targets", []) + ([d["place"]] if d.get("place") else []) \
                + d.get("target_places", []):
            a["actor_id"] = redirects.get(a["actor_id"], a["actor_id"])
        d.update(mention_id=mid, document_id=did, current=bool(current), doc_id=doc_id, title=title,
                 published=published)
        out.append(d)
    return out


def relink(con, changed: set[str], removed_incidents: set[str] = frozenset()) -> None:
    """Cluster the neighbourhood of ``changed`` again and rewrite its incidents."""
    mentions = [d for d in load_mentions(con) if d["current"]]
    incident_of = dict(con.execute("SELECT mention_id, incident_id FROM incident_reports").fetchall())
    assigned, before = linking.relink(mentions, incident_of, changed, removed_incidents)
    assigned = _apply_edits(con, assigned, mentions)
    _write(con, assigned, before, mentions)


def _apply_edits(con, assigned: dict[str, str], mentions: list[dict]) -> dict[str, str]:
    """Analysts' merges and splits win over the linking, in the order they were made."""
    for action, mids in con.execute(
            "SELECT action, mention_ids FROM incident_edits ORDER BY created_at, id").fetchall():
        mids = [m for m in json.loads(mids) if m in assigned]
        if not mids:
            continue
        if action == "merge":
            iid = linking.incident_id_for(min(mids))
            for m in list(assigned):
                if assigned[m] in {assigned[x] for x in mids}:
                    assigned[m] = iid
        elif action == "split":
            for m in mids:
                old = assigned[m]
                assigned[m] = linking.incident_id_for(m)
                rest = sorted(x for x in assigned if assigned[x] == old and x not in mids)
                if rest and old == linking.incident_id_for(m):
                    # the split mention founded the incident: the rest takes its next mention's id
                    for x in rest:
                        assigned[x] = linking.incident_id_for(rest[0])
    return assigned


def _write(con, assigned: dict[str, str], before: set[str], mentions: list[dict]) -> None:
    by_id = {d["mention_id"]: d for d in mentions}
    groups: dict[str, list[dict]] = {}
    for mid, iid in assigned.items():
        groups.setdefault(iid, []).append(by_id[mid])
    stale = sorted(before | set(groups))
    if stale:
        con.execute("DELETE FROM incidents WHERE id IN (SELECT unnest(?::VARCHAR[]))", [stale])
        con.execute("DELETE FROM incident_reports WHERE incident_id IN (SELECT unnest(?::VARCHAR[]))", [stale])
    mids = sorted(assigned)
    if mids:
        con.execute("DELETE FROM incident_reports WHERE mention_id IN (SELECT unnest(?::VARCHAR[]))", [mids])
    for iid in sorted(groups):
        rec = linking.incident_record(iid, groups[iid])
        con.execute(
            "INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [iid, rec["date"], rec["date_max"], rec["place"]["actor_id"] if rec["place"] else None,
             rec["place"]["name"] if rec["place"] else None, rec["disputed"], rec["sources"],
             rec["killed"]["min"], rec["killed"]["max"], json.dumps(rec, ensure_ascii=False)])
        for d in groups[iid]:
            con.execute("INSERT INTO incident_reports VALUES (?, ?, ?)", [iid, d["mention_id"], d["document_id"]])


def incidents(con, since: str | None = None, until: str | None = None, place: str | None = None,
              actor: str | None = None, disputed: bool | None = None, min_sources: int = 1,
              limit: int | None = None) -> list[dict]:
    """Incident records, oldest first. ``place``/``actor``: an actor id or a name
    (case-insensitive substring of the record's place / attackers)."""
    sql, params = "SELECT record FROM incidents WHERE sources >= ?", [min_sources]
    if since:
        sql += " AND coalesce(date_max, date) >= ?"
        params.append(since)
    if until:
        sql += " AND date <= ?"
        params.append(until + "~")   # "2015-11" includes "2015-11-20"
    if disputed is not None:
        sql += " AND disputed = ?"
        params.append(bool(disputed))
    sql += " ORDER BY date NULLS LAST, id"
    out = []
    for (rec,) in con.execute(sql, params).fetchall():
        r = json.loads(rec)
        if place and not _matches(place, [r["place"]] + r["places"] if r["place"] else r["places"]):
            continue
        if actor and not _matches(actor, r["attackers"]):
            continue
        out.append(r)
        if limit and len(out) >= limit:
            break
    return out


def _matches(q: str, refs: list[dict]) -> bool:
    q = q.lower()
    return any(ref and (ref.get("actor_id") == q or q in (ref.get("name") or "").lower()) for ref in refs)


def incident(con, incident_id: str) -> dict | None:
    row = con.execute("SELECT record FROM incidents WHERE id = ?", [incident_id]).fetchone()
    if row is None:
        # an incident merged away by an edit: its first mention now sits in another one
        row = con.execute(
            "SELECT i.record FROM incidents i JOIN incident_reports r ON r.incident_id = i.id "
            "WHERE r.mention_id LIKE ? LIMIT 1", [incident_id.removeprefix("inc-") + "%"]).fetchone()
    return json.loads(row[0]) if row else None


def edit(con, action: str, mention_ids: list[str], note: str | None = None, user: str | None = None) -> str:
    """Record an analyst's merge (these mentions' incidents become one) or split (these
    mentions leave their incident, one incident each), then apply it."""
    import hashlib

    if action not in ("merge", "split"):
        raise ValueError(f"unknown incident edit {action!r} (merge | split)")
    known = {r[0] for r in con.execute("SELECT mention_id FROM incident_reports").fetchall()}
    missing = [m for m in mention_ids if m not in known]
    if missing or not mention_ids or (action == "merge" and len(set(mention_ids)) < 2):
        raise ValueError("an edit needs linked mention ids (two or more to merge): " + ", ".join(missing))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    eid = hashlib.sha256(f"{action}\x1f{json.dumps(sorted(mention_ids))}\x1f{now.isoformat()}".encode()).hexdigest()[:16]
    con.execute("INSERT INTO incident_edits VALUES (?, ?, ?, ?, ?, ?)",
                [eid, action, json.dumps(sorted(mention_ids)), note, user, now])
    affected = {r[0] for r in con.execute(
        "SELECT DISTINCT incident_id FROM incident_reports WHERE mention_id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(mention_ids)]).fetchall()}
    relink(con, set(mention_ids), affected)
    return eid


def edits(con) -> list[dict]:
    cols = ("id", "action", "mention_ids", "note", "user", "created_at")
    return [dict(zip(cols, r)) for r in con.execute(
        'SELECT id, action, mention_ids, note, "user", CAST(created_at AS VARCHAR) FROM incident_edits '
        "ORDER BY created_at, id").fetchall()]
