"""Incidents in the web app, the CLI edits and the exports (issue 13): the JSON API against
a real uvicorn server on 127.0.0.1, the incident page in Chromium, analysts' merge and split
from the CLI and the page with their audit rows, network weights by incident, and the
``incidents-csv`` export.

The store holds the three invented Mandera reports of tests/test_incidents.py (one attack,
three tolls, a claim, a blame and a denial, plus a history paragraph) and three invented
Garissa reports: two of one market attack and one of a later attack on a police post, so
al-Shabaab -> Garissa has three ``attacked`` facts but two incidents."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from allegiance.pipeline import extract_paths  # noqa: E402
from allegiance.records import IngestError  # noqa: E402
from allegiance.store import Store  # noqa: E402
from allegiance.web.app import create_app  # noqa: E402
from tests.test_incidents import REPORTS  # noqa: E402
from tests.test_web_browser import serving  # noqa: E402

GARISSA = {
    "e_garissa.txt": (
        "Gunmen raid Garissa market\n\n"
        "Al-Shabaab fighters attacked a market in Garissa, Kenya, on 2 May 2024, killing 4 traders, "
        "officials said.\n"
    ),
    "f_garissa.txt": (
        "Four traders dead in Garissa market raid\n\n"
        "Al-Shabaab fighters attacked the main market in Garissa on 2 May 2024 and killed 4 traders, "
        "a county official said.\n"
    ),
    "g_garissa.txt": (
        "Police post hit in Garissa\n\n"
        "Al-Shabaab fighters attacked a police post in Garissa, Kenya, on 20 August 2024, killing 2 "
        "officers, police said.\n"
    ),
}
CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "allegiance", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The store, built once; tests that write take a copy."""
    d = tmp_path_factory.mktemp("increports")
    for name, text in {**REPORTS, **GARISSA}.items():
        (d / name).write_text(text, encoding="utf-8")
    db = tmp_path_factory.mktemp("incdb") / "incidents.duckdb"
    with Store(db) as store:
        for ex in extract_paths([str(d)]):
            assert not isinstance(ex, IngestError), ex
            store.add_extraction(ex)
    return db


def _copy(built: Path, tmp_path: Path, name: str = "copy.duckdb") -> Path:
    out = tmp_path / name
    shutil.copy(built, out)
    return out


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    """A real uvicorn server on 127.0.0.1 over a copy of the store (the CLI reads ``built``)."""
    db = tmp_path_factory.mktemp("incserve") / "serve.duckdb"
    shutil.copy(built, db)
    with serving(create_app(db)) as app:
        yield app


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.state.base_url, timeout=60) as c:
        yield c


def _mandera(rows: list[dict]) -> dict:
    linked = [r for r in rows if r["place"] == "Mandera" and r["sources"] > 1]
    assert len(linked) == 1, rows
    return linked[0]


# -- JSON API ---------------------------------------------------------------------------------
def test_api_list_is_the_cli_json(http, built):
    """/api/incidents and `allegiance incidents --format json` are one implementation."""
    for params, flags in (({}, []), ({"disputed": "true"}, ["--disputed"]), ({"place": "garissa"}, ["--place", "garissa"]),
                          ({"actor": "shabaab", "since": "2024-04"}, ["--actor", "shabaab", "--since", "2024-04"]),
                          ({"until": "2024-03"}, ["--until", "2024-03"])):
        api = http.get("/api/incidents", params=params)
        assert api.status_code == 200
        r = _cli("incidents", "--db", built, "--format", "json", *flags)
        assert r.returncode == 0, r.stderr
        assert api.json() == [json.loads(line) for line in r.stdout.splitlines()], params
    everything = http.get("/api/incidents").json()
    assert len(everything) == 3  # Mandera (3 reports), the Garissa market (2), the police post (1)
    assert [i["sources"] for i in http.get("/api/incidents", params={"place": "garissa"}).json()] == [2, 1]
    assert [i["place"] for i in http.get("/api/incidents", params={"until": "2024-03"}).json()] == ["Mandera"]
    assert http.get("/api/incidents", params={"disputed": "false"}).json() == [
        i for i in everything if not i["disputed"]]
    mandera = _mandera(everything)
    assert (mandera["lat"], mandera["lon"]) != (None, None)  # on the map


def test_api_incident_columns_and_disagreements(http):
    iid = _mandera(http.get("/api/incidents").json())["incident_id"]
    inc = http.get(f"/api/incidents/{iid}").json()
    cols = {c["doc_id"]: c for c in inc["columns"]}
    assert sorted(cols) == sorted(REPORTS)
    assert {d: c["killed"] for d, c in cols.items()} == {"a_wire.txt": 12, "b_local.txt": 19, "c_ngo.txt": 23}
    status = {d: [(a["name"], a["status"], a["by"], a["denied"]) for a in c["attackers"]] for d, c in cols.items()}
    assert status["a_wire.txt"] == [("al-Shabaab", "claimed", None, False)]
    assert status["b_local.txt"] == [("al-Shabaab", "attributed", "Kenyan police", False)]
    assert status["c_ngo.txt"][0][0] == "al-Shabaab" and status["c_ngo.txt"][0][3] is True
    # the disagreements, each version with its sources; every column differs on both
    dis = inc["disagreements"]
    assert {(v["value"], tuple(v["doc_ids"])) for v in dis["killed"]} == {
        (12, ("a_wire.txt",)), (19, ("b_local.txt",)), (23, ("c_ngo.txt",))}
    versions = {tuple(v["doc_ids"]): v for v in dis["attackers"]}
    assert versions[("c_ngo.txt",)]["denied"] == ["al-Shabaab"]
    assert all({"killed", "attackers"} <= set(c["differs"]) for c in cols.values())
    # evidence: the sentences of each report's attack, cut from its text, one marked
    a = cols["a_wire.txt"]
    assert len(a["sentences"]) >= 2 and sum(s["main"] for s in a["sentences"]) == 1
    assert any("12 passengers" in s["text"] for s in a["sentences"])
    assert not any("Wajir" in s["text"] for c in cols.values() for s in c["sentences"])  # history stays out
    assert inc["edits"] == []


def test_api_refusals(http, server):
    r = http.get("/api/incidents", params={"since": "<b>last week</b>"})
    assert r.status_code == 422 and "<b>" not in r.text
    assert http.get("/api/incidents/inc-000000000000").status_code == 404
    assert http.get("/api/incidents/%25").status_code == 404  # no LIKE wildcard from the URL
    r = http.get("/incidents", params={"since": "soon"})
    assert r.status_code == 422 and "bad date" in r.text
    iid = _mandera(http.get("/api/incidents").json())["incident_id"]
    body = {"doc_id": "c_ngo.txt"}
    assert http.post(f"/api/incidents/{iid}/split", json=body).status_code == 403  # no token
    token = http.get("/api/csrf").json()["token"]
    r = http.post(f"/api/incidents/{iid}/split", json=body,
                  headers={"X-CSRF-Token": token, "Origin": "http://127.0.0.1:1"})
    assert r.status_code == 403  # another origin, even with the token
    r = http.post(f"/api/incidents/{iid}/split", json={"doc_id": "<i>nope</i>.txt"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "<i>" not in r.text
    r = http.post(f"/api/incidents/{iid}/merge", json={"incidents": [iid]}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "two different incidents" in r.json()["detail"]
    assert len(_mandera(http.get("/api/incidents").json())["reports"]) == 3  # nothing changed
    assert server.state.ws.con.execute("SELECT count(*) FROM incident_edits").fetchone()[0] == 0


def test_graph_attacks_weighted_by_incidents(http):
    g = http.get("/api/graph", params={"relation": "attacked"}).json()
    pair = [a for a in g["attacks"] if (a["source"], a["target"]) == ("al_shabaab", "garissa")]
    assert len(pair) == 1, g["attacks"]
    pair = pair[0]
    # three facts (two reports of the market attack, one of the police post): two incidents
    assert len(pair["facts"]) == 3 and pair["weight"] == 2 and len(pair["incidents"]) == 2
    # one edge per tie (grouped), weighed by incidents; its facts' evidence a request away
    edges = [e for e in g["edges"] if (e["source"], e["relation"], e["target"]) == ("al_shabaab", "attacked", "garissa")]
    assert len(edges) == 1 and edges[0]["weight"] == 2 and edges[0]["facts"] == 3
    assert sorted(edges[0]["fact_ids"]) == sorted(pair["facts"])
    assert edges[0]["incident_ids"] == pair["incidents"]
    tie = http.get(f"/api/ties/{edges[0]['id']}", params={"relation": "attacked"}).json()
    assert len(tie["facts"]) == 3 and all(f["doc_id"] and f["document_id"] and f["evidence"] for f in tie["facts"])
    # the history paragraph's attack belongs to no incident and counts alone
    wajir = [a for a in g["attacks"] if a["target"] == "wajir"]
    assert wajir and wajir[0]["weight"] == 1 and wajir[0]["incidents"] == []


def test_pages_link_incidents(http):
    iid = _mandera(http.get("/api/incidents").json())["incident_id"]
    actor = http.get("/actors/al_shabaab").text
    assert f'href="/incidents/{iid}"' in actor
    doc = http.get("/api/documents/a_wire.txt").json()
    assert [i["incident_id"] for i in doc["incidents"]] == [iid]
    assert f'href="/incidents/{iid}"' in http.get(f"/documents/{doc['id']}").text
    assert 'href="/incidents"' in http.get("/network").text


def test_read_only_server_refuses_edits(built, tmp_path):
    from tests.test_web_api import local_client

    app = create_app(_copy(built, tmp_path), read_only=True)
    with local_client(app) as c:
        iid = _mandera(c.get("/api/incidents").json())["incident_id"]
        r = c.post(f"/api/incidents/{iid}/split", json={"doc_id": "c_ngo.txt"})
        assert r.status_code == 409
        page = c.get(f"/incidents/{iid}").text
        assert "split-btn" not in page and "merge-btn" not in page and page.count('class="report-col"') == 3
    app.state.ws.store.close()


# -- exports ----------------------------------------------------------------------------------
def test_export_incidents_csv_and_graphml_weight(built, tmp_path):
    import networkx as nx

    out = tmp_path / "incidents.csv"
    r = _cli("export", "incidents-csv", "--db", built, "-o", out)
    assert r.returncode == 0 and "exported 3 incidents" in r.stderr, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    mandera = next(x for x in rows if x["location"] == "Mandera")
    assert mandera["fatalities"] == "12" and mandera["fatalities_max"] == "23" and mandera["source_count"] == "3"
    r = _cli("export", "incidents-csv", "--db", built, "--actor", "Garissa")
    assert sorted(x["location"] for x in csv.DictReader(io.StringIO(r.stdout))) == ["Garissa", "Garissa"]
    r = _cli("export", "incidents-csv", "--db", built, "--until", "2023")
    assert r.returncode == 0 and r.stdout.splitlines()[1:] == []
    r = _cli("export", "graphml", "--db", built, "-o", tmp_path / "g.graphml")
    assert r.returncode == 0, r.stderr
    G = nx.read_graphml(tmp_path / "g.graphml")
    (d,) = [d for u, v, d in G.edges(data=True) if (u, v, d["relation"]) == ("al_shabaab", "garissa", "attacked")]
    assert d["weight"] == 2.0 and d["incident_count"] == 2 and d["evidence_count"] == 3


# -- CLI merge and split ----------------------------------------------------------------------
def test_cli_split_and_merge_are_audited(built, tmp_path):
    db = _copy(built, tmp_path)
    rows = [json.loads(x) for x in _cli("incidents", "--db", db, "--format", "json").stdout.splitlines()]
    iid = _mandera(rows)["incident_id"]
    r = _cli("incidents", "split", iid, "c_ngo.txt", "--db", db, "--user", "analyst1", "--note", "another attack")
    assert r.returncode == 0, r.stderr
    assert "split off" in r.stdout and "(c_ngo.txt)" in r.stdout
    rows = [json.loads(x) for x in _cli("incidents", "--db", db, "--format", "json").stdout.splitlines()]
    mandera = sorted((sorted(rep["doc_id"] for rep in x["reports"]) for x in rows if x["place"] == "Mandera"), key=len)
    assert mandera == [["c_ngo.txt"], ["a_wire.txt", "b_local.txt"]]
    alone = next(x for x in rows if [rep["doc_id"] for rep in x["reports"]] == ["c_ngo.txt"])
    pair = next(x for x in rows if x["incident_id"] == iid)
    assert pair["killed"]["min"] == 12 and pair["killed"]["max"] == 19  # the 23 went with its report
    r = _cli("incidents", "merge", iid, alone["incident_id"], "--db", db, "--user", "analyst2")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in _cli("incidents", "--db", db, "--format", "json").stdout.splitlines()]
    assert _mandera(rows)["incident_id"] == iid and _mandera(rows)["sources"] == 3
    # the audit trail: who, what, why, when, which reports
    r = _cli("incidents", "edits", "--db", db, "--format", "json")
    edits = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(e["action"], e["user"], e["note"]) for e in edits] == [
        ("split", "analyst1", "another attack"), ("merge", "analyst2", None)]
    assert len(edits[0]["mention_ids"]) == 1 and len(edits[1]["mention_ids"]) == 3
    assert all(e["created_at"] for e in edits)
    table = _cli("incidents", "edits", "--db", db)
    assert "analyst1" in table.stdout and "another attack" in table.stdout
    # refused edits: one line, exit 1, nothing recorded
    r = _cli("incidents", "split", iid, "nowhere.txt", "--db", db)
    assert r.returncode == 1 and "no such report" in r.stderr
    r = _cli("incidents", "merge", iid, iid, "--db", db)
    assert r.returncode == 1 and "two different incidents" in r.stderr
    r = _cli("incidents", "merge", iid, "inc-ffffffffffff", "--db", db)
    assert r.returncode == 1 and "no such incident" in r.stderr
    assert len(_cli("incidents", "edits", "--db", db, "--format", "json").stdout.splitlines()) == 2
    # the bare group still lists, with its filters
    r = _cli("incidents", "--db", db, "--disputed")
    assert r.returncode == 0 and "1 incidents" in r.stdout


# -- the browser ------------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason=f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from tests.test_web_browser import LAUNCH_ARGS

    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    # bypass_csp: Playwright's polling helpers evaluate strings, which the app's CSP forbids
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    pg = ctx.new_page()
    base = server.state.base_url
    external: list[str] = []
    errors: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:") else external.append(r.url))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base = base
    yield pg
    ctx.close()
    assert not external, f"requests left the app: {external}"
    assert not errors, f"JavaScript errors: {errors}"


@needs_chromium
def test_incident_page_columns_and_disagreement(page):
    from playwright.sync_api import expect

    page.goto(page.base + "/network")
    page.click("header nav a[href='/incidents']")
    page.wait_for_url("**/incidents")
    page.check("input[name=disputed]")
    page.click("#incident-filters button[type=submit]")
    page.wait_for_url("**/incidents?*disputed=1*")
    rows = page.locator("#incident-table tbody tr.incident-row")
    expect(rows).to_have_count(1)
    rows.first.locator("a.incident-link").click()
    page.wait_for_url("**/incidents/inc-*")
    cols = page.locator("#report-columns .report-col")
    expect(cols).to_have_count(3)
    assert sorted(cols.evaluate_all("cs => cs.map(c => c.getAttribute('data-doc'))")) == sorted(REPORTS)
    # one column per report, side by side (not stacked)
    boxes = [cols.nth(i).bounding_box() for i in range(3)]
    assert len({round(b["y"]) for b in boxes}) == 1 and len({round(b["x"]) for b in boxes}) == 3
    expect(page.locator("#disputed-badge")).to_contain_text("killed")
    killed = {}
    for i in range(3):
        col = cols.nth(i)
        doc = col.get_attribute("data-doc")
        cell = col.locator("dd.field-killed")
        expect(cell).to_have_class("field field-killed disagree")  # the highlighted disagreement
        killed[doc] = cell.inner_text().strip()
        assert col.locator("dd.field-attackers.disagree").count() == 1
        assert col.locator("mark.evidence-main").count() == 1
        assert col.locator("a.doc-link").get_attribute("href").startswith("/documents/")
        # the highlight is the page's colour, not just a class name
        bg = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert killed == {"a_wire.txt": "12", "b_local.txt": "19", "c_ngo.txt": "23"}
    ngo = page.locator(".report-col[data-doc='c_ngo.txt'] li.attacker")
    expect(ngo).to_have_class("attacker status-attributed denied")
    expect(ngo.locator(".status")).to_contain_text("denied")
    expect(page.locator(".report-col[data-doc='b_local.txt'] li.attacker .status")).to_have_text(
        "attributed by Kenyan police")
    expect(page.locator(".report-col[data-doc='a_wire.txt'] li.attacker .status")).to_have_text("claimed by itself")
    expect(page.locator("#disagreements li[data-field=killed]")).to_contain_text("23")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "incident.png"), full_page=True)
    # the report's document links back to the incident
    page.locator(".report-col[data-doc='a_wire.txt'] a.doc-link").click()
    page.wait_for_url("**/documents/**")
    page.locator("#doc-incidents a.incident-link").first.click()
    page.wait_for_url("**/incidents/inc-*")
    expect(cols).to_have_count(3)


@needs_chromium
def test_map_and_network_show_incidents(page):
    page.goto(page.base + "/map")
    page.wait_for_function("Number(document.body.getAttribute('data-incident-markers')) >= 2")
    page.locator(".leaflet-marker-icon.incident-marker").first.click()
    link = page.locator("#place-panel .place-incidents a.incident-link").first
    link.wait_for()
    assert link.get_attribute("href").startswith("/incidents/inc-")
    page.goto(page.base + "/network")
    page.wait_for_function("document.body.getAttribute('data-graph-state') === 'ready'")
    weights = page.evaluate("window.cy.edges().filter(e => e.data('relation') === 'attacked' && "
                            "e.data('source') === 'al_shabaab' && e.data('target') === 'garissa')"
                            ".map(e => e.data('weight'))")
    assert weights == [2]  # one tie, three facts, two incidents


@needs_chromium
def test_split_and_merge_from_the_page(page, server):
    """Runs last: it edits the server's store (and its audit trail)."""
    from playwright.sync_api import expect

    from allegiance.store.incidents import summary

    with server.state.ws.lock:
        iid = _mandera([summary(r) for r in server.state.ws.store.incidents()])["incident_id"]
    page.goto(page.base + f"/incidents/{iid}")
    page.fill("#edit-note", "the NGO describes another raid")
    page.locator(".report-col[data-doc='c_ngo.txt'] .split-btn").click()
    expect(page.locator("#report-columns .report-col")).to_have_count(2)
    assert page.url.endswith(f"/incidents/{iid}")
    expect(page.locator("#edits li.edit")).to_have_count(1)
    expect(page.locator("#edits li.edit")).to_contain_text("split by web")
    with server.state.ws.lock:
        alone = [i for i in server.state.ws.store.incidents() if [r["doc_id"] for r in i["reports"]] == ["c_ngo.txt"]]
    assert len(alone) == 1
    page.fill("#merge-with", alone[0]["incident_id"])
    page.fill("#edit-note", "same raid after all")
    page.click("#merge-btn")
    expect(page.locator("#report-columns .report-col")).to_have_count(3)
    expect(page.locator("#edits li.edit")).to_have_count(2)
    with server.state.ws.lock:
        edits = server.state.ws.store.incident_edits()
    assert [(e["action"], e["user"], e["note"]) for e in edits] == [
        ("split", "web", "the NGO describes another raid"), ("merge", "web", "same raid after all")]
    # the merged-away id redirects to the incident it joined
    page.goto(page.base + f"/incidents/{alone[0]['incident_id']}")
    assert page.url.endswith(f"/incidents/{iid}")
