"""The DuckDB store: documents, actors, aliases, mentions and facts.

Every statement is parameterised: article text is hostile input and never becomes SQL.
``add_extractions`` writes a batch of documents in one transaction (``add_extraction``: a
batch of one): on any failure nothing of that batch is left behind, and the documents are
then stored one at a time so that one bad document does not cost the others.

A batch gives exactly the store that adding its documents one by one gives: document k
resolves its actors against documents 1..k-1 of the batch as if they had been committed.
Identity decisions read an in-memory copy of what they need (actors, alias keys, the
names documents give actors, redirects) instead of querying per entity, and the batch's
rows are written with a handful of statements at its end. The rare documents whose
resolution rewrites earlier rows (a gazetteer actor absorbing earlier actors, an id
clash, replacing a document stored earlier in the same batch) go through the
per-document path (``_add_one``) after the rows before them are written."""
from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from allegiance.records import Entity, Extraction, Fact
from allegiance.resolve.identity import (
    Candidate,
    actor_id_for_key,
    actor_key,
    choose_actor,
    entity_names,
    entity_norms,
)
from allegiance.resolve.names import match_key
from allegiance.store import corrections, queries
from allegiance.store import incidents as incident_rows
from allegiance.store.incidents import store_attacks
from allegiance.store.schema import SCHEMA_VERSION, create_schema

DEFAULT_DB = "allegiance.duckdb"


class StoreError(Exception):
    """A store problem worth one clear line to the user."""


class StoreLockedError(StoreError):
    """The database file is held by another process (DuckDB allows one writer)."""

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        super().__init__(
            f"the store {self.path} is in use by another process: if `allegiance serve` has it open, "
            "add documents on its Ingest page (/ingest) or stop the server first; otherwise close the "
            "other allegiance/DuckDB session and try again"
        )


@dataclass
class AddResult:
    status: str                 # 'added' | 'unchanged' | 'replaced' | 'failed' (add_extractions only)
    actors_added: int = 0
    facts_added: int = 0
    mentions_added: int = 0
    document_id: str = ""
    facts_skipped: int = 0      # facts whose ends were unknown or resolved to one actor
    actors_merged: int = 0      # earlier non-gazetteer actors absorbed into a gazetteer actor
    error: Exception | None = None  # why a 'failed' document could not be stored


def document_id_for(content_hash: str) -> str:
    return content_hash[:16]


def fact_id_for(content_hash: str, subject_id: str, relation: str, object_id: str, start: int) -> str:
    payload = "\x1f".join([content_hash, subject_id, relation, object_id, str(start)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


class _ResolveContext:
    """What one document's entity resolution needs from the store, fetched in a few
    queries up front instead of several per entity."""

    def __init__(self, actors: dict[str, tuple], redirects: dict[str, str], absorb: dict[tuple[str, str], set[str]]):
        self.actors = actors          # id -> (key, kind) for the ids this document's keys give
        self.redirects = redirects    # merged id -> surviving id
        self.absorb = absorb          # (type, alias norm) -> non-gazetteer actor ids

    @classmethod
    def load(cls, con, ents: list[Entity]) -> "_ResolveContext":
        ids = sorted({actor_id_for_key(actor_key(e)) for e in ents})
        actors: dict[str, tuple] = {}
        redirects: dict[str, str] = {}
        if ids:
            ph = ", ".join("?" for _ in ids)
            for aid, key, kind in con.execute(f"SELECT id, key, kind FROM actors WHERE id IN ({ph})", ids).fetchall():
                actors[aid] = (key, kind)
            # the analysts' merges are not the resolver's: replayed after the batch (corrections.py)
            kept = corrections.resolver_redirects(con)
            redirects = dict(
                r for r in con.execute(f"SELECT old_id, new_id FROM actor_redirects WHERE old_id IN ({ph})", ids).fetchall()
                if r[0] in kept
            )
        norms = sorted({n for e in ents if e.gazetteer_id for n in entity_norms(e)})
        absorb: dict[tuple[str, str], set[str]] = {}
        if norms:
            ph = ", ".join("?" for _ in norms)
            rows = con.execute(
                f"SELECT DISTINCT a.type, da.norm, a.id FROM actors a "
                f"JOIN document_aliases da ON da.actor_id = a.id "
                f"WHERE a.gazetteer_id IS NULL AND da.norm IN ({ph})",
                norms,
            ).fetchall()
            for etype, norm, aid in rows:
                absorb.setdefault((etype, norm), set()).add(aid)
        return cls(actors, redirects, absorb)

    def absorbable(self, ent: Entity, actor_id: str) -> list[str]:
        """Non-gazetteer actors of the entity's type sharing one of its aliases: the
        mirror of joining by alias, so document order does not change the result."""
        out: set[str] = set()
        for norm in entity_norms(ent):
            out |= self.absorb.get((ent.type, norm), set())
        out.discard(actor_id)
        return sorted(out)

    def merged(self, old: str, new: str) -> None:
        for ids in self.absorb.values():
            ids.discard(old)
        self.actors.pop(old, None)
        self.redirects[old] = new
        for k, v in list(self.redirects.items()):
            if v == old:
                self.redirects[k] = new


def _resolvable(ex: Extraction) -> list[Entity]:
    """The entities that become actors, gazetteer entities first (they may absorb
    spellings seen earlier)."""
    return sorted(
        (e for e in ex.entities
         if e.type in ("ORG", "PERSON", "PLACE") and e.name and e.name.strip()),
        key=lambda e: e.gazetteer_id is None,
    )


class _Actor:
    """An actors row as identity decisions see it."""

    __slots__ = ("key", "name", "name_norm", "type", "kind", "gazetteer_id", "created_at")

    def __init__(self, key, name, type, kind, gazetteer_id, created_at):
        self.key, self.type, self.kind = key, type, kind
        self.gazetteer_id, self.created_at = gazetteer_id, created_at
        self.rename(name)

    def rename(self, name: str) -> None:
        self.name, self.name_norm = name, match_key(name)


_MISSING = object()


class _Hard(Exception):
    """This document needs the per-document path (see the module docstring)."""


class _IdentityCache:
    """What identity decisions read, kept for the session: actors by id (None: known
    absent), per alias key the document_aliases rows per actor, per actor the
    document_actors rows per name, and every redirect. A key or an actor is either
    absent or complete, so a miss is never mistaken for "no such row". Entries are
    filled in bulk before a batch and kept current by the batch itself; any failure
    clears everything, and so do rows added or removed behind the store's back (see
    ``Store._check_cache``)."""

    LIMIT = 500_000  # entries before the cache starts over (memory, on very large stores)

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.actors: dict[str, _Actor | None] = {}
        self.norms: dict[str, Counter[str]] = {}
        self.doc_names: dict[str, Counter[str | None]] = {}
        self.redirects: dict[str, str] | None = None
        self.fingerprint: tuple | None = None

    def size(self) -> int:
        return len(self.actors) + len(self.norms)


def _uncount(counts: dict[str, Counter], outer: str, inner: Any) -> None:
    counter = counts[outer]
    counter[inner] -= 1
    if counter[inner] <= 0:
        if counter[inner] < 0:
            raise _Hard  # the cache disagrees with the table: let the database decide
        del counter[inner]


class _Segment:
    """Documents stored from the cache since the database was last written: their rows,
    and what changed in the actors table."""

    ROW_TABLES = ("document_aliases", "document_actors", "mentions", "facts")

    def __init__(self) -> None:
        self.docs: dict[str, tuple[str, str]] = {}   # content hash -> (document id, extractor version)
        # replaced document id -> its stored document_actors (actor, name) and
        # document_aliases (actor, norm) rows and every actor it refers to
        self.old: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]], set[str]]] = {}
        self.written: set[str] = set()               # document ids stored in this segment
        self.new_docs: list[list[Any]] = []
        self.doc_updates: list[list[Any]] = []
        self.rows: dict[str, list[list[Any]]] = {t: [] for t in self.ROW_TABLES}
        self.in_db: dict[str, bool] = {}             # changed actor -> had a row when the segment began
        self.created: set[str] = set()               # actors (re)created in this segment
        self.dropped: set[str] = set()               # orphans removed in this segment
        self.touched: set[str] = set()               # actors whose aliases must be re-derived
        self.ent_info: dict[int, tuple[str, str, set[str]]] = {}  # id(entity) -> key, actor id, alias keys


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    if "lock" in msg and ("conflicting" in msg or "could not set" in msg):
        return True  # another process holds the file
    return "different configuration" in msg  # this process holds it in the other mode


class Store:
    """``with Store(path) as store: store.add_extraction(ex)``."""

    def __init__(self, path: str | Path = DEFAULT_DB, read_only: bool = False, wait: float = 0.0):
        """``wait``: seconds to keep retrying while another process holds the file in a
        conflicting mode (``allegiance serve`` takes it read-write only for the length of
        one write, so a reader that waits a moment gets in)."""
        self.path = Path(path)
        self.read_only = read_only
        self._cache = _IdentityCache()
        self._types: dict[str, dict[str, str]] = {}
        self.con = None
        self._open(read_only, wait)

    def _open(self, read_only: bool, wait: float) -> None:
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run `allegiance ingest` first")
        deadline = time.monotonic() + max(0.0, wait)
        delay = 0.02
        while True:
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise StoreError(f"cannot open store {self.path}: {exc}") from None
                if time.monotonic() + delay > deadline:
                    raise StoreLockedError(self.path, str(exc)) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        try:
            self._check_schema()
        except Exception:
            self.con.close()
            self.con = None
            raise

    def reopen(self, read_only: bool, wait: float = 0.0) -> None:
        """Close the connection and open the file again in the other mode (DuckDB fixes the
        mode per connection, and one process cannot hold the file in both modes). The
        identity caches are dropped: another process may have written in between."""
        self.close()
        self._cache.clear()
        self._types = {}
        self._open(read_only, wait)

    # -- lifecycle -------------------------------------------------------------------
    def _check_schema(self) -> None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()[0]
        if not has_meta:
            if self.read_only:
                raise StoreError(f"{self.path} is not an allegiance store (no meta table)")
            # one transaction: a process killed while creating the store must not leave
            # tables without the version row (a file no later run could open)
            with self._transaction():
                create_schema(self.con)
            return
        row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else None
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store schema version {version}; this allegiance expects "
                f"{SCHEMA_VERSION} (ingest into a new file)"
            )
        if not self.read_only:
            with self._transaction():
                create_schema(self.con)  # idempotent: adds indexes a newer build defines

    def close(self) -> None:
        if getattr(self, "_probe", None) is not None:
            self._probe.close()
            self._probe = None
        if self.con is not None:
            self.con.close()
            self.con = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------
    def add_extraction(self, ex: Extraction) -> AddResult:
        """Store one document's extraction in one transaction; a failure raises and
        leaves nothing of it behind."""
        return self._store_batch([ex])[0]

    def add_extractions(self, extractions: Iterable[Extraction]) -> list[AddResult]:
        """Store documents in one transaction, giving exactly the store that
        ``add_extraction`` on each in order gives; one result per document, in order.

        A document that cannot be stored does not raise: the batch is rolled back and
        its documents are stored one at a time, and those that still fail come back as
        status 'failed' with the error. (A read-only store raises.)"""
        exs = list(extractions)
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        if not exs:
            return []
        try:
            return self._store_batch(exs)
        except Exception as exc:
            if len(exs) == 1:
                return [self._failed(exs[0], exc)]
        results = []
        for ex in exs:
            try:
                results.append(self._store_batch([ex])[0])
            except Exception as exc:
                results.append(self._failed(ex, exc))
        return results

    @staticmethod
    def _failed(ex: Extraction, exc: Exception) -> AddResult:
        h = ex.document.content_hash
        return AddResult("failed", document_id=document_id_for(h) if h else "", error=exc)

    # documents whose rows are held in memory at once (a long batch is written in parts)
    _SEGMENT_DOCS = 256

    def _store_batch(self, exs: list[Extraction]) -> list[AddResult]:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        for ex in exs:
            if not ex.document.content_hash:
                raise StoreError(f"{ex.document.doc_id}: document has no content_hash")
        results: list[AddResult] = []
        try:
            with self._transaction():
                self._check_cache()
                i = 0
                while i < len(exs):
                    end = min(len(exs), i + self._SEGMENT_DOCS)
                    seg = self._begin_segment(exs[i:end])
                    while i < end:
                        try:
                            result = self._add_cached(exs[i], seg)
                        except _Hard:
                            break
                        results.append(result)
                        i += 1
                    self._write_segment(seg)
                    if i < end:
                        # the per-document path writes what the cache does not follow
                        self._cache.clear()
                        results.append(self._add_one(exs[i]))
                        i += 1
                # the analysts' merges, splits and fact corrections, again on what this
                # batch wrote (corrections.py): the next ingest cannot undo them
                if corrections.replay(self.con, sorted({ex.document.content_hash for ex in exs})):
                    self._cache.clear()
                # attack mentions and the incidents they link into (issue 13)
                store_attacks(self.con, exs, results)
                # counted before COMMIT: a failure after it must not undo a stored batch
                self._cache.fingerprint = self._fingerprint()
        except BaseException:
            self._cache.clear()
            raise
        return results

    def _add_one(self, ex: Extraction) -> AddResult:
        """The per-document path: resolves against the database itself (inside the
        caller's transaction)."""
        doc = ex.document
        row = self.con.execute(
            "SELECT id, extractor_version FROM documents WHERE content_hash = ?",
            [doc.content_hash],
        ).fetchone()
        if row is not None and (row[1] or "") == (ex.extractor_version or ""):
            return AddResult("unchanged", document_id=row[0])
        touched: set[str] = set()
        if row is not None:
            document_id = row[0]
            touched |= self._delete_document_children(document_id)
            self._update_document(document_id, ex)
            status = "replaced"
        else:
            document_id = document_id_for(doc.content_hash)
            self._insert_document(document_id, ex)
            status = "added"
        result = AddResult(status, document_id=document_id)
        local = self._resolve_entities(document_id, ex, result, touched)
        self._insert_mentions(document_id, ex, local, result)
        self._insert_facts(document_id, ex, local, result)
        self._refresh_aliases(touched | set(local.values()))
        self._refresh_names(touched | set(local.values()))
        self._drop_orphans(touched - set(local.values()))
        return result

    def current_hashes(self, extractor_version: str) -> set[str]:
        """Content hashes of the documents stored by this extractor version (one query:
        an ingest skips extracting these)."""
        return {
            r[0]
            for r in self.con.execute(
                "SELECT content_hash FROM documents WHERE coalesce(extractor_version, '') = ?",
                [extractor_version or ""],
            ).fetchall()
        }

    # -- batches: identity decisions on the cache -----------------------------------
    def _fingerprint(self) -> tuple:
        return self.con.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM actors), "
            "(SELECT count(*) FROM document_actors), (SELECT count(*) FROM document_aliases), "
            "(SELECT count(*) FROM actor_redirects)"
        ).fetchone()

    def _check_cache(self) -> None:
        """Start the cache over when it has grown too big, or when the identity tables
        changed since this store's last batch (another writer on the connection, such as
        ``allegiance import``: every writer adds or removes rows there)."""
        cache = self._cache
        if cache.fingerprint is None or cache.size() > cache.LIMIT or self._fingerprint() != cache.fingerprint:
            cache.clear()

    def _entity_info(self, ent: Entity, seg: _Segment) -> tuple[str, str, set[str]]:
        """(identity key, actor id for the key, alias keys) of an entity."""
        info = seg.ent_info.get(id(ent))
        if info is None:
            key = actor_key(ent)
            info = seg.ent_info[id(ent)] = (key, actor_id_for_key(key), entity_norms(ent))
        return info

    def _begin_segment(self, exs: list[Extraction]) -> _Segment:
        """Fill the cache for everything these documents' resolution can read, with a few
        bulk queries, and read which of them are stored already."""
        con, cache, seg = self.con, self._cache, _Segment()
        in_list = "IN (SELECT unnest(?::VARCHAR[]))"
        hashes = sorted({ex.document.content_hash for ex in exs})
        for h, did, version in con.execute(
            f"SELECT content_hash, id, extractor_version FROM documents WHERE content_hash {in_list}", [hashes]
        ).fetchall():
            seg.docs[h] = (did, version or "")
        replaced = sorted({
            seg.docs[ex.document.content_hash][0]
            for ex in exs
            if ex.document.content_hash in seg.docs
            and seg.docs[ex.document.content_hash][1] != (ex.extractor_version or "")
        })
        if replaced:
            seg.old = {did: ([], [], set()) for did in replaced}
            for did, aid, name in con.execute(
                f"SELECT document_id, actor_id, name FROM document_actors WHERE document_id {in_list}", [replaced]
            ).fetchall():
                seg.old[did][0].append((aid, name))
                seg.old[did][2].add(aid)
            for did, aid, norm in con.execute(
                f"SELECT document_id, actor_id, norm FROM document_aliases WHERE document_id {in_list}", [replaced]
            ).fetchall():
                seg.old[did][1].append((aid, norm))
            for did, subj, obj in con.execute(
                f"SELECT document_id, subject_id, object_id FROM facts WHERE document_id {in_list}", [replaced]
            ).fetchall():
                seg.old[did][2].update((subj, obj))
        if cache.redirects is None:
            cache.redirects = corrections.resolver_redirects(con)
        norms: set[str] = set()
        ids: set[str] = set()
        for ex in exs:
            for ent in _resolvable(ex):
                _, aid, ent_norms = self._entity_info(ent, seg)
                norms |= ent_norms
                ids.add(aid)
                if aid in cache.redirects:
                    ids.add(cache.redirects[aid])
        missing = sorted(norms - cache.norms.keys())
        if missing:
            for norm in missing:
                cache.norms[norm] = Counter()
            for norm, aid, n in con.execute(
                f"SELECT norm, actor_id, count(*) FROM document_aliases WHERE norm {in_list} GROUP BY norm, actor_id",
                [missing],
            ).fetchall():
                cache.norms[norm][aid] = int(n)
        for norm in norms:
            ids.update(cache.norms[norm])
        for _, _, actors in seg.old.values():
            ids |= actors
        missing = sorted(ids - cache.actors.keys())
        if missing:
            for aid in missing:
                cache.actors[aid] = None
                cache.doc_names[aid] = Counter()
            for aid, key, kind, etype, gz, name, created in con.execute(
                f"SELECT id, key, kind, type, gazetteer_id, name, created_at FROM actors WHERE id {in_list}", [missing]
            ).fetchall():
                cache.actors[aid] = _Actor(key, name, etype, kind, gz, created)
            for aid, name, n in con.execute(
                f"SELECT actor_id, name, count(*) FROM document_actors WHERE actor_id {in_list} GROUP BY actor_id, name",
                [missing],
            ).fetchall():
                cache.doc_names[aid][name] = int(n)
        return seg

    def _add_cached(self, ex: Extraction, seg: _Segment) -> AddResult:
        """``_add_one`` on the cache: the same decisions in the same order, the rows kept
        for ``_write_segment``. Raises _Hard, having changed nothing but the cache's
        counts (cleared then), for a document that needs the per-document path."""
        cache = self._cache
        doc = ex.document
        version = ex.extractor_version or ""
        known = seg.docs.get(doc.content_hash)
        if known is not None and known[1] == version:
            return AddResult("unchanged", document_id=known[0])
        touched: set[str] = set()
        if known is not None:
            document_id, status = known[0], "replaced"
            if document_id in seg.written or document_id not in seg.old:
                raise _Hard  # its stored rows are this segment's own
            old_names, old_norms, old_actors = seg.old[document_id]
            touched = set(old_actors)
            for aid, name in old_names:
                _uncount(cache.doc_names, aid, name)
            for aid, norm in old_norms:
                if norm in cache.norms:
                    _uncount(cache.norms, norm, aid)
        else:
            document_id, status = document_id_for(doc.content_hash), "added"
        result = AddResult(status, document_id=document_id)

        mention_counts, surface_counts, surfaces = self._surface_counts(ex)
        created: dict[str, _Actor] = {}
        kinds: dict[str, str] = {}         # kinds set during this document, as it sees them
        kind_updates: dict[str, str] = {}  # ... and those that reach the table
        # The per-document path inserts new actors lazily (before an alias join), and its
        # kind UPDATE on an actor not inserted yet changes no row: mirrored, not fixed here.
        unwritten: set[str] = set()
        local: dict[str, str] = {}
        doc_actor_rows: list[list[Any]] = []
        alias_rows: list[list[Any]] = []
        for ent in _resolvable(ex):
            key, actor_id, norms = self._entity_info(ent, seg)
            exists = False
            if actor_id in cache.redirects:
                actor_id, exists = cache.redirects[actor_id], True
            else:
                rec = created.get(actor_id) or cache.actors.get(actor_id, _MISSING)
                if rec is _MISSING or (rec is not None and rec.key != key):
                    raise _Hard  # not prefetched, or an id another key owns
                if rec is not None:
                    exists = True
                    if kinds.get(actor_id, rec.kind) is None and ent.kind:
                        kinds[actor_id] = ent.kind
                        if actor_id not in unwritten:
                            kind_updates[actor_id] = ent.kind
            if not exists:
                joined = None
                if not ent.gazetteer_id:
                    unwritten.clear()
                    joined = self._join_cached(ent, norms)
                if joined is not None:
                    actor_id = joined
                else:
                    created[actor_id] = _Actor(key, ent.name, ent.type, ent.kind, ent.gazetteer_id, _now())
                    unwritten.add(actor_id)
                    result.actors_added += 1
            if ent.gazetteer_id and self._absorbs(ent, actor_id, norms):
                raise _Hard
            local[ent.id] = actor_id
            da_row, al_rows = self._entity_rows(document_id, ent, actor_id, mention_counts, surface_counts, surfaces)
            doc_actor_rows.append(da_row)
            alias_rows += al_rows
        affected = touched | set(local.values())
        if any(aid not in created and aid not in cache.doc_names for aid in affected):
            raise _Hard
        mention_rows = self._mention_rows(document_id, ex, local)
        result.mentions_added = len(mention_rows)
        fact_rows = self._fact_rows(document_id, ex, local, result)

        # from here on the document is stored: the cache and the segment follow it
        for aid, rec in created.items():
            self._changing(seg, aid)
            cache.actors[aid] = rec
            cache.doc_names.setdefault(aid, Counter())
            seg.created.add(aid)
        for aid, kind in kind_updates.items():
            self._changing(seg, aid)
            cache.actors[aid].kind = kind
        doc_values = self._document_values(ex)
        if status == "added":
            seg.new_docs.append([document_id, doc.content_hash, *doc_values])
        else:
            seg.doc_updates.append([document_id, *doc_values])
        seg.written.add(document_id)
        seg.docs[doc.content_hash] = (document_id, version)
        seg.rows["document_aliases"] += alias_rows
        seg.rows["document_actors"] += doc_actor_rows
        seg.rows["mentions"] += mention_rows
        seg.rows["facts"] += fact_rows
        for _, aid, _, norm, _ in alias_rows:
            counter = cache.norms.get(norm)
            if counter is not None:  # keys not loaded are read from the table when needed
                counter[aid] += 1
        for _, _, aid, name, _, _ in doc_actor_rows:
            cache.doc_names[aid][name] += 1
        seg.touched |= affected
        for aid in sorted(affected):  # as _refresh_names
            rec = cache.actors.get(aid)
            if rec is None or rec.gazetteer_id is not None:
                continue
            named = [(-n, name) for name, n in cache.doc_names[aid].items() if name is not None]
            if named:
                best = min(named)[1]
                if best != rec.name:
                    self._changing(seg, aid)
                    rec.rename(best)
        for aid in sorted(touched - set(local.values())):  # as _drop_orphans
            if not cache.doc_names[aid]:
                self._changing(seg, aid)
                cache.actors[aid] = None
                seg.dropped.add(aid)
        return result

    def _changing(self, seg: _Segment, actor_id: str) -> None:
        """Note, before an actor's first change in the segment, whether it has a row."""
        if actor_id not in seg.in_db:
            seg.in_db[actor_id] = self._cache.actors.get(actor_id) is not None

    def _alias_actors(self, norms: set[str]):
        """(id, cached actor or None if dropped) of every actor seen with one of these alias
        keys; raises _Hard where the cache does not know a key or an actor."""
        cache = self._cache
        for norm in norms:
            counter = cache.norms.get(norm)
            if counter is None:
                raise _Hard
            for aid in counter:
                rec = cache.actors.get(aid, _MISSING)
                if rec is _MISSING:
                    raise _Hard
                yield aid, rec

    def _join_cached(self, ent: Entity, norms: set[str]) -> str | None:
        """``_join_by_alias`` on the cache."""
        hits: Counter[str] = Counter()
        for aid, rec in self._alias_actors(norms):
            if rec is not None and rec.type == ent.type:
                hits[aid] += 1
        cands = []
        for aid, n in hits.items():
            rec = self._cache.actors[aid]
            cands.append(Candidate(aid, rec.gazetteer_id, rec.name_norm, n))
        return choose_actor(ent, cands)

    def _absorbs(self, ent: Entity, actor_id: str, norms: set[str]) -> bool:
        """Whether a gazetteer entity would absorb earlier actors (``_ResolveContext``);
        True also when the cache cannot tell (the per-document path then decides)."""
        try:
            return any(aid != actor_id and rec is not None and rec.gazetteer_id is None and rec.type == ent.type
                       for aid, rec in self._alias_actors(norms))
        except _Hard:
            return True

    def _write_segment(self, seg: _Segment) -> None:
        """Write a segment's rows and actor changes with a few statements, leaving the
        tables as the per-document path would have."""
        con, cache = self.con, self._cache
        in_list = "IN (SELECT unnest(?::VARCHAR[]))"
        if seg.doc_updates:
            replaced = [row[0] for row in seg.doc_updates]
            for table in ("mentions", "facts", "document_actors", "document_aliases"):
                con.execute(f"DELETE FROM {table} WHERE document_id {in_list}", [replaced])
            self._bulk_update("documents", "id", self._DOC_COLUMNS, seg.doc_updates)
        if seg.dropped:
            dropped = sorted(seg.dropped)
            for table in ("aliases", "mentions"):
                con.execute(f"DELETE FROM {table} WHERE actor_id {in_list}", [dropped])
        gone, new, changed = [], [], []
        for aid, had_row in sorted(seg.in_db.items()):
            rec = cache.actors.get(aid)
            if had_row and (rec is None or aid in seg.created):
                gone.append(aid)
            if rec is None:
                continue
            if aid in seg.created:
                new.append([aid, rec.name, rec.type, rec.kind, rec.gazetteer_id, rec.created_at, rec.key])
            elif had_row:
                changed.append([aid, rec.name, rec.kind])
        if gone:
            con.execute(f"DELETE FROM actors WHERE id {in_list}", [gone])
        self._bulk_insert("actors", self._ACTOR_COLUMNS, new)
        self._bulk_update("actors", "id", ("name", "kind"), changed)
        self._bulk_insert("documents", ("id", "content_hash") + self._DOC_COLUMNS, seg.new_docs)
        for table, rows in seg.rows.items():
            self._bulk_insert(table, self._ROW_COLUMNS[table], rows)
        self._refresh_aliases(seg.touched)

    def is_current(self, content_hash: str, extractor_version: str) -> bool:
        """True when this exact document was already extracted by this version:
        re-running an interrupted or repeated ingest then skips the extraction."""
        # its own cursor: the pipeline may ask from a feeder thread while this
        # connection is busy storing the previous document
        if getattr(self, "_probe", None) is None:
            self._probe = self.con.cursor()
        row = self._probe.execute(
            "SELECT extractor_version FROM documents WHERE content_hash = ?", [content_hash]
        ).fetchone()
        return row is not None and (row[0] or "") == (extractor_version or "")

    def add_all(self, extractions: Iterable[Extraction]) -> list[AddResult]:
        return [self.add_extraction(ex) for ex in extractions]

    # document columns written on insert and on re-extraction (id and content_hash never change)
    _DOC_COLUMNS = ("doc_id", "source", "title", "published", "media_type", "encoding", "language",
                    "ingested_at", "extractor_version", "text", "raw_text", "boilerplate", "warnings")

    @staticmethod
    def _document_values(ex: Extraction) -> list[Any]:
        d = ex.document
        return [
            d.doc_id, d.source, d.title, d.published, d.media_type, d.encoding, d.language,
            _now(), ex.extractor_version, d.text, d.raw_text,
            json.dumps(list(d.boilerplate), ensure_ascii=False),
            json.dumps(list(d.warnings), ensure_ascii=False),
        ]

    def _insert_document(self, document_id: str, ex: Extraction) -> None:
        cols = ("id", "content_hash") + self._DOC_COLUMNS
        self.con.execute(
            f"INSERT INTO documents ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [document_id, ex.document.content_hash, *self._document_values(ex)],
        )

    def _update_document(self, document_id: str, ex: Extraction) -> None:
        sets = ", ".join(f"{c} = ?" for c in self._DOC_COLUMNS)
        self.con.execute(f"UPDATE documents SET {sets} WHERE id = ?", [*self._document_values(ex), document_id])

    def _delete_document_children(self, document_id: str) -> set[str]:
        """Remove a document's mentions, facts and actor links; return the actors it touched."""
        touched = {
            r[0]
            for r in self.con.execute(
                "SELECT actor_id FROM document_actors WHERE document_id = ? "
                "UNION SELECT subject_id FROM facts WHERE document_id = ? "
                "UNION SELECT object_id FROM facts WHERE document_id = ?",
                [document_id, document_id, document_id],
            ).fetchall()
        }
        for table in ("mentions", "facts", "document_actors", "document_aliases"):
            self.con.execute(f"DELETE FROM {table} WHERE document_id = ?", [document_id])
        return touched

    # -- identity --------------------------------------------------------------------
    def _resolve_entities(
        self, document_id: str, ex: Extraction, result: AddResult, touched: set[str]
    ) -> dict[str, str]:
        """Map every local entity id to an actor id (creating actors as needed)."""
        mention_counts, surface_counts, surfaces = self._surface_counts(ex)
        ents = _resolvable(ex)
        ctx = _ResolveContext.load(self.con, ents)
        local: dict[str, str] = {}
        doc_actor_rows = []
        alias_rows: list[list[Any]] = []
        self._pending_actors: list[list[Any]] = []
        for ent in ents:
            actor_id = self._actor_for(ent, ctx, result, touched)
            local[ent.id] = actor_id
            da_row, al_rows = self._entity_rows(document_id, ent, actor_id, mention_counts, surface_counts, surfaces)
            doc_actor_rows.append(da_row)
            alias_rows += al_rows
        # One statement for the whole document: entities of one document were kept apart by
        # clustering, so they never join each other by alias; only other documents' aliases count.
        self._flush_actors()
        self._bulk_insert("document_aliases", self._ROW_COLUMNS["document_aliases"], alias_rows)
        self._bulk_insert("document_actors", self._ROW_COLUMNS["document_actors"], doc_actor_rows)
        return local

    @staticmethod
    def _surface_counts(ex: Extraction) -> tuple[Counter, Counter, dict[str, list[str]]]:
        mention_counts: Counter[str] = Counter(m.entity for m in ex.mentions if m.entity)
        surface_counts: Counter[tuple[str, str]] = Counter(
            (m.entity, m.text) for m in ex.mentions if m.entity
        )
        surfaces: dict[str, list[str]] = {}
        for eid, text in surface_counts:
            surfaces.setdefault(eid, []).append(text)
        return mention_counts, surface_counts, surfaces

    @staticmethod
    def _entity_rows(
        document_id: str, ent: Entity, actor_id: str, mention_counts: Counter, surface_counts: Counter,
        surfaces: dict[str, list[str]],
    ) -> tuple[list[Any], list[list[Any]]]:
        """An entity's document_actors row and document_aliases rows."""
        names = entity_names(ent)
        names += [t for t in surfaces.get(ent.id, []) if t not in names and t.strip()]
        da_row = [document_id, ent.id, actor_id, ent.name, ent.type,
                  max(ent.mention_count, mention_counts.get(ent.id, 0), 1)]
        alias_rows = [
            [document_id, actor_id, n, norm, max(surface_counts.get((ent.id, n), 0), 1)]
            for n in names
            if (norm := match_key(n))
        ]
        return da_row, alias_rows

    def _actor_for(self, ent: Entity, ctx: "_ResolveContext", result: AddResult, touched: set[str]) -> str:
        key = actor_key(ent)
        actor_id = actor_id_for_key(key)
        exists = False
        if actor_id in ctx.redirects:
            actor_id, exists = ctx.redirects[actor_id], True
        else:
            row = ctx.actors.get(actor_id)
            if row is not None and row[0] != key:  # another key owns this id (rare)
                self._flush_actors()
                actor_id = f"{actor_id}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"
                row = self.con.execute("SELECT key, kind FROM actors WHERE id = ?", [actor_id]).fetchone()
            if row is not None:
                exists = True
                if row[1] is None and ent.kind:
                    self.con.execute("UPDATE actors SET kind = ? WHERE id = ?", [ent.kind, actor_id])
                    ctx.actors[actor_id] = (row[0], ent.kind)
        if not exists:
            if not ent.gazetteer_id:
                self._flush_actors()
            joined = None if ent.gazetteer_id else self._join_by_alias(ent)
            if joined is not None:
                actor_id = joined
            else:
                self._insert_actor(actor_id, ent, key)
                ctx.actors[actor_id] = (key, ent.kind)
                result.actors_added += 1
        if ent.gazetteer_id:
            for old in ctx.absorbable(ent, actor_id):
                self._flush_actors()
                self._merge_actor(old, actor_id)
                ctx.merged(old, actor_id)
                touched.discard(old)
                result.actors_merged += 1
        return actor_id

    def _insert_actor(self, actor_id: str, ent: Entity, key: str) -> None:
        # batched: written by _flush_actors before anything reads the actors table again
        self._pending_actors.append([actor_id, ent.name, ent.type, ent.kind, ent.gazetteer_id, _now(), key])

    def _flush_actors(self) -> None:
        pending = getattr(self, "_pending_actors", None)
        if pending:
            self._bulk_insert("actors", self._ACTOR_COLUMNS, pending)
            self._pending_actors = []

    def _join_by_alias(self, ent: Entity) -> str | None:
        norms = sorted(entity_norms(ent))
        if not norms:
            return None
        placeholders = ", ".join("?" for _ in norms)
        rows = self.con.execute(
            f"SELECT a.id, a.gazetteer_id, a.name, count(DISTINCT al.norm) "
            f"FROM document_aliases al JOIN actors a ON a.id = al.actor_id "
            f"WHERE a.type = ? AND al.norm IN ({placeholders}) "
            f"GROUP BY a.id, a.gazetteer_id, a.name",
            [ent.type, *norms],
        ).fetchall()
        cands = [Candidate(r[0], r[1], match_key(r[2]), int(r[3])) for r in rows]
        return choose_actor(ent, cands)

    _ACTOR_COLUMNS = ("id", "name", "type", "kind", "gazetteer_id", "created_at", "key")
    _ROW_COLUMNS = {
        "document_aliases": ("document_id", "actor_id", "alias", "norm", "count"),
        "document_actors": ("document_id", "local_id", "actor_id", "name", "type", "mention_count"),
        "mentions": ("document_id", "actor_id", "text", "start", "end"),
        "facts": (
            "id", "document_id", "subject_id", "relation", "object_id", "evidence", "start", "end",
            "date", "date_source", "confidence", "hedged", "attributed_to", "attributes", "rule",
            "extractor_version",
        ),
    }

    def _column_types(self, table: str) -> dict[str, str]:
        if not self._types:  # one query for every table (information_schema is slow-ish)
            for name, column, dtype in self.con.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = 'main'"
            ).fetchall():
                self._types.setdefault(name, {})[column] = dtype
        return self._types[table]

    def _unnest(self, table: str, columns: Iterable[str]) -> str:
        """A SELECT list zipping one list parameter per column into rows."""
        types = self._column_types(table)
        return ", ".join(f'unnest(?::{types[c]}[]) AS "{c}"' for c in columns)

    def _bulk_insert(self, table: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
        """All rows in one statement with one list parameter per column: DuckDB's
        executemany and multi-row VALUES cost per row and per parameter (~15x slower)."""
        if not rows:
            return
        cols = ", ".join(f'"{c}"' for c in columns)
        self.con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {self._unnest(table, columns)}",
            [list(col) for col in zip(*rows)],
        )

    def _bulk_update(self, table: str, key: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
        """UPDATE many rows by key in one statement; each row is [key, *columns]."""
        if not rows:
            return
        sets = ", ".join(f'"{c}" = v."{c}"' for c in columns)
        self.con.execute(
            f'UPDATE {table} SET {sets} FROM (SELECT {self._unnest(table, (key, *columns))}) v '
            f'WHERE {table}."{key}" = v."{key}"',
            [list(col) for col in zip(*rows)],
        )

    def _merge_actor(self, old: str, new: str) -> None:
        """Fold actor ``old`` into ``new``: every reference moves, the old id redirects."""
        for table in ("mentions", "document_actors", "document_aliases"):
            self.con.execute(f"UPDATE {table} SET actor_id = ? WHERE actor_id = ?", [new, old])
        facts = self.con.execute(
            "SELECT f.id, d.content_hash, f.subject_id, f.relation, f.object_id, f.\"start\" "
            "FROM facts f JOIN documents d ON d.id = f.document_id "
            "WHERE f.subject_id = ? OR f.object_id = ?",
            [old, old],
        ).fetchall()
        for fid, chash, subj, rel, obj, start in facts:
            subj = new if subj == old else subj
            obj = new if obj == old else obj
            if subj == obj:
                self.con.execute("DELETE FROM facts WHERE id = ?", [fid])
                continue
            new_id = fact_id_for(chash, subj, rel, obj, start)
            clash = self.con.execute("SELECT 1 FROM facts WHERE id = ?", [new_id]).fetchone()
            if clash:
                self.con.execute("DELETE FROM facts WHERE id = ?", [fid])
                continue
            cols = self.con.execute("SELECT * FROM facts WHERE id = ?", [fid]).fetchone()
            names = [c[0] for c in self.con.description]
            rec = dict(zip(names, cols))
            rec.update(id=new_id, subject_id=subj, object_id=obj)
            self.con.execute("DELETE FROM facts WHERE id = ?", [fid])
            self.con.execute(
                f"INSERT INTO facts ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                [rec[n] for n in names],
            )
        self.con.execute("DELETE FROM aliases WHERE actor_id = ?", [old])
        self.con.execute("DELETE FROM actors WHERE id = ?", [old])
        self.con.execute("UPDATE actor_redirects SET new_id = ? WHERE new_id = ?", [new, old])
        self.con.execute("INSERT OR REPLACE INTO actor_redirects VALUES (?, ?)", [old, new])

    # -- mentions and facts ----------------------------------------------------------
    def _insert_mentions(self, document_id: str, ex: Extraction, local: dict[str, str], result: AddResult) -> None:
        rows = self._mention_rows(document_id, ex, local)
        self._bulk_insert("mentions", self._ROW_COLUMNS["mentions"], rows)
        result.mentions_added = len(rows)

    @staticmethod
    def _mention_rows(document_id: str, ex: Extraction, local: dict[str, str]) -> list[list[Any]]:
        return [
            [document_id, local[m.entity], m.text, m.start, m.end]
            for m in ex.mentions
            if m.entity in local
        ]

    _FACT_COLUMNS = _ROW_COLUMNS["facts"]

    def _insert_facts(self, document_id: str, ex: Extraction, local: dict[str, str], result: AddResult) -> None:
        self._bulk_insert("facts", self._FACT_COLUMNS, self._fact_rows(document_id, ex, local, result))

    def _fact_rows(self, document_id: str, ex: Extraction, local: dict[str, str], result: AddResult) -> list[list[Any]]:
        """Fact rows (sets facts_added / facts_skipped on ``result``)."""
        seen: set[str] = set()
        rows = []
        for fact in ex.facts:
            subj, obj = local.get(fact.subject), local.get(fact.object)
            if subj is None or obj is None or subj == obj:
                result.facts_skipped += 1
                continue
            fid = fact_id_for(ex.document.content_hash, subj, fact.relation, obj, fact.start)
            if fid in seen:
                continue
            seen.add(fid)
            rows.append(self._fact_row(fid, document_id, subj, obj, fact, ex))
        result.facts_added = len(rows)
        return rows

    @staticmethod
    def _fact_row(fid: str, document_id: str, subj: str, obj: str, fact: Fact, ex: Extraction) -> list[Any]:
        """Fact date: the fact's own, else the document's published date."""
        if fact.date:
            date, date_source = fact.date, "text"
        elif ex.document.published:
            date, date_source = ex.document.published, "published"
        else:
            date, date_source = None, None
        return [
            fid, document_id, subj, fact.relation, obj, fact.evidence, fact.start, fact.end,
            date, date_source, float(fact.confidence), bool(fact.hedged), fact.attributed_to,
            json.dumps(fact.attributes or {}, ensure_ascii=False, default=str), fact.rule,
            ex.extractor_version,
        ]

    # -- derived tables --------------------------------------------------------------
    def _refresh_aliases(self, actor_ids: Iterable[str]) -> None:
        ids = sorted(set(actor_ids))
        if not ids:
            return
        self.con.execute("DELETE FROM aliases WHERE actor_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        self.con.execute(
            "INSERT INTO aliases SELECT actor_id, alias, any_value(norm), CAST(sum(count) AS INTEGER) "
            "FROM document_aliases WHERE actor_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY actor_id, alias",
            [ids],
        )

    def _refresh_names(self, actor_ids: Iterable[str]) -> None:
        """A non-gazetteer actor is named by the canonical name documents give it most
        often (ties: the smallest), so its name does not depend on document order."""
        ids = sorted(set(actor_ids))
        if not ids:
            return
        placeholders = ", ".join("?" for _ in ids)
        rows = self.con.execute(
            f"SELECT da.actor_id, da.name, count(*) AS n, any_value(a.name) "
            f"FROM document_actors da JOIN actors a ON a.id = da.actor_id "
            f"WHERE da.actor_id IN ({placeholders}) AND a.gazetteer_id IS NULL AND da.name IS NOT NULL "
            f"GROUP BY da.actor_id, da.name",
            ids,
        ).fetchall()
        best: dict[str, tuple[int, str, str]] = {}
        for aid, name, n, current in rows:
            cand = (-int(n), name, current)
            if aid not in best or cand[:2] < best[aid][:2]:
                best[aid] = cand
        for aid, (_, name, current) in sorted(best.items()):
            if name != current:
                self.con.execute("UPDATE actors SET name = ? WHERE id = ?", [name, aid])

    def _drop_orphans(self, actor_ids: Iterable[str]) -> None:
        """Actors no document refers to any more (after a replace) are removed."""
        for aid in sorted(set(actor_ids)):
            used = self.con.execute(
                "SELECT 1 FROM document_actors WHERE actor_id = ? LIMIT 1", [aid]
            ).fetchone()
            if used is None:
                for table in ("aliases", "mentions"):
                    self.con.execute(f"DELETE FROM {table} WHERE actor_id = ?", [aid])
                self.con.execute("DELETE FROM actors WHERE id = ?", [aid])

    # every column but the timestamps of the moment of writing
    _CONTENT_COLUMNS = {
        "documents": "id, doc_id, content_hash, source, title, published, media_type, encoding, language, "
                     "extractor_version, text, raw_text, boilerplate, warnings",
        "actors": "id, name, type, kind, gazetteer_id, key",
        "aliases": "*",
        "mentions": "*",
        "facts": "*",
        "document_actors": "*",
        "document_aliases": "*",
        "actor_redirects": "*",
    }

    def contents(self) -> dict[str, list]:
        """Every row of the extraction tables, sorted, less write timestamps: stores built
        from the same documents in the same order compare equal (tests, benchmarks)."""
        return {t: self.con.execute(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall()
                for t, cols in self._CONTENT_COLUMNS.items()}

    # -- queries (see queries.py) ----------------------------------------------------
    def counts(self) -> dict[str, int]:
        return queries.counts(self.con)

    def actors(self, limit: int | None = None, type: str | None = None) -> list[dict]:
        return queries.actors(self.con, limit=limit, type=type)

    def find_actors(self, name: str, type: str | None = None) -> list[dict]:
        return queries.find_actors(self.con, name, type=type)

    def actor_card(self, actor_id: str) -> dict | None:
        return queries.actor_card(self.con, actor_id)

    def facts(
        self,
        actor: str | None = None,
        relation: str | None = None,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
        include_hedged: bool = True,
        limit: int | None = None,
        include_rejected: bool = False,
    ) -> list[dict]:
        return queries.facts(
            self.con, actor=actor, relation=relation, since=since, until=until,
            source=source, include_hedged=include_hedged, limit=limit, include_rejected=include_rejected,
        )

    def documents(self) -> list[dict]:
        return queries.documents(self.con)

    # -- corrections (store/corrections.py) ------------------------------------------
    def _correcting(self, fn, *args, **kwargs):
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        try:
            with self._transaction():
                return fn(self.con, *args, **kwargs)
        finally:
            self._cache.clear()  # rows moved behind the identity cache

    def merge_actors(self, a: str, b: str, user: str | None = None) -> dict:
        """Merge actor ``a`` into ``b`` (names, aliases or ids); undone by ``unmerge``."""
        return self._correcting(corrections.merge, a, b, corrections.default_user(user))

    def unmerge(self, what: str, user: str | None = None) -> dict:
        return self._correcting(corrections.unmerge, what, corrections.default_user(user))

    def split_alias(self, actor: str, alias: str, user: str | None = None) -> dict:
        return self._correcting(corrections.split_alias, actor, alias, corrections.default_user(user))

    def unsplit(self, split_id: str, user: str | None = None) -> dict:
        return self._correcting(corrections.unsplit, split_id, corrections.default_user(user))

    def review_fact(self, fact_id: str, action: str, user: str | None = None, **changes: Any) -> dict:
        """Confirm, reject or correct (relation / subject / object) one fact."""
        return self._correcting(corrections.review, fact_id, action, corrections.default_user(user), **changes)

    def audit(self) -> list[dict]:
        return corrections.audit_rows(self.con)

    # -- incidents (store/incidents.py) ----------------------------------------------
    def incidents(self, **filters: Any) -> list[dict]:
        return incident_rows.incidents(self.con, **filters)

    def incident(self, incident_id: str) -> dict | None:
        return incident_rows.incident(self.con, incident_id)

    def attack_mentions(self) -> list[dict]:
        return incident_rows.load_mentions(self.con)

    def edit_incident(self, action: str, mention_ids: list[str], note: str | None = None,
                      user: str | None = None) -> str:
        with self._transaction():
            return incident_rows.edit(self.con, action, mention_ids, note, user)

    def incident_edits(self) -> list[dict]:
        return incident_rows.edits(self.con)
