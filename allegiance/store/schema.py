"""DuckDB schema of the Allegiance store (version 1).

Tables
------
documents         one row per distinct article (identity: ``content_hash``)
actors            corpus-wide actors (stable, readable ids: ``aqim``, ``org-uqba-brigade``)
aliases           surface forms per actor with how often they were seen (derived from
                  ``document_aliases``; recomputed whenever a document changes)
mentions          every mention span, mapped to its actor
facts             relations between actors with evidence, date, provenance
document_actors   document-local entity id -> actor (audit; per-document mention counts)
document_aliases  surface forms per (document, actor): the source of ``aliases``
actor_redirects   ids of actors merged into another (old id still resolves)
reviews, actor_merges, merge_moves, alias_splits, audit   analysts' corrections (``store/corrections.py``)
attack_mentions, incidents, incident_reports, incident_edits   see ``store/incidents.py``
meta              key/value: schema_version, created_at
"""
from __future__ import annotations

SCHEMA_VERSION = "1"

# Analysts' reviews of facts (web app): the latest review of a fact decides its
# state; rejected facts are hidden from queries and exports but never deleted.
REVIEWS_DDL = """
    CREATE TABLE IF NOT EXISTS reviews (
        id VARCHAR PRIMARY KEY,
        fact_id VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        relation VARCHAR,
        subject VARCHAR,
        object VARCHAR,
        note VARCHAR,
        "user" VARCHAR,
        created_at TIMESTAMP NOT NULL
    )"""

TABLES = [
    """
    CREATE TABLE IF NOT EXISTS meta (
        key VARCHAR PRIMARY KEY,
        value VARCHAR
    )""",
    """
    CREATE TABLE IF NOT EXISTS documents (
        id VARCHAR PRIMARY KEY,
        doc_id VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL UNIQUE,
        source VARCHAR,
        title VARCHAR,
        published VARCHAR,
        media_type VARCHAR,
        encoding VARCHAR,
        language VARCHAR,
        ingested_at TIMESTAMP,
        extractor_version VARCHAR,
        text VARCHAR,
        raw_text VARCHAR,
        boilerplate JSON,
        warnings JSON
    )""",
    """
    CREATE TABLE IF NOT EXISTS actors (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        kind VARCHAR,
        gazetteer_id VARCHAR,
        created_at TIMESTAMP,
        key VARCHAR
    )""",
    """
    CREATE TABLE IF NOT EXISTS aliases (
        actor_id VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        norm VARCHAR NOT NULL,
        count INTEGER NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS mentions (
        document_id VARCHAR NOT NULL,
        actor_id VARCHAR NOT NULL,
        text VARCHAR,
        "start" INTEGER,
        "end" INTEGER
    )""",
    """
    CREATE TABLE IF NOT EXISTS facts (
        id VARCHAR PRIMARY KEY,
        document_id VARCHAR NOT NULL,
        subject_id VARCHAR NOT NULL,
        relation VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        evidence VARCHAR,
        "start" INTEGER,
        "end" INTEGER,
        date VARCHAR,
        date_source VARCHAR,
        confidence DOUBLE,
        hedged BOOLEAN,
        attributed_to VARCHAR,
        attributes JSON,
        rule VARCHAR,
        extractor_version VARCHAR
    )""",
    """
    CREATE TABLE IF NOT EXISTS document_actors (
        document_id VARCHAR NOT NULL,
        local_id VARCHAR NOT NULL,
        actor_id VARCHAR NOT NULL,
        name VARCHAR,
        type VARCHAR,
        mention_count INTEGER
    )""",
    """
    CREATE TABLE IF NOT EXISTS document_aliases (
        document_id VARCHAR NOT NULL,
        actor_id VARCHAR NOT NULL,
        alias VARCHAR NOT NULL,
        norm VARCHAR NOT NULL,
        count INTEGER NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS actor_redirects (
        old_id VARCHAR PRIMARY KEY,
        new_id VARCHAR NOT NULL
    )""",
    REVIEWS_DDL,
]

INDEXES = [
    "CREATE INDEX IF NOT EXISTS idx_documents_doc_id ON documents(doc_id)",
    "CREATE INDEX IF NOT EXISTS idx_actors_type ON actors(type)",
    "CREATE INDEX IF NOT EXISTS idx_aliases_norm ON aliases(norm)",
    "CREATE INDEX IF NOT EXISTS idx_aliases_actor ON aliases(actor_id)",
    "CREATE INDEX IF NOT EXISTS idx_mentions_actor ON mentions(actor_id)",
    "CREATE INDEX IF NOT EXISTS idx_mentions_document ON mentions(document_id)",
    "CREATE INDEX IF NOT EXISTS idx_facts_subject ON facts(subject_id)",
    "CREATE INDEX IF NOT EXISTS idx_facts_object ON facts(object_id)",
    "CREATE INDEX IF NOT EXISTS idx_facts_relation ON facts(relation)",
    "CREATE INDEX IF NOT EXISTS idx_facts_document ON facts(document_id)",
    "CREATE INDEX IF NOT EXISTS idx_facts_date ON facts(date)",
    "CREATE INDEX IF NOT EXISTS idx_doc_actors_document ON document_actors(document_id)",
    "CREATE INDEX IF NOT EXISTS idx_doc_actors_actor ON document_actors(actor_id)",
    "CREATE INDEX IF NOT EXISTS idx_doc_aliases_document ON document_aliases(document_id)",
    "CREATE INDEX IF NOT EXISTS idx_doc_aliases_actor ON document_aliases(actor_id)",
    "CREATE INDEX IF NOT EXISTS idx_doc_aliases_norm ON document_aliases(norm)",
]


def create_schema(con) -> None:
    """Create every table and index (idempotent) and record the schema version."""
    for ddl in TABLES:
        con.execute(ddl)
    for ddl in INDEXES:
        con.execute(ddl)
    from allegiance.store.incidents import DDL as INCIDENT_DDL   # attack mentions, incidents (issue 13)

    for ddl in INCIDENT_DDL:
        con.execute(ddl)
    from allegiance.store.corrections import ensure as ensure_corrections  # merges, splits, audit

    ensure_corrections(con)
    con.execute(
        "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('created_at', CAST(now() AS VARCHAR))",
        [SCHEMA_VERSION],
    )
