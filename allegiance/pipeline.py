"""The one pipeline: paths -> documents -> cleaned -> extraction.

The CLI, the web app and the distributed job all call these functions; none
re-implements a stage."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from allegiance.records import Document, Extraction, IngestError


# A news article is a few thousand words; a file with megabytes of text is a dump
# or a concatenation, which should be split into articles before extraction.
MAX_ARTICLE_CHARS = 2_000_000


def read_documents(paths: Iterable[str], *, max_chars: int = MAX_ARTICLE_CHARS) -> Iterator[Document | IngestError]:
    """Read and clean every document under ``paths`` (files, folders, ``-``)."""
    from allegiance.clean import clean_document
    from allegiance.ingest import iter_documents

    for item in iter_documents(paths):
        if isinstance(item, IngestError):
            yield item
            continue
        try:
            doc = clean_document(item)
        except Exception as exc:  # a bad document never stops the batch
            yield IngestError(item.source, f"could not clean: {exc}")
            continue
        if len(doc.text) > max_chars:
            yield IngestError(
                item.source,
                f"too long for one article: {len(doc.text) / 1e6:.1f} million characters of text "
                f"(limit {max_chars / 1e6:g} million); split it into articles",
            )
            continue
        yield doc


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
