"""Fetching from hostile or broken servers: stacked compression bombs, trickled headers,
redirects and feed links to link-local and cloud metadata addresses, and fetch options
that must reach every input of a parallel ingest.

Every server here runs on 127.0.0.1 in this process (the HTTP ``Site`` of
test_sources.py, or a raw socket server where HTTP itself must be broken). Addresses
such as 169.254.169.254 are never connected to: a socket hook records every connection
attempt and refuses any that is not to 127.0.0.1."""
from __future__ import annotations

import gzip
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from allegiance.ingest import web
from allegiance.records import Document, Extraction, IngestError
from test_sources import _slow, article_html, error_lines, invoke, site, stored  # noqa: F401  (site: a fixture)

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


# -- compression bombs ------------------------------------------------------------------
def gzip_of_zeros(mib: int) -> bytes:
    """A valid single-member gzip of ``mib`` MiB of zeros, about 1 KB per MiB. Built from
    one block compressed after a full flush (which resets the compressor, so every later
    block compresses to the same bytes) instead of compressing a GiB for every test."""
    block = bytes(MB)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(block) + c.flush(zlib.Z_FULL_FLUSH) == again
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    body = first + again * (mib - 1) + c.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + body + struct.pack("<II", crc, (mib * MB) & 0xFFFFFFFF)


def test_gzip_of_zeros_is_what_it_claims():
    assert gzip.decompress(gzip_of_zeros(3)) == bytes(3 * MB)


# The child fetches one URL with the default limits and reports how it ended, how long
# the fetch took and its peak RSS. The peak is the kernel's VmHWM of the child's own
# process image: getrusage/wait4's ru_maxrss would not do, as Linux carries the RSS of the
# image a child replaced at exec into it, i.e. that of this pytest process, spaCy and all.
FETCH_CHILD = """
import json, sys, time
from allegiance.ingest.web import Fetcher, FetchError, FetchOptions
started = time.monotonic()
try:
    with Fetcher(FetchOptions(allow_private=True)) as f:
        page = f.fetch(sys.argv[1])
    outcome = f"fetched {len(page.data)} bytes"
except FetchError as exc:
    outcome = str(exc)
seconds = time.monotonic() - started
with open("/proc/self/status") as fh:
    peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}))
"""


def fetch_in_child(url: str) -> dict:
    """The child's report: outcome, seconds, peak_rss_mb."""
    # a child that inflated the bomb whole must not hang the suite
    r = subprocess.run([sys.executable, "-c", FETCH_CHILD, url], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_stacked_gzip_bomb_stops_at_the_limit(site):
    # 1 GiB of zeros, gzipped twice: a few KB on the wire. Decoding a layer whole before
    # checking its size would need the whole GiB in memory.
    bomb = gzip.compress(gzip_of_zeros(1024), 9)
    assert len(bomb) < 20_000
    url = site.add("/bomb.html", 200, "text/html", bomb, {"Content-Encoding": "gzip, gzip"})
    report = fetch_in_child(url)
    assert report["outcome"] == "response too large: more than 10 MB limit after gzip decoding (layer 2 of 2)"
    assert report["seconds"] < 2.0, report
    assert report["peak_rss_mb"] < 200, report


def _layers(data: bytes, codings: list[str]) -> bytes:
    for name in codings:  # in the order a server applies them
        data = gzip.compress(data) if name == "gzip" else zlib.compress(data)
    return data


def test_stacked_codings_decode_in_any_order(site):
    page = article_html(7).encode()
    cases = {
        "/gg.html": ["gzip", "gzip"],
        "/dg.html": ["deflate", "gzip"],
        "/gd.html": ["gzip", "deflate"],
        "/ggd.html": ["gzip", "gzip", "deflate"],
    }
    with web.Fetcher(web.FetchOptions(allow_private=True)) as f:
        for path, codings in cases.items():
            url = site.add(path, 200, "text/html", _layers(page, codings), {"Content-Encoding": ", ".join(codings)})
            fetched = f.fetch(url)
            assert fetched.data == page, path
        # deflate sent without its zlib wrapper, as some servers do, in a listed header
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        url = site.add("/raw.html", 200, "text/html", raw.compress(page) + raw.flush(),
                       {"Content-Encoding": "deflate"})
        assert f.fetch(url).data == page
        # a document read from a stacked response is the same as from a plain one
        doc = f.fetch_document(site.url("/gg.html"))
        assert isinstance(doc, Document) and doc.title == "Front fighters clash near Example Town 7"


def test_every_layer_is_held_to_the_limit(site):
    limit = 200_000
    page = b"<html><body>" + b"<p>report</p>" * 100_000 + b"</body></html>"   # 1.3 MB, compresses well
    options = web.FetchOptions(allow_private=True, max_bytes=limit)
    with web.Fetcher(options) as f:
        for codings, layer in ((["deflate"], "deflate decoding (layer 1 of 1)"),
                               (["gzip", "deflate"], "gzip decoding (layer 2 of 2)")):
            url = site.add("/big.html", 200, "text/html", _layers(page, codings),
                           {"Content-Encoding": ", ".join(codings)})
            with pytest.raises(web.FetchError) as err:
                f.fetch(url)
            assert str(err.value) == f"response too large: more than {limit / MB:g} MB limit after {layer}"


def test_codings_offered_and_refused(site):
    seen: list[str] = []

    def record(handler):
        seen.append(handler.headers.get("Accept-Encoding", ""))
        body = gzip.compress(article_html(8).encode())
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    ok = site.add("/ok.html", 200, "text/html", record)
    br = site.add("/br.html", 200, "text/html", b"\x0b\x02\x80hello\x03", {"Content-Encoding": "br"})
    many = site.add("/many.html", 200, "text/html", _layers(b"x", ["gzip"] * 5), {"Content-Encoding": "gzip, " * 4 + "gzip"})
    broken = site.add("/broken.html", 200, "text/html", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 50, {"Content-Encoding": "gzip"})
    with web.Fetcher(web.FetchOptions(allow_private=True)) as f:
        assert isinstance(f.fetch_document(ok), Document)
        assert seen == ["gzip, deflate"]   # only codings decoded with a limit per layer
        assert f.fetch_document(br).message == "unsupported content encoding br"
        assert f.fetch_document(many).message == "too many content encodings: 5 (at most 4)"
        assert f.fetch_document(broken).message.startswith("corrupt gzip data")


# -- one deadline for the whole fetch ---------------------------------------------------
class Trickler:
    """A raw TCP server on 127.0.0.1 that reads a request, then sends ``head`` and after it
    one byte every ``every`` seconds for up to a minute: each byte arrives well within a
    read timeout, so only a deadline on the whole fetch ends it."""

    def __init__(self, head: bytes, every: float = 0.1):
        self.head, self.every = head, every
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow.html"
        self.stop = threading.Event()
        self.closed_after: list[float] = []   # seconds each connection lasted
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        started = time.monotonic()
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self.head)
                while not self.stop.is_set() and time.monotonic() - started < 60:
                    conn.sendall(b"a")
                    time.sleep(self.every)
            except OSError:
                pass   # the client gave up: what the test waits for
        self.closed_after.append(time.monotonic() - started)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: ",                      # headers never end
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",  # nor does the body
], ids=["headers", "body"])
def test_trickling_server_stopped_at_the_deadline(head):
    server = Trickler(head)
    try:
        options = web.FetchOptions(allow_private=True, timeout=1.0, total_timeout=2.0)
        started = time.monotonic()
        with web.Fetcher(options) as f:
            err = f.fetch_document(server.url)
        took = time.monotonic() - started
        assert isinstance(err, IngestError)
        assert err.message == "timed out after 2 s (whole fetch)"
        assert 1.9 <= took < 4.0, took
    finally:
        server.close()


def test_slow_name_lookup_counts_against_the_deadline(monkeypatch):
    released = threading.Event()

    def stuck_resolver(host, port):   # our own resolver: no DNS is asked
        released.wait(10)
        return ["127.0.0.1"]

    monkeypatch.setattr(web, "resolve", stuck_resolver)
    try:
        started = time.monotonic()
        with web.Fetcher(web.FetchOptions(allow_private=True, timeout=5.0, total_timeout=1.0)) as f:
            err = f.fetch_document("http://news.example.test/story.html")
        assert err.message == "timed out after 1 s (whole fetch)"
        assert time.monotonic() - started < 2.5
    finally:
        released.set()


# -- link-local and cloud metadata addresses --------------------------------------------
class Connections:
    """A socket hook: every connection attempt is recorded; one to 127.0.0.1 goes through,
    any other is refused here without touching the network."""

    def __init__(self, monkeypatch):
        self.attempts: list[str] = []
        real = socket.create_connection

        def create_connection(address, *args, **kwargs):
            self.attempts.append(address[0])
            if address[0] != "127.0.0.1":
                raise ConnectionRefusedError(111, "Connection refused (test hook)")
            return real(address, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)

    def elsewhere(self) -> list[str]:
        return [a for a in self.attempts if a != "127.0.0.1"]


@pytest.fixture
def connections(monkeypatch):
    hook = Connections(monkeypatch)
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        # our own resolver for invented names: a hostile DNS answer pointing at metadata
        answers = {"instance.metadata.test": "169.254.169.254", "router.metadata.test": "fe80::1"}
        if host in answers:
            ip = answers[host]
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return hook


REDIRECTS = {
    "/to-metadata": ("http://169.254.169.254/latest/meta-data/", "refused cloud metadata address 169.254.169.254"),
    "/to-ecs": ("http://169.254.170.2/v2/credentials/x", "refused cloud metadata address 169.254.170.2"),
    "/to-link-local": ("http://169.254.10.20:8080/admin", "refused link-local address 169.254.10.20"),
    "/to-v6-link-local": ("http://[fe80::1]/", "refused link-local address fe80::1"),
    "/to-aws-v6": ("http://[fd00:ec2::254]/latest/meta-data/", "refused cloud metadata address fd00:ec2::254"),
    "/to-alibaba": ("http://100.100.100.200/latest/meta-data/", "refused cloud metadata address 100.100.100.200"),
    "/to-mapped": ("http://[::ffff:169.254.169.254]/latest/", "refused cloud metadata address 169.254.169.254"),
    "/to-name": ("http://instance.metadata.test/latest/meta-data/", "refused cloud metadata address 169.254.169.254"),
    "/to-v6-name": ("http://router.metadata.test/", "refused link-local address fe80::1"),
}


def test_link_local_redirects_refused_before_connecting(site, connections):
    for path, (target, _) in REDIRECTS.items():
        site.add(path, 302, None, b"", {"Location": target})
    with web.Fetcher(web.FetchOptions(allow_private=True)) as f:
        for path, (_, reason) in REDIRECTS.items():
            err = f.fetch_document(site.url(path))
            assert isinstance(err, IngestError), path
            assert err.message == f"{reason} (use --allow-link-local)", path
            assert site.hits[path] == 1   # the hostile server was asked; the target never
    assert connections.attempts and connections.elsewhere() == []

    # the explicit flag opens them: now a connection is attempted (and refused by the hook)
    with web.Fetcher(web.FetchOptions(allow_private=True, allow_link_local=True)) as f:
        err = f.fetch_document(site.url("/to-metadata"))
    assert err.message == "cannot connect: connection refused"
    assert connections.elsewhere() == ["169.254.169.254"]


def test_link_local_flag_opens_only_link_local(connections):
    opened = web._GuardedBackend(allow_private=False, allow_link_local=True)
    assert opened.refusal("169.254.169.254") is None and opened.refusal("fe80::1") is None
    assert opened.refusal("10.0.0.1") == "refused private address 10.0.0.1 (use --allow-private)"
    private = web._GuardedBackend(allow_private=True)
    assert private.refusal("10.0.0.1") is None and private.refusal("127.0.0.1") is None
    assert private.refusal("64:ff9b::a9fe:a9fe") == "refused cloud metadata address 169.254.169.254 (use --allow-link-local)"
    assert private.refusal("2002:a9fe:0101::1") == "refused link-local address 169.254.1.1 (use --allow-link-local)"
    assert web.address_refusal("fe80::1%eth0") == "refused link-local address fe80::1 (use --allow-link-local)"
    assert web.address_refusal("64:ff9b::7f00:1") == "refused private address 127.0.0.1 (use --allow-private)"


def test_cli_refuses_link_local_with_allow_private(site, connections, tmp_path):
    url = site.add("/to-metadata", 302, None, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
    db = tmp_path / "l.duckdb"
    r = invoke("ingest", url, "--db", db, "--allow-private")
    assert r.exit_code == 1
    assert error_lines(r.stderr) == [
        f"error: {url}: refused cloud metadata address 169.254.169.254 (use --allow-link-local)"
    ]
    assert connections.elsewhere() == []
    r = invoke("ingest", url, "--db", db, "--allow-private", "--allow-link-local")
    assert error_lines(r.stderr) == [f"error: {url}: cannot connect: connection refused"]
    assert connections.elsewhere() == ["169.254.169.254"]


def test_hostile_feed_link_to_metadata_refused(site, connections, tmp_path):
    good = site.add("/news/1.html", 200, "text/html", article_html(31))
    metadata = "http://169.254.169.254/latest/meta-data/"
    feed = site.add("/feed.rss", 200, "application/rss+xml", (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>{site.base}/</link><description>news</description>"
        f"<item><title>Story</title><link>{good}</link><guid>g1</guid></item>"
        f"<item><title>Credentials</title><link>{metadata}</link><guid>g2</guid></item>"
        "</channel></rss>"
    ))
    db = tmp_path / "f.duckdb"
    r = invoke("ingest", "--feed", feed, "--db", db, "--allow-private")
    assert r.exit_code == 1
    assert error_lines(r.stderr) == [
        f"error: {metadata}: refused cloud metadata address 169.254.169.254 (use --allow-link-local)"
    ]
    assert "1 added, 0 unchanged, 0 replaced, 1 failed" in r.stdout
    assert set(stored(db)) == {good}
    assert connections.elsewhere() == []
    # the flag reaches feed items too
    r = invoke("ingest", "--feed", feed, "--db", db, "--allow-private", "--allow-link-local")
    assert error_lines(r.stderr) == [f"error: {metadata}: cannot connect: connection refused"]
    assert connections.elsewhere() == ["169.254.169.254"]


# -- fetch options with worker processes -------------------------------------------------
def test_url_list_keeps_fetch_options_with_workers(site, tmp_path):
    # More URLs than the pipeline reads before it starts its workers: past that point the
    # inputs are read in the pool's feeder thread, which once fell back to the default
    # options (private addresses refused, 10 s timeout).
    urls = [site.add(f"/story/{n}.html", 200, "text/html", article_html(100 + n)) for n in range(30)]
    slow = site.add("/story/slow.html", 200, "text/html", _slow)   # answers after 3 s
    urls[24] = slow
    listing = tmp_path / "urls30.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    r = subprocess.run(
        [sys.executable, "-m", "allegiance", "ingest", "--urls", str(listing), "--db", str(db),
         "--allow-private", "--timeout", "0.5", "--workers", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "ALLEGIANCE_DEBUG": "0"},
    )
    assert r.returncode == 1, r.stderr
    assert error_lines(r.stderr) == [f"error: {slow}: timed out after 0.5 s"]
    assert "29 added, 0 unchanged, 0 replaced, 1 failed" in r.stdout
    assert set(stored(db)) == set(urls) - {slow}


def test_parallel_extraction_sends_fetch_options_to_workers(site):
    from allegiance.scale.process import extract_parallel

    urls = [site.add(f"/p/{n}.html", 200, "text/html", article_html(200 + n)) for n in range(3)]
    with web.fetching(web.FetchOptions(allow_private=True)):
        results = list(extract_parallel(urls, workers=2))
    assert all(isinstance(r, Extraction) for r in results), [getattr(r, "message", r) for r in results]
    assert [r.document.doc_id for r in results] == urls
