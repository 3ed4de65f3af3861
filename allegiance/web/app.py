"""The analyst web app: a JSON API under ``/api/`` and server-rendered pages.

Everything shown comes from articles and is hostile: templates autoescape, the pages
build DOM with ``textContent`` only, and no value from the store is put in a URL path
unquoted. ``create_app(db)`` opens the store itself (read-write: reviews are stored in
the ``reviews`` table this module creates)."""
from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import FastAPI, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from allegiance.analysis import ties as tie_rows
from allegiance.records import RELATIONS
from allegiance.store import corrections
from allegiance.store import Store
from allegiance.store import incidents as incident_rows
from allegiance.store import queries
from allegiance.export import FORMATS as EXPORT_FORMATS
from allegiance.web import lists
from allegiance.web.guard import (
    CSRF_HEADER, RequestGuard, StrictJSONRoute, allowed_host_names, new_token, validation_error,
)
from allegiance.web.ingest import (
    ENVELOPE_SLACK, MAX_FILE_BYTES, MAX_PENDING_UPLOADS, MAX_REQUEST_BYTES, UploadQueue, process_upload,
    spool_body,
)

HERE = Path(__file__).parent
PLACE_RELATIONS = ("active_in", "recruits_in", "attacked")
#: ties /api/graph draws unless asked for more: the heaviest first (an analyst cannot read
#: tens of thousands of edges, and a one-year window of a 1M-fact store has ~38k)
GRAPH_LIMIT = 2000
REVIEW_ACTIONS = ("confirm", "reject", "correct")

from allegiance.store.schema import REVIEWS_DDL  # noqa: E402  (one definition, in the store schema)

# the latest review of each fact decides its state
LATEST_REVIEWS = """
SELECT * FROM (
    SELECT r.*, row_number() OVER (PARTITION BY fact_id ORDER BY created_at DESC, id DESC) AS rn
    FROM reviews r
) WHERE rn = 1
"""


class ReviewIn(BaseModel):
    action: Literal["confirm", "reject", "correct"]
    relation: Optional[str] = Field(None, max_length=64)
    subject: Optional[str] = Field(None, max_length=500)
    object: Optional[str] = Field(None, max_length=500)
    note: Optional[str] = Field(None, max_length=5000)
    user: Optional[str] = Field(None, max_length=200)


class CorrectionIn(BaseModel):
    """Who and why of an actor correction (the server's --reviewer name by default)."""

    note: Optional[str] = Field(None, max_length=5000)
    user: Optional[str] = Field(None, max_length=200)


class ActorMergeIn(CorrectionIn):
    other: str = Field(..., min_length=1, max_length=500, description="the actor merged into this one")


class SplitAliasIn(CorrectionIn):
    alias: str = Field(..., min_length=1, max_length=500)


class IncidentEditIn(BaseModel):
    """Who and why, as a review carries them (stored in incident_edits)."""

    note: Optional[str] = Field(None, max_length=5000)
    user: Optional[str] = Field(None, max_length=200)


class IncidentMergeIn(IncidentEditIn):
    incidents: list[str] = Field(..., min_length=1, max_length=50,
                                 description="the incidents to merge into this one")


class IncidentSplitIn(IncidentEditIn):
    doc_id: str = Field(..., min_length=1, max_length=500,
                        description="the report to take out: its doc_id or document id")


def ensure_reviews(con) -> None:
    con.execute(REVIEWS_DDL)


def _has_reviews(con) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reviews'"
        ).fetchone()[0]
    )


#: seconds a write waits for CLI readers to let go of the file (an export of a large store
#: takes a while; new readers queue behind a waiting write), and a read waits for the
#: reopening after a write
WRITE_WAIT_S = 60.0


class WebStore:
    """The store plus the web's own queries, serialised by a lock (one DuckDB connection).

    ``shared``: hold the file read-only between writes, and read-write only inside
    :meth:`writing` (one review, one stored upload), so that CLI reads (``allegiance
    actors / show / facts / export``) can open it while the server runs: DuckDB lets any
    number of processes read a file, or one write it, never both (docs/web.md)."""

    def __init__(self, store: Store, *, writable: bool | None = None, shared: bool = False):
        self.store = store
        self.lock = threading.RLock()
        self.writable = (not store.read_only) if writable is None else writable
        self.shared = shared
        self.reviewer = corrections.default_user(None)  # create_app(reviewer=...) / serve --reviewer
        self.generation = 0  # bumped after every write: what caches of store reads key on
        self._node_stats: dict[str, tuple[int, int]] = {}
        self._node_stats_key: tuple | None = None
        if not store.read_only:
            ensure_reviews(store.con)
            if shared:
                store.reopen(read_only=True, wait=WRITE_WAIT_S)

    @property
    def con(self):
        if self.store.con is None:  # a reopen after a write failed: try again now
            self.store.reopen(read_only=self.shared or not self.writable, wait=WRITE_WAIT_S)
        return self.store.con

    @contextmanager
    def writing(self):
        """The store read-write for one write, under the lock; 409 on a read-only server,
        503 when CLI readers keep the file past ``WRITE_WAIT_S``."""
        from allegiance.store import StoreLockedError
        from allegiance.store.store import announce_write

        if not self.writable:
            raise HTTPException(409, "the store is open read-only (allegiance serve --read-only); "
                                     "nothing can be written")
        with self.lock:
            if not (self.shared and self.store.read_only):
                try:
                    yield self.store
                finally:
                    self.generation += 1
                return
            try:
                with announce_write(self.store.path):  # new CLI readers wait behind this write
                    self.store.reopen(read_only=False, wait=WRITE_WAIT_S)
            except StoreLockedError:
                self.store.reopen(read_only=True, wait=WRITE_WAIT_S)
                raise HTTPException(503, "the store is being read by another allegiance process; "
                                         "try again shortly", headers={"Retry-After": "5"}) from None
            try:
                yield self.store
            finally:
                self.generation += 1
                # back to read-only at once, so the CLI can read between writes
                self.store.reopen(read_only=True, wait=WRITE_WAIT_S)

    def node_stats(self, actor_ids: list[str]) -> dict[str, tuple[int, int]]:
        """actor id -> (mentions, documents): ``queries._ACTOR_STATS``' counts, for the actors
        asked, kept between requests until the store changes.

        Counting a hub's distinct documents is most of what a network request costs on a
        big store (a0 of the 1M-fact bench store is in 71k documents), and the counts change
        only with a write: every write goes through :meth:`writing` (which bumps
        ``generation``); the row counts of ``document_actors``, ``actor_redirects`` and
        ``actors`` are part of the key as well, for writes made on ``store`` directly."""
        con = self.con
        key = (self.generation, *con.execute(
            "SELECT (SELECT count(*) FROM document_actors), (SELECT count(*) FROM actor_redirects), "
            "(SELECT count(*) FROM actors)").fetchone())
        if key != self._node_stats_key:
            self._node_stats, self._node_stats_key = {}, key
        missing = sorted(set(actor_ids) - self._node_stats.keys())
        if missing:
            got = {r[0]: (int(r[1]), int(r[2])) for r in con.execute(
                "SELECT actor_id, sum(mention_count), count(DISTINCT document_id) FROM document_actors "
                "WHERE actor_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor_id", [missing]).fetchall()}
            for a in missing:
                self._node_stats[a] = got.get(a, (0, 0))
        return {a: self._node_stats[a] for a in actor_ids}

    #: as-of indexes kept at once (one per set of fact filters asked; each holds every
    #: dated fact's id and day: ~85 MB for the 1M-fact bench store)
    AS_OF_INDEXES = 2

    def as_of_index(self, *, source: str | None, include_hedged: bool, include_rejected: bool):
        """The network-as-of-any-date index (analysis/asof.py) under these fact filters,
        built on the first as-of request after the store changed and kept until it changes
        again: writes through :meth:`writing` bump ``generation``, and ``asof.fingerprint``
        (row counts every write moves) catches writes made on ``store`` directly and by
        other processes between our connections. None when some fact has no date."""
        from allegiance.analysis import asof

        con = self.con
        key = (self.generation, id(con), asof.fingerprint(con))
        if key != getattr(self, "_as_of_key", None):
            self._as_of, self._as_of_key = {}, key
        filters = (source, bool(include_hedged), bool(include_rejected))
        if filters not in self._as_of:
            while len(self._as_of) >= self.AS_OF_INDEXES:
                self._as_of.pop(next(iter(self._as_of)))
            self._as_of[filters] = asof.AsOfIndex.build(con, source=source, include_hedged=include_hedged,
                                                        include_rejected=include_rejected)
        return self._as_of[filters]

    # -- reviews -------------------------------------------------------------------
    def latest_reviews(self) -> dict[str, dict]:
        if not _has_reviews(self.con):
            return {}
        return {r["fact_id"]: r for r in queries._rows(self.con, LATEST_REVIEWS)}

    def rejected_ids(self) -> set[str]:
        return {fid for fid, r in self.latest_reviews().items() if r["action"] == "reject"}

    def add_review(self, fact_id: str, review: ReviewIn) -> dict:
        if not self.writable:
            raise HTTPException(409, "the store is open read-only; reviews cannot be saved")
        if self.con.execute("SELECT 1 FROM facts WHERE id = ?", [fact_id]).fetchone() is None:
            raise HTTPException(404, f"no fact {fact_id}")
        if review.relation and review.relation not in RELATIONS:  # no echo of the value (item 8)
            raise HTTPException(422, f"unknown relation: use one of {', '.join(RELATIONS)}")
        if review.action == "correct" and not (review.relation or review.subject or review.object):
            raise HTTPException(422, "a correction needs a relation, subject or object")
        # store/corrections.py: audited, applied to the fact itself, kept through re-ingests
        return self.correct(corrections.review, fact_id, review.action, review.user or self.reviewer,
                            relation=review.relation, subject=review.subject, object=review.object,
                            note=review.note)

    def correct(self, fn, *args: Any, **kwargs: Any) -> dict:
        """One correction (store/corrections.py) in one transaction of a write; a
        refused one is a 422 whose message names no user input beyond actor names."""
        with self.writing() as store:
            try:
                with store._transaction():
                    return fn(store.con, *args, **kwargs)
            except corrections.CorrectionError as exc:
                raise HTTPException(422, str(exc)[:300]) from None
            finally:
                store._cache.clear()

    def reviews_for(self, fact_id: str) -> list[dict]:
        if not _has_reviews(self.con):
            return []
        rows = queries._rows(
            self.con,
            'SELECT id, action, relation, subject, object, note, "user", created_at FROM reviews '
            "WHERE fact_id = ? ORDER BY created_at, id",
            [fact_id],
        )
        for r in rows:
            r["created_at"] = r["created_at"].isoformat(timespec="seconds") if r["created_at"] else None
        return rows

    # -- facts ---------------------------------------------------------------------
    def facts(
        self,
        *,
        actor: str | None = None,
        relation: str | None = None,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
        include_hedged: bool = True,
        include_rejected: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        try:
            # all facts, rejected included: this layer marks reviews itself
            rows = self.store.facts(
                actor=actor, relation=relation, since=since, until=until, source=source,
                include_hedged=include_hedged, include_rejected=True,
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        reviews = self.latest_reviews()
        out = []
        for f in rows:
            rev = reviews.get(f["id"])
            f["review"] = rev["action"] if rev else None
            f["rejected"] = bool(rev and rev["action"] == "reject")
            if f["rejected"] and not include_rejected:
                continue
            if rev and rev["action"] == "correct" and rev.get("relation"):
                # the store row carries the correction already (store/corrections.py);
                # reviews made before that did not: the overlay covers both
                f["original_relation"] = rev.get("orig_relation") or f["relation"]
                f["relation"] = rev["relation"]
            f["hedged"] = bool(f["hedged"])
            out.append(f)
        if relation:  # a correction may have moved a fact out of the asked relation
            out = [f for f in out if f["relation"] == relation.strip() or f.get("original_relation") == relation.strip()]
        return out[:limit] if limit is not None else out


def _clean_segments(doc: dict):
    """Segments mapping the stored cleaned text back to raw offsets (mentions and
    facts are stored with raw offsets). The clean stage is deterministic, so cleaning
    the raw text again gives them; if it ever disagrees the raw text is shown."""
    from allegiance.clean import clean_document
    from allegiance.records import Document

    try:
        d = clean_document(
            Document(doc_id=doc["doc_id"], source=doc.get("source") or "", raw_text=doc["raw_text"] or "",
                     content_hash="")
        )
    except Exception:
        return None
    if d.text != (doc["text"] or ""):
        return None
    return d.segments


def _raw_to_clean(segments, start: int, end: int) -> list[tuple[int, int]]:
    """Clean-text pieces of the raw span [start, end)."""
    out = []
    for seg in segments:
        a, b = max(start, seg.raw_start), min(end, seg.raw_start + seg.length)
        if a < b:
            out.append((seg.clean_start + a - seg.raw_start, seg.clean_start + b - seg.raw_start))
    return out


def render_pieces(text: str, mentions: list[dict], facts: list[dict]) -> list[dict]:
    """Split ``text`` at every mention and evidence boundary (clean offsets): each
    piece knows its mention (actor) and the facts whose evidence covers it."""
    points = {0, len(text)}
    spans_m: list[tuple[int, int, dict]] = []
    spans_f: list[tuple[int, int, str]] = []
    for m in mentions:
        for a, b in m["clean"]:
            spans_m.append((a, b, m))
            points |= {a, b}
    for f in facts:
        for a, b in f["clean"]:
            spans_f.append((a, b, f["id"]))
            points |= {a, b}
    cuts = sorted(p for p in points if 0 <= p <= len(text))
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        mention = next((m for s, e, m in spans_m if s <= a and b <= e), None)
        fids = [fid for s, e, fid in spans_f if s <= a and b <= e]
        pieces.append(
            {
                "text": text[a:b],
                "actor_id": mention["actor_id"] if mention else None,
                "actor_name": mention["actor_name"] if mention else None,
                "facts": fids,
            }
        )
    return pieces


def create_app(
    db: str | Path | None = None,
    *,
    store: Store | None = None,
    read_only: bool = False,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_pending_uploads: int = MAX_PENDING_UPLOADS,
    allowed_hosts: tuple[str, ...] = (),
    csrf_token: str | None = None,
    reviewer: str | None = None,
) -> FastAPI:
    """``max_file_bytes`` / ``max_request_bytes``: upload limits of ``POST /api/ingest``;
    ``max_pending_uploads``: uploads in hand at once (one extracts, the rest wait; 503 beyond).
    ``allowed_hosts``: Host names answered besides 127.0.0.1, localhost and ::1 (``serve``
    passes ``--host``). ``csrf_token``: the token writes must carry (random by default)."""
    if store is None:
        # opened read-write once (schema, reviews table), then held read-only between writes
        store = Store(db, read_only=read_only)
        ws = WebStore(store, writable=not read_only, shared=True)
    else:  # a caller's store (tests, embedding): used in the mode it was opened in
        ws = WebStore(store)
    app = FastAPI(
        title="Allegiance",
        description="Evidence-backed actor graph of militant organizations: actors, facts with "
        "evidence, documents, places, and analyst reviews. Writes (POST) need the "
        f"`{CSRF_HEADER}` header (`GET /api/csrf`) and refuse other origins.",
        version="1",
        docs_url=None,
        redoc_url=None,
    )
    # every route defined below reads its body with a MAX_JSON_BYTES limit (413) and parses
    # JSON strictly (NaN, 1e999999, duplicate keys: 422); /api/ingest streams its own body
    app.router.route_class = StrictJSONRoute
    app.add_exception_handler(RequestValidationError, validation_error)
    token = csrf_token or new_token()
    app.state.csrf_token = token
    # the name corrections are audited under (serve --reviewer; else ALLEGIANCE_USER, the OS user)
    ws.reviewer = corrections.default_user(reviewer)
    app.state.reviewer = ws.reviewer
    app.state.allowed_hosts = allowed_host_names(*allowed_hosts)
    # added before security_headers, so its refusals get those headers too
    app.add_middleware(RequestGuard, allowed_hosts=app.state.allowed_hosts, token=token)
    # documents the header for /docs ("Authorize"); RequestGuard enforces it
    csrf_scheme = [Security(APIKeyHeader(name=CSRF_HEADER, auto_error=False,
                                         description="the server's CSRF token, from GET /api/csrf"))]
    uploads_queue = UploadQueue(max_pending_uploads)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:  # Swagger UI from the vendored copy (no CDN)
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="Allegiance API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: nothing still goes to other sites, but under no-referrer
        # the Fetch spec has a browser send `Origin: null` on a page's own non-CORS POST, which
        # RequestGuard refuses (a sandboxed foreign page sends the same)
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path != "/docs":  # Swagger UI boots with an inline script
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                "frame-ancestors 'none'",
            )
        return response
    app.state.ws = ws
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "htm", "xml", "j2"], default=True, default_for_string=True),
    )
    templates = Jinja2Templates(env=env)

    def page(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("relations", RELATIONS)
        ctx.setdefault("formats", list(EXPORT_FORMATS))  # the export links (web/lists.py)
        ctx.setdefault("csrf_token", token)  # <meta name="csrf-token">, sent back by app.js
        return templates.TemplateResponse(request, name, ctx)

    # -- API -----------------------------------------------------------------------
    @app.get("/api/csrf", tags=["security"], summary="The CSRF token writes must send (header named here)")
    def api_csrf() -> dict:
        # readable only by this origin: no CORS headers, and RequestGuard refuses foreign Hosts
        return {"header": CSRF_HEADER, "token": token}

    @app.get("/api/actors", tags=["actors"], summary="Actors, most mentioned first")
    def api_actors(type: Optional[str] = None, limit: int = Query(500, ge=1, le=100000)) -> list[dict]:
        with ws.lock:
            return ws.store.actors(limit=limit, type=type)

    def _card(actor_id: str) -> dict:
        with ws.lock:
            card = ws.store.actor_card(actor_id)
            if card is None:
                raise HTTPException(404, f"no actor {actor_id}")
            aid = card["actor"]["id"]
            reviews = ws.latest_reviews()
            # this actor's facts only (two single-column lookups: an OR scans every fact)
            own = ws.con.execute(
                'SELECT id, document_id, "start" FROM facts WHERE subject_id = ? '
                'UNION ALL SELECT id, document_id, "start" FROM facts WHERE object_id = ?', [aid, aid]
            ).fetchall()
            docs = {r[0]: r[1] for r in own}
            starts = {r[0]: r[2] for r in own}
            gz = card["actor"].get("gazetteer_id")
        timeline = []
        for relation, items in card["relations"].items():
            for it in items:
                rev = reviews.get(it["fact_id"])
                it["relation"] = relation
                it["review"] = rev["action"] if rev else None
                it["rejected"] = bool(rev and rev["action"] == "reject")
                it["document_id"] = docs.get(it["fact_id"])
                it["start"] = starts.get(it["fact_id"])
                timeline.append(it)
        timeline.sort(key=lambda it: (it["date"] is None, it["date"] or "", it["doc_id"] or "", it["start"] or 0))
        card["timeline"] = timeline
        with ws.lock:
            card["incidents"] = [incident_rows.summary(r) for r in incident_rows.involving(ws.con, aid)]
        card["gazetteer"] = None
        if gz:
            from allegiance.resolve.gazetteer import load_gazetteer

            e = load_gazetteer().by_id.get(gz)
            if e is not None:
                card["gazetteer"] = {"id": e.id, "kind": e.kind, "country": e.country, "lat": e.lat, "lon": e.lon}
        return card

    @app.get("/api/actors/{actor_id}", tags=["actors"], summary="Actor card: aliases, facts grouped and as a timeline")
    def api_actor(actor_id: str) -> dict:
        return _card(actor_id)

    @app.get("/api/search", tags=["actors"], summary="Actors a name may mean: any alias seen in the corpus or known to the gazetteer, then fuzzy")
    def api_search(q: str = Query(..., min_length=1, max_length=300), type: Optional[str] = None) -> list[dict]:
        with ws.lock:
            # the one lookup `allegiance show` and `facts --actor` use too (gazetteer
            # names such as Daesh included): the CLI and the search always agree
            return ws.store.find_actors(q, type=type)

    @app.get("/api/facts", tags=["facts"], summary="Facts with evidence; rejected facts hidden unless include_rejected")
    def api_facts(
        relation: Optional[str] = None,
        actor: Optional[str] = None,
        since: Optional[str] = None,
        until: Optional[str] = None,
        source: Optional[str] = None,
        include_hedged: bool = True,
        include_rejected: bool = False,
        limit: Optional[int] = Query(None, ge=1),
    ) -> list[dict]:
        with ws.lock:
            return ws.facts(
                actor=actor, relation=relation or None, since=since or None, until=until or None,
                source=source or None, include_hedged=include_hedged, include_rejected=include_rejected,
                limit=limit,
            )

    def _in_region(rows: list[dict], region: str) -> list[dict]:
        """Facts with an end in ``region`` (a country or region the gazetteer knows): the
        place itself, places of that country, groups based there or working across it."""
        from allegiance.resolve.gazetteer import load_gazetteer
        from allegiance.resolve.names import match_key

        gaz = load_gazetteer()
        target = gaz.lookup(region)
        if target is None or target.type != "PLACE":
            raise HTTPException(422, f"unknown region {region!r}: give a country or region name")
        key = match_key(target.name)
        ids = sorted({f["subject_id"] for f in rows} | {f["object_id"] for f in rows})
        gz = {}
        if ids:
            ph = ", ".join("?" for _ in ids)
            gz = {r["id"]: r["gazetteer_id"] for r in queries._rows(
                ws.con, f"SELECT id, gazetteer_id FROM actors WHERE id IN ({ph})", ids)}

        def inside(actor_id: str) -> bool:
            e = gaz.by_id.get(gz.get(actor_id) or "")
            if e is None:
                return False
            if e.id == target.id:
                return True
            if target.kind == "country" and e.country and e.country == target.country:
                return True
            return any(match_key(r) == key for r in e.region)

        return [f for f in rows if inside(f["subject_id"]) or inside(f["object_id"])]

    # -- time and grouped ties (allegiance/analysis/ties.py: the one implementation) --------
    def _check_dates(**values):
        for name, value in values.items():
            if value:
                try:
                    queries.check_date(value)
                    tie_rows.last_day(value.strip())
                except ValueError:  # no echo of the value
                    raise HTTPException(422, f"{name}: bad date: use YYYY, YYYY-MM or YYYY-MM-DD") from None

    def _graph_ties(*, since=None, until=None, as_of=None, relation=None, source=None, actor=None,
                    region=None, include_hedged=True, include_rejected=False,
                    limit: int | None = None) -> tuple[list[dict], dict]:
        """The ties the network shows, and the fact counts behind them.

        ``as_of``: the ties in force then; spans are computed from every relation and actor (a
        pledge ends a membership), so relation, actor and region filter the ties afterwards.
        Otherwise the facts of the [since, until] window (filters in SQL), grouped.
        ``limit``: only the heaviest ties (most facts first); ``counts`` says how many there
        were in all (``ties_total``, ``facts_total``)."""
        _check_dates(since=since, until=until, as_of=as_of)
        common = dict(source=source or None, include_hedged=include_hedged, include_rejected=include_rejected)
        grouped = None
        totals = None
        regional = bool(region and region.strip())
        if as_of and limit is not None and not regional and _slim():
            # in force or not: array lookups on the as-of index (analysis/asof.py), kept by ws
            # until the store changes; only the kept ties are built
            ids = queries.resolve_actor_ids(ws.con, actor) if actor else None
            index = ws.as_of_index(**common)
            got = None if index is None else tie_rows.heaviest_as_of_ties(
                ws.con, as_of.strip(), limit, relation=relation or None, actor_ids=ids, index=index, **common)
            if got is not None:
                ties, totals = got
                return ties, _tie_counts(ties, totals, 0)
        if _slim():
            if as_of:
                rows = tie_rows.load_slim(ws.con, until=as_of.strip(), **common)
            else:
                ids = queries.resolve_actor_ids(ws.con, actor) if actor else None
                window = dict(since=since or None, until=until or None, relation=relation or None, actor_ids=ids,
                              **common)
                # grouped, ranked and cut in SQL when every fact has a date (a region filter
                # needs every tie first); else the rows, placed in time
                got = tie_rows.heaviest_window_ties(ws.con, None if regional else limit, **window)
                if got is not None:
                    grouped, totals = got
                rows = [] if grouped is not None else tie_rows.load_slim(ws.con, **window)
        elif as_of:
            rows = tie_rows.load(ws.facts, ws.con, until=as_of.strip(), keep_undated=True, **common)
        else:
            rows = tie_rows.load(ws.facts, ws.con, since=since or None, until=until or None, keep_undated=True,
                                 relation=relation or None, actor=actor or None, **common)
        undated = sum(1 for f in rows if not f["when"])
        rows = [f for f in rows if f["when"] or not (as_of or since or until)]
        if region and region.strip() and not as_of:
            rows = _in_region(rows, region.strip())
        if grouped is not None:
            ties = _in_region(grouped, region.strip()) if region and region.strip() else grouped
        else:
            ties = tie_rows.build_ties(rows)
        if as_of:
            ties = tie_rows.network_as_of(ties, as_of.strip())
            if relation:
                ties = [t for t in ties if t["relation"] == relation.strip()]
            if actor:
                ids = set(queries.resolve_actor_ids(ws.con, actor))
                ties = [t for t in ties if t["subject_id"] in ids or t["object_id"] in ids]
            if region and region.strip():
                ties = _in_region(ties, region.strip())
        if totals is None or (region and region.strip()):
            totals = {"ties": len(ties), "facts": sum(len(t["facts"]) for t in ties)}
            ties = tie_rows.heaviest(ties, limit)
        return ties, _tie_counts(ties, totals, undated)

    def _tie_counts(ties: list[dict], totals: dict, undated: int) -> dict:
        shown = [f for t in ties for f in t["facts"]]
        return {"facts": len(shown), "as_reported": sum(1 for f in shown if f["date_source"] == "as_reported"),
                "undated": undated, "ties": len(ties), "ties_total": totals["ties"], "facts_total": totals["facts"]}

    _SHOWN_ACTORS = ("SELECT id, name, type, kind FROM actors WHERE id IN (SELECT unnest(?::VARCHAR[])) "
                     "ORDER BY id")

    def _slim() -> bool:
        """Whether the network may read the store's rows as they are (load_slim): yes unless
        some review corrected a relation, which WebStore.facts overlays on older rows."""
        return not (_has_reviews(ws.con) and ws.con.execute(
            "SELECT count(*) FROM reviews WHERE action = 'correct' AND relation IS NOT NULL").fetchone()[0])

    def _tie_filters(since, until, as_of, relation, source, actor, region, include_hedged, include_rejected):
        return dict(since=since, until=until, as_of=as_of, relation=relation, source=source, actor=actor,
                    region=region, include_hedged=include_hedged, include_rejected=include_rejected)

    @app.get("/api/graph", tags=["graph"],
             summary="The actor network: one edge per tie (subject, relation, object) with its sources and date span")
    def api_graph(
        since: Optional[str] = Query(None, max_length=10),
        until: Optional[str] = Query(None, max_length=10),
        as_of: Optional[str] = Query(None, max_length=10, description="ties in force then (YYYY[-MM[-DD]])"),
        relation: Optional[str] = None,
        source: Optional[str] = None,
        actor: Optional[str] = None,
        region: Optional[str] = None,
        include_hedged: bool = True,
        include_rejected: bool = False,
        limit: int = Query(GRAPH_LIMIT, ge=1, le=1_000_000,
                           description="at most this many ties, the heaviest (most facts) first; "
                                       "counts.ties_total says how many there are"),
    ) -> dict:
        with ws.lock:
            ties, counts = _graph_ties(**_tie_filters(since, until, as_of, relation, source, actor, region,
                                                      include_hedged, include_rejected), limit=limit)
            ids = sorted({t["subject_id"] for t in ties} | {t["object_id"] for t in ties})
            nodes = []
            if ids:
                # _ACTOR_STATS' counts, for the shown actors only, kept until the store changes
                stats = ws.node_stats(ids)
                for a in queries._rows(ws.con, _SHOWN_ACTORS, [ids]):
                    m, d = stats[a["id"]]
                    nodes.append({"id": a["id"], "label": a["name"], "type": a["type"], "kind": a["kind"],
                                  "mentions": m, "documents": d})
            attacked = [f["id"] for t in ties if t["relation"] == "attacked" for f in t["facts"]]
            # no incident at all (a store built before incidents, the bench store): nothing to
            # look up, and the lookup reads the facts table by id
            attack_of = incident_rows.fact_incidents(ws.con, attacked) if attacked and ws.con.execute(
                "SELECT count(*) FROM incident_reports").fetchone()[0] else {}
        degree: dict[str, int] = {}
        for t in ties:
            degree[t["subject_id"]] = degree.get(t["subject_id"], 0) + 1
            degree[t["object_id"]] = degree.get(t["object_id"], 0) + 1
        for n in nodes:
            n["degree"] = degree.get(n["id"], 0)
        # one edge per tie; its facts' evidence is one click away (/api/ties/{id}). `weight`:
        # the facts behind it, but for attacks the distinct incidents, since three reports of
        # one attack are one attack (`attacks` folds them per pair, as before)
        edges = []
        for t in ties:
            fids = [f["id"] for f in t["facts"]]
            incidents = sorted({attack_of[f] for f in fids if f in attack_of})
            span = t.get("span") or (t["spans"][-1] if t["spans"] else None)
            edges.append({
                "id": t["id"], "source": t["subject_id"], "target": t["object_id"], "relation": t["relation"],
                "weight": incident_rows.incident_count(fids, attack_of) if t["relation"] == "attacked" else len(fids),
                "facts": len(fids), "fact_ids": fids, "sources": t["sources"], "first": t["first"], "last": t["last"],
                "date": t["last"], "as_reported": t["as_reported"], "hedged": t["hedged"],
                "start": span["start"] if span else None, "end": span["end"] if span else None,
                "ended": bool(span and span["end"]), "incident_ids": incidents,
                "incident_id": incidents[0] if len(incidents) == 1 else None,
                "rejected": any(f.get("review") == "reject" for f in t["facts"]),
            })
        years = sorted({int(t[k][:4]) for t in ties for k in ("first", "last") if t[k]})
        attacks = [
            {"source": e["source"], "target": e["target"], "weight": e["weight"], "facts": e["fact_ids"],
             "incidents": e["incident_ids"]}
            for e in edges if e["relation"] == "attacked"
        ]
        return {"nodes": nodes, "edges": edges, "years": years, "attacks": attacks, "counts": counts,
                "as_of": as_of or None, "limit": limit, "truncated": counts["ties"] < counts["ties_total"]}

    @app.get("/api/ties/{tie_id}", tags=["graph"],
             summary="One tie under the same filters as /api/graph: its facts with evidence, sources and spans")
    def api_tie(
        tie_id: str,
        since: Optional[str] = Query(None, max_length=10), until: Optional[str] = Query(None, max_length=10),
        as_of: Optional[str] = Query(None, max_length=10), relation: Optional[str] = None,
        source: Optional[str] = None, actor: Optional[str] = None, region: Optional[str] = None,
        include_hedged: bool = True, include_rejected: bool = False,
    ) -> dict:
        with ws.lock:
            ties, _ = _graph_ties(**_tie_filters(since, until, as_of, relation, source, actor, region,
                                                 include_hedged, include_rejected))
            tie = next((t for t in ties if t["id"] == tie_id), None)
            if tie is None:
                raise HTTPException(404, "no such tie under these filters")
            if tie["facts"] and tie["facts"][0].get("evidence") is None:
                # found from the slim rows: read this tie's facts whole (one relation's worth)
                wanted = {f["id"] for f in tie["facts"]}
                full = tie_rows.load(ws.facts, ws.con, until=(as_of or until or None), since=None if as_of else since,
                                     relation=tie["relation"], source=source or None, include_hedged=include_hedged,
                                     include_rejected=include_rejected)
                tie = dict(tie, facts=[f for t in tie_rows.build_ties([f for f in full if f["id"] in wanted])
                                       for f in t["facts"]])
        return tie

    def _changes(since, until, source, include_hedged, include_rejected) -> dict:
        if not since or not until:
            raise HTTPException(422, "since and until are both needed")
        _check_dates(since=since, until=until)
        with ws.lock:
            rows = tie_rows.load(ws.facts, ws.con, until=until.strip(), source=source or None,
                                 include_hedged=include_hedged, include_rejected=include_rejected)
        try:
            return tie_rows.changes(tie_rows.build_ties(rows), since.strip(), until.strip())
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/api/changes", tags=["graph"],
             summary="What changed between two dates: ties that appeared, ended or changed, with their evidence")
    def api_changes(
        since: Optional[str] = Query(None, max_length=10), until: Optional[str] = Query(None, max_length=10),
        source: Optional[str] = None, include_hedged: bool = True, include_rejected: bool = False,
    ) -> dict:
        return _changes(since, until, source, include_hedged, include_rejected)

    @app.get("/changes", response_class=HTMLResponse, include_in_schema=False)
    def changes_page(request: Request, since: Optional[str] = None, until: Optional[str] = None,
                     source: Optional[str] = None):
        # a GET form: the two dates live in the URL, so a comparison can be bookmarked
        form = {"since": since or "", "until": until or "", "source": source or ""}
        if not (since and until):
            return page(request, "changes.html", active="changes", form=form, result=None, error=None)
        try:
            result = _changes(since, until, source, True, False)
        except HTTPException as exc:
            response = page(request, "changes.html", active="changes", form=form, result=None, error=exc.detail)
            response.status_code = 422
            return response
        return page(request, "changes.html", active="changes", form=form, result=result, error=None)
    # -- end of time and grouped ties ---------------------------------------------------

    @app.get("/api/years", tags=["graph"], summary="Years with dated facts (for the date control)")
    def api_years() -> dict:
        with ws.lock:
            rows = ws.con.execute(
                "SELECT DISTINCT substr(coalesce(f.date, d.published), 1, 4) AS y FROM facts f "
                "JOIN documents d ON d.id = f.document_id WHERE coalesce(f.date, d.published) IS NOT NULL ORDER BY y"
            ).fetchall()
        return {"years": [int(r[0]) for r in rows if r[0] and r[0].isdigit()]}

    def _document(document_id: str) -> dict:
        with ws.lock:
            rows = queries._rows(
                ws.con,
                "SELECT id, doc_id, title, published, source, language, text, raw_text, boilerplate FROM documents "
                "WHERE id = ? OR doc_id = ? ORDER BY id = ? DESC LIMIT 1",
                [document_id, document_id, document_id],
            )
            if not rows:
                raise HTTPException(404, f"no document {document_id}")
            doc = rows[0]
            # what the cleaner removed (navigation, comments, cookie text): shown behind a toggle
            try:
                doc["boilerplate"] = [b for b in json.loads(doc.get("boilerplate") or "[]") if isinstance(b, str)]
            except ValueError:
                doc["boilerplate"] = []
            mentions = queries._rows(
                ws.con,
                'SELECT m.actor_id, a.name AS actor_name, a.type AS actor_type, m.text, m."start", m."end" '
                'FROM mentions m JOIN actors a ON a.id = m.actor_id WHERE m.document_id = ? ORDER BY m."start"',
                [doc["id"]],
            )
            facts = queries._rows(
                ws.con,
                'SELECT f.id, f.relation, f.subject_id, s.name AS subject, f.object_id, o.name AS object, '
                'f.evidence, f."start", f."end", f.date, f.date_source, f.confidence, f.hedged, f.attributed_to '
                "FROM facts f JOIN actors s ON s.id = f.subject_id JOIN actors o ON o.id = f.object_id "
                'WHERE f.document_id = ? ORDER BY f."start", f.id',
                [doc["id"]],
            )
            reviews = ws.latest_reviews()
        segments = _clean_segments(doc)
        if segments is None:  # show the raw text, where the offsets point directly
            shown, segments = doc["raw_text"] or "", None
        else:
            shown = doc["text"] or ""
        for item in mentions + facts:
            if segments is None:
                item["clean"] = [(item["start"], item["end"])] if item["start"] is not None else []
            else:
                item["clean"] = _raw_to_clean(segments, item["start"] or 0, item["end"] or 0)
            item["clean_start"] = item["clean"][0][0] if item["clean"] else None
            item["clean_end"] = item["clean"][-1][1] if item["clean"] else None
        for f in facts:
            rev = reviews.get(f["id"])
            f["review"] = rev["action"] if rev else None
            f["rejected"] = bool(rev and rev["action"] == "reject")
            f["hedged"] = bool(f["hedged"])
        with ws.lock:
            doc["incidents"] = [incident_rows.summary(r) for r in incident_rows.of_document(ws.con, doc["id"])]
        doc["shown_text"] = "clean" if segments is not None else "raw"
        doc["mentions"] = mentions
        doc["facts"] = facts
        return doc

    @app.get("/api/documents", tags=["documents"], summary="Documents in the store")
    def api_documents() -> list[dict]:
        with ws.lock:
            return ws.store.documents()

    @app.get("/api/documents/{document_id}", tags=["documents"],
             summary="Cleaned text, mentions (raw and clean offsets), facts with evidence offsets")
    def api_document(document_id: str) -> dict:
        doc = _document(document_id)
        text = doc["text"] if doc["shown_text"] == "clean" else doc["raw_text"]
        out = {k: v for k, v in doc.items() if k not in ("raw_text",)}
        out["text"] = text
        return out

    @app.get("/api/places", tags=["places"], summary="Places of active_in / recruits_in / attacked facts, with coordinates")
    def api_places(
        since: Optional[str] = None, until: Optional[str] = None, include_rejected: bool = False
    ) -> list[dict]:
        from allegiance.resolve.gazetteer import load_gazetteer

        gz = load_gazetteer()
        with ws.lock:
            rows = []
            for rel in PLACE_RELATIONS:
                rows += ws.facts(relation=rel, since=since or None, until=until or None,
                                 include_rejected=include_rejected)
            ids = sorted({f["object_id"] for f in rows if f["object_type"] == "PLACE"})
            actors = {}
            if ids:
                ph = ", ".join("?" for _ in ids)
                for a in queries._rows(ws.con, f"SELECT id, name, kind, gazetteer_id FROM actors WHERE id IN ({ph})", ids):
                    actors[a["id"]] = a
        places: dict[str, dict] = {}
        for f in rows:
            if f["object_type"] != "PLACE":
                continue
            a = actors.get(f["object_id"])
            e = gz.by_id.get(a["gazetteer_id"]) if a and a["gazetteer_id"] else None
            p = places.setdefault(
                f["object_id"],
                {"id": f["object_id"], "name": a["name"] if a else f["object"], "kind": a["kind"] if a else None,
                 "lat": e.lat if e else None, "lon": e.lon if e else None, "country": e.country if e else None,
                 "facts": []},
            )
            p["facts"].append({k: f[k] for k in ("id", "relation", "subject_id", "subject", "date", "evidence",
                                                  "doc_id", "document_id", "hedged", "confidence")})
        return sorted(places.values(), key=lambda p: (-len(p["facts"]), p["name"]))

    # -- incidents (the same store reads and shaping as `allegiance incidents`) -----------
    def _incident_filters(since, until, place, actor):
        for value, name in ((since, "since"), (until, "until")):
            if value:
                try:
                    queries.check_date(value)
                except ValueError:  # no echo of the value (as guard.py's errors)
                    raise HTTPException(422, f"{name}: bad date: use YYYY, YYYY-MM or YYYY-MM-DD") from None
        return dict(since=since or None, until=until or None, place=(place or "").strip() or None,
                    actor=(actor or "").strip() or None)

    def _incident(incident_id: str) -> dict:
        with ws.lock:
            rec = incident_rows.incident(ws.con, incident_id)
            if rec is None:
                raise HTTPException(404, "no such incident")
            return incident_rows.view(ws.con, rec)

    @app.get("/api/incidents", tags=["incidents"],
             summary="Incidents (one attack, many reports), oldest first; the filters of `allegiance incidents`")
    def api_incidents(
        since: Optional[str] = Query(None, max_length=10), until: Optional[str] = Query(None, max_length=10),
        place: Optional[str] = Query(None, max_length=300), actor: Optional[str] = Query(None, max_length=300),
        disputed: Optional[bool] = None, min_sources: int = Query(1, ge=1),
        limit: Optional[int] = Query(None, ge=1),
    ) -> list[dict]:
        filters = _incident_filters(since, until, place, actor)
        with ws.lock:
            rows = incident_rows.incidents(ws.con, disputed=disputed, min_sources=min_sources, limit=limit, **filters)
        return [incident_rows.summary(r) for r in rows]

    @app.get("/api/incidents/{incident_id}", tags=["incidents"],
             summary="One incident: the summary, one column per report, the disagreements, the edits")
    def api_incident(incident_id: str) -> dict:
        return _incident(incident_id)

    @app.get("/api/incidents/{incident_id}/edits", tags=["incidents"], summary="Analysts' edits of an incident")
    def api_incident_edits(incident_id: str) -> list[dict]:
        return _incident(incident_id)["edits"]

    def _edit(fn, *args, body: IncidentEditIn) -> dict:
        if not ws.writable:
            raise HTTPException(409, "the store is open read-only; incidents cannot be edited")
        with ws.writing():
            try:
                result = fn(ws.store, *args, note=body.note, user=body.user or "anonymous")
            except incident_rows.EditError as exc:
                raise HTTPException(422, str(exc)) from None
        return {k: (incident_rows.summary(v) if isinstance(v, dict) else v) for k, v in result.items()}

    @app.post("/api/incidents/{incident_id}/merge", tags=["incidents"], dependencies=csrf_scheme,
              summary="Merge other incidents into this one (audited in incident_edits)")
    def api_incident_merge(incident_id: str, body: IncidentMergeIn) -> dict:
        if any(len(i) > 64 for i in body.incidents):
            raise HTTPException(422, "body.incidents: incident ids are at most 64 characters")
        return _edit(incident_rows.merge_incidents, [incident_id, *body.incidents], body=body)

    @app.post("/api/incidents/{incident_id}/split", tags=["incidents"], dependencies=csrf_scheme,
              summary="Take one report out of this incident into its own (audited in incident_edits)")
    def api_incident_split(incident_id: str, body: IncidentSplitIn) -> dict:
        return _edit(incident_rows.split_report, incident_id, body.doc_id, body=body)

    @app.post("/api/facts/{fact_id}/review", tags=["review"], summary="Confirm, reject or correct a fact",
              dependencies=csrf_scheme)
    def api_review(fact_id: str, review: ReviewIn) -> dict:
        with ws.lock:
            return ws.add_review(fact_id, review)

    @app.post("/api/actors/{actor_id}/merge", tags=["review"], dependencies=csrf_scheme,
              summary="Merge another actor (body: other) into this one; undone by .../unmerge")
    def api_merge(actor_id: str, body: ActorMergeIn) -> dict:
        with ws.lock:
            return ws.correct(corrections.merge, body.other, actor_id, body.user or ws.reviewer)

    @app.post("/api/actors/{actor_id}/unmerge", tags=["review"], dependencies=csrf_scheme,
              summary="Undo a merge: actor_id is the merged-away actor's id (or the merge id)")
    def api_unmerge(actor_id: str, body: CorrectionIn) -> dict:
        with ws.lock:
            return ws.correct(corrections.unmerge, actor_id, body.user or ws.reviewer)

    @app.post("/api/actors/{actor_id}/split-alias", tags=["review"], dependencies=csrf_scheme,
              summary="Split an alias (body: alias) off this actor into an actor of its own")
    def api_split_alias(actor_id: str, body: SplitAliasIn) -> dict:
        with ws.lock:
            return ws.correct(corrections.split_alias, actor_id, body.alias, body.user or ws.reviewer)

    @app.get("/api/actors/{actor_id}/merges", tags=["review"], summary="Active merges into this actor")
    def api_actor_merges(actor_id: str) -> list[dict]:
        with ws.lock:
            return [{"merge": m["id"], "from": m["from_id"], "user": m["user"],
                     "created_at": m["created_at"].isoformat(timespec="seconds")}
                    for m in corrections.active_merges(ws.con) if m["into_id"] == actor_id]

    @app.get("/api/audit", tags=["review"], summary="Every correction: when, who, what, before and after")
    def api_audit() -> list[dict]:
        with ws.lock:
            return corrections.audit_rows(ws.con)

    @app.get("/api/facts/{fact_id}/reviews", tags=["review"], summary="Review history of a fact")
    def api_fact_reviews(fact_id: str) -> list[dict]:
        with ws.lock:
            return ws.reviews_for(fact_id)

    @app.post(
        "/api/ingest", tags=["ingest"],
        summary="Ingest uploaded files (multipart `files`) and/or pasted `text` (optional `title`)",
        description=f"Each upload runs through the same pipeline as `allegiance ingest`. Limits: "
        f"{max_file_bytes} bytes per file, {max_request_bytes} bytes per request (413 beyond). "
        f"Uploads are extracted one at a time; {max_pending_uploads} requests in hand at most (503 beyond). "
        "Returns one result per upload: name, status (added|unchanged|replaced|failed), error, "
        "document_id, facts_added, actors_added.",
        dependencies=csrf_scheme,
    )
    async def api_ingest(request: Request) -> list[dict]:
        from starlette.concurrency import run_in_threadpool

        if not ws.writable:
            raise HTTPException(409, "the store is open read-only (allegiance serve --read-only); "
                                     "nothing can be ingested")
        if not uploads_queue.enter():
            raise HTTPException(503, f"busy: {max_pending_uploads} uploads are being processed or waiting; "
                                     "try again shortly", headers={"Retry-After": "10"})
        try:
            # spooled while it arrives (bounded), then parsed and extracted one request at a time
            spool = await spool_body(request, max_request_bytes + ENVELOPE_SLACK)
            return await run_in_threadpool(
                uploads_queue.run, process_upload, ws, spool, request.headers.get("content-type", ""),
                max_file_bytes, max_request_bytes,
            )
        finally:
            uploads_queue.leave()

    # -- pages ---------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/network")

    @app.get("/network", response_class=HTMLResponse, include_in_schema=False)
    def network_page(request: Request):
        return page(request, "network.html", active="network")

    @app.get("/actors/{actor_id}", response_class=HTMLResponse, include_in_schema=False)
    def actor_page(request: Request, actor_id: str, rel: Optional[str] = Query(None, max_length=64),
                   tpage: int = Query(1, ge=1), page_no: int = Query(1, ge=1, alias="page")):
        # paged (web/lists.py): ties grouped by relation, "who leads", one page of the
        # timeline; the whole card (/api/actors/{id}) of a 100,000-fact actor takes seconds
        with ws.lock:
            card = lists.actor_view(ws.con, actor_id, rel or None, tpage, page_no)
            if card is None:
                raise HTTPException(404, "no such actor")
            card["incidents"] = [incident_rows.summary(r) for r in incident_rows.involving(ws.con, card["actor"]["id"])]
        card["gazetteer"] = None
        if card["actor"].get("gazetteer_id"):
            from allegiance.resolve.gazetteer import load_gazetteer

            e = load_gazetteer().by_id.get(card["actor"]["gazetteer_id"])
            if e is not None:
                card["gazetteer"] = {"id": e.id, "kind": e.kind, "country": e.country, "lat": e.lat, "lon": e.lon}
        card["qs_ties"] = lambda page: lists.query_link(request, tpage=page)
        card["qs_timeline"] = lambda page: lists.query_link(request, page=page)
        return page(request, "actor.html", active="actor", card=card)

    @app.get("/documents/{document_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, document_id: str, fact: Optional[str] = None):
        doc = _document(document_id)
        text = doc["text"] if doc["shown_text"] == "clean" else doc["raw_text"]
        pieces = render_pieces(text or "", doc["mentions"], doc["facts"])
        return page(request, "document.html", active="document", doc=doc, pieces=pieces, selected=fact)

    @app.get("/ingest", response_class=HTMLResponse, include_in_schema=False)
    def ingest_page(request: Request):
        return page(request, "ingest.html", active="ingest", read_only=not ws.writable,
                    max_file_bytes=max_file_bytes, max_request_bytes=max_request_bytes)

    @app.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
    def incidents_page(request: Request, since: Optional[str] = None, until: Optional[str] = None,
                       place: Optional[str] = None, actor: Optional[str] = None, disputed: Optional[str] = None):
        # the filters live in the URL (a GET form), so a filtered list can be bookmarked and shared
        form = {"since": since or "", "until": until or "", "place": place or "", "actor": actor or "",
                "disputed": disputed in ("1", "true", "on", "yes")}
        try:
            filters = _incident_filters(since, until, place, actor)
        except HTTPException as exc:
            response = page(request, "incidents.html", active="incidents", form=form, rows=[], error=exc.detail)
            response.status_code = 422
            return response
        with ws.lock:
            rows = incident_rows.incidents(ws.con, disputed=True if form["disputed"] else None, **filters)
        return page(request, "incidents.html", active="incidents", form=form,
                    rows=[incident_rows.summary(r) for r in rows], error=None)

    @app.get("/incidents/{incident_id}", response_class=HTMLResponse, include_in_schema=False)
    def incident_page(request: Request, incident_id: str):
        inc = _incident(incident_id)
        if inc["incident_id"] != incident_id:  # merged away by an edit: the incident it is now part of
            from urllib.parse import quote

            return RedirectResponse("/incidents/" + quote(inc["incident_id"], safe=""))
        return page(request, "incident.html", active="incidents", inc=inc, read_only=not ws.writable)

    @app.get("/map", response_class=HTMLResponse, include_in_schema=False)
    def map_page(request: Request):
        return page(request, "map.html", active="map")

    lists.register(app, ws, page)  # /documents, /actors, /review, /search, /api/export, HTML 404s
    return app


def json_script(value: Any) -> str:
    """JSON safe inside a <script> element (no closing tags, no comment openers)."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )
