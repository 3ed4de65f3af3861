"""The web app in a real browser (Playwright driving the system Chromium) against a real
uvicorn server on 127.0.0.1. Screenshots go to docs/*.png.

Skipped only when /usr/bin/chromium is missing (``apt-get install chromium``); Playwright's
own browser download is never used."""
from __future__ import annotations

import contextlib

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): browser tests skipped",
                allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
uvicorn = pytest.importorskip("uvicorn")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from allegiance.web.app import create_app  # noqa: E402
from tests.test_web_api import XSS_IMG, XSS_SCRIPT, ingest_examples, xss_extraction  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("webb") / "web.duckdb"
    ingest_examples(db)
    with serving(create_app(db)) as app:
        yield app


@contextlib.contextmanager
def serving(app):
    """``app`` served by a real uvicorn on a free 127.0.0.1 port (``app.state.base_url``),
    stopped and its store closed afterwards. The browser test files share it."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    app.state.base_url = f"http://127.0.0.1:{port}"
    try:
        yield app
    finally:
        srv.should_exit = True
        thread.join(10)
        app.state.ws.store.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    # bypass_csp: Playwright's polling helpers evaluate strings, which the app's CSP forbids;
    # it also means the XSS test proves the escaping alone, without the CSP's help
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    pg = ctx.new_page()
    external: list[str] = []
    base = server.state.base_url
    pg.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
          else external.append(r.url))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base = server.state.base_url
    pg.app = server
    yield pg
    ctx.close()
    assert not external, f"requests left the app: {external}"
    assert not errors, f"JavaScript errors: {errors}"


def _graph_ready(page) -> None:
    page.wait_for_function("document.body.getAttribute('data-graph-state') === 'ready'")


def _edges(page) -> int:
    return page.evaluate("window.cy.edges().length")


def test_network_renders_groups_and_edges(page):
    page.goto(page.base + "/network")
    _graph_ready(page)
    assert page.evaluate("window.cy.getElementById('aqim').length") == 1
    assert page.evaluate("window.cy.getElementById('islamic_state').length") == 1
    assert _edges(page) > 20
    assert page.evaluate("window.cy.getElementById('aqim').connectedEdges().length") > 0
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "network.png"))


def test_date_range_changes_visible_edges(page):
    page.goto(page.base + "/network")
    _graph_ready(page)
    before = _edges(page)
    page.fill("#since", "2017")
    page.fill("#until", "2018")
    page.locator("#until").dispatch_event("change")
    page.wait_for_function(f"window.cy.edges().length !== {before}")
    _graph_ready(page)
    after = _edges(page)
    assert 0 < after < before
    dates = page.evaluate("window.cy.edges().map(e => e.data('date'))")
    assert all("2017" <= d[:4] <= "2018" for d in dates)
    page.select_option("#relation", "leader_of")
    page.wait_for_function("window.cy.edges().every(e => e.data('relation') === 'leader_of')")


def test_search_isil_opens_islamic_state(page):
    page.goto(page.base + "/network")
    page.fill("#search-q", "ISIL")
    page.press("#search-q", "Enter")
    page.wait_for_url("**/actors/islamic_state")
    expect(page.locator("#actor-name")).to_have_text("Islamic State")
    expect(page.locator(".aliases")).to_contain_text("ISIL")
    assert page.locator(".timeline .fact").count() > 5
    page.screenshot(path=str(DOCS / "actor.png"))


def test_evidence_link_highlights_sentence(page):
    page.goto(page.base + "/actors/aqim")
    link = page.locator(".timeline .fact .evidence-link").first
    fact_id = link.locator("xpath=ancestor::li[1]").get_attribute("data-fact")
    evidence = link.locator("xpath=ancestor::li[1]").locator(".evidence").inner_text()
    link.click()
    page.wait_for_url(f"**/documents/**?fact={fact_id}*")
    selected = page.locator(f"#doc-text .ev-{fact_id}.selected")
    expect(selected.first).to_be_visible()
    shown = "".join(selected.all_inner_texts())
    assert " ".join(shown.split()) in " ".join(evidence.split())
    assert page.locator(f"#fact-{fact_id}.selected").count() == 1
    assert page.locator("#doc-text a.mention").count() > 0
    page.screenshot(path=str(DOCS / "document.png"))


def test_map_shows_places(page):
    page.goto(page.base + "/map")
    page.wait_for_function("document.body.getAttribute('data-markers') > 0")
    page.wait_for_selector("path.leaflet-interactive")
    markers = page.locator("path.leaflet-interactive[fill='#e74c3c']")
    assert markers.count() > 3
    markers.first.click(force=True)
    expect(page.locator("#place-panel .place-facts li").first).to_be_visible()
    page.wait_for_timeout(200)
    page.screenshot(path=str(DOCS / "map.png"))


def test_xss_payload_is_text(page):
    ws = page.app.state.ws
    # ingest a hostile article into the running server's store (read-write only for the
    # write: between writes the server holds it read-only, so CLI reads can open it)
    with ws.writing() as store:
        added = store.add_extraction(xss_extraction())
    page.goto(page.base + f"/documents/{added.document_id}")
    assert page.evaluate("typeof window.__xss") == "undefined"
    text = page.locator("#doc-text").inner_text()
    assert XSS_SCRIPT in text and XSS_IMG in text
    assert page.locator("#doc-text script, #doc-text img").count() == 0
    page.locator(".doc-facts a").first.click()  # the hostile actor's page
    page.wait_for_url("**/actors/**")
    assert page.evaluate("typeof window.__xss") == "undefined"
    expect(page.locator("#actor-name")).to_contain_text(XSS_IMG)
    # the page's own script (corrections.js, from _corrections.html) sits inside the article
    assert page.locator("article.actor img, article.actor script:not([src^='/static/'])").count() == 0
    # the network draws labels on a canvas; the search list uses text nodes
    page.goto(page.base + "/network")
    page.fill("#search-q", "Payload")
    page.press("#search-q", "Enter")
    page.wait_for_function(
        "location.pathname.startsWith('/actors/') || document.querySelector('#search-results a') !== null"
    )
    if page.locator("#search-results a").count():
        assert page.evaluate("typeof window.__xss") == "undefined"
        expect(page.locator("#search-results a").first).to_contain_text(XSS_IMG)
        page.locator("#search-results a").first.click()
        page.wait_for_url("**/actors/**")
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_rejecting_a_fact_removes_its_edge(page):
    page.goto(page.base + "/network")
    _graph_ready(page)
    # a tie of one fact: rejecting it removes the edge (edges are ties, grouped per
    # subject, relation, object)
    fact_id = page.evaluate(
        "window.cy.getElementById('aqim').connectedEdges().filter(e => e.data('relation') !== 'active_in' "
        "&& e.data('facts') === 1)[0].data('fact_ids')[0]"
    )
    before = _edges(page)
    page.goto(page.base + "/actors/aqim")
    item = page.locator(f"#fact-{fact_id}")
    item.locator(".review-btn[data-action=reject]").click()
    expect(item.locator(".review-status")).to_have_text("rejected")
    expect(item).to_have_class("fact rejected")  # struck through
    page.goto(page.base + "/network")
    _graph_ready(page)
    assert page.evaluate(f"window.cy.edges().filter(e => e.data('fact_ids').includes('{fact_id}')).length") == 0
    assert _edges(page) == before - 1


def test_ingest_page_uploads_and_links_documents(page, tmp_path):
    from tests.test_web_api import ARTICLE_A, ARTICLE_C

    upload = tmp_path / "ridge-browser.txt"
    upload.write_text(ARTICLE_A.replace("June 2019", "July 2019"), encoding="utf-8")
    page.goto(page.base + "/network")
    page.click("header nav a[href='/ingest']")
    page.wait_for_url("**/ingest")
    page.set_input_files("#ingest-files", str(upload))
    page.fill("#ingest-title", "Sands Battalion Browser Report")
    page.fill("#ingest-text", ARTICLE_C.replace("2021", "2023"))
    page.click("#ingest-submit")
    expect(page.locator("#ingest-progress")).to_have_text("stored 2 of 2", timeout=60000)
    rows = page.locator("#ingest-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator("td.status")).to_have_text(["added", "added"])
    expect(rows.first.locator("td.name")).to_have_text("ridge-browser.txt")
    page.screenshot(path=str(DOCS / "ingest.png"))
    rows.nth(1).locator("a.doc-link").click()
    page.wait_for_url("**/documents/**")
    expect(page.locator("article.document h1")).to_have_text("Sands Battalion Browser Report")
    expect(page.locator("#doc-text")).to_contain_text("Eastern Sands Battalion")
