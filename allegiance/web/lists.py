"""Lists, search, exports from the browser, the paged actor page and friendly 404 pages
(issue 10 items 3, 4 and 6).

Kept apart from ``app.py`` (which several people edit) and wired in by one call,
``register(app, ws, page)``. Every query is parameterised; user text goes into ``ILIKE``
patterns with its wildcards escaped, and sort keys are picked from fixed tables, never
pasted in."""
from __future__ import annotations

import re
import tempfile
from typing import Any, Optional
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from allegiance.records import RELATIONS
from allegiance.store import queries

PAGE_SIZE = 100          # rows of a list page
TIES_PER_RELATION = 10   # ties per relation on the actor page before "all N ties"
TIMELINE_PAGE = 100      # facts per page of the actor timeline
REVIEW_PAGE = 50         # facts per page of the review queue
LEADER_SOURCES = 3       # documents named per leader (and per tie)

# sort keys of the documents list: a fixed table, so the ORDER BY is never built from input
DOC_SORTS = {
    "date": "d.published {dir} NULLS LAST, d.doc_id",
    "source": "coalesce(d.source, d.doc_id) {dir}, d.published NULLS LAST, d.doc_id",
    "title": "coalesce(d.title, d.doc_id) {dir}, d.doc_id",
    "facts": "facts {dir}, d.doc_id",
}


def like_pattern(text: str) -> str:
    """``%text%`` for ILIKE ... ESCAPE '\\': the user's % and _ match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _latest_reviews_sql(con) -> str | None:
    if not queries._has_reviews(con):
        return None
    return ("SELECT fact_id, action, relation FROM (SELECT fact_id, action, relation, row_number() OVER "
            "(PARTITION BY fact_id ORDER BY created_at DESC, id DESC) AS rn FROM reviews) WHERE rn = 1")


def _reviews_of(con, fact_ids: list[str]) -> dict[str, str]:
    sql = _latest_reviews_sql(con)
    if not sql or not fact_ids:
        return {}
    return {r[0]: r[1] for r in con.execute(
        f"SELECT fact_id, action FROM ({sql}) WHERE fact_id IN (SELECT unnest(?::VARCHAR[]))", [fact_ids]
    ).fetchall()}


def pager(total: int, page: int, size: int) -> dict:
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    return {"page": page, "pages": pages, "total": total, "offset": (page - 1) * size, "size": size}


def marked(text: str | None, q: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) for highlighting ``q`` (case-insensitive); the
    template escapes every piece."""
    text = text or ""
    if not q:
        return [(text, False)]
    out, pos = [], 0
    for m in re.finditer(re.escape(q), text, flags=re.IGNORECASE):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    out.append((text[pos:], False))
    return [p for p in out if p[0]]


def _check_dates(**dates: str | None) -> None:
    for name, value in dates.items():
        if value:
            try:
                queries.check_date(value)
            except ValueError:  # no echo of the value (guard.py's rule)
                raise HTTPException(422, f"{name}: bad date: use YYYY, YYYY-MM or YYYY-MM-DD") from None


# -- documents ------------------------------------------------------------------------
def documents(con, q: str = "", sort: str = "date", order: str = "desc", page: int = 1) -> dict:
    where, params = "", []
    if q:
        where = (" WHERE d.title ILIKE ? ESCAPE '\\' OR d.doc_id ILIKE ? ESCAPE '\\' "
                 "OR d.source ILIKE ? ESCAPE '\\' OR d.text ILIKE ? ESCAPE '\\'")
        params = [like_pattern(q)] * 4
    total = con.execute(f"SELECT count(*) FROM documents d{where}", params).fetchone()[0]
    pg = pager(total, page, PAGE_SIZE)
    order_sql = DOC_SORTS.get(sort, DOC_SORTS["date"]).format(dir="ASC" if order == "asc" else "DESC")
    rows = queries._rows(
        con,
        "SELECT d.id, d.doc_id, d.title, d.published, d.source, "
        "(SELECT count(*) FROM facts f WHERE f.document_id = d.id) AS facts "
        f"FROM documents d{where} ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*params, pg["size"], pg["offset"]],
    )
    return {"rows": rows, "pager": pg}


# -- actors ---------------------------------------------------------------------------
def actors(con, q: str = "", type: str = "", kind: str = "", country: str = "", page: int = 1) -> dict:
    from allegiance.resolve.gazetteer import load_gazetteer

    gz = load_gazetteer()
    where, params = [], []
    if q:
        where.append("(a.name ILIKE ? ESCAPE '\\' OR a.id IN (SELECT actor_id FROM aliases WHERE alias ILIKE ? ESCAPE '\\'))")
        params += [like_pattern(q)] * 2
    if type:
        where.append("a.type = ?")
        params.append(type.upper())
    if kind:
        where.append("a.kind = ?")
        params.append(kind)
    if country:
        # the country is the gazetteer's (actors it does not know have none)
        ids = sorted(e.id for e in gz.by_id.values() if e.country == country.upper())
        where.append("a.gazetteer_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(ids)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = con.execute(f"SELECT count(*) FROM actors a{cond}", params).fetchone()[0]
    pg = pager(total, page, PAGE_SIZE)
    rows = queries._rows(
        con, queries._ACTOR_STATS + cond + " ORDER BY mentions DESC, documents DESC, a.name, a.id LIMIT ? OFFSET ?",
        [*params, pg["size"], pg["offset"]],
    )
    for r in rows:
        e = gz.by_id.get(r["gazetteer_id"] or "")
        r["country"] = e.country if e else None
    types = [r[0] for r in con.execute("SELECT DISTINCT type FROM actors ORDER BY type").fetchall()]
    kinds = [r[0] for r in con.execute("SELECT DISTINCT kind FROM actors WHERE kind IS NOT NULL ORDER BY kind").fetchall()]
    gids = [r[0] for r in con.execute("SELECT DISTINCT gazetteer_id FROM actors WHERE gazetteer_id IS NOT NULL").fetchall()]
    countries = sorted({gz.by_id[g].country for g in gids if g in gz.by_id and gz.by_id[g].country})
    return {"rows": rows, "pager": pg, "types": types, "kinds": kinds, "countries": countries}


# -- facts: evidence search and the review queue --------------------------------------------
_FACT_LIST = """
    SELECT f.id, f.relation, f.subject_id, s.name AS subject, f.object_id, o.name AS object,
           f.evidence, f.date, f.date_source, f.confidence, f.hedged, f.attributed_to,
           d.doc_id, d.title, d.published, f.document_id{extra}
    FROM facts f
    JOIN actors s ON s.id = f.subject_id
    JOIN actors o ON o.id = f.object_id
    JOIN documents d ON d.id = f.document_id
"""


def evidence_search(con, q: str, page: int = 1) -> dict:
    """Facts whose evidence sentence contains ``q`` (ILIKE: no extension to download, and a
    scan of the evidence column is quick at this scale)."""
    if not q:
        return {"rows": [], "pager": pager(0, 1, PAGE_SIZE)}
    pat = like_pattern(q)
    total = con.execute("SELECT count(*) FROM facts f WHERE f.evidence ILIKE ? ESCAPE '\\'", [pat]).fetchone()[0]
    pg = pager(total, page, PAGE_SIZE)
    rows = queries._rows(
        con, _FACT_LIST.format(extra="") + " WHERE f.evidence ILIKE ? ESCAPE '\\' "
        "ORDER BY coalesce(f.date, d.published) DESC NULLS LAST, d.doc_id, f.\"start\", f.id LIMIT ? OFFSET ?",
        [pat, pg["size"], pg["offset"]],
    )
    reviews = _reviews_of(con, [r["id"] for r in rows])
    for r in rows:
        r["review"] = reviews.get(r["id"])
        r["rejected"] = r["review"] == "reject"
        r["hedged"] = bool(r["hedged"])
        r["pieces"] = marked(r["evidence"], q)
    return {"rows": rows, "pager": pg}


def review_queue(con, status: str = "pending", page: int = 1) -> dict:
    """Facts to review, the doubtful first: unreviewed before reviewed, hedged before
    plain, then lowest confidence. ``status``: pending (not reviewed yet) or all."""
    latest = _latest_reviews_sql(con)
    join = f" LEFT JOIN ({latest}) r ON r.fact_id = f.id" if latest else ""
    review_col = ", r.action AS review" if latest else ", NULL AS review"
    cond = " WHERE r.action IS NULL" if latest and status == "pending" else ""
    total = con.execute(f"SELECT count(*) FROM facts f{join}{cond}").fetchone()[0]
    pg = pager(total, page, REVIEW_PAGE)
    rows = queries._rows(
        con, _FACT_LIST.format(extra=review_col) + join + cond +
        (" ORDER BY (r.action IS NOT NULL)," if latest else " ORDER BY") +
        " coalesce(f.hedged, false) DESC, f.confidence ASC NULLS FIRST, d.doc_id, f.\"start\", f.id LIMIT ? OFFSET ?",
        [pg["size"], pg["offset"]],
    )
    for r in rows:
        r["rejected"] = r["review"] == "reject"
        r["hedged"] = bool(r["hedged"])
    return {"rows": rows, "pager": pg,
            "pending": con.execute(f"SELECT count(*) FROM facts f{join}"
                                   + (" WHERE r.action IS NULL" if latest else "")).fetchone()[0]}


# -- the actor page ---------------------------------------------------------------------
ACTOR_FACTS = "_actor_page_facts"  # temporary tables, one request at a time (under ws.lock)
ACTOR_TIES = "_actor_page_ties"


def _load_actor_facts(con, aid: str) -> None:
    """The actor's facts at either end, read once into a temporary table that every part
    of the page then reads (each part re-reading the facts cost ~150 ms at 100,000
    facts). ``day``: the fact's date, else its article's ("as reported"). Two
    single-column lookups: an OR over subject and object scans every fact."""
    rej = queries.not_rejected(con)
    cols = 'f.id, f.subject_id, f.relation, f.object_id, f.document_id, f.hedged, f."start", f.date, f.date_source'
    con.execute(f"DROP TABLE IF EXISTS {ACTOR_FACTS}")
    con.execute(
        f"CREATE TEMP TABLE {ACTOR_FACTS} AS "
        f"WITH own AS (SELECT {cols} FROM facts f WHERE f.subject_id = ? "
        f"UNION ALL SELECT {cols} FROM facts f WHERE f.object_id = ? AND f.subject_id <> ?) "
        "SELECT f.id, f.subject_id, f.relation, f.object_id, f.document_id, coalesce(f.hedged, false) AS hedged, "
        "f.\"start\", coalesce(f.date, d.published) AS day, (f.date IS NULL AND d.published IS NOT NULL) OR f.date_source = 'published' AS as_reported, "
        "d.doc_id, " + (f"NOT ({rej})" if rej else "false") + " AS rejected "
        "FROM own f JOIN documents d ON d.id = f.document_id",
        [aid, aid, aid],
    )
    # the ties, grouped once: the counts per relation, the top ties and the leaders read this
    con.execute(f"DROP TABLE IF EXISTS {ACTOR_TIES}")
    con.execute(f"CREATE TEMP TABLE {ACTOR_TIES} AS SELECT {_TIE_COLS} FROM {ACTOR_FACTS} WHERE NOT rejected "
                "GROUP BY subject_id, relation, object_id")


def _names(con, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(con.execute("SELECT id, name FROM actors WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                            [sorted(ids)]).fetchall())


def _tie_sources(con, ties: list[dict]) -> None:
    """Up to LEADER_SOURCES documents per tie shown (the earliest first)."""
    if not ties:
        return
    rows = con.execute(
        "WITH shown AS (SELECT unnest(?::VARCHAR[]) AS s, unnest(?::VARCHAR[]) AS r, unnest(?::VARCHAR[]) AS o) "
        "SELECT x.subject_id, x.relation, x.object_id, x.document_id, d.doc_id, d.title, x.day FROM ("
        "SELECT m.subject_id, m.relation, m.object_id, m.document_id, min(m.doc_id) AS doc_id, min(m.day) AS day, "
        "row_number() OVER (PARTITION BY m.subject_id, m.relation, m.object_id ORDER BY min(m.day) NULLS LAST, "
        f"min(m.doc_id)) AS rn FROM {ACTOR_FACTS} m JOIN shown ON m.subject_id = shown.s AND m.relation = shown.r "
        "AND m.object_id = shown.o WHERE NOT m.rejected GROUP BY m.subject_id, m.relation, m.object_id, m.document_id"
        ") x JOIN documents d ON d.id = x.document_id WHERE x.rn <= ? ORDER BY x.subject_id, x.relation, x.object_id, x.rn",
        [[t["subject_id"] for t in ties], [t["relation"] for t in ties], [t["object_id"] for t in ties],
         LEADER_SOURCES],
    ).fetchall()
    by_key: dict[tuple, list[dict]] = {}
    for s_, r_, o_, did, doc_id, title, day in rows:
        by_key.setdefault((s_, r_, o_), []).append({"document_id": did, "doc_id": doc_id, "title": title, "date": day})
    for t in ties:
        t["documents"] = by_key.get((t["subject_id"], t["relation"], t["object_id"]), [])


_TIE_COLS = (
    "subject_id, relation, object_id, count(*) AS facts, count(DISTINCT document_id) AS sources, "
    "min(day) AS first, max(day) AS last, bool_and(hedged) AS hedged, bool_or(as_reported) AS as_reported"
)
_TIE_ORDER = "sources DESC, facts DESC, last DESC NULLS LAST, subject_id, object_id"


def _named(con, rows: list[dict]) -> list[dict]:
    names = _names(con, {r["subject_id"] for r in rows} | {r["object_id"] for r in rows})
    for r in rows:
        r["subject"], r["object"] = names.get(r["subject_id"], r["subject_id"]), names.get(r["object_id"], r["object_id"])
    _tie_sources(con, rows)
    return rows


def ties(con, relation: str | None = None, page: int = 1) -> dict:
    """One line per tie (subject, relation, object) with its facts, sources and date span,
    grouped by relation: the first TIES_PER_RELATION of each, or one relation paged.
    Rejected facts do not count."""
    counts = dict(con.execute(f"SELECT relation, count(*) FROM {ACTOR_TIES} GROUP BY relation").fetchall())
    if relation:
        pg = pager(counts.get(relation, 0), page, PAGE_SIZE)
        rows = queries._rows(con, f"SELECT * FROM {ACTOR_TIES} WHERE relation = ? ORDER BY {_TIE_ORDER} "
                             "LIMIT ? OFFSET ?", [relation, pg["size"], pg["offset"]])
    else:
        pg = None
        rows = queries._rows(con, f"SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER "
                             f"(PARTITION BY relation ORDER BY {_TIE_ORDER}) AS rn FROM {ACTOR_TIES}) "
                             "WHERE rn <= ? ORDER BY relation, rn", [TIES_PER_RELATION])
    _named(con, rows)
    # relations in the order records.RELATIONS lists them (leader_of first); each keeps
    # the SQL order (most sources first): sorted() is stable
    rank = {r: i for i, r in enumerate(RELATIONS)}
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: rank.get(r["relation"], len(rank))):
        groups.setdefault(r["relation"], []).append(r)
    return {"groups": groups, "counts": counts, "pager": pg, "relation": relation}


def leaders(con, aid: str) -> dict:
    """"Who leads X": the subjects of ``leader_of`` facts about X, the most recently
    reported first (taken as the current leader), each with its date span and sources;
    and, for a person, what it leads."""
    out = {}
    for side, end in (("led_by", "object_id"), ("leads", "subject_id")):
        rows = queries._rows(con, f"SELECT * FROM {ACTOR_TIES} WHERE relation = 'leader_of' AND {end} = ? "
                             "ORDER BY last DESC NULLS LAST, first DESC NULLS LAST, sources DESC, subject_id, object_id",
                             [aid])
        out[side] = _named(con, rows)
    return out


def timeline(con, aid: str, page: int = 1) -> dict:
    """One page of the actor's facts in date order (rejected ones included, struck
    through, so they can be confirmed again): the page's ids are picked from the
    temporary table, and only those rows are read whole."""
    total = con.execute(f"SELECT count(*) FROM {ACTOR_FACTS}").fetchone()[0]
    pg = pager(total, page, TIMELINE_PAGE)
    rows = queries._rows(
        con, f"WITH pick AS (SELECT id, day, doc_id, \"start\" FROM {ACTOR_FACTS} "
        "ORDER BY day NULLS LAST, doc_id, \"start\", id LIMIT ? OFFSET ?) "
        + _FACT_LIST.format(extra="") + " JOIN pick ON pick.id = f.id "
        "ORDER BY pick.day NULLS LAST, pick.doc_id, pick.\"start\", f.id",
        [pg["size"], pg["offset"]],
    )
    reviews = _reviews_of(con, [r["id"] for r in rows])
    items = []
    for r in rows:
        out = r["subject_id"] == aid
        rev = reviews.get(r["id"])
        items.append({
            "fact_id": r["id"], "relation": r["relation"], "direction": "out" if out else "in",
            "other_id": r["object_id"] if out else r["subject_id"], "other_name": r["object"] if out else r["subject"],
            "date": r["date"] or r["published"],
            "date_source": r["date_source"] if r["date"] else ("published" if r["published"] else None),
            "evidence": r["evidence"], "doc_id": r["doc_id"], "title": r["title"], "document_id": r["document_id"],
            "attributed_to": r["attributed_to"], "hedged": bool(r["hedged"]), "confidence": r["confidence"],
            "review": rev, "rejected": rev == "reject",
        })
    return {"facts": items, "pager": pg}


def actor_view(con, actor_id: str, relation: str | None = None, tpage: int = 1, page: int = 1) -> dict | None:
    """The actor page's data; the caller holds the store's lock (one temporary table)."""
    actor = queries.get_actor(con, actor_id)
    if actor is None:
        row = con.execute("SELECT new_id FROM actor_redirects WHERE old_id = ?", [actor_id]).fetchone()
        actor = queries.get_actor(con, row[0]) if row else None
        if actor is None:
            return None
    aid = actor["id"]
    # one DuckDB thread for the page's queries: each reads or groups at most the actor's
    # facts, and on a 2-CPU machine handing those small scans to a second thread costs more
    # than it gains (GET /actors/a0 of bench/actor_page.py: CPU p50 215 -> 184-199 ms)
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    con.execute("SET threads = 1")
    try:
        _load_actor_facts(con, aid)
        return {"actor": actor, "aliases": queries.aliases(con, aid), "ties": ties(con, relation, tpage),
                "leaders": leaders(con, aid), "timeline": timeline(con, aid, page)}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {ACTOR_TIES}")
        con.execute(f"DROP TABLE IF EXISTS {ACTOR_FACTS}")
        con.execute(f"SET threads = {threads}")


# -- exports ------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_filename(fmt: str, since: str | None, until: str | None, n_actors: int) -> str:
    """allegiance-FORMAT[-since-D][-until-D][-actors-N].EXT: only dates (checked) and
    counts go in, never a name from the store or the request."""
    from allegiance.export import FORMATS

    parts = ["allegiance", fmt]
    if since:
        parts += ["since", since]
    if until:
        parts += ["until", until]
    if n_actors:
        parts += ["actors", str(n_actors)]
    return _SAFE.sub("_", "-".join(parts)) + FORMATS[fmt][1]


EXPORT_MEDIA = {".graphml": "application/xml", ".gexf": "application/xml", ".json": "application/json",
                ".csv": "text/csv", ".cypher": "text/plain", ".jsonl": "application/x-ndjson"}


# -- routes -------------------------------------------------------------------------------
def query_link(request: Request, **changes: Any) -> str:
    """The current query string with ``changes`` (for pager and sort links)."""
    params = dict(request.query_params)
    params.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


def register(app: FastAPI, ws, page) -> None:
    """Add the list pages, the search, the export endpoint and the HTML 404 handler."""
    from allegiance.export import FORMATS, ExportError, export

    qs = query_link

    @app.get("/api/export/{fmt}", tags=["export"],
             summary="Download an export (the formats of `allegiance export`) for the filters given")
    def api_export(fmt: str, since: Optional[str] = Query(None, max_length=10),
                   until: Optional[str] = Query(None, max_length=10),
                   actor: list[str] = Query([], max_length=20), include_hedged: bool = True):
        if fmt not in FORMATS:
            raise HTTPException(404, "unknown export format; one of: " + ", ".join(FORMATS))
        _check_dates(since=since, until=until)
        names = [a for a in actor if a and a.strip()]
        if any(len(a) > 300 for a in names):
            raise HTTPException(422, "actor: at most 300 characters")
        # written to a private temporary file: a whole-store export can be large
        tmp = tempfile.NamedTemporaryFile("w+", encoding="utf-8", newline="", suffix=FORMATS[fmt][1],
                                          prefix="allegiance-export-", delete=False)
        try:
            with ws.lock:
                export(ws.store, fmt, tmp, since=since or None, until=until or None, actors=names,
                       include_hedged=include_hedged)
            tmp.close()
        except ExportError:
            tmp.close()
            _unlink(tmp.name)
            raise HTTPException(422, "actor: no actor matches that name") from None
        except BaseException:
            tmp.close()
            _unlink(tmp.name)
            raise
        name = export_filename(fmt, since, until, len(names))
        return FileResponse(tmp.name, media_type=EXPORT_MEDIA.get(FORMATS[fmt][1], "application/octet-stream"),
                            filename=name, content_disposition_type="attachment",
                            background=BackgroundTask(_unlink, tmp.name))

    @app.get("/api/evidence", tags=["facts"], summary="Facts whose evidence sentence contains q (case-insensitive)")
    def api_evidence(q: str = Query(..., min_length=1, max_length=300), page_no: int = Query(1, ge=1, alias="page")) -> dict:
        with ws.lock:
            res = evidence_search(ws.con, q.strip(), page_no)
        for r in res["rows"]:
            r.pop("pieces", None)
        return res

    @app.get("/api/review-queue", tags=["review"], summary="Facts to review, hedged and low-confidence first")
    def api_review_queue(status: str = Query("pending", pattern="^(pending|all)$"),
                         page_no: int = Query(1, ge=1, alias="page")) -> dict:
        with ws.lock:
            return review_queue(ws.con, status, page_no)

    @app.get("/api/actors/{actor_id}/ties", tags=["actors"],
             summary="An actor's ties grouped by relation (paged), who leads it, a page of its timeline")
    def api_actor_ties(actor_id: str, relation: Optional[str] = Query(None, max_length=64),
                       tpage: int = Query(1, ge=1), page_no: int = Query(1, ge=1, alias="page")) -> dict:
        with ws.lock:
            view = actor_view(ws.con, actor_id, relation or None, tpage, page_no)
        if view is None:
            raise HTTPException(404, "no such actor")
        return view

    @app.get("/documents", response_class=HTMLResponse, include_in_schema=False)
    def documents_page(request: Request, q: str = Query("", max_length=300), sort: str = "date",
                       order: str = "desc", page_no: int = Query(1, ge=1, alias="page")):
        sort = sort if sort in DOC_SORTS else "date"
        order = "asc" if order == "asc" else "desc"
        with ws.lock:
            res = documents(ws.con, q.strip(), sort, order, page_no)
        return page(request, "documents.html", active="documents", q=q, sort=sort, order=order, qs=lambda **c: qs(request, **c), **res)

    @app.get("/actors", response_class=HTMLResponse, include_in_schema=False)
    def actors_page(request: Request, q: str = Query("", max_length=300), type: str = Query("", max_length=20),
                    kind: str = Query("", max_length=64), country: str = Query("", max_length=8),
                    page_no: int = Query(1, ge=1, alias="page")):
        with ws.lock:
            res = actors(ws.con, q.strip(), type, kind, country, page_no)
        return page(request, "actors.html", active="actors", form={"q": q, "type": type, "kind": kind, "country": country},
                    qs=lambda **c: qs(request, **c), **res)

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(request: Request, status: str = "pending", page_no: int = Query(1, ge=1, alias="page")):
        status = "all" if status == "all" else "pending"
        with ws.lock:
            res = review_queue(ws.con, status, page_no)
        return page(request, "review.html", active="review", status=status, writable=ws.writable,
                    qs=lambda **c: qs(request, **c), **res)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = Query("", max_length=300), page_no: int = Query(1, ge=1, alias="page")):
        with ws.lock:
            res = evidence_search(ws.con, q.strip(), page_no)
        return page(request, "search.html", active="search", q=q.strip(), qs=lambda **c: qs(request, **c), **res)

    api_prefixes = ("/api/", "/static/", "/openapi.json")

    @app.exception_handler(StarletteHTTPException)
    async def not_found_page(request: Request, exc: StarletteHTTPException):
        # pages get an HTML page; the API (and static files) keep their JSON answers
        path = request.url.path
        if exc.status_code == 404 and not path.startswith(api_prefixes) and path != "/api":
            response = page(request, "404.html", active="")
            response.status_code = 404
            return response
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _unlink(path: str) -> None:
    import os

    try:
        os.unlink(path)
    except OSError:
        pass
