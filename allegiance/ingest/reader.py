"""Reading files, folders and stdin into Documents: decoding, binary and size checks."""
from __future__ import annotations

import codecs
import hashlib
import os
import sys
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from allegiance.records import Document, IngestError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
TEXT_EXTENSIONS = frozenset({".txt", ".text", ".md", ".html", ".htm", ".xhtml"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})

# Known magic numbers of binary formats: (prefix, name).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or docx/xlsx/epub)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"BZh9", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office (OLE) document"),
    (b"\x00\x00\x01\x00", "icon image"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O binary"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
)

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # utf-32 before utf-16: the UTF-32-LE BOM starts with the UTF-16-LE one.
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)

_ALLOWED_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1b")
# Unicode category Cc is exactly U+0000-001F and U+007F-009F; less the allowed ones above
_CONTROL_RX = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in _ALLOWED_CONTROLS) + "]"
)


class RejectedInput(ValueError):
    """A file that is not usable text: carries the one-line message."""


def _format_mb(n: float) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _limit_mb(max_bytes: int) -> str:
    return f"{max_bytes / (1024 * 1024):g} MB"


def _magic_kind(data: bytes) -> str | None:
    for prefix, name in _MAGIC:
        if data.startswith(prefix):
            if prefix == b"MZ" and b"This program" not in data[:512]:
                continue  # "MZ" alone is too weak: a text could start with it
            return name
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}[data[8:12]]
    if data[4:8] == b"ftyp":
        return "MP4/QuickTime media"
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM has a NUL in nearly every other byte."""
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    n = min(len(even), len(odd))
    if odd.count(0) >= 0.9 * n and even.count(0) <= 0.05 * n:
        return "utf-16-le"
    if even.count(0) >= 0.9 * n and odd.count(0) <= 0.05 * n:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode raw bytes: BOM-aware UTF-8/16/32, else strict UTF-8, else cp1252, else latin-1.

    Returns ``(text, encoding, warnings)``. Raises ``RejectedInput`` for binary data.
    The text is kept exactly as decoded (no newline translation).
    """
    kind = _magic_kind(data)
    if kind:
        raise RejectedInput(f"binary file (not text): looks like a {kind}")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name, []
            except UnicodeDecodeError as exc:
                raise RejectedInput(f"binary file (not text): invalid {name} after a {name} byte-order mark ({exc.reason})") from None
    sample = data[:65536]
    if b"\x00" in sample:
        codec = _utf16_without_bom(sample)
        if codec:
            try:
                return data.decode(codec), codec, [f"decoded as {codec} (no byte-order mark)"]
            except UnicodeDecodeError:
                pass
        raise RejectedInput("binary file (not text): contains NUL bytes")
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    has_c1 = any(0x80 <= b <= 0x9F for b in data)
    if has_c1:
        try:
            return data.decode("cp1252"), "cp1252", ["decoded as cp1252 (not valid UTF-8)"]
        except UnicodeDecodeError:
            pass
    # Without bytes 0x80-0x9F, cp1252 and latin-1 read the same: say the smaller claim.
    return data.decode("latin-1"), "latin-1", ["decoded as latin-1 (not valid UTF-8)"]


def check_text(text: str) -> None:
    """Reject empty / whitespace-only text and text that is mostly control characters."""
    if not text.strip():
        raise RejectedInput("empty file")
    sample = text[:100_000]
    controls = len(_CONTROL_RX.findall(sample))
    if controls > max(8, 0.05 * len(sample)):
        raise RejectedInput(f"binary file (not text): {controls} control characters in the first {len(sample)} characters")


def looks_like_html(text: str) -> bool:
    """Sniff HTML by content: a doctype/<html> start, or a leading tag with <head>/<body> soon after."""
    head = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if head.startswith("<!doctype html") or head.startswith("<html"):
        return True
    if head.startswith("<?xml") and "<html" in head:
        return True
    if head.startswith("<") and ("<body" in head or "<head" in head or "<article" in head):
        return True
    return False


def _document_from_bytes(data: bytes, doc_id: str, source: str, *, force_html: bool) -> Document:
    content_hash = hashlib.sha256(data).hexdigest()
    text, encoding, warnings = decode_bytes(data)
    check_text(text)
    if force_html or looks_like_html(text):
        from allegiance.ingest.html import extract_html

        extracted = extract_html(text)
        if extracted is None or not extracted.text.strip():
            raise RejectedInput("no article text found in HTML")
        doc = Document(
            doc_id=doc_id,
            source=source,
            raw_text=extracted.text,
            content_hash=content_hash,
            media_type="text/html",
            encoding=encoding,
            title=extracted.title,
            published=extracted.published,
        )
        doc.warnings.extend(warnings)
        doc.warnings.extend(extracted.warnings)
        return doc
    doc = Document(doc_id=doc_id, source=source, raw_text=text, content_hash=content_hash, encoding=encoding)
    doc.warnings.extend(warnings)
    return doc


def _read_file(path: Path, source: str, max_bytes: int) -> Document | IngestError:
    try:
        st = path.stat()
        if st.st_size > max_bytes:
            return IngestError(source, f"too large: {_format_mb(st.st_size)} > {_limit_mb(max_bytes)} limit")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except PermissionError:
        return IngestError(source, "cannot read: permission denied")
    except IsADirectoryError:
        return IngestError(source, "cannot read: is a directory")
    except OSError as exc:
        return IngestError(source, f"cannot read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return IngestError(source, f"too large: more than {_limit_mb(max_bytes)} limit")
    if not data:
        return IngestError(source, "empty file")
    try:
        return _document_from_bytes(data, path.name, source, force_html=path.suffix.lower() in HTML_EXTENSIONS)
    except RejectedInput as exc:
        return IngestError(source, str(exc))
    except Exception as exc:  # one odd file never stops the batch
        return IngestError(source, f"could not read: {type(exc).__name__}: {exc}")


def _read_stdin(max_bytes: int) -> Document | IngestError:
    source = "<stdin>"
    try:
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(max_bytes + 1) if stream is not None else sys.stdin.read().encode("utf-8")
    except Exception as exc:
        return IngestError(source, f"cannot read: {exc}")
    if data is None:
        data = b""
    if len(data) > max_bytes:
        return IngestError(source, f"too large: more than {_limit_mb(max_bytes)} limit")
    if not data:
        return IngestError(source, "empty file")
    try:
        return _document_from_bytes(data, "stdin", source, force_html=False)
    except RejectedInput as exc:
        return IngestError(source, str(exc))
    except Exception as exc:
        return IngestError(source, f"could not read: {type(exc).__name__}: {exc}")


def _walk_folder(root: Path) -> Iterator[Path | IngestError]:
    """Text files under ``root`` (recursive, sorted, hidden files and folders skipped)."""
    errors: list[OSError] = []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in TEXT_EXTENSIONS:
                found.append(Path(dirpath) / name)
    for err in errors:
        where = str(Path(err.filename).resolve()) if getattr(err, "filename", None) else str(root)
        if isinstance(err, PermissionError):
            yield IngestError(where, "cannot read folder: permission denied")
        else:
            yield IngestError(where, f"cannot read folder: {err.strerror or err}")
    yield from sorted(found, key=lambda p: str(p.relative_to(root)))


def iter_documents(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document | IngestError]:
    """Yield a Document for every readable text/HTML input under ``paths``, an IngestError for each bad one.

    A path is a file (read whatever its extension), a folder (recursive: .txt .text .md .html
    .htm .xhtml, sorted, hidden files skipped) or ``-`` for stdin.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # a single path given bare
    for given in paths:
        given = os.fspath(given)
        if given == "-":
            yield _read_stdin(max_bytes)
            continue
        path = Path(given).expanduser()
        source = str(path.resolve())
        try:
            if path.is_dir():
                for item in _walk_folder(path):
                    if isinstance(item, IngestError):
                        yield item
                    else:
                        yield _read_file(item, str(item.resolve()), max_bytes)
                continue
            if not path.exists():
                yield IngestError(source, "no such file or directory")
                continue
            if not path.is_file():
                yield IngestError(source, "not a regular file")
                continue
        except OSError as exc:
            yield IngestError(source, f"cannot read: {exc.strerror or exc}")
            continue
        yield _read_file(path, source, max_bytes)
