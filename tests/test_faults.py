"""Faults: a killed ingest, a read-only store, a full disk."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.scale.corpus import write_corpus
from allegiance.store import Store, StoreError
from conftest import sample_pair

runner = CliRunner()


def _ingest_cmd(folder, db, *extra: str) -> list[str]:
    return [sys.executable, "-m", "allegiance", "ingest", str(folder), "--db", str(db), *extra]


def _state(db) -> tuple[dict, set]:
    with Store(db, read_only=True) as s:
        ids = {r[0] for r in s.con.execute("SELECT id FROM facts").fetchall()}
        return s.counts(), ids


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- (a) SIGKILL mid-run, then run again ----------------------------------------------------
def test_killed_ingest_resumes_to_the_same_store(tmp_path):
    corpus = tmp_path / "corpus"
    paths = write_corpus(corpus, 200, seed=11, words=(40, 90))
    env = {**os.environ, "ALLEGIANCE_DEBUG": "0"}

    full = tmp_path / "full.duckdb"
    done = subprocess.run(_ingest_cmd(corpus, full), capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    expected = _state(full)
    assert expected[0]["documents"] == len(paths)

    # Kill (with its extraction workers running) right after the first documents are
    # committed: DuckDB's write-ahead log appears with the schema, and grows with every
    # later commit.
    landed = None
    for attempt in range(3):
        db = tmp_path / f"killed{attempt}.duckdb"
        wal = Path(str(db) + ".wal")
        proc = subprocess.Popen(_ingest_cmd(corpus, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 600
        first = None
        while proc.poll() is None and time.monotonic() < deadline:
            size = wal.stat().st_size if wal.exists() else 0
            if first is None and size > 0:
                first = size
            elif first is not None and size > first:
                break
            time.sleep(0.005)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        stored = _state(db)[0]["documents"] if db.exists() else 0
        if not finished and 0 < stored < len(paths):
            landed = (db, stored)
            break
    assert landed is not None, "could not kill the ingest mid-run"
    db, stored = landed

    again = subprocess.run(_ingest_cmd(corpus, db), capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stderr
    assert f"{len(paths) - stored} added, {stored} unchanged" in again.stdout
    counts, fact_ids = _state(db)
    assert counts == expected[0]
    assert fact_ids == expected[1]


# -- (b) a read-only store ---------------------------------------------------------------
@pytest.fixture
def filled(tmp_path):
    db = tmp_path / "ro.duckdb"
    a, b = sample_pair()
    with Store(db) as s:
        s.add_extraction(a)
    return db, b


def test_read_only_store_refuses_writes(filled):
    db, ex = filled
    before = _digest(db)
    with Store(db, read_only=True) as s:
        with pytest.raises(StoreError, match="read-only"):
            s.add_extraction(ex)
    assert _digest(db) == before


def test_cli_on_unwritable_store_prints_one_line(filled, tmp_path, monkeypatch):
    """Root ignores file modes, so an unwritable file is simulated: duckdb.connect raises
    the error DuckDB gives for a file it may not write."""
    db, _ = filled
    before = _digest(db)
    doc = tmp_path / "a.txt"
    doc.write_text("Nothing to see here.\n", encoding="utf-8")
    real = duckdb.connect

    def refuse(path, read_only=False, **kw):
        if not read_only:
            raise duckdb.IOException(f'IO Error: Cannot open file "{path}": Permission denied')
        return real(path, read_only=read_only, **kw)

    monkeypatch.setattr("allegiance.store.store.duckdb.connect", refuse)
    r = runner.invoke(app, ["ingest", str(doc), "--db", str(db)])
    assert r.exit_code == 1
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot open store") and "Permission denied" in lines[0]
    assert "Traceback" not in r.output
    assert _digest(db) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file modes do not stop root from writing")
def test_cli_on_chmod_444_store(filled, tmp_path):  # pragma: no cover - only as non-root
    db, _ = filled
    os.chmod(db, 0o444)
    before = _digest(db)
    doc = tmp_path / "a.txt"
    doc.write_text("Nothing to see here.\n", encoding="utf-8")
    r = subprocess.run(_ingest_cmd(doc, db), capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and r.stderr.strip().startswith("error:")
    assert _digest(db) == before


# -- (c) a full disk -----------------------------------------------------------------------
class FullDisk:
    """A DuckDB connection whose writes of fact rows fail like a full disk."""

    def __init__(self, con, fail_on: str = "INSERT INTO facts"):
        self._con, self._fail_on, self.failures = con, fail_on, 0

    def execute(self, sql, *args, **kw):
        if self._fail_on in sql:
            self.failures += 1
            raise OSError(28, "No space left on device")
        self._con.execute(sql, *args, **kw)
        return self

    def __getattr__(self, name):
        return getattr(self._con, name)


def _full_state(db) -> tuple:
    with Store(db, read_only=True) as s:
        con = s.con
        return tuple(
            con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("documents", "actors", "aliases", "mentions", "facts", "document_actors",
                      "document_aliases", "actor_redirects")
        )


def test_full_disk_mid_add_leaves_store_unchanged(filled):
    db, ex = filled
    before = _full_state(db)
    with Store(db) as s:
        real = s.con
        s.con = FullDisk(real)
        with pytest.raises(OSError, match="No space left"):
            s.add_extraction(ex)
        assert s.con.failures == 1
        s.con = real
    assert _full_state(db) == before


def test_full_disk_cli_message(filled, tmp_path, monkeypatch):
    db, _ = filled
    before = _full_state(db)
    doc = tmp_path / "report.txt"
    doc.write_text(
        "Report\n\nAl-Qaeda in the Islamic Maghreb attacked a convoy near Kidal in 2014, killing 3 soldiers.\n",
        encoding="utf-8",
    )
    real = duckdb.connect
    monkeypatch.setattr(
        "allegiance.store.store.duckdb.connect", lambda *a, **kw: FullDisk(real(*a, **kw), "INSERT INTO documents")
    )
    r = runner.invoke(app, ["ingest", str(doc), "--db", str(db)])
    assert r.exit_code == 1
    # a full disk stops the run with one line (not one error per remaining document)
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: disk full: cannot write the store"), r.output
    assert "No space left on device" in lines[0]
    assert "Traceback" not in r.output
    monkeypatch.undo()
    assert _full_state(db) == before


def test_a_worker_dies_with_its_killed_parent():
    """Extraction workers call pipeline._die_with_parent: when a SIGKILLed ingest leaves
    them, they must not finish their work for nobody and slow the re-run (Linux only)."""
    psutil = pytest.importorskip("psutil")
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux-only")
    worker = ("from allegiance.pipeline import _die_with_parent; _die_with_parent(); "
              "print('ready', flush=True); import time; time.sleep(120)")
    parent_code = (
        "import subprocess, sys, time\n"
        f"w = subprocess.Popen([sys.executable, '-c', {worker!r}], stdout=subprocess.PIPE, text=True)\n"
        "w.stdout.readline()\n"
        "print(w.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        gone, alive = psutil.wait_procs([child], timeout=10)
        assert not alive, "the worker outlived its killed parent"
    finally:
        parent.kill()


def test_a_store_whose_creation_was_interrupted_opens_again(tmp_path, monkeypatch):
    """Creating the schema is one transaction: an interruption after some tables (a kill,
    a full disk) must not leave a file with tables but no schema version."""
    import allegiance.store.store as store_module
    from allegiance.store.schema import TABLES

    def interrupted(con):
        for ddl in TABLES[:3]:
            con.execute(ddl)
        raise OSError("interrupted")

    db = tmp_path / "new.duckdb"
    monkeypatch.setattr(store_module, "create_schema", interrupted)
    with pytest.raises(OSError):
        Store(db)
    monkeypatch.undo()
    with Store(db) as s:
        a, _ = sample_pair()
        s.add_extraction(a)
        assert s.counts()["documents"] == 1
