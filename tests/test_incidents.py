"""Incidents (issue 13): attack mentions, cross-report linking, the record, CLI and CSV.

The three reports below are invented for these tests (no sentence comes from the shared
corpora): one attack told three ways, with different tolls, dates and claims, plus a
history paragraph about an older attack that must stay out of the incident."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPORTS = {
    "a_wire.txt": (
        "Gunmen kill 12 at Mandera bus station\n\n"
        "Gunmen attacked the main bus station in Mandera, Kenya, on 14 March 2024, killing 12 passengers "
        "and wounding 9 others, police said.\n\n"
        "Al-Shabaab claimed responsibility for the attack in a statement on its radio station.\n\n"
        "In 2014, al-Shabaab fighters attacked a quarry near Wajir and killed 36 workers.\n"
    ),
    "b_local.txt": (
        "Death toll from Mandera bus station attack rises to 19\n\n"
        "The death toll from the attack on the Mandera bus station has risen to 19, a county official "
        "said on 15 March 2024.\n\n"
        "Kenyan police blamed al-Shabaab for the attack, saying the gunmen crossed the border from Somalia.\n"
    ),
    "c_ngo.txt": (
        "Mandera: rights group counts 23 dead\n\n"
        "A rights group said 23 people were killed when gunmen stormed the Mandera bus station on 14 March 2024.\n\n"
        "The rights group said the attack was the work of a local militia, not al-Shabaab, and that "
        "al-Shabaab denied it.\n"
    ),
}

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "allegiance", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("reports")
    for name, text in REPORTS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def store_path(corpus, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("db") / "inc.duckdb"
    r = _cli("ingest", str(corpus), "--db", str(db))
    assert r.returncode == 0, r.stderr
    return db


def test_attack_mentions_of_one_report(corpus):
    from allegiance.pipeline import read_documents
    from allegiance.extract import extract_documents

    doc = next(d for d in read_documents([str(corpus / "a_wire.txt")]))
    ex = extract_documents([doc])[0]
    names = {e.id: e.name for e in ex.entities}
    current = [a for a in ex.attacks if a.current]
    past = [a for a in ex.attacks if not a.current]
    assert len(current) == 1, [(a.evidence, a.current) for a in ex.attacks]
    a = current[0]
    assert names[a.place] == "Mandera"
    assert (a.date, a.date_source) == ("2024-03-14", "stated")
    assert a.killed == 12 and a.wounded == 9
    assert [(names[x.entity], x.status) for x in a.attackers] == [("al-Shabaab", "claimed")]
    # the three sentences of the attack are one mention; the evidence offsets are the raw text's
    assert len(a.sentences) >= 2
    assert doc.raw_text[a.start:a.end] == a.evidence
    # the 2014 quarry attack is read, but as the past: never today's incident
    assert past and past[0].past_cue == "2014" and names[past[0].place] == "Wajir"
    assert ex.to_schema()["attacks"][0]["killed"] == 12


def test_three_reports_are_one_disputed_incident(store_path):
    r = _cli("incidents", "--db", str(store_path), "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    linked = [x for x in rows if len(x["reports"]) > 1]
    assert len(linked) == 1, rows
    inc = linked[0]
    assert sorted(rep["doc_id"] for rep in inc["reports"]) == sorted(REPORTS)
    assert inc["place"] == "Mandera" and inc["date"] == "2024-03-14" and inc["date_max"] == "2024-03-15"
    # every figure with its source; the range spans them; nothing averaged or picked
    figures = {(f["figure"], f["doc_id"]) for f in inc["killed"]["figures"]}
    assert figures == {(12, "a_wire.txt"), (19, "b_local.txt"), (23, "c_ngo.txt")}
    assert (inc["killed"]["min"], inc["killed"]["max"]) == (12, 23)
    assert inc["disputed"] and set(inc["disputes"]) == {"killed", "attackers"}
    shabaab = next(a for a in inc["attackers"] if a["name"] == "al-Shabaab")
    status = {rep["doc_id"]: (rep["status"], rep["by"], rep["denied"]) for rep in shabaab["reports"]}
    assert status["a_wire.txt"][0] == "claimed"
    assert status["b_local.txt"] == ("attributed", "Kenyan police", False)
    assert status["c_ngo.txt"][2] is True   # the report says they deny it
    # the history paragraph's attack joined nothing
    assert all(x["place"] != "Wajir" for x in linked)


def test_filters_and_csv_read_back(store_path):
    r = _cli("incidents", "--db", str(store_path), "--format", "csv", "--disputed", "--place", "mandera")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["fatalities"] == "12" and row["fatalities_max"] == "23" and row["source_count"] == "3"
    assert row["actor1"] == "al-Shabaab" and row["location"] == "Mandera" and row["iso"] == "KE"
    assert "range 12-23" in row["notes"] and "c_ngo.txt" in row["sources"]
    assert all(not v.startswith(("=", "+", "-", "@")) for v in row.values())
    r = _cli("incidents", "--db", str(store_path), "--format", "json", "--actor", "no such group")
    assert r.returncode == 0 and r.stdout == ""
    r = _cli("incidents", "--db", str(store_path), "--until", "2023")
    assert "no incidents match" in r.stdout


def test_csv_cells_are_neutralised():
    from allegiance.export.csv_incidents import write_records

    rec = {"incident_id": "inc-x", "date": "2024-01-01", "date_max": "2024-01-01", "place": {"name": "=HYPERLINK(1)"},
           "places": [], "attackers": [{"name": "@cmd", "actor_id": "a", "reports": []}], "targets": [],
           "killed": {"figures": [], "min": None, "max": None}, "wounded": {"figures": [], "min": None, "max": None},
           "sources": 1, "disputed": False, "disputes": [], "reports": [{"doc_id": "-x.txt"}]}
    buf = io.StringIO()
    write_records([rec], buf)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["location"] == "'=HYPERLINK(1)" and row["actor1"] == "'@cmd" and row["sources"] == "'-x.txt"


def test_ids_stable_across_reingest_and_order(store_path, corpus, tmp_path):
    from allegiance.store import Store

    with Store(store_path, read_only=True) as st:
        before = sorted(i["incident_id"] for i in st.incidents())
    # same documents, the other way round, into a new store: the same incidents
    db = tmp_path / "reverse.duckdb"
    for name in sorted(REPORTS, reverse=True):
        r = _cli("ingest", str(corpus / name), "--db", str(db))
        assert r.returncode == 0, r.stderr
    with Store(db, read_only=True) as st:
        assert sorted(i["incident_id"] for i in st.incidents()) == before
    # a re-ingest of the same files changes nothing
    r = _cli("ingest", str(corpus), "--db", str(db))
    assert r.returncode == 0
    with Store(db, read_only=True) as st:
        assert sorted(i["incident_id"] for i in st.incidents()) == before


def _split_ngo_report(st) -> str:
    """An analyst splits the rights group's report off the three-report incident; its mention id."""
    inc = next(i for i in st.incidents() if i["sources"] == 3)
    ngo = next(r["mention_id"] for r in inc["reports"] if r["doc_id"] == "c_ngo.txt")
    st.edit_incident("split", [ngo], note="different attack", user="analyst")
    return ngo


def test_analyst_split_and_merge(store_path, tmp_path):
    import shutil

    from allegiance.store import Store

    db = tmp_path / "edit.duckdb"
    shutil.copy(store_path, db)
    with Store(db) as st:
        ngo = _split_ngo_report(st)
        sizes = sorted(i["sources"] for i in st.incidents())
        assert 2 in sizes and 3 not in sizes
        assert any([r["doc_id"] for r in i["reports"]] == ["c_ngo.txt"] for i in st.incidents())
        other = next(r["mention_id"] for i in st.incidents() if i["sources"] == 2 for r in i["reports"])
        st.edit_incident("merge", [ngo, other], user="analyst")
        assert any(i["sources"] == 3 for i in st.incidents())
        assert [e["action"] for e in st.incident_edits()] == ["split", "merge"]


@pytest.mark.skipif(not (SHARED / "gold" / "incidents.jsonl").exists(),
                    reason="needs ../shared (gold/incidents.jsonl and corpus/train), absent here")
def test_gold_incident_linking(tmp_path):
    """The issue's measurement: the 18 cluster reports with the other 90 train articles as
    distractors, in one store."""
    from allegiance.eval.incidents import measure

    report = measure(SHARED / "gold" / "incidents.jsonl", [str(SHARED / "corpus" / "train")],
                     tmp_path / "gold.duckdb")
    print("\n".join(report.lines()))
    assert report.documents == 108 and not report.errors
    assert report.cross_links == 0, "a report of one incident was linked to another incident"
    # floor near today's figure (F1 1.000, P 1.000), so a regression fails
    assert report.f1 >= 0.95 and report.precision == 1.0 and report.distractor_links == 0
    TestGoldBar.report = report


class TestGoldBar:
    report = None

    def _report(self):
        if self.report is None:
            pytest.skip("runs after test_gold_incident_linking (needs ../shared)")
        return self.report

    def test_issue_bar_linking_and_disputes(self):
        r = self._report()
        assert r.f1 >= 0.80 and r.cross_links == 0
        assert all(g["disputed"] for g in r.incidents if g["gold_disagrees"])

    def test_issue_bar_ranges(self):
        r = self._report()
        assert all(g["range_ok"] for g in r.incidents)


# --- linking features (issue 13 follow-up): mentions written by hand, no corpus text ---

def _mention(mid, doc, place=None, attackers=(), targets=(), triggers=("attack",), names=(), date=None,
             context=()):
    """A stored attack mention as ``load_mentions`` gives it (only what linking reads)."""
    def ref(aid):
        from allegiance.resolve.gazetteer import load_gazetteer

        gid = aid if aid in load_gazetteer() else None
        return {"actor_id": aid, "name": aid.split("-")[-1].title(), "gazetteer_id": gid}

    return {"mention_id": mid, "document_id": doc, "doc_id": doc + ".txt", "current": True,
            "date": date, "date_source": "stated" if date else None,
            "place": ref(place) if place else None, "target_places": [],
            "attackers": [{"actor_id": a, "name": a, "status": s, "by": None, "denied": d}
                          for a, s, d in attackers],
            "targets": [ref(t) for t in targets], "triggers": list(triggers), "trigger": triggers[0],
            "names": list(names), "context": list(context)}


def _score(a, b):
    from allegiance.resolve import incidents as L
    from allegiance.resolve.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    return L.score(L._M(a, gaz), L._M(b, gaz))


def test_a_denied_attacker_still_agrees():
    # one report blames the group, the other says the group denies it: one attack, disputed
    blamed = _mention("m1", "d1", "garissa", [("al_shabaab", "attributed", False)], names=["hostel"])
    denied = _mention("m2", "d2", "garissa", [("al_shabaab", "stated", True)], names=["hostel"])
    other = _mention("m3", "d3", "garissa", [("al_shabaab", "stated", False)], names=["hostel"])
    assert _score(blamed, denied) == _score(blamed, other)


def test_a_shared_country_is_not_one_place():
    a = _mention("m1", "d1", "kenya", [("al_shabaab", "stated", False)])
    b = _mention("m2", "d2", "kenya", [("al_shabaab", "stated", False)])
    town = _mention("m3", "d3", "garissa", [("al_shabaab", "stated", False)])
    town2 = _mention("m4", "d4", "garissa", [("al_shabaab", "stated", False)])
    assert _score(a, b) < _score(town, town2)
    assert _score(a, b) < 4.0   # the same group somewhere in one country: not enough alone


def test_no_place_in_common_keeps_two_attacks_apart():
    # same group, same kind of attack, shared name words, but nothing places them together
    a = _mention("m1", "d1", None, [("islamic_state", "claimed", False)], triggers=("bombing",),
                 names=["cathedral", "abu"])
    b = _mention("m2", "d2", None, [("islamic_state", "claimed", False)], triggers=("bombing",),
                 names=["cathedral", "abu"])
    with_place = _mention("m3", "d3", "place-qarawi", [("islamic_state", "claimed", False)],
                          triggers=("bombing",), names=["cathedral", "abu"])
    named = _mention("m4", "d4", None, [("islamic_state", "claimed", False)], triggers=("bombing",),
                     names=["cathedral", "abu", "qarawi"])
    assert _score(a, b) < 4.0
    # a town the gazetteer does not know, named by the other report as a plain word: one place
    assert _score(with_place, named) >= 4.0


def test_a_distractor_cannot_steal_a_report_by_coming_first():
    """Linking is agglomerative: the best-agreeing pair joins first, whatever the order."""
    from allegiance.resolve import incidents as L

    # r1 and r2 agree on much; the distractor agrees with the undated r2 on place and group
    # only, and is ruled out against r1 by its date (weeks apart)
    r1 = _mention("a1", "r1", "garissa", [("al_shabaab", "claimed", False)], targets=["org-radio-hill"],
                  names=["hostel", "college"], date="2024-03-01")
    r2 = _mention("b2", "r2", "garissa", [("al_shabaab", "attributed", False)], targets=["org-radio-hill"],
                  names=["hostel", "college"])
    distractor = _mention("0d", "r3", "garissa", [("al_shabaab", "stated", False)], names=["market"],
                          date="2024-02-01")
    assert _score(distractor, r2) >= 4.0 and _score(distractor, r1) is None
    for order in ([r1, r2, distractor], [distractor, r2, r1], [r2, distractor, r1]):
        got = L.cluster(order)
        assert got["a1"] == got["b2"] and got["0d"] != got["a1"], order


def _extract(text: str, name: str = "x.txt"):
    import tempfile

    from allegiance.extract import extract_documents
    from allegiance.pipeline import read_documents

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_text(text, encoding="utf-8")
        doc = next(iter(read_documents([str(path)])))
        ex = extract_documents([doc])[0]
    return ex, {e.id: e.name for e in ex.entities}


def test_an_iso_date_line_at_the_head_dates_the_weekday():
    # "date 2024-05-10" opening the first paragraph: the reference for "on Tuesday"
    ex, names = _extract(" date 2024-05-10 Gunmen attacked a market in Mandera, Kenya, on Tuesday, "
                         "killing 7 traders, police said.\n\nThe county commissioner said the gunmen fled.\n")
    cur = [a for a in ex.attacks if a.current]
    assert cur and (cur[0].date, cur[0].date_source) == ("2024-05-07", "weekday")


def test_opened_fire_and_blew_up_are_attacks():
    ex, names = _extract("Rebels open fire on convoy\n\nOn Monday, the Quorra Front opened fire on the Tessaly "
                         "Express near Mandera, Kenya, the police said.\n")
    triggers = {t for a in ex.attacks for t in a.triggers}
    assert "opened" in triggers, [(a.evidence, a.triggers) for a in ex.attacks]
    from allegiance.extract.attacks import _phrasal_triggers

    assert ("blow", "up") in _phrasal_triggers() and ("open", "fire") in _phrasal_triggers()
    # the parse has no lemmatizer: an inflected phrasal verb is matched by its stem or
    # by the form the data lists
    ex, names = _extract("Guards killed in Mandera\n\nOn Monday, fighters of the Quorra Front gunned down two "
                         "guards at a depot near Mandera, Kenya, the police said.\n")
    assert "gunned" in {t for a in ex.attacks for t in a.triggers}, [(a.evidence, a.triggers) for a in ex.attacks]


def test_a_group_profile_since_its_formation_is_the_past():
    ex, names = _extract("Bus attack in Mandera\n\nGunmen attacked a bus in Mandera, Kenya, on 3 June 2024, "
                         "killing 4 passengers, police said.\n\nSince its formation, the Quorra Front has carried "
                         "out several bombings in Wajir, killing 30 people.\n")
    past = [a for a in ex.attacks if not a.current]
    assert past and any("Wajir" in (names.get(a.place) or "") for a in past), \
        [(a.evidence, a.current, a.past_cue) for a in ex.attacks]


def test_the_main_attack_takes_the_names_of_title_and_lead():
    # the title names the hotel; the attack sentence only says "the hotel"
    ex, names = _extract("Guests flee the Velmora Grand in Mandera\n\nGunmen stormed the hotel in Mandera, Kenya, "
                         "on 3 June 2024, killing 9 guests, police said.\n")
    cur = [a for a in ex.attacks if a.current]
    assert cur and "velmora" in cur[0].names, [(a.evidence, a.names) for a in ex.attacks]


def test_a_report_naming_the_claimant_and_the_town_agrees():
    """A report that names only the country and the group's claim links with one that
    names the town (a place the gazetteer does not know) and names the claimant in
    passing: the town as a word of the first report, the claimant named in the second."""
    claim = _mention("m1", "d1", "kenya", [("al_shabaab", "claimed", False)], triggers=("bombing",),
                     names=["qarawi", "chapel"])
    ngo = {"actor_id": "al_shabaab", "type": "ORG", "kind": "armed_group", "gazetteer_id": "al_shabaab",
           "count": 1}
    town = _mention("m2", "d2", "place-qarawi", [], triggers=("blast",), names=["qarawi", "market"],
                    context=[ngo])
    silent = _mention("m3", "d3", "place-qarawi", [], triggers=("blast",), names=["qarawi", "market"])
    rival = _mention("m4", "d4", "place-qarawi", [("org-quorra-front", "stated", False)], triggers=("blast",),
                     names=["qarawi", "market"], context=[ngo])
    assert _score(claim, town) >= 4.0
    # the claimant not named there: the town and the word alone are not enough
    assert _score(claim, silent) < 4.0
    # the other report names its own attacker: naming the claimant in passing is no agreement
    assert _score(claim, rival) < 4.0
    from allegiance.resolve.incidents import _params

    assert _score(claim, town) - _score(claim, silent) == _params()["weights"]["claimant_named"]


def test_a_paragraph_sentence_without_a_frame_gives_its_names():
    # the sentence naming the arcade tells the same bombing but fills no role (past the
    # lead); one in another paragraph, or with no attack word, gives nothing
    ex, names = _extract("Bomb kills 6 at Mandera market\n\nA bomb planted by militants exploded at the main market "
                         "in Mandera, Kenya, "
                         "on 3 June 2024, killing 6 traders, police said. Traders closed their stalls for the day. "
                         "The old Tessaly arcade was shattered by two bombs. The Quorra stalls stayed shut.\n\n"
                         "Elsewhere in the town, the Dunlo quarter was shattered by two bombs.\n")
    cur = [a for a in ex.attacks if a.current]
    assert len(cur) == 1, [(a.evidence, a.names) for a in ex.attacks]
    assert "tessaly" in cur[0].names
    assert "quorra" not in cur[0].names and "dunlo" not in cur[0].names
    # names only: the sentence is not one of the mention's evidence sentences
    assert len(cur[0].sentences) == 2


def test_jsonl_dump_keeps_incidents_edits_and_reviews(store_path, tmp_path):
    """The lossless dump carries attack reports, incident edits and fact reviews: a copy
    made by export + import has the same incidents (an analyst's split included) and
    hides the fact the analyst rejected."""
    import shutil

    from allegiance.export import select
    from allegiance.export import jsonl
    from allegiance.store import Store

    db = tmp_path / "edited.duckdb"
    shutil.copy(store_path, db)
    with Store(db) as st:
        _split_ngo_report(st)
        rejected = st.facts()[0]["id"]
        st.review_fact(rejected, "reject", user="analyst")
        want_incidents = sorted((i["incident_id"], i["sources"]) for i in st.incidents())
        want_facts = sorted(f["id"] for f in st.facts())
        buf = io.StringIO()
        jsonl.write(select(st), buf)
    dump = buf.getvalue()
    kinds = {json.loads(line)["type"] for line in dump.splitlines()}
    assert {"attack_mention", "incident_edit", "review"} <= kinds
    copy = tmp_path / "copy.duckdb"
    with Store(copy) as t:
        result = jsonl.import_file(t, "-", io.StringIO(dump))
        assert result.added["review"] == 1 and result.added["incident_edit"] == 1
        assert sorted((i["incident_id"], i["sources"]) for i in t.incidents()) == want_incidents
        assert 2 in {n for _, n in want_incidents} and 3 not in {n for _, n in want_incidents}
        assert rejected not in {f["id"] for f in t.facts()}
        assert sorted(f["id"] for f in t.facts()) == want_facts
        again = jsonl.import_file(t, "-", io.StringIO(dump))   # a second import adds nothing
        assert sum(again.added.values()) == 0
        out = io.StringIO()
        jsonl.write(select(t), out)
    assert out.getvalue() == dump


def test_jsonl_dump_carries_a_review_waiting_for_its_fact(store_path, tmp_path):
    """A rejection whose fact is gone (a new extractor no longer finds it) waits for the
    fact to come back by its document and span; the dump carries it with its document,
    and the copy's re-export is the same."""
    import shutil

    from allegiance.export import jsonl, select
    from allegiance.store import Store

    db = tmp_path / "waiting.duckdb"
    shutil.copy(store_path, db)
    with Store(db) as st:
        fact = st.facts()[0]["id"]
        st.review_fact(fact, "reject", user="analyst")
        # what a re-extraction that no longer finds the fact leaves: the review, no fact
        st.con.execute("DELETE FROM facts WHERE id = ?", [fact])
        waiting = st.con.execute("SELECT id, content_hash FROM reviews WHERE fact_id = ?", [fact]).fetchall()
        assert len(waiting) == 1 and waiting[0][1]
        buf = io.StringIO()
        jsonl.write(select(st), buf)
    dump = buf.getvalue()
    assert any(json.loads(line).get("fact_id") == fact for line in dump.splitlines()
               if json.loads(line)["type"] == "review")
    with Store(tmp_path / "copy.duckdb") as t:
        result = jsonl.import_file(t, "-", io.StringIO(dump))
        assert result.added["review"] == 1
        assert t.con.execute("SELECT id, content_hash FROM reviews").fetchall() == waiting
        out = io.StringIO()
        jsonl.write(select(t), out)
    assert out.getvalue() == dump


def test_jsonl_dump_merged_into_a_store_links_its_reports_with_theirs(corpus, tmp_path):
    """Reports of one attack split over two stores: importing one store's dump into the
    other links them into one incident, as ingesting them together does."""
    import shutil

    from allegiance.export import select
    from allegiance.export import jsonl
    from allegiance.store import Store

    part = tmp_path / "part"
    part.mkdir()
    shutil.copy(corpus / "c_ngo.txt", part / "c_ngo.txt")
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for db, paths in ((a, [corpus / "a_wire.txt", corpus / "b_local.txt"]), (b, [part / "c_ngo.txt"])):
        r = _cli("ingest", *map(str, paths), "--db", str(db))
        assert r.returncode == 0, r.stderr
    with Store(b, read_only=True) as st:
        buf = io.StringIO()
        jsonl.write(select(st), buf)
    with Store(a) as st:
        assert max(i["sources"] for i in st.incidents()) == 2
        jsonl.import_file(st, "-", io.StringIO(buf.getvalue()))
        assert max(i["sources"] for i in st.incidents()) == 3
