"""Corrections from the browser (issue 10 item 2), in Debian's Chromium against a real
uvicorn server: a merge made on an actor page shows in `allegiance show` and in an
export (run as separate processes while the server runs), and a correction made on a
fact card survives re-ingesting its document under a new extractor version. Articles
invented for these tests (tests/test_corrections.py)."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_web_browser import CHROMIUM, LAUNCH_ARGS, serving

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)
pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from allegiance.store import Store  # noqa: E402
from allegiance.web.app import create_app  # noqa: E402
from tests.test_corrections import docs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served(tmp_path):
    db = tmp_path / "served.duckdb"
    with Store(db) as s:
        s.add_extractions(docs())
    with serving(create_app(db, reviewer="rana")) as app:
        app.state.db = db
        yield app


@pytest.fixture
def page(served):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        ctx = b.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True)
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        b.close()
        assert not errors, f"JavaScript errors: {errors}"


def allegiance(*args: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, in its own process, while the server runs."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "allegiance", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def actor_id(served, name: str) -> str:
    with served.state.ws.lock:
        return served.state.ws.store.find_actors(name)[0]["id"]


def test_merge_in_browser_shows_in_show_and_export(served, page, tmp_path):
    base, db = served.state.base_url, str(served.state.db)
    keep, gone = actor_id(served, "Abu Tarek Zemmouri"), actor_id(served, "Tarek al-Zemouri")
    assert keep != gone
    page.goto(f"{base}/actors/{keep}")
    page.locator("#corrections summary").click()
    page.fill("#merge-other", "Tarek al-Zemouri")
    with page.expect_navigation():
        page.click("#merge-btn")
    expect(page.locator(".aliases")).to_contain_text("Tarek al-Zemouri")
    expect(page.locator("#merges")).to_contain_text(gone)

    shown = allegiance("show", "Tarek al-Zemouri", "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert f"id={keep}" in shown.stdout and "Tin Kerrat" in shown.stdout
    out = tmp_path / "facts.csv"
    exported = allegiance("export", "facts-csv", "-o", str(out), "--db", db)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["subject_id"] for r in rows if r["relation"] == "leader_of"} == {keep}
    audit = json.loads(allegiance("audit", "--format", "json", "--db", db).stdout)
    assert [(a["action"], a["user"]) for a in audit] == [("merge", "rana")]

    # and the undo button brings the other actor back
    page.locator("#corrections summary").click()
    with page.expect_navigation():
        page.click(".unmerge-btn")
    shown = allegiance("show", "Tarek al-Zemouri", "--db", db)
    assert f"id={gone}" in shown.stdout


def test_correction_in_browser_survives_reingest(served, page):
    base = served.state.base_url
    front = actor_id(served, "Sahel Lantern Front")
    page.goto(f"{base}/actors/{front}")
    card = page.locator(".timeline .fact", has_text="Dune Riders")
    expect(card).to_contain_text("allied with")
    card.locator(".correct-btn").click()
    card.locator(".correct-form input[name=relation]").fill("rival_of")
    with page.expect_navigation():
        card.locator(".correct-form button[type=submit]").click()
    card = page.locator(".timeline .fact", has_text="Dune Riders")
    expect(card).to_contain_text("rival of")

    # reject another fact: it stays on the page, struck through
    other = page.locator(".timeline .fact", has_text="Ouled Mesra")
    other.locator(".review-btn[data-action=reject]").click()
    expect(other).to_have_class("fact rejected")

    # the document re-ingested by a new extractor version, as the web's own ingest stores it
    ws = served.state.ws
    with ws.writing() as store:
        assert {r.status for r in store.add_extractions(docs(version="test-2"))} == {"replaced"}
    page.reload()
    card = page.locator(".timeline .fact", has_text="Dune Riders")
    expect(card).to_contain_text("rival of")
    expect(card).not_to_contain_text("allied with")
    expect(page.locator(".timeline .fact.rejected", has_text="Ouled Mesra")).to_have_count(1)
    facts = allegiance("facts", "--relation", "rival_of", "--format", "json", "--db", str(served.state.db))
    assert [f["object"] for f in json.loads(facts.stdout)] == ["Dune Riders"]
