"""The corpus-wide store (DuckDB): documents, actors, aliases, mentions, facts."""
from allegiance.store.store import (
    DEFAULT_DB,
    AddResult,
    Store,
    StoreError,
    StoreFullError,
    StoreLockedError,
    disk_full,
    document_id_for,
    fact_id_for,
)
from allegiance.store.schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "AddResult",
    "Store",
    "StoreError",
    "StoreFullError",
    "StoreLockedError",
    "disk_full",
    "document_id_for",
    "fact_id_for",
]
