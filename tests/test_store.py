"""The DuckDB store and cross-document identity, on hand-built extractions."""
from __future__ import annotations

import json

import pytest

from allegiance.records import Entity
from allegiance.resolve.identity import actor_id_for_key, actor_key
from allegiance.store import SCHEMA_VERSION, Store, StoreError
from conftest import build_extraction, sample_pair


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


@pytest.fixture
def store(db):
    with Store(db) as s:
        yield s


def fill(store, exs):
    return [store.add_extraction(ex) for ex in exs]


# -- identity ---------------------------------------------------------------------------
def test_actor_key_and_id():
    gz = Entity(id="e1", type="ORG", name="al-Qaeda in the Islamic Maghreb", gazetteer_id="aqim")
    assert actor_key(gz) == "gz:aqim"
    assert actor_id_for_key(actor_key(gz)) == "aqim"
    a = Entity(id="e1", type="ORG", name="Okba Ibn Nafaa Brigade")
    b = Entity(id="e9", type="ORG", name="the Uqba bin Nafaa brigade")
    assert actor_key(a) == actor_key(b)
    assert actor_id_for_key(actor_key(a)).startswith("org-uqba")
    p = Entity(id="e2", type="PERSON", name="Uqba")
    assert actor_id_for_key(actor_key(p)) != actor_id_for_key(actor_key(Entity("e3", "ORG", "Uqba")))
    # other scripts and very long names still give a valid, stable id
    ar = Entity(id="e4", type="ORG", name="كتيبة عقبة")
    assert actor_id_for_key(actor_key(ar)) == actor_id_for_key(actor_key(ar))
    assert actor_id_for_key(actor_key(ar)).startswith("org-")
    long = Entity(id="e5", type="ORG", name="Brigade " * 40)
    assert len(actor_id_for_key(actor_key(long))) < 90


# -- adding -----------------------------------------------------------------------------
def test_add_twice_is_unchanged(store, sample_extractions):
    a, _ = sample_extractions
    first = store.add_extraction(a)
    assert first.status == "added" and first.facts_added == 2 and first.actors_added == 3
    before = store.counts()
    again = store.add_extraction(sample_pair()[0])
    assert again.status == "unchanged"
    assert (again.actors_added, again.facts_added, again.mentions_added) == (0, 0, 0)
    assert store.counts() == before


def test_new_extractor_version_replaces(store):
    a, _ = sample_pair()
    store.add_extraction(a)
    before = store.counts()
    a2, _ = sample_pair()
    a2.extractor_version = "test-2"
    res = store.add_extraction(a2)
    assert res.status == "replaced"
    assert store.counts() == before  # no duplicates
    (ver,) = store.con.execute("SELECT DISTINCT extractor_version FROM facts").fetchone()
    assert ver == "test-2"
    # a replacement that drops a fact and an actor leaves no orphan behind
    a3, _ = sample_pair()
    a3.extractor_version = "test-3"
    a3.facts = [f for f in a3.facts if f.relation == "leader_of"]
    a3.entities = [e for e in a3.entities if e.id != "e3"]
    a3.mentions = [m for m in a3.mentions if m.entity != "e3"]
    assert store.add_extraction(a3).status == "replaced"
    c = store.counts()
    assert c["facts"] == 1 and c["actors"] == 2 and c["documents"] == 1


def test_spellings_resolve_to_one_actor_in_any_order(tmp_path):
    results = []
    for order in ((0, 1), (1, 0)):
        with Store(tmp_path / f"s{order[0]}.duckdb") as s:
            exs = sample_pair()
            fill(s, [exs[i] for i in order])
            ids = [r["id"] for r in s.actors()]
            assert ids.count("aqim") == 1
            assert sum(1 for r in s.actors() if r["type"] == "ORG") == 2
            aqim = next(r for r in s.actors() if r["id"] == "aqim")
            assert aqim["documents"] == 2
            facts = sorted(
                s.con.execute("SELECT id, subject_id, relation, object_id FROM facts").fetchall()
            )
            results.append((sorted(ids), facts, s.counts()))
    assert results[0] == results[1]
    assert "org-uqba-example-brigade" in results[0][0]


def test_merged_id_still_resolves(store):
    a, b = sample_pair()
    store.add_extraction(b)  # no gazetteer id: a slug actor is created ...
    assert store.find_actors("org-qaeda-organisation-in-islamic-maghreb")[0]["id"].startswith("org-")
    res = store.add_extraction(a)  # ... and absorbed when the gazetteer entity arrives
    assert res.actors_merged == 1
    assert store.find_actors("org-qaeda-organisation-in-islamic-maghreb")[0]["id"] == "aqim"
    assert store.actor_card("org-qaeda-organisation-in-islamic-maghreb")["actor"]["id"] == "aqim"


def test_unknown_group_becomes_new_actor(store):
    fill(store, sample_pair())
    ex = build_extraction(
        "c.txt",
        "The Invented Falcons Front attacked a checkpoint; the Invented Falcons Front is new.",
        [("e1", "ORG", "Invented Falcons Front", ["Invented Falcons Front"], None),
         ("e2", "ORG", "AQIM", ["AQIM"], None)],
        [("e1", "rival_of", "e2", "The Invented Falcons Front attacked a checkpoint;")],
    )
    res = store.add_extraction(ex)
    assert res.status == "added" and res.actors_added == 1  # AQIM joined by alias
    hit = store.find_actors("invented falcons front")
    assert hit[0]["id"] == "org-invented-falcons-front"
    assert hit[0]["mentions"] == 2
    card = store.actor_card("org-invented-falcons-front")
    assert card["relations"]["rival_of"][0]["other_id"] == "aqim"


def test_find_actors_by_alias_and_fuzzy(store):
    fill(store, sample_pair())
    assert store.find_actors("AQIM")[0]["id"] == "aqim"
    assert store.find_actors("aqim")[0]["match"] == "id"
    by_alias = store.find_actors("Al-Qaida Organisation in the Islamic Maghreb")
    assert by_alias[0]["id"] == "aqim" and by_alias[0]["match"] == "alias"
    assert store.find_actors("Oqba Example Brigade")[0]["id"] == "org-uqba-example-brigade"
    fuzzy = store.find_actors("Uqba Exampel Brigade")
    assert fuzzy[0]["id"] == "org-uqba-example-brigade" and fuzzy[0]["match"] == "fuzzy"
    assert store.find_actors("Nowhere")[0]["id"] == "place-mount-nowhere"
    assert store.find_actors("Completely Unknown Thing") == []


def test_actor_card(store):
    fill(store, sample_pair())
    card = store.actor_card("aqim")
    assert card["actor"]["name"] == "al-Qaeda in the Islamic Maghreb"
    aliases = {a["alias"]: a["count"] for a in card["aliases"]}
    assert aliases["AQIM"] == 3
    rel = card["relations"]
    assert set(rel) == {"leader_of", "pledged_allegiance_to", "rival_of"}
    lead = rel["leader_of"][0]
    assert lead["direction"] == "in" and lead["other_id"] == "person-abu-example"
    assert lead["date"] == "2014-02-03" and lead["date_source"] == "published"
    assert lead["doc_id"] == "a.txt" and lead["title"] == "Maghreb militants regroup"
    pledge = rel["pledged_allegiance_to"][0]
    assert pledge["date"] == "2013-06"
    rival = rel["rival_of"][0]
    assert rival["direction"] == "out" and rival["hedged"] is True
    assert store.actor_card("no-such-actor") is None


# -- queries ----------------------------------------------------------------------------
def test_facts_filters(store):
    fill(store, sample_pair())
    assert len(store.facts()) == 4
    assert [f["relation"] for f in store.facts(relation="leader_of")] == ["leader_of"]
    # partial dates: 2013-06, 2014-02-03 (published), 2015 (published) x2
    assert len(store.facts(since="2014")) == 3
    assert len(store.facts(since="2014-03")) == 2
    assert len(store.facts(until="2013")) == 1
    assert len(store.facts(until="2014-02")) == 2
    assert len(store.facts(since="2015-06-01")) == 2  # a year-only date overlaps
    assert len(store.facts(since="2013-06", until="2013-06-30")) == 1
    # actor via any alias, either end
    via_alias = store.facts(actor="Al Qaida Organisation in the Islamic Maghreb")
    assert {f["relation"] for f in via_alias} == {"leader_of", "pledged_allegiance_to", "rival_of"}
    assert len(store.facts(actor="Okba Example Brigade")) == 3
    assert store.facts(actor="Nobody At All") == []
    # source: doc id, path or title, case-insensitive substring
    assert len(store.facts(source="B.TXT")) == 2
    assert len(store.facts(source="militants regroup")) == 2
    assert len(store.facts(source="/corpus/")) == 4
    assert len(store.facts(include_hedged=False)) == 3
    assert len(store.facts(limit=1)) == 1
    with pytest.raises(ValueError):
        store.facts(since="June 2014")


def test_facts_limit_is_a_prefix_of_the_full_order(store):
    # a limit reads the facts up to the limit-th date (ties included) and sorts them; it
    # must cut the same rows as ordering everything: dated first, ties by document
    fill(store, sample_pair())
    store.add_extraction(build_extraction(
        "c.txt", "Group One joined Group Two.",
        [("e1", "ORG", "Group One", [], None), ("e2", "ORG", "Group Two", [], None)],
        [("e1", "joined", "e2", "Group One joined Group Two.")],
    ))
    for kw in ({}, {"since": "2014"}, {"until": "2015"}, {"include_hedged": False}, {"source": "corpus"},
               {"actor": "Okba Example Brigade"}):
        full = store.facts(**kw)
        for limit in range(1, len(full) + 2):
            assert store.facts(limit=limit, **kw) == full[:limit], (kw, limit)
    assert store.facts()[-1]["date"] is None
    assert store.facts(limit=0) == []


def test_fact_date_falls_back_to_published(store):
    ex = build_extraction(
        "d.txt", "Group One joined Group Two.",
        [("e1", "ORG", "Group One", [], None), ("e2", "ORG", "Group Two", [], None)],
        [("e1", "joined", "e2", "Group One joined Group Two.")],
    )
    store.add_extraction(ex)
    (f,) = store.facts()
    assert f["date"] is None and f["date_source"] is None


def test_hostile_text_stored_verbatim(store):
    nasty = "'); DROP TABLE facts;--"
    text = f'He said "{nasty}" <script>alert(1)</script> [bold]x[/bold] and left the Quote\'s Front.'
    ex = build_extraction(
        nasty,
        text,
        [("e1", "ORG", "Quote's Front", ["Quote's Front"], None),
         ("e2", "PERSON", nasty, [nasty], None)],
        [("e2", "defected_from", "e1", text, {"attributed_to": "<script>x</script>",
                                               "attributes": {"note": nasty}})],
        title='<script>alert("t")</script>',
    )
    res = store.add_extraction(ex)
    assert res.status == "added"
    (f,) = store.facts()
    assert f["evidence"] == text
    assert f["attributed_to"] == "<script>x</script>"
    assert f["attributes"] == {"note": nasty}
    assert f["doc_id"] == nasty and f["title"] == '<script>alert("t")</script>'
    (raw,) = store.con.execute("SELECT raw_text FROM documents").fetchone()
    assert raw == text
    assert store.find_actors(nasty)[0]["name"] == nasty
    assert store.counts()["facts"] == 1  # the table is still there
    assert len(store.facts(source=nasty)) == 1


def test_failure_rolls_back(store, monkeypatch):
    a, b = sample_pair()
    store.add_extraction(a)
    before = store.counts()
    n_doc_aliases = store.con.execute("SELECT count(*) FROM document_aliases").fetchone()[0]
    calls = {"n": 0}
    original = Store._bulk_insert

    def boom(self, table, *args, **kwargs):
        # documents, actors, aliases and mentions are written by now: fail on the facts
        if table == "facts":
            calls["n"] += 1
            raise RuntimeError("disk on fire")
        return original(self, table, *args, **kwargs)

    monkeypatch.setattr(Store, "_bulk_insert", boom)
    with pytest.raises(RuntimeError):
        store.add_extraction(b)
    assert calls["n"] == 1
    assert store.counts() == before
    assert store.con.execute("SELECT count(*) FROM documents WHERE doc_id = 'b.txt'").fetchone()[0] == 0
    assert store.con.execute("SELECT count(*) FROM document_aliases").fetchone()[0] == n_doc_aliases
    # a failed replacement keeps the old version intact
    calls["n"] = 0
    a2, _ = sample_pair()
    a2.extractor_version = "test-2"
    with pytest.raises(RuntimeError):
        store.add_extraction(a2)
    assert store.counts() == before
    assert {r[0] for r in store.con.execute("SELECT extractor_version FROM facts").fetchall()} == {"test-1"}
    monkeypatch.undo()
    assert store.add_extraction(b).status == "added"


def test_reopen_read_only_and_schema(db, sample_extractions):
    with Store(db) as s:
        fill(s, sample_extractions)
        counts = s.counts()
    with Store(db, read_only=True) as s:
        assert s.counts() == counts
        assert s.con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == SCHEMA_VERSION
        with pytest.raises(StoreError):
            s.add_extraction(sample_pair()[0])
    with pytest.raises(StoreError):
        Store(db.parent / "missing.duckdb", read_only=True)


def test_actors_sorted_and_filtered(store):
    fill(store, sample_pair())
    rows = store.actors()
    assert rows[0]["id"] == "aqim"
    assert [r["mentions"] for r in rows] == sorted((r["mentions"] for r in rows), reverse=True)
    assert [r["id"] for r in store.actors(type="PERSON")] == ["person-abu-example"]
    assert len(store.actors(limit=2)) == 2
    docs = store.documents()
    assert [d["doc_id"] for d in docs] == ["a.txt", "b.txt"]
    assert json.loads(store.con.execute("SELECT warnings FROM documents LIMIT 1").fetchone()[0]) == []


def _actor_of(store, doc_id: str, local_id: str) -> str:
    return store.con.execute(
        "SELECT da.actor_id FROM document_actors da JOIN documents d ON d.id = da.document_id "
        "WHERE d.doc_id = ? AND da.local_id = ?", [doc_id, local_id]).fetchone()[0]


def test_generic_names_tie_no_actors_across_documents(store):
    # "the army" of one article is not another's: a known force whose document also calls
    # it "the army" and "soldiers" does not absorb the armies of other articles, nor do
    # they join it or each other; a proper alias still joins ("ZHF")
    fill(store, [
        build_extraction("a.txt", "The Cameroonian Armed Forces said the army and its soldiers held the town.",
                         [("e1", "ORG", "Cameroonian Armed Forces", ["army", "soldiers"], "cameroon_armed_forces")]),
        build_extraction("b.txt", "The army said soldiers and the military took the pass. The Zembla Hills Front (ZHF) fled.",
                         [("e1", "ORG", "army", ["soldiers", "military"], None),
                          ("e2", "ORG", "Zembla Hills Front", ["ZHF"], None)]),
        build_extraction("c.txt", "The army shelled the hills where the ZHF hid.",
                         [("e1", "ORG", "army", [], None), ("e2", "ORG", "ZHF", [], None)]),
    ])
    known, b_army, c_army = _actor_of(store, "a.txt", "e1"), _actor_of(store, "b.txt", "e1"), _actor_of(store, "c.txt", "e1")
    assert known == "cameroon_armed_forces"
    assert len({known, b_army, c_army}) == 3
    assert _actor_of(store, "b.txt", "e2") == _actor_of(store, "c.txt", "e2")
    # storing the same article again finds the same actors (the key is its document's)
    res = store.add_extraction(build_extraction("c.txt", "The army shelled the hills where the ZHF hid.",
                                                [("e1", "ORG", "army", [], None), ("e2", "ORG", "ZHF", [], None)]))
    assert res.status == "unchanged" and _actor_of(store, "c.txt", "e1") == c_army


def test_a_known_force_stored_after_generic_armies_does_not_absorb_them(store):
    fill(store, [
        build_extraction("b.txt", "The army said soldiers took the pass.",
                         [("e1", "ORG", "army", ["soldiers"], None)]),
        build_extraction("a.txt", "The Cameroonian Armed Forces said the army held the town.",
                         [("e1", "ORG", "Cameroonian Armed Forces", ["army"], "cameroon_armed_forces")]),
    ])
    assert _actor_of(store, "b.txt", "e1") != _actor_of(store, "a.txt", "e1") == "cameroon_armed_forces"
