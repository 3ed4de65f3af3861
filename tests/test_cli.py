"""The command line, against stores filled by hand (no pipeline needed)."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.store import Store
from conftest import build_extraction, sample_pair

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    with Store(path) as s:
        for ex in sample_pair():
            s.add_extraction(ex)
    return str(path)


def invoke(*args):
    return runner.invoke(app, list(args))


def test_actors(db):
    r = invoke("actors", "--db", db)
    assert r.exit_code == 0, r.output
    assert "aqim" in r.stdout and "Abu Example" in r.stdout
    assert r.stdout.index("aqim") < r.stdout.index("person-abu-example")
    r = invoke("actors", "--db", db, "--type", "person")
    assert r.exit_code == 0 and "Abu Example" in r.stdout and "aqim" not in r.stdout
    r = invoke("actors", "--db", db, "--limit", "1")
    assert "aqim" in r.stdout and "Mount" not in r.stdout
    assert invoke("actors", "--db", db, "--type", "TANK").exit_code != 0


def test_show_resolves_alias(db):
    r = invoke("show", "Al Qaida Organisation in the Islamic Maghreb", "--db", db)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "al-Qaeda in the Islamic Maghreb" in out and "id=aqim" in out
    assert "AQIM (3)" in out
    for rel in ("leader_of", "pledged_allegiance_to", "rival_of"):
        assert rel in out
    assert "Abu Example → al-Qaeda in the Islamic Maghreb" in out
    assert "2013-06" in out and "a.txt" in out and "(hedged)" in out
    assert "pledged allegiance to AQIM" in out  # the evidence sentence


def test_show_unknown_name(db):
    r = invoke("show", "Nobody Whatsoever", "--db", db)
    assert r.exit_code == 1
    assert "no actor matches" in r.stderr and "Traceback" not in r.output


def test_show_lists_other_matches(tmp_path):
    path = str(tmp_path / "amb.duckdb")
    with Store(path) as s:
        s.add_extraction(build_extraction(
            "x.txt", "Shared Name led the Shared Name group.",
            [("e1", "ORG", "Shared Name", [], None), ("e2", "PERSON", "Shared Name", [], None)],
        ))
    r = invoke("show", "Shared Name", "--db", path)
    assert r.exit_code == 0, r.output
    assert "other matches:" in r.stdout


def test_facts_formats(db):
    r = invoke("facts", "--db", db)
    assert r.exit_code == 0, r.output
    assert "pledged_allegiance_to" in r.stdout and "4 facts" in r.stdout

    r = invoke("facts", "--db", db, "--format", "json", "--actor", "AQIM", "--since", "2014")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {f["relation"] for f in data} == {"leader_of", "rival_of"}
    assert all(f["date"] >= "2014" for f in data)

    r = invoke("facts", "--db", db, "--format", "csv", "--relation", "active_in")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 1
    assert rows[0]["object_id"] == "place-mount-nowhere" and rows[0]["attributed_to"] == "Officials"

    r = invoke("facts", "--db", db, "--format", "json", "--source", "b.txt", "--no-hedged")
    assert [f["relation"] for f in json.loads(r.stdout)] == ["active_in"]


def test_facts_bad_input(db):
    assert invoke("facts", "--db", db, "--relation", "befriended").exit_code == 2
    assert invoke("facts", "--db", db, "--since", "last year").exit_code == 2
    assert invoke("facts", "--db", db, "--format", "xml").exit_code == 2


def test_hostile_text_is_not_markup(tmp_path):
    path = str(tmp_path / "h.duckdb")
    evil = "[bold red]boom[/] ') ; DROP TABLE facts;-- <script>x</script>"
    with Store(path) as s:
        s.add_extraction(build_extraction(
            "h.txt", f"Alpha Group joined Beta Group. {evil}",
            [("e1", "ORG", "Alpha Group", [], None), ("e2", "ORG", "Beta Group", [], None)],
            [("e1", "joined", "e2", f"Alpha Group joined Beta Group. {evil}")],
        ))
    r = invoke("show", "Alpha Group", "--db", path)
    assert r.exit_code == 0, r.output
    assert "[bold red]boom[/]" in r.stdout
    r = invoke("facts", "--db", path, "--format", "json")
    assert json.loads(r.stdout)[0]["evidence"].endswith(evil)


def test_missing_store(tmp_path):
    r = invoke("actors", "--db", str(tmp_path / "none.duckdb"))
    assert r.exit_code == 1 and "no store" in r.stderr


def test_unexpected_error_is_one_line(db, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Store, "actors", boom)
    r = invoke("actors", "--db", db)
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: RuntimeError: kaboom"
    monkeypatch.setenv("ALLEGIANCE_DEBUG", "1")
    r = invoke("actors", "--db", db)
    assert isinstance(r.exception, RuntimeError)


def test_demo_missing_corpus(tmp_path, monkeypatch):
    import allegiance.cli as cli

    monkeypatch.setattr(cli, "example_corpus", lambda: tmp_path / "nope")
    r = invoke("demo", "--db", str(tmp_path / "d.duckdb"))
    assert r.exit_code == 1 and "example corpus not found" in r.stderr


def test_ingest_with_fake_pipeline(tmp_path, monkeypatch):
    """ingest's reporting, with the pipeline replaced (its stages are built elsewhere)."""
    import allegiance.pipeline as pipeline
    from allegiance.records import IngestError

    def fake(paths, **kwargs):
        yield from sample_pair()
        yield IngestError("bad.pdf", "unsupported file type")

    monkeypatch.setattr(pipeline, "extract_paths", fake)
    path = str(tmp_path / "i.duckdb")
    r = invoke("ingest", "x", "--db", path)
    assert r.exit_code == 1
    assert "error: bad.pdf: unsupported file type" in r.stderr
    assert "2 added, 0 unchanged, 0 replaced, 1 failed" in r.stdout
    assert "4 facts" in r.stdout
    r = invoke("ingest", "x", "--db", path)
    assert "0 added, 2 unchanged" in r.stdout


def test_extract_with_fake_pipeline(tmp_path, monkeypatch):
    import allegiance.pipeline as pipeline
    from allegiance.records import IngestError

    def fake(paths, **kwargs):
        a, b = sample_pair()
        a.document.warnings.append("looks truncated")
        yield a
        yield IngestError("gone.txt", "no such file")
        yield b

    monkeypatch.setattr(pipeline, "extract_paths", fake)
    out = tmp_path / "out.jsonl"
    r = invoke("extract", "x", "-o", str(out))
    assert r.exit_code == 1
    assert "error: gone.txt: no such file" in r.stderr
    assert "warning: a.txt: looks truncated" in r.stderr
    docs = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [d["doc_id"] for d in docs] == ["a.txt", "b.txt"]
    assert docs[0]["facts"][0]["relation"] == "leader_of"


def test_eval_with_fake_pipeline(tmp_path, monkeypatch):
    import allegiance.pipeline as pipeline

    monkeypatch.setattr(pipeline, "extract_paths", lambda paths: iter(sample_pair()))
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({
        "doc_id": "a.txt",
        "entities": [
            {"id": "aqim", "type": "ORG", "name": "AQIM", "aliases": ["AQIM"]},
            {"id": "abu", "type": "PERSON", "name": "Abu Example", "aliases": []},
        ],
        "facts": [{"subject": "abu", "relation": "leader_of", "object": "aqim", "evidence": "x",
                   "optional": False, "attributes": {}, "attributed_to": None}],
    }) + "\n", encoding="utf-8")
    r = invoke("eval", "--gold", str(gold), "x", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["documents"] >= 1
    r = invoke("eval", "--gold", str(gold), "x", "--errors")
    assert r.exit_code == 0, r.output


def test_same_process_mixed_modes(db):
    with Store(db):  # held read-write here: a read-only open in this process is refused
        r = invoke("actors", "--db", db)
    assert r.exit_code == 2 and "in use" in r.stderr


def _read_line(stream, timeout):
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else None


def test_locked_store(db, monkeypatch):
    # reads wait for a writer to finish (ALLEGIANCE_LOCK_WAIT, 15 s by default); 1 s here
    monkeypatch.setenv("ALLEGIANCE_LOCK_WAIT", "1")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom allegiance.store import Store\n"
         "s = Store(sys.argv[1])\nprint('ready', flush=True)\ntime.sleep(300)\n", db],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT),
    )
    try:
        line = _read_line(holder.stdout, 30)
        assert line and line.strip() == "ready", holder.stderr.read() if holder.poll() is not None else line
        for args in (["actors"], ["show", "AQIM"], ["facts"], ["ingest", "nothing"]):
            r = invoke(*args, "--db", db)
            assert r.exit_code == 2, (args, r.output)
            assert "in use by another process" in r.stderr and db in r.stderr
            assert len(r.stderr.strip().splitlines()) == 1
        # the real command, in its own process: a message, no traceback, no hang
        proc = subprocess.run(
            [sys.executable, "-m", "allegiance", "actors", "--db", db],
            capture_output=True, text=True, timeout=60, env=env, cwd=str(ROOT),
        )
        assert proc.returncode == 2
        assert "in use by another process" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        holder.kill()
        holder.wait(timeout=30)
