"""Ties with spans: the network as of a date, and what changed between two dates.

A *tie* is every fact with the same (subject, relation, object) (the two ends sorted for a
symmetric relation), with its sources and dates. One implementation for the web API
(``/api/graph``, ``/api/changes``, ``/api/tie``) and any other reader: each function takes
fact rows as ``Store.facts`` (or the web's review-aware ``WebStore.facts``) returns them.

Dates
    A fact's ``when`` is its own date (``date_source = "stated"``) or, for a fact the article
    gives no date of its own, the article's date (``date_source = "as_reported"``): its
    publication date, else the latest date the article itself states (it cannot be older
    than what it reports; ``date_basis`` says which). A fact of an article with neither is
    undated: counted (``undated``), never placed in time.

Spans
    A tie is in force from its first dated fact. It ends, as of the ending fact's date, when
    the same subject
    * defects from (or splits from) the tie's object (``defected_from``): its membership,
      allegiance and leadership of that object end (ties reported up to that date);
    * pledges allegiance to, joins, becomes a member or affiliate of another group: its
      earlier membership or allegiance ends (ties reported strictly before that date), unless
      the two groups are tied to each other (a member of AQIM who is also called a member of
      al-Qaeda has not left AQIM).
    A fact of the tie dated after its end opens a new span (the tie is reported again).
    Other relations (attacks, rivalries, places) never end: they are in force from their date.

"As of D" (YYYY, YYYY-MM or YYYY-MM-DD) means at the end of that period: a tie started on
or before D's last day, not ended by then. Dates compare as their first day (``2016``
starts on 2016-01-01), so a tie ended in 2016 is not in force as of 2016, and is as of 2015.
"""
from __future__ import annotations

import calendar
import hashlib
import re
from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import Any, Callable, Iterable

from allegiance.records import SYMMETRIC_RELATIONS

BELONGING = frozenset({"member_of", "joined", "pledged_allegiance_to", "affiliate_of"})
DEFECTION = frozenset({"defected_from"})
#: what a defection from a group ends (the subject's ties to that same group)
ENDED_BY_DEFECTION = BELONGING | {"leader_of"}
#: relations between two groups that make a new belonging compatible with the old one
_RELATED = BELONGING | {"merged_into", "leader_of"}

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@lru_cache(maxsize=65536)  # a store has a few thousand distinct dates; ties compare them millions of times
def first_day(date: str) -> str:
    m = _DATE.match(date)
    if not m:
        raise ValueError(f"bad date {date!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    return f"{m.group(1)}-{m.group(2) or '01'}-{m.group(3) or '01'}"


def last_day(date: str) -> str:
    m = _DATE.match(date)
    if not m:
        raise ValueError(f"bad date {date!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
    y = int(m.group(1))
    if m.group(3):
        return date
    if m.group(2):
        mo = int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f"bad date {date!r}: month out of range")
        return f"{y:04d}-{mo:02d}-{calendar.monthrange(y, mo)[1]:02d}"
    return f"{y:04d}-12-31"


def _key(f: dict) -> tuple[str, str, str]:
    s, o = f["subject_id"], f["object_id"]
    if f["relation"] in SYMMETRIC_RELATIONS and o < s:
        s, o = o, s
    return s, f["relation"], o


def tie_id(key: tuple[str, str, str]) -> str:
    """A stable, URL-safe id for a tie (the same for every filter and date)."""
    return "t" + hashlib.sha1("\x1f".join(key).encode("utf-8")).hexdigest()[:16]


# -- dates ---------------------------------------------------------------------------
def article_dates(con, document_ids: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """document id -> (date, basis): its publication date ("published"), else the latest
    date its own facts state ("latest_in_article"), else (None, None)."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    rows = con.execute(
        "SELECT d.id, d.published, (SELECT max(f.date) FROM facts f WHERE f.document_id = d.id "
        "AND f.date_source = 'text') FROM documents d WHERE d.id IN (SELECT unnest(?::VARCHAR[]))",
        [ids],
    ).fetchall()
    out = {}
    for did, published, latest in rows:
        if published and _DATE.match(published):
            out[did] = (published, "published")
        elif latest and _DATE.match(latest):
            out[did] = (latest, "latest_in_article")
        else:
            out[did] = (None, None)
    return out


def place_in_time(rows: list[dict], dates: dict[str, tuple[str | None, str | None]]) -> list[dict]:
    """Give each fact ``when``, ``date_source`` ("stated" | "as_reported" | None) and
    ``date_basis`` (for as-reported facts: "published" | "latest_in_article")."""
    for f in rows:
        own = f.get("date") if f.get("date_source") not in ("published", "as_reported") else None
        if own and _DATE.match(own):
            f["when"], f["date_source"], f["date_basis"] = own, "stated", None
            continue
        when, basis = dates.get(f.get("document_id"), (None, None))
        if when is None and f.get("date_source") == "published" and f.get("date") and _DATE.match(f["date"]):
            when, basis = f["date"], "published"  # the store dated it by its article's publication
        if when is None and f.get("published") and _DATE.match(f["published"]):
            when, basis = f["published"], "published"
        f["when"] = when
        f["date_source"] = "as_reported" if when else None
        f["date_basis"] = basis
    return rows


def load(fetch: Callable[..., list[dict]], con, *, since: str | None = None, until: str | None = None,
         keep_undated: bool = False, **filters: Any) -> list[dict]:
    """Facts placed in time whose ``when`` lies in [since, until] (either may be None).

    ``fetch`` is ``Store.facts`` or ``WebStore.facts`` (same keywords). The store dates a
    fact without a date of its own by its article's publication date, so the date bounds
    go to SQL; only when some facts have no date at all (articles without a publication
    date) are those read too and placed by the latest date their article states."""
    lo = first_day(since) if since else None
    hi = last_day(until) if until else None
    undated = con.execute("SELECT count(*) FROM facts WHERE date IS NULL").fetchone()[0]
    if undated:
        rows = fetch(**filters)
    else:
        rows = fetch(since=since, until=until, **filters)
    place_in_time(rows, article_dates(con, {f["document_id"] for f in rows if not f.get("date")}))
    if lo or hi:
        rows = [f for f in rows if (keep_undated and not f["when"]) or (
            f["when"] and (not lo or last_day(f["when"]) >= lo) and (not hi or first_day(f["when"]) <= hi))]
    return rows


def _slim_filter(con, since, until, relation, actor_ids, source, include_hedged, include_rejected,
                 bounded: bool) -> tuple[str, list[str], list[Any]]:
    """FROM clause, WHERE conditions and parameters of ``Store.facts``'s filters; date bounds
    only when ``bounded`` (no fact without a date)."""
    from allegiance.store import queries

    where, params = [], []
    if since and bounded:
        c, a = queries.date_since(queries.check_date(since))
        where.append(c)
        params += a
    if until and bounded:
        c, a = queries.date_until(queries.check_date(until))
        where.append(c)
        params += a
    if relation:
        where.append("f.relation = ?")
        params.append(relation.strip())
    if actor_ids is not None:
        where.append("(f.subject_id IN (SELECT unnest(?::VARCHAR[])) OR f.object_id IN (SELECT unnest(?::VARCHAR[])))")
        params += [list(actor_ids), list(actor_ids)]
    frm = "FROM facts f"
    if source:
        frm += " JOIN documents d ON d.id = f.document_id"
        where.append("(contains(lower(d.doc_id), lower(?)) OR contains(lower(coalesce(d.source, '')), lower(?)) "
                     "OR contains(lower(coalesce(d.title, '')), lower(?)))")
        params += [source, source, source]
    if not include_hedged:
        where.append("NOT coalesce(f.hedged, false)")
    if not include_rejected and (clause := queries.not_rejected(con)):
        where.append(clause)
    return frm, where, params


def _bounded(con) -> bool:
    # facts without any date (articles without a publication date) are placed by their
    # article's latest stated date, after the query: then the bounds cannot go to SQL
    return not con.execute("SELECT count(*) FROM facts WHERE date IS NULL").fetchone()[0]


def load_slim(con, *, since: str | None = None, until: str | None = None, relation: str | None = None,
              actor_ids: list[str] | None = None, source: str | None = None, include_hedged: bool = True,
              include_rejected: bool = False) -> list[dict]:
    """The columns ties need (no evidence, names or joins), filtered in SQL, placed in time.

    What the network reads on a big store: a one-year window of the 1M-fact bench store is
    ~40k facts, and reading them whole with names and documents costs seconds
    (bench/store_bench.py). Rows are those of ``Store.facts`` with the filters applied the
    same way (rejected facts left out unless asked); evidence comes later, per tie."""
    frm, where, params = _slim_filter(con, since, until, relation, actor_ids, source, include_hedged,
                                      include_rejected, _bounded(con))
    sql = ('SELECT f.id, f.subject_id, f.relation, f.object_id, f.date, f.date_source, f.document_id, '
           f'coalesce(f.hedged, false) AS hedged {frm}' + (" WHERE " + " AND ".join(where) if where else ""))
    cur = con.execute(sql, params)
    names = [c[0] for c in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    place_in_time(rows, article_dates(con, {f["document_id"] for f in rows if not f.get("date")}))
    lo = first_day(since) if since else None
    hi = last_day(until) if until else None
    if lo or hi:
        rows = [f for f in rows if not f["when"] or (
            (not lo or last_day(f["when"]) >= lo) and (not hi or first_day(f["when"]) <= hi))]
    return rows


def window_ties(con, *, since: str | None = None, until: str | None = None, relation: str | None = None,
                actor_ids: list[str] | None = None, source: str | None = None, include_hedged: bool = True,
                include_rejected: bool = False) -> list[dict] | None:
    """``build_ties(load_slim(...))`` with the grouping done in SQL: the ties of a window with
    their fact ids and dates, and spans from the window's ending facts (read apart, few
    columns). None when some fact has no date at all (then ``load_slim`` places it)."""
    got = heaviest_window_ties(con, None, since=since, until=until, relation=relation, actor_ids=actor_ids,
                               source=source, include_hedged=include_hedged, include_rejected=include_rejected)
    return None if got is None else got[0]


def heaviest_window_ties(con, limit: int | None, *, since: str | None = None, until: str | None = None,
                         relation: str | None = None, actor_ids: list[str] | None = None,
                         source: str | None = None, include_hedged: bool = True,
                         include_rejected: bool = False) -> tuple[list[dict], dict] | None:
    """The ``limit`` heaviest ties of a window (most facts first, then by key; every tie when
    ``limit`` is None), each exactly as ``window_ties`` gives it, and the window's totals
    ``{"ties": all ties, "facts": all facts}``. None when some fact has no date at all.

    The counting, ranking and cut are one SQL query: only the kept ties' fact ids and dates
    come back to Python, and only the ending facts of the kept ties' subjects and the ties
    between groups that touch the kept ties' objects (what ``_ender`` looks at) are read for
    the spans. A one-year window of the 1M-fact bench store has ~38k ties."""
    if not _bounded(con):
        return None
    frm, where, params = _slim_filter(con, since, until, relation, actor_ids, source, include_hedged,
                                      include_rejected, True)
    cond = " WHERE " + " AND ".join(where) if where else ""
    sym = ", ".join(f"'{r}'" for r in sorted(SYMMETRIC_RELATIONS))
    swap = f"f.relation IN ({sym}) AND f.object_id < f.subject_id"
    window = (f"SELECT f.id, CASE WHEN {swap} THEN f.object_id ELSE f.subject_id END AS s, f.relation, "
              f"CASE WHEN {swap} THEN f.subject_id ELSE f.object_id END AS o, f.date, f.date_source, "
              f"f.document_id, coalesce(f.hedged, false) AS hedged {frm}{cond}")
    cut = "" if limit is None else f" LIMIT {int(limit)}"
    grouped = con.execute(
        f"WITH w AS ({window}), g AS (SELECT s, relation, o, count(*) AS n FROM w GROUP BY s, relation, o), "
        f"top AS (SELECT s, relation, o, count(*) OVER () AS n_ties, sum(n) OVER () AS n_facts FROM g "
        f"ORDER BY n DESC, s, relation, o{cut}) "
        f"SELECT w.s, w.relation, w.o, count(DISTINCT w.document_id), bool_and(w.hedged), "
        f"list(w.id ORDER BY w.date, w.id), list(w.date ORDER BY w.date, w.id), "
        f"list(w.date_source ORDER BY w.date, w.id), any_value(top.n_ties), any_value(top.n_facts) "
        f"FROM w JOIN top ON w.s = top.s AND w.relation = top.relation AND w.o = top.o "
        f"GROUP BY w.s, w.relation, w.o", params).fetchall()
    totals = {"ties": int(grouped[0][8]) if grouped else 0, "facts": int(grouped[0][9]) if grouped else 0}
    enders = ", ".join(f"'{r}'" for r in sorted(DEFECTION | BELONGING))
    related = ", ".join(f"'{r}'" for r in sorted(_RELATED))
    keys = [(g[0], g[1], g[2]) for g in grouped]
    ev_cond, ev_params = "", []
    if limit is not None:  # only the kept subjects' defections and belongings end kept ties
        ev_cond, ev_params = " AND f.subject_id IN (SELECT unnest(?::VARCHAR[]))", [sorted({k[0] for k in keys})]
    events = [{"id": i, "subject_id": s_, "relation": r_, "object_id": o_, "when": d, "date": d,
               "date_source": "stated" if ds == "text" else "as_reported"}
              for i, s_, r_, o_, d, ds in con.execute(
                  f"SELECT f.id, f.subject_id, f.relation, f.object_id, f.date, f.date_source {frm}{cond}"
                  f"{' AND' if cond else ' WHERE'} f.relation IN ({enders}){ev_cond}", params + ev_params).fetchall()]
    extra = []
    if limit is not None:
        # end_of asks whether the group of a kept subject's new belonging is tied to the kept
        # tie's object: the window's ties between those two sets of groups are enough
        objs = sorted({k[2] for k in keys})
        joined = sorted({e["object_id"] for e in events if e["relation"] in BELONGING})
        if objs and joined:
            extra = con.execute(
                f"WITH w AS ({window}) SELECT DISTINCT s, relation, o FROM w WHERE relation IN ({related}) "
                f"AND ((s IN (SELECT unnest(?::VARCHAR[])) AND o IN (SELECT unnest(?::VARCHAR[]))) "
                f"OR (o IN (SELECT unnest(?::VARCHAR[])) AND s IN (SELECT unnest(?::VARCHAR[]))))",
                params + [objs, joined, objs, joined]).fetchall()
    end_of = _ender(keys + [tuple(k) for k in extra], events)
    out = []
    for s_, r_, o_, sources, hedged, ids, dates, sources_of_date, _, _ in grouped:
        key = (s_, r_, o_)
        # list() orders dates as strings; spans and first/last compare first days
        order = sorted(range(len(ids)), key=lambda i: (first_day(dates[i]), ids[i]))
        whens = [dates[i] for i in order]
        facts = [{"id": ids[i], "when": dates[i], "date_source": "stated" if sources_of_date[i] == "text"
                  else "as_reported"} for i in order]
        out.append({
            "id": tie_id(key), "subject_id": s_, "relation": r_, "object_id": o_, "subject": None, "object": None,
            "facts": facts, "sources": sources, "first": whens[0], "last": max(whens, key=first_day),
            "as_reported": sum(1 for f in facts if f["date_source"] == "as_reported"), "undated": 0,
            "hedged": bool(hedged), "spans": _spans(key, whens, end_of),
        })
    out.sort(key=lambda t: (t["subject_id"], t["relation"], t["object_id"]))
    return out, totals


def _first_day_sql(col: str) -> str:
    """SQL of ``first_day`` for a stored YYYY[-MM[-DD]] date."""
    return (f"CASE length({col}) WHEN 4 THEN {col} || '-01-01' WHEN 7 THEN {col} || '-01' "
            f"ELSE {col} END")


def heaviest_as_of_ties(con, as_of: str, limit: int, *, relation: str | None = None,
                        actor_ids: list[str] | None = None, source: str | None = None,
                        include_hedged: bool = True, include_rejected: bool = False,
                        index=None) -> tuple[list[dict], dict] | None:
    """``heaviest(network_as_of(build_ties(load_slim(until=as_of)), as_of), limit)`` (relation
    and actor filtering the ties in force, as the network does), and the totals of the ties
    in force ``{"ties", "facts"}``; None when some fact has no date at all.

    From an ``allegiance.analysis.asof.AsOfIndex`` of the store under the same fact filters
    (``source``, ``include_hedged``, ``include_rejected``): ``index`` when the caller keeps
    one (the web app, until the store changes), else one built for this call. Which ties
    are in force, their weights and the cut are array lookups on it; the kept ties' facts
    and spans are computed as ``build_ties`` computes them (asof.py says why an index)."""
    from allegiance.analysis.asof import AsOfIndex

    if index is None:
        index = AsOfIndex.build(con, source=source, include_hedged=include_hedged,
                                include_rejected=include_rejected)
        if index is None:
            return None
    return index.heaviest(as_of, limit, relation=relation, actor_ids=actor_ids)


def heaviest(ties: list[dict], limit: int | None) -> list[dict]:
    """The ``limit`` ties with most facts (then by key), in key order: the cut
    ``heaviest_window_ties`` makes in SQL, for ties built in Python."""
    if limit is None or len(ties) <= limit:
        return ties
    kept = sorted(ties, key=lambda t: (-len(t["facts"]), t["subject_id"], t["relation"], t["object_id"]))[:limit]
    return sorted(kept, key=lambda t: (t["subject_id"], t["relation"], t["object_id"]))


# -- ties ----------------------------------------------------------------------------
def _evidence(f: dict) -> dict:
    return {k: f.get(k) for k in (
        "id", "relation", "subject_id", "subject", "object_id", "object", "when", "date", "date_source",
        "date_basis", "evidence", "doc_id", "document_id", "title", "source", "hedged", "confidence",
        "attributed_to", "original_relation", "review")}


def _ender(keys: Iterable[tuple[str, str, str]], events: Iterable[dict]) -> Callable[..., dict | None]:
    """``end_of(subject, relation, obj, start_day)``: the fact ending a span of that tie that
    starts on ``start_day`` (see the module doc), from the ties' keys (which groups are tied
    to each other) and the dated facts that may end a tie."""
    # the groups each group is tied to (either direction): a new belonging to one of them
    # does not end the old one
    related: dict[str, set[str]] = {}
    for (s, r, o) in keys:
        if r in _RELATED:
            related.setdefault(s, set()).add(o)
            related.setdefault(o, set()).add(s)
    # ending events, date order: defections per (subject, group), belongings per subject
    defections: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    belongings: dict[str, list[tuple[str, dict]]] = {}
    for f in events:
        if not f.get("when"):
            continue
        if f["relation"] in DEFECTION:
            defections.setdefault((f["subject_id"], f["object_id"]), []).append((first_day(f["when"]), f))
        elif f["relation"] in BELONGING:
            belongings.setdefault(f["subject_id"], []).append((first_day(f["when"]), f))
    for evs in (*defections.values(), *belongings.values()):
        evs.sort(key=lambda e: (e[0], e[1]["id"]))
    days = {k: [e[0] for e in evs] for k, evs in defections.items()}
    bdays = {k: [e[0] for e in evs] for k, evs in belongings.items()}

    def end_of(subject: str, relation: str, obj: str, start: str) -> dict | None:
        """The first event ending a span of this tie that starts on ``start`` (a defection
        from the group on or after it; a belonging elsewhere strictly after it); on the
        same day the defection wins, as it explains the end."""
        best = None
        evs = defections.get((subject, obj))
        if evs:
            i = bisect_left(days[(subject, obj)], start)
            if i < len(evs):
                best = evs[i]
        if relation in BELONGING and subject in belongings:
            evs, ds = belongings[subject], bdays[subject]
            near = related.get(obj, ())
            for at, e in evs[bisect_right(ds, start):]:
                if best is not None and at >= best[0]:
                    break
                if e["object_id"] != obj and e["object_id"] not in near:
                    best = (at, e)
                    break
        return best[1] if best else None

    return end_of


def _spans(key: tuple[str, str, str], whens: list[str], end_of) -> list[dict]:
    """The spans of a tie whose dated facts fall on ``whens`` (date order)."""
    subject, relation, obj = key
    ends = relation in ENDED_BY_DEFECTION
    spans: list[dict] = []
    end_day = None
    for when in whens:
        day = first_day(when)
        if spans and (end_day is None or day <= end_day):
            continue  # in force already, or reported up to its end: the span that ended
        span = {"start": when, "end": None, "ended_by": None}
        spans.append(span)
        e = end_of(subject, relation, obj, day) if ends else None
        if e is None:
            if not ends:
                break  # never ends: every later fact is in this span
            end_day = None
            continue
        span["end"], span["ended_by"] = e["when"], _evidence(e)
        end_day = first_day(e["when"])  # a later fact of the tie reopens it after this
    return spans


def build_ties(rows: list[dict]) -> list[dict]:
    """Group facts into ties and compute their spans (see the module doc).

    Each tie: ``id``, ``subject_id``, ``relation``, ``object_id`` (+ names and types),
    ``facts`` (evidence rows, date order, undated last), ``sources`` (distinct documents),
    ``first``/``last`` (dates of its dated facts), ``as_reported`` (how many of them are
    dated by their article), ``undated``, ``hedged`` (every fact hedged), ``spans``: list of
    ``{"start", "end", "ended_by"}`` (``end`` None while in force; ``ended_by`` the ending
    fact's evidence)."""
    ties: dict[tuple, dict] = {}
    for f in rows:
        k = _key(f)
        t = ties.get(k)
        if t is None:
            s_first = f["subject_id"] == k[0]
            t = ties[k] = {
                "id": tie_id(k), "subject_id": k[0], "relation": k[1], "object_id": k[2],
                "subject": f.get("subject") if s_first else f.get("object"),
                "object": f.get("object") if s_first else f.get("subject"),
                "subject_type": f.get("subject_type") if s_first else f.get("object_type"),
                "object_type": f.get("object_type") if s_first else f.get("subject_type"),
                "facts": [],
            }
        t["facts"].append(f)
    end_of = _ender(ties.keys(), rows)
    out = []
    for k, t in ties.items():
        facts = t["facts"]
        facts.sort(key=lambda f: (f.get("when") is None, first_day(f["when"]) if f.get("when") else "",
                                  f.get("doc_id") or "", f.get("start") or 0, f["id"]))
        dated = [f for f in facts if f.get("when")]
        spans = _spans(k, [f["when"] for f in dated], end_of)
        t.update(
            facts=[_evidence(f) for f in facts],
            sources=len({f.get("document_id") for f in facts}),
            first=dated[0]["when"] if dated else None,
            last=max((f["when"] for f in dated), key=first_day) if dated else None,
            as_reported=sum(1 for f in dated if f["date_source"] == "as_reported"),
            undated=len(facts) - len(dated),
            hedged=all(bool(f.get("hedged")) for f in facts),
            spans=spans,
        )
        out.append(t)
    out.sort(key=lambda t: (t["subject_id"], t["relation"], t["object_id"]))
    return out


def in_force(tie: dict, date: str) -> dict | None:
    """The span of ``tie`` in force at the end of period ``date``, or None."""
    hi = last_day(date)
    for sp in tie["spans"]:
        if first_day(sp["start"]) <= hi and (sp["end"] is None or first_day(sp["end"]) > hi):
            return sp
    return None


def network_as_of(ties: list[dict], date: str) -> list[dict]:
    """The ties in force as of ``date``, each with ``span`` (the one in force) and
    ``facts`` cut to those reported by then."""
    hi = last_day(date)
    out = []
    for t in ties:
        sp = in_force(t, date)
        if sp is None:
            continue
        shown = dict(t)
        shown["span"] = sp
        shown["facts"] = [f for f in t["facts"] if f["when"] and first_day(f["when"]) <= hi]
        shown["sources"] = len({f["document_id"] for f in shown["facts"]})
        out.append(shown)
    return out


def changes(ties: list[dict], since: str, until: str) -> dict:
    """What changed between the end of ``since`` and the end of ``until``.

    ``appeared``: in force at ``until``, not at ``since`` (with the facts that started it);
    ``ended``: in force at ``since``, not at ``until`` (with the fact that ended it);
    ``changed``: in force at both, with new reports in between (those facts). Each entry is
    the tie with ``evidence`` (the facts that explain the change)."""
    lo, hi = last_day(since), last_day(until)
    if lo > hi:
        raise ValueError("the first date must not be after the second")
    appeared, ended, changed = [], [], []
    for t in ties:
        a, b = in_force(t, since), in_force(t, until)
        between = [f for f in t["facts"] if f["when"] and lo < first_day(f["when"]) <= hi]
        base = {k: v for k, v in t.items() if k != "facts"}
        if b and not a:
            started = [f for f in t["facts"] if f["when"] and first_day(f["when"]) >= first_day(b["start"])
                       and first_day(f["when"]) <= hi]
            appeared.append({**base, "change": "appeared", "span": b, "evidence": started})
        elif a and not b:
            closing = [a["ended_by"]] if a.get("ended_by") else []
            if not closing:  # ended by a later span's end
                for sp in t["spans"]:
                    if sp["end"] and lo < first_day(sp["end"]) <= hi and sp.get("ended_by"):
                        closing = [sp["ended_by"]]
                        break
            ended.append({**base, "change": "ended", "span": a, "ended_by": closing[0] if closing else None,
                          "evidence": closing + [f for f in t["facts"] if f["when"]
                                                 and first_day(f["when"]) <= lo][-3:]})
        elif a and b and between:
            changed.append({**base, "change": "changed", "span": b, "evidence": between,
                            "new_sources": len({f["document_id"] for f in between})})
    return {"since": since, "until": until, "appeared": appeared, "ended": ended, "changed": changed}
