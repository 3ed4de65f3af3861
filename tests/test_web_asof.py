"""The network as of a date from the as-of index (allegiance/analysis/asof.py, issue 10):
exactly ``heaviest(network_as_of(build_ties(load_slim(until=D)), D))`` for every date and
filter, and still so after every write path: ingest, re-ingest, corrections through the
web and through the store's own methods (the CLI's), with CLI readers working while the
app holds its index.

Stores are built from invented articles written here (hand-made extractions, no corpus
text); no browser: FastAPI's TestClient."""
from __future__ import annotations

import random
import subprocess
import sys

import pytest

from allegiance.analysis import ties as T
from allegiance.analysis.asof import AsOfIndex
from allegiance.store import Store
from tests.conftest import build_extraction

fastapi = pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from allegiance.web.app import create_app  # noqa: E402

GROUPS = ["Umber Shield", "Vesper Column", "Wren Host", "Xerith Band", "Yarrow Watch"]
PEOPLE = ["Sela Nour", "Ilan Brask", "Mira Tolle", "Oren Vask"]
#: relations a person has to a group, and a group to a group (merged_into and the
#: belongings between groups tie two groups: a belonging to one no longer ends the other)
PERSONAL = ["member_of", "joined", "pledged_allegiance_to", "defected_from", "leader_of", "member_of", "joined"]
BETWEEN = ["merged_into", "affiliate_of", "allied_with", "rival_of", "attacked"]


def _date(rng: random.Random) -> str:
    # few distinct days, so that reports, defections and pledges often share a day; some
    # dates are a year or a month only
    y, m, d = rng.randint(2011, 2015), rng.randint(1, 3), rng.randint(1, 3)
    return rng.choice([f"{y}", f"{y}-{m:02d}", f"{y}-{m:02d}-{d:02d}", f"{y}-{m:02d}-{d:02d}"])


def _churn(n_docs: int, seed: int, prefix: str = "turn"):
    """Invented reports: people join, pledge to, lead and leave invented groups, and the
    groups merge, affiliate and fight, 2011-2015; a fifth of the facts hedged, half dated
    by their article only."""
    rng = random.Random(seed)
    out = []
    for d in range(n_docs):
        ents, facts, sentences = {}, [], []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                rel = rng.choice(BETWEEN)
                a, b = rng.sample(GROUPS, 2)
            else:
                rel, a, b = rng.choice(PERSONAL), rng.choice(PEOPLE), rng.choice(GROUPS)
            for name in (a, b):
                if name not in ents:
                    ents[name] = (f"e{len(ents) + 1}", "PERSON" if name in PEOPLE else "ORG", name, [name], None)
            sentence = f"Report {d} says {a} {rel.replace('_', ' ')} {b} ({len(sentences)})."
            sentences.append(sentence)
            extra = {"hedged": rng.random() < 0.2}
            if rng.random() < 0.5:
                extra["date"] = _date(rng)
            facts.append((ents[a][0], rel, ents[b][0], sentence, extra))
        out.append(build_extraction(f"{prefix}-{d}.txt", "Report\n\n" + " ".join(sentences), list(ents.values()),
                                    facts, published=_date(rng)))
    return out


def _reference(con, date: str, limit: int, *, relation=None, actor_ids=None, **filters):
    full = T.network_as_of(T.build_ties(T.load_slim(con, until=date, **filters)), date)
    if relation:
        full = [t for t in full if t["relation"] == relation]
    if actor_ids is not None:
        full = [t for t in full if t["subject_id"] in actor_ids or t["object_id"] in actor_ids]
    totals = {"ties": len(full), "facts": sum(len(t["facts"]) for t in full)}
    return T.heaviest(full, limit), totals


def _norm(ties):
    return sorted((t["id"], t["sources"], t["first"], t["last"], t["as_reported"], t["hedged"],
                   [(f["id"], f["when"], f["date_source"]) for f in t["facts"]],
                   (t["span"]["start"], t["span"]["end"]),
                   [(sp["start"], sp["end"], (sp["ended_by"] or {}).get("id")) for sp in t["spans"]])
                  for t in ties)


DATES = ["2010", "2011-01", "2011-02-02", "2011", "2012-01-01", "2012-02", "2012-03-03", "2012", "2013-02",
         "2013", "2014-01-02", "2014-03", "2014", "2015-02-01", "2015", "2020"]


def test_index_equals_the_definition_on_every_date_and_filter(tmp_path):
    """Ends by defections and by pledges elsewhere, groups tied later (a merger re-opens a
    membership), reports on the day of an end, rejected and hedged facts, merged actors:
    the index's ties, facts, spans and totals are the definition's, date after date."""
    with Store(tmp_path / "turn.duckdb") as store:
        store.add_extractions(_churn(120, seed=3))
        con = store.con
        rng = random.Random(8)
        fact_ids = [r[0] for r in con.execute("SELECT id FROM facts ORDER BY id").fetchall()]
        for fid in rng.sample(fact_ids, 12):
            store.review_fact(fid, "reject", user="tester")
        store.merge_actors("Yarrow Watch", "Wren Host", user="tester")
        every = T.build_ties(T.load_slim(con))
        assert sum(len(t["spans"]) > 1 for t in every) >= 3  # ties that end and come back
        ended = 0
        for filters in ({}, {"include_hedged": False}, {"include_rejected": True}, {"source": "turn-1"}):
            index = AsOfIndex.build(con, **filters)
            for date in DATES:
                ended += len(T.build_ties(T.load_slim(con, until=date, **filters))) - \
                    _reference(con, date, 10**6, **filters)[1]["ties"]
                for limit in (1, 5, 10**6):
                    cut, totals = index.heaviest(date, limit)
                    want, want_totals = _reference(con, date, limit, **filters)
                    assert totals == want_totals and _norm(cut) == _norm(want), (filters, date, limit)
                for relation in ("member_of", "joined", "leader_of", "merged_into"):
                    cut, totals = index.heaviest(date, 3, relation=relation)
                    want, want_totals = _reference(con, date, 3, relation=relation, **filters)
                    assert totals == want_totals and _norm(cut) == _norm(want), (filters, date, relation)
                someone = [a["id"] for a in store.find_actors("Sela Nour")]
                cut, totals = index.heaviest(date, 4, actor_ids=someone)
                want, want_totals = _reference(con, date, 4, actor_ids=someone, **filters)
                assert totals == want_totals and _norm(cut) == _norm(want), (filters, date, someone)
        assert ended >= 20  # ties not in force by a date: what the index must get right


def test_seeds_of_one_invented_person_who_leaves_and_returns(tmp_path):
    """A small case by hand: Ilan Brask is a member of Umber Shield (2012-01), joins Vesper
    Column (2012-06), so the membership ends; Vesper Column merges into Umber Shield
    (2013-03), after which the joining no longer ends it: as of 2013 the membership is in
    force again, from its first report."""
    ilan = ("e1", "PERSON", "Ilan Brask", ["Ilan Brask"], None)
    umber = ("e2", "ORG", "Umber Shield", ["Umber Shield"], None)
    vesper = ("e3", "ORG", "Vesper Column", ["Vesper Column"], None)
    docs = [("a.txt", "Ilan Brask is a member of Umber Shield.", "e1", "member_of", "e2", "2012-01-10"),
            ("b.txt", "Ilan Brask joined Vesper Column.", "e1", "joined", "e3", "2012-06-02"),
            ("c.txt", "Vesper Column merged into Umber Shield.", "e3", "merged_into", "e2", "2013-03-05")]
    with Store(tmp_path / "ilan.duckdb") as store:
        for doc_id, sentence, s, rel, o, day in docs:
            store.add_extraction(build_extraction(doc_id, "Report\n\n" + sentence, [ilan, umber, vesper],
                                                  [(s, rel, o, sentence)], published=day))
        index = AsOfIndex.build(store.con)

        def member(date):
            cut, _ = index.heaviest(date, 100, relation="member_of")
            assert _norm(cut) == _norm(_reference(store.con, date, 100, relation="member_of")[0])
            return [(t["span"]["start"], t["span"]["end"]) for t in cut]

        assert member("2012-05") == [("2012-01-10", None)]
        assert member("2012") == []  # ended by the joining elsewhere
        assert member("2013-02") == []
        assert member("2013") == [("2012-01-10", None)]  # the groups are one: it never ended


# -- the web app after each write path ------------------------------------------------------
def _edges(client, date, limit=2000):
    r = client.get("/api/graph", params={"as_of": date, "limit": limit})
    assert r.status_code == 200, r.text
    g = r.json()
    return sorted((e["id"], e["fact_ids"], e["start"], e["end"], e["sources"], e["first"], e["last"])
                  for e in g["edges"]), (g["counts"]["ties_total"], g["counts"]["facts_total"])


def _expected(con, date, limit=2000):
    ties, totals = _reference(con, date, limit)
    return sorted((t["id"], [f["id"] for f in t["facts"]], t["span"]["start"], t["span"]["end"], t["sources"],
                   t["first"], t["last"]) for t in ties), (totals["ties"], totals["facts"])


def _check(app, client, dates=("2011", "2012-02", "2013", "2014-03", "2015")):
    ws = app.state.ws
    for date in dates:
        got = _edges(client, date)
        with ws.lock:
            want = _expected(ws.con, date)
        assert got == want, date
        small = _edges(client, date, limit=3)
        with ws.lock:
            assert small == _expected(ws.con, date, limit=3), date


def _alias_reports():
    """Two reports naming Umber Shield "Amber Shield" (one with a membership that a split of
    that alias moves to an actor of its own, ending nothing any more)."""
    out = []
    for n, (rel, day) in enumerate([("member_of", "2012-02-02"), ("leader_of", "2013-01")]):
        sentence = f"Mira Tolle {rel.replace('_', ' ')} Amber Shield, report {n}."
        out.append(build_extraction(
            f"amber-{n}.txt", f"Report\n\n{sentence} Amber Shield, also called Umber Shield.",
            [("e1", "PERSON", "Mira Tolle", ["Mira Tolle"], None),
             ("e2", "ORG", "Amber Shield", ["Amber Shield", "Umber Shield"], None)],
            [("e1", rel, "e2", sentence, {"date": day})], published=day))
    return out


def test_api_as_of_follows_every_write(tmp_path):
    db = tmp_path / "web.duckdb"
    with Store(db) as store:
        store.add_extractions(_churn(60, seed=21) + _alias_reports())
        umber = [a["id"] for a in store.find_actors("Umber Shield")]
        assert len(umber) == 1 and store.con.execute(  # the reports resolved to Umber Shield
            "SELECT count(*) FROM facts WHERE subject_id = ? OR object_id = ?", umber * 2).fetchone()[0] > 2
    app = create_app(db)
    ws = app.state.ws
    with TestClient(app, base_url="http://127.0.0.1", headers={"X-CSRF-Token": app.state.csrf_token}) as c:
        _check(app, c)
        built = ws._as_of_key
        _check(app, c)
        assert ws._as_of_key == built  # kept between requests while nothing is written

        # ingest through the app (the upload path stores this way)
        new = _churn(15, seed=22, prefix="late")
        with ws.writing() as store:
            store.add_extractions(new)
        _check(app, c)
        # re-ingest: the same articles by a newer extractor, with other facts
        again = _churn(15, seed=23, prefix="late")
        for old, ex in zip(new, again):
            ex.document = old.document
            ex.extractor_version = "test-2"
        with ws.writing() as store:
            store.add_extractions(again)
        _check(app, c)

        # corrections through the web: reject an ending fact, re-point a fact's subject,
        # merge two groups and undo it, split an alias off
        with ws.lock:
            ending = ws.con.execute("SELECT id FROM facts WHERE relation IN ('defected_from', 'joined') "
                                    "ORDER BY id LIMIT 2").fetchall()
        for (fid,) in ending:
            assert c.post(f"/api/facts/{fid}/review", json={"action": "reject"}).status_code == 200
        _check(app, c)
        with ws.lock:
            fid = ws.con.execute("SELECT id FROM facts WHERE relation = 'member_of' ORDER BY id LIMIT 1").fetchone()[0]
        r = c.post(f"/api/facts/{fid}/review", json={"action": "correct", "subject": "Oren Vask"})
        assert r.status_code == 200, r.text
        _check(app, c)
        wren = c.get("/api/search", params={"q": "Wren Host"}).json()[0]["id"]
        r = c.post(f"/api/actors/{wren}/merge", json={"other": "Xerith Band"})
        assert r.status_code == 200, r.text
        _check(app, c)
        assert c.post(f"/api/actors/{r.json()['from']}/unmerge", json={}).status_code == 200
        _check(app, c)
        r = c.post(f"/api/actors/{umber[0]}/split-alias", json={"alias": "Amber Shield"})
        assert r.status_code == 200, r.text
        with ws.lock:
            moved = ws.con.execute("SELECT count(*) FROM facts WHERE subject_id = ? OR object_id = ?",
                                   [r.json()["new_id"]] * 2).fetchone()[0]
        assert moved >= 1
        _check(app, c)
    ws.store.close()

    # the CLI's corrections (the server stopped, as CLI writes need): the store's methods,
    # then a server started again
    with Store(db) as store:
        store.merge_actors("Umber Shield", "Vesper Column", user="cli")
        fid = store.con.execute("SELECT id FROM facts WHERE relation = 'pledged_allegiance_to' "
                                "ORDER BY id LIMIT 1").fetchone()[0]
        store.review_fact(fid, "reject", user="cli")
    app = create_app(db)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        _check(app, c)
        # a CLI reader while the server holds the store and its index
        out = subprocess.run([sys.executable, "-m", "allegiance", "actors", "--db", str(db)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and "Vesper Column" in out.stdout, out.stderr
        _check(app, c, dates=("2013",))
    app.state.ws.store.close()


def test_writes_made_on_the_store_directly_are_seen(tmp_path):
    """An app over a store object written to directly (no WebStore.writing(), so no
    generation bump): the index is rebuilt from the store's row counts changing."""
    db = tmp_path / "direct.duckdb"
    store = Store(db)
    store.add_extractions(_churn(40, seed=31))
    app = create_app(store=store)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        _check(app, c)
        fid = store.con.execute("SELECT id FROM facts WHERE relation = 'defected_from' ORDER BY id LIMIT 1").fetchone()[0]
        store.review_fact(fid, "reject", user="direct")
        _check(app, c)
        store.add_extractions(_churn(10, seed=32, prefix="more"))
        _check(app, c)
    store.close()


def test_a_date_of_another_form_leaves_the_index_to_the_python_path(tmp_path):
    """A stored date not of the YYYY[-MM[-DD]] form (a hand-edited or imported row): no
    index (load_slim places such a fact), and the network still answers."""
    db = tmp_path / "odd.duckdb"
    with Store(db) as store:
        store.add_extractions(_churn(10, seed=41))
        assert AsOfIndex.build(store.con) is not None
        fid = store.con.execute("SELECT id FROM facts ORDER BY id LIMIT 1").fetchone()[0]
        store.con.execute("UPDATE facts SET date = '2013-4', date_source = 'text' WHERE id = ?", [fid])
        assert AsOfIndex.build(store.con) is None
    app = create_app(db)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        got = c.get("/api/graph", params={"as_of": "2014"})
        assert got.status_code == 200 and got.json()["edges"]
    app.state.ws.store.close()
