"""Hostile files and faults (issue 12, items 3, 4 and 11): special files, symlink loops,
huge or deep HTML, a full disk.

Where a hang or a crash is the bug, the test runs ``allegiance ingest`` in a real process
with a timeout, so a regression fails the test instead of hanging the run."""
from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from allegiance.ingest import iter_documents
from allegiance.ingest import html as html_mod
from allegiance.ingest import reader
from allegiance.ingest.reader import _walk_folder
from allegiance.records import Document, IngestError
from allegiance.scale.corpus import write_corpus
from allegiance.store import Store, StoreFullError, disk_full
from conftest import build_extraction, sample_pair
from test_faults import FullDisk, _full_state, _ingest_cmd, filled  # noqa: F401  (filled: a fixture)
from test_ingest import ARTICLE

ENV = {**os.environ, "ALLEGIANCE_DEBUG": "0"}
# generous: a run here takes 5-20 s (most of it loading the model); a hang never ends
RUN_TIMEOUT = 240

SECOND = (
    "Army retakes the hill road\n\n"
    "Government troops said on Friday that they had retaken the hill road from the Northern "
    "Front after a week of fighting, officials in the provincial capital said.\n"
)


def _run(args: list[str], timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=timeout)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _documents(db: Path) -> int:
    with Store(db, read_only=True) as s:
        return s.counts()["documents"]


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


# -- special files (item 3) ------------------------------------------------------------------
def test_special_files_are_skipped_with_one_line_each_and_the_rest_is_stored(tmp_path):
    """A FIFO in a folder used to hang the run forever: nothing writes to it, and opening
    it waits for a writer. FIFOs, sockets and devices (in a folder, behind a symlink or
    given directly) are one line each, never opened; the good files are stored."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_good.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "b_good.md").write_text(SECOND, encoding="utf-8")
    _fifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")  # read, it would never end
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.html"))
    try:
        direct = _fifo(tmp_path / "direct.txt")
        db = tmp_path / "s.duckdb"
        r = _run([*_ingest_cmd(folder, db), str(direct), "/dev/null"])
    finally:
        sock.close()
    errors = _errors(r.stderr)
    assert sorted(errors) == sorted([
        f"error: {folder / 'pipe.txt'}: skipped: a FIFO (named pipe), not a regular file (not opened)",
        f"error: {folder / 'sock.html'}: skipped: a socket, not a regular file (not opened)",
        f"error: {folder / 'zero.txt'}: skipped: a character device, not a regular file (not opened)",
        f"error: {direct}: skipped: a FIFO (named pipe), not a regular file (not opened)",
        "error: /dev/null: skipped: a character device, not a regular file (not opened)",
    ]), r.stderr
    assert r.returncode == 1
    assert "documents: 2 added, 0 unchanged, 0 replaced, 5 failed" in r.stdout
    assert _documents(db) == 2


def test_special_files_are_never_opened(tmp_path, monkeypatch):
    """Skipping is decided before any open: an open of a FIFO would block, of a device
    could have effects. Every open by path (os.open, and the reader's built-in open) is
    recorded, and refused for the special files, so a regression fails here instead of
    blocking."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(ARTICLE, encoding="utf-8")
    fifo = _fifo(folder / "pipe.txt")
    (folder / "tty.txt").symlink_to("/dev/tty")
    special = {str(fifo), str(folder / "tty.txt"), "/dev/tty", "/dev/null"}
    opened: list[str] = []

    def spying(real):
        def spy(path, *args, **kw):
            if not isinstance(path, int):  # an int is a descriptor opened already
                opened.append(os.fspath(path))
                if os.fspath(path) in special:
                    raise OSError(errno.EPERM, "test: a special file was opened")
            return real(path, *args, **kw)
        return spy

    monkeypatch.setattr(os, "open", spying(os.open))
    monkeypatch.setattr(reader, "open", spying(open), raising=False)  # the reader's built-in open
    items = list(iter_documents([str(folder), "/dev/null"]))
    assert [type(i).__name__ for i in items] == ["Document", "IngestError", "IngestError", "IngestError"]
    assert [i.message.split(",")[0] for i in items[1:]] == [
        "skipped: a FIFO (named pipe)", "skipped: a character device", "skipped: a character device",
    ]
    assert not special & set(opened), opened
    assert str(folder / "good.txt") in opened  # the spy does see the reader's opens


# -- symlink loops (item 4) ------------------------------------------------------------------
def test_symlink_loops_are_one_line_each_and_the_batch_is_stored(tmp_path):
    """A symlink loop used to abort the whole batch ("RuntimeError: Symlink loop"), good
    files included. Each looping link is one line naming it; a folder link back to a
    folder above it is one line and is not followed (no endless recursion); a folder link
    elsewhere is followed, and a folder reached twice is read once."""
    root = tmp_path / "corpus"
    sub = root / "sub"
    sub.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (sub / "b.txt").write_text(SECOND, encoding="utf-8")
    (elsewhere / "c.txt").write_text(ARTICLE.replace("nine", "eleven"), encoding="utf-8")
    (root / "loop1.txt").symlink_to("loop2.txt")
    (root / "loop2.txt").symlink_to("loop1.txt")
    (root / "self.md").symlink_to("self.md")
    (root / "broken.txt").symlink_to("missing.txt")
    (sub / "up").symlink_to("..")          # a cycle through the parent
    (root / "here").symlink_to(".")        # a cycle through itself
    (root / "alias").symlink_to("sub")     # the same folder twice: read once
    (root / "linked").symlink_to(elsewhere)  # a folder outside: followed
    db = tmp_path / "s.duckdb"
    r = _run([*_ingest_cmd(root, db), str(root / "loop1.txt")])
    loop = "symlink loop: following its links never reaches a file"
    assert _errors(r.stderr) == [
        f"error: {root / 'broken.txt'}: broken symlink: its target missing.txt does not exist",
        f"error: {root / 'here'}: symlink loop: links back to the folder {root} that contains it (not followed)",
        f"error: {root / 'loop1.txt'}: {loop}",
        f"error: {root / 'loop2.txt'}: {loop}",
        f"error: {root / 'self.md'}: {loop}",
        f"error: {sub / 'up'}: symlink loop: links back to the folder {root} that contains it (not followed)",
        f"error: {root / 'loop1.txt'}: {loop}",  # given directly
    ], r.stderr
    assert "Traceback" not in r.stderr and "RuntimeError" not in r.stderr
    assert r.returncode == 1
    assert "documents: 3 added, 0 unchanged, 0 replaced, 7 failed" in r.stdout
    with Store(db, read_only=True) as s:
        sources = sorted(row[0] for row in s.con.execute("SELECT source FROM documents").fetchall())
    assert sources == sorted(str(p.resolve()) for p in (root / "a.txt", sub / "b.txt", elsewhere / "c.txt"))


def test_walk_follows_a_folder_link_once(tmp_path):
    """A folder reached by two links and by its own name is listed once, under its own
    name; a link to a folder outside is followed."""
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "x.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "a_link").symlink_to("real")
    (root / "b_link").symlink_to(root / "real")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "y.md").write_text(SECOND, encoding="utf-8")
    (root / "out_link").symlink_to(tmp_path / "outside")
    assert list(_walk_folder(root)) == [root / "out_link" / "y.md", root / "real" / "x.txt"]


# -- HTML: depth, size, time (item 11) ------------------------------------------------------
DEEP_SENTENCES = (
    "The Uqba Example Brigade pledged allegiance to the Northern Front in June 2013, officials in Kidal said.",
    "A spokesman for the brigade denied on Friday that its fighters had attacked the convoy.",
)
SHALLOW = "After the deep part of the page, a shallow paragraph ends the story for its readers."


def _deep_page(depth: int) -> str:
    deep = "".join(f"<p>{s}</p>" for s in DEEP_SENTENCES)
    return (
        "<!DOCTYPE html><html><head><title>Deep page</title></head><body><article>"
        + "<div>" * depth + deep + "</div>" * depth + f"<p>{SHALLOW}</p></article></body></html>"
    )


@pytest.mark.parametrize("depth", [300, 3_000, 60_000])
def test_deep_nesting_is_read(tmp_path, depth):
    """libxml2 drops text nested deeper than about 255 elements (the page then had "no
    article text"). Deeper elements are now flattened into text, or, past 10,000 of them,
    the page is read by the streaming extractor: either way the deep text is there."""
    import trafilatura

    page = _deep_page(depth)
    direct = trafilatura.bare_extraction(page, with_metadata=True)
    assert DEEP_SENTENCES[0] not in ((direct.text or "") if direct is not None else "")  # the drop
    p = tmp_path / "deep.html"
    p.write_text(page, encoding="utf-8")
    (doc,) = iter_documents([str(p)])
    assert isinstance(doc, Document), doc
    for sentence in (*DEEP_SENTENCES, SHALLOW):
        assert sentence in doc.raw_text
    assert doc.raw_text.index(DEEP_SENTENCES[0]) < doc.raw_text.index(DEEP_SENTENCES[1])
    expected = "nested deeper than 128" if depth < 10_000 else "more than 10,000 elements"
    assert any(expected in w for w in doc.warnings), doc.warnings


def test_a_page_with_too_many_elements_is_streamed(tmp_path):
    """trafilatura costs about 0.5 ms per element and more on bigger trees: past
    MAX_TREE_ELEMENTS the one-pass extractor reads the page, furniture still skipped."""
    n = html_mod.MAX_TREE_ELEMENTS + 2_000
    paras = "".join(f"<p>Paragraph {i} of the long report on the fighting in the hills.</p>" for i in range(n))
    page = (f"<html><head><title>Long report</title></head><body><nav><a href='/'>NAV-LINK</a></nav>"
            f"<article>{paras}</article><footer>FOOTER-TEXT</footer></body></html>")
    p = tmp_path / "long.html"
    p.write_text(page, encoding="utf-8")
    started = time.monotonic()
    (doc,) = iter_documents([str(p)])
    assert time.monotonic() - started < 30
    assert isinstance(doc, Document), doc
    assert "Paragraph 0 of the long report" in doc.raw_text
    assert f"Paragraph {n - 1} of the long report" in doc.raw_text
    assert "NAV-LINK" not in doc.raw_text and "FOOTER-TEXT" not in doc.raw_text
    assert doc.title == "Long report"
    assert any("more than 10,000 elements" in w for w in doc.warnings), doc.warnings


def test_text_past_the_article_limit_is_one_clear_error(tmp_path):
    paras = "".join(f"<p>{i:07d} " + "word " * 40 + "</p>" for i in range(12_000))  # 2.5 million chars
    p = tmp_path / "dump.html"
    p.write_text(f"<html><body>{paras}</body></html>", encoding="utf-8")
    (err,) = iter_documents([str(p)])
    assert isinstance(err, IngestError)
    assert err.message.startswith("too long for one article: more than 2 million characters of text in the HTML")


def test_scripts_styles_and_huge_attributes_do_not_count(tmp_path):
    """Scripts, styles, SVG and comments are cut before the markup limit is checked, and
    a huge attribute value (an inline data: image) is emptied: the page is still read."""
    filler = 2 * html_mod.MAX_MARKUP_CHARS // 5
    page = (
        "<html><head><title>Page</title><script>" + "var x = 1;" * (filler // 10) + "</script>"
        "<style>" + ".a{color:red}" * (filler // 13) + "</style></head><body><!-- " + "c" * filler + " -->"
        '<img src="data:image/png;base64,' + "A" * filler + '">'
        f"<article><p>{DEEP_SENTENCES[0]}</p><p>{SHALLOW}</p></article></body></html>"
    )
    assert len(page) > 1.5 * html_mod.MAX_MARKUP_CHARS
    assert len(html_mod.cut_markup(page)) < 1_000
    p = tmp_path / "heavy.html"
    p.write_text(page, encoding="utf-8")
    (doc,) = iter_documents([str(p)])
    assert isinstance(doc, Document), doc
    assert DEEP_SENTENCES[0] in doc.raw_text and "var x" not in doc.raw_text and "AAAA" not in doc.raw_text


# Each of these takes quadratic time (or longer) with a naive regular expression or a
# parser that rescans after an unclosed construct; here each is one linear pass.
PATHOLOGICAL = textwrap.dedent("""
    import sys, time
    from allegiance.ingest.html import extract_html
    from allegiance.ingest.reader import RejectedInput
    N = 1_000_000
    shapes = {
        "unclosed tags": "<a " * N,
        "unclosed comments": "<!--" * N,
        "unclosed quotes": '<p x="' + "a=" * N,
        "unclosed scripts": "<script " * N,
        "unclosed titles": "<title>" * N,
        "lone brackets": "<" * (3 * N),
        "endless nesting": "<b>" * N,
        "bogus end tags": "</" * N,
        "unclosed cells": "<table>" + "<td>x" * N,
    }
    for name, body in shapes.items():
        started = time.monotonic()
        try:
            extract_html("<html><body>" + body)
        except RejectedInput:
            pass
        print(name, round(time.monotonic() - started, 2), flush=True)
""")


def test_pathological_markup_is_read_in_linear_time():
    r = _run([sys.executable, "-c", PATHOLOGICAL], timeout=180)
    assert r.returncode == 0, r.stderr
    times = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in r.stdout.splitlines()}
    assert len(times) == 9, r.stdout
    # measured 0.1-6 s each on a shared 2-core machine; quadratic would be hours
    print(times)
    assert all(t < 40 for t in times.values()), times


PEAK_RSS = textwrap.dedent("""
    import resource, subprocess, sys, time
    started = time.monotonic()
    r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    sys.stdout.write(f"{time.monotonic() - started:.2f} {peak} {r.returncode}\\n{r.stdout}")
    sys.stderr.write(r.stderr)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS of a child: ru_maxrss in KB (Linux)")
def test_forty_megabytes_of_compressible_html_in_bounded_time_and_memory(tmp_path):
    """The issue's case: 40 MB of highly compressible HTML took 3 min 37 s and 3 GB. A
    page of 40 MB of repeated paragraphs is refused at the markup limit with one line; a
    40 MB page that is mostly an inline image around an article is read. Both in one run,
    timed, with the child's peak RSS."""
    unit = "<p>The Northern Front said its fighters had taken the river crossing on Monday.</p>\n"
    size = 40 * 1024 * 1024
    repeated = tmp_path / "repeated.html"
    repeated.write_text("<html><head><title>Big</title></head><body>" + unit * (size // len(unit) + 1) + "</body></html>")
    image = tmp_path / "image.html"
    image.write_text(
        "<html><head><title>Border fighting</title></head><body><article>"
        f'<img src="data:image/png;base64,{"QUFB" * (size // 4)}">'
        + "".join(f"<p>{line}</p>" for line in ARTICLE.splitlines() if line.strip())
        + "</article></body></html>"
    )
    assert repeated.stat().st_size >= size and image.stat().st_size >= size
    db = tmp_path / "s.duckdb"
    r = _run([sys.executable, "-c", PEAK_RSS, *_ingest_cmd(repeated, db), str(image)])
    seconds, peak_kb, rc = r.stdout.splitlines()[0].split()
    assert int(rc) == 1, r.stderr
    assert _errors(r.stderr) == [
        f"error: {repeated}: HTML too large: 41.9 million characters of markup besides scripts, styles and "
        "comments (limit 8 million); not one article"
    ], r.stderr
    assert "documents: 1 added, 0 unchanged, 0 replaced, 1 failed" in r.stdout
    print(f"40 MB HTML x2: {seconds} s, peak RSS {int(peak_kb) / 1024:.0f} MB")
    assert float(seconds) < 90   # measured about 6 s (most of it loading the model)
    assert int(peak_kb) < 600 * 1024  # measured about 280 MB


# -- a full disk (item 11) -------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs: a real file system that fills up (mounting needs root)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt: Path, leave: int) -> Path:
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    if free <= leave:
        pytest.skip(f"the store alone filled the tmpfs ({free} bytes left)")
    filler = mnt / "filler"
    filler.write_bytes(b"\0" * (free - leave))
    return filler


def test_full_disk_stops_the_run_with_one_line_and_keeps_what_was_committed(small_disk, tmp_path):
    """A full disk used to print one long error per remaining file. The first write that
    finds the disk full stops the run with one line; the documents committed before it
    (earlier batches of this run too) are in the store, which opens; after freeing space
    a re-run adds the rest and skips those."""
    corpus = tmp_path / "corpus"
    paths = write_corpus(corpus, 60, seed=5, words=(40, 90))
    db = small_disk / "s.duckdb"
    with Store(db) as s:
        s.add_extractions(sample_pair())
    filler = _fill(small_disk, 100_000)  # room for a few batches (about 5 KB a document)
    r = _run(_ingest_cmd(corpus, db))
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [
        f"error: disk full: cannot write the store {db} (No space left on device); stopped. The documents "
        "stored before are kept: free some space and run again to add the rest"
    ], r.stderr
    assert r.returncode == 1 and r.stdout == ""
    stored = _documents(db)  # the store opens, with what was committed
    assert 2 < stored < 2 + len(paths), stored

    filler.unlink()
    again = _run(_ingest_cmd(corpus, db))
    assert again.returncode == 0, again.stderr
    assert f"documents: {len(paths) - (stored - 2)} added, {stored - 2} unchanged" in again.stdout
    assert _documents(db) == 2 + len(paths)


def test_a_full_disk_stops_add_extractions_at_once(filled):
    """No retry one by one, and nothing of the batch left behind."""
    db, b = filled
    c = build_extraction("c.txt", "The Okba Example Brigade fought near Mount Nowhere in 2016.",
                         [("e1", "ORG", "Okba Example Brigade", [], None)])
    before = _full_state(db)
    with Store(db) as s:
        real = s.con
        s.con = FullDisk(real, "INSERT INTO documents")
        with pytest.raises(StoreFullError, match=r"^disk full: cannot write the store .*No space left on device"):
            s.add_extractions([b, c])
        assert s.con.failures == 1
        s.con = real
    assert _full_state(db) == before


@pytest.mark.parametrize("exc, words", [
    (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), os.strerror(errno.ENOSPC)),
    (OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), os.strerror(errno.EDQUOT)),
    (OSError(errno.EFBIG, os.strerror(errno.EFBIG)), os.strerror(errno.EFBIG)),
    (duckdb.TransactionException('Failed to commit: Could not write file "x.wal": No space left on device'),
     "No space left on device"),
    (duckdb.IOException('Could not write file "x.duckdb": Disk quota exceeded'), "Disk quota exceeded"),
    (OSError(errno.EACCES, "Permission denied"), None),
    (duckdb.ConstraintException("Duplicate key"), None),
])
def test_disk_full_errors_are_recognised(exc, words):
    assert disk_full(exc) == words
    try:
        raise RuntimeError("wrapped") from exc
    except RuntimeError as outer:
        assert disk_full(outer) == words
