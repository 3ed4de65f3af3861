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


def test_analyst_split_and_merge(store_path, tmp_path):
    import shutil

    from allegiance.store import Store

    db = tmp_path / "edit.duckdb"
    shutil.copy(store_path, db)
    with Store(db) as st:
        inc = next(i for i in st.incidents() if i["sources"] == 3)
        ngo = next(r["mention_id"] for r in inc["reports"] if r["doc_id"] == "c_ngo.txt")
        st.edit_incident("split", [ngo], note="different attack", user="analyst")
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
    # floor at today's figure, so a regression fails; the issue's bar is the next test
    assert report.f1 >= 0.6
    TestGoldBar.report = report


class TestGoldBar:
    report = None

    @pytest.mark.xfail(strict=True, reason="issue 13 bar not reached: linking F1 0.62 (< 0.80) and one "
                                           "incident's range misses a report's figure")
    def test_issue_bar(self):
        r = self.report
        if r is None:
            pytest.skip("runs after test_gold_incident_linking (needs ../shared)")
        assert r.f1 >= 0.80
        assert all(g["range_ok"] for g in r.incidents)
        assert all(g["disputed"] for g in r.incidents if g["gold_disagrees"])
