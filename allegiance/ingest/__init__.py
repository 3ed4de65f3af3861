"""Ingest stage: files, folders and stdin -> Documents (or IngestErrors for bad inputs)."""
from __future__ import annotations

from allegiance.ingest.reader import (
    DEFAULT_MAX_BYTES,
    TEXT_EXTENSIONS,
    decode_bytes,
    iter_documents,
    looks_like_html,
)

__all__ = ["DEFAULT_MAX_BYTES", "TEXT_EXTENSIONS", "decode_bytes", "iter_documents", "looks_like_html"]
