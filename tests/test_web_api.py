"""The web app's JSON API and server-rendered pages (FastAPI TestClient), on a store
filled by ingesting the repo's examples/corpus seeds."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from allegiance.pipeline import extract_paths  # noqa: E402
from allegiance.records import IngestError  # noqa: E402
from allegiance.store import Store  # noqa: E402
from allegiance.web.app import create_app  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "corpus"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'


def ingest_examples(db: Path, extra=()) -> None:
    with Store(db) as store:
        for ex in extract_paths([str(CORPUS)]):
            assert not isinstance(ex, IngestError), ex
            store.add_extraction(ex)
        for ex in extra:
            store.add_extraction(ex)


def xss_extraction():
    from tests.conftest import build_extraction

    text = (
        f"Hostile page {XSS_SCRIPT} with markup. The Payload Brigade {XSS_IMG} pledged allegiance to "
        f"AQIM in March 2016. {XSS_SCRIPT}"
    )
    return build_extraction(
        "hostile.html.txt",
        text,
        [
            ("e1", "ORG", f"Payload Brigade {XSS_IMG}", [f"Payload Brigade {XSS_IMG}"], None),
            ("e2", "ORG", "al-Qaeda in the Islamic Maghreb", ["AQIM"], "aqim"),
        ],
        [("e1", "pledged_allegiance_to", "e2",
          f"The Payload Brigade {XSS_IMG} pledged allegiance to AQIM in March 2016.", {"date": "2016-03"})],
        published="2016-04-01",
        title=f"Hostile {XSS_SCRIPT} title",
    )


def local_client(app) -> TestClient:
    """A client as the app's own pages are: a loopback Host (other names get 400) and the
    server's CSRF token on every request (writes without it get 403)."""
    return TestClient(app, base_url="http://127.0.0.1", headers={"X-CSRF-Token": app.state.csrf_token})


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "web.duckdb"
    ingest_examples(db, [xss_extraction()])
    app = create_app(db)
    with local_client(app) as c:
        yield c
    app.state.ws.store.close()


def test_actors_lists_groups(client):
    r = client.get("/api/actors")
    assert r.status_code == 200
    ids = {a["id"] for a in r.json()}
    assert {"aqim", "islamic_state"} <= ids


def test_actor_card_aliases_and_dated_timeline(client):
    card = client.get("/api/actors/islamic_state").json()
    assert card["actor"]["name"] == "Islamic State"
    aliases = {a["alias"]: a["count"] for a in card["aliases"]}
    assert "ISIL" in aliases and all(n >= 1 for n in aliases.values())
    assert card["relations"], "facts grouped by relation"
    dates = [f["date"] for f in card["timeline"] if f["date"]]
    assert dates == sorted(dates)
    undated = [i for i, f in enumerate(card["timeline"]) if not f["date"]]
    assert all(i >= len(dates) for i in undated), "undated facts come last"
    assert client.get("/api/actors/no-such-actor").status_code == 404


@pytest.mark.parametrize("name", ["ISIL", "Daesh", "islamic state", "ISIS"])
def test_search_resolves_aliases(client, name):
    hits = client.get("/api/search", params={"q": name}).json()
    assert hits and hits[0]["id"] == "islamic_state"


def test_search_nom_de_guerre(client):
    hits = client.get("/api/search", params={"q": "Baghdadi"}).json()
    assert hits and hits[0]["id"] == "abu_bakr_al_baghdadi"


def test_facts_filters(client):
    all_facts = client.get("/api/facts").json()
    assert len(all_facts) > 20
    rel = client.get("/api/facts", params={"relation": "leader_of"}).json()
    assert rel and all(f["relation"] == "leader_of" for f in rel)
    aqim = client.get("/api/facts", params={"actor": "AQIM"}).json()
    assert aqim and all("aqim" in (f["subject_id"], f["object_id"]) for f in aqim)
    since = client.get("/api/facts", params={"since": "2017"}).json()
    assert since and all(f["date"] >= "2017" for f in since)
    until = client.get("/api/facts", params={"until": "2015"}).json()
    assert until and all(f["date"][:4] <= "2015" for f in until)
    src = client.get("/api/facts", params={"source": "001_"}).json()
    assert src and all(f["doc_id"].startswith("001_") for f in src)
    assert client.get("/api/facts", params={"since": "last week"}).status_code == 422


def test_graph_nodes_edges_and_date_range(client):
    g = client.get("/api/graph").json()
    node_ids = {n["id"] for n in g["nodes"]}
    assert {"aqim", "islamic_state"} <= node_ids
    assert all(e["source"] in node_ids and e["target"] in node_ids for e in g["edges"])
    assert {n["type"] for n in g["nodes"]} >= {"ORG", "PLACE"}
    narrow = client.get("/api/graph", params={"since": "2017", "until": "2018"}).json()
    assert 0 < len(narrow["edges"]) < len(g["edges"])
    assert all("2017" <= e["date"][:4] <= "2018" for e in narrow["edges"])
    # a fact without its own date is dated by its article (counted "as reported"); one edge
    # per tie (subject, relation, object), with its facts and sources
    pub = [e for e in g["edges"] if e["as_reported"]]
    assert pub and all(e["first"] and e["date"] for e in pub)
    assert g["counts"]["as_reported"] >= len(pub)
    keys = [(e["source"], e["relation"], e["target"]) for e in g["edges"]]
    assert len(keys) == len(set(keys))
    assert sum(e["facts"] for e in g["edges"]) == g["counts"]["facts"] > len(g["edges"])
    only = client.get("/api/graph", params={"relation": "leader_of"}).json()
    assert only["edges"] and {e["relation"] for e in only["edges"]} == {"leader_of"}


def test_document_text_mentions_and_evidence_offsets(client):
    docs = client.get("/api/documents").json()
    assert len(docs) == 6
    doc_id = next(d["id"] for d in docs if d["doc_id"].startswith("001_"))
    doc = client.get(f"/api/documents/{doc_id}").json()
    text = doc["text"]
    assert doc["shown_text"] == "clean" and text
    assert doc["mentions"] and doc["facts"]
    for m in doc["mentions"]:
        for a, b in m["clean"]:
            assert text[a:b] in m["text"]
    for f in doc["facts"]:
        pieces = "".join(text[a:b] for a, b in f["clean"])
        assert pieces.replace("\n", "") in f["evidence"].replace("\n", "") or f["evidence"] in pieces
    assert client.get("/api/documents/nope").status_code == 404


def test_places_have_coordinates(client):
    places = client.get("/api/places").json()
    by_id = {p["id"]: p for p in places}
    assert "libya" in by_id
    libya = by_id["libya"]
    assert libya["lat"] == pytest.approx(26.34, abs=2) and libya["lon"] == pytest.approx(17.23, abs=2)
    assert all(f["relation"] in ("active_in", "recruits_in", "attacked") for p in places for f in p["facts"])


def test_review_reject_hides_fact_until_asked(client):
    fact = client.get("/api/facts", params={"relation": "leader_of"}).json()[0]
    fid = fact["id"]
    r = client.post(f"/api/facts/{fid}/review", json={"action": "reject", "user": "tester", "note": "wrong"})
    assert r.status_code == 200 and r.json()["action"] == "reject" and r.json()["user"] == "tester"
    assert fid not in {f["id"] for f in client.get("/api/facts").json()}
    assert fid not in {f for e in client.get("/api/graph").json()["edges"] for f in e["fact_ids"]}
    audit = client.get("/api/facts", params={"include_rejected": 1}).json()
    assert any(f["id"] == fid and f["rejected"] for f in audit)
    assert any(fid in e["fact_ids"] for e in client.get("/api/graph", params={"include_rejected": 1}).json()["edges"])
    history = client.get(f"/api/facts/{fid}/reviews").json()
    assert history[-1]["action"] == "reject" and history[-1]["created_at"]
    # confirming again restores it (latest review wins)
    assert client.post(f"/api/facts/{fid}/review", json={"action": "confirm"}).status_code == 200
    assert fid in {f["id"] for f in client.get("/api/facts").json()}


def test_review_correct_and_validation(client):
    fact = client.get("/api/facts", params={"relation": "active_in"}).json()[0]
    fid = fact["id"]
    r = client.post(f"/api/facts/{fid}/review", json={"action": "correct", "relation": "recruits_in"})
    assert r.status_code == 200
    corrected = next(f for f in client.get("/api/facts").json() if f["id"] == fid)
    assert corrected["relation"] == "recruits_in" and corrected["original_relation"] == "active_in"
    assert client.post(f"/api/facts/{fid}/review", json={"action": "delete"}).status_code == 422
    assert client.post(f"/api/facts/{fid}/review", json={"action": "correct"}).status_code == 422
    assert client.post(f"/api/facts/{fid}/review", json={"action": "correct", "relation": "x"}).status_code == 422
    assert client.post("/api/facts/nope/review", json={"action": "reject"}).status_code == 404


def test_pages_render_and_escape(client):
    for url in ("/network", "/map", "/actors/aqim", "/docs"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert "cdn." not in r.text, "no CDN at run time"
    assert "default-src 'self'" in client.get("/network").headers["content-security-policy"]
    hostile = next(d for d in client.get("/api/documents").json() if d["doc_id"] == "hostile.html.txt")
    page = client.get(f"/documents/{hostile['id']}").text
    assert XSS_SCRIPT not in page and XSS_IMG not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    actor = client.get("/api/search", params={"q": "Payload Brigade"}).json()[0]
    page = client.get(f"/actors/{actor['id']}").text
    assert XSS_IMG not in page and "&lt;img src=x onerror=" in page


def test_actor_page_leaves_duckdb_threads_as_they_were(client):
    """The actor page runs its queries on one DuckDB thread and restores the setting."""
    con = client.app.state.ws.con
    before = con.execute("SELECT current_setting('threads')").fetchone()[0]
    assert client.get("/actors/aqim").status_code == 200
    assert client.get("/actors/nobody-at-all").status_code == 404
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == before


def test_document_page_marks_selected_fact(client):
    doc = next(d for d in client.get("/api/documents").json() if d["doc_id"].startswith("003_"))
    fact = client.get(f"/api/documents/{doc['id']}").json()["facts"][0]
    page = client.get(f"/documents/{doc['id']}", params={"fact": fact["id"]}).text
    assert f"ev-{fact['id']}" in page and "selected" in page
    assert 'href="/actors/islamic_state"' in page


def test_serve_command_defaults_to_localhost():
    from typer.testing import CliRunner

    from allegiance.cli import app

    out = CliRunner().invoke(app, ["serve", "--help"])
    assert out.exit_code == 0
    assert "127.0.0.1" in out.output
    missing = CliRunner().invoke(app, ["serve", "--db", "/nonexistent/x.duckdb"])
    assert missing.exit_code == 1


# -- ingest from the browser (POST /api/ingest) ----------------------------------------
ARTICLE_A = (
    "Ridge Front Joins Islamic State\n\n"
    "The Northern Ridge Front, a small armed group, declared in June 2019 that it had pledged "
    "allegiance to the Islamic State. Its commander said the group would fight alongside it.\n"
)
ARTICLE_B = (
    "Valley Brigade Splits From AQIM\n\n"
    "The Lower Valley Brigade broke away from al-Qaeda in the Islamic Maghreb in March 2020, "
    "according to a statement the group released.\n"
)
ARTICLE_C = (
    "The Eastern Sands Battalion said in a statement in 2021 that it had joined the Islamic State, "
    "and that its fighters were active in northern Mali.\n"
)


@pytest.fixture(scope="module")
def ingest_client(tmp_path_factory):
    db = tmp_path_factory.mktemp("webingest") / "ingest.duckdb"
    ingest_examples(db)
    app = create_app(db, max_file_bytes=2000, max_request_bytes=5000)
    with local_client(app) as c:
        yield c
    app.state.ws.store.close()


def _files(*items):
    return [("files", (name, data, "text/plain")) for name, data in items]


def test_ingest_files_added_failed_then_unchanged(ingest_client):
    files = _files(("ridge.txt", ARTICLE_A.encode()), ("valley.txt", ARTICLE_B.encode()), ("empty.txt", b""))
    r = ingest_client.post("/api/ingest", files=files)
    assert r.status_code == 200, r.text
    res = r.json()
    assert [x["name"] for x in res] == ["ridge.txt", "valley.txt", "empty.txt"]
    assert [x["status"] for x in res] == ["added", "added", "failed"]
    assert res[2]["error"] == "empty file" and res[2]["document_id"] is None
    assert all(x["document_id"] and x["error"] is None for x in res[:2])
    assert res[0]["facts_added"] >= 1
    docs = {d["id"]: d for d in ingest_client.get("/api/documents").json()}
    assert res[0]["document_id"] in docs
    again = ingest_client.post("/api/ingest", files=files[:2]).json()
    assert [x["status"] for x in again] == ["unchanged", "unchanged"]
    assert [x["document_id"] for x in again] == [x["document_id"] for x in res[:2]]


def test_ingest_binary_file_fails_alone(ingest_client):
    files = _files(("blob.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256))), ("ridge.txt", ARTICLE_A.encode()))
    res = ingest_client.post("/api/ingest", files=files).json()
    assert res[0]["status"] == "failed" and res[0]["error"].startswith("binary file")
    assert res[1]["status"] in ("added", "unchanged")


def test_ingest_pasted_text_and_document_page(ingest_client):
    form = [("text", (None, ARTICLE_C)), ("title", (None, "Sands Battalion Pledge Report"))]
    r = ingest_client.post("/api/ingest", files=form)  # multipart, like the page
    assert r.status_code == 200, r.text
    (res,) = r.json()
    assert res["status"] == "added" and res["name"] == "Sands Battalion Pledge Report.txt"
    page = ingest_client.get(f"/documents/{res['document_id']}")
    assert page.status_code == 200
    assert "<h1>Sands Battalion Pledge Report</h1>" in page.text
    assert "Eastern Sands Battalion" in page.text
    doc = ingest_client.get(f"/api/documents/{res['document_id']}").json()
    assert doc["source"] == "upload:Sands Battalion Pledge Report.txt"
    # urlencoded works for pasted text too (curl -d)
    (untitled,) = ingest_client.post("/api/ingest", data={"text": ARTICLE_C + "\nA later addition.\n"}).json()
    assert untitled["name"] == "pasted-1.txt" and untitled["status"] == "added"


def test_ingest_size_limits_413(ingest_client):
    big = b"word " * 500  # 2500 bytes > 2000 per file
    r = ingest_client.post("/api/ingest", files=_files(("big.txt", big)))
    assert r.status_code == 413
    assert r.json()["detail"] == "big.txt: the file is larger than the 2000 bytes limit per file"
    parts = _files(*[(f"p{i}.txt", b"x" * 1900) for i in range(3)])  # 5700 bytes > 5000 per request
    r = ingest_client.post("/api/ingest", files=parts)
    assert r.status_code == 413 and "5000 bytes limit per request" in r.json()["detail"]
    # a body far beyond the limit is cut off while reading, whatever Content-Length says
    huge = _files(*[(f"h{i}.txt", b"y" * 1900) for i in range(60)])
    r = ingest_client.post("/api/ingest", files=huge)
    assert r.status_code == 413 and "limit per request" in r.json()["detail"]
    assert ingest_client.post("/api/ingest", data={"title": "only a title"}).status_code == 422


def test_ingest_lying_content_length_is_stopped(ingest_client):
    import asyncio

    from allegiance.web.ingest import read_body
    from fastapi import HTTPException

    chunks = [b"z" * 4000] * 10

    class FakeRequest:  # claims 10 bytes, streams 40000
        headers = {"content-length": "10"}

        async def stream(self):
            for c in chunks:
                yield c

    with pytest.raises(HTTPException) as exc:
        asyncio.run(read_body(FakeRequest(), 5000))
    assert exc.value.status_code == 413


def test_ingest_hostile_filename_is_sanitised(ingest_client):
    hostile = "../../etc/x<script>.txt"
    res = ingest_client.post("/api/ingest", files=_files((hostile, ARTICLE_B.replace("2020", "2022").encode()))).json()
    assert res[0]["name"] == "x<script>.txt" and res[0]["status"] == "added"
    doc = ingest_client.get(f"/api/documents/{res[0]['document_id']}").json()
    assert doc["doc_id"] == "x<script>.txt" and "/" not in doc["source"]
    page = ingest_client.get(f"/documents/{res[0]['document_id']}").text
    assert "x&lt;script&gt;.txt" in page and "x<script>" not in page


def test_ingest_page_and_nav(ingest_client):
    r = ingest_client.get("/ingest")
    assert r.status_code == 200
    assert 'id="ingest-form"' in r.text and '<script src="/static/ingest.js"></script>' in r.text
    assert "<script>" not in r.text.replace('<script src="/static/app.js"></script>', "")
    assert '<a href="/ingest" class="on">Ingest</a>' in r.text
    assert 'href="/ingest"' in ingest_client.get("/map").text
    assert ingest_client.get("/static/ingest.js").status_code == 200


def test_ingest_on_a_full_disk_says_so(ingest_client, monkeypatch):
    # /dev/full answers every write with ENOSPC, as a full disk does: the body spooled
    # there is refused with 507 and a message (not a 500 with a traceback); a file that
    # cannot be saved fails alone and the upload beside it is stored
    import pathlib

    import allegiance.web.ingest as web_ingest

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    real_spool = web_ingest.tempfile.SpooledTemporaryFile
    monkeypatch.setattr(web_ingest.tempfile, "SpooledTemporaryFile",
                        lambda **kw: open("/dev/full", "w+b", buffering=0))
    r = ingest_client.post("/api/ingest", files=_files(("ridge.txt", ARTICLE_A.encode())))
    assert r.status_code == 507, r.text
    assert r.json()["detail"].startswith("the server's disk is full")
    monkeypatch.setattr(web_ingest.tempfile, "SpooledTemporaryFile", real_spool)

    class FullDisk(type(pathlib.Path())):
        def write_bytes(self, data):
            if self.name.startswith("full"):
                with open("/dev/full", "wb", buffering=0) as fh:
                    return fh.write(data)
            return super().write_bytes(data)

    monkeypatch.setattr(web_ingest, "Path", FullDisk)
    text = ARTICLE_B.replace("2020", "2023").encode()
    res = ingest_client.post("/api/ingest", files=_files(("full.txt", text), ("fine.txt", text))).json()
    assert res[0]["status"] == "failed"
    assert res[0]["error"] == "could not save the file: the server's disk is full"
    assert res[1]["status"] == "added" and res[1]["error"] is None


def test_ingest_read_only_409(tmp_path):
    db = tmp_path / "ro.duckdb"
    ingest_examples(db)
    app = create_app(db, read_only=True)
    with local_client(app) as c:
        r = c.post("/api/ingest", files=_files(("a.txt", ARTICLE_A.encode())))
        assert r.status_code == 409 and "read-only" in r.json()["detail"]
        assert "nothing can be ingested" in c.get("/ingest").text
    app.state.ws.store.close()


def test_graph_region_filter_keeps_facts_touching_the_region(client):
    everything = client.get("/api/graph").json()
    libya = client.get("/api/graph", params={"region": "Libya"}).json()
    assert 0 < len(libya["edges"]) < len(everything["edges"])
    ids = {n["id"]: n for n in libya["nodes"]}
    assert "libya" in ids  # the country itself, and the groups active there
    assert all(e["source"] in ids and e["target"] in ids for e in libya["edges"])
    assert client.get("/api/graph", params={"region": "Atlantis"}).status_code == 422


def test_document_page_offers_the_stripped_boilerplate(client):
    docs = client.get("/api/documents").json()
    doc = next(d for d in docs if d["doc_id"].startswith("004_"))
    html = client.get(f"/documents/{doc['id']}").text
    assert "Stripped boilerplate" in html and "Premium Membership" in html
    article = html.split('<details class="boilerplate">')[0]
    assert "Premium Membership" not in article.split("<h1>")[-1]
