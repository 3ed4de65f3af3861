"""The one pipeline: paths -> documents -> cleaned -> extraction.

The CLI, the web app and the distributed job all call these functions; none
re-implements a stage."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from allegiance.records import Document, Extraction, IngestError


# A news article is a few thousand words; a file with megabytes of text is a dump
# or a concatenation, which should be split into articles before extraction.
MAX_ARTICLE_CHARS = 2_000_000
# below this many documents, extraction stays in-process (no worker start-up cost)
SMALL_BATCH = 8
# documents extracted together: spaCy reads their candidate text in shared batches
# (about a third cheaper than one document at a time); small enough to keep memory flat
# and results flowing to the store
EXTRACT_BATCH = 16


def read_documents(paths: Iterable[str], *, max_chars: int = MAX_ARTICLE_CHARS) -> Iterator[Document | IngestError]:
    """Read and clean every document under ``paths`` (files, folders, ``-``)."""
    from allegiance.ingest import iter_documents

    for item in iter_documents(paths):
        yield clean_item(item, max_chars=max_chars)


def clean_item(item: Document | IngestError, *, max_chars: int = MAX_ARTICLE_CHARS) -> Document | IngestError:
    """The clean stage for one document as read: boilerplate, title, date, language."""
    from allegiance.clean import clean_document

    if isinstance(item, IngestError):
        return item
    try:
        doc = clean_document(item)
    except Exception as exc:  # a bad document never stops the batch
        return IngestError(item.source, f"could not clean: {exc}")
    if len(doc.text) > max_chars:
        return IngestError(
            item.source,
            f"too long for one article: {len(doc.text) / 1e6:.1f} million characters of text "
            f"(limit {max_chars / 1e6:g} million); split it into articles",
        )
    return doc


def _extract_one(item: Document | IngestError, skip: bool = False) -> Extraction | IngestError:
    from allegiance.extract import EXTRACTOR_VERSION, extract_document

    if isinstance(item, IngestError):
        return item
    if skip:
        # already stored by this extractor version: the store will report it unchanged
        return Extraction(document=item, extractor_version=EXTRACTOR_VERSION)
    try:
        return extract_document(item)
    except Exception as exc:  # one bad document never stops the batch
        return IngestError(item.source, f"extraction failed: {type(exc).__name__}: {exc}")


def _worker_init() -> None:
    # Each worker loads the model and the gazetteer once, then serves many documents.
    import signal

    from allegiance.extract.mentions import gaz_index
    from allegiance.extract.nlp import load_nlp

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _die_with_parent()
    load_nlp()
    gaz_index()


def _die_with_parent() -> None:
    """A worker whose parent was killed (SIGKILL, OOM) would finish its batch for nobody
    and hold CPU and memory from the re-run: on Linux, ask the kernel to end it too."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass   # not available: the worker ends when it next reads its closed task queue


def _extract_batch(tasks: list[tuple]) -> list[Extraction | IngestError]:
    """Clean, then ``_extract_one``, for a list of ``(item as read, skip)``, extracting the
    documents together. Cleaning happens here, in the worker: HTML boilerplate removal
    costs as much as extraction, and the parent process is busy storing."""
    from allegiance.extract import extract_documents

    tasks = [(clean_item(item), skip) for item, skip in tasks]
    todo = [item for item, skip in tasks if not isinstance(item, IngestError) and not skip]
    try:
        done = iter(extract_documents(todo)) if todo else iter(())
    except Exception:
        # one document broke the batch: extract each alone so only that one fails
        return [_extract_one(*task) for task in tasks]
    return [next(done) if not isinstance(item, IngestError) and not skip else _extract_one(item, skip)
            for item, skip in tasks]


def _batches(tasks: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(tasks)
    while batch := list(itertools.islice(it, size)):
        yield batch


def extract_paths(
    paths: Iterable[str],
    *,
    workers: int = 1,
    skip: Callable[[Document], bool] | None = None,
    batch: int = EXTRACT_BATCH,
    fetcher=None,
) -> Iterator[Extraction | IngestError]:
    """Extraction results in input order. ``workers`` > 1 extracts in that many
    processes; ``skip(document)`` marks documents that need no extraction. URLs are
    fetched with ``fetcher`` (default: the batch's, ``allegiance.ingest.web.fetching``)."""
    from allegiance.extract import EXTRACTOR_VERSION  # noqa: F401  (fail early if the model is missing)

    from allegiance.ingest import iter_documents
    from allegiance.ingest.web import current_fetcher

    # With workers, the inputs below are read (and URLs fetched) in the pool's feeder
    # thread, which does not see the caller's context: the batch's fetcher, set there by
    # ``fetching``, would be missing for every input after the first few. It is taken
    # once here, in the caller's context, and passed down.
    fetcher = fetcher if fetcher is not None else current_fetcher()
    # the content hash is known as soon as a file is read: skipping needs no cleaning
    tasks = ((item, bool(skip and not isinstance(item, IngestError) and skip(item)))
             for item in iter_documents(paths, fetcher=fetcher))
    head = []
    if workers > 1:
        # a handful of documents is done before worker processes would have loaded the model
        for task in tasks:
            head.append(task)
            if len(head) > SMALL_BATCH:
                break
    if workers <= 1 or len(head) <= SMALL_BATCH:
        for chunk in _batches(itertools.chain(head, tasks), batch):
            yield from _extract_batch(chunk)
        return
    import multiprocessing as mp

    tasks = itertools.chain(head, tasks)
    # spawn, not fork: the parent may hold an open DuckDB connection and threads
    ctx = mp.get_context("spawn")
    # Pool.imap reads its input as fast as it can and keeps every finished result until
    # it is taken: without a bound, a large ingest whose store is slower than extraction
    # would hold the whole corpus in memory. At most a few batches per worker are out.
    import threading

    in_flight = threading.BoundedSemaphore(max(2, 3 * workers))
    stop = threading.Event()

    def bounded(chunks: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
        # runs in the pool's feeder thread; it must not wait forever once we stop, or
        # the pool's shutdown would wait for it
        for chunk in chunks:
            while not in_flight.acquire(timeout=0.2):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            yield chunk

    with ctx.Pool(workers, initializer=_worker_init) as pool:
        try:
            for results in pool.imap(_extract_batch, bounded(_batches(tasks, batch))):
                in_flight.release()
                yield from results
        finally:
            stop.set()


def default_workers() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
