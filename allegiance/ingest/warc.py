"""WARC files (web crawls): every HTML response record -> one Document.

Only ``response`` records with HTTP status 200 and an HTML content type become
documents (requests, metadata, revisits, redirects, errors and images are skipped).
Each page goes through the same bytes -> Document path as a file; doc_id and source are
the record's WARC-Target-URI, and the page's date falls back to the WARC-Date."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from allegiance.records import Document, IngestError

WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def is_warc(path: str) -> bool:
    return os.fspath(path).lower().endswith(WARC_SUFFIXES)


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _status(record) -> int | None:
    headers = record.http_headers
    if headers is None:
        return None
    try:
        return int((headers.get_statuscode() or "").strip())
    except (TypeError, ValueError):
        return None


def iter_warc(path: str, *, max_bytes: int) -> Iterator[Document | IngestError]:
    """Yield a Document per HTML 200 response in the WARC (an IngestError per bad record;
    one for the file when it cannot be read or is corrupt, after the records before it)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    from allegiance.ingest.reader import RejectedInput, _document_from_bytes

    p = Path(path).expanduser()
    source = str(p.resolve())
    if not p.exists():
        yield IngestError(source, "no such file or directory")
        return
    found = 0
    try:
        with open(p, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip()
                if not uri.lower().startswith(("http://", "https://")):
                    continue  # dns:, whois: and similar records
                if _status(record) != 200:
                    continue
                if _media_type(record.http_headers.get_header("Content-Type")) not in HTML_TYPES:
                    continue
                found += 1
                try:
                    data = record.content_stream().read(max_bytes + 1)
                except Exception as exc:
                    yield IngestError(uri, f"cannot read record in {p.name}: {type(exc).__name__}: {exc}")
                    continue
                if len(data) > max_bytes:
                    yield IngestError(uri, f"too large: more than {max_bytes / (1024 * 1024):g} MB limit (record in {p.name})")
                    continue
                if not data:
                    yield IngestError(uri, f"empty response (record in {p.name})")
                    continue
                try:
                    doc = _document_from_bytes(data, uri, uri, force_html=True)
                except RejectedInput as exc:
                    yield IngestError(uri, f"{exc} (record in {p.name})")
                    continue
                except Exception as exc:
                    yield IngestError(uri, f"could not read: {type(exc).__name__}: {exc} (record in {p.name})")
                    continue
                if not doc.published:
                    warc_date = (record.rec_headers.get_header("WARC-Date") or "").strip()
                    if len(warc_date) >= 10 and warc_date[4] == "-" and warc_date[7] == "-":
                        doc.published = warc_date[:10]
                yield doc
        if not found:
            yield IngestError(source, "no HTML pages in WARC (no 200 text/html response records)")
    except ArchiveLoadFailed as exc:
        msg = " ".join(str(exc).split()) or "not a WARC file"
        yield IngestError(source, f"not a valid WARC file: {msg[:200]}")
    except PermissionError:
        yield IngestError(source, "cannot read: permission denied")
    except OSError as exc:
        yield IngestError(source, f"cannot read WARC: {exc.strerror or exc}")
    except Exception as exc:  # truncated gzip, corrupt record...
        yield IngestError(source, f"corrupt WARC after {found} pages: {type(exc).__name__}: {exc}")
