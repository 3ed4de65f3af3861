"""The one pipeline: paths -> documents -> cleaned -> extraction.

The CLI, the web app and the distributed job all call these functions; none
re-implements a stage."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from allegiance.records import Document, Extraction, IngestError


def read_documents(paths: Iterable[str]) -> Iterator[Document | IngestError]:
    """Read and clean every document under ``paths`` (files, folders, ``-``)."""
    from allegiance.clean import clean_document
    from allegiance.ingest import iter_documents

    for item in iter_documents(paths):
        if isinstance(item, IngestError):
            yield item
            continue
        try:
            yield clean_document(item)
        except Exception as exc:  # a bad document never stops the batch
            yield IngestError(item.source, f"could not clean: {exc}")


def extract_paths(paths: Iterable[str]) -> Iterator[Extraction | IngestError]:
    from allegiance.extract import extract_document

    for item in read_documents(paths):
        if isinstance(item, IngestError):
            yield item
            continue
        try:
            yield extract_document(item)
        except Exception as exc:
            yield IngestError(item.source, f"extraction failed: {type(exc).__name__}: {exc}")
