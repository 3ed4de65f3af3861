"""The DuckDB store: documents, actors, aliases, mentions and facts.

Every statement is parameterised: article text is hostile input and never becomes SQL.
``add_extractions`` writes a batch of documents in one transaction (``add_extraction``: a
batch of one): on any failure nothing of that batch is left behind, and the documents are
then stored one at a time so that one bad document does not cost the others.

A batch gives exactly the store that adding its documents one by one gives: document k
resolves its actors against documents 1..k-1 of the batch as if they had been committed.
Identity decisions read an in-memory copy of what they need (actors, alias keys, the
names documents give actors, redirects) instead of querying per entity, and the batch's
rows are written with a handful of statements at its end. There is one resolution path:
the rare document the cache cannot decide (a gazetteer actor absorbing earlier actors,
replacing a document stored earlier in the same batch) is tried again first in a fresh
segment after the rows before it are written, the absorbing done in the database first
(``_absorb_before``). The analysts' merges, splits and fact corrections are its other
input: replayed after every batch (``store/corrections.py``), so an ingest never undoes them."""
from __future__ import annotations

import errno
import hashlib
import json
import os
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
from allegiance.resolve.actors import (  # the one resolver: identity decisions on the cache
    Absorb as _Absorb,
    Actor as _Actor,
    IdentityCache as _IdentityCache,
    Undecided as _Hard,
    alt_id as _alt_id,
    resolvable as _resolvable,
    resolve_entity,
    uncount as _uncount,
)
from allegiance.resolve.identity import (
    actor_id_for_key,
    actor_key,
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


class StoreFullError(StoreError):
    """The disk holding the store is full (or the quota, or the file-size limit, is
    reached): no later write can succeed, so the run stops; what was committed stays."""


# errno values meaning "no more room": every later write would fail the same way
DISK_FULL_ERRNOS = frozenset(
    code for code in (getattr(errno, name, None) for name in ("ENOSPC", "EDQUOT", "EFBIG")) if code is not None
)
# DuckDB reports them in words (its IOException carries strerror's text, not the errno)
_DISK_FULL_TEXTS = tuple(sorted({os.strerror(code) for code in DISK_FULL_ERRNOS}))


def disk_full(exc: BaseException | None) -> str | None:
    """strerror's words when ``exc`` (or an exception that caused it) is a full disk, a
    full quota or a file grown past its size limit; None otherwise."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return exc.strerror or os.strerror(exc.errno)
        text = str(exc)
        for words in _DISK_FULL_TEXTS:
            if words in text:
                return words
        exc = exc.__cause__ or exc.__context__
    return None


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


#: a writer that waits for readers to let go of the file (``allegiance serve`` storing a
#: review) leaves this file beside the store; readers that find it wait their turn, so a
#: stream of CLI reads cannot keep the writer out. Older than WRITE_PENDING_STALE_S, it is
#: the leftover of a killed process and ignored.
WRITE_PENDING_SUFFIX = ".write-pending"
WRITE_PENDING_STALE_S = 120.0


def write_pending_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + WRITE_PENDING_SUFFIX)


@contextmanager
def announce_write(path: str | Path) -> Iterator[None]:
    """Mark a write as waiting (see WRITE_PENDING_SUFFIX) for the length of the block."""
    marker = write_pending_path(path)
    try:
        marker.touch()
    except OSError:
        pass  # a read-only folder: readers simply do not defer
    try:
        yield
    finally:
        try:
            marker.unlink()
        except OSError:
            pass


def _write_pending(path: Path) -> bool:
    try:
        return time.time() - write_pending_path(path).stat().st_mtime < WRITE_PENDING_STALE_S
    except OSError:
        return False


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
        # a reader lets a waiting writer in first (within its own wait)
        while read_only and wait > 0 and _write_pending(self.path) and time.monotonic() < deadline:
            time.sleep(0.05)
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
        except Exception as exc:
            self.con.close()
            self.con = None
            self._stop_if_full(exc)
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
        if exc[0] is None:
            self.close()
            return
        try:
            self.close()
        except Exception:
            pass  # closing after a failure (a full disk: no checkpoint): the first error says more

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
        status 'failed' with the error. (A read-only store raises.) A full disk, and a
        database DuckDB has invalidated, raise StoreFullError / StoreError at once: every
        later write would fail too. Batches committed before stay."""
        exs = list(extractions)
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        if not exs:
            return []
        try:
            return self._store_batch(exs)
        except Exception as exc:
            self._stop_if_full(exc)
            if len(exs) == 1:
                return [self._failed(exs[0], exc)]
        results = []
        for ex in exs:
            try:
                results.append(self._store_batch([ex])[0])
            except Exception as exc:
                self._stop_if_full(exc)
                results.append(self._failed(ex, exc))
        return results

    def _stop_if_full(self, exc: Exception) -> None:
        """Raise one clear StoreError for a failure no later write can escape."""
        words = disk_full(exc)
        if words:
            raise StoreFullError(
                f"disk full: cannot write the store {self.path} ({words}); stopped. The documents "
                "stored before are kept: free some space and run again to add the rest"
            ) from exc
        if isinstance(exc, duckdb.FatalException):
            raise StoreError(f"the store {self.path} can no longer be written in this run: {exc}") from exc

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
                absorbed: tuple[int, int] | None = None  # (actors created, merged) before a retry
                while i < len(exs):
                    end = min(len(exs), i + self._SEGMENT_DOCS)
                    first, hard = i, None
                    seg = self._begin_segment(exs[i:end])
                    while i < end:
                        try:
                            result = self._add_cached(exs[i], seg)
                        except _Hard as exc:
                            hard = exc
                            break
                        if absorbed is not None:
                            result.actors_added += absorbed[0]
                            result.actors_merged += absorbed[1]
                            absorbed = None
                        results.append(result)
                        i += 1
                    self._write_segment(seg)
                    if hard is None:
                        continue
                    # what the cache did not follow: the document again, first in a fresh
                    # segment read from the database (after absorbing, if that was it)
                    self._cache.clear()
                    if i == first and (absorbed is not None or not isinstance(hard, _Absorb)):
                        raise StoreError(f"{exs[i].document.doc_id}: actor resolution did not settle")
                    if isinstance(hard, _Absorb):
                        absorbed = self._absorb_before(exs[i])
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

    def _entity_info(self, ent: Entity, seg: _Segment, document: str) -> tuple[str, str, set[str]]:
        """(identity key, actor id for the key, alias keys) of an entity of the document
        with content hash ``document``."""
        info = seg.ent_info.get(id(ent))
        if info is None:
            key = actor_key(ent, document)
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
                key, aid, ent_norms = self._entity_info(ent, seg, ex.document.content_hash)
                norms |= ent_norms
                ids.update((aid, _alt_id(aid, key)))  # the suffixed id, for an id another key owns
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
        kinds: dict[str, str] = {}         # kinds set on stored actors during this document
        local: dict[str, str] = {}
        doc_actor_rows: list[list[Any]] = []
        alias_rows: list[list[Any]] = []
        for ent in _resolvable(ex):
            key, actor_id, norms = self._entity_info(ent, seg, ex.document.content_hash)
            actor_id, new = resolve_entity(cache, ent, key, actor_id, norms, created, kinds)
            result.actors_added += new
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
        for aid, kind in kinds.items():
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

    def _absorb_before(self, ex: Extraction) -> tuple[int, int]:
        """Before storing ``ex``: each of its gazetteer entities (in resolution order)
        gets its actor, which absorbs the earlier non-gazetteer actors of its type sharing
        one of its aliases (rows moved, ids redirected). The stored rows of the document
        itself, when it is being replaced, do not count: they go. Returns (actors
        created, actors merged), for the document's result."""
        con = self.con
        row = con.execute("SELECT id FROM documents WHERE content_hash = ?", [ex.document.content_hash]).fetchone()
        own = row[0] if row else None
        redirects = corrections.resolver_redirects(con)
        created = merged = 0
        for ent in _resolvable(ex):
            if not ent.gazetteer_id:
                break  # gazetteer entities come first
            key = actor_key(ent)
            actor_id = actor_id_for_key(key)
            if actor_id in redirects:
                actor_id = redirects[actor_id]
            else:
                got = con.execute("SELECT key FROM actors WHERE id = ?", [actor_id]).fetchone()
                if got is not None and got[0] != key:
                    actor_id = _alt_id(actor_id, key)
                    got = con.execute("SELECT key FROM actors WHERE id = ?", [actor_id]).fetchone()
                if got is None:
                    self._bulk_insert("actors", self._ACTOR_COLUMNS,
                                      [[actor_id, ent.name, ent.type, ent.kind, ent.gazetteer_id, _now(), key]])
                    created += 1
            norms = sorted(entity_norms(ent))
            if not norms:
                continue
            olds = [r[0] for r in con.execute(
                "SELECT DISTINCT a.id FROM actors a JOIN document_aliases da ON da.actor_id = a.id "
                "WHERE a.gazetteer_id IS NULL AND a.type = ? AND a.id <> ? AND da.document_id IS DISTINCT FROM ? "
                "AND da.norm IN (SELECT unnest(?::VARCHAR[])) ORDER BY a.id",
                [ent.type, actor_id, own, norms]).fetchall()]
            for old in olds:
                self._merge_actor(old, actor_id)
                merged += 1
            if olds:
                self._refresh_aliases([actor_id])
        return created, merged

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

    # -- identity --------------------------------------------------------------------
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
    @staticmethod
    def _mention_rows(document_id: str, ex: Extraction, local: dict[str, str]) -> list[list[Any]]:
        return [
            [document_id, local[m.entity], m.text, m.start, m.end]
            for m in ex.mentions
            if m.entity in local
        ]

    _FACT_COLUMNS = _ROW_COLUMNS["facts"]

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
