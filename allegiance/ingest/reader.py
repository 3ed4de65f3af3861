"""Reading files, folders and stdin into Documents: decoding, binary and size checks."""
from __future__ import annotations

import codecs
import errno
import hashlib
import os
import stat
import sys
import re
from collections.abc import Callable, Iterable, Iterator
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


# What a path that is not a regular file is, for the one line that skips it. Such files are
# never opened: opening a FIFO waits for a writer (forever, in a folder nobody writes to),
# a socket cannot be opened at all, and reading a device may block or never end.
_SPECIAL_FILES: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
# O_NONBLOCK: should a file be swapped for a FIFO between the check and the open, the open
# returns at once instead of waiting for a writer (and fstat then refuses it). It changes
# nothing for a regular file. O_NOCTTY: a terminal device never becomes ours.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _not_regular(mode: int) -> str | None:
    """The one-line reason a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "cannot read: is a directory"
    kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "a special file")
    return f"skipped: {kind}, not a regular file (not opened)"


def _source_of(path: Path) -> str:
    """The absolute path errors and documents name. ``Path.resolve`` raises on a symlink
    loop (RuntimeError before Python 3.13): the link is then named as it is."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)


def _stat_error(path: Path, exc: OSError) -> IngestError:
    """One line for a path that cannot be stat'ed: a symlink loop, a broken link, ...
    A loop or a broken link is named as the link itself (its target says nothing)."""
    if exc.errno == errno.ELOOP:
        return IngestError(os.path.abspath(path), "symlink loop: following its links never reaches a file")
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:  # replaced since
            target = "?"
        return IngestError(os.path.abspath(path), f"broken symlink: its target {target} does not exist")
    where = _source_of(path)
    if isinstance(exc, FileNotFoundError):
        return IngestError(where, "no such file or directory")
    if isinstance(exc, PermissionError):
        return IngestError(where, "cannot read: permission denied")
    return IngestError(where, f"cannot read: {exc.strerror or exc}")


def _read_file(path: Path, source: str | None, max_bytes: int) -> Document | IngestError:
    """One file as a Document; an IngestError (never an exception) for anything else.
    ``source`` defaults to the file's resolved path."""
    try:
        st = os.stat(path)  # follows symlinks: what would be opened
    except OSError as exc:
        return _stat_error(path, exc)
    source = source or _source_of(path)
    problem = _not_regular(st.st_mode)
    if problem:
        return IngestError(source, problem)
    if st.st_size > max_bytes:
        return IngestError(source, f"too large: {_format_mb(st.st_size)} > {_limit_mb(max_bytes)} limit")
    try:
        fd = os.open(path, _OPEN_FLAGS)
        with open(fd, "rb", closefd=True) as fh:
            problem = _not_regular(os.fstat(fd).st_mode)
            if problem:
                return IngestError(source, problem)
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


def _file_problem(path: str) -> IngestError | None:
    """Why a listed file with a text extension will not be read (a symlink loop, a broken
    link, a FIFO, socket or device), checked without opening it; None when it is a file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP or isinstance(exc, FileNotFoundError):
            return _stat_error(Path(path), exc)
        return None  # reported by _read_file, with the same words as for a file given alone
    problem = _not_regular(mode)
    return IngestError(os.path.abspath(path), problem) if problem else None


def _walk_folder(root: Path) -> Iterator[Path | IngestError]:
    """Text files under ``root`` (recursive, sorted, hidden files and folders skipped).

    Symlinks are followed, to files and to folders, and each real folder is read once (the
    real folders first, so a folder is listed under its own name rather than a link's): a
    link back to a folder that contains it (a cycle) is one error naming the link, and a
    link to a folder already read is skipped. A file that is a symlink loop, a broken
    link, a FIFO, a socket or a device is one error naming it and is never opened.
    Errors for unreadable folders come first; the rest is in path order."""
    errors: list[IngestError] = []
    found: list[tuple[str, Path | IngestError]] = []
    try:
        st = os.stat(root)
    except OSError as exc:
        yield _stat_error(root, exc)
        return
    seen = {(st.st_dev, st.st_ino)}
    folders: list[tuple[str, str]] = [(str(root), "")]  # (folder, its path relative to root)
    links: list[tuple[str, str, str]] = []  # folder symlinks: (link, relative path, folder holding it)
    while folders or links:
        if not folders:
            # every real folder reached so far is read: now the next folder link
            link, rel, holder = links.pop(0)
            try:
                dst = os.stat(link)
            except OSError:
                continue  # vanished since the listing
            key = (dst.st_dev, dst.st_ino)
            if key in seen:
                target = os.path.realpath(link)
                if _contains(target, holder):
                    found.append((rel, IngestError(
                        os.path.abspath(link),
                        f"symlink loop: links back to the folder {target} that contains it (not followed)",
                    )))
                continue  # else: read already, under its own name or another link's
            seen.add(key)
            folders.append((link, rel))
        folder, rel = folders.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            where = _source_of(Path(folder))
            if isinstance(exc, PermissionError):
                errors.append(IngestError(where, "cannot read folder: permission denied"))
            else:
                errors.append(IngestError(where, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel_name = os.path.join(rel, name) if rel else name
            try:
                is_dir = entry.is_dir()  # follows symlinks; False for a loop or a broken link
            except OSError:
                is_dir = False
            if is_dir:
                if entry.is_symlink():
                    links.append((entry.path, rel_name, folder))
                    continue
                try:
                    dst = entry.stat()
                except OSError:
                    continue  # vanished since the listing
                key = (dst.st_dev, dst.st_ino)
                if key not in seen:  # (a bind mount of a folder already read: skipped)
                    seen.add(key)
                    subfolders.append((entry.path, rel_name))
                continue
            if os.path.splitext(name)[1].lower() in TEXT_EXTENSIONS:
                found.append((rel_name, _file_problem(entry.path) or Path(entry.path)))
        folders.extend(reversed(subfolders))
        links.sort(key=lambda link: link[1])
    yield from errors
    for _, item in sorted(found, key=lambda pair: pair[0]):
        yield item


def _contains(ancestor: str, folder: str) -> bool:
    """Whether the real folder ``ancestor`` is ``folder`` or holds it."""
    real = os.path.realpath(folder)
    return real == ancestor or real.startswith(ancestor.rstrip(os.sep) + os.sep)


def iter_documents(paths: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document | IngestError]:
    """Yield a Document for every readable text/HTML input under ``paths``, an IngestError for each bad one.

    A path is a file (read whatever its extension), a folder (recursive: .txt .text .md .html
    .htm .xhtml, sorted, hidden files skipped, symlinks followed: ``_walk_folder``) or ``-``
    for stdin. A FIFO, socket or device is an IngestError and is never opened; so is a
    symlink loop, a broken link or a folder link back to a folder above it.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # a single path given bare
    for given in paths:
        given = os.fspath(given)
        if given == "-":
            yield _read_stdin(max_bytes)
            continue
        path = Path(given).expanduser()
        try:
            is_dir = stat.S_ISDIR(os.stat(path).st_mode)
        except OSError as exc:
            yield _stat_error(path, exc)
            continue
        if is_dir:
            for item in _walk_folder(path):
                yield item if isinstance(item, IngestError) else _read_file(item, None, max_bytes)
            continue
        yield _read_file(path, None, max_bytes)  # a FIFO or device: one line, never opened
