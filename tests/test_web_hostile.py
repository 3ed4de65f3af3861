"""The web server under hostile requests (issue 12, items 1, 8 and 10), over real HTTP on
127.0.0.1: a real ``allegiance serve`` process for most tests, an in-process uvicorn where
a test must watch extraction from inside, and Chromium (Playwright, the system
``/usr/bin/chromium``) for the cross-origin form.

- item 8: JSON bodies are strict (NaN, Infinity, 1e999999, duplicate keys, huge numbers,
  deep nesting: 422, never 500), bounded (413) and never echoed in a 4xx answer.
- item 10: writes from another origin or without the CSRF token are refused; Host headers
  outside the allow-list (which follows ``--host``) get 400, so a DNS-rebinding page can
  neither read nor write.
- item 1: concurrent uploads are extracted one at a time; an oversized upload gets 413
  while it streams, without the server holding it."""
from __future__ import annotations

import http.client
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from allegiance.store import Store  # noqa: E402
from tests.test_web_api import ARTICLE_A, ARTICLE_B, ARTICLE_C, ingest_examples  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """A server reached at ``ip:port``; ``request`` sends any Host / headers / body."""

    def __init__(self, ip: str, port: int, proc: subprocess.Popen | None = None):
        self.ip, self.port, self.proc = ip, port, proc
        self.origin = f"http://{ip}:{port}"
        self._token = None

    def request(self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None,
                timeout: float = 120):
        conn = http.client.HTTPConnection(self.ip, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read(), dict(r.getheaders())
        finally:
            conn.close()

    def get_json(self, path: str):
        status, data, _ = self.request("GET", path)
        assert status == 200, (path, status, data[:300])
        return json.loads(data)

    @property
    def token(self) -> str:
        # what the app's own pages carry: the <meta name="csrf-token"> of a page
        if self._token is None:
            status, html, _ = self.request("GET", "/network")
            assert status == 200
            self._token = re.search(rb'<meta name="csrf-token" content="([^"]+)">', html).group(1).decode()
            assert self.get_json("/api/csrf") == {"header": "X-CSRF-Token", "token": self._token}
        return self._token

    def write_headers(self, **extra) -> dict:
        """Headers of the app's own write: same Origin, the token."""
        h = {"Origin": self.origin, "X-CSRF-Token": self.token}
        h.update(extra)
        return h

    def documents(self) -> list[dict]:
        return self.get_json("/api/documents")


def _wait_listening(ip: str, port: int, proc: subprocess.Popen | None = None, deadline: float = 60) -> None:
    end = time.time() + deadline
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read()}")
        try:
            with socket.create_connection((ip, port), timeout=1):
                return
        except OSError:
            assert time.time() < end, "the server did not start"
            time.sleep(0.1)


def _start_serve(db: Path, ip: str, *extra: str) -> Server:
    port = _free_port(ip)
    proc = subprocess.Popen(
        [sys.executable, "-m", "allegiance", "serve", "--db", str(db), "--host", ip, "--port", str(port), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    _wait_listening(ip, port, proc)
    return Server(ip, port, proc)


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "web.duckdb"
    ingest_examples(db)
    empty = folder / "empty.duckdb"
    with Store(empty):
        pass
    return db, empty


@pytest.fixture(scope="module")
def served(dbs):
    """``allegiance serve`` on 127.0.0.1 with the example corpus (default limits)."""
    server = _start_serve(dbs[0], "127.0.0.1")
    yield server
    _stop(server)


def _fact_id(server: Server) -> str:
    return server.get_json("/api/facts?relation=leader_of")[0]["id"]


def _multipart(fields: list[tuple[str, str | None, bytes]], boundary: str = "hostileboundary") -> tuple[bytes, str]:
    out = b""
    for name, filename, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _raw_exchange(server: Server, head: bytes, body_chunks, *, deadline: float = 60) -> tuple[int, bytes, int]:
    """Send ``head`` then body chunks until the server answers (or the chunks run out);
    returns (status, response bytes, body bytes sent). Reading starts as soon as the server
    answers, so a server that refuses early is seen refusing early."""
    sock = socket.create_connection((server.ip, server.port), timeout=10)
    sock.sendall(head)
    sent = 0
    pending = b""
    chunks = iter(body_chunks)
    end = time.time() + deadline
    try:
        while time.time() < end:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if writable:
                if not pending:
                    pending = next(chunks, b"")
                    if not pending:  # all sent: wait for the answer
                        select.select([sock], [], [], 30)
                        break
                n = sock.send(pending)
                sent += n
                pending = pending[n:]
        else:
            raise AssertionError("no answer")
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < _expected_len(data):
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            data += piece
    finally:
        sock.close()
    status = int(data.split(b" ", 2)[1])
    return status, data, sent


def _expected_len(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return len(head) + 4 + (int(m.group(1)) if m else 0)


# -- item 8: strict JSON, bounded bodies, no echo ---------------------------------------------
HOSTILE_JSON = {
    "NaN": '{"action": NaN}',
    "Infinity": '{"action": "confirm", "note": Infinity}',
    "-Infinity": '{"action": "confirm", "note": -Infinity}',
    "overflow": '{"action": "reject", "note": 1e999999}',
    "duplicate key": '{"action": "confirm", "action": "reject"}',
    "huge int": '{"action": "confirm", "note": ' + "1" * 5000 + "}",
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "not UTF-8": b'{"action": "confirm", "note": "\xff\xfe"}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_review_refuses_non_strict_json_with_422(served, case):
    fid = _fact_id(served)
    before = served.get_json(f"/api/facts/{fid}/reviews")
    status, data, _ = served.request("POST", f"/api/facts/{fid}/review", HOSTILE_JSON[case],
                                     served.write_headers(**{"Content-Type": "application/json"}))
    assert status == 422, (case, status, data[:300])
    detail = json.loads(data)["detail"]
    assert detail.startswith("body: invalid JSON"), detail
    assert len(data) < 1000
    assert served.get_json(f"/api/facts/{fid}/reviews") == before, "nothing was stored"


def test_validation_error_names_the_field_and_never_echoes(served):
    fid = _fact_id(served)
    marker = "ECHO-MARKER-"
    body = json.dumps({"action": "confirm", "note": marker * 15000})  # ~180 KB: under the JSON limit
    status, data, _ = served.request("POST", f"/api/facts/{fid}/review", body,
                                     served.write_headers(**{"Content-Type": "application/json"}))
    assert status == 422, data[:300]
    answer = json.loads(data)
    assert "body.note" in answer["detail"] and "5000 characters" in answer["detail"]
    assert marker.encode() not in data and len(data) < 1000, "the input is not echoed"
    # a bad value of a typed field and an unknown relation: named, not repeated
    for payload in ({"action": "delete-" + marker}, {"action": "correct", "relation": marker}):
        status, data, _ = served.request("POST", f"/api/facts/{fid}/review", json.dumps(payload),
                                         served.write_headers(**{"Content-Type": "application/json"}))
        assert status == 422 and marker.encode() not in data, data[:300]
    # the same request, well-formed, is stored: the refusals above were about the input
    status, data, _ = served.request("POST", f"/api/facts/{fid}/review", json.dumps({"action": "confirm"}),
                                     served.write_headers(**{"Content-Type": "application/json"}))
    assert status == 200 and json.loads(data)["action"] == "confirm"


def test_json_body_over_limit_is_413_before_it_is_read(served):
    fid = _fact_id(served)
    size = 20 * 1024 * 1024
    head = (f"POST /api/facts/{fid}/review HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            f"Origin: {served.origin}\r\nX-CSRF-Token: {served.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode()
    chunk = b'{"action": "confirm", "note": "' + b"B" * 65536
    status, data, sent = _raw_exchange(served, head, (chunk for _ in range(size // len(chunk))))
    assert status == 413, data[:300]
    assert b"BBBB" not in data and len(data) < 1000
    assert sent < size // 2, f"the server read {sent} of {size} bytes before refusing"
    # chunked (no Content-Length to go by): cut off while counting
    head = head.replace(f"Content-Length: {size}".encode(), b"Transfer-Encoding: chunked")
    piece = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    status, data, sent = _raw_exchange(served, head, (piece for _ in range(size // len(chunk))))
    assert status == 413 and b"BBBB" not in data, data[:300]
    assert sent < size // 2


# -- item 10: cross-origin writes, CSRF token, Host allow-list -----------------------------------
def test_writes_need_same_origin_and_the_token(served):
    fid = _fact_id(served)
    path = f"/api/facts/{fid}/review"
    body = json.dumps({"action": "reject", "note": "forged"})
    before = served.get_json(f"{path}s")
    other = f"http://127.0.0.1:{_free_port()}"  # another loopback port: another origin, same site
    forged = {
        "no token": {"Origin": served.origin},
        "wrong token": {"Origin": served.origin, "X-CSRF-Token": "x" * 43},
        "other port": {"Origin": other, "X-CSRF-Token": served.token},
        "other host": {"Origin": "http://attacker.example", "X-CSRF-Token": served.token},
        "null origin": {"Origin": "null", "X-CSRF-Token": served.token},
        "cross referer": {"Referer": other + "/attack.html", "X-CSRF-Token": served.token},
        "cross-site fetch": {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": served.token},
        "same-site fetch": {"Sec-Fetch-Site": "same-site", "Origin": served.origin, "X-CSRF-Token": served.token},
    }
    for case, headers in forged.items():
        status, data, _ = served.request("POST", path, body, {"Content-Type": "application/json", **headers})
        assert status == 403, (case, status, data[:200])
    assert served.get_json(f"{path}s") == before, "no forged review was stored"
    # the app's own write (same origin, token) and a script's (token, no Origin) pass
    for headers in (served.write_headers(), {"X-CSRF-Token": served.token}):
        status, data, _ = served.request("POST", path, json.dumps({"action": "confirm"}),
                                         {"Content-Type": "application/json", **headers})
        assert status == 200, data[:200]
    # an upload without the token is refused before its body is read
    docs = len(served.documents())
    body, ctype = _multipart([("text", None, ARTICLE_B.replace("2020", "2031").encode())])
    status, _, _ = served.request("POST", "/api/ingest", body, {"Content-Type": ctype, "Origin": served.origin})
    assert status == 403
    assert len(served.documents()) == docs


def test_dns_rebinding_host_is_refused(served):
    """A rebinding page at http://rebind.attacker.example:PORT/ talks to 127.0.0.1 as its own
    origin (Origin and Host both name the attacker's domain): Host gives it away."""
    evil = f"rebind.attacker.example:{served.port}"
    for path in ("/api/documents", "/api/csrf", "/network", "/api/facts"):
        status, data, _ = served.request("GET", path, headers={"Host": evil})
        assert status == 400, (path, status)
        assert b"doc_id" not in data and served.token.encode() not in data
    fid = _fact_id(served)
    before = served.get_json(f"/api/facts/{fid}/reviews")
    status, _, _ = served.request(
        "POST", f"/api/facts/{fid}/review", json.dumps({"action": "reject"}),
        {"Host": evil, "Origin": f"http://{evil}", "X-CSRF-Token": served.token, "Content-Type": "application/json"})
    assert status == 400
    assert served.get_json(f"/api/facts/{fid}/reviews") == before
    for bad in ("", "127.0.0.1.attacker.example", "localhost@evil", "127.0.0.1:99999", "[::1"):
        assert served.request("GET", "/api/csrf", headers={"Host": bad})[0] == 400, bad
    # the names of this machine, with or without a port, are answered
    for good in (f"127.0.0.1:{served.port}", f"localhost:{served.port}", "localhost", f"[::1]:{served.port}",
                 f"LOCALHOST.:{served.port}"):
        assert served.request("GET", "/api/csrf", headers={"Host": good})[0] == 200, good
    # a server started without --host 127.0.0.2 does not answer to that name
    assert served.request("GET", "/api/csrf", headers={"Host": f"127.0.0.2:{served.port}"})[0] == 400


def test_host_allow_list_follows_the_host_flag(dbs):
    server = _start_serve(dbs[1], "127.0.0.2")
    try:
        for host, want in ((f"127.0.0.2:{server.port}", 200), (f"localhost:{server.port}", 200),
                           (f"127.0.0.1:{server.port}", 200), (f"127.0.0.3:{server.port}", 400),
                           (f"attacker.example:{server.port}", 400)):
            assert server.request("GET", "/api/documents", headers={"Host": host})[0] == want, host
    finally:
        _stop(server)
    # --allow-host adds a name (a machine reached by its LAN name)
    server = _start_serve(dbs[1], "127.0.0.2", "--allow-host", "analyst-box.lan")
    try:
        assert server.request("GET", "/api/documents", headers={"Host": "analyst-box.lan:8000"})[0] == 200
        assert server.request("GET", "/api/documents", headers={"Host": "other-box.lan:8000"})[0] == 400
    finally:
        _stop(server)


ATTACK_FORM = """<!doctype html><html><body>
<form id="f" method="POST" action="{target}/api/ingest" enctype="multipart/form-data">
<textarea name="text">{article}</textarea><input name="title" value="Planted By Another Origin">
</form><script>document.getElementById('f').submit();</script></body></html>"""
ATTACK_FETCH = """<!doctype html><html><body><script>
var fd = new FormData(); fd.append("text", {article}); fd.append("title", "Planted By Fetch");
fetch("{target}/api/ingest", {{method: "POST", mode: "no-cors", body: fd}})
  .then(function () {{ document.title = "sent"; }}, function () {{ document.title = "sent"; }});
</script></body></html>"""


class _AttackerSite:
    """A plain web server on another loopback port serving the attack pages."""

    def __init__(self, pages: dict[str, str]):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                page = pages.get(self.path)
                body = (page or "not found").encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_cross_origin_form_plants_nothing_in_chromium(served, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    article = ARTICLE_A.replace("June 2019", "May 2024").replace("Northern Ridge", "Planted Ridge")
    pages = {
        "/form.html": ATTACK_FORM.format(target=served.origin, article=article),
        "/fetch.html": ATTACK_FETCH.format(target=served.origin, article=json.dumps(article)),
    }
    before = served.documents()
    with _AttackerSite(pages) as site, sync_api.sync_playwright() as p:
        assert site.base != served.origin and site.base.startswith("http://127.0.0.1:")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_context().new_page()
            for attack in ("/form.html", "/fetch.html"):
                with page.expect_response(lambda r: r.url.endswith("/api/ingest")) as answer:
                    page.goto(site.base + attack)
                # the forged request reached the server, from the other origin, and was refused
                assert answer.value.status == 403, attack
                sent = answer.value.request.all_headers()  # (Playwright may not list a no-cors Origin)
                assert (sent.get("origin") or sent.get("referer", "")).startswith(site.base)
            page.wait_for_function("document.title === 'sent'")
            after = served.documents()
            assert len(after) == len(before), "the store is unchanged"
            assert not [d for d in after if "Planted" in (d.get("title") or "") + d["doc_id"]]
            # control: the app's own upload page, in the same browser, still stores an article
            page.goto(served.origin + "/ingest")
            page.fill("#ingest-title", "Own Page Upload Report")
            page.fill("#ingest-text", ARTICLE_C.replace("2021", "2025"))
            page.click("#ingest-submit")
            sync_api.expect(page.locator("#ingest-progress")).to_have_text("stored 1 of 1", timeout=120000)
            assert len(served.documents()) == len(before) + 1
        finally:
            browser.close()


# -- item 1: uploads queued one at a time, bodies bounded while streaming -------------------------
@pytest.fixture
def threaded(tmp_path):
    """Start an in-process uvicorn on an empty store (``threaded(**create_app kwargs)``), so
    the test can wrap extraction and watch it from inside."""
    from allegiance.web.app import create_app

    running = []

    def start(**kwargs) -> Server:
        db = tmp_path / f"queue{len(running)}.duckdb"
        with Store(db):
            pass
        app = create_app(db, **kwargs)
        port = _free_port()
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        running.append((srv, thread, app))
        end = time.time() + 20
        while not srv.started:
            assert time.time() < end, "uvicorn did not start"
            time.sleep(0.05)
        return Server("127.0.0.1", port)

    yield start
    for srv, thread, app in running:
        srv.should_exit = True
        thread.join(10)
        app.state.ws.store.close()


def _upload(server: Server, name: str, text: str, out: dict) -> None:
    body, ctype = _multipart([("files", name, text.encode())])
    status, data, _ = server.request("POST", "/api/ingest", body, server.write_headers(**{"Content-Type": ctype}))
    out[name] = (status, data)


def test_concurrent_uploads_are_extracted_one_at_a_time(threaded, monkeypatch):
    import allegiance.pipeline as pipeline

    server = threaded()

    real = pipeline.extract_paths
    spans: list[tuple[float, float]] = []
    active = [0]
    most = [0]
    guard = threading.Lock()

    def watched(*args, **kwargs):  # the real extraction, timed; the pause widens any overlap
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
        start = time.monotonic()
        try:
            items = list(real(*args, **kwargs))
            time.sleep(0.4)
            return items
        finally:
            with guard:
                active[0] -= 1
            spans.append((start, time.monotonic()))

    monkeypatch.setattr(pipeline, "extract_paths", watched)
    results: dict = {}
    articles = {"a.txt": ARTICLE_A, "b.txt": ARTICLE_B, "c.txt": ARTICLE_C}
    threads = [threading.Thread(target=_upload, args=(server, n, t, results)) for n, t in articles.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted(results) == sorted(articles)
    for name, (status, data) in results.items():
        assert status == 200, (name, data[:300])
        assert json.loads(data)[0]["status"] == "added"
    assert len(spans) == 3 and most[0] == 1, f"extractions overlapped: {most[0]} at once"
    spans.sort()
    assert all(b_start >= a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans


def test_uploads_beyond_the_queue_get_503(threaded, monkeypatch):
    import allegiance.pipeline as pipeline

    server = threaded(max_pending_uploads=1)

    real = pipeline.extract_paths
    started, release = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        started.set()
        release.wait(60)
        return list(real(*args, **kwargs))

    monkeypatch.setattr(pipeline, "extract_paths", held)
    results: dict = {}
    first = threading.Thread(target=_upload, args=(server, "first.txt", ARTICLE_A, results))
    first.start()
    assert started.wait(60)
    try:
        _upload(server, "second.txt", ARTICLE_B, results)
        status, data = results["second.txt"]
        assert status == 503 and b"busy" in data
    finally:
        release.set()
        first.join(300)
    assert results["first.txt"][0] == 200
    _upload(server, "third.txt", ARTICLE_B, results)  # the slot is free again
    assert results["third.txt"][0] == 200


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


class _RssSampler:
    """The highest RSS of a process while the block runs (sampled every 5 ms: the
    process's own peak, VmHWM, already holds what earlier extractions took)."""

    def __init__(self, pid: int):
        self.pid, self.most, self._stop = pid, 0, threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.most = max(self.most, _rss_kb(self.pid))
            time.sleep(0.005)

    def __enter__(self):
        self.before = _rss_kb(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def test_oversized_upload_is_413_while_streaming(served):
    """Against the default limits (25 MB a request): a declared 10 GB body is refused on
    its headers; a chunked 200 MB body is cut off once 25 MB are in, and the server's peak
    memory hardly moves (the body is spooled to disk while it arrives)."""
    docs = len(served.documents())
    boundary = "hostileboundary"
    part_head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n\r\n").encode()
    head = (f"POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nOrigin: {served.origin}\r\n"
            f"X-CSRF-Token: {served.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n").encode()
    t0 = time.monotonic()
    status, data, sent = _raw_exchange(served, head + b"Content-Length: 10000000000\r\n\r\n", iter([part_head]))
    assert status == 413 and b"limit per request" in data, data[:300]
    assert time.monotonic() - t0 < 5 and sent <= len(part_head)

    chunk = b"word " * 13107  # 64 KB
    total = 200 * 1024 * 1024
    pieces = (b"%x\r\n%s\r\n" % (len(c), c) for c in [part_head] + [chunk] * (total // len(chunk)))
    with _RssSampler(served.proc.pid) as rss:
        status, data, sent = _raw_exchange(served, head + b"Transfer-Encoding: chunked\r\n\r\n", pieces)
    assert status == 413 and b"limit per request" in data, data[:300]
    assert 25 * 1024 * 1024 < sent < 80 * 1024 * 1024, f"{sent} bytes were taken before the refusal"
    grown_mb = (rss.most - rss.before) / 1024
    assert grown_mb < 16, f"the server's peak memory grew by {grown_mb:.0f} MB for a refused upload"
    assert len(served.documents()) == docs
