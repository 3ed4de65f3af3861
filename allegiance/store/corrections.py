"""Analyst corrections that stick: actor merges (and their undo), alias splits, and fact
reviews (confirm, reject, correct subject / object / relation).

Corrections are applied to the stored rows themselves, in this one module, so every
reader (network, pages, ``show``, ``facts``, every export, the API) sees them without
knowing they exist. They are kept by ids that survive re-ingesting a document and a new
extractor version: actors by their identity key (``gz:<gazetteer id>`` or
``TYPE:<match key>``), facts by document content hash + evidence span + relation (with
the original ends to tell apart facts sharing a span). After every ingest batch the
store calls :func:`replay`, which applies them again to what the batch wrote; so the
next ingest cannot undo a merge.

The resolver does not follow an analyst's merge redirect (``resolver_redirects``): a
re-ingested document's entity comes back as the merged-away actor and the replay folds
it in again, recording every row it moves (``merge_moves``), which is what makes a merge
undoable later, documents ingested after the merge included.

Every action writes an ``audit`` row: who, when, the action, its target, before and after.
"""
from __future__ import annotations

import getpass
import json
import os
import uuid
from datetime import datetime, timezone
from typing import Any

from allegiance.resolve.identity import actor_id_for_key
from allegiance.resolve.names import match_key

DDL = [
    """
    CREATE TABLE IF NOT EXISTS actor_merges (
        id VARCHAR PRIMARY KEY,
        from_key VARCHAR NOT NULL,
        into_key VARCHAR NOT NULL,
        from_id VARCHAR NOT NULL,
        into_id VARCHAR NOT NULL,
        from_actor JSON,
        redirected JSON,
        "user" VARCHAR,
        created_at TIMESTAMP NOT NULL,
        undone_at TIMESTAMP,
        undone_by VARCHAR
    )""",
    """
    CREATE TABLE IF NOT EXISTS merge_moves (
        merge_id VARCHAR NOT NULL,
        tbl VARCHAR NOT NULL,
        document_id VARCHAR NOT NULL,
        ingested_at TIMESTAMP,
        row_key JSON
    )""",
    """
    CREATE TABLE IF NOT EXISTS alias_splits (
        id VARCHAR PRIMARY KEY,
        actor_key VARCHAR NOT NULL,
        norm VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        new_key VARCHAR NOT NULL,
        new_id VARCHAR NOT NULL,
        "user" VARCHAR,
        created_at TIMESTAMP NOT NULL,
        undone_at TIMESTAMP,
        undone_by VARCHAR
    )""",
    """
    CREATE TABLE IF NOT EXISTS audit (
        id VARCHAR PRIMARY KEY,
        "at" TIMESTAMP NOT NULL,
        "user" VARCHAR,
        action VARCHAR NOT NULL,
        target VARCHAR,
        "before" JSON,
        "after" JSON
    )""",
]

# the stable key of a reviewed fact, added to the reviews table of older stores
REVIEW_KEY_COLUMNS = ("content_hash", "span_start", "span_end", "orig_relation", "orig_subject_key",
                      "orig_object_key", "subject_key", "object_key")


class CorrectionError(ValueError):
    """A correction that cannot be made (unknown actor, same actor twice...): one line."""


def ensure(con) -> None:
    from allegiance.store.schema import REVIEWS_DDL

    con.execute(REVIEWS_DDL)
    for ddl in DDL:
        con.execute(ddl)
    for col in REVIEW_KEY_COLUMNS:
        con.execute(f"ALTER TABLE reviews ADD COLUMN IF NOT EXISTS {col} VARCHAR")


def has_tables(con) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'actor_merges'"
    ).fetchone()[0])


def default_user(explicit: str | None = None) -> str:
    """The reviewer's name: the explicit setting, else ALLEGIANCE_USER, else the OS user."""
    if explicit and explicit.strip():
        return explicit.strip()[:200]
    env = os.environ.get("ALLEGIANCE_USER", "").strip()
    if env:
        return env[:200]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _audit(con, user: str, action: str, target: str, before: Any, after: Any) -> None:
    con.execute(
        'INSERT INTO audit (id, "at", "user", action, target, "before", "after") VALUES (?, ?, ?, ?, ?, ?, ?)',
        [uuid.uuid4().hex, _now(), user, action, target,
         json.dumps(before, ensure_ascii=False, default=str), json.dumps(after, ensure_ascii=False, default=str)],
    )


def audit_rows(con) -> list[dict]:
    if not has_tables(con):
        return []
    cur = con.execute('SELECT "at", "user", action, target, "before", "after", id FROM audit ORDER BY "at", id')
    names = [c[0] for c in cur.description]
    out = []
    for r in cur.fetchall():
        d = dict(zip(names, r))
        d["at"] = d["at"].isoformat(timespec="seconds") if d["at"] else None
        for k in ("before", "after"):
            d[k] = json.loads(d[k]) if isinstance(d[k], str) else d[k]
        out.append(d)
    return out


# -- actors -------------------------------------------------------------------------------
def _actor(con, actor_id: str) -> dict | None:
    cur = con.execute("SELECT id, name, type, kind, gazetteer_id, created_at, key FROM actors WHERE id = ?", [actor_id])
    row = cur.fetchone()
    return dict(zip([c[0] for c in cur.description], row)) if row else None


def _key_of(a: dict) -> str:
    return a.get("key") or (f"gz:{a['gazetteer_id']}" if a.get("gazetteer_id") else
                            f"{a['type']}:{match_key(a['name'])}")


def current_id(con, key: str) -> str | None:
    """The actor id an identity key stands for now (after every merge)."""
    row = con.execute("SELECT id FROM actors WHERE key = ? ORDER BY id LIMIT 1", [key]).fetchone()
    if row:
        return row[0]
    aid = actor_id_for_key(key)
    seen = set()
    while aid not in seen:
        seen.add(aid)
        if con.execute("SELECT 1 FROM actors WHERE id = ?", [aid]).fetchone():
            return aid
        row = con.execute("SELECT new_id FROM actor_redirects WHERE old_id = ?", [aid]).fetchone()
        if row is None:
            return None
        aid = row[0]
    return None


def find_one(con, name: str) -> dict:
    """The actor a user-typed name means (the lookup ``show`` and the web search use)."""
    from allegiance.store.queries import find_actors

    hits = find_actors(con, name)
    exact = [h for h in hits if h["match"] in ("id", "alias", "gazetteer")]
    if not exact:
        raise CorrectionError(f"no actor matches {name!r}" + (
            f" (closest: {hits[0]['name']} [{hits[0]['id']}])" if hits else ""))
    return _actor(con, exact[0]["id"])


def resolver_redirects(con) -> dict[str, str]:
    """actor_redirects less the analysts' active merges: identity resolution must not
    follow those (see the module docstring)."""
    rows = con.execute("SELECT old_id, new_id FROM actor_redirects").fetchall()
    if not has_tables(con):
        return dict(rows)
    analyst = {r[0] for r in con.execute("SELECT from_id FROM actor_merges WHERE undone_at IS NULL").fetchall()}
    return {o: n for o, n in rows if o not in analyst}


def _fact_cols(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'facts' "
        "AND table_schema = 'main' ORDER BY ordinal_position").fetchall()]


def _rekey_facts(con, rows: list[dict]) -> None:
    """Write fact rows whose ends changed: a new id (as the store derives it), a fact
    whose ends became one actor dropped, an id another fact holds dropped."""
    from allegiance.store.store import fact_id_for

    if not rows:
        return
    cols = list(rows[0])
    for rec in rows:
        con.execute("DELETE FROM facts WHERE id = ?", [rec["_old_id"]])
    for rec in rows:
        if rec["subject_id"] == rec["object_id"]:
            continue
        rec["id"] = fact_id_for(rec["_hash"], rec["subject_id"], rec["relation"], rec["object_id"], rec["start"])
        if con.execute("SELECT 1 FROM facts WHERE id = ?", [rec["id"]]).fetchone():
            continue
        names = [c for c in cols if not c.startswith("_")]
        con.execute(f"INSERT INTO facts ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})", [rec[n] for n in names])


def _facts_of(con, where: str, params: list) -> list[dict]:
    cols = _fact_cols(con)
    sel = ", ".join(f'f."{c}"' for c in cols)
    cur = con.execute(f"SELECT {sel}, d.content_hash, d.ingested_at FROM facts f JOIN documents d ON d.id = f.document_id "
                      f"WHERE {where}", params)
    out = []
    for r in cur.fetchall():
        rec = dict(zip(cols, r[:len(cols)]))
        rec["_hash"], rec["_ingested"], rec["_old_id"] = r[len(cols)], r[len(cols) + 1], rec["id"]
        out.append(rec)
    return out


def _refresh(con, actor_ids: list[str]) -> None:
    """aliases and names of actors whose rows moved (as the store derives them)."""
    ids = sorted(set(a for a in actor_ids if a))
    if not ids:
        return
    con.execute("DELETE FROM aliases WHERE actor_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
    con.execute(
        "INSERT INTO aliases SELECT actor_id, alias, any_value(norm), CAST(sum(count) AS INTEGER) "
        "FROM document_aliases WHERE actor_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor_id, alias", [ids])


def _fold(con, old: str, new: str, merge_id: str | None) -> None:
    """Move every row of actor ``old`` to ``new`` (recording each move under
    ``merge_id``), delete ``old`` and redirect its id."""
    if merge_id:
        for tbl, keycols in (("document_actors", ("local_id",)), ("document_aliases", ("alias",)),
                             ("mentions", ("start", "end"))):
            sel = ", ".join(f't."{c}"' for c in keycols)
            for row in con.execute(
                f"SELECT t.document_id, d.ingested_at, {sel} FROM {tbl} t JOIN documents d ON d.id = t.document_id "
                f"WHERE t.actor_id = ?", [old]).fetchall():
                con.execute("INSERT INTO merge_moves VALUES (?, ?, ?, ?, ?)",
                            [merge_id, tbl, row[0], row[1], json.dumps(list(row[2:]), ensure_ascii=False)])
    for tbl in ("mentions", "document_actors", "document_aliases"):
        con.execute(f"UPDATE {tbl} SET actor_id = ? WHERE actor_id = ?", [new, old])
    facts = _facts_of(con, "f.subject_id = ? OR f.object_id = ?", [old, old])
    for rec in facts:
        if merge_id:  # the whole row: a fact the merge drops (both ends one actor) comes back on undo
            saved = {k: v for k, v in rec.items() if not k.startswith("_")}
            con.execute("INSERT INTO merge_moves VALUES (?, 'facts', ?, ?, ?)",
                        [merge_id, rec["document_id"], rec["_ingested"], json.dumps(saved, ensure_ascii=False, default=str)])
        rec["subject_id"] = new if rec["subject_id"] == old else rec["subject_id"]
        rec["object_id"] = new if rec["object_id"] == old else rec["object_id"]
    _rekey_facts(con, facts)
    con.execute("DELETE FROM aliases WHERE actor_id = ?", [old])
    con.execute("DELETE FROM actors WHERE id = ?", [old])
    con.execute("UPDATE actor_redirects SET new_id = ? WHERE new_id = ?", [new, old])
    con.execute("INSERT OR REPLACE INTO actor_redirects VALUES (?, ?)", [old, new])
    _refresh(con, [new])


def merge(con, a_name: str, b_name: str, user: str) -> dict:
    """Merge actor A into actor B (B's id and name survive)."""
    a, b = find_one(con, a_name), find_one(con, b_name)
    if a["id"] == b["id"]:
        raise CorrectionError(f"{a_name!r} and {b_name!r} are the same actor ({a['id']})")
    mid = uuid.uuid4().hex
    redirected = [r[0] for r in con.execute("SELECT old_id FROM actor_redirects WHERE new_id = ?", [a["id"]]).fetchall()]
    con.execute(
        'INSERT INTO actor_merges (id, from_key, into_key, from_id, into_id, from_actor, redirected, "user", created_at) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [mid, _key_of(a), _key_of(b), a["id"], b["id"], json.dumps(a, default=str, ensure_ascii=False),
         json.dumps(redirected), user, _now()])
    _fold(con, a["id"], b["id"], mid)
    repoint_reviews(con)
    _audit(con, user, "merge", f"{a['id']} -> {b['id']}",
           {"actors": [{"id": a["id"], "name": a["name"]}, {"id": b["id"], "name": b["name"]}]},
           {"actor": {"id": b["id"], "name": b["name"]}, "merge": mid})
    return {"merge": mid, "from": a["id"], "into": b["id"], "name": b["name"]}


def active_merges(con) -> list[dict]:
    if not has_tables(con):
        return []
    cur = con.execute('SELECT id, from_id, into_id, from_key, into_key, "user", created_at FROM actor_merges '
                      "WHERE undone_at IS NULL ORDER BY created_at, id")
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def unmerge(con, what: str, user: str) -> dict:
    """Undo a merge: ``what`` is the merge id, or the merged-away actor's id or name."""
    row = con.execute("SELECT id FROM actor_merges WHERE undone_at IS NULL AND (id = ? OR from_id = ? OR lower(from_id) = lower(?)) "
                      "ORDER BY created_at DESC LIMIT 1", [what, what, what]).fetchone()
    if row is None:
        # a name: the newest active merge whose merged-away actor had this name or alias
        key = match_key(what)
        for m in reversed(active_merges(con)):
            saved = json.loads(con.execute("SELECT from_actor FROM actor_merges WHERE id = ?", [m["id"]]).fetchone()[0])
            if key and (match_key(saved.get("name") or "") == key or m["from_key"].endswith(":" + key)):
                row = (m["id"],)
                break
    if row is None:
        raise CorrectionError(f"no active merge matches {what!r} (see `allegiance audit`)")
    mid = row[0]
    from_id, into_id, from_actor, redirected = con.execute(
        "SELECT from_id, into_id, from_actor, redirected FROM actor_merges WHERE id = ?", [mid]).fetchone()
    saved = json.loads(from_actor)
    into_now = current_id(con, con.execute("SELECT into_key FROM actor_merges WHERE id = ?", [mid]).fetchone()[0]) or into_id
    if con.execute("SELECT 1 FROM actors WHERE id = ?", [from_id]).fetchone() is None:
        con.execute("INSERT INTO actors (id, name, type, kind, gazetteer_id, created_at, key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [from_id, saved["name"], saved["type"], saved.get("kind"), saved.get("gazetteer_id"),
                     saved.get("created_at"), saved.get("key")])
    moves = con.execute(
        "SELECT m.tbl, m.document_id, m.row_key FROM merge_moves m JOIN documents d ON d.id = m.document_id "
        "WHERE m.merge_id = ? AND d.ingested_at IS NOT DISTINCT FROM m.ingested_at", [mid]).fetchall()
    restored_facts = []
    for tbl, did, rk in moves:
        k = json.loads(rk)
        if tbl == "document_actors":
            con.execute("UPDATE document_actors SET actor_id = ? WHERE document_id = ? AND local_id = ? AND actor_id = ?",
                        [from_id, did, k[0], into_now])
        elif tbl == "document_aliases":
            con.execute("UPDATE document_aliases SET actor_id = ? WHERE document_id = ? AND alias = ? AND actor_id = ?",
                        [from_id, did, k[0], into_now])
        elif tbl == "mentions":
            con.execute('UPDATE mentions SET actor_id = ? WHERE document_id = ? AND "start" = ? AND "end" = ? AND actor_id = ?',
                        [from_id, did, k[0], k[1], into_now])
        elif tbl == "facts":
            restored_facts.append(k)
    for rec in restored_facts:
        # the merged fact (same document, span and relation, ends folded) gives way to the original
        subj = into_now if rec["subject_id"] == from_id else rec["subject_id"]
        obj = into_now if rec["object_id"] == from_id else rec["object_id"]
        con.execute('DELETE FROM facts WHERE document_id = ? AND "start" IS NOT DISTINCT FROM ? AND "end" IS NOT DISTINCT FROM ? '
                    "AND relation = ? AND subject_id = ? AND object_id = ?",
                    [rec["document_id"], rec["start"], rec["end"], rec["relation"], subj, obj])
        if con.execute("SELECT 1 FROM facts WHERE id = ?", [rec["id"]]).fetchone() is None:
            names = list(rec)
            con.execute(f"INSERT INTO facts ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                        f"VALUES ({', '.join('?' for _ in names)})", [rec[n] for n in names])
    con.execute("DELETE FROM actor_redirects WHERE old_id = ?", [from_id])
    for old in json.loads(redirected or "[]"):
        con.execute("UPDATE actor_redirects SET new_id = ? WHERE old_id = ? AND new_id = ?", [from_id, old, into_now])
    con.execute("UPDATE actor_merges SET undone_at = ?, undone_by = ? WHERE id = ?", [_now(), user, mid])
    _refresh(con, [from_id, into_now])
    repoint_reviews(con)
    _audit(con, user, "unmerge", f"{from_id} -> {into_now}", {"actor": {"id": into_now}, "merge": mid},
           {"actors": [{"id": from_id, "name": saved["name"]}, {"id": into_now}]})
    return {"merge": mid, "restored": from_id, "name": saved["name"], "from": into_now}


# -- alias splits -------------------------------------------------------------------------
def _apply_split(con, split_id: str) -> bool:
    """Move the alias's rows off the actor (idempotent). True when something moved."""
    actor_key, norm, alias, new_key, new_id = con.execute(
        "SELECT actor_key, norm, alias, new_key, new_id FROM alias_splits WHERE id = ?", [split_id]).fetchone()
    owner = current_id(con, actor_key)
    if owner is None or owner == new_id:
        return False
    texts = [t for (t,) in con.execute("SELECT DISTINCT text FROM mentions WHERE actor_id = ?", [owner]).fetchall()
             if t and match_key(t) == norm]
    names = [n for (n,) in con.execute("SELECT DISTINCT name FROM document_actors WHERE actor_id = ?", [owner]).fetchall()
             if n and match_key(n) == norm]
    has_alias = con.execute("SELECT 1 FROM document_aliases WHERE actor_id = ? AND norm = ? LIMIT 1", [owner, norm]).fetchone()
    if not (texts or names or has_alias):
        return False
    a = _actor(con, owner)
    if con.execute("SELECT 1 FROM actors WHERE id = ?", [new_id]).fetchone() is None:
        con.execute("INSERT INTO actors (id, name, type, kind, gazetteer_id, created_at, key) VALUES (?, ?, ?, ?, NULL, ?, ?)",
                    [new_id, alias, a["type"], None, _now(), new_key])
    con.execute("UPDATE document_aliases SET actor_id = ? WHERE actor_id = ? AND norm = ?", [new_id, owner, norm])
    if texts:
        con.execute("UPDATE mentions SET actor_id = ? WHERE actor_id = ? AND text IN (SELECT unnest(?::VARCHAR[]))",
                    [new_id, owner, texts])
    if names:
        # an entity a document named by the alias goes with it, and so do its facts where
        # the document has no other entity on the actor
        docs = [d for (d,) in con.execute(
            "SELECT DISTINCT document_id FROM document_actors WHERE actor_id = ? AND name IN (SELECT unnest(?::VARCHAR[]))",
            [owner, names]).fetchall()]
        con.execute("UPDATE document_actors SET actor_id = ? WHERE actor_id = ? AND name IN (SELECT unnest(?::VARCHAR[]))",
                    [new_id, owner, names])
        alone = [d for d in docs if con.execute(
            "SELECT 1 FROM document_actors WHERE document_id = ? AND actor_id = ? LIMIT 1", [d, owner]).fetchone() is None]
        if alone:
            facts = _facts_of(con, "f.document_id IN (SELECT unnest(?::VARCHAR[])) AND (f.subject_id = ? OR f.object_id = ?)",
                              [alone, owner, owner])
            for rec in facts:
                rec["subject_id"] = new_id if rec["subject_id"] == owner else rec["subject_id"]
                rec["object_id"] = new_id if rec["object_id"] == owner else rec["object_id"]
            _rekey_facts(con, facts)
    _refresh(con, [owner, new_id])
    return True


def split_alias(con, actor_name: str, alias: str, user: str) -> dict:
    a = find_one(con, actor_name)
    norm = match_key(alias)
    if not norm:
        raise CorrectionError(f"{alias!r} is not a name")
    known = [r[0] for r in con.execute("SELECT alias FROM aliases WHERE actor_id = ? AND norm = ?", [a["id"], norm]).fetchall()]
    if not known:
        raise CorrectionError(f"{a['name']} ({a['id']}) has no alias {alias!r}")
    if match_key(a["name"]) == norm:
        raise CorrectionError(f"{alias!r} is {a['name']}'s own name: merge or rename instead")
    new_key = f"{a['type']}:{norm}"
    new_id = actor_id_for_key(new_key)
    if new_id == a["id"] or con.execute("SELECT 1 FROM actors WHERE id = ?", [new_id]).fetchone():
        new_id = f"{new_id}-split"
    sid = uuid.uuid4().hex
    con.execute('INSERT INTO alias_splits (id, actor_key, norm, alias, new_key, new_id, "user", created_at) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [sid, _key_of(a), norm, known[0], new_key, new_id, user, _now()])
    _apply_split(con, sid)
    repoint_reviews(con)
    _audit(con, user, "split-alias", f"{a['id']} / {known[0]}",
           {"actor": {"id": a["id"], "name": a["name"]}, "alias": known[0]},
           {"actors": [{"id": a["id"], "name": a["name"]}, {"id": new_id, "name": known[0]}], "split": sid})
    return {"split": sid, "actor": a["id"], "alias": known[0], "new_id": new_id}


def unsplit(con, split_id: str, user: str) -> dict:
    """Undo an alias split: ``split_id`` is the split id, the alias, or the split-off actor's id."""
    row = con.execute("SELECT id FROM alias_splits WHERE undone_at IS NULL AND (id = ? OR new_id = ? OR norm = ?) "
                      "ORDER BY created_at DESC LIMIT 1", [split_id, split_id, match_key(split_id)]).fetchone()
    if row is None:
        raise CorrectionError(f"no active alias split matches {split_id!r} (see `allegiance audit`)")
    split_id = row[0]
    row = con.execute("SELECT actor_key, new_id, alias FROM alias_splits WHERE id = ?", [split_id]).fetchone()
    owner = current_id(con, row[0])
    con.execute("UPDATE alias_splits SET undone_at = ?, undone_by = ? WHERE id = ?", [_now(), user, split_id])
    if owner and con.execute("SELECT 1 FROM actors WHERE id = ?", [row[1]]).fetchone():
        _fold(con, row[1], owner, None)
    repoint_reviews(con)
    _audit(con, user, "unsplit", f"{owner} / {row[2]}", {"split": split_id}, {"actor": owner})
    return {"split": split_id, "actor": owner}


# -- fact reviews -------------------------------------------------------------------------
def review(con, fact_id: str, action: str, user: str, *, relation: str | None = None, subject: str | None = None,
           object: str | None = None, note: str | None = None) -> dict:
    """Confirm, reject or correct one fact; a correction is applied to the fact at once
    (and again after every re-ingest of its document)."""
    from allegiance.records import RELATIONS

    cur = con.execute('SELECT f.id, f.subject_id, f.relation, f.object_id, f."start", f."end", d.content_hash '
                      "FROM facts f JOIN documents d ON d.id = f.document_id WHERE f.id = ?", [fact_id])
    row = cur.fetchone()
    if row is None:
        raise CorrectionError(f"no fact {fact_id}")
    _, subj, rel, obj, start, end, chash = row
    if action not in ("confirm", "reject", "correct"):
        raise CorrectionError("action must be confirm, reject or correct")
    if relation and relation not in RELATIONS:
        raise CorrectionError(f"unknown relation: use one of {', '.join(RELATIONS)}")
    if action == "correct" and not (relation or subject or object):
        raise CorrectionError("a correction needs a relation, subject or object")
    # the original fact, as ingest makes it: the stable key survives the correction itself
    prior = con.execute(
        "SELECT orig_relation, orig_subject_key, orig_object_key FROM reviews WHERE fact_id = ? AND orig_relation IS NOT NULL "
        "ORDER BY created_at LIMIT 1", [fact_id]).fetchone()
    s_actor, o_actor = _actor(con, subj), _actor(con, obj)
    orig = prior or (rel, _key_of(s_actor), _key_of(o_actor))
    subject_key = object_key = None
    s_new = o_new = None
    if subject:
        s_new = find_one(con, subject)
        subject_key = _key_of(s_new)
    if object:
        o_new = find_one(con, object)
        object_key = _key_of(o_new)
    rid = uuid.uuid4().hex
    rec = {"id": rid, "fact_id": fact_id, "action": action, "relation": relation,
           "subject": s_new["id"] if s_new else None, "object": o_new["id"] if o_new else None,
           "note": note, "user": user, "created_at": _now(), "content_hash": chash,
           "span_start": None if start is None else str(start), "span_end": None if end is None else str(end),
           "orig_relation": orig[0], "orig_subject_key": orig[1], "orig_object_key": orig[2],
           "subject_key": subject_key, "object_key": object_key}
    cols = ", ".join(f'"{c}"' for c in rec)
    con.execute(f"INSERT INTO reviews ({cols}) VALUES ({', '.join('?' for _ in rec)})", list(rec.values()))
    before = {"subject": subj, "relation": rel, "object": obj}
    if action == "correct":
        _apply_correction(con, fact_id, rec)
    after = dict(before)
    if action == "correct":
        after.update({k: v for k, v in (("subject", rec["subject"]), ("relation", relation), ("object", rec["object"])) if v})
    after["state"] = {"confirm": "confirmed", "reject": "rejected", "correct": "corrected"}[action]
    _audit(con, user, f"review:{action}", fact_id, before, after)
    rec["created_at"] = rec["created_at"].isoformat(timespec="seconds")
    return rec


def _apply_correction(con, fact_id: str, rec: dict) -> None:
    """Every correction of the fact so far, in order, on its row (the id is kept, so
    reviews and links keep pointing at it)."""
    sets, params = [], []
    if rec.get("relation"):
        sets.append("relation = ?")
        params.append(rec["relation"])
    for col, key in (("subject_id", rec.get("subject_key")), ("object_id", rec.get("object_key"))):
        if key:
            aid = current_id(con, key)
            if aid:
                sets.append(f"{col} = ?")
                params.append(aid)
    if sets:
        con.execute(f"UPDATE facts SET {', '.join(sets)} WHERE id = ? AND true", [*params, fact_id])


def repoint_reviews(con, hashes: list[str] | None = None) -> int:
    """Point every review at its fact's current id (after a re-ingest, a new extractor
    version or a merge gave the fact a new one) and apply the corrections again to the
    rows ingest rewrote. ``hashes``: documents just (re)written; reviews whose fact id
    no longer exists are always re-pointed."""
    if not has_tables(con):
        return 0
    where = "r.orig_relation IS NOT NULL AND (r.fact_id NOT IN (SELECT id FROM facts)"
    params: list[Any] = []
    if hashes:
        where += " OR r.content_hash IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(hashes))
    where += ")"
    cur = con.execute(
        'SELECT r.id, r.fact_id, r.action, r.relation, r.content_hash, r.span_start, r.span_end, r.orig_relation, '
        "r.orig_subject_key, r.orig_object_key, r.subject_key, r.object_key FROM reviews r "
        f"WHERE {where} ORDER BY r.created_at, r.id", params)
    names = [c[0] for c in cur.description]
    reviews = [dict(zip(names, r)) for r in cur.fetchall()]
    changed = 0
    for r in reviews:
        cands = con.execute(
            'SELECT f.id, f.relation, f.subject_id, f.object_id FROM facts f JOIN documents d ON d.id = f.document_id '
            'WHERE d.content_hash = ? AND CAST(f."start" AS VARCHAR) IS NOT DISTINCT FROM ? '
            'AND CAST(f."end" AS VARCHAR) IS NOT DISTINCT FROM ?',
            [r["content_hash"], r["span_start"], r["span_end"]]).fetchall()
        if not cands:
            continue  # the fact is gone (a new extractor no longer finds it): the review waits
        want = {
            "rel": {r["orig_relation"], r["relation"]} - {None},
            "subj": {current_id(con, k) for k in (r["orig_subject_key"], r["subject_key"]) if k} - {None},
            "obj": {current_id(con, k) for k in (r["orig_object_key"], r["object_key"]) if k} - {None},
        }
        best = max(cands, key=lambda c: ((c[1] in want["rel"]) * 4 + (c[2] in want["subj"]) * 2 + (c[3] in want["obj"]), c[0]))
        if not (best[1] in want["rel"]):
            continue
        if best[0] != r["fact_id"]:
            con.execute("UPDATE reviews SET fact_id = ? WHERE id = ?", [best[0], r["id"]])
            changed += 1
        if r["action"] == "correct":
            _apply_correction(con, best[0], r)
    return changed


def replay(con, hashes: list[str]) -> bool:
    """Apply every active correction again after an ingest batch wrote these documents.
    True when rows changed (the store's identity cache must start over)."""
    if not has_tables(con):
        return False
    changed = False
    for m in active_merges(con):
        from_now = con.execute("SELECT 1 FROM actors WHERE id = ?", [m["from_id"]]).fetchone()
        into_now = current_id(con, m["into_key"]) or m["into_id"]
        if from_now and into_now != m["from_id"]:
            _fold(con, m["from_id"], into_now, m["id"])
            changed = True
    for (sid,) in con.execute("SELECT id FROM alias_splits WHERE undone_at IS NULL ORDER BY created_at, id").fetchall():
        changed = _apply_split(con, sid) or changed
    changed = bool(repoint_reviews(con, hashes)) or changed
    return changed


def merges_and_splits(con) -> list[dict]:
    """Active merges and alias splits (for listings)."""
    if not has_tables(con):
        return []
    out = [{"kind": "merge", **m} for m in active_merges(con)]
    cur = con.execute('SELECT id, actor_key, alias, new_id, "user", created_at FROM alias_splits WHERE undone_at IS NULL ORDER BY created_at')
    names = [c[0] for c in cur.description]
    out += [{"kind": "split", **dict(zip(names, r))} for r in cur.fetchall()]
    return out
