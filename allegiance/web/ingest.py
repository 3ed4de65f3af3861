"""Ingest from the browser: ``POST /api/ingest`` (multipart ``files`` and/or pasted ``text``).

The body is streamed to a spooled temporary file with a byte count (a client's
Content-Length is checked first but not trusted), so a request over the limit is cut off
after ``limit`` bytes and nothing beyond the first megabyte is held in memory. Uploads then
wait in an ``UploadQueue``: one at a time, the body is parsed here with the standard
library, each upload written under its sanitised base name to a private temporary folder
and run through ``allegiance.pipeline.extract_paths`` and ``Store.add_extraction`` exactly as
``allegiance ingest`` does. One extraction's memory grows with its document, so two in
parallel would double the peak (two uploads took the server to 12.3 GB)."""
from __future__ import annotations

import errno
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path

from fastapi import HTTPException, Request

MB = 1024 * 1024
MAX_FILE_BYTES = 10 * MB
MAX_REQUEST_BYTES = 25 * MB
ENVELOPE_SLACK = 64 * 1024   # multipart boundaries and part headers on top of the content
MAX_ITEMS = 200
MAX_PENDING_UPLOADS = 4       # requests spooling, waiting or running; 503 beyond
SPOOL_IN_MEMORY = 1 * MB     # a body larger than this is spooled to disk while it arrives
MAX_NAME = 120


# the disk (or the user's quota) is full: the server cannot take the upload until space is
# freed, which the client should be told as such (507), not as a server fault
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_error(exc: OSError, what: str) -> HTTPException:
    """The HTTP error for an OSError while ``what`` (e.g. "receiving the upload"): 507 when
    the disk is full, 500 otherwise; the message names the cause, never a traceback."""
    if exc.errno in _NO_SPACE:
        return HTTPException(507, f"the server's disk is full (no space left while {what}); "
                                  "nothing was stored: free some space and try again")
    return HTTPException(500, f"could not write to the server's disk while {what}: {exc.strerror or exc}")


def fmt_limit(n: int) -> str:
    return f"{n // MB} MB" if n >= MB and n % MB == 0 else f"{n} bytes"


@dataclass
class Upload:
    name: str          # sanitised base name
    data: bytes
    kind: str          # 'file' | 'text'


def sanitise_name(raw: str | None, fallback: str) -> str:
    """The base name only: no folders (either slash), no control characters, no leading
    dots (hidden files, ``..``), at most MAX_NAME characters; ``fallback`` when nothing is left."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        name = (stem if dot else name)[: MAX_NAME - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name or fallback


async def spool_body(request: Request, limit: int):
    """The request body in a spooled temporary file (memory up to SPOOL_IN_MEMORY, then a
    private file), rewound; 413 as soon as more than ``limit`` bytes arrive."""
    too_big = HTTPException(413, f"the request is larger than the {fmt_limit(limit - ENVELOPE_SLACK)} limit per request")
    declared = request.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise too_big
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="allegiance-body-")
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # stop reading: the rest of the body is never received
                raise too_big
            spool.write(chunk)
        spool.seek(0)   # a buffered write's error may surface only here
    except OSError as exc:
        _close_quietly(spool)
        raise disk_error(exc, "receiving the upload") from None
    except BaseException:
        _close_quietly(spool)
        raise
    return spool


def _close_quietly(spool) -> None:
    try:
        spool.close()
    except OSError:
        pass   # flushing what a full disk could not take: the body is dropped anyway


async def read_body(request: Request, limit: int) -> bytes:
    """The request body as bytes, stopping with 413 as soon as more than ``limit`` bytes arrive."""
    spool = await spool_body(request, limit)
    with spool:
        return spool.read()


class UploadQueue:
    """Uploads run one at a time, and at most ``max_pending`` requests
    are in hand at once (spooling, waiting or running; 503 beyond, so the spooled bodies
    waiting on disk stay bounded too). ``run`` is called from the thread pool: a waiting
    upload holds a pool thread, which the pending cap keeps to a few."""

    def __init__(self, max_pending: int = MAX_PENDING_UPLOADS):
        self.max_pending = max_pending
        self._run_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.pending = 0

    def enter(self) -> bool:
        with self._count_lock:
            if self.pending >= self.max_pending:
                return False
            self.pending += 1
            return True

    def leave(self) -> None:
        with self._count_lock:
            self.pending -= 1

    def run(self, fn, *args):
        with self._run_lock:
            return fn(*args)


def _disposition(value: str) -> tuple[str | None, str | None]:
    m = Message()
    m["content-disposition"] = value
    out = []
    for key in ("name", "filename"):
        v = m.get_param(key, header="content-disposition")
        out.append(collapse_rfc2231_value(v) if v is not None else None)
    return out[0], out[1]


def parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """``(field name, file name or None, data)`` for each part of a multipart/form-data body
    (or each field of an urlencoded one)."""
    m = Message()
    m["content-type"] = content_type or ""
    if m.get_content_type() == "application/x-www-form-urlencoded":  # pasted text only
        from urllib.parse import parse_qsl

        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=1000)
        return [(k, None, v.encode("utf-8")) for k, v in pairs]
    if m.get_content_type() != "multipart/form-data":
        raise HTTPException(415, "send multipart/form-data (fields: files, text, title)")
    boundary = m.get_param("boundary")
    if not boundary or not isinstance(boundary, str) or len(boundary) > 200:
        raise HTTPException(400, "multipart body without a boundary")
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise HTTPException(400, "malformed multipart body (no closing boundary)")
    parts = []
    for chunk in chunks[1:-1]:
        nl = chunk.find(b"\r\n")
        if nl < 0 or chunk[:nl].strip():
            raise HTTPException(400, "malformed multipart body")
        head, sep, data = chunk[nl + 2:].partition(b"\r\n\r\n")
        if not sep:
            if chunk[nl + 2:].startswith(b"\r\n"):  # no headers at all
                head, data = b"", chunk[nl + 4:]
            else:
                raise HTTPException(400, "malformed multipart part (no header end)")
        field = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                field, filename = _disposition(value.strip())
        if field is None:
            raise HTTPException(400, "multipart part without a field name")
        parts.append((field, filename, data))
    return parts


def collect_uploads(parts, *, max_file: int, max_request: int) -> list[Upload]:
    files, texts, titles = [], [], []
    for field, filename, data in parts:
        if field == "files":
            if filename is None:
                raise HTTPException(422, "the files field must carry file uploads")
            if filename == "" and not data:  # a file input left empty
                continue
            files.append((filename, data))
        elif field == "text":
            texts.append(data)
        elif field == "title":
            titles.append(data.decode("utf-8", "replace"))
        else:
            raise HTTPException(422, f"unknown field {field[:50]!r} (expected files, text, title)")
    uploads: list[Upload] = []
    for n, (filename, data) in enumerate(files, 1):
        name = sanitise_name(filename, f"upload-{n}.txt")
        if len(data) > max_file:
            raise HTTPException(413, f"{name}: the file is larger than the {fmt_limit(max_file)} limit per file")
        uploads.append(Upload(name, data, "file"))
    for n, data in enumerate(texts, 1):
        text = data.decode("utf-8", "replace").replace("\r\n", "\n")
        if not text.strip():
            continue
        title = " ".join(titles[n - 1].split()) if n <= len(titles) else ""
        name = f"pasted-{n}.txt"
        if title:
            name = sanitise_name(title[: MAX_NAME - 4], name)
            if not name.lower().endswith(".txt"):
                name += ".txt"
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
            if " ".join(first.split()) != title:  # the title becomes the article's first line
                text = f"{title}\n\n{text}"
        body = text.encode("utf-8")
        if len(body) > max_file:
            raise HTTPException(413, f"{name}: the pasted text is larger than the {fmt_limit(max_file)} limit per file")
        uploads.append(Upload(name, body, "text"))
    if not uploads:
        raise HTTPException(422, "nothing to ingest: choose files or paste text")
    if len(uploads) > MAX_ITEMS:
        raise HTTPException(413, f"too many files: {len(uploads)} (limit {MAX_ITEMS} per request)")
    total = sum(len(u.data) for u in uploads)
    if total > max_request:
        raise HTTPException(413, f"the upload ({total} bytes) is larger than the {fmt_limit(max_request)} limit per request")
    return uploads


def ingest_uploads(ws, uploads: list[Upload]) -> list[dict]:
    """Write each upload to a private temporary folder and store it (one result per upload;
    a bad file is reported ``failed`` and never stops the others)."""
    from allegiance.extract import EXTRACTOR_VERSION
    from allegiance.pipeline import extract_paths
    from allegiance.records import IngestError

    def current(doc) -> bool:
        with ws.lock:
            return ws.store.is_current(doc.content_hash, EXTRACTOR_VERSION)

    results = []
    try:
        tmpdir = tempfile.TemporaryDirectory(prefix="allegiance-upload-")  # mode 0700
    except OSError as exc:
        raise disk_error(exc, "preparing the uploads") from None
    with tmpdir as tmp:
        for i, up in enumerate(uploads):
            res = {"name": up.name, "kind": up.kind, "status": "failed", "error": None, "document_id": None,
                   "facts_added": 0, "actors_added": 0}
            results.append(res)
            folder = Path(tmp) / str(i)  # one folder each: equal names never collide
            path = folder / up.name
            try:
                folder.mkdir()
                path.write_bytes(up.data)
            except OSError as exc:   # this file is not stored; the next ones are tried
                res["error"] = ("could not save the file: the server's disk is full" if exc.errno in _NO_SPACE
                                else f"could not save the file: {exc.strerror or exc}")
                continue
            try:
                items = list(extract_paths([str(path)], skip=current))
            except Exception as exc:  # one odd file never stops the batch
                res["error"] = f"could not read: {type(exc).__name__}: {exc}"
                continue
            item = items[0] if items else IngestError(up.name, "no document found")
            if isinstance(item, IngestError):
                res["error"] = item.message
                continue
            item.document.source = f"upload:{up.name}"
            try:
                with ws.writing() as store:  # read-write for this one document only
                    added = store.add_extraction(item)
            except HTTPException:
                raise  # 503: CLI readers kept the file; the client is told to retry
            except Exception as exc:
                res["error"] = f"could not store: {type(exc).__name__}: {exc}"
                continue
            res.update(status=added.status, document_id=added.document_id,
                       facts_added=added.facts_added, actors_added=added.actors_added)
    return results


def process_upload(ws, spool, content_type: str, max_file: int, max_request: int) -> list[dict]:
    """Parse a spooled body and ingest its uploads (runs inside ``UploadQueue.run``, so the
    body is in memory for one request at a time)."""
    with spool:
        body = spool.read()
    parts = parse_multipart(body, content_type)
    del body
    uploads = collect_uploads(parts, max_file=max_file, max_request=max_request)
    del parts
    return ingest_uploads(ws, uploads)
