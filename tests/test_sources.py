"""Ingest sources beyond files: URLs, RSS/Atom feeds, WARC crawls and a watched folder.

Every network test talks only to a ThreadingHTTPServer on 127.0.0.1 started here (random
port); all articles are invented for these tests."""
from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.ingest import iter_documents
from allegiance.ingest import web
from allegiance.ingest.feeds import FeedState, parse_feed
from allegiance.ingest.watch import Watcher
from allegiance.records import Document, IngestError
from allegiance.store import Store

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
UA = "Allegiance/0.1.0 (+https://github.com/allegiance)"


# -- invented articles ----------------------------------------------------------------------
def article_text(n: int) -> str:
    return (
        f"River Valley Front fighters clash near Example Town {n}\n\n"
        f"The River Valley Front, an armed group active in the northern hills, said on Tuesday "
        f"that its fighters had fought government troops near Example Town {n} for two days.\n\n"
        f"Local officials said the group had recruited young men from the surrounding villages "
        f"over the past year, and that schools in district {n} remained closed.\n\n"
        f"A spokesman for the army said reinforcements had been sent to the area.\n"
    )


def article_html(n: int, date: str | None = "2021-03-04") -> str:
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    paras = "".join(f"<p>{p}</p>" for p in article_text(n).split("\n\n")[1:])
    return (
        "<!DOCTYPE html><html><head>"
        f"<title>Front fighters clash near Example Town {n}</title>{meta}"
        "</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>Front fighters clash near Example Town {n}</h1>{paras}</article>"
        "<footer>Copyright Example News</footer></body></html>"
    )


# -- a local HTTP server --------------------------------------------------------------------
class Site:
    """Routes path -> (status, content type, body bytes | callable); counts requests."""

    def __init__(self):
        self.routes: dict[str, tuple] = {}
        self.hits: Counter[str] = Counter()
        self.agents: list[str] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path
                with site.lock:
                    site.hits[path] += 1
                    site.agents.append(self.headers.get("User-Agent", ""))
                route = site.routes.get(path)
                if route is None:
                    route = (404, "text/html", b"<html><body><p>not here</p></body></html>")
                status, ctype, body, *extra = route
                headers = extra[0] if extra else {}
                try:
                    if callable(body):
                        body(self)
                        return
                    self.send_response(status)
                    if ctype:
                        self.send_header("Content-Type", ctype)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, status: int, ctype: str | None, body, headers: dict | None = None) -> str:
        self.routes[path] = (status, ctype, body.encode("utf-8") if isinstance(body, str) else body, headers or {})
        return self.url(path)


def _slow(handler):
    time.sleep(3)
    body = article_html(99).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _stream_without_length(size: int):
    def send(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"word " * 200
        sent = 0
        while sent < size:
            handler.wfile.write(chunk)
            sent += len(chunk)
        handler.close_connection = True

    return send


@pytest.fixture
def site():
    s = Site()
    s.thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def stored(db) -> dict[str, dict]:
    with Store(db, read_only=True) as s:
        rows = s.con.execute(
            "SELECT doc_id, source, title, published, media_type FROM documents"
        ).fetchall()
    return {r[0]: dict(zip(("doc_id", "source", "title", "published", "media_type"), r)) for r in rows}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# -- URLs -------------------------------------------------------------------------------------
def serve_articles(site: Site) -> dict[str, str]:
    return {
        "html": site.add("/world/valley-front.html", 200, "text/html; charset=utf-8", article_html(1)),
        "text": site.add("/wire/valley-front.txt", 200, "text/plain; charset=utf-8", article_text(2)),
        "missing": site.url("/gone.html"),
        "slow": site.add("/slow.html", 200, "text/html", _slow),
        "huge": site.add("/huge.txt", 200, "text/plain", b"a" * (10 * 1024 * 1024 + 100)),
        "image": site.add("/logo.png", 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    }


def test_urls_fetched_with_allow_private(site, tmp_path):
    urls = serve_articles(site)
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "# morning batch\n\n"
        f"{urls['text']}\n   \n{urls['missing']}\n# {urls['image']}\n{urls['slow']}\nnot-a-url\n",
        encoding="utf-8",
    )
    db = tmp_path / "u.duckdb"
    t0 = time.monotonic()
    r = invoke("ingest", urls["html"], urls["huge"], "--urls", listing, "--db", db, "--allow-private", "--timeout", "0.5")
    assert time.monotonic() - t0 < 30
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    docs = stored(db)
    assert set(docs) == {urls["html"], urls["text"]}
    html, text = docs[urls["html"]], docs[urls["text"]]
    assert html["source"] == urls["html"] and html["media_type"] == "text/html"
    assert html["title"] == "Front fighters clash near Example Town 1"
    assert html["published"] == "2021-03-04"
    assert text["media_type"] == "text/plain" and text["source"] == urls["text"]
    errors = error_lines(r.stderr)
    assert f"error: {urls['missing']}: HTTP 404 Not Found" in errors
    assert f"error: {urls['slow']}: timed out after 0.5 s" in errors
    assert any(e.startswith(f"error: {urls['huge']}: response too large") and "10 MB limit" in e for e in errors)
    assert any(e.startswith(f"error: {listing}:8: not an http(s) URL") for e in errors)
    assert len(errors) == 4, errors
    assert "2 added, 0 unchanged, 0 replaced, 4 failed" in r.stdout
    # the commented-out image was never requested; the polite User-Agent was sent
    assert site.hits["/logo.png"] == 0
    assert set(site.agents) == {UA}
    # the main text, not the page chrome
    with Store(db, read_only=True) as s:
        raw = s.con.execute("SELECT raw_text FROM documents WHERE doc_id = ?", [urls["html"]]).fetchone()[0]
    assert "River Valley Front" in raw and "Copyright Example News" not in raw
    # again: unchanged, nothing new
    r = invoke("ingest", urls["html"], urls["text"], "--db", db, "--allow-private")
    assert r.exit_code == 0, r.output
    assert "0 added, 2 unchanged" in r.stdout


def test_private_addresses_refused_by_default(site, tmp_path):
    urls = serve_articles(site)
    db = tmp_path / "p.duckdb"
    r = invoke("ingest", urls["html"], urls["text"], urls["missing"], "--db", db)
    assert r.exit_code == 1
    errors = error_lines(r.stderr)
    assert errors == [
        f"error: {u}: refused private address 127.0.0.1 (use --allow-private)"
        for u in (urls["html"], urls["text"], urls["missing"])
    ]
    assert sum(site.hits.values()) == 0  # nothing reached the server
    assert stored(db) == {}
    r = invoke("ingest", f"http://localhost:{site.server.server_port}/world/valley-front.html", "--db", db)
    assert r.exit_code == 1 and "refused private address" in r.stderr and "use --allow-private" in r.stderr


@pytest.mark.parametrize(
    "ip, refused",
    [
        ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("0.0.0.0", True), ("224.0.0.1", True), ("240.0.0.1", True),
        ("100.64.0.1", True), ("::1", True), ("fe80::1", True), ("fc00::1", True),
        ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True),
        ("93.184.216.34", False), ("8.8.8.8", False), ("2001:4860:4860::8888", False),
    ],
)
def test_address_policy(ip, refused):
    assert (web.address_refusal(ip) is not None) == refused


def test_redirects_followed_and_rechecked(site, monkeypatch):
    target = site.add("/story.html", 200, "text/html", article_html(3))
    site.add("/short/1", 301, None, b"", {"Location": "/story.html"})
    site.add("/loop", 302, None, b"", {"Location": "/loop"})
    port = site.server.server_port
    site.add("/away", 302, None, b"", {"Location": f"http://[::1]:{port}/story.html"})
    with web.Fetcher(web.FetchOptions(allow_private=True)) as f:
        doc = f.fetch_document(site.url("/short/1"))
        assert isinstance(doc, Document)
        assert doc.doc_id == site.url("/short/1") and f"redirected to {target}" in doc.warnings
        err = f.fetch_document(site.url("/loop"))
        assert isinstance(err, IngestError) and err.message == "too many redirects (more than 5)"
        assert site.hits["/loop"] == 6
    # allow 127.0.0.1 only: the redirect's new host is checked again and refused
    monkeypatch.setattr(
        web, "address_refusal",
        lambda ip: None if ip == "127.0.0.1" else f"refused private address {ip} (use --allow-private)",
    )
    with web.Fetcher() as f:
        err = f.fetch_document(site.url("/away"))
    assert isinstance(err, IngestError)
    assert err.message == "refused private address ::1 (use --allow-private)"
    assert site.hits["/away"] == 1


def test_streamed_body_over_the_limit(site):
    url = site.add("/stream.txt", 200, "text/plain", _stream_without_length(50_000))
    small = site.add("/small.txt", 200, "text/plain", article_text(4))
    img = site.add("/pic.png", 200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with web.Fetcher(web.FetchOptions(allow_private=True, max_bytes=20_000)) as f:
        err = f.fetch_document(url)
        assert isinstance(err, IngestError) and err.message.startswith("response too large: more than")
        assert isinstance(f.fetch_document(small), Document)
        err = f.fetch_document(img)
        assert isinstance(err, IngestError) and err.message == "unsupported content type image/png"
        err = f.fetch_document("http://127.0.0.1:1/closed")
        assert isinstance(err, IngestError) and err.message.startswith("cannot connect")


def test_urls_through_iter_documents(site):
    url = site.add("/a.html", 200, "text/html", article_html(5))
    with web.fetching(web.FetchOptions(allow_private=True)):
        (doc,) = list(iter_documents([url]))
    assert isinstance(doc, Document) and doc.doc_id == url and doc.source == url
    (err,) = list(iter_documents([url]))  # outside a batch: the defaults (no private addresses)
    assert isinstance(err, IngestError) and "refused private address" in err.message


def test_url_list_parsing(tmp_path):
    p = tmp_path / "list.txt"
    p.write_text("# header\n\nhttps://example.org/a\n  http://example.org/b  \nftp://x/y\n#https://c\n", encoding="utf-8")
    urls, errors = web.read_url_list(str(p))
    assert urls == ["https://example.org/a", "http://example.org/b"]
    assert [(e.source, e.message) for e in errors] == [(f"{p}:5", "not an http(s) URL: ftp://x/y")]
    urls, errors = web.read_url_list(str(tmp_path / "none.txt"))
    assert urls == [] and "cannot read URL list" in errors[0].message


# -- feeds ------------------------------------------------------------------------------------
def rss(site: Site, items: list[int]) -> str:
    entries = "".join(
        f"<item><title>Story {n}</title><link>{site.url(f'/news/{n}.html')}</link>"
        f"<guid isPermaLink='false'>rss-{n}</guid><pubDate>Tue, 02 Mar 2021 10:00:00 GMT</pubDate></item>"
        for n in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Example Wire</title><link>{site.base}/</link><description>news</description>{entries}"
        "</channel></rss>"
    )


def atom(site: Site, items: list[int]) -> str:
    entries = "".join(
        f"<entry><title>Report {n}</title><id>urn:example:{n}</id><updated>2021-03-02T10:00:00Z</updated>"
        f"<link rel='alternate' href='/news/{n}.html'/></entry>"  # relative: resolved against the feed URL
        for n in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Example Atom</title><id>urn:example:feed</id><updated>2021-03-02T10:00:00Z</updated>{entries}"
        "</feed>"
    )


def article_hits(site: Site) -> dict[str, int]:
    return {p: n for p, n in site.hits.items() if p.startswith("/news/")}


def test_feeds_ingest_new_items_once(site, tmp_path):
    for n in range(1, 6):
        site.add(f"/news/{n}.html", 200, "text/html", article_html(10 + n))
    rss_url = site.add("/feed.rss", 200, "application/rss+xml", rss(site, [1, 2]))
    atom_url = site.add("/feed.atom", 200, "application/atom+xml", atom(site, [3, 4]))
    db = tmp_path / "f.duckdb"

    r = invoke("ingest", "--feed", rss_url, "--feed", atom_url, "--db", db, "--allow-private")
    assert r.exit_code == 0, r.output
    assert f"feed {rss_url}: 2 items, 2 new" in r.stdout and f"feed {atom_url}: 2 items, 2 new" in r.stdout
    assert "4 added, 0 unchanged" in r.stdout
    assert article_hits(site) == {f"/news/{n}.html": 1 for n in (1, 2, 3, 4)}
    assert set(stored(db)) == {site.url(f"/news/{n}.html") for n in (1, 2, 3, 4)}

    r = invoke("ingest", "--feed", rss_url, "--feed", atom_url, "--db", db, "--allow-private")
    assert r.exit_code == 0, r.output
    assert f"feed {rss_url}: 2 items, 0 new" in r.stdout and "0 added, 0 unchanged" in r.stdout
    assert article_hits(site) == {f"/news/{n}.html": 1 for n in (1, 2, 3, 4)}  # no article fetched again
    assert site.hits["/feed.rss"] == 2 and site.hits["/feed.atom"] == 2

    site.add("/feed.rss", 200, "application/rss+xml", rss(site, [1, 2, 5]))
    r = invoke("ingest", "--feed", rss_url, "--feed", atom_url, "--db", db, "--allow-private")
    assert r.exit_code == 0, r.output
    assert f"feed {rss_url}: 3 items, 1 new" in r.stdout and "1 added" in r.stdout
    assert article_hits(site) == {f"/news/{n}.html": 1 for n in (1, 2, 3, 4, 5)}
    with Store(db, read_only=True) as s:
        rows = s.con.execute("SELECT feed, item_id, url FROM feed_items ORDER BY url").fetchall()
    assert (rss_url, "rss-5", site.url("/news/5.html")) in rows
    assert (atom_url, "urn:example:3", site.url("/news/3.html")) in rows
    assert len(rows) == 5


def test_feed_item_failures_retried_and_feed_errors(site, tmp_path):
    site.add("/news/1.html", 200, "text/html", article_html(21))
    # /news/2.html is missing for now
    feed_file = tmp_path / "wire.xml"
    feed_file.write_text(rss(site, [1, 2]), encoding="utf-8")
    db = tmp_path / "g.duckdb"
    r = invoke("ingest", "--feed", feed_file, "--feed", site.url("/no-feed.xml"), "--db", db, "--allow-private")
    assert r.exit_code == 1
    assert f"error: {site.url('/news/2.html')}: HTTP 404 Not Found" in r.stderr
    assert f"error: {site.url('/no-feed.xml')}: HTTP 404 Not Found" in r.stderr
    assert f"feed {feed_file.resolve()}: 2 items, 2 new" in r.stdout
    site.add("/news/2.html", 200, "text/html", article_html(22))
    r = invoke("ingest", "--feed", feed_file, "--db", db, "--allow-private")
    assert r.exit_code == 0, r.output
    assert "2 items, 1 new" in r.stdout and "1 added" in r.stdout
    assert site.hits["/news/1.html"] == 1 and site.hits["/news/2.html"] == 2
    # not a feed at all
    page = site.add("/page.html", 200, "text/html", article_html(23))
    r = invoke("ingest", "--feed", page, "--db", db, "--allow-private")
    assert r.exit_code == 1 and f"error: {page}: not an RSS or Atom feed" in r.stderr
    assert "Traceback" not in r.output


def test_feed_parsing_and_state(tmp_path):
    import duckdb

    data = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        "<item><title>a</title><link>https://example.org/a</link></item>"
        "<item><title>dup</title><link>https://example.org/a</link></item>"
        "<item><title>no link</title></item>"
        "<item><title>local</title><link>file:///etc/passwd</link></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(data, "k")
    assert [(i.item_id, i.url) for i in feed.items] == [("https://example.org/a", "https://example.org/a")]
    assert len(feed.warnings) == 2
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    state = FeedState(con)
    assert [i.url for i in state.new_items(feed)] == ["https://example.org/a"]
    state.mark(feed.items[0])
    state.mark(feed.items[0])  # idempotent
    assert FeedState(con).new_items(feed) == []  # a second FeedState on the same table
    con.close()


# -- WARC -------------------------------------------------------------------------------------
def write_warc(path: Path, site_base: str = "https://news.example.org") -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def response(uri, status, ctype, body, date):
        http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        return writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=str(path).endswith(".gz"))
        req = StatusAndHeaders("GET /a.html HTTP/1.1", [("Host", "news.example.org")], is_http_request=True)
        writer.write_record(writer.create_warc_record(f"{site_base}/a.html", "request", http_headers=req))
        writer.write_record(response(f"{site_base}/a.html", "200 OK", "text/html; charset=utf-8",
                                     article_html(31).encode(), "2020-05-06T07:08:09Z"))
        writer.write_record(response(f"{site_base}/b.html", "200 OK", "text/html",
                                     article_html(32, date=None).encode(), "2019-11-12T01:02:03Z"))
        writer.write_record(response(f"{site_base}/old.html", "404 Not Found", "text/html",
                                     b"<html><body><p>Not found</p></body></html>", "2019-11-12T01:02:04Z"))
        writer.write_record(response(f"{site_base}/logo.png", "200 OK", "image/png",
                                     b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "2019-11-12T01:02:05Z"))


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_warc_html_responses_become_documents(tmp_path, name):
    path = tmp_path / name
    write_warc(path)
    items = list(iter_documents([str(path)]))
    assert all(isinstance(i, Document) for i in items), items
    docs = {d.doc_id: d for d in items}
    assert set(docs) == {"https://news.example.org/a.html", "https://news.example.org/b.html"}
    a, b = docs["https://news.example.org/a.html"], docs["https://news.example.org/b.html"]
    assert a.published == "2021-03-04"            # the page's own date
    assert b.published == "2019-11-12"            # no date in the page: the WARC-Date
    assert a.source == a.doc_id and a.media_type == "text/html"
    assert a.title == "Front fighters clash near Example Town 31"
    assert "River Valley Front" in b.raw_text


def test_warc_through_cli_and_bad_warc(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    write_warc(path)
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(gzip.compress(b"this is not a WARC record at all\r\n\r\n"))
    db = tmp_path / "w.duckdb"
    r = invoke("ingest", path, broken, "--db", db)
    assert r.exit_code == 1
    assert "2 added, 0 unchanged, 0 replaced, 1 failed" in r.stdout
    errors = error_lines(r.stderr)
    assert len(errors) == 1 and errors[0].startswith(f"error: {broken.resolve()}: ")
    assert "Traceback" not in r.output
    assert set(stored(db)) == {"https://news.example.org/a.html", "https://news.example.org/b.html"}


# -- watch ------------------------------------------------------------------------------------
def test_watcher_waits_for_files_being_written(tmp_path):
    batches: list[list[str]] = []

    def ingest(paths):
        batches.append([os.path.basename(p) for p in paths])
        return {"added": len(paths), "failed": 0}

    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    w = Watcher(tmp_path, ingest, interval=0.01)
    assert w.poll() and batches == [["old.txt"]]          # already there: at once
    growing = tmp_path / "sub" / "new.md"
    growing.parent.mkdir()
    growing.write_text("part one", encoding="utf-8")
    assert w.poll() == []                                 # new: wait a poll
    growing.write_text("part one, part two", encoding="utf-8")
    assert w.poll() == []                                 # size changed: wait again
    assert [os.path.basename(p) for p in w.poll()] == ["new.md"]
    assert w.poll() == []                                 # ingested once
    os.utime(growing, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert w.poll() == []
    assert [os.path.basename(p) for p in w.poll()] == ["new.md"]  # changed: again
    assert w.summary.files == 3 and w.summary.tally["added"] == 3


def test_watcher_follows_folder_links_once_and_survives_cycles(tmp_path):
    # a feed folder mounted into the inbox by a link, a second link to the same folder,
    # a link back up to the inbox (a cycle) and a broken link: as the batch reader does,
    # the linked folder's files are watched, each once, and the scan ends
    inbox, feeds = tmp_path / "inbox", tmp_path / "feeds"
    inbox.mkdir()
    (feeds / "wire").mkdir(parents=True)
    (inbox / "local.txt").write_text("x", encoding="utf-8")
    (feeds / "wire" / "a.txt").write_text("x", encoding="utf-8")
    (inbox / "wire").symlink_to(feeds / "wire", target_is_directory=True)
    (inbox / "wire-again").symlink_to(feeds / "wire", target_is_directory=True)
    (inbox / "up").symlink_to(inbox, target_is_directory=True)
    (inbox / "gone").symlink_to(tmp_path / "missing", target_is_directory=True)
    (inbox / "linked.txt").symlink_to(feeds / "wire" / "a.txt")
    batches: list[list[str]] = []

    def ingest(paths):
        batches.append(sorted(os.path.relpath(p, inbox) for p in paths))
        return {"added": len(paths), "failed": 0}

    w = Watcher(inbox, ingest, interval=0.01)
    assert w.poll()
    assert batches == [["linked.txt", "local.txt", os.path.join("wire", "a.txt")]]
    (feeds / "wire" / "b.txt").write_text("new", encoding="utf-8")
    assert w.poll() == []                                  # new behind the link: wait a poll
    assert [os.path.relpath(p, inbox) for p in w.poll()] == [os.path.join("wire", "b.txt")]


def _run_watch(tmp_path, watch_dir, *extra):
    db = tmp_path / "watch.duckdb"
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "allegiance", "ingest", "--watch", str(watch_dir), "--db", str(db), *extra],
            stdout=fo, stderr=fe, cwd=str(ROOT),
        )
    return proc, db, out, err


def _wait_for(path: Path, text: str, proc, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        content = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not seen in {path.name}: {path.read_text(errors='replace') if path.exists() else ''}")


def test_watch_ingests_new_files_and_survives_bad_ones(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "first.txt").write_text(article_text(41), encoding="utf-8")
    proc, db, out, err = _run_watch(tmp_path, inbox, "--interval", "0.15", "--max-polls", "20")
    try:
        _wait_for(err, "watching ", proc)
        (inbox / "second.html").write_text(article_html(42), encoding="utf-8")
        (inbox / "scan.txt").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, stderr = out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
    assert proc.returncode == 1, (stdout, stderr)   # one file failed
    assert "Traceback" not in stderr
    assert f"error: {inbox / 'scan.txt'}: binary file (not text): looks like a PDF document" in stderr.splitlines()
    assert len(error_lines(stderr)) == 1
    assert "watch done after 20 polls: 3 files ingested" in stdout
    assert "2 added, 0 unchanged, 0 replaced, 1 failed" in stdout
    assert set(stored(db)) == {"first.txt", "second.html"}


def test_watch_stops_on_sigterm_with_summary(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc, db, out, err = _run_watch(tmp_path, inbox, "--interval", "0.1")
    try:
        _wait_for(err, "watching ", proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout = out.read_text(encoding="utf-8")
    assert proc.returncode == 0, (stdout, err.read_text())
    assert "watch stopped after" in stdout and "0 files ingested" in stdout
    assert "documents: 0 added" in stdout


def test_ingest_argument_errors(tmp_path):
    db = tmp_path / "e.duckdb"

    def message(r):
        return " ".join(r.output.replace("\u2502", " ").split())

    r = invoke("ingest", "--db", db)
    assert r.exit_code == 2 and "nothing to ingest" in message(r)
    r = invoke("ingest", "--watch", tmp_path / "nope", "--db", db)
    assert r.exit_code == 2 and "is not a folder" in message(r)
    r = invoke("ingest", "x.txt", "--watch", tmp_path, "--db", db)
    assert r.exit_code == 2 and "cannot be combined" in message(r)
    assert not db.exists()
