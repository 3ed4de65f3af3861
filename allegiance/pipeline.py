"""The one pipeline: paths -> documents -> cleaned -> extraction.

The CLI, the web app and the distributed job all call these functions; none
re-implements a stage."""
from __future__ import annotations

import contextlib
import itertools
import sys
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

    pool = ctx.Pool(workers, initializer=_worker_init)
    try:
        for results in pool.imap(_extract_batch, bounded(_batches(tasks, batch))):
            in_flight.release()
            yield from results
    finally:
        # normal end, Ctrl-C, SIGTERM (see ``terminate_as_interrupt``) or an error: the
        # workers are ended and reaped here, so that none outlives the command
        stop.set()
        pool.terminate()
        pool.join()
        del pool
        if sys.exc_info()[1] is None:
            # on an exception, the traceback still holds the pool's queues; the CLI
            # releases them once it has handled it (``release_workers``)
            release_workers()


def release_workers(exc: BaseException | None = None) -> None:
    """multiprocessing starts a resource-tracker process for the pool's semaphores; it
    would exit only after this process, unreaped (a zombie where PID 1 reaps nothing, as
    in many containers). Once the pool's objects are collected nothing needs it: stop and
    reap it now; a later pool starts a new one. ``exc``: an exception being handled,
    whose traceback (and context's) would keep the pool's objects alive."""
    import gc
    from multiprocessing import resource_tracker

    while exc is not None:
        exc.__traceback__ = None
        exc = exc.__context__
    gc.collect()
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception:  # noqa: BLE001 -- best effort; the tracker ends with us anyway
            pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so that every ``finally`` runs:
    workers are ended, and what was extracted so far is stored."""


@contextlib.contextmanager
def terminate_as_interrupt():
    """While active, SIGTERM raises ``Terminated`` in the main thread instead of killing
    the process at once (which would leave its workers to the kernel and its batch
    half-done). Outside the main thread nothing is installed."""
    import signal
    import threading

    def handler(signum, frame):
        raise Terminated()

    previous = None
    if threading.current_thread() is threading.main_thread():
        try:
            previous = signal.signal(signal.SIGTERM, handler)
        except (ValueError, OSError):
            previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def default_workers() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
