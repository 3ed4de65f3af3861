"""Read queries over the store. Each takes a DuckDB connection; all are parameterised."""
from __future__ import annotations

import json
import re
from typing import Any

from allegiance.resolve.names import match_key

FUZZY_THRESHOLD = 90
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _rows(con, sql: str, params: list[Any] | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def counts(con) -> dict[str, int]:
    out = {}
    for table in ("documents", "actors", "aliases", "mentions", "facts"):
        out[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return out


def documents(con) -> list[dict]:
    return _rows(
        con,
        "SELECT id, doc_id, title, published, source, language, extractor_version, ingested_at, "
        "(SELECT count(*) FROM facts f WHERE f.document_id = d.id) AS facts "
        "FROM documents d ORDER BY doc_id",
    )


_ACTOR_STATS = """
    SELECT a.id, a.name, a.type, a.kind, a.gazetteer_id,
           CAST(coalesce(s.mentions, 0) AS INTEGER) AS mentions,
           CAST(coalesce(s.documents, 0) AS INTEGER) AS documents
    FROM actors a
    LEFT JOIN (
        SELECT actor_id, sum(mention_count) AS mentions, count(DISTINCT document_id) AS documents
        FROM document_actors GROUP BY actor_id
    ) s ON s.actor_id = a.id
"""


def actors(con, limit: int | None = None, type: str | None = None) -> list[dict]:
    sql = _ACTOR_STATS
    params: list[Any] = []
    if type:
        sql += " WHERE a.type = ?"
        params.append(type.upper())
    sql += " ORDER BY mentions DESC, documents DESC, a.name, a.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return _rows(con, sql, params)


def get_actor(con, actor_id: str) -> dict | None:
    rows = _rows(con, _ACTOR_STATS + " WHERE a.id = ?", [actor_id])
    return rows[0] if rows else None


def find_actors(con, name: str, type: str | None = None) -> list[dict]:
    """Actors a user-typed name may mean, best first.

    1. the actor id itself (case-insensitive; ids of merged actors redirect);
    2. actors with an alias whose match key equals the name's (canonical-name match first,
       then most-seen);
    3. only when nothing matched exactly: aliases within rapidfuzz ratio >= 90;
    4. only when still nothing: aliases containing the name's words (``Baghdadi`` finds
       ``Abu Bakr al-Baghdadi``), most-seen first.
    3a. when neither matched: the actors of the gazetteer entries the name belongs to
       (Daesh, ISIL, a nom de guerre, Arabic script), match 'gazetteer';
    Each result carries ``match`` ('id' | 'alias' | 'gazetteer' | 'fuzzy' | 'partial'), ``score`` and
    ``matched`` (the alias that matched)."""
    name = (name or "").strip()
    if not name:
        return []
    found: dict[str, dict] = {}

    def add(actor_id: str, match: str, score: float, matched: str | None) -> None:
        if actor_id in found:
            return
        a = get_actor(con, actor_id)
        if a is None or (type and a["type"] != type.upper()):
            return
        a.update(match=match, score=round(float(score), 1), matched=matched)
        found[actor_id] = a

    row = con.execute("SELECT id FROM actors WHERE lower(id) = lower(?)", [name]).fetchone()
    if row is None:
        row = con.execute(
            "SELECT new_id FROM actor_redirects WHERE lower(old_id) = lower(?)", [name]
        ).fetchone()
    if row is not None:
        add(row[0], "id", 100, name)

    key = match_key(name)
    if key:
        rows = con.execute(
            "SELECT al.actor_id, sum(al.count) AS n, any_value(a.name) AS name "
            "FROM aliases al JOIN actors a ON a.id = al.actor_id WHERE al.norm = ? "
            "GROUP BY al.actor_id",
            [key],
        ).fetchall()
        ranked = sorted(rows, key=lambda r: (match_key(r[2]) != key, -int(r[1] or 0), r[0]))
        for r in ranked:
            add(r[0], "alias", 100, name)

    if not any(f["match"] in ("id", "alias") for f in found.values()):
        # A name the corpus never used but the gazetteer knows (Daesh, ISIL, a nom de
        # guerre, Arabic script): the actors stored under that gazetteer id. Before the
        # fuzzy and partial steps, so the CLI and the web search (both call this one
        # function) find the same actor for the same name.
        gz = _gazetteer_hits(con, name)
        if gz:
            for actor_id in gz:
                add(actor_id, "gazetteer", 100, name)
    if not found and key:
        from rapidfuzz import fuzz, process

        norms = [r[0] for r in con.execute("SELECT DISTINCT norm FROM aliases").fetchall()]
        hits = process.extract(key, norms, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=20)
        by_norm = {norm: score for norm, score, _ in hits}
        if by_norm:
            placeholders = ", ".join("?" for _ in by_norm)
            rows = con.execute(
                f"SELECT actor_id, norm, alias, count FROM aliases WHERE norm IN ({placeholders})",
                list(by_norm),
            ).fetchall()
            ranked = sorted(rows, key=lambda r: (-by_norm[r[1]], -int(r[3] or 0), r[0]))
            for actor_id, norm, alias, _ in ranked:
                add(actor_id, "fuzzy", by_norm[norm], alias)
    if not found and key:
        rows = con.execute(
            "SELECT al.actor_id, any_value(al.alias), sum(al.count) AS n FROM aliases al "
            "WHERE contains(' ' || al.norm || ' ', ?) GROUP BY al.actor_id "
            "ORDER BY n DESC, al.actor_id LIMIT 20",
            [f" {key} "],
        ).fetchall()
        for actor_id, alias, _ in rows:
            add(actor_id, "partial", 80, alias)
    return list(found.values())


def _gazetteer_hits(con, name: str) -> list[str]:
    """Stored actor ids (after merges) of every gazetteer entry the name is a name,
    alias or nom de guerre of, preferred entry first."""
    from allegiance.resolve.gazetteer import load_gazetteer

    out: list[str] = []
    for entry in load_gazetteer().lookup_all(name):
        rows = con.execute(
            "SELECT id FROM actors WHERE gazetteer_id = ? "
            "UNION SELECT new_id FROM actor_redirects WHERE old_id = ? ORDER BY 1",
            [entry.id, entry.id],
        ).fetchall()
        for (aid,) in rows:
            if aid not in out:
                out.append(aid)
    return out


def resolve_actor_ids(con, name: str) -> list[str]:
    """Ids a name filter stands for: every exact (id / alias) match, else the best fuzzy one."""
    matches = find_actors(con, name)
    exact = [m["id"] for m in matches if m["match"] in ("id", "alias", "gazetteer")]
    if exact:
        return exact
    return [matches[0]["id"]] if matches else []


def aliases(con, actor_id: str) -> list[dict]:
    return _rows(
        con,
        "SELECT alias, norm, count FROM aliases WHERE actor_id = ? ORDER BY count DESC, alias",
        [actor_id],
    )


_FACT_SELECT = """
    SELECT f.id, f.relation,
           f.subject_id, s.name AS subject, s.type AS subject_type,
           f.object_id, o.name AS object, o.type AS object_type,
           f.date, f.date_source, f.evidence, f."start", f."end",
           f.confidence, f.hedged, f.attributed_to, f.attributes, f.rule, f.extractor_version,
           d.doc_id, d.title, d.source, d.published, f.document_id
    FROM facts f
    JOIN actors s ON s.id = f.subject_id
    JOIN actors o ON o.id = f.object_id
    JOIN documents d ON d.id = f.document_id
"""
_FACT_ORDER = " ORDER BY f.date NULLS LAST, d.doc_id, f.\"start\", f.relation, f.id"
_FACT_COLUMNS = (
    'f.id, f.relation, f.subject_id, f.object_id, f.date, f.date_source, f.evidence, f."start", f."end", '
    "f.confidence, f.hedged, f.attributed_to, f.attributes, f.rule, f.extractor_version, f.document_id"
)

def _named_facts(con, facts: list[dict]) -> list[dict]:
    """Rows of ``_FACT_COLUMNS`` as rows of ``_FACT_SELECT`` (names, types and the
    document looked up by id), in ``_FACT_ORDER``; rows whose actor or document is
    missing are dropped, as the joins of ``_FACT_SELECT`` drop them."""
    if not facts:
        return []
    actor_ids = sorted({f["subject_id"] for f in facts} | {f["object_id"] for f in facts})
    doc_ids = sorted({f["document_id"] for f in facts})
    actors = {r["id"]: r for r in _rows(
        con, "SELECT id, name, type FROM actors WHERE id IN (SELECT unnest(?::VARCHAR[]))", [actor_ids])}
    docs = {r["id"]: r for r in _rows(
        con, "SELECT id, doc_id, title, source, published FROM documents WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [doc_ids])}
    out = []
    for f in facts:
        s, o, d = actors.get(f["subject_id"]), actors.get(f["object_id"]), docs.get(f["document_id"])
        if s is None or o is None or d is None:
            continue
        out.append({
            "id": f["id"], "relation": f["relation"],
            "subject_id": f["subject_id"], "subject": s["name"], "subject_type": s["type"],
            "object_id": f["object_id"], "object": o["name"], "object_type": o["type"],
            "date": f["date"], "date_source": f["date_source"], "evidence": f["evidence"],
            "start": f["start"], "end": f["end"], "confidence": f["confidence"], "hedged": f["hedged"],
            "attributed_to": f["attributed_to"], "attributes": f["attributes"], "rule": f["rule"],
            "extractor_version": f["extractor_version"],
            "doc_id": d["doc_id"], "title": d["title"], "source": d["source"], "published": d["published"],
            "document_id": f["document_id"],
        })
    # _FACT_ORDER (VARCHAR compares bytewise, as str does; NULLs last)
    out.sort(key=lambda f: (f["date"] is None, f["date"] or "", f["doc_id"], f["start"] is None,
                            f["start"] or 0, f["relation"], f["id"]))
    return out


_TIES_MAX = 1000


def _first_facts(con, frm: str, cond: str, params: list[Any], limit: int) -> list[dict] | None:
    """The first ``limit`` rows of ``_FACT_SELECT`` in ``_FACT_ORDER``, or None when
    the shortcut does not apply.

    Rows are ordered by date first, so they are the facts dated up to the
    ``limit``-th date, sorted and cut. Those few rows are read whole; every match is
    read only for its date (reading all columns of thousands of matches, which lie
    all over the table, costs most of a filtered query: bench/store_bench.py)."""
    row = con.execute(
        f"SELECT f.date{frm}{cond} ORDER BY f.date NULLS LAST LIMIT 1 OFFSET ?", [*params, limit - 1]
    ).fetchone()
    if row is None or row[0] is None:  # fewer matches than the limit, or undated ones among the first
        return None
    most = limit + _TIES_MAX
    facts = _rows(con, f"SELECT {_FACT_COLUMNS}{frm}{cond} AND f.date <= ? LIMIT ?", [*params, row[0], most + 1])
    if len(facts) > most:  # many facts share the cut-off date: sorting them all in SQL is cheaper
        return None
    named = _named_facts(con, facts)
    return named[:limit] if len(named) == len(facts) else None


def _fact_row(r: dict) -> dict:
    attrs = r.get("attributes")
    if attrs == "{}":   # most facts: skip the parser (an actor with 100k facts spent a second here)
        r["attributes"] = {}
    elif isinstance(attrs, str):
        try:
            r["attributes"] = json.loads(attrs)
        except ValueError:
            r["attributes"] = {}
    elif attrs is None:
        r["attributes"] = {}
    return r


def check_date(value: str) -> str:
    value = value.strip()
    if not _DATE.match(value):
        raise ValueError(f"bad date {value!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    return value


REJECTED_FACT_IDS = (
    "SELECT fact_id FROM (SELECT fact_id, action, row_number() OVER "
    "(PARTITION BY fact_id ORDER BY created_at DESC, id DESC) AS rn FROM reviews) WHERE rn = 1 AND action = 'reject'"
)


def _has_reviews(con) -> bool:
    # stores created before reviews existed, opened read-only, have no such table
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reviews'"
    ).fetchone()[0])


def not_rejected(con) -> str | None:
    return f"f.id NOT IN ({REJECTED_FACT_IDS})" if _has_reviews(con) else None


# Partial ISO dates compare on their common prefix ("2014" is within "2014-06" and
# vice versa). Written as plain comparisons so DuckDB can scan them fast: "~" sorts
# after every digit and "-", so date <= "2014~" keeps all of 2014.
def date_until(bound: str) -> tuple[str, list[Any]]:
    return "f.date <= ?", [bound + "~"]


def date_since(bound: str) -> tuple[str, list[Any]]:
    # The OR alone gives DuckDB no lower bound to skip row groups by (min/max per group);
    # "date >= year" adds one and drops nothing a stored YYYY[-MM[-DD]] date could match.
    return "(f.date >= ? AND (f.date >= ? OR starts_with(?, f.date)))", [bound[:4], bound, bound]


def facts(
    con,
    actor: str | None = None,
    relation: str | None = None,
    since: str | None = None,
    until: str | None = None,
    source: str | None = None,
    include_hedged: bool = True,
    limit: int | None = None,
    include_rejected: bool = False,
) -> list[dict]:
    """Facts filtered by actor (either end, any alias), relation, date range, source.

    Dates are partial ISO strings; ``since``/``until`` compare on the common prefix, so
    ``until=2014`` keeps 2014-12-31 and ``since=2014-06`` keeps a fact dated just 2014.
    Facts without a date are dropped when a date bound is given."""
    where: list[str] = []
    params: list[Any] = []
    if actor:
        ids = resolve_actor_ids(con, actor)
        if not ids:
            return []
        ph = ", ".join("?" for _ in ids)
        where.append(f"(f.subject_id IN ({ph}) OR f.object_id IN ({ph}))")
        params += ids + ids
    if relation:
        where.append("f.relation = ?")
        params.append(relation.strip())
    if since:
        clause, args = date_since(check_date(since))
        where.append(clause)
        params += args
    if until:
        clause, args = date_until(check_date(until))
        where.append(clause)
        params += args
    if source:
        where.append(
            "(contains(lower(d.doc_id), lower(?)) OR contains(lower(coalesce(d.source, '')), lower(?)) "
            "OR contains(lower(coalesce(d.title, '')), lower(?)))"
        )
        params += [source, source, source]
    if not include_hedged:
        where.append("NOT coalesce(f.hedged, false)")
    if not include_rejected and (clause := not_rejected(con)):
        where.append(clause)
    frm = " FROM facts f" + (" JOIN documents d ON d.id = f.document_id" if source else "")
    cond = " WHERE " + " AND ".join(where) if where else " WHERE true"
    if limit is not None and int(limit) > 0 and (rows := _first_facts(con, frm, cond, params, int(limit))) is not None:
        return [_fact_row(r) for r in rows]
    sql = _FACT_SELECT + cond + _FACT_ORDER
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [_fact_row(r) for r in _rows(con, sql, params)]


def facts_of_actor(con, actor_id: str) -> list[dict]:
    """Rows shaped as those of ``facts`` for the facts at either end of one actor, in _FACT_ORDER.

    Two single-column lookups: an ``OR`` across subject and object costs seconds on a
    store of millions of facts (bench/store_bench.py)."""
    rejected = not_rejected(con)
    cond = f" AND {rejected}" if rejected else ""
    facts = _rows(
        con,
        f"SELECT {_FACT_COLUMNS} FROM facts f WHERE f.subject_id = ?{cond} "
        f"UNION ALL SELECT {_FACT_COLUMNS} FROM facts f WHERE f.object_id = ? AND f.subject_id <> ?{cond}",
        [actor_id, actor_id, actor_id],
    )
    return _named_facts(con, facts)


def actor_card(con, actor_id: str) -> dict | None:
    """Everything about one actor: the actor, its aliases, and its relations in both
    directions grouped by relation type (each with the other end, date, evidence and
    the source document)."""
    actor = get_actor(con, actor_id)
    if actor is None:
        row = con.execute("SELECT new_id FROM actor_redirects WHERE old_id = ?", [actor_id]).fetchone()
        if row is None:
            return None
        actor = get_actor(con, row[0])
        if actor is None:
            return None
    aid = actor["id"]
    rows = [_fact_row(r) for r in facts_of_actor(con, aid)]
    relations: dict[str, list[dict]] = {}
    for r in rows:
        outgoing = r["subject_id"] == aid
        relations.setdefault(r["relation"], []).append(
            {
                "fact_id": r["id"],
                "direction": "out" if outgoing else "in",
                "other_id": r["object_id"] if outgoing else r["subject_id"],
                "other_name": r["object"] if outgoing else r["subject"],
                "other_type": r["object_type"] if outgoing else r["subject_type"],
                "date": r["date"],
                "date_source": r["date_source"],
                "evidence": r["evidence"],
                "doc_id": r["doc_id"],
                "title": r["title"],
                "attributed_to": r["attributed_to"],
                "hedged": bool(r["hedged"]),
                "confidence": r["confidence"],
                "attributes": r["attributes"],
            }
        )
    return {"actor": actor, "aliases": aliases(con, aid), "relations": relations}
