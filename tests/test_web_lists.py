"""Lists, search, exports from the browser, the actor page and working while serving
(issue 10 items 3, 4 and 6), against a real `allegiance serve` process on 127.0.0.1 and
a real DuckDB file, with real CLI subprocesses and Playwright in the system Chromium.

The articles are written for this test (the Dune Front and its leaders are invented),
next to the bundled examples/corpus."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")

from tests.test_web_hostile import REPO, Server, _start_serve, _stop  # noqa: E402

CORPUS = REPO / "examples" / "corpus"
DOCS = REPO / "docs"
CHROMIUM = "/usr/bin/chromium"
# the STIX export alone takes ~20 s on this shared, loaded 2-CPU machine (the stix2 library)
DOWNLOAD_MS = 180_000
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]

ARTICLES = {
    "dune-2015.txt": (
        "Dune Front names its commander\nPublished: 2015-03-10\n\n"
        "TIMBUKTU, Mali — The Dune Front, an armed group active in northern Mali, said on Monday that "
        "Omar Kadiri is the leader of the Dune Front. Kadiri founded the group in 2012.\n"
    ),
    "dune-2019.txt": (
        "Dune Front changes leadership\nPublished: 2019-07-02\n\n"
        "GAO, Mali — Yusuf Harun became the leader of the Dune Front in June 2019, after Omar Kadiri was "
        "killed. The Dune Front reportedly pledged allegiance to the Islamic State.\n"
    ),
}
LATE_ARTICLE = (
    "Reed Battalion joins the Dune Front\nPublished: 2020-02-11\n\n"
    "GAO, Mali — The Reed Battalion pledged allegiance to the Dune Front in January 2020, "
    "local officials said.\n"
)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "allegiance", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lists")
    arts = folder / "articles"
    arts.mkdir()
    for name, text in ARTICLES.items():
        (arts / name).write_text(text, encoding="utf-8")
    db = folder / "lists.duckdb"
    r = cli("ingest", str(CORPUS), str(arts), "--db", str(db), timeout=300)
    assert r.returncode == 0, r.stderr
    # started the ordinary way: not --read-only
    server = _start_serve(db, "127.0.0.1")
    server.db = db
    yield server
    _stop(server)


def _post_json(server: Server, path: str, body: dict):
    status, data, _ = server.request("POST", path, json.dumps(body),
                                     server.write_headers(**{"Content-Type": "application/json"}))
    return status, json.loads(data or b"null")


def _actor_id(server: Server, name: str) -> str:
    hits = server.get_json("/api/search?q=" + quote(name))
    assert hits and hits[0]["name"] == name, hits[:3]
    return hits[0]["id"]


# -- work while serving ------------------------------------------------------------------
def test_cli_reads_while_serve_runs_and_the_web_still_writes(served, tmp_path):
    db = str(served.db)
    # reads, while the server (started without --read-only) has the store open
    r = cli("actors", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "Dune Front" in r.stdout
    r = cli("show", "Dune Front", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "Yusuf Harun" in r.stdout and "leader_of" in r.stdout
    r = cli("facts", "--actor", "Dune Front", "--format", "json", "--db", db)
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    assert {f["relation"] for f in facts} >= {"leader_of", "pledged_allegiance_to"}
    out = tmp_path / "while.graphml"
    r = cli("export", "graphml", "--db", db, "-o", str(out))
    assert r.returncode == 0, r.stderr
    ET.parse(out)

    # the server's own writes still work: a review, then an upload
    status, row = _post_json(served, f"/api/facts/{facts[0]['id']}/review", {"action": "confirm", "user": "t"})
    assert status == 200, row
    boundary = "listsboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"reed.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{LATE_ARTICLE}\r\n--{boundary}--\r\n").encode()
    status, data, _ = served.request("POST", "/api/ingest", body, served.write_headers(
        **{"Content-Type": f"multipart/form-data; boundary={boundary}"}))
    assert status == 200, data
    assert json.loads(data)[0]["status"] == "added"
    # ... and a CLI read started after it sees what the server wrote
    r = cli("show", "Reed Battalion", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "pledged_allegiance_to" in r.stdout and "Dune Front" in r.stdout
    assert served.get_json(f"/api/facts/{facts[0]['id']}/reviews")[-1]["action"] == "confirm"


def test_cli_reads_and_web_reviews_at_the_same_time(served, tmp_path):
    """Readers and the server's writes interleave: each waits a moment for the other."""
    db = str(served.db)
    fids = [f["id"] for f in served.get_json("/api/facts?limit=6")]
    procs = [subprocess.Popen([sys.executable, "-m", "allegiance", "export", fmt, "--db", db, "-o",
                               str(tmp_path / f"x.{fmt}")], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for fmt in ("jsonl", "facts-csv", "stix")]
    statuses = []
    for fid in fids:
        status, _ = _post_json(served, f"/api/facts/{fid}/review", {"action": "confirm", "user": "t"})
        statuses.append(status)
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert statuses == [200] * len(fids)
    assert json.loads((tmp_path / "x.stix").read_text())["type"] == "bundle"


# -- the browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, served):
    # bypass_csp: Playwright's wait_for_function evaluates strings, which the app's CSP forbids
    ctx = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True, bypass_csp=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base = served.origin
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_documents_page_searches_and_sorts(page):
    page.goto(page.base + "/documents?sort=date&order=asc")
    dates = [d for d in page.locator("#documents-table .date").all_inner_texts() if d != "—"]
    assert dates == sorted(dates) and "2015-03-10" in dates and "2019-07-02" in dates
    page.select_option("#documents-order", "desc")
    page.click("#documents-form button[type=submit]")
    page.wait_for_url("**order=desc**")
    dates = [d for d in page.locator("#documents-table .date").all_inner_texts() if d != "—"]
    assert dates == sorted(dates, reverse=True)
    # the search reads titles, file names, sources and the text
    page.fill("#documents-q", "Omar Kadiri")
    page.click("#documents-form button[type=submit]")
    page.wait_for_url("**q=Omar**")
    titles = page.locator("#documents-table tbody a").all_inner_texts()
    assert sorted(titles) == ["Dune Front changes leadership", "Dune Front names its commander"]
    # sorting by source, from the column header
    page.goto(page.base + "/documents")
    page.click("#documents-table th >> text=Source")
    page.wait_for_url("**sort=source**")
    sources = page.locator("#documents-table .source").all_inner_texts()
    assert sources == sorted(sources) and len(sources) >= 7


def test_actors_page_filters_by_type_kind_and_country(page):
    page.goto(page.base + "/actors")
    page.select_option("#actors-type", "PERSON")
    page.click("#actors-form button[type=submit]")
    page.wait_for_url("**type=PERSON**")
    assert set(page.locator("#actors-table tbody .badge").all_inner_texts()) == {"PERSON"}
    names = page.locator("#actors-table tbody a").all_inner_texts()
    assert "Yusuf Harun" in names and "Dune Front" not in names
    page.goto(page.base + "/actors?country=ML")
    rows = page.locator("#actors-table tbody tr")
    assert rows.count() >= 2
    assert set(page.locator("#actors-table tbody td:nth-child(4)").all_inner_texts()) == {"ML"}
    assert "Mali" in page.locator("#actors-table tbody a").all_inner_texts()
    page.goto(page.base + "/actors?kind=armed_group&type=ORG")
    kinds = set(page.locator("#actors-table tbody td:nth-child(3)").all_inner_texts())
    assert kinds == {"armed group"}


def test_review_queue_hedged_first_and_keyboard_confirms(page, served):
    page.goto(page.base + "/review")
    items = page.locator("#review-queue li.fact")
    assert items.count() > 5
    hedged = [("hedged" in (c or "")) for c in items.evaluate_all("els => els.map(e => e.className)")]
    assert hedged[0] and hedged == sorted(hedged, reverse=True)  # hedged ones first
    confs = page.locator("#review-queue li.fact:not(.hedged) .conf").all_inner_texts()
    values = [float(c.split()[-1]) for c in confs]
    assert values == sorted(values)  # then the lowest confidence
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("#review-queue li.fact.current")
    fid = current.get_attribute("data-fact")
    assert fid == items.nth(1).get_attribute("data-fact")
    page.screenshot(path=str(DOCS / "review.png"))
    page.keyboard.press("c")
    page.wait_for_function(
        f"document.querySelector('#fact-{fid} .review-status').textContent === 'confirmed'")
    assert served.get_json(f"/api/facts/{fid}/reviews")[-1]["action"] == "confirm"
    # the selection moved on to the next fact; r rejects it
    page.wait_for_function(f"document.querySelector('#review-queue li.fact.current').dataset.fact !== '{fid}'")
    nxt = page.locator("#review-queue li.fact.current").get_attribute("data-fact")
    assert nxt == items.nth(2).get_attribute("data-fact")
    page.keyboard.press("r")
    page.wait_for_function(f"document.querySelector('#fact-{nxt} .review-status').textContent === 'rejected'")
    assert served.get_json(f"/api/facts/{nxt}/reviews")[-1]["action"] == "reject"
    # reviewed facts leave the queue of pending ones
    page.goto(page.base + "/review")
    pending = page.locator("#review-queue li.fact").evaluate_all("els => els.map(e => e.dataset.fact)")
    assert fid not in pending and nxt not in pending


def test_evidence_search_marks_the_words_and_escapes_wildcards(page, served):
    # what the search should find, from the CLI's full fact list
    r = cli("facts", "--format", "json", "--db", str(served.db))
    assert r.returncode == 0, r.stderr
    expected = sorted(f["id"] for f in json.loads(r.stdout) if "leader of the dune" in (f["evidence"] or "").lower())
    assert len(expected) >= 2  # both Dune Front articles
    page.goto(page.base + "/search")
    page.fill("#evidence-q", "LEADER of the dune")
    page.click("#evidence-form button[type=submit]")
    page.wait_for_url("**/search?q=**")
    results = page.locator("#evidence-results li.fact")
    assert sorted(results.evaluate_all("els => els.map(e => e.dataset.fact)")) == expected
    assert set(page.locator("#evidence-results mark").all_inner_texts()) == {"leader of the Dune"}
    # % and _ are literal, not LIKE wildcards
    page.goto(page.base + "/search?q=" + quote("%_%"))
    expect_text = page.locator("#evidence-count").inner_text()
    assert expect_text.startswith("0 facts")


def test_friendly_404_pages_and_json_404s_for_the_api(page, served):
    for path in ("/no/such/page", "/actors/no-such-actor", "/documents/no-such-document"):
        resp = page.goto(page.base + path)
        assert resp.status == 404
        assert page.locator("#not-found h1").inner_text() == "Not found"
        assert page.locator("#not-found a[href='/actors']").count() == 1
    status, data, headers = served.request("GET", "/api/actors/no-such-actor")
    assert status == 404 and headers["content-type"] == "application/json"
    assert json.loads(data)["detail"]


def _parse_export(fmt: str, text: str) -> int:
    """The number of records the file holds, after parsing it in its own format."""
    if fmt in ("graphml", "gexf"):
        root = ET.fromstring(text.encode("utf-8"))
        return sum(1 for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "edge")
    if fmt.endswith("csv"):
        rows = list(csv.reader(io.StringIO(text)))
        assert rows and all(len(r) == len(rows[0]) for r in rows)
        return len(rows) - 1
    if fmt == "stix":
        bundle = json.loads(text)
        assert bundle["type"] == "bundle"
        return len(bundle["objects"])
    if fmt == "jsonl":
        return len([json.loads(line) for line in text.splitlines() if line.strip()])
    if fmt == "cypher":
        statements = [s for s in text.split(";") if s.strip()]
        assert any("MERGE" in s or "CREATE" in s for s in statements)
        return len(statements)
    raise AssertionError(fmt)


def test_every_export_format_downloads_from_the_browser(page, served, tmp_path):
    from allegiance.export import FORMATS

    page.goto(page.base + "/network")
    links = page.locator("#export-links a.export-link")
    assert sorted(links.evaluate_all("els => els.map(e => e.dataset.format)")) == sorted(FORMATS)
    for fmt in FORMATS:
        with page.expect_download(timeout=DOWNLOAD_MS) as info:
            page.click(f"#export-links a[data-format='{fmt}']")
        dl = info.value
        assert re.fullmatch(rf"allegiance-{re.escape(fmt)}\.[a-z]+", dl.suggested_filename), dl.suggested_filename
        assert dl.suggested_filename.endswith(FORMATS[fmt][1])
        text = Path(dl.path()).read_text(encoding="utf-8")
        n = _parse_export(fmt, text)
        if fmt != "incidents-csv":  # the examples may hold no incident (a header alone)
            assert n > 0, fmt
        # the same bytes as the CLI's export of the same store, run while the server serves
        out = tmp_path / f"cli{FORMATS[fmt][1]}"
        r = cli("export", fmt, "--db", str(served.db), "-o", str(out))
        assert r.returncode == 0, r.stderr
        if fmt not in ("stix", "jsonl", "cypher"):  # these carry the export's time / ids
            assert out.read_text(encoding="utf-8") == text, fmt
    # the page's filters go with the download: a year range, and the hedged box
    page.fill("#since", "2019")
    page.fill("#until", "2019")
    page.uncheck("#hedged")
    with page.expect_download(timeout=DOWNLOAD_MS) as info:
        page.click("#export-links a[data-format='facts-csv']")
    dl = info.value
    assert dl.suggested_filename == "allegiance-facts-csv-since-2019-until-2019.csv"
    rows = list(csv.DictReader(io.StringIO(Path(dl.path()).read_text(encoding="utf-8"))))
    assert rows
    assert not any(r["relation"] == "pledged_allegiance_to" and "Dune Front" in r.values() for r in rows)  # hedged
    assert any(r["relation"] == "leader_of" for r in rows)


def test_actor_page_answers_who_leads_and_groups_ties(page, served):
    aid = _actor_id(served, "Dune Front")
    page.goto(page.base + "/actors/" + quote(aid, safe=""))
    current = page.locator("#current-leader")
    assert "Yusuf Harun" in current.inner_text() and "2019-06" in current.inner_text()
    earlier = page.locator("#earlier-leaders li")
    assert earlier.count() == 1
    text = earlier.first.inner_text()
    assert "Omar Kadiri" in text and "2015-03-10" in text and "as reported" in text
    assert earlier.first.locator("a.tie-doc").inner_text() == "Dune Front names its commander"
    # ties grouped by relation, one line per (subject, relation, object)
    group = page.locator(".tie-group[data-relation='leader_of'] li.tie")
    assert group.count() == 2
    assert "1 source" in group.first.inner_text()
    # the actor's export carries the actor
    with page.expect_download(timeout=DOWNLOAD_MS) as info:
        page.click("#export-links a[data-format='jsonl']")
    assert info.value.suggested_filename == "allegiance-jsonl-actors-1.jsonl"
    page.screenshot(path=str(DOCS / "actor-ties.png"), full_page=True)


# -- an actor with 100,000 facts ----------------------------------------------------------
def test_actor_page_of_100k_facts_is_paged_and_quick(tmp_path):
    from fastapi.testclient import TestClient

    from allegiance.web.app import create_app
    from bench.actor_page import build

    db = tmp_path / "big.duckdb"
    build(db, 100_000)
    app = create_app(db, read_only=True)
    client = TestClient(app, base_url="http://127.0.0.1")
    try:
        client.get("/actors/a0")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = client.get("/actors/a0")
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200
        html = r.text
        assert html.count('class="fact') == 100          # one page of the timeline
        assert "page 1 of 1000 (100000)" in html
        assert 'id="current-leader"' in html
        # bench/actor_page.py prints the figure (under 1 s at p50 on 2 shared, loaded CPUs);
        # the bound here leaves room for a busier machine: the unpaged card takes ~10 s
        assert sorted(times)[1] < 2.0, times
    finally:
        app.state.ws.store.close()
