"""Read-only queries the exporters need beyond ``allegiance.store.queries``.

Each takes a DuckDB connection; all are parameterised (id lists travel as one list
parameter, never as SQL text)."""
from __future__ import annotations

import json
from typing import Any

#: columns of each table dumped by the jsonl exporter, in store order
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "documents": (
        "id", "doc_id", "content_hash", "source", "title", "published", "media_type", "encoding",
        "language", "ingested_at", "extractor_version", "text", "raw_text", "boilerplate", "warnings",
    ),
    "actors": ("id", "name", "type", "kind", "gazetteer_id", "created_at", "key"),
    "aliases": ("actor_id", "alias", "norm", "count"),
    "mentions": ("document_id", "actor_id", "text", "start", "end"),
    "facts": (
        "id", "document_id", "subject_id", "relation", "object_id", "evidence", "start", "end",
        "date", "date_source", "confidence", "hedged", "attributed_to", "attributes", "rule",
        "extractor_version",
    ),
    "document_actors": ("document_id", "local_id", "actor_id", "name", "type", "mention_count"),
    "document_aliases": ("document_id", "actor_id", "alias", "norm", "count"),
    "actor_redirects": ("old_id", "new_id"),
    # what incidents are linked from (store/incidents.py); the incidents themselves are
    # derived and linked again on import, as aliases are recomputed
    "attack_mentions": ("id", "document_id", "local_id", "current", "data"),
    # analysts' decisions (store/corrections.py, store/incidents.py): without them a
    # rejected fact would come back live, a split incident whole
    "reviews": (
        "id", "fact_id", "action", "relation", "subject", "object", "note", "user", "created_at",
        "content_hash", "span_start", "span_end", "orig_relation", "orig_subject_key", "orig_object_key",
        "subject_key", "object_key",
    ),
    "incident_edits": ("id", "action", "mention_ids", "note", "user", "created_at", "scope"),
}
#: JSON-typed columns (stored as JSON text, exported as JSON values)
JSON_COLUMNS = frozenset({"boilerplate", "warnings", "attributes", "data", "mention_ids", "scope"})
#: a stable order for each table's rows
TABLE_ORDER: dict[str, str] = {
    "documents": "doc_id, id",
    "actors": "id",
    "aliases": "actor_id, alias",
    "mentions": "document_id, \"start\", \"end\", actor_id, text",
    "facts": "document_id, \"start\", relation, id",
    "document_actors": "document_id, local_id",
    "document_aliases": "document_id, actor_id, alias",
    "actor_redirects": "old_id",
    "attack_mentions": "document_id, id",
    "reviews": "created_at, id",
    "incident_edits": "created_at, id",
}


def rows(con, sql: str, params: list[Any] | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _cols(table: str) -> str:
    return ", ".join(f'"{c}"' for c in TABLE_COLUMNS[table])


def table_rows(
    con,
    table: str,
    documents: list[str] | None = None,
    actors: list[str] | None = None,
    ids: list[str] | None = None,
    fact_ids: list[str] | None = None,
) -> list[dict]:
    """Rows of one store table, optionally restricted to some documents / actors / ids /
    facts (the ``fact_id`` a review is of).

    ``None`` means no restriction; an empty list means nothing."""
    if table not in TABLE_COLUMNS:
        raise ValueError(f"unknown table {table!r}")
    cols = TABLE_COLUMNS[table]
    where: list[str] = []
    params: list[Any] = []
    if documents is not None:
        col = "id" if table == "documents" else "document_id"
        if col in cols:
            where.append(f"list_contains(?::VARCHAR[], {col})")
            params.append(list(documents))
    if actors is not None:
        for col in ("actor_id", "subject_id", "object_id", "new_id"):
            if col in cols:
                where.append(f"list_contains(?::VARCHAR[], {col})")
                params.append(list(actors))
        if table == "actors":
            where.append("list_contains(?::VARCHAR[], id)")
            params.append(list(actors))
    if ids is not None and "id" in cols:
        where.append("list_contains(?::VARCHAR[], id)")
        params.append(list(ids))
    if fact_ids is not None and "fact_id" in cols:
        where.append("list_contains(?::VARCHAR[], fact_id)")
        params.append(list(fact_ids))
    sql = f"SELECT {_cols(table)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {TABLE_ORDER[table]}"
    out = rows(con, sql, params)
    for r in out:
        for c in JSON_COLUMNS & set(r):
            if isinstance(r[c], str):
                try:
                    r[c] = json.loads(r[c])
                except ValueError:
                    pass
    return out


def fact_documents(con, fact_ids: list[str]) -> dict[str, str]:
    """fact id -> internal document id."""
    if not fact_ids:
        return {}
    return dict(
        con.execute(
            "SELECT id, document_id FROM facts WHERE list_contains(?::VARCHAR[], id)", [list(fact_ids)]
        ).fetchall()
    )


def local_actor_ids(con, document_ids: list[str]) -> dict[tuple[str, str], str]:
    """(document id, document-local entity id) -> actor id (to read ``attributes.place``)."""
    if not document_ids:
        return {}
    return {
        (d, loc): a
        for d, loc, a in con.execute(
            "SELECT document_id, local_id, actor_id FROM document_actors "
            "WHERE list_contains(?::VARCHAR[], document_id)",
            [list(document_ids)],
        ).fetchall()
    }


def actor_aliases(con, actor_ids: list[str]) -> dict[str, list[str]]:
    """actor id -> its aliases, most seen first."""
    out: dict[str, list[str]] = {}
    if not actor_ids:
        return out
    for aid, alias in con.execute(
        "SELECT actor_id, alias FROM aliases WHERE list_contains(?::VARCHAR[], actor_id) "
        "ORDER BY actor_id, count DESC, alias",
        [list(actor_ids)],
    ).fetchall():
        out.setdefault(aid, []).append(alias)
    return out


def actor_published(con, actor_ids: list[str]) -> dict[str, list[str]]:
    """actor id -> published dates of the documents that mention it."""
    out: dict[str, list[str]] = {}
    if not actor_ids:
        return out
    for aid, pub in con.execute(
        "SELECT DISTINCT da.actor_id, d.published FROM document_actors da "
        "JOIN documents d ON d.id = da.document_id "
        "WHERE d.published IS NOT NULL AND list_contains(?::VARCHAR[], da.actor_id)",
        [list(actor_ids)],
    ).fetchall():
        out.setdefault(aid, []).append(pub)
    return out
