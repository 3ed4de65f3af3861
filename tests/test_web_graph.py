"""The network from grouped edges at scale (issue 10): /api/graph draws the heaviest ties
(most facts first) up to ``limit`` and says how many there are in all; the cut is made in
SQL (``allegiance.analysis.ties.heaviest_window_ties``) and must give exactly the ties,
facts and spans of the full grouping cut afterwards.

Stores are built from invented articles written here (hand-made extractions, no corpus
text); no browser, no server: FastAPI's TestClient."""
from __future__ import annotations

import pytest

from allegiance.analysis import ties as T
from allegiance.store import Store
from tests.conftest import build_extraction

fastapi = pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from allegiance.web.app import GRAPH_LIMIT, create_app  # noqa: E402


def _churn_extractions(n_docs: int = 40, seed: int = 5):
    """Invented articles where members of invented groups join, pledge, defect and ally,
    2012-2019: enough ties, ends and repeats for the heaviest-ties cut to matter."""
    import random

    rng = random.Random(seed)
    groups = ["Amber Front", "Basalt Legion", "Cedar Brigade", "Dune Council", "Ember Guard", "Flint Army"]
    people = ["Omar Vasket", "Lina Ardo", "Tomas Rell", "Yara Quenn", "Pavel Ostrin"]
    rels = ["member_of", "joined", "pledged_allegiance_to", "defected_from", "affiliate_of", "leader_of",
            "allied_with", "rival_of"]
    out = []
    for d in range(n_docs):
        year = rng.randint(2012, 2019)
        ents, facts, sentences = {}, [], []
        for _ in range(rng.randint(1, 3)):
            rel = rng.choice(rels)
            if rel in ("affiliate_of", "allied_with", "rival_of"):
                a, b = rng.sample(groups, 2)
            else:
                a, b = rng.choice(people), rng.choice(groups)
            for name in (a, b):
                if name not in ents:
                    ents[name] = (f"e{len(ents) + 1}", "PERSON" if name in people else "ORG", name, [name], None)
            sentence = f"{a} {rel.replace('_', ' ')} {b} in report {d}."
            sentences.append(sentence)
            extra = {"date": f"{year}-{rng.randint(1, 12):02d}"} if rng.random() < 0.5 else {}
            facts.append((ents[a][0], rel, ents[b][0], sentence, extra) if extra else
                         (ents[a][0], rel, ents[b][0], sentence))
        out.append(build_extraction(f"churn-{d}.txt", "Report\n\n" + " ".join(sentences), list(ents.values()),
                                    facts, published=f"{year}-{rng.randint(1, 12):02d}-15"))
    return out


def test_heaviest_window_ties_cut_in_sql_equal_the_full_grouping_cut(tmp_path):
    """The network's cut (heaviest_window_ties: the ``limit`` ties with most facts, ranked
    and cut in SQL, spans from the kept ties' subjects' events only) gives exactly those
    ties of the full grouping, with the same facts, spans and enders; totals count all."""
    def norm(ties):
        return sorted((t["id"], t["sources"], t["first"], t["last"], t["as_reported"], t["hedged"],
                       [f["id"] for f in t["facts"]],
                       [(sp["start"], sp["end"], (sp["ended_by"] or {}).get("id")) for sp in t["spans"]])
                      for t in ties)

    with Store(tmp_path / "churn.duckdb") as store:
        for ex in _churn_extractions():
            store.add_extraction(ex)
        full_all = T.window_ties(store.con)
        assert sum(1 for t in full_all for sp in t["spans"] if sp["end"]) >= 3  # ends to get right
        assert max(len(t["facts"]) for t in full_all) >= 3  # ties of different weights
        for since, until in ((None, None), ("2014", "2017"), ("2016", "2016")):
            full = T.window_ties(store.con, since=since, until=until)
            for limit in (1, 3, 7, 15, len(full), len(full) + 5):
                cut, totals = T.heaviest_window_ties(store.con, limit, since=since, until=until)
                assert totals == {"ties": len(full), "facts": sum(len(t["facts"]) for t in full)}
                assert len(cut) == min(limit, len(full))
                assert norm(cut) == norm(T.heaviest(full, limit)), (since, until, limit)
                py = T.heaviest(T.build_ties(T.load_slim(store.con, since=since, until=until)), limit)
                assert norm(cut) == norm(py), (since, until, limit)
            heavy = T.heaviest(full, 3)
            rest = [t for t in full if t not in heavy]
            assert min(len(t["facts"]) for t in heavy) >= max((len(t["facts"]) for t in rest), default=0)


@pytest.fixture()
def churn_db(tmp_path):
    db = tmp_path / "churn.duckdb"
    with Store(db) as store:
        for ex in _churn_extractions():
            store.add_extraction(ex)
    return db


def test_api_graph_draws_the_heaviest_ties_and_counts_them_all(churn_db):
    client = TestClient(create_app(churn_db), base_url="http://127.0.0.1")
    whole = client.get("/api/graph").json()
    assert whole["limit"] == GRAPH_LIMIT and not whole["truncated"]
    c = whole["counts"]
    assert c["ties"] == c["ties_total"] == len(whole["edges"]) > 10 and c["facts"] == c["facts_total"]
    cut = client.get("/api/graph", params={"limit": 5}).json()
    k = cut["counts"]
    assert cut["truncated"] and len(cut["edges"]) == k["ties"] == 5
    assert (k["ties_total"], k["facts_total"]) == (c["ties_total"], c["facts_total"])
    assert k["facts"] == sum(e["facts"] for e in cut["edges"])
    # the five with most facts (ties of equal weight by key), each as the whole graph draws it
    by_id = {e["id"]: e for e in whole["edges"]}
    heaviest = sorted(whole["edges"], key=lambda e: (-e["facts"], e["source"], e["relation"], e["target"]))[:5]
    assert {e["id"] for e in cut["edges"]} == {e["id"] for e in heaviest}
    for e in cut["edges"]:
        assert e == by_id[e["id"]]
    # nodes: the actors of the kept ties only, with the same counts as in the whole graph
    ends = {e["source"] for e in cut["edges"]} | {e["target"] for e in cut["edges"]}
    assert {n["id"] for n in cut["nodes"]} == ends
    nodes = {n["id"]: n for n in whole["nodes"]}
    for n in cut["nodes"]:
        assert (n["mentions"], n["documents"]) == (nodes[n["id"]]["mentions"], nodes[n["id"]]["documents"])
    # a window and the as-of view are cut the same way
    w = client.get("/api/graph", params={"since": "2014", "until": "2017", "limit": 3}).json()
    assert len(w["edges"]) == 3 and w["counts"]["ties_total"] > 3 and w["truncated"]
    a = client.get("/api/graph", params={"as_of": "2016", "limit": 2}).json()
    assert len(a["edges"]) == 2 and a["counts"]["ties_total"] >= 2
    assert client.get("/api/graph", params={"limit": 0}).status_code == 422
    # /api/ties finds a tie the cut left out
    light = next(e for e in whole["edges"] if e["id"] not in {x["id"] for x in cut["edges"]})
    assert client.get(f"/api/ties/{light['id']}").status_code == 200
    client.app.state.ws.store.close()


def test_node_counts_follow_a_write(churn_db):
    """The network keeps actors' mention counts between requests; a new document changes them."""
    app = create_app(churn_db)
    client = TestClient(app, base_url="http://127.0.0.1")
    ws = app.state.ws

    def counts():
        return {n["label"]: (n["mentions"], n["documents"]) for n in client.get("/api/graph").json()["nodes"]}

    before = counts()
    with ws.lock:
        stats = {a["name"]: (a["mentions"], a["documents"]) for a in ws.store.actors()}
    assert all(stats[name] == v for name, v in before.items())
    text = "Update\n\nOmar Vasket joined Amber Front, and Omar Vasket stayed."
    ex = build_extraction("update.txt", text, [("e1", "PERSON", "Omar Vasket", ["Omar Vasket"], None),
                                               ("e2", "ORG", "Amber Front", ["Amber Front"], None)],
                          [("e1", "joined", "e2", "Omar Vasket joined Amber Front, and Omar Vasket stayed.")],
                          published="2019-05-01")
    with ws.writing() as store:
        store.add_extraction(ex)
    after = counts()
    assert after["Omar Vasket"] == (before["Omar Vasket"][0] + 2, before["Omar Vasket"][1] + 1)
    assert after["Amber Front"][1] == before["Amber Front"][1] + 1
    ws.store.close()


def _same_day_extractions():
    """Ends on the very day of a tie's last report (invented): Nadia Querr is reported a
    member of Harrow Guard on the day she joins Isle Column (that report is of the span the
    joining ends); Ivo Stamm, back in Harrow Guard after a defection, joins Isle Column on
    the day of the report that reopened it (a belonging the same day does not end a span
    it opens); Rhea Dulan defects on the day of her last member report (a defection does)."""
    h = ("e1", "ORG", "Harrow Guard", ["Harrow Guard"], None)
    i = ("e2", "ORG", "Isle Column", ["Isle Column"], None)
    out = []
    for n, (person, rel, obj, day) in enumerate([
            ("Nadia Querr", "member_of", h, "2014-02"), ("Nadia Querr", "joined", i, "2016-05"),
            ("Nadia Querr", "member_of", h, "2016-05"),
            ("Ivo Stamm", "member_of", h, "2014-02"), ("Ivo Stamm", "defected_from", h, "2015-01"),
            ("Ivo Stamm", "member_of", h, "2016-05"), ("Ivo Stamm", "joined", i, "2016-05"),
            ("Rhea Dulan", "member_of", h, "2014-02"), ("Rhea Dulan", "member_of", h, "2016-05"),
            ("Rhea Dulan", "defected_from", h, "2016-05")]):
        sentence = f"{person} {rel.replace('_', ' ')} {obj[2]}, report {n}."
        p_ent = ("e3", "PERSON", person, [person], None)
        out.append(build_extraction(f"same-day-{n}.txt", "Report\n\n" + sentence, [p_ent, obj],
                                    [("e3", rel, "e1" if obj is h else "e2", sentence, {"date": day})],
                                    published="2020-01-15"))
    return out


def test_heaviest_as_of_ties_equal_the_python_network_as_of(tmp_path):
    """As of a date, the ties in force read from the as-of index (heaviest_as_of_ties,
    analysis/asof.py) are those network_as_of(build_ties(load_slim(until=date))) keeps: same ties, facts, spans and the
    span in force, the same heaviest cut, the same totals; relation and actor filters too."""
    def norm(ties):
        return sorted((t["id"], t["sources"], t["first"], t["last"], t["as_reported"], t["hedged"],
                       [f["id"] for f in t["facts"]], (t["span"]["start"], t["span"]["end"]),
                       [(sp["start"], sp["end"], (sp["ended_by"] or {}).get("id")) for sp in t["spans"]])
                      for t in ties)

    with Store(tmp_path / "churn.duckdb") as store:
        for ex in _churn_extractions(n_docs=80, seed=11) + _same_day_extractions():
            store.add_extraction(ex)
        con = store.con
        names = {a["id"]: a["name"] for a in store.actors()}
        member = {names[t["subject_id"]]: t for t in T.network_as_of(T.build_ties(T.load_slim(con, until="2017")), "2017")
                  if t["relation"] == "member_of" and names[t["object_id"]] == "Harrow Guard"}
        assert set(member) == {"Ivo Stamm"}  # Nadia's and Rhea's memberships ended in 2016-05
        ended_somewhere = 0
        for date in ("2012", "2013-06", "2014", "2015-03-15", "2016", "2017-09", "2019", "2024"):
            every = T.build_ties(T.load_slim(con, until=date))
            full = T.network_as_of(every, date)
            ended_somewhere += len(every) - len(full)
            for limit in (1, 4, 10, len(full) + 3):
                cut, totals = T.heaviest_as_of_ties(con, date, limit)
                assert totals == {"ties": len(full), "facts": sum(len(t["facts"]) for t in full)}, (date, limit)
                assert norm(cut) == norm(T.heaviest(full, limit)), (date, limit)
            for relation in ("member_of", "joined", "allied_with"):
                want = [t for t in full if t["relation"] == relation]
                cut, totals = T.heaviest_as_of_ties(con, date, 3, relation=relation)
                assert totals["ties"] == len(want) and norm(cut) == norm(T.heaviest(want, 3)), (date, relation)
            someone = full[0]["subject_id"] if full else "nobody"
            want = [t for t in full if someone in (t["subject_id"], t["object_id"])]
            cut, totals = T.heaviest_as_of_ties(con, date, 5, actor_ids=[someone])
            assert totals["ties"] == len(want) and norm(cut) == norm(T.heaviest(want, 5)), (date, someone)
        assert ended_somewhere >= 5  # ties that ended by a date: what the SQL must get right


def test_api_graph_as_of_cut_equals_the_whole_as_of(churn_db):
    client = TestClient(create_app(churn_db), base_url="http://127.0.0.1")
    whole = client.get("/api/graph", params={"as_of": "2017", "limit": 100000}).json()
    cut = client.get("/api/graph", params={"as_of": "2017", "limit": 4}).json()
    assert cut["truncated"] and cut["counts"]["ties_total"] == whole["counts"]["ties"] == len(whole["edges"])
    by_id = {e["id"]: e for e in whole["edges"]}
    assert all(e == by_id[e["id"]] for e in cut["edges"]) and len(cut["edges"]) == 4
    client.app.state.ws.store.close()
