"""Scale paths: Parquet round trip, parallel extraction, Spark local mode, graph queries,
the synthetic corpus and the `load` command. The Spark test is skipped without pyspark."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.records import IngestError
from allegiance.scale.corpus import write_corpus
from allegiance.scale.parquet import read_extractions, write_parquet
from allegiance.scale.queries import neighbours, network_as_of
from allegiance.store import Store
from conftest import build_extraction

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "corpus"
FACT_COLS = 'id, subject_id, relation, object_id, evidence, "start", "end", date, date_source, document_id'


def snapshot(path) -> dict:
    with Store(path, read_only=True) as s:
        con = s.con
        return {
            "counts": s.counts(),
            "facts": con.execute(f"SELECT {FACT_COLS} FROM facts ORDER BY id").fetchall(),
            "actors": con.execute("SELECT id, name, type, kind, gazetteer_id FROM actors ORDER BY id").fetchall(),
            "aliases": con.execute("SELECT actor_id, alias, count FROM aliases ORDER BY ALL").fetchall(),
            "mentions": con.execute('SELECT document_id, actor_id, "start", "end" FROM mentions ORDER BY ALL').fetchall(),
            "documents": con.execute("SELECT id, content_hash, doc_id, title, published, text FROM documents ORDER BY id").fetchall(),
        }


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The single-machine path on examples/corpus: extract_paths + Store.add_extraction.
    Extracted in a fresh interpreter (like the worker processes it is compared with), so
    state other tests leave in this process cannot make the two differ."""
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("serial")
    code = (
        "import sys; from allegiance.pipeline import extract_paths; "
        "from allegiance.scale.parquet import write_parquet; "
        "write_parquet(extract_paths([sys.argv[1]]), sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", code, str(EXAMPLES), str(base / "pq")], check=True, timeout=600)
    items = list(read_extractions(base / "pq"))
    db = base / "serial.duckdb"
    with Store(db) as s:
        for it in items:
            s.add_extraction(it)
    return items, snapshot(db)


def test_parquet_round_trip_gives_identical_store(serial, tmp_path):
    items, expected = serial
    counts = write_parquet(items + [IngestError("/x/bad.txt", "empty file")], tmp_path / "pq")
    assert counts["documents"] == len(items) and counts["errors"] == 1
    back = list(read_extractions(tmp_path / "pq"))
    assert [b.to_schema() if not isinstance(b, IngestError) else str(b) for b in back] == (
        [i.to_schema() for i in items] + ["/x/bad.txt: empty file"]
    )
    r = CliRunner().invoke(app, ["load", str(tmp_path / "pq"), "--db", str(tmp_path / "p.duckdb")])
    assert r.exit_code == 1  # the error row is reported, like a failed file in ingest
    assert "error: /x/bad.txt: empty file" in r.output
    assert snapshot(tmp_path / "p.duckdb") == expected


def test_load_rejects_a_folder_that_is_not_parquet_output(tmp_path):
    r = CliRunner().invoke(app, ["load", str(tmp_path), "--db", str(tmp_path / "x.duckdb")])
    assert r.exit_code == 1
    assert "not an allegiance Parquet folder" in r.output and "Traceback" not in r.output


def test_process_bytes_matches_the_file_path(serial):
    from allegiance.scale.process import process_bytes

    items, _ = serial
    first = items[0]
    path = Path(first.document.source)
    again = process_bytes(path.name, path.read_bytes(), str(path))
    assert again.to_schema() == first.to_schema()
    assert again.document.content_hash == first.document.content_hash
    assert isinstance(process_bytes("empty.txt", b""), IngestError)


def test_expand_inputs_keeps_ingest_order(tmp_path):
    from allegiance.ingest import iter_documents
    from allegiance.scale.process import expand_inputs

    (tmp_path / "b").mkdir()
    for name in ("b/2.txt", "a.txt", "c.md", ".hidden.txt", "skip.bin"):
        (tmp_path / name).write_text("Some text here.\n", encoding="utf-8")
    units = expand_inputs([str(tmp_path)])
    docs = list(iter_documents([str(tmp_path)]))
    assert [Path(u).name for u in units] == [d.doc_id for d in docs] == ["a.txt", "2.txt", "c.md"]


def test_extract_parallel_equals_serial(serial, tmp_path):
    from allegiance.scale.process import extract_parallel

    items, _ = serial
    par = list(extract_parallel([str(EXAMPLES), str(tmp_path / "missing.txt")], workers=2))
    assert [p.to_schema() for p in par[:-1]] == [i.to_schema() for i in items]
    assert isinstance(par[-1], IngestError) and "no such file" in par[-1].message


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark not installed (pip install 'allegiance[spark]')")
@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime for Spark")
def test_spark_local_mode_equals_single_machine(serial, tmp_path):
    from allegiance.scale.spark import run_spark_ingest

    items, expected = serial
    out = tmp_path / "spark"
    counts = run_spark_ingest([str(EXAMPLES)], str(out), master="local[2]")
    assert counts["documents"] == len(items) and counts["errors"] == 0
    assert counts["facts"] == sum(len(i.facts) for i in items)
    assert counts["partitions"] >= 2
    assert list((out / "facts").glob("part-*.parquet"))
    r = CliRunner().invoke(app, ["load", str(out), "--db", str(tmp_path / "spark.duckdb")])
    assert r.exit_code == 0, r.output
    got = snapshot(tmp_path / "spark.duckdb")
    assert got["counts"] == expected["counts"]
    assert got["facts"] == expected["facts"]
    assert got == expected


def _graph_store(path):
    text = "Alpha and Beta and Gamma and Delta and Omega."
    ents = [("e1", "ORG", "Alpha", [], None), ("e2", "ORG", "Beta", [], None), ("e3", "ORG", "Gamma", [], None),
            ("e4", "ORG", "Delta", [], None), ("e5", "ORG", "Omega", [], None)]
    with Store(path) as s:
        s.add_extraction(build_extraction("d1.txt", text, ents, [
            ("e1", "allied_with", "e2", "Alpha and Beta", {"date": "2010-05-01"}),
            ("e2", "merged_into", "e3", "Beta and Gamma", {"date": "2012"}),
            ("e4", "rival_of", "e3", "Gamma and Delta", {"date": "2015-02"}),
        ]))
        s.add_extraction(build_extraction("d2.txt", text + " Again.", ents, [
            ("e1", "allied_with", "e2", "Alpha and Beta", {"date": "2011-01-01"}),
            ("e5", "attacked", "e4", "Delta and Omega", {"date": "2020-01-01"}),
        ]))
        return {r[1]: r[0] for r in s.con.execute("SELECT id, name FROM actors").fetchall()}


def test_neighbours_within_two_hops(tmp_path):
    ids = _graph_store(tmp_path / "g.duckdb")
    with Store(tmp_path / "g.duckdb", read_only=True) as s:
        rows = neighbours(s.con, ids["Alpha"], hops=2)
        assert [(r["name"], r["hops"], r["facts"]) for r in rows] == [("Beta", 1, 2), ("Gamma", 2, 1)]
        assert [r["name"] for r in neighbours(s.con, ids["Gamma"], hops=1)] == ["Beta", "Delta"]
        assert {r["name"] for r in neighbours(s.con, ids["Gamma"], hops=2)} == {"Alpha", "Beta", "Delta", "Omega"}
        assert neighbours(s.con, ids["Alpha"], relation="merged_into") == []
        assert neighbours(s.con, "no-such-actor") == []


def test_network_as_of_a_date(tmp_path):
    ids = _graph_store(tmp_path / "g.duckdb")
    with Store(tmp_path / "g.duckdb", read_only=True) as s:
        net = network_as_of(s.con, "2011-06")
        assert [(e["subject_id"], e["relation"], e["object_id"], e["facts"]) for e in net["edges"]] == [
            (ids["Alpha"], "allied_with", ids["Beta"], 2)
        ]
        assert {n["name"] for n in net["nodes"]} == {"Alpha", "Beta"}
        later = network_as_of(s.con, "2012")
        assert len(later["edges"]) == 2
        assert len(network_as_of(s.con, "2024-12-31")["edges"]) == 4
        assert network_as_of(s.con, "2024", relation="attacked", limit=1)["edges"][0]["last"] == "2020-01-01"
        with pytest.raises(ValueError):
            network_as_of(s.con, "last year")



def test_network_as_of_leaves_out_rejected_facts(tmp_path):
    from datetime import datetime

    db = tmp_path / "g.duckdb"
    ids = _graph_store(db)
    with Store(db) as s:
        fid = s.con.execute(
            "SELECT id FROM facts WHERE subject_id = ? AND relation = 'allied_with' ORDER BY date LIMIT 1", [ids["Alpha"]]
        ).fetchone()[0]
        s.con.execute("INSERT INTO reviews (id, fact_id, action, \"user\", created_at) VALUES ('r1', ?, 'reject', 't', ?)",
                      [fid, datetime(2024, 1, 1)])
        for limit in (None, 1):
            net = network_as_of(s.con, "2011-06", limit=limit)
            assert [(e["relation"], e["facts"]) for e in net["edges"]] == [("allied_with", 1)]
            audit = network_as_of(s.con, "2011-06", limit=limit, include_rejected=True)
            assert [(e["relation"], e["facts"]) for e in audit["edges"]] == [("allied_with", 2)]


def test_network_as_of_limit_is_a_prefix_of_the_full_ranking(tmp_path):
    # a limit takes a shortcut (hash pre-count) unless it cannot prove the answer: both
    # must give the first edges of the unlimited ranking, ties broken by id
    ids = _graph_store(tmp_path / "g.duckdb")
    with Store(tmp_path / "g.duckdb", read_only=True) as s:
        for date in ("2010", "2011-06", "2015-02", "2024-12-31"):
            full = network_as_of(s.con, date)
            for limit in range(1, len(full["edges"]) + 2):
                net = network_as_of(s.con, date, limit=limit)
                assert net["edges"] == full["edges"][:limit], (date, limit)
                assert {n["id"] for n in net["nodes"]} == (
                    {e["subject_id"] for e in net["edges"]} | {e["object_id"] for e in net["edges"]})
        assert network_as_of(s.con, "2024", limit=0)["edges"] == []
        assert network_as_of(s.con, "2024", include_hedged=False, limit=1)["edges"][0]["subject_id"] == ids["Alpha"]


def test_generated_corpus_shape(tmp_path):
    from allegiance.resolve.gazetteer import load_gazetteer

    paths = write_corpus(tmp_path / "c", 40, seed=3, examples=EXAMPLES)
    assert len(paths) == 40
    again = write_corpus(tmp_path / "d", 40, seed=3, examples=EXAMPLES)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]  # deterministic
    generated = [p for p in paths if p.name.startswith("gen_")]
    general = [p for p in generated if not p.name.endswith("_militant.txt")]
    assert len(general) * 2 >= len(generated)
    gaz = load_gazetteer()
    entries = gaz.entries.values() if isinstance(gaz.entries, dict) else gaz.entries
    groups = {e.name for e in entries if e.kind == "armed_group"}
    for p in generated:
        text = p.read_text(encoding="utf-8")
        assert 300 <= len(text.split()) <= 900
        if p in general:
            assert not any(f" {g} " in f" {text} " or f"{g}," in text for g in groups if len(g) > 5)
    militant = " ".join(p.read_text(encoding="utf-8") for p in generated if p not in general)
    assert any(g in militant for g in groups)
