"""Per-document work units for parallel and distributed extraction.

The driver lists the inputs (:func:`expand_inputs`, the same walk and order as
``allegiance.ingest``); a worker turns one input into extractions with
:func:`extract_one`, which is ``allegiance.pipeline.extract_paths`` on that single path,
so a document extracted on a worker is exactly the document the CLI would extract.
:func:`process_bytes` does the same for bytes already in memory (Spark ``binaryFiles``)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from allegiance.records import Extraction, IngestError


def expand_inputs(paths: Iterable[str]) -> list[str | IngestError]:
    """Every unit of work under ``paths``, in ingest order: a folder becomes its text files
    (recursive, sorted, hidden skipped: ``allegiance.ingest.reader``'s walk); files,
    ``.warc`` crawls, URLs and ``-`` stay as given; unreadable folders become IngestErrors."""
    from allegiance.ingest.reader import _walk_folder

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str | IngestError] = []
    for given in paths:
        name = os.fspath(given)
        if name != "-" and not name[:8].lower().startswith(("http://", "https://")):
            path = Path(name).expanduser()
            if path.is_dir():
                out.extend(item if isinstance(item, IngestError) else str(item) for item in _walk_folder(path))
                continue
        out.append(name)
    return out


def _driver_fetch_options(fetch_options):
    """``fetch_options``, else those of the batch being fetched here (``web.fetching``):
    worker processes do not share this process's context, so the options travel with
    each task."""
    if fetch_options is not None:
        return fetch_options
    from allegiance.ingest.web import current_fetcher

    fetcher = current_fetcher()
    return fetcher.options if fetcher is not None else None


def extract_one(path: str, fetch_options=None) -> list[Extraction | IngestError]:
    """All extractions of one input (one for a file; a crawl may hold several). A URL
    is fetched with ``fetch_options`` (an ``allegiance.ingest.web.FetchOptions``) when given."""
    from allegiance.pipeline import extract_paths

    if fetch_options is None:
        return list(extract_paths([path]))
    from allegiance.ingest.web import fetching

    with fetching(fetch_options) as fetcher:
        return list(extract_paths([path], fetcher=fetcher))


def extract_units(units: Iterable[tuple[int, "str | IngestError"]], batch: int | None = None,
                  fetch_options=None) -> Iterator[tuple[int, list[Extraction | IngestError]]]:
    """``(ordinal, all extractions of that input)`` for each ``(ordinal, input)``, in order,
    extracting the documents of consecutive inputs together (``allegiance.pipeline``'s
    batches: one spaCy batch for many small files). URLs are fetched with
    ``fetch_options`` when given, else with the current batch's fetcher or the defaults."""
    from allegiance.ingest.web import Fetcher, current_fetcher

    if fetch_options is None:
        yield from _extract_units(units, batch, current_fetcher())
        return
    with Fetcher(fetch_options) as fetcher:
        yield from _extract_units(units, batch, fetcher)


def _extract_units(units, batch, fetcher) -> Iterator[tuple[int, list[Extraction | IngestError]]]:
    from allegiance.ingest import iter_documents
    from allegiance.pipeline import EXTRACT_BATCH, _extract_batch

    batch = batch or EXTRACT_BATCH
    pending: list[tuple[int, list]] = []
    size = 0

    def flush() -> list[tuple[int, list]]:
        results = iter(_extract_batch([(item, False) for _, items in pending for item in items]))
        done = [(ordinal, [next(results) for _ in items]) for ordinal, items in pending]
        pending.clear()
        return done

    for ordinal, unit in units:
        items = [unit] if isinstance(unit, IngestError) else list(iter_documents([unit], fetcher=fetcher))
        pending.append((ordinal, items))
        size += len(items)
        if size >= batch:
            yield from flush()
            size = 0
    if pending:
        yield from flush()


def process_bytes(name: str, data: bytes, source: str | None = None) -> Extraction | IngestError:
    """Read, clean and extract one file's bytes exactly as ``allegiance ingest`` does for
    a file called ``name`` (``source``: its full path; default ``name``)."""
    from allegiance.extract import extract_document
    from allegiance.ingest.reader import DEFAULT_MAX_BYTES, HTML_EXTENSIONS, RejectedInput, _document_from_bytes

    source = source or name
    if len(data) > DEFAULT_MAX_BYTES:
        return IngestError(source, f"too large: more than {DEFAULT_MAX_BYTES // (1024 * 1024)} MB limit")
    if not data:
        return IngestError(source, "empty file")
    try:
        doc = _document_from_bytes(
            data, Path(name).name, source, force_html=Path(name).suffix.lower() in HTML_EXTENSIONS
        )
    except RejectedInput as exc:
        return IngestError(source, str(exc))
    except Exception as exc:
        return IngestError(source, f"could not read: {type(exc).__name__}: {exc}")
    from allegiance.pipeline import clean_item

    item = clean_item(doc)
    if isinstance(item, IngestError):
        return item
    try:
        return extract_document(item)
    except Exception as exc:
        return IngestError(item.source, f"extraction failed: {type(exc).__name__}: {exc}")


def _init_worker() -> None:
    from allegiance.extract.nlp import load_nlp

    load_nlp()  # once per worker process


def extract_parallel(paths: Iterable[str], workers: int = 2, chunksize: int = 4,
                     fetch_options=None) -> Iterator[Extraction | IngestError]:
    """``allegiance.pipeline.extract_paths`` over ``workers`` processes, results in input
    order (so storing them gives the same store as a serial run). ``workers <= 1`` runs
    serially in this process; stdin (``-``) is always read here. URLs are fetched with
    ``fetch_options`` (default: those of the current ``web.fetching`` batch)."""
    import functools

    fetch_options = _driver_fetch_options(fetch_options)
    one = functools.partial(extract_one, fetch_options=fetch_options)
    units = expand_inputs(paths)
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            if isinstance(unit, IngestError):
                yield unit
            else:
                yield from one(unit)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    files = [u for u in units if isinstance(u, str) and u != "-"]
    with ctx.Pool(workers, initializer=_init_worker) as pool:
        results = pool.imap(one, files, chunksize=chunksize)
        for unit in units:
            if isinstance(unit, IngestError):
                yield unit
            elif unit == "-":
                yield from one(unit)
            else:
                yield from next(results)
