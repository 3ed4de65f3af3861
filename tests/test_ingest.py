"""Ingest: files, folders, stdin, decoding, bad inputs and HTML extraction."""
from __future__ import annotations

import hashlib
import io
import os
import sys

import pytest

from allegiance.ingest import decode_bytes, iter_documents
from allegiance.records import Document, IngestError

ARTICLE = (
    "Northern Front fighters seize river crossing\n\n"
    "The Northern Front, an armed group active in the border hills, said on Monday that its "
    "fighters had taken a river crossing after two days of clashes with the army.\n\n"
    "Local officials said at least nine soldiers were killed in the fighting.\n"
)


def one(paths, **kw):
    items = list(iter_documents(paths, **kw))
    assert len(items) == 1, items
    return items[0]


def test_plain_utf8_file(tmp_path):
    p = tmp_path / "a1.txt"
    p.write_bytes(ARTICLE.encode("utf-8"))
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert doc.doc_id == "a1.txt"
    assert doc.source == str(p.resolve())
    assert doc.raw_text == ARTICLE
    assert doc.content_hash == hashlib.sha256(ARTICLE.encode("utf-8")).hexdigest()
    assert doc.media_type == "text/plain"
    assert doc.encoding == "utf-8"
    assert doc.warnings == []


def test_crlf_is_kept_exactly(tmp_path):
    raw = "Title line here now\r\n\r\nFirst paragraph of the story.\r\nSecond line.\r\n"
    p = tmp_path / "crlf.txt"
    p.write_bytes(raw.encode("utf-8"))
    assert one([str(p)]).raw_text == raw


def test_empty_and_whitespace_only(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"  \n\t\r\n   \n")
    for name in ("empty.txt", "blank.txt"):
        err = one([str(tmp_path / name)])
        assert isinstance(err, IngestError)
        assert err.message == "empty file"


def test_png_bytes_are_binary(tmp_path):
    p = tmp_path / "photo.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    err = one([str(p)])
    assert isinstance(err, IngestError)
    assert err.message.startswith("binary file (not text)")
    assert "PNG" in err.message


@pytest.mark.parametrize("magic", [b"%PDF-1.7\n", b"PK\x03\x04", b"\x1f\x8b\x08\x00"])
def test_known_magic_numbers(tmp_path, magic):
    p = tmp_path / "thing.txt"
    p.write_bytes(magic + b"some more bytes follow here")
    err = one([str(p)])
    assert isinstance(err, IngestError) and err.message.startswith("binary file (not text)")


def test_random_bytes_with_nuls(tmp_path):
    import random

    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(4000)) + b"\x00\x00\x00"
    p = tmp_path / "noise.txt"
    p.write_bytes(data)
    err = one([str(p)])
    assert isinstance(err, IngestError) and err.message.startswith("binary file (not text)")


def test_control_characters_are_binary(tmp_path):
    p = tmp_path / "ctl.txt"
    p.write_bytes(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17]) * 50 + b"abc")
    err = one([str(p)])
    assert isinstance(err, IngestError) and err.message.startswith("binary file (not text)")


def test_cp1252_smart_quotes(tmp_path):
    text = "Officials said the \u201cNorthern Front\u201d attacked the caf\u00e9 \u2014 twice.\n"
    p = tmp_path / "win.txt"
    p.write_bytes(text.encode("cp1252"))
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert doc.raw_text == text
    assert doc.encoding == "cp1252"
    assert doc.warnings == ["decoded as cp1252 (not valid UTF-8)"]


def test_latin1_file(tmp_path):
    text = "Le groupe arm\u00e9 a revendiqu\u00e9 l'attaque \u00e0 Gao.\n"
    p = tmp_path / "latin.txt"
    p.write_bytes(text.encode("latin-1"))
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert doc.raw_text == text
    assert doc.encoding in ("latin-1", "cp1252")
    assert any("not valid UTF-8" in w for w in doc.warnings)


@pytest.mark.parametrize("codec,name", [("utf-8-sig", "utf-8"), ("utf-16", "utf-16"), ("utf-32", "utf-32")])
def test_bom_encodings(tmp_path, codec, name):
    p = tmp_path / f"bom-{name}.txt"
    p.write_bytes(ARTICLE.encode(codec))
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert doc.raw_text == ARTICLE  # BOM removed, text otherwise exact
    assert doc.encoding == name


def test_decode_bytes_utf16_without_bom():
    text, enc, warnings = decode_bytes("Plain words here".encode("utf-16-le"))
    assert text == "Plain words here" and enc == "utf-16-le" and warnings


def test_too_large(tmp_path):
    p = tmp_path / "big.txt"
    p.write_bytes(b"word " * 300)
    err = one([str(p)], max_bytes=1024)
    assert isinstance(err, IngestError)
    assert err.message.startswith("too large: ")
    assert "limit" in err.message


def test_too_large_message_format(tmp_path):
    p = tmp_path / "big.txt"
    with open(p, "wb") as fh:  # sparse: 70 MB without writing them
        fh.truncate(70 * 1024 * 1024)
    err = one([str(p)])
    assert isinstance(err, IngestError)
    assert err.message == "too large: 70.0 MB > 64 MB limit"


def test_fifty_megabyte_file_reads(tmp_path):
    para = (
        "The armed group said on Tuesday that its fighters had taken two villages near the river, "
        "according to local officials who spoke to reporters by telephone from the regional capital.\n\n"
    )
    data = ("Large Report On The Northern Conflict\n\n" + para * (50 * 1024 * 1024 // len(para))).encode()
    p = tmp_path / "large.txt"
    p.write_bytes(data)
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert len(doc.raw_text) == len(data)


def test_missing_path(tmp_path):
    err = one([str(tmp_path / "nope.txt")])
    assert isinstance(err, IngestError)
    assert err.message == "no such file or directory"
    assert "nope.txt" in err.source


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read files without permission bits")
def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.txt"
    p.write_text(ARTICLE)
    p.chmod(0)
    try:
        err = one([str(p)])
    finally:
        p.chmod(0o644)
    assert isinstance(err, IngestError) and "permission denied" in err.message


def test_folder_mixing_good_and_bad(tmp_path):
    (tmp_path / "b_good.txt").write_text(ARTICLE)
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "c_image.md").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d_good.md").write_text("Second Story Headline Here\n\nThe group denied the claim on Friday.\n")
    (sub / "e_ignored.csv").write_text("a,b\n")
    (tmp_path / ".hidden.txt").write_text(ARTICLE)
    hidden_dir = tmp_path / ".cache"
    hidden_dir.mkdir()
    (hidden_dir / "x.txt").write_text(ARTICLE)
    items = list(iter_documents([str(tmp_path)]))
    names = [i.doc_id if isinstance(i, Document) else os.path.basename(i.source) for i in items]
    assert names == ["a_empty.txt", "b_good.txt", "c_image.md", "d_good.md"]
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["IngestError", "Document", "IngestError", "Document"]


def test_explicit_file_any_extension(tmp_path):
    p = tmp_path / "story.dat"
    p.write_text(ARTICLE)
    doc = one([str(p)])
    assert isinstance(doc, Document) and doc.media_type == "text/plain"


def test_several_paths_continue_after_errors(tmp_path):
    good = tmp_path / "g.txt"
    good.write_text(ARTICLE)
    items = list(iter_documents([str(tmp_path / "missing.txt"), str(good), str(tmp_path / "gone")]))
    assert [type(i).__name__ for i in items] == ["IngestError", "Document", "IngestError"]


def test_stdin(monkeypatch):
    fake = io.TextIOWrapper(io.BytesIO(ARTICLE.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    doc = one(["-"])
    assert isinstance(doc, Document)
    assert doc.doc_id == "stdin" and doc.source == "<stdin>"
    assert doc.raw_text == ARTICLE


def test_stdin_empty(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    err = one(["-"])
    assert isinstance(err, IngestError) and err.source == "<stdin>" and err.message == "empty file"


SCRIPT_HEAVY_HTML = """<!DOCTYPE html>
<html><head><title>Border fighting | Example Wire</title>
<meta property="article:published_time" content="2019-04-03T08:00:00+00:00">
<script>window.TRACKER_SECRET = "SCRIPT-LEAK-1"; function track(){ return 42; }</script>
<style>.STYLE-LEAK { color: red; }</style>
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "JSON-LEAK"}</script>
</head><body>
<nav><a href="/">Home</a> | <a href="/world">World</a></nav>
<script>document.write("SCRIPT-LEAK-2");</script>
<article>
<h1>Northern Front fighters seize river crossing</h1>
<p>The Northern Front, an armed group active in the border hills, said on Monday that its fighters
had taken a river crossing after two days of clashes with the army, according to a statement.</p>
<script>var ad = "SCRIPT-LEAK-3";</script>
<p>Local officials said at least nine soldiers were killed in the fighting near the crossing.</p>
</article>
<script>console.log("SCRIPT-LEAK-4")</script>
<footer>Copyright 2019 Example Wire</footer>
</body></html>
"""


def test_html_extraction_drops_scripts(tmp_path):
    p = tmp_path / "page.html"
    p.write_text(SCRIPT_HEAVY_HTML)
    doc = one([str(p)])
    assert isinstance(doc, Document)
    assert doc.media_type == "text/html"
    assert "river crossing after two days of clashes" in doc.raw_text
    for leak in ("LEAK", "TRACKER", "function", "color: red"):
        assert leak not in doc.raw_text
    assert doc.title in ("Northern Front fighters seize river crossing", "Border fighting | Example Wire")
    assert doc.published == "2019-04-03"
    assert doc.content_hash == hashlib.sha256(p.read_bytes()).hexdigest()


def test_html_sniffed_by_content(tmp_path):
    p = tmp_path / "page.txt"
    p.write_text(SCRIPT_HEAVY_HTML)
    doc = one([str(p)])
    assert isinstance(doc, Document) and doc.media_type == "text/html"
    assert "SCRIPT-LEAK" not in doc.raw_text


def test_html_without_article_text(tmp_path):
    p = tmp_path / "empty.html"
    p.write_text("<html><head><script>var a = 1;</script></head><body><script>b()</script></body></html>")
    err = one([str(p)])
    assert isinstance(err, IngestError)
    assert err.message == "no article text found in HTML"


def test_single_path_string_is_accepted(tmp_path):
    p = tmp_path / "one.txt"
    p.write_text(ARTICLE)
    assert isinstance(one(str(p)), Document)
