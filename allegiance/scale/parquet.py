"""Extractions as Parquet tables, and back into the store.

Layout of a Parquet folder (one sub-folder per table, any number of part files):

``documents/``  ordinal, seq, content_hash, doc_id, source, raw_text, text, media_type,
                encoding, title, published, language, segments, boilerplate, warnings
                (JSON strings), extractor_version
``entities/``   ordinal, seq, content_hash, idx, id (local entity id), type, name,
                aliases (JSON), kind, gazetteer_id, mention_count
``mentions/``   ordinal, seq, content_hash, idx, text, start, end, type, entity, source
``facts/``      ordinal, seq, content_hash, idx, subject, relation, object, evidence, start,
                end, date, confidence, hedged, attributed_to, attributes (JSON), rule
``attacks/``    ordinal, seq, content_hash, idx, data (the attack mention as JSON: its
                fields nest, attackers with their status, figures, sentence spans)
``errors/``     ordinal, seq, source, message

``(ordinal, seq)`` is the document's place in ingest order (input number, item within
it). :func:`load_parquet` rebuilds each Extraction and stores it with
``Store.add_extraction`` in that order, so actor resolution across documents runs exactly
as in ``allegiance ingest`` whichever machine extracted each document. Reading and
writing use DuckDB only (no pyarrow needed)."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from allegiance.records import AttackAttacker, AttackMention, Document, Entity, Extraction, Fact, IngestError, Mention, Segment

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "documents": (
        ("ordinal", "BIGINT"), ("seq", "BIGINT"), ("content_hash", "VARCHAR"), ("doc_id", "VARCHAR"),
        ("source", "VARCHAR"), ("raw_text", "VARCHAR"), ("text", "VARCHAR"), ("media_type", "VARCHAR"),
        ("encoding", "VARCHAR"), ("title", "VARCHAR"), ("published", "VARCHAR"), ("language", "VARCHAR"),
        ("segments", "VARCHAR"), ("boilerplate", "VARCHAR"), ("warnings", "VARCHAR"),
        ("extractor_version", "VARCHAR"),
    ),
    "entities": (
        ("ordinal", "BIGINT"), ("seq", "BIGINT"), ("content_hash", "VARCHAR"), ("idx", "BIGINT"),
        ("id", "VARCHAR"), ("type", "VARCHAR"), ("name", "VARCHAR"), ("aliases", "VARCHAR"),
        ("kind", "VARCHAR"), ("gazetteer_id", "VARCHAR"), ("mention_count", "BIGINT"),
    ),
    "mentions": (
        ("ordinal", "BIGINT"), ("seq", "BIGINT"), ("content_hash", "VARCHAR"), ("idx", "BIGINT"),
        ("text", "VARCHAR"), ("start", "BIGINT"), ("end", "BIGINT"), ("type", "VARCHAR"),
        ("entity", "VARCHAR"), ("source", "VARCHAR"),
    ),
    "facts": (
        ("ordinal", "BIGINT"), ("seq", "BIGINT"), ("content_hash", "VARCHAR"), ("idx", "BIGINT"),
        ("subject", "VARCHAR"), ("relation", "VARCHAR"), ("object", "VARCHAR"), ("evidence", "VARCHAR"),
        ("start", "BIGINT"), ("end", "BIGINT"), ("date", "VARCHAR"), ("confidence", "DOUBLE"),
        ("hedged", "BOOLEAN"), ("attributed_to", "VARCHAR"), ("attributes", "VARCHAR"), ("rule", "VARCHAR"),
    ),
    "attacks": (
        ("ordinal", "BIGINT"), ("seq", "BIGINT"), ("content_hash", "VARCHAR"), ("idx", "BIGINT"),
        ("data", "VARCHAR"),
    ),
    "errors": (("ordinal", "BIGINT"), ("seq", "BIGINT"), ("source", "VARCHAR"), ("message", "VARCHAR")),
}


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def extraction_rows(ordinal: int, seq: int, item: Extraction | IngestError) -> dict[str, list[tuple]]:
    """One extraction (or error) as rows of every table (tuples in ``TABLES`` column order)."""
    rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
    if isinstance(item, IngestError):
        rows["errors"].append((ordinal, seq, item.source, item.message))
        return rows
    d, h = item.document, item.document.content_hash
    rows["documents"].append((
        ordinal, seq, h, d.doc_id, d.source, d.raw_text, d.text, d.media_type, d.encoding, d.title,
        d.published, d.language,
        _j([[s.clean_start, s.raw_start, s.length] for s in d.segments]),
        _j(list(d.boilerplate)), _j(list(d.warnings)), item.extractor_version,
    ))
    for i, e in enumerate(item.entities):
        rows["entities"].append((
            ordinal, seq, h, i, e.id, e.type, e.name, _j(list(e.aliases)), e.kind, e.gazetteer_id,
            int(e.mention_count),
        ))
    for i, m in enumerate(item.mentions):
        rows["mentions"].append((ordinal, seq, h, i, m.text, m.start, m.end, m.type, m.entity, m.source))
    for i, f in enumerate(item.facts):
        rows["facts"].append((
            ordinal, seq, h, i, f.subject, f.relation, f.object, f.evidence, f.start, f.end, f.date,
            float(f.confidence), bool(f.hedged), f.attributed_to, _j(dict(f.attributes or {})), f.rule,
        ))
    for i, a in enumerate(item.attacks):
        rows["attacks"].append((ordinal, seq, h, i, _j(asdict(a))))
    return rows


def _attack(data: str) -> AttackMention:
    d = json.loads(data)
    d["attackers"] = [AttackAttacker(**x) for x in d.get("attackers", [])]
    d["sentences"] = [tuple(x) for x in d.get("sentences", [])]
    return AttackMention(**d)


def write_parquet(items: Iterable[Extraction | IngestError], out_dir: str | Path, *, chunk: int = 500) -> dict[str, int]:
    """Write extractions (in order) as the Parquet layout above without Spark (one part
    file per table). Returns rows written per table."""
    out = Path(out_dir)
    con = duckdb.connect()
    try:
        for table, cols in TABLES.items():
            con.execute(f"CREATE TABLE {table} ({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in cols)})")
        pending: dict[str, list[tuple]] = {t: [] for t in TABLES}

        def flush() -> None:
            for table, rows in pending.items():
                if rows:
                    ph = "(" + ", ".join("?" for _ in TABLES[table]) + ")"
                    for i in range(0, len(rows), 200):
                        part = rows[i : i + 200]
                        con.execute(f"INSERT INTO {table} VALUES " + ", ".join(ph for _ in part),
                                    [v for r in part for v in r])
                    rows.clear()

        for n, item in enumerate(items):
            for table, rows in extraction_rows(n, 0, item).items():
                pending[table].extend(rows)
            if n % chunk == chunk - 1:
                flush()
        flush()
        counts = {}
        for table in TABLES:
            (out / table).mkdir(parents=True, exist_ok=True)
            target = out / table / "part-00000.parquet"
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY ordinal, seq) TO '{_sql_path(target)}' (FORMAT PARQUET)")
            counts[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return counts
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _source(con, parquet_dir: Path, table: str) -> str:
    """A SELECT source for one table: its Parquet files, or an empty relation."""
    folder = parquet_dir / table
    files = sorted(p for p in folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in TABLES[table])
        return f"(SELECT {cols} WHERE false)"
    listing = ", ".join(f"'{_sql_path(p)}'" for p in files)
    return f"read_parquet([{listing}], union_by_name = true)"


def read_extractions(parquet_dir: str | Path, *, batch: int = 256) -> Iterator[Extraction | IngestError]:
    """Rebuild Extractions (and IngestErrors) from a Parquet folder, in ingest order."""
    root = Path(parquet_dir)
    if not root.is_dir() or not (root / "documents").is_dir():
        raise FileNotFoundError(f"{root}: not an allegiance Parquet folder (no documents/ inside)")
    con = duckdb.connect()
    try:
        for table in TABLES:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM {_source(con, root, table)}")
        keys = con.execute(
            "SELECT ordinal, seq, 'd' FROM documents UNION ALL SELECT ordinal, seq, 'e' FROM errors "
            "ORDER BY 1, 2"
        ).fetchall()
        for i in range(0, len(keys), batch):
            part = keys[i : i + batch]
            lo, hi = part[0][0], part[-1][0]
            yield from _read_range(con, lo, hi, part)
    finally:
        con.close()


def _fetch(con, table: str, lo: int, hi: int) -> dict[tuple[int, int], list[dict]]:
    cols = [c for c, _ in TABLES[table]]
    order = "ordinal, seq" + (", idx" if "idx" in cols else "")
    cur = con.execute(
        f"SELECT {', '.join(chr(34) + c + chr(34) for c in cols)} FROM {table} "
        f"WHERE ordinal BETWEEN ? AND ? ORDER BY {order}",
        [lo, hi],
    )
    out: dict[tuple[int, int], list[dict]] = {}
    for r in cur.fetchall():
        rec = dict(zip(cols, r))
        out.setdefault((rec["ordinal"], rec["seq"]), []).append(rec)
    return out


def _read_range(con, lo: int, hi: int, keys: list[tuple]) -> Iterator[Extraction | IngestError]:
    docs = _fetch(con, "documents", lo, hi)
    errors = _fetch(con, "errors", lo, hi)
    ents = _fetch(con, "entities", lo, hi)
    ments = _fetch(con, "mentions", lo, hi)
    facts = _fetch(con, "facts", lo, hi)
    attacks = _fetch(con, "attacks", lo, hi)
    for ordinal, seq, kind in keys:
        key = (ordinal, seq)
        if kind == "e":
            for rec in errors.get(key, []):
                yield IngestError(rec["source"], rec["message"])
            continue
        for d in docs.get(key, []):
            doc = Document(
                doc_id=d["doc_id"], source=d["source"], raw_text=d["raw_text"] or "",
                content_hash=d["content_hash"], media_type=d["media_type"], encoding=d["encoding"],
                title=d["title"], published=d["published"], language=d["language"], text=d["text"] or "",
                segments=[Segment(*s) for s in json.loads(d["segments"] or "[]")],
                boilerplate=json.loads(d["boilerplate"] or "[]"), warnings=json.loads(d["warnings"] or "[]"),
            )
            yield Extraction(
                document=doc,
                entities=[
                    Entity(e["id"], e["type"], e["name"], json.loads(e["aliases"] or "[]"), e["kind"],
                           e["gazetteer_id"], int(e["mention_count"] or 0))
                    for e in ents.get(key, [])
                ],
                mentions=[
                    Mention(m["text"], int(m["start"]), int(m["end"]), m["type"], m["entity"] or "", m["source"] or "")
                    for m in ments.get(key, [])
                ],
                facts=[
                    Fact(f["subject"], f["relation"], f["object"], f["evidence"], int(f["start"]), int(f["end"]),
                         f["date"], float(f["confidence"]), bool(f["hedged"]), f["attributed_to"],
                         json.loads(f["attributes"] or "{}"), f["rule"] or "")
                    for f in facts.get(key, [])
                ],
                extractor_version=d["extractor_version"] or "",
                attacks=[_attack(a["data"]) for a in attacks.get(key, [])],
            )


def load_parquet(parquet_dir: str | Path, store, on_item=None, batch: int = 256) -> dict:
    """Store every extraction of a Parquet folder in ingest order, ``batch`` documents per
    ``store.add_extractions`` transaction (the same store as adding them one by one).
    ``on_item(item, result_or_None)`` is called per item (IngestErrors and documents that
    could not be stored get None). Returns a tally: added, unchanged, replaced, failed,
    actors_added, facts_added."""
    tally = dict(added=0, unchanged=0, replaced=0, failed=0, actors_added=0, facts_added=0)
    pending: list = []

    def flush() -> None:
        results = iter(store.add_extractions([it for it in pending if not isinstance(it, IngestError)]))
        for item in pending:
            result = None if isinstance(item, IngestError) else next(results)
            if result is None or result.status == "failed":
                tally["failed"] += 1
                if result is not None:
                    item = IngestError(item.document.source, f"could not store: {type(result.error).__name__}: "
                                                             f"{result.error}")
                if on_item is not None:
                    on_item(item, None)
                continue
            tally[result.status] += 1
            tally["actors_added"] += result.actors_added
            tally["facts_added"] += result.facts_added
            if on_item is not None:
                on_item(item, result)
        pending.clear()

    for item in read_extractions(parquet_dir):
        pending.append(item)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return tally
