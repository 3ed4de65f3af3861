"""Ingest stage: files, folders, stdin, URLs and WARC files -> Documents (or IngestErrors for bad inputs)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from allegiance.ingest import reader as _reader
from allegiance.ingest.reader import (
    DEFAULT_MAX_BYTES,
    TEXT_EXTENSIONS,
    decode_bytes,
    looks_like_html,
)
from allegiance.records import Document, IngestError


def iter_documents(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES, fetcher=None) -> Iterator[Document | IngestError]:
    """Yield a Document for every readable input under ``paths``, an IngestError for each bad one.

    ``http://`` / ``https://`` arguments are fetched (``allegiance.ingest.web``), ``.warc`` /
    ``.warc.gz`` files are read record by record (``allegiance.ingest.warc``); everything
    else is read by ``allegiance.ingest.reader.iter_documents`` (files, folders, ``-``).
    URLs are fetched with ``fetcher`` (an ``allegiance.ingest.web.Fetcher``) when given,
    else with the batch's fetcher of the current context (``web.fetching``), else the defaults.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # a single path given bare
    for given in paths:
        name = os.fspath(given)
        if isinstance(name, str) and name[:8].lower().startswith(("http://", "https://")):
            from allegiance.ingest.web import fetch_document

            yield fetcher.fetch_document(name) if fetcher is not None else fetch_document(name)
        elif isinstance(name, str) and name.lower().endswith((".warc", ".warc.gz")) and os.path.isfile(name):
            from allegiance.ingest.warc import iter_warc

            yield from iter_warc(name, max_bytes=max_bytes)
        else:
            yield from _reader.iter_documents([given], max_bytes=max_bytes)


__all__ = ["DEFAULT_MAX_BYTES", "TEXT_EXTENSIONS", "decode_bytes", "iter_documents", "looks_like_html"]
