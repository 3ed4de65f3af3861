"""Batches (``Store.add_extractions``) give exactly the store that adding the same
documents one by one gives, on real extractions and on the cases that take the
documents the cache cannot decide (tried again in a fresh segment) inside a batch.
There is one resolution path (issue 10 item 7): the reference stores each document in
its own transaction with the identity cache emptied first, so every decision is read
from the database instead of the batch's in-memory copy."""
from __future__ import annotations

import copy
import dataclasses

import pytest
from typer.testing import CliRunner

from allegiance.records import Document, IngestError
from allegiance.store import Store
from conftest import build_extraction, sample_pair

def dump(store: Store) -> dict[str, list]:
    return store.contents()


def one_by_one(path, exs) -> tuple[dict, list]:
    """Each document in its own transaction, resolved against the database (the cache
    emptied before each); a document that fails is left out, as the CLI does."""
    results = []
    with Store(path) as s:
        for ex in exs:
            s._cache.clear()
            try:
                results.append(s.add_extraction(ex))
            except Exception as exc:
                results.append(exc)
        return dump(s), results


def batched(path, exs, size: int) -> tuple[dict, list]:
    results = []
    with Store(path) as s:
        for i in range(0, len(exs), size):
            results += s.add_extractions(exs[i : i + size])
        return dump(s), results


def assert_same(tmp_path, exs, sizes=(1, 5, 1000)) -> list:
    expected, ref = one_by_one(tmp_path / "ref.duckdb", exs)
    assert expected["documents"], "nothing stored"
    for size in sizes:
        got, results = batched(tmp_path / f"batch{size}.duckdb", exs, size)
        for t in expected:
            assert got[t] == expected[t], f"batches of {size}: table {t} differs"
        for r, want in zip(results, ref):
            if isinstance(want, Exception):
                assert r.status == "failed" and type(r.error) is type(want)
            else:
                assert dataclasses.replace(r, error=None) == want
    return ref


def version(ex, v: str):
    ex = copy.deepcopy(ex)
    ex.extractor_version = v
    return ex


# -- real extractions ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The seed articles and a synthetic corpus, extracted once."""
    from pathlib import Path

    from allegiance.extract import extract_document
    from allegiance.pipeline import read_documents
    from allegiance.scale.corpus import write_corpus

    folder = tmp_path_factory.mktemp("corpus")
    examples = Path(__file__).resolve().parents[1] / "examples" / "corpus"
    write_corpus(folder, 60, seed=5, examples=examples, words=(80, 200))
    docs = [d for d in read_documents([str(folder)]) if not isinstance(d, IngestError)]
    return [extract_document(d) for d in docs]


def test_real_corpus_batches_equal_one_by_one(tmp_path, extracted):
    exs = list(extracted)
    # a document seen twice in one batch, and a re-extraction by a new extractor version
    # (replacing documents stored in an earlier batch and in the same one)
    exs = exs[:30] + [exs[3]] + exs[30:] + [exs[31]]
    exs += [version(ex, "next") for ex in extracted[10:25]] + [version(extracted[40], "v3")]
    ref = assert_same(tmp_path, exs)
    statuses = [r.status for r in ref]
    assert statuses.count("unchanged") == 2 and statuses.count("replaced") == 16
    assert statuses[30] == "unchanged"


# -- cases the cache cannot decide (tried again in a fresh segment) -------------------------
def _doc(name, text, ents, facts=(), **kw):
    return build_extraction(name, text, ents, facts, **kw)


def test_merge_id_clash_orphans_in_one_batch(tmp_path, monkeypatch):
    a, b = sample_pair()
    falcons = _doc("f.txt", "The Invented Falcons Front met the Uqba Example Brigade.",
                   [("e1", "ORG", "Invented Falcons Front", ["Invented Falcons Front"], None),
                    ("e2", "ORG", "Uqba Example Brigade", ["Uqba Example Brigade"], None)],
                   [("e1", "allied_with", "e2", "The Invented Falcons Front met the Uqba Example Brigade.")])
    # the re-extraction drops the Falcons: the actor is orphaned and removed ...
    falcons2 = version(falcons, "test-2")
    falcons2.entities = [e for e in falcons2.entities if e.id != "e1"]
    falcons2.mentions = [m for m in falcons2.mentions if m.entity != "e1"]
    falcons2.facts = []
    # ... and created again by a later document
    again = _doc("g.txt", "Invented Falcons Front fighters were seen again.",
                 [("e1", "ORG", "Invented Falcons Front", ["Invented Falcons Front"], None)])
    # a gazetteer id that is another key's slug id (the resolver adds a suffix)
    clash = _doc("h.txt", "Foo Front and the other Foo Front.",
                 [("e1", "ORG", "Foo Front", ["Foo Front"], "org-foo-front")])
    plain = _doc("i.txt", "The Foo Front attacked.", [("e1", "ORG", "Foo Front", ["Foo Front"], None)])
    # two entities with one key, the second with a kind
    twice = _doc("j.txt", "Zed Brigade. Zed Brigade.", [("e1", "ORG", "Zed Brigade", ["Zed Brigade"], None),
                                                        ("e2", "ORG", "Zed Brigade", [], None)])
    twice.entities[1].kind = "armed_group"
    # AQIM without a gazetteer id joins the gazetteer actor by alias
    joiner = _doc("k.txt", "AQIM struck again near Mount Nowhere.",
                  [("e1", "ORG", "AQIM", ["AQIM"], None), ("e2", "PLACE", "Mount Nowhere", [], None)],
                  [("e1", "active_in", "e2", "AQIM struck again near Mount Nowhere.")])
    exs = [b, falcons, plain, a, joiner, falcons2, again, clash, twice, version(a, "test-2"), version(b, "test-2")]
    absorbing = []
    real = Store._absorb_before
    monkeypatch.setattr(Store, "_absorb_before",
                        lambda self, ex: absorbing.append(ex.document.doc_id) or real(self, ex))
    ref = assert_same(tmp_path, exs, sizes=(1, 3, 100))
    assert sum(r.actors_merged for r in ref) == 2  # b's AQIM into aqim, plain's Foo Front into clash's
    # a (AQIM absorbs b's) and h.txt (the clash's Foo Front absorbs plain's), in the
    # reference run and at each batch size; the id clash itself is decided in the cache
    assert absorbing == ["a.txt", "h.txt"] * 4
    with Store(tmp_path / "batch100.duckdb", read_only=True) as s:
        suffixed = s.con.execute("SELECT id FROM actors WHERE gazetteer_id = 'org-foo-front'").fetchone()[0]
        redirect = s.con.execute("SELECT new_id FROM actor_redirects WHERE old_id = 'org-foo-front'").fetchone()
    assert suffixed.startswith("org-foo-front-") and redirect == (suffixed,)


def test_a_bad_document_does_not_cost_the_batch(tmp_path, monkeypatch):
    a, b = sample_pair()
    # same document id (first 16 hex digits of the hash), another hash: its insert fails
    bad = copy.deepcopy(b)
    bad.document = dataclasses.replace(b.document, doc_id="bad.txt",
                                       content_hash=a.document.content_hash[:16] + "f" * 48)
    c = _doc("c.txt", "Invented Falcons Front.", [("e1", "ORG", "Invented Falcons Front", [], None)])
    ref = assert_same(tmp_path, [a, bad, b, c], sizes=(4,))
    assert [getattr(r, "status", "failed") for r in ref] == ["added", "failed", "added", "added"]


def test_cache_notices_writes_behind_its_back(tmp_path):
    a, b = sample_pair()
    c = _doc("c.txt", "The Okba Example Brigade again.",
             [("e1", "ORG", "Okba Example Brigade", ["Okba Example Brigade"], None)])
    expected, _ = one_by_one(tmp_path / "ref.duckdb", [c, b, a])
    with Store(tmp_path / "s.duckdb") as s:
        s.add_extractions([c])
        with Store(tmp_path / "s.duckdb") as other:  # another connection: not through s's cache
            other.add_extractions([b])
        s.add_extractions([a])
        assert dump(s) == expected


def test_failure_rolls_back_the_batch_then_stores_one_by_one(tmp_path, monkeypatch):
    a, b = sample_pair()
    c = _doc("c.txt", "Invented Falcons Front.", [("e1", "ORG", "Invented Falcons Front", [], None)])
    real = Store._fact_row

    # a failure of one document (a full disk is not one: it stops the batch, see
    # test_hostile_files.py)
    def fail_on_b(fid, document_id, subj, obj, fact, ex):
        if ex.document.doc_id == "b.txt":
            raise ValueError("this document cannot be stored")
        return real(fid, document_id, subj, obj, fact, ex)

    monkeypatch.setattr(Store, "_fact_row", staticmethod(fail_on_b))
    with Store(tmp_path / "s.duckdb") as s:
        results = s.add_extractions([a, b, c])
        assert [r.status for r in results] == ["added", "failed", "added"]
        assert isinstance(results[1].error, ValueError)
        got = dump(s)
    monkeypatch.undo()
    expected, _ = one_by_one(tmp_path / "ref.duckdb", [a, c])
    assert got == expected


# -- the CLI --------------------------------------------------------------------------------
def test_cli_reports_each_document_of_a_batch(tmp_path, monkeypatch):
    import allegiance.cli as cli
    import allegiance.pipeline as pipeline
    from allegiance.extract import EXTRACTOR_VERSION

    a, b = sample_pair()
    a = version(a, EXTRACTOR_VERSION)
    nohash = _doc("n.txt", "Nothing.", [])
    nohash.document = dataclasses.replace(nohash.document, content_hash="", source="/corpus/n.txt")
    asked = []

    def fake(paths, skip=None, **kwargs):
        for ex in (a, IngestError("bad.pdf", "unsupported file type"), nohash, b, a):
            if not isinstance(ex, IngestError) and ex.document.content_hash:
                asked.append((ex.document.doc_id, skip(ex.document)))
            yield ex

    monkeypatch.setattr(pipeline, "extract_paths", fake)
    db = str(tmp_path / "i.duckdb")
    stored: list[Document] = []
    with Store(db) as s:
        tally = cli._ingest(s, ["x"], on_stored=stored.append)
    assert tally == dict(added=2, unchanged=1, replaced=0, failed=2, actors_added=4, facts_added=4)
    assert [d.doc_id for d in stored] == ["a.txt", "b.txt", "a.txt"]
    # a.txt is skipped once stored by this extractor version (b.txt has another version)
    assert asked == [("a.txt", False), ("b.txt", False), ("a.txt", True)]
    asked.clear()
    r = CliRunner().invoke(cli.app, ["ingest", "x", "--db", db])
    assert "could not store: StoreError: n.txt: document has no content_hash" in r.output
    assert "error: bad.pdf: unsupported file type" in r.output
    assert "0 added, 3 unchanged, 0 replaced, 2 failed" in r.output
    assert asked == [("a.txt", True), ("b.txt", False), ("a.txt", True)]
