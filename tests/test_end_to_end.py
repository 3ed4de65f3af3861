"""The real pipeline end to end through the CLI: bundled example corpus, a real
DuckDB file, and a batch of bad inputs."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "corpus"
runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    db = tmp_path_factory.mktemp("store") / "seeds.duckdb"
    r = _run("ingest", EXAMPLES, "--db", db)
    assert r.exit_code == 0, r.output
    return db


def test_ingesting_the_seeds_twice_changes_nothing(seeded):
    with Store(seeded, read_only=True) as s:
        before = s.counts()
    assert before["documents"] == 5 and before["facts"] > 30
    r = _run("ingest", EXAMPLES, "--db", seeded)
    assert r.exit_code == 0, r.output
    with Store(seeded, read_only=True) as s:
        assert s.counts() == before


def test_show_resolves_acronym_and_nom_de_guerre_to_one_actor(seeded):
    a = _run("show", "AQIM", "--db", seeded)
    b = _run("show", "Abu Musab Abdul Wadud", "--db", seeded)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert a.output.splitlines()[0].startswith("al-Qaeda in the Islamic Maghreb")
    assert b.output.splitlines()[0].startswith("Abdelmalek Droukdel")
    # Droukdel's leadership of AQIM, with its evidence, is on both cards
    for out in (a.output, b.output):
        assert "Abdelmalek Droukdel → al-Qaeda in the Islamic Maghreb" in out
        assert "which is led by Abdelmalek Droukdel" in out


def test_facts_json_filters_by_actor_alias_and_relation(seeded):
    r = _run("facts", "--db", seeded, "--actor", "ISIL", "--relation", "leader_of", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows and all(f["relation"] == "leader_of" for f in rows)
    assert any("Baghdadi" in f["subject"] for f in rows)


def test_extract_prints_schema_jsonl(tmp_path):
    out = tmp_path / "x.jsonl"
    r = _run("extract", EXAMPLES / "004_15b36c2294989fb0.txt", "-o", out)
    assert r.exit_code == 0, r.output
    obj = json.loads(out.read_text().splitlines()[0])
    assert obj["doc_id"] == "004_15b36c2294989fb0.txt"
    assert {"entities", "facts", "title", "published"} <= obj.keys()
    raw = (EXAMPLES / "004_15b36c2294989fb0.txt").read_text(encoding="utf-8")
    for f in obj["facts"]:
        assert raw[f["start"]:f["end"]] == f["evidence"]  # offsets into the file as read
        assert 0 < f["confidence"] <= 1 and isinstance(f["hedged"], bool)


ARTICLE = (
    "Militants Regroup In The Desert\n\n"
    "The Northern Front pledged allegiance to the Islamic State in March 2019, its spokesman said. "
    "The group is active in Mali.\n"
)


@pytest.fixture()
def bad_batch(tmp_path):
    d = tmp_path / "batch"
    d.mkdir()
    (d / "a_good.txt").write_text(ARTICLE, encoding="utf-8")
    (d / "b_empty.txt").write_bytes(b"")
    (d / "c_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(random.Random(1).randrange(256) for _ in range(2000)))
    (d / "d_cp1252.txt").write_bytes(ARTICLE.replace("said.", "said \u201cyes\u201d.").encode("cp1252"))
    (d / "e_latin1.txt").write_bytes(("Caf\u00e9 note\n\n" + ARTICLE).encode("latin-1"))
    (d / "f_scripts.html").write_text(
        "<html><head><script>alert(1)</script><script>var x='" + "y" * 5000 + "'</script></head>"
        "<body><script>document.write('pwn')</script><article><h1>Militants Regroup</h1><p>"
        + ARTICLE.replace("\n", " ") * 3 + "</p></article></body></html>", encoding="utf-8")
    (d / "g_french.txt").write_text(
        "Les groupes armés du nord\n\nLe groupe a prêté allégeance à l'État islamique selon les sources "
        "sécuritaires, qui ont indiqué que les combattants se trouvaient dans la région depuis des mois. "
        "Les autorités ont annoncé une enquête sur les attaques de la semaine dernière dans le pays.\n",
        encoding="utf-8")
    para = "The Northern Front is active in Mali according to officials who spoke to reporters. "
    with open(d / "h_huge.txt", "w", encoding="utf-8") as fh:
        fh.write("A Very Long Dump\n\n")
        for _ in range(50 * 1024 * 1024 // len(para) + 1):
            fh.write(para)
    return d


def test_bad_inputs_each_get_one_line_and_the_batch_survives(bad_batch, tmp_path):
    db = tmp_path / "bad.duckdb"
    r = _run("ingest", bad_batch, "--db", db)
    assert r.exit_code == 1  # something failed, and the exit code says so
    out = r.output
    assert "b_empty.txt" in out and "empty file" in out
    assert "c_binary.txt" in out and "binary" in out
    assert "h_huge.txt" in out and "too long for one article" in out
    assert "Traceback" not in out
    with Store(db, read_only=True) as s:
        docs = {d["doc_id"] for d in s.documents()}
        facts = s.facts()
    # good, re-encoded, script-laden and foreign documents all arrived whole
    assert {"a_good.txt", "d_cp1252.txt", "e_latin1.txt", "f_scripts.html", "g_french.txt"} <= docs
    assert not {"b_empty.txt", "c_binary.txt", "h_huge.txt"} & docs
    assert any(f["relation"] == "pledged_allegiance_to" for f in facts)
    for f in facts:
        assert "alert(" not in f["evidence"] and "document.write" not in f["evidence"]
    # the French article is stored but yields no English extraction
    assert not [f for f in facts if f["doc_id"] == "g_french.txt"]


def test_a_rejected_fact_leaves_cli_queries_but_stays_auditable(tmp_path):
    import datetime

    db = tmp_path / "review.duckdb"
    assert _run("ingest", EXAMPLES / "004_15b36c2294989fb0.txt", "--db", db).exit_code == 0
    with Store(db) as s:
        target = next(f for f in s.facts() if f["relation"] == "leader_of")
        s.con.execute(
            "INSERT INTO reviews (id, fact_id, action, \"user\", created_at) VALUES (?, ?, 'reject', 'test', ?)",
            ["r1", target["id"], datetime.datetime(2026, 1, 1)],
        )
    r = _run("facts", "--db", db, "--format", "json")
    assert target["id"] not in {f["id"] for f in json.loads(r.output)}
    r = _run("facts", "--db", db, "--format", "json", "--include-rejected")
    assert target["id"] in {f["id"] for f in json.loads(r.output)}
