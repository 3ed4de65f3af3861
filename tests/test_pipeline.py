"""The pipeline's batching and worker processes give the same results as one document
at a time, and stopping early never hangs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from allegiance.extract import extract_document, extract_documents
from allegiance.pipeline import _extract_batch, extract_paths, read_documents
from allegiance.records import Document, Extraction, IngestError
from allegiance.scale.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "corpus"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pipeline") / "corpus"
    write_corpus(folder, 30, seed=7)
    return folder


def schemas(items) -> list:
    return [x.to_schema() if isinstance(x, Extraction) else ("error", x.source, x.message) for x in items]


def test_a_batch_extracts_each_document_as_alone(corpus):
    docs = [d for d in read_documents([str(corpus), str(EXAMPLES)]) if isinstance(d, Document)]
    assert len(docs) > 30
    alone = [extract_document(d) for d in docs]
    together = extract_documents(docs)
    assert schemas(together) == schemas(alone)
    assert sum(len(x.facts) for x in together) > 50   # the comparison is not between empty results


def test_workers_give_the_serial_results_in_order(corpus, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02\x03" * 100)
    paths = [str(corpus), str(tmp_path / "bad.txt"), str(EXAMPLES)]
    serial = list(extract_paths(paths, workers=1))
    parallel = list(extract_paths(paths, workers=2, batch=4))
    assert schemas(parallel) == schemas(serial)
    assert any(isinstance(x, IngestError) and x.source.endswith("bad.txt") for x in parallel)


def test_a_document_that_breaks_its_batch_fails_alone(monkeypatch):
    import allegiance.extract as extract

    def fragile(docs, nlp=None):
        if any("boom" in d.text for d in docs):
            raise RuntimeError("boom")
        return [Extraction(document=d, extractor_version="t") for d in docs]

    monkeypatch.setattr(extract, "extract_documents", fragile)
    monkeypatch.setattr(extract, "extract_document", lambda d, nlp=None: fragile([d])[0])
    docs = [Document(doc_id=f"{i}.txt", source=f"{i}.txt", raw_text=text, content_hash=str(i))
            for i, text in enumerate(["One fine text.", "It goes boom here.", "Another text."])]
    out = _extract_batch([(d, False) for d in docs])
    assert [type(x).__name__ for x in out] == ["Extraction", "IngestError", "Extraction"]
    assert "boom" in out[1].message and out[1].source == "1.txt"


def test_leaving_a_parallel_extraction_early_does_not_hang(corpus):
    # in a child process with a deadline: a hang must fail the test, not stall the suite
    code = (
        "import sys; from allegiance.pipeline import extract_paths\n"
        "gen = extract_paths([sys.argv[1]], workers=2, batch=2)\n"
        "first = next(gen)\n"
        "gen.close()\n"
        "print('closed', type(first).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(corpus)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "closed Extraction" in done.stdout
