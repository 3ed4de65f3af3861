"""Training the relation model from gold: ``allegiance train``, ``allegiance eval --cv``,
the artifact and its determinism, and how candidates are labelled.

The corpus (tests/fixtures/train_small) is eight short articles written for these tests
about made-up groups, with a gold file in SCHEMA.md's format."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.clean import clean_document
from allegiance.extract import prepare_documents
from allegiance.extract.model import RelationModel
from allegiance.learn.cv import load_corpus
from allegiance.learn.labels import label_state
from allegiance.records import Document

FIXTURE = Path(__file__).parent / "fixtures" / "train_small"
GOLD = FIXTURE / "gold.jsonl"
DOCS = FIXTURE / "docs"

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """Two trainings of the same corpus into two folders."""
    a, b = tmp_path_factory.mktemp("model_a"), tmp_path_factory.mktemp("model_b")
    invoke("train", "--gold", GOLD, DOCS, "--out", a, "--cv", 0)
    invoke("train", "--gold", GOLD, DOCS, "--out", b, "--cv", 0)
    return a, b


@pytest.fixture(scope="module")
def corpus():
    return load_corpus([GOLD], [str(DOCS)])


def test_fixture_gold_evidence_is_in_its_documents():
    golds = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert 6 <= len(golds) <= 10
    for g in golds:
        text = (DOCS / g["doc_id"]).read_text(encoding="utf-8")
        ids = {e["id"] for e in g["entities"]}
        for e in g["entities"]:
            assert e["type"] in ("ORG", "PERSON", "PLACE")
            assert all(a in text for a in e["aliases"])
        for f in g["facts"]:
            assert f["subject"] in ids and f["object"] in ids
            assert f["evidence"] in text
            assert set(f) >= {"subject", "relation", "object", "evidence", "optional", "attributes", "attributed_to"}


def test_train_writes_meta_and_weights(trained):
    out, _ = trained
    assert (out / "weights.npz").is_file() and (out / "meta.json").is_file()
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert len(meta["data_sha256"]) == 64
    assert meta["settings"]["seed"] == 0 and "C" in meta["settings"]
    training = meta["training"]
    assert training["documents"] == 8
    assert training["candidates"] > 0 and training["features"] > 0
    assert training["positives"]["leader_of"] >= 6
    assert meta["cross_validation"] is None      # --cv 0
    assert meta["gold_files"] == ["gold.jsonl"]
    model = RelationModel.load(out)
    assert "leader_of" in model.relations and model.threshold("leader_of") <= 1.0


def test_training_twice_gives_the_same_model(trained):
    a, b = trained
    assert (a / "meta.json").read_bytes() == (b / "meta.json").read_bytes()
    with np.load(a / "weights.npz") as za, np.load(b / "weights.npz") as zb:
        assert list(za["vocab"]) == list(zb["vocab"])
        assert np.array_equal(za["weights"], zb["weights"])


def test_weights_bytes_do_not_depend_on_when_they_are_written(trained, tmp_path, monkeypatch):
    """The zip entries of weights.npz carry no wall-clock time stamp."""
    import time

    model = RelationModel.load(trained[0])
    real = time.time
    model.save(tmp_path / "now")
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    model.save(tmp_path / "later")
    assert (tmp_path / "now" / "weights.npz").read_bytes() == (tmp_path / "later" / "weights.npz").read_bytes()


def test_training_twice_gives_byte_identical_files(trained):
    a, b = trained
    assert (a / "meta.json").read_bytes() == (b / "meta.json").read_bytes()
    assert (a / "weights.npz").read_bytes() == (b / "weights.npz").read_bytes()


def test_trained_model_prefers_the_leader_pair(trained):
    model = RelationModel.load(trained[0])
    text = ("Salif Kone, the leader of the White Cliff Front, said on Monday that the roads would stay closed. "
            "Adama Diallo, a farmer, said the White Cliff Front had left his village.")
    [st] = prepare_documents([clean_document(Document("new.txt", "new.txt", text, "new-hash"))])
    eid = {e.name: e.id for e in st.extraction.entities}
    root = {v: k for k, v in st.root_to_eid.items()}
    kone, front, diallo = (root[eid[n]] for n in ("Salif Kone", "White Cliff Front", "Adama Diallo"))

    def p(subject, obj):
        cands = [c for c in st.candidates if (c.subject, c.object) == (subject, obj)]
        assert cands, [(c.subject, c.object) for c in st.candidates]
        return max(model.predict(c.features)["leader_of"] for c in cands)

    assert p(kone, front) > p(diallo, front)
    assert p(kone, front) > 0.5


def test_eval_cv_prints_the_facts_table():
    result = invoke("eval", "--cv", 2, "--gold", GOLD, DOCS)
    assert "organizational ties" in result.output
    assert "leader_of" in result.output


def test_labels_positive_optional_and_negative(corpus):
    [(state, gold)] = corpus.pairs({"d01_kidal.txt"})
    labels = label_state(state, gold)
    assert len(labels) == len(state.candidates)
    eid = {}
    for e in state.extraction.entities:
        for a in [e.name, *e.aliases]:
            eid[a] = e.id
    root = {v: k for k, v in state.root_to_eid.items()}

    def label(subject, obj, relation, sentence_start):
        s, o = root[eid[subject]], root[eid[obj]]
        got = [lab[relation] for c, lab in zip(state.candidates, labels)
               if (c.subject, c.object) == (s, o) and state.sentences[c.sentence].evidence.startswith(sentence_start)]
        assert got, (subject, obj, relation, sentence_start)
        return got[0]

    # the gold evidence sentence of a stated fact
    assert label("Amadou Sall", "Red Dune Brigade", "leader_of", "Amadou Sall, the leader") == 1
    # "may join": an optional gold fact is neither rewarded nor penalised
    assert label("Red Dune Brigade", "Blue River Front", "joined", "A trader said") is None
    # relations gold does not state between the pair
    assert label("Red Dune Brigade", "Copper Hills Army", "allied_with", "Fighters of the Red Dune") == 0
    assert label("Amadou Sall", "Red Dune Brigade", "member_of", "Amadou Sall, the leader") == 0


def test_a_fact_stated_where_no_candidate_reaches_it_is_learnt_from_the_pair_s_other_sentence():
    text = ("Front names chief\n\nThe White Cliff Front held a meeting in the hills on Monday. "
            "Nobody in the valley was surprised by the choice. "
            "Salif Kone and the White Cliff Front were seen in the market of Gao a week later.")
    [st] = prepare_documents([clean_document(Document("weak.txt", "weak.txt", text, "weak-hash"))])
    gold = {"doc_id": "weak.txt",
            "entities": [{"id": "kone", "type": "PERSON", "name": "Salif Kone", "aliases": ["Salif Kone"]},
                         {"id": "wcf", "type": "ORG", "name": "White Cliff Front", "aliases": ["White Cliff Front"]}],
            "facts": [{"subject": "kone", "relation": "leader_of", "object": "wcf",
                       "evidence": "Nobody in the valley was surprised by the choice."}]}
    eid = {e.name: e.id for e in st.extraction.entities}
    root = {v: k for k, v in st.root_to_eid.items()}
    kone, front = root[eid["Salif Kone"]], root[eid["White Cliff Front"]]
    labels = [lab for c, lab in zip(st.candidates, label_state(st, gold)) if (c.subject, c.object) == (kone, front)]
    assert labels and all(lab["leader_of"] == 1 for lab in labels)
    # and the evidence sentence's own candidate is positive, as it always was
    gold["facts"][0]["evidence"] = "Salif Kone and the White Cliff Front were seen in the market of Gao a week later."
    labels = [lab for c, lab in zip(st.candidates, label_state(st, gold)) if (c.subject, c.object) == (kone, front)]
    assert labels and all(lab["leader_of"] == 1 for lab in labels)
