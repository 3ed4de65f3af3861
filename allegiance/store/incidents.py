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
import re
from datetime import datetime, timezone
from typing import Any

from allegiance.records import Extraction
from allegiance.resolve import incidents as linking

_INCIDENT_ID = re.compile(r"inc-[0-9a-f]{12}")

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
    # what an edit touched when it was made: the incidents of its mentions and every mention
    # they held (a split's audit row must stay on the incident the report left); added to
    # stores made before it by create_schema on the next read-write open
    "ALTER TABLE incident_edits ADD COLUMN IF NOT EXISTS scope JSON",
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
    # the fallback's LIKE takes only an id's hex digits: a '%' or '_' from a URL is no wildcard
    if row is None and _INCIDENT_ID.fullmatch(incident_id):
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
    affected = {r[0] for r in con.execute(
        "SELECT DISTINCT incident_id FROM incident_reports WHERE mention_id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(mention_ids)]).fetchall()}
    held = sorted(r[0] for r in con.execute(
        "SELECT mention_id FROM incident_reports WHERE incident_id IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(affected)]).fetchall())
    con.execute('INSERT INTO incident_edits (id, action, mention_ids, note, "user", created_at, scope) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [eid, action, json.dumps(sorted(mention_ids)), note, user, now,
                 json.dumps({"incidents": sorted(affected), "mentions": held})])
    relink(con, set(mention_ids), affected)
    return eid


def edits(con) -> list[dict]:
    """The audit trail, oldest first. ``scope`` (None in a store opened read-only from before
    it existed): the incidents the edit touched and the mentions they held then."""
    has_scope = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'incident_edits' "
                            "AND column_name = 'scope'").fetchone()[0]
    cols = ("id", "action", "mention_ids", "note", "user", "created_at", "scope")
    out = []
    for r in con.execute(
            'SELECT id, action, mention_ids, note, "user", CAST(created_at AS VARCHAR), '
            f'{"scope" if has_scope else "NULL"} FROM incident_edits ORDER BY created_at, id').fetchall():
        e = dict(zip(cols, r))
        e["scope"] = json.loads(e["scope"]) if e["scope"] else None
        out.append(e)
    return out


# -- shaping shared by the CLI, the JSON API and the pages ----------------------------------
# One implementation below cli.py and web/: `allegiance incidents --format json` and
# /api/incidents print the same object, the page and /api/incidents/{id} the same columns.

def summary(rec: dict) -> dict:
    """The issue's json: incident_id, date, place, attackers, targets, killed, reports
    [{"doc_id"}], plus what else the record holds (every version, with its source) and the
    place's gazetteer coordinates (the map)."""
    place = rec.get("place") or None
    lat = lon = None
    if place and place.get("gazetteer_id"):
        from allegiance.resolve.gazetteer import load_gazetteer

        e = load_gazetteer().by_id.get(place["gazetteer_id"])
        if e is not None:
            lat, lon = e.lat, e.lon
    return {
        "incident_id": rec["incident_id"], "date": rec["date"], "date_max": rec["date_max"],
        "place": place["name"] if place else None, "place_id": place["actor_id"] if place else None,
        "lat": lat, "lon": lon,
        "attackers": rec["attackers"], "targets": rec["targets"], "killed": rec["killed"], "wounded": rec["wounded"],
        "sources": rec["sources"], "disputed": rec["disputed"], "disputes": rec["disputes"], "reports": rec["reports"],
    }


def _accepted(report: dict) -> frozenset:
    """Who a report says did it: the attackers it names as claimed, attributed or stated,
    less those it says deny it (the linking's notion of 'attackers' disputes)."""
    return frozenset(a["actor_id"] for a in report.get("attackers", [])
                     if a["status"] in ("claimed", "attributed", "stated") and not a.get("denied"))


def disagreements(rec: dict) -> dict[str, list]:
    """Fields on which the reports differ, each with its versions (value, doc_ids): the
    linking's disputes (attackers, killed) plus a differing wounded figure or date. A report
    that says nothing on a field is silent, not a version."""
    out: dict[str, list] = {}
    versions: dict[str, dict] = {"killed": {}, "wounded": {}, "date": {}, "attackers": {}}
    for r in rec["reports"]:
        for field in ("killed", "wounded", "date"):
            if r.get(field) is not None:
                versions[field].setdefault(r[field], []).append(r["doc_id"])
        if r.get("attackers"):
            names = {a["actor_id"]: a["name"] for a in r["attackers"]}
            acc = _accepted(r)
            key = (tuple(sorted(names[a] for a in acc)),
                   tuple(sorted(names[a["actor_id"]] for a in r["attackers"] if a.get("denied"))))
            versions["attackers"].setdefault(key, []).append(r["doc_id"])
    for field, vs in versions.items():
        disputed = field in rec.get("disputes", []) or (field in ("wounded", "date") and len(vs) > 1)
        if not disputed:
            continue
        if field == "attackers":
            out[field] = [{"value": ", ".join(k[0]) or "none accepted",
                           "denied": list(k[1]), "doc_ids": d} for k, d in vs.items()]
        else:
            out[field] = [{"value": v, "doc_ids": d} for v, d in sorted(vs.items(), key=lambda x: str(x[0]))]
    return out


def _sentences(con, rec: dict) -> dict[str, list[dict]]:
    """Each report's sentences of its attack (raw text cut at the mention's sentence
    offsets), the one the record quotes as evidence marked ``main``."""
    mids = [r["mention_id"] for r in rec["reports"] if r.get("mention_id")]
    if not mids:
        return {}
    rows = con.execute(
        "SELECT m.id, m.data, d.raw_text FROM attack_mentions m JOIN documents d ON d.id = m.document_id "
        "WHERE m.id IN (SELECT unnest(?::VARCHAR[]))", [mids]).fetchall()
    out = {}
    for mid, data, raw in rows:
        d = json.loads(data)
        raw = raw or ""
        sents = []
        for a, b in d.get("sentences") or [[d.get("start"), d.get("end")]]:
            if a is None or b is None:
                continue
            sents.append({"text": raw[a:b], "start": a, "end": b,
                          "main": a <= (d.get("start") or 0) < b})
        out[mid] = sents
    return out


def view(con, rec: dict) -> dict:
    """An incident as the incident page shows it: the summary, one column per report
    (document, date, attackers with their status, targets, tolls, evidence sentences) with
    the fields it disagrees on, the disagreements with their versions, the audit trail."""
    dis = disagreements(rec)
    sents = _sentences(con, rec)
    columns = []
    for r in rec["reports"]:
        differs = [f for f, vs in dis.items() if any(r["doc_id"] in v["doc_ids"] for v in vs)]
        columns.append({
            "doc_id": r["doc_id"], "document_id": r["document_id"], "mention_id": r.get("mention_id"),
            "title": r.get("title"), "published": r.get("published"),
            "date": r.get("date"), "date_source": r.get("date_source"), "place": r.get("place"),
            "attackers": r.get("attackers", []), "targets": r.get("targets", []),
            "killed": r.get("killed"), "killed_figures": r.get("killed_figures", []),
            "wounded": r.get("wounded"), "wounded_figures": r.get("wounded_figures", []),
            "trigger": r.get("trigger"), "evidence": r.get("evidence"),
            "sentences": sents.get(r.get("mention_id"), []) or [{"text": r.get("evidence") or "", "main": True}],
            "differs": differs,
        })
    out = summary(rec)
    out.update(columns=columns, disagreements=dis, edits=edits_of(con, rec))
    return out


def edits_of(con, rec: dict) -> list[dict]:
    """The analysts' edits that touched this incident's reports (its audit trail)."""
    mids = set(_mentions_of(con, [rec["incident_id"]]))
    out = []
    for e in edits(con):
        ids = json.loads(e["mention_ids"]) if isinstance(e["mention_ids"], str) else e["mention_ids"]
        touched = set(ids) | set((e.get("scope") or {}).get("mentions", []))
        if mids & touched:
            out.append({**e, "mention_ids": ids})
    return out


def involves(rec: dict, actor_ids) -> bool:
    """Whether one of these actors is an attacker, a target or a place of the incident."""
    refs = rec["attackers"] + rec["targets"] + rec.get("places", []) + ([rec["place"]] if rec.get("place") else [])
    return any(ref and ref.get("actor_id") in actor_ids for ref in refs)


def involving(con, actor_id: str) -> list[dict]:
    """Incidents where this actor is an attacker, a target or the place (actor pages)."""
    rows = con.execute("SELECT record FROM incidents ORDER BY date NULLS LAST, id").fetchall()
    return [r for r in (json.loads(rec) for (rec,) in rows) if involves(r, {actor_id})]


def of_document(con, document_id: str) -> list[dict]:
    """Incidents a document reports (document pages)."""
    return [json.loads(rec) for (rec,) in con.execute(
        "SELECT i.record FROM incidents i WHERE i.id IN "
        "(SELECT incident_id FROM incident_reports WHERE document_id = ?) ORDER BY i.date NULLS LAST, i.id",
        [document_id]).fetchall()]


# -- analysts' merge and split, by incident and report -------------------------------------
class EditError(ValueError):
    """A merge or split that cannot be made (unknown incident, report not in it): one line."""


def _resolve(con, incident_id: str) -> dict:
    rec = incident(con, incident_id.strip())
    if rec is None:
        raise EditError("no such incident")  # the input is never echoed (web/guard.py)
    return rec


def merge_incidents(store, incident_ids: list[str], note: str | None = None, user: str | None = None) -> dict:
    """Make these incidents one (every report of each), audited in incident_edits.
    Returns ``{"edit_id", "incident"}`` (the merged record)."""
    recs = [_resolve(store.con, i) for i in incident_ids]
    if len({r["incident_id"] for r in recs}) < 2:
        raise EditError("a merge needs two different incidents")
    # every mention of each, not one per incident: the edit is replayed after later relinks,
    # and should still hold the reports the analyst saw together
    mids = sorted({r["mention_id"] for rec in recs for r in rec["reports"] if r.get("mention_id")}
                  | set(_mentions_of(store.con, [r["incident_id"] for r in recs])))
    eid = store.edit_incident("merge", mids, note=note, user=user)
    return {"edit_id": eid, "incident": _incident_of_mention(store.con, mids[0])}


def split_report(store, incident_id: str, doc_id: str, note: str | None = None, user: str | None = None) -> dict:
    """Take one report (``doc_id`` as in ``extract``, or the internal document id) out of
    its incident into an incident of its own, audited in incident_edits. Returns
    ``{"edit_id", "incident"`` (what remains), ``"split"`` (the report's new incident)``}``."""
    rec = _resolve(store.con, incident_id)
    mids = sorted(m for m, did, doc in store.con.execute(
        "SELECT r.mention_id, r.document_id, d.doc_id FROM incident_reports r JOIN documents d ON d.id = r.document_id "
        "WHERE r.incident_id = ?", [rec["incident_id"]]).fetchall() if doc_id in (did, doc))
    if not mids:
        raise EditError(f"incident {rec['incident_id']} has no such report (give the doc_id of one of its reports)")
    rest = sorted(set(_mentions_of(store.con, [rec["incident_id"]])) - set(mids))
    if not rest:
        raise EditError(f"incident {rec['incident_id']} has no other report: nothing to split")
    eid = store.edit_incident("split", mids, note=note, user=user)
    return {"edit_id": eid, "incident": _incident_of_mention(store.con, rest[0]),
            "split": _incident_of_mention(store.con, mids[0])}


def _incident_of_mention(con, mention_id: str) -> dict | None:
    row = con.execute("SELECT incident_id FROM incident_reports WHERE mention_id = ?", [mention_id]).fetchone()
    return incident(con, row[0]) if row else None


def _mentions_of(con, incident_ids: list[str]) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT mention_id FROM incident_reports WHERE incident_id IN (SELECT unnest(?::VARCHAR[]))",
        [incident_ids]).fetchall()]


# -- network weights ------------------------------------------------------------------------
def fact_incidents(con, fact_ids: list[str] | None = None) -> dict[str, str]:
    """``attacked`` fact id -> the incident its evidence sentence belongs to: the current
    attack mention of the same document whose sentences overlap the fact's evidence (several:
    the one naming the fact's attacker, then the lowest mention id). Facts of no incident (a
    history paragraph, a document without attack mentions) are left out."""
    sql = 'SELECT id, document_id, "start", "end", subject_id FROM facts WHERE relation = \'attacked\''
    params: list = []
    if fact_ids is not None:
        if not fact_ids:
            return {}
        sql += " AND id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(sorted(set(fact_ids)))
    facts = con.execute(sql, params).fetchall()
    docs = sorted({f[1] for f in facts})
    if not docs:
        return {}
    redirects = dict(con.execute("SELECT old_id, new_id FROM actor_redirects").fetchall())
    by_doc: dict[str, list] = {}
    for iid, mid, did, data in con.execute(
            "SELECT r.incident_id, r.mention_id, m.document_id, m.data FROM incident_reports r "
            "JOIN attack_mentions m ON m.id = r.mention_id "
            "WHERE m.document_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY r.mention_id", [docs]).fetchall():
        d = json.loads(data)
        attackers = {redirects.get(a["actor_id"], a["actor_id"]) for a in d.get("attackers", [])}
        spans = [tuple(s) for s in d.get("sentences") or []] or [(d.get("start"), d.get("end"))]
        by_doc.setdefault(did, []).append((iid, mid, attackers, spans))
    out = {}
    for fid, did, start, end, subject in facts:
        if start is None or end is None:
            continue
        hits = [(subject not in att, mid, iid) for iid, mid, att, spans in by_doc.get(did, [])
                if any(a is not None and b is not None and a < end and start < b for a, b in spans)]
        if hits:
            out[fid] = min(hits)[2]
    return out


def incident_count(fact_ids: list[str], fact_incident: dict[str, str]) -> int:
    """Distinct attacks behind these facts: the facts of one incident count once, a fact
    of no incident counts alone."""
    return len({fact_incident.get(f, "fact:" + f) for f in fact_ids})
