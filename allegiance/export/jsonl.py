"""The whole graph with provenance as JSON Lines, and ``allegiance import`` of such a file.

One JSON object per line, discriminated by ``type``:

``header``          format name/version, store schema version, whether filters applied
``document``        a documents row (text and raw_text included: evidence offsets point into it)
``actor``           an actors row
``redirect``        an actor_redirects row (merged actor id -> surviving id)
``alias``           an aliases row
``document_actor``  a document_actors row (document-local entity id -> actor)
``document_alias``  a document_aliases row (what ``aliases`` is derived from)
``mention``         a mentions row
``fact``            a facts row
``attack_mention``  an attack_mentions row (what incidents are linked from)
``incident_edit``   an analyst's merge or split of incidents
``review``          an analyst's confirmation, rejection or correction of a fact (with
                    its document while the fact is gone, waiting for it to come back)

Incidents are not dumped: they are derived from the attack mentions and the analysts'
edits, and import links them again (``store.incidents.relink``), so a dump merged into
a store that already holds other reports of an attack joins that attack's incident.
Version 1 files (before attack mentions and reviews were dumped) still import.

Rows keep the store's column names, except that an actor's / document actor's ``type``
(ORG, PERSON, PLACE) is written ``entity_type`` so it cannot clash with the record type.
Timestamps are ISO strings; JSON columns (attributes, boilerplate, warnings) are JSON values.

Import (:func:`import_records`) writes in one transaction with parameterised SQL.  A document
already in the store (same id or content hash) is skipped with everything hanging off it, so
importing a file twice adds nothing; actors already there are kept as they are (their aliases
are recomputed from the imported document aliases)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from allegiance.export import Selection
from allegiance.export.query import JSON_COLUMNS, TABLE_COLUMNS, table_rows
from allegiance.records import ENTITY_TYPES
from allegiance.store import StoreError
from allegiance.store.schema import SCHEMA_VERSION

FORMAT = "allegiance-jsonl"
VERSION = 2

#: record type -> store table, in the order records are written and imported
RECORD_TABLES: dict[str, str] = {
    "document": "documents",
    "actor": "actors",
    "redirect": "actor_redirects",
    "alias": "aliases",
    "document_actor": "document_actors",
    "document_alias": "document_aliases",
    "mention": "mentions",
    "fact": "facts",
    "attack_mention": "attack_mentions",
    "incident_edit": "incident_edits",
    "review": "reviews",
}
TABLE_RECORDS = {t: r for r, t in RECORD_TABLES.items()}
_RENAMED = {"actors": {"type": "entity_type"}, "document_actors": {"type": "entity_type"}}
REQUIRED: dict[str, tuple[str, ...]] = {
    "documents": ("id", "doc_id", "content_hash"),
    "actors": ("id", "name", "type"),
    "actor_redirects": ("old_id", "new_id"),
    "aliases": ("actor_id", "alias", "norm", "count"),
    "document_actors": ("document_id", "local_id", "actor_id"),
    "document_aliases": ("document_id", "actor_id", "alias", "norm", "count"),
    "mentions": ("document_id", "actor_id"),
    "facts": ("id", "document_id", "subject_id", "relation", "object_id"),
    "attack_mentions": ("id", "document_id", "local_id"),
    "incident_edits": ("id", "action", "mention_ids", "created_at"),
    "reviews": ("id", "fact_id", "action", "created_at"),
}


class ImportFileError(StoreError):
    """A file ``allegiance import`` cannot load: one line naming the file and line."""


# -- export -------------------------------------------------------------------------------
def _json_value(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def _dumps(obj: dict) -> str:
    # U+2028/U+2029 are line breaks to some JSON Lines readers: keep them escaped
    return (
        json.dumps(obj, ensure_ascii=False, default=str)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def records(sel: Selection) -> Iterator[dict]:
    """The records of a selection, header first."""
    con = sel.con
    if sel.filtered:
        docs, actors = list(sel.documents), list(sel.actors)
        fact_ids = [f["id"] for f in sel.facts]
    else:
        docs = actors = fact_ids = None
    tables = {
        "documents": table_rows(con, "documents", documents=docs),
        "actors": table_rows(con, "actors", actors=actors),
        "actor_redirects": table_rows(con, "actor_redirects", actors=actors),
        "aliases": table_rows(con, "aliases", actors=actors),
        "document_actors": table_rows(con, "document_actors", documents=docs, actors=actors),
        "document_aliases": table_rows(con, "document_aliases", documents=docs, actors=actors),
        "mentions": table_rows(con, "mentions", documents=docs, actors=actors),
        "facts": table_rows(con, "facts", ids=fact_ids),
        "attack_mentions": table_rows(con, "attack_mentions", documents=docs),
        "incident_edits": table_rows(con, "incident_edits"),
        "reviews": table_rows(con, "reviews", fact_ids=fact_ids),
    }
    if sel.filtered:
        # an edit goes with the dump when it touches one of the dumped attack mentions
        dumped = {r["id"] for r in tables["attack_mentions"]}
        tables["incident_edits"] = [r for r in tables["incident_edits"] if dumped & set(r["mention_ids"] or ())]
    yield {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "schema_version": SCHEMA_VERSION,
        "filtered": sel.filtered,
        "since": sel.since,
        "until": sel.until,
        "counts": {TABLE_RECORDS[t]: len(rows) for t, rows in tables.items()},
    }
    for rtype, table in RECORD_TABLES.items():
        rename = _RENAMED.get(table, {})
        for row in tables[table]:
            rec: dict[str, Any] = {"type": rtype}
            for k, v in row.items():
                rec[rename.get(k, k)] = _json_value(v)
            yield rec


def write(sel: Selection, fh: TextIO) -> int:
    """Write the JSON Lines dump; returns the number of records (header excluded)."""
    n = -1
    for rec in records(sel):
        fh.write(_dumps(rec) + "\n")
        n += 1
    return n


# -- import -------------------------------------------------------------------------------
@dataclass
class ImportResult:
    added: dict[str, int] = field(default_factory=lambda: {r: 0 for r in RECORD_TABLES})
    skipped_documents: int = 0
    records: int = 0


def read_records(lines: Iterable[str], where: str = "<input>") -> Iterator[tuple[int, str, dict]]:
    """(line number, record type, store row) for each non-blank line; bad lines raise
    ImportFileError.
    The header is checked when present (hand-made files may leave it out)."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise ImportFileError(f"{where}:{n}: not JSON ({exc})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
            raise ImportFileError(f"{where}:{n}: not an allegiance record (no \"type\")")
        rtype = rec["type"]
        if rtype == "header":
            if rec.get("format") != FORMAT:
                raise ImportFileError(f"{where}:{n}: not an {FORMAT} file (format {rec.get('format')!r})")
            if not isinstance(rec.get("version"), int) or rec["version"] > VERSION:
                raise ImportFileError(
                    f"{where}:{n}: {FORMAT} version {rec.get('version')!r}; this allegiance reads up to {VERSION}"
                )
            if str(rec.get("schema_version")) != SCHEMA_VERSION:
                raise ImportFileError(
                    f"{where}:{n}: exported from store schema {rec.get('schema_version')!r}; "
                    f"this allegiance has {SCHEMA_VERSION}"
                )
            continue
        if rtype not in RECORD_TABLES:
            raise ImportFileError(f"{where}:{n}: unknown record type {rtype!r}")
        table = RECORD_TABLES[rtype]
        rec = {k: v for k, v in rec.items() if k != "type"}
        for old, new in _RENAMED.get(table, {}).items():
            if new in rec:
                rec[old] = rec.pop(new)
        missing = [c for c in REQUIRED[table] if rec.get(c) in (None, "")]
        if missing:
            raise ImportFileError(f"{where}:{n}: {rtype} record lacks {', '.join(missing)}")
        if table == "actors" and rec["type"] not in ENTITY_TYPES:
            raise ImportFileError(f"{where}:{n}: actor type {rec['type']!r} is not one of {', '.join(ENTITY_TYPES)}")
        yield n, rtype, rec


def _row(table: str, rec: dict) -> list[Any]:
    out = []
    for c in TABLE_COLUMNS[table]:
        v = rec.get(c)
        if c in JSON_COLUMNS and v is not None and not isinstance(v, str):
            v = json.dumps(v, ensure_ascii=False)
        out.append(v)
    return out


def _bulk_insert(con, table: str, rows: list[list[Any]], chunk: int = 200) -> None:
    cols = TABLE_COLUMNS[table]
    names = ", ".join(f'"{c}"' for c in cols)
    one = "(" + ", ".join("?" for _ in cols) + ")"
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        con.execute(
            f"INSERT INTO {table} ({names}) VALUES " + ", ".join(one for _ in part),
            [v for r in part for v in r],
        )


def _existing(con, sql: str, values: list[str]) -> set[str]:
    if not values:
        return set()
    return {r[0] for r in con.execute(sql, [values]).fetchall()}


def import_records(store, recs: Iterable[tuple[int, str, dict]], where: str = "<input>") -> ImportResult:
    """Load records into ``store`` (a writable Store) in one transaction."""
    con = store.con
    by_table: dict[str, list[tuple[int, dict]]] = {t: [] for t in RECORD_TABLES.values()}
    result = ImportResult()
    for n, rtype, rec in recs:
        by_table[RECORD_TABLES[rtype]].append((n, rec))
        result.records += 1

    docs = by_table["documents"]
    ids = [r["id"] for _, r in docs]
    hashes = [r["content_hash"] for _, r in docs]
    have = _existing(con, "SELECT id FROM documents WHERE list_contains(?::VARCHAR[], id)", ids)
    have_hash = _existing(
        con, "SELECT content_hash FROM documents WHERE list_contains(?::VARCHAR[], content_hash)", hashes
    )
    new_docs: dict[str, dict] = {}
    for _, r in docs:
        if r["id"] in have or r["content_hash"] in have_hash or r["id"] in new_docs:
            result.skipped_documents += 1
            continue
        new_docs[r["id"]] = r

    actor_ids = [r["id"] for _, r in by_table["actors"]]
    have_actors = _existing(con, "SELECT id FROM actors WHERE list_contains(?::VARCHAR[], id)", actor_ids)
    redirects = dict(con.execute("SELECT old_id, new_id FROM actor_redirects").fetchall())
    new_actors: dict[str, dict] = {}
    for _, r in by_table["actors"]:
        if r["id"] in have_actors or r["id"] in new_actors or r["id"] in redirects:
            continue
        new_actors[r["id"]] = r
    new_redirects = {}
    for _, r in by_table["actor_redirects"]:
        if r["old_id"] not in redirects and r["old_id"] not in have_actors and r["old_id"] not in new_actors:
            new_redirects[r["old_id"]] = r
    known_actors = have_actors | set(new_actors)
    # ids an actor of the file was merged into in this store
    remap = {old: new for old, new in redirects.items() if old not in known_actors}

    def actor(n: int, rtype: str, value: str) -> str:
        value = remap.get(value, value)
        if value not in known_actors:
            known = con.execute("SELECT 1 FROM actors WHERE id = ?", [value]).fetchone()
            if known is None:
                raise ImportFileError(f"{where}:{n}: {rtype} refers to unknown actor {value!r}")
            known_actors.add(value)
        return value

    rows: dict[str, list[list[Any]]] = {t: [] for t in RECORD_TABLES.values()}
    rows["documents"] = [_row("documents", r) for r in new_docs.values()]
    rows["actors"] = [_row("actors", r) for r in new_actors.values()]
    rows["actor_redirects"] = [_row("actor_redirects", r) for r in new_redirects.values()]
    rows["aliases"] = [
        _row("aliases", r) for _, r in by_table["aliases"] if r["actor_id"] in new_actors
    ]
    touched: set[str] = set()
    for table in ("document_actors", "document_aliases", "mentions"):
        for n, r in by_table[table]:
            if r["document_id"] not in new_docs:
                continue
            r = dict(r, actor_id=actor(n, TABLE_RECORDS[table], r["actor_id"]))
            if table == "document_aliases":
                touched.add(r["actor_id"])
            rows[table].append(_row(table, r))
    fact_ids = [r["id"] for _, r in by_table["facts"] if r["document_id"] in new_docs]
    have_facts = _existing(con, "SELECT id FROM facts WHERE list_contains(?::VARCHAR[], id)", fact_ids)
    seen_facts: set[str] = set()
    for n, r in by_table["facts"]:
        if r["document_id"] not in new_docs or r["id"] in have_facts or r["id"] in seen_facts:
            continue
        seen_facts.add(r["id"])
        r = dict(r, subject_id=actor(n, "fact", r["subject_id"]), object_id=actor(n, "fact", r["object_id"]))
        rows["facts"].append(_row("facts", r))
    # attack mentions of the new documents; the incidents are linked again below
    have_mentions = _existing(con, "SELECT id FROM attack_mentions WHERE list_contains(?::VARCHAR[], id)",
                              [r["id"] for _, r in by_table["attack_mentions"]])
    relink: set[str] = set()
    edited: set[str] = set()   # mentions an imported edit regroups
    for _, r in by_table["attack_mentions"]:
        if r["document_id"] not in new_docs or r["id"] in have_mentions or r["id"] in relink:
            continue
        have_mentions.add(r["id"])
        rows["attack_mentions"].append(_row("attack_mentions", r))
        if r.get("current"):
            relink.add(r["id"])
    # analysts' edits and reviews are kept once each (by id); a review goes with its fact,
    # or with its document while the fact is gone
    have_edits = _existing(con, "SELECT id FROM incident_edits WHERE list_contains(?::VARCHAR[], id)",
                           [r["id"] for _, r in by_table["incident_edits"]])
    for n, r in by_table["incident_edits"]:
        if r["id"] in have_edits:
            continue
        if not isinstance(r["mention_ids"], list) or not all(isinstance(m, str) for m in r["mention_ids"]):
            raise ImportFileError(f"{where}:{n}: incident_edit mention_ids is not a list of ids")
        have_edits.add(r["id"])
        edited.update(r["mention_ids"])
        rows["incident_edits"].append(_row("incident_edits", r))
    have_reviews = _existing(con, "SELECT id FROM reviews WHERE list_contains(?::VARCHAR[], id)",
                             [r["id"] for _, r in by_table["reviews"]])
    # a review whose fact is gone (an extractor no longer finds it) waits in the store for
    # the fact to come back (corrections.repoint_reviews, by its document and span): it
    # travels with its document
    new_hashes = {r["content_hash"] for _, r in by_table["documents"] if r["id"] in new_docs}
    for _, r in by_table["reviews"]:
        if r["id"] in have_reviews or (r["fact_id"] not in seen_facts and r.get("content_hash") not in new_hashes):
            continue
        have_reviews.add(r["id"])
        rows["reviews"].append(_row("reviews", r))

    con.execute("BEGIN TRANSACTION")
    try:
        for table in RECORD_TABLES.values():
            _bulk_insert(con, table, rows[table])
            result.added[TABLE_RECORDS[table]] = len(rows[table])
        # actors that were already here and gained document aliases: re-derive their aliases
        refresh = sorted(touched - set(new_actors))
        if refresh:
            con.execute("DELETE FROM aliases WHERE list_contains(?::VARCHAR[], actor_id)", [refresh])
            con.execute(
                "INSERT INTO aliases SELECT actor_id, alias, any_value(norm), CAST(sum(count) AS INTEGER) "
                "FROM document_aliases WHERE list_contains(?::VARCHAR[], actor_id) GROUP BY actor_id, alias",
                [refresh],
            )
        if relink or rows["incident_edits"]:
            from allegiance.store.incidents import relink as relink_incidents

            # an imported edit may regroup mentions already here: their neighbourhood too
            relink_incidents(con, relink | (edited & have_mentions))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return result


def import_file(store, path: str | Path, fh: TextIO | None = None) -> ImportResult:
    """Import a JSON Lines dump (``path`` '-' with ``fh``: read from that stream)."""
    where = str(path)
    if fh is not None:
        return import_records(store, list(read_records(fh, where)), where)
    p = Path(path)
    if not p.is_file():
        raise ImportFileError(f"{where}: no such file")
    with open(p, encoding="utf-8", newline="") as f:
        try:
            recs = list(read_records(_lines(f), where))
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{where}: not UTF-8 ({exc.reason})") from None
    return import_records(store, recs, where)


def _lines(fh: TextIO) -> Iterator[str]:
    """Lines split on LF only (text may hold CR/U+2028 only inside escaped JSON strings)."""
    buf = ""
    while True:
        chunk = fh.read(1 << 16)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split("\n")
        yield from done
    if buf:
        yield buf
