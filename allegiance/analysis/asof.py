"""The network as of any date from one index: the time slider's read (``/api/graph?as_of=``).

``network_as_of(build_ties(load_slim(con, until=D)), D)`` (ties.py) is the definition; read
straight from the store it costs seconds on a big one (the 1M-fact bench store: ~0.5M facts
up to an average date, every subject's defections and belongings, bench/store_bench.py),
and the slider asks it again for every period it stops on.

Why an index built once, not a tie table kept by every writer: whether a tie is in force as
of D is not a property of the tie's own facts. A membership ends when its subject pledges
to another group, unless the two groups are tied to each other *by D*, so one
``merged_into`` report between two groups re-opens (for later dates) the memberships of
every subject that moved between them, and a pledge changes every earlier belonging of its
subject. Kept up to date on each write (ingest batches, re-ingests, merges that move facts
between actors, splits, rejections), such a table needs most of this computation again for
the hubs a write touches, on every write, and a write path that forgot it would serve
wrong networks silently. The index is built instead from the facts as they are, when the
first as-of question after a change arrives, and kept by the web app until the store
changes (``fingerprint``); every date is then a lookup. It is exact by construction: the
ties shown, their facts and their spans are computed by the same rules as ``_spans`` and
``_ender``, and tests/test_web_asof.py and test_web_graph.py compare it with the definition.

What the index holds
    * every tie (subject, relation, object; sorted ends for a symmetric relation), its
      facts in date order (first day, then id) with their day as an integer YYYYMMDD;
    * for a tie a defection can end (``ENDED_BY_DEFECTION``), the *candidates*: the
      subject's defections from the object and (for a belonging) its belongings to other
      groups, each with the first day the two groups are tied (after which it ends
      nothing), between each report of the tie and the next; in each such gap only up to
      the first candidate that ends the tie whatever the date (a defection, or a belonging
      to a group never tied to the object), as nothing after it can be the first end;
    * from those, the days on which each such tie is in force (``_segments``): its state
      changes only on a day of its own reports, of a candidate, or of a candidate's groups
      becoming tied.
As of D a tie is in force if it has a report by D and (for an ending tie) D falls in one of
its in-force intervals; its weight is the number of its facts by D (one ``bincount``)."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

import numpy as np

from allegiance.analysis.ties import (
    BELONGING, DEFECTION, ENDED_BY_DEFECTION, _RELATED, _evidence, _first_day_sql, _slim_filter, first_day,
    in_force, last_day, tie_id,
)
from allegiance.records import SYMMETRIC_RELATIONS

NEVER = 99_999_999  # a day after every date (YYYYMMDD): "never tied", "in force from then on"


def fingerprint(con) -> tuple:
    """What changes whenever the rows the network reads change: row counts of the tables
    every write adds to (a correction adds an audit row, a review a review row; an ingest
    or a re-ingest documents, facts or a newer ``ingested_at``). Counts are metadata in
    DuckDB, so this costs a millisecond where hashing the facts would cost a scan."""
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN "
        "('actor_redirects', 'reviews', 'audit', 'alias_splits', 'merge_moves')").fetchall()}
    parts: list[Any] = list(con.execute(
        "SELECT (SELECT count(*) FROM facts), (SELECT count(*) FROM documents), "
        "(SELECT max(ingested_at) FROM documents)").fetchone())
    for table in ("actor_redirects", "reviews", "audit", "alias_splits", "merge_moves"):
        parts.append(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in have else None)
    return tuple(parts)


_BASE = "_allegiance_asof_base"  # a temporary table of this connection, for the build only


class AsOfIndex:
    """Every tie of the store's dated facts under one set of fact filters (``source``,
    ``include_hedged``, ``include_rejected``), answering the heaviest ties as of any date
    (:meth:`heaviest`). Build with :meth:`build`. Actors, relations, dates and documents
    are integer codes, facts numpy columns: the 1M-fact bench store takes ~85 MB."""

    # -- building --------------------------------------------------------------------
    @classmethod
    def build(cls, con, *, source: str | None = None, include_hedged: bool = True,
              include_rejected: bool = False) -> "AsOfIndex | None":
        """None when some fact has no date at all (the network then places facts by their
        article in Python, ties.load_slim)."""
        from allegiance.analysis.ties import _bounded

        if not _bounded(con) or con.execute(
                r"SELECT count(*) FROM facts WHERE NOT regexp_full_match(date, '\d{4}(-\d{2}(-\d{2})?)?')"
        ).fetchone()[0]:
            # a date not of the YYYY[-MM[-DD]] form: placing that fact is load_slim's job
            return None
        self = cls()
        frm, where, params = _slim_filter(con, None, None, None, None, source, include_hedged, include_rejected, True)
        cond = " WHERE " + " AND ".join(where) if where else ""
        sym = ", ".join(f"'{r}'" for r in sorted(SYMMETRIC_RELATIONS))
        swap = f"f.relation IN ({sym}) AND f.object_id < f.subject_id"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_BASE} AS SELECT "
            f"CASE WHEN {swap} THEN f.object_id ELSE f.subject_id END AS s, f.relation AS rel, "
            f"CASE WHEN {swap} THEN f.subject_id ELSE f.object_id END AS o, f.id, f.date, "
            f"f.date_source = 'text' AS stated, f.document_id, coalesce(f.hedged, false) AS hedged, "
            f"CAST(replace({_first_day_sql('f.date')}, '-', '') AS INTEGER) AS day {frm}{cond}", params)
        try:
            self._load(con)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {_BASE}")
        self._candidates_and_segments()
        del self._tied, self._bel, self._bel_start, self._f_s, self.f_o, self.idrank  # the build's only
        return self

    def _load(self, con) -> None:
        # codes in string order, so that tie order by codes is the key order of
        # build_ties' output (and of the heaviest cut's tie-break)
        self.actors = [r[0] for r in con.execute(
            f"SELECT s FROM {_BASE} UNION SELECT o FROM {_BASE} ORDER BY 1").fetchall()]
        self.rels = [r[0] for r in con.execute(f"SELECT DISTINCT rel FROM {_BASE} ORDER BY 1").fetchall()]
        self.date_names = [r[0] for r in con.execute(f"SELECT DISTINCT date FROM {_BASE} ORDER BY 1").fetchall()]
        cols = con.execute(
            f"WITH a AS (SELECT unnest(?::VARCHAR[]) AS a, generate_subscripts(?::VARCHAR[], 1) - 1 AS c), "
            f"r AS (SELECT unnest(?::VARCHAR[]) AS r, generate_subscripts(?::VARCHAR[], 1) - 1 AS c), "
            f"d AS (SELECT unnest(?::VARCHAR[]) AS d, generate_subscripts(?::VARCHAR[], 1) - 1 AS c), "
            f"doc AS (SELECT document_id, row_number() OVER (ORDER BY document_id) AS c "
            f"FROM (SELECT DISTINCT document_id FROM {_BASE})) "
            f"SELECT CAST(sa.c AS INTEGER) AS s, CAST(r.c AS INTEGER) AS rel, CAST(oa.c AS INTEGER) AS o, "
            f"b.day, CAST(row_number() OVER (ORDER BY b.id) AS INTEGER) AS idrank, CAST(d.c AS INTEGER) AS date, "
            f"b.stated, CAST(doc.c AS INTEGER) AS doc, b.hedged, b.id FROM {_BASE} b "
            f"JOIN a sa ON sa.a = b.s JOIN a oa ON oa.a = b.o JOIN r ON r.r = b.rel JOIN d ON d.d = b.date "
            f"JOIN doc ON doc.document_id = b.document_id ORDER BY sa.c, r.c, oa.c, b.day, b.id",
            [self.actors, self.actors, self.rels, self.rels, self.date_names, self.date_names]).fetchnumpy()
        f_s, f_rel, f_o = (np.asarray(cols[k], dtype=np.int32) for k in ("s", "rel", "o"))
        self.day = np.asarray(cols["day"], dtype=np.int32)
        self.idrank = np.asarray(cols["idrank"], dtype=np.int32)
        self.date = np.asarray(cols["date"], dtype=np.int32)
        self.stated = np.asarray(cols["stated"], dtype=bool)
        self.doc = np.asarray(cols["doc"], dtype=np.int32)
        self.hedged = np.asarray(cols["hedged"], dtype=bool)
        self.ids = np.array([i.encode("utf-8") for i in cols["id"]], dtype=bytes)
        del cols
        n = len(self.day)
        new = np.ones(n, dtype=bool)
        if n:
            new[1:] = (f_s[1:] != f_s[:-1]) | (f_rel[1:] != f_rel[:-1]) | (f_o[1:] != f_o[:-1])
        starts = np.flatnonzero(new)
        self.start = np.append(starts, n).astype(np.int64)
        self.fact_tie = (np.cumsum(new) - 1).astype(np.int32)
        self.tie_s, self.tie_rel, self.tie_o = f_s[starts], f_rel[starts], f_o[starts]
        self.first_day = self.day[starts]
        self.f_o = f_o
        code = {r: i for i, r in enumerate(self.rels)}
        codes = lambda rs: np.array([code[r] for r in rs if r in code], dtype=np.int32)  # noqa: E731
        self.ending = np.isin(self.tie_rel, codes(ENDED_BY_DEFECTION))
        self.belonging = np.isin(self.tie_rel, codes(BELONGING))
        self.defection = code.get(next(iter(DEFECTION)), -1)
        # the first day two groups are tied (either direction), key a * len(actors) + b:
        # from then on a belonging to one of them ends no membership of the other
        m = len(self.actors)
        rel_mask = np.isin(f_rel, codes(_RELATED))
        a, b, d = f_s[rel_mask].astype(np.int64), f_o[rel_mask].astype(np.int64), self.day[rel_mask]
        pair = np.concatenate([a * m + b, b * m + a])
        pday = np.concatenate([d, d])
        order = np.lexsort((pday, pair))
        pair, pday = pair[order], pday[order]
        first = np.ones(len(pair), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        self._tied = dict(zip(pair[first].tolist(), pday[first].tolist()))
        # each subject's belongings in _ender's order (day, then fact id)
        bel = np.flatnonzero(np.isin(f_rel, codes(BELONGING)))
        bel = bel[np.lexsort((self.idrank[bel], self.day[bel], f_s[bel]))]
        self._bel = bel
        self._bel_start = np.searchsorted(f_s[bel], np.arange(m + 1))
        self._f_s = f_s

    def _candidates_and_segments(self) -> None:
        """For each ending tie, its candidates (module doc) as flat arrays (``cand_*``,
        tie t's from ``cand_start[t]``), and the [from, to) days it is in force (``seg_*``)."""
        import array

        day, idrank, f_o, m = self.day, self.idrank, self.f_o, len(self.actors)
        tied = self._tied
        c_start = array.array("q", [0])
        c_day, c_kind, c_rank, c_until, c_fact = (array.array("i") for _ in range(5))
        seg_tie, seg_from, seg_to = array.array("i"), array.array("i"), array.array("i")
        ties = len(self.tie_s)
        # defection ties by (subject, object): their facts are the defections, in order
        defs = {}
        for t in np.flatnonzero(self.tie_rel == self.defection).tolist():
            defs[(int(self.tie_s[t]), int(self.tie_o[t]))] = (int(self.start[t]), int(self.start[t + 1]))
        cur_s, bdays, bobj, bfact, brank = -1, [], [], [], []
        ending, belonging = self.ending.tolist(), self.belonging.tolist()
        tie_s, tie_o, start = self.tie_s.tolist(), self.tie_o.tolist(), self.start.tolist()
        for t in range(ties):
            if not ending[t]:
                c_start.append(len(c_day))
                continue
            s, o = tie_s[t], tie_o[t]
            days = sorted(set(day[start[t]:start[t + 1]].tolist()))
            dlo, dhi = defs.get((s, o), (0, 0))
            ddays = day[dlo:dhi].tolist()
            if belonging[t]:
                if s != cur_s:
                    cur_s = s
                    sel = self._bel[self._bel_start[s]:self._bel_start[s + 1]]
                    bdays, bobj, bfact, brank = day[sel].tolist(), f_o[sel].tolist(), sel.tolist(), idrank[sel].tolist()
                b_days, b_obj = bdays, bobj
            else:
                b_days, b_obj = (), ()
            cands: list[tuple[int, int, int, int, int]] = []
            for g, d in enumerate(days):
                nxt = days[g + 1] if g + 1 < len(days) else NEVER + 1
                gap: list[tuple[int, int, int, int, int]] = []
                # the gap's first defection ends the tie whatever the date: later ones
                # cannot come first
                j = bisect_left(ddays, d)
                if j < len(ddays) and ddays[j] < nxt:
                    gap.append((ddays[j], 0, int(idrank[dlo + j]), NEVER, dlo + j))
                stop = gap[0][0] if gap else nxt
                j = bisect_left(b_days, d)
                while j < len(b_days) and b_days[j] < nxt and b_days[j] <= stop:
                    at, x = b_days[j], b_obj[j]
                    e, rank = bfact[j], brank[j]
                    j += 1
                    if x == o:
                        continue
                    until = tied.get(o * m + x, NEVER)
                    if until <= at:
                        continue  # the groups were tied already: it never ends this tie
                    if gap and at == stop:
                        break  # the defection of that day wins
                    gap.append((at, 1, rank, until, e))
                    if until == NEVER and at > d:
                        break  # ends the tie whatever the date (one on d itself may not)
                gap.sort()
                cands += gap
            for c in cands:
                c_day.append(c[0])
                c_kind.append(c[1])
                c_rank.append(c[2])
                c_until.append(c[3])
                c_fact.append(c[4])
            c_start.append(len(c_day))
            # in force between its state's changes: its reports' days, its candidates'
            # days and the days their groups become tied
            if not cands:
                seg_tie.append(t)
                seg_from.append(days[0])
                seg_to.append(NEVER + 1)
                continue
            cdays = [c[0] for c in cands]
            opened = None
            for p in sorted(set(days) | set(cdays) | {c[3] for c in cands if c[3] < NEVER}):
                on = _in_force(days, cands, cdays, p)
                if on and opened is None:
                    opened = p
                elif not on and opened is not None:
                    seg_tie.append(t)
                    seg_from.append(opened)
                    seg_to.append(p)
                    opened = None
            if opened is not None:
                seg_tie.append(t)
                seg_from.append(opened)
                seg_to.append(NEVER + 1)
        self.cand_start = np.frombuffer(c_start, dtype=np.int64).copy()
        self.cand = np.stack([np.frombuffer(a, dtype=np.int32) for a in (c_day, c_kind, c_rank, c_until, c_fact)],
                             axis=1) if len(c_day) else np.zeros((0, 5), dtype=np.int32)
        self.seg_tie = np.frombuffer(seg_tie, dtype=np.int32).copy()
        self.seg_from = np.frombuffer(seg_from, dtype=np.int32).copy()
        self.seg_to = np.frombuffer(seg_to, dtype=np.int32).copy()

    # -- reading ---------------------------------------------------------------------
    def in_force_mask(self, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(in force as of day ``hi`` per tie, facts by then per tie)."""
        counts = np.bincount(self.fact_tie[self.day <= hi], minlength=len(self.tie_s))
        on = (self.first_day <= hi) & ~self.ending
        on[self.seg_tie[(self.seg_from <= hi) & (self.seg_to > hi)]] = True
        return on, counts

    def _key(self, t: int) -> tuple[str, str, str]:
        return self.actors[self.tie_s[t]], self.rels[self.tie_rel[t]], self.actors[self.tie_o[t]]

    def spans(self, t: int, hi: int) -> list[dict]:
        """``_spans`` of tie ``t`` over its reports by day ``hi``, ending facts by then."""
        s, rel, o = self._key(t)
        lo = int(self.start[t])
        n = int(np.searchsorted(self.day[lo:self.start[t + 1]], hi, side="right"))
        cands = [tuple(c) for c in self.cand[self.cand_start[t]:self.cand_start[t + 1]].tolist()]
        cdays = [c[0] for c in cands]
        ends = rel in ENDED_BY_DEFECTION
        spans: list[dict] = []
        end_day, seen = None, None
        for i, d in enumerate(self.day[lo:lo + n].tolist(), lo):
            if d == seen:
                continue
            seen = d
            if spans and (end_day is None or d <= end_day):
                continue  # in force already, or reported up to its end
            span = {"start": self.date_names[self.date[i]], "end": None, "ended_by": None}
            spans.append(span)
            if not ends:
                break
            # _ender: the first candidate from the span's start that ends it by then (a
            # belonging only after the start's day)
            end = next((c for c in cands[bisect_left(cdays, d):bisect_right(cdays, hi)]
                        if c[3] > hi and not (c[1] == 1 and c[0] <= d)), None)
            if end is None:
                end_day = None
                continue
            e = end[4]
            _, e_rel, e_obj = self._key(int(self.fact_tie[e]))
            when = self.date_names[self.date[e]]
            span["end"] = when
            span["ended_by"] = _evidence({"id": self.ids[e].decode("utf-8"), "subject_id": s, "relation": e_rel,
                                          "object_id": e_obj, "when": when, "date": when,
                                          "date_source": "stated" if self.stated[e] else "as_reported"})
            end_day = end[0]
        return spans

    def heaviest(self, as_of: str, limit: int, *, relation: str | None = None,
                 actor_ids: list[str] | None = None) -> tuple[list[dict], dict]:
        """``heaviest_as_of_ties`` (ties.py) from the index."""
        hi_s = last_day(as_of)
        hi = int(hi_s.replace("-", ""))
        on, counts = self.in_force_mask(hi)
        on &= counts > 0
        if relation is not None:
            rel = relation.strip()
            on &= (self.tie_rel == self.rels.index(rel)) if rel in self.rels else False
        if actor_ids is not None:
            if getattr(self, "_actor_code", None) is None:
                self._actor_code = {a: i for i, a in enumerate(self.actors)}
            codes = np.array(sorted({self._actor_code[a] for a in actor_ids if a in self._actor_code}),
                             dtype=np.int32)
            on &= np.isin(self.tie_s, codes) | np.isin(self.tie_o, codes)
        picked = np.flatnonzero(on)
        totals = {"ties": int(len(picked)), "facts": int(counts[picked].sum())}
        if len(picked) > limit:
            # most facts first, then key order (tie numbers follow the key order)
            picked = np.sort(picked[np.lexsort((picked, -counts[picked]))[:int(limit)]])
        out = []
        names = self.date_names
        for t in picked.tolist():
            s, rel, o = self._key(t)
            lo = int(self.start[t])
            hi_i = lo + int(counts[t])
            whens = [names[c] for c in self.date[lo:hi_i].tolist()]
            stated = self.stated[lo:hi_i].tolist()
            facts = [{"id": i.decode("utf-8"), "when": w, "date_source": "stated" if st else "as_reported"}
                     for i, w, st in zip(self.ids[lo:hi_i].tolist(), whens, stated)]
            tie = {
                "id": tie_id((s, rel, o)), "subject_id": s, "relation": rel, "object_id": o,
                "subject": None, "object": None, "facts": facts,
                "sources": len(set(self.doc[lo:hi_i].tolist())), "first": whens[0],
                "last": max(whens, key=first_day), "undated": 0,
                "hedged": bool(self.hedged[lo:hi_i].all()), "spans": self.spans(t, hi),
                "as_reported": len(stated) - sum(stated),
            }
            tie["span"] = in_force(tie, hi_s)
            out.append(tie)
        return out, totals


def _in_force(days: list[int], cands: list, cdays: list[int], hi: int) -> bool:
    """Whether an ending tie with reports on ``days`` is in force at the end of day ``hi``:
    its last span, the one of its last report by then, has not ended (``_spans``)."""
    k = bisect_right(days, hi)
    if k == 0:
        return False
    dk = days[k - 1]
    same = False
    for c in cands[bisect_left(cdays, dk):bisect_right(cdays, hi)]:
        if c[3] <= hi:
            continue  # its groups are tied by then
        if c[1] == 0 or c[0] > dk:
            return False
        same = True  # a belonging on the last report's day: ends it unless that report opened it
    return not (same and not _opens(days, cands, cdays, k - 1, hi))


def _opens(days: list[int], cands: list, cdays: list[int], i: int, hi: int) -> bool:
    """Whether report day ``days[i]`` opens a span as of ``hi``: the span before it ended in
    the gap before it (a defection from the previous report's day on, a belonging after
    it; a belonging on that very day only if that day opened nothing)."""
    flips = 0
    while True:
        if i == 0:
            value = True
            break
        state = None
        for c in cands[bisect_left(cdays, days[i - 1]):bisect_left(cdays, days[i])]:
            if c[3] <= hi:
                continue
            if c[1] == 0 or c[0] > days[i - 1]:
                state = "strict"
                break
            state = "same"
        if state is None:
            value = False
            break
        if state == "strict":
            value = True
            break
        flips += 1  # opens(i) = not opens(i - 1)
        i -= 1
    return value if flips % 2 == 0 else not value
