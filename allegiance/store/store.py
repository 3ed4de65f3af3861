"""The DuckDB store: documents, actors, aliases, mentions and facts.

Every statement is parameterised: article text is hostile input and never becomes SQL.
``add_extraction`` writes one document in one transaction: on any failure nothing of
that document is left behind."""
from __future__ import annotations

import hashlib
import json
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
from allegiance.store import queries
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
    status: str                 # 'added' | 'unchanged' | 'replaced'
    actors_added: int = 0
    facts_added: int = 0
    mentions_added: int = 0
    document_id: str = ""
    facts_skipped: int = 0      # facts whose ends were unknown or resolved to one actor
    actors_merged: int = 0      # earlier non-gazetteer actors absorbed into a gazetteer actor


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
            redirects = dict(
                con.execute(f"SELECT old_id, new_id FROM actor_redirects WHERE old_id IN ({ph})", ids).fetchall()
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


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    if "lock" in msg and ("conflicting" in msg or "could not set" in msg):
        return True  # another process holds the file
    return "different configuration" in msg  # this process holds it in the other mode


class Store:
    """``with Store(path) as store: store.add_extraction(ex)``."""

    def __init__(self, path: str | Path = DEFAULT_DB, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: run `allegiance ingest` first")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            if _is_lock_error(exc):
                raise StoreLockedError(self.path, str(exc)) from None
            raise StoreError(f"cannot open store {self.path}: {exc}") from None
        try:
            self._check_schema()
        except Exception:
            self.con.close()
            raise

    # -- lifecycle -------------------------------------------------------------------
    def _check_schema(self) -> None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()[0]
        if not has_meta:
            if self.read_only:
                raise StoreError(f"{self.path} is not an allegiance store (no meta table)")
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
        """Store one document's extraction in one transaction."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        doc = ex.document
        if not doc.content_hash:
            raise StoreError(f"{doc.doc_id}: document has no content_hash")
        with self._transaction():
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
        mention_counts: Counter[str] = Counter(m.entity for m in ex.mentions if m.entity)
        surface_counts: Counter[tuple[str, str]] = Counter(
            (m.entity, m.text) for m in ex.mentions if m.entity
        )
        surfaces: dict[str, list[str]] = {}
        for eid, text in surface_counts:
            surfaces.setdefault(eid, []).append(text)
        # gazetteer entities first: they may absorb spellings seen earlier
        ents = sorted(
            (e for e in ex.entities
             if e.type in ("ORG", "PERSON", "PLACE") and e.name and e.name.strip()),
            key=lambda e: e.gazetteer_id is None,
        )
        ctx = _ResolveContext.load(self.con, ents)
        local: dict[str, str] = {}
        doc_actor_rows = []
        alias_rows: list[list[Any]] = []
        self._pending_actors: list[list[Any]] = []
        for ent in ents:
            actor_id = self._actor_for(ent, ctx, result, touched)
            local[ent.id] = actor_id
            names = entity_names(ent)
            names += [t for t in surfaces.get(ent.id, []) if t not in names and t.strip()]
            doc_actor_rows.append(
                [document_id, ent.id, actor_id, ent.name, ent.type,
                 max(ent.mention_count, mention_counts.get(ent.id, 0), 1)]
            )
            alias_rows += [
                [document_id, actor_id, n, norm, max(surface_counts.get((ent.id, n), 0), 1)]
                for n in names
                if (norm := match_key(n))
            ]
        # One statement for the whole document: entities of one document were kept apart by
        # clustering, so they never join each other by alias; only other documents' aliases count.
        self._flush_actors()
        self._bulk_insert("document_aliases", ("document_id", "actor_id", "alias", "norm", "count"), alias_rows)
        self._bulk_insert(
            "document_actors",
            ("document_id", "local_id", "actor_id", "name", "type", "mention_count"),
            doc_actor_rows,
        )
        return local

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
            self._bulk_insert("actors", ("id", "name", "type", "kind", "gazetteer_id", "created_at", "key"), pending)
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

    def _bulk_insert(self, table: str, columns: tuple[str, ...], rows: list[list[Any]], chunk: int = 200) -> None:
        """Multi-row parameterised INSERT (DuckDB's executemany is slow row by row)."""
        cols = ", ".join(f'"{c}"' for c in columns)
        one = "(" + ", ".join("?" for _ in columns) + ")"
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            self.con.execute(
                f"INSERT INTO {table} ({cols}) VALUES " + ", ".join(one for _ in part),
                [v for r in part for v in r],
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
        rows = [
            [document_id, local[m.entity], m.text, m.start, m.end]
            for m in ex.mentions
            if m.entity in local
        ]
        self._bulk_insert("mentions", ("document_id", "actor_id", "text", "start", "end"), rows)
        result.mentions_added = len(rows)

    _FACT_COLUMNS = (
        "id", "document_id", "subject_id", "relation", "object_id", "evidence", "start", "end",
        "date", "date_source", "confidence", "hedged", "attributed_to", "attributes", "rule",
        "extractor_version",
    )

    def _insert_facts(self, document_id: str, ex: Extraction, local: dict[str, str], result: AddResult) -> None:
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
        self._bulk_insert("facts", self._FACT_COLUMNS, rows)
        result.facts_added = len(rows)

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
        placeholders = ", ".join("?" for _ in ids)
        self.con.execute(f"DELETE FROM aliases WHERE actor_id IN ({placeholders})", ids)
        self.con.execute(
            f"INSERT INTO aliases SELECT actor_id, alias, any_value(norm), CAST(sum(count) AS INTEGER) "
            f"FROM document_aliases WHERE actor_id IN ({placeholders}) GROUP BY actor_id, alias",
            ids,
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
