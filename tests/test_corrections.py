"""Analyst corrections that stick (issue 10 item 2) and one actor lookup (item 7), on real
DuckDB files: merges and their undo, alias splits, fact reviews, each reflected by
``allegiance show``, ``facts`` and an export, audited, and kept through re-ingesting the
documents and a new extractor version. The articles are invented for these tests."""
from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.store import Store
from conftest import build_extraction

# Invented reports: the same commander under two spellings the resolver keeps apart, a
# place joined with a wrongly attached alias, and a fact with a wrong relation.
TEXT_1 = ("Ouled Mesra, 3 March 2021. The commander Abu Tarek Zemmouri leads the Sahel Lantern Front, "
          "a militia active near Ouled Mesra. The Sahel Lantern Front fought the Dune Riders.")
TEXT_2 = ("Tin Kerrat, 9 May 2021. Tarek al-Zemouri, named as the head of the Sahel Lantern Front, "
          "was seen in Tin Kerrat, also called Kerrat Wells.")


def docs(version: str = "test-1"):
    one = build_extraction(
        "one.txt", TEXT_1,
        [("e1", "PERSON", "Abu Tarek Zemmouri", ["Abu Tarek Zemmouri"], None),
         ("e2", "ORG", "Sahel Lantern Front", ["Sahel Lantern Front"], None),
         ("e3", "PLACE", "Ouled Mesra", ["Ouled Mesra"], None),
         ("e4", "ORG", "Dune Riders", ["Dune Riders"], None)],
        [("e1", "leader_of", "e2", "The commander Abu Tarek Zemmouri leads the Sahel Lantern Front"),
         ("e2", "active_in", "e3", "a militia active near Ouled Mesra"),
         ("e2", "allied_with", "e4", "The Sahel Lantern Front fought the Dune Riders.")],
        published="2021-03-03", version=version)
    two = build_extraction(
        "two.txt", TEXT_2,
        [("e1", "PERSON", "Tarek al-Zemouri", ["Tarek al-Zemouri"], None),
         ("e2", "ORG", "Sahel Lantern Front", ["Sahel Lantern Front"], None),
         ("e3", "PLACE", "Tin Kerrat", ["Tin Kerrat", "Kerrat Wells"], None)],
        [("e1", "leader_of", "e2", "Tarek al-Zemouri, named as the head of the Sahel Lantern Front"),
         ("e1", "active_in", "e3", "was seen in Tin Kerrat, also called Kerrat Wells.")],
        published="2021-05-09", version=version)
    return [one, two]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.duckdb"
    with Store(path) as s:
        s.add_extractions(docs())
    return path


runner = CliRunner()


def cli(*args, user="ana"):
    res = runner.invoke(app, list(args), env={"ALLEGIANCE_USER": user, "COLUMNS": "200"})
    return res


def ids_of(db, name):
    with Store(db, read_only=True) as s:
        return [a["id"] for a in s.find_actors(name)]


def leaders(db):
    with Store(db, read_only=True) as s:
        return sorted((f["subject_id"], f["object_id"]) for f in s.facts(relation="leader_of"))


def export_facts(db, tmp_path) -> list[dict]:
    out = tmp_path / "facts.csv"
    res = cli("export", "facts-csv", "-o", str(out), "--db", str(db))
    assert res.exit_code == 0, res.output
    return list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))


def test_merge_shows_in_show_facts_and_export_and_undo(db, tmp_path):
    a, b = ids_of(db, "Abu Tarek Zemmouri")[0], ids_of(db, "Tarek al-Zemouri")[0]
    assert a != b, "the two spellings must start as two actors for this test to mean anything"
    assert len(leaders(db)) == 2 and len({s for s, _ in leaders(db)}) == 2

    res = cli("merge", "Tarek al-Zemouri", "Abu Tarek Zemmouri", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert {s for s, _ in leaders(db)} == {a}
    # show by the merged-away name finds the survivor, with both facts and both spellings
    res = cli("show", "Tarek al-Zemouri", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert f"id={a}" in res.output and "Tarek al-Zemouri" in res.output
    assert res.output.count("leader_of") >= 1 and "Tin Kerrat" in res.output
    rows = export_facts(db, tmp_path)
    assert {r["subject_id"] for r in rows if r["relation"] == "leader_of"} == {a}
    assert b not in {r["subject_id"] for r in rows} | {r["object_id"] for r in rows}

    res = cli("unmerge", "Tarek al-Zemouri", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert sorted(s for s, _ in leaders(db)) == sorted([a, b])
    rows = export_facts(db, tmp_path)
    assert b in {r["subject_id"] for r in rows}
    res = cli("show", "Tarek al-Zemouri", "--db", str(db))
    assert f"id={b}" in res.output

    with Store(db, read_only=True) as s:
        audit = s.audit()
    assert [r["action"] for r in audit] == ["merge", "unmerge"]
    assert all(r["user"] == "ana" and r["at"] for r in audit)
    assert audit[0]["before"]["actors"][0]["id"] == b and audit[0]["after"]["actor"]["id"] == a
    res = cli("audit", "--db", str(db))
    assert res.exit_code == 0 and "merge" in res.output and "ana" in res.output


def test_merge_survives_reingest_and_new_extractor_version(db, tmp_path):
    a = ids_of(db, "Abu Tarek Zemmouri")[0]
    with Store(db) as s:
        s.merge_actors("Tarek al-Zemouri", "Abu Tarek Zemmouri", user="ana")
        assert [r.status for r in s.add_extractions(docs())] == ["unchanged", "unchanged"]
        assert [r.status for r in s.add_extractions(docs(version="test-2"))] == ["replaced", "replaced"]
    assert {s for s, _ in leaders(db)} == {a}
    assert ids_of(db, "Tarek al-Zemouri")[0] == a
    # the undo still knows the rows the re-ingest brought back
    with Store(db) as s:
        s.unmerge("Tarek al-Zemouri", user="ana")
    assert len({s for s, _ in leaders(db)}) == 2
    with Store(db) as s:  # and once undone, a re-ingest does not merge again
        s.add_extractions(docs(version="test-3"))
    assert len({s for s, _ in leaders(db)}) == 2


def test_split_alias_and_its_survival(db):
    kerrat = ids_of(db, "Tin Kerrat")[0]
    assert ids_of(db, "Kerrat Wells")[0] == kerrat
    res = cli("split-alias", "Tin Kerrat", "Kerrat Wells", "--db", str(db))
    assert res.exit_code == 0, res.output
    wells = ids_of(db, "Kerrat Wells")[0]
    assert wells != kerrat
    with Store(db, read_only=True) as s:
        assert "Kerrat Wells" not in {al["alias"] for al in s.actor_card(kerrat)["aliases"]}
    with Store(db) as s:
        s.add_extractions(docs(version="test-2"))
    assert ids_of(db, "Kerrat Wells")[0] == wells
    assert ids_of(db, "Tin Kerrat")[0] == kerrat
    with Store(db, read_only=True) as s:
        assert "Kerrat Wells" not in {al["alias"] for al in s.actor_card(kerrat)["aliases"]}
        assert s.audit()[-1]["action"] == "split-alias"
    res = cli("unsplit", "Kerrat Wells", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert ids_of(db, "Kerrat Wells")[0] == kerrat
    with Store(db) as s:  # undone, a re-ingest does not split again
        s.add_extractions(docs(version="test-3"))
        assert "Kerrat Wells" in {al["alias"] for al in s.actor_card(kerrat)["aliases"]}
        assert [r["action"] for r in s.audit()] == ["split-alias", "unsplit"]


def _fact(db, relation):
    with Store(db, read_only=True) as s:
        return [f for f in s.facts(relation=relation, include_rejected=True)]


def test_review_correct_relation_and_object_survive_reingest(db, tmp_path):
    wrong = _fact(db, "allied_with")[0]
    res = cli("review", wrong["id"], "--relation", "rival_of", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert _fact(db, "allied_with") == []
    assert [f["id"] for f in _fact(db, "rival_of")] == [wrong["id"]]
    res = cli("facts", "--relation", "rival_of", "--format", "json", "--db", str(db))
    assert json.loads(res.output)[0]["object"] == "Dune Riders"
    assert [r["relation"] for r in export_facts(db, tmp_path) if r["id"] == wrong["id"]] == ["rival_of"]

    active = _fact(db, "active_in")
    seen = next(f for f in active if f["subject"] == "Tarek al-Zemouri")
    res = cli("review", seen["id"], "--subject", "Sahel Lantern Front", "--db", str(db))
    assert res.exit_code == 0, res.output

    with Store(db) as s:
        s.add_extractions(docs(version="test-2"))  # a new extractor version rewrites every fact
    assert _fact(db, "allied_with") == []
    assert [f["object"] for f in _fact(db, "rival_of")] == ["Dune Riders"]
    moved = [f for f in _fact(db, "active_in") if f["object"] == "Tin Kerrat"]
    assert [f["subject"] for f in moved] == ["Sahel Lantern Front"]
    with Store(db, read_only=True) as s:
        audit = s.audit()
    assert [r["action"] for r in audit] == ["review:correct", "review:correct"]
    assert audit[0]["before"]["relation"] == "allied_with" and audit[0]["after"]["relation"] == "rival_of"


def test_reject_and_confirm_stick_and_rejected_stays_listed(db, monkeypatch):
    f = _fact(db, "active_in")[0]
    res = cli("review", f["id"], "--reject", "--db", str(db), user="bo")
    assert res.exit_code == 0, res.output
    with Store(db, read_only=True) as s:
        assert f["id"] not in {x["id"] for x in s.facts()}
    with Store(db) as s:
        s.add_extractions(docs(version="test-2"))
    with Store(db, read_only=True) as s:
        assert f["id"] not in {x["id"] for x in s.facts()}
        assert f["id"] in {x["id"] for x in s.facts(include_rejected=True)}
        assert s.audit()[-1]["user"] == "bo"
    res = cli("review", f["id"], "--confirm", "--db", str(db))
    assert res.exit_code == 0
    with Store(db, read_only=True) as s:
        assert f["id"] in {x["id"] for x in s.facts()}


def test_correction_survives_a_new_extractor_version_in_process(db, monkeypatch, tmp_path):
    """As an ingest after upgrading: allegiance.extract.EXTRACTOR_VERSION is what
    extraction stamps on every Extraction."""
    import allegiance.extract as extract

    wrong = _fact(db, "allied_with")[0]
    with Store(db) as s:
        s.review_fact(wrong["id"], "correct", user="ana", relation="rival_of")
    monkeypatch.setattr(extract, "EXTRACTOR_VERSION", "2099.1.1")
    with Store(db) as s:
        assert {r.status for r in s.add_extractions(docs(version=extract.EXTRACTOR_VERSION))} == {"replaced"}
    assert [r["relation"] for r in export_facts(db, tmp_path) if "Dune Riders" in (r["object"], r["subject"])] == ["rival_of"]


def test_refusals(db):
    assert cli("merge", "Sahel Lantern Front", "Sahel Lantern Front", "--db", str(db)).exit_code == 1
    assert cli("merge", "Nobody Known", "Sahel Lantern Front", "--db", str(db)).exit_code == 1
    assert cli("unmerge", "Sahel Lantern Front", "--db", str(db)).exit_code == 1
    assert cli("split-alias", "Tin Kerrat", "Not An Alias", "--db", str(db)).exit_code == 1
    assert cli("review", "nope", "--reject", "--db", str(db)).exit_code == 1
    with Store(db, read_only=True) as s:
        assert s.audit() == []


# -- one lookup (item 7) ------------------------------------------------------------------
TEXT_IS = ("Raqqa, 2 June 2016. Fighters of the Islamic State withdrew from the outskirts of Raqqa. "
           "Abu Bakr al-Baghdadi leads the Islamic State.")


def test_show_finds_gazetteer_names(tmp_path):
    db = tmp_path / "is.duckdb"
    ex = build_extraction(
        "is.txt", TEXT_IS,
        [("e1", "ORG", "Islamic State", ["Islamic State"], "islamic_state"),
         ("e2", "PLACE", "Raqqa", ["Raqqa"], None),
         ("e3", "PERSON", "Abu Bakr al-Baghdadi", ["Abu Bakr al-Baghdadi"], "abu_bakr_al_baghdadi")],
        [("e1", "active_in", "e2", "Fighters of the Islamic State withdrew from the outskirts of Raqqa."),
         ("e3", "leader_of", "e1", "Abu Bakr al-Baghdadi leads the Islamic State.")],
        published="2016-06-02")
    with Store(db) as s:
        s.add_extractions([ex])
    from allegiance.resolve.gazetteer import load_gazetteer

    entry = load_gazetteer().lookup("Daesh")
    assert entry is not None and entry.id == "islamic_state"
    # The gazetteer has no Arabic-script names today (a lookup by one would go the same
    # way, through its match key); names the corpus never used, and diacritics:
    names = {"Daesh": "islamic_state", "ISIL": "islamic_state", "islamic state": "islamic_state",
             "Abu Duaa": "abu_bakr_al_baghdadi",            # a nom de guerre
             "Abū Bakr al-Baghdādī": "abu_bakr_al_baghdadi"}  # with diacritics
    for name, want in names.items():
        res = cli("show", name, "--db", str(db))
        assert res.exit_code == 0, (name, res.output)
        assert f"id={want}" in res.output, name
    # the web search calls the same function: same first actor for every name
    with Store(db, read_only=True) as s:
        for name, want in names.items():
            assert s.find_actors(name)[0]["id"] == want, name
        assert [f["id"] for f in s.facts(actor="Daesh")] == [f["id"] for f in s.facts(actor="Islamic State")]


# -- the web API ----------------------------------------------------------------------------
def test_web_api_corrections_reviewer_and_refusals(db):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from allegiance.web.app import create_app

    app = create_app(db, reviewer="web-analyst")
    with TestClient(app, base_url="http://127.0.0.1", headers={"X-CSRF-Token": app.state.csrf_token}) as c:
        kerrat = c.get("/api/search", params={"q": "Tin Kerrat"}).json()[0]["id"]
        # no CSRF token: refused, nothing changed
        bare = TestClient(app, base_url="http://127.0.0.1")
        assert bare.post(f"/api/actors/{kerrat}/split-alias", json={"alias": "Kerrat Wells"}).status_code == 403
        assert c.post(f"/api/actors/{kerrat}/split-alias", json={"alias": "No Such"}).status_code == 422
        r = c.post(f"/api/actors/{kerrat}/split-alias", json={"alias": "Kerrat Wells"})
        assert r.status_code == 200, r.text
        assert c.get("/api/search", params={"q": "Kerrat Wells"}).json()[0]["id"] == r.json()["new_id"] != kerrat

        keep = c.get("/api/search", params={"q": "Abu Tarek Zemmouri"}).json()[0]["id"]
        r = c.post(f"/api/actors/{keep}/merge", json={"other": "Tarek al-Zemouri"})
        assert r.status_code == 200, r.text
        gone = r.json()["from"]
        assert [m["from"] for m in c.get(f"/api/actors/{keep}/merges").json()] == [gone]
        assert c.post(f"/api/actors/{keep}/merge", json={"other": "Abu Tarek Zemmouri"}).status_code == 422
        leaders = {f["subject_id"] for f in c.get("/api/facts", params={"relation": "leader_of"}).json()}
        assert leaders == {keep}
        assert c.post(f"/api/actors/{gone}/unmerge", json={}).status_code == 200
        leaders = {f["subject_id"] for f in c.get("/api/facts", params={"relation": "leader_of"}).json()}
        assert leaders == {keep, gone}

        fact = c.get("/api/facts", params={"relation": "allied_with"}).json()[0]
        r = c.post(f"/api/facts/{fact['id']}/review", json={"action": "correct", "object": "Ouled Mesra"})
        assert r.status_code == 200, r.text
        mesra = c.get("/api/search", params={"q": "Ouled Mesra"}).json()[0]["id"]
        # the network draws the corrected ends: the edge carrying this fact joins the new object
        ends = [{e["source"], e["target"]} for e in c.get("/api/graph").json()["edges"] if fact["id"] in e["fact_ids"]]
        assert ends == [{fact["subject_id"], mesra}]
        audit = c.get("/api/audit").json()
        assert [a["action"] for a in audit] == ["split-alias", "merge", "unmerge", "review:correct"]
        assert {a["user"] for a in audit} == {"web-analyst"}
    app.state.ws.store.close()
