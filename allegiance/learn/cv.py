"""Reading gold with its documents, and document-level cross-validation.

``load_corpus`` runs every extraction component up to the candidates once per document;
training and each fold of ``cross_validate`` then only fit and score, so five folds cost
little more than one extraction of the corpus."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from allegiance.eval.scoring import EvalReport, load_gold, score_corpus
from allegiance.extract import prepare_documents
from allegiance.extract.facts import finish
from allegiance.extract.work import DocState
from allegiance.learn.train import Settings, _doc_folds, data_hash, train
from allegiance.records import Document, Extraction, IngestError


@dataclass
class Corpus:
    golds: list[dict]                          # gold documents that have a text
    states: dict[str, DocState | Extraction]   # doc_id -> prepared document
    documents: list[Document]
    gold_paths: list = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)   # gold doc_ids with no document

    def pairs(self, doc_ids=None) -> list[tuple[DocState, dict]]:
        return [(self.states[g["doc_id"]], g) for g in self.golds
                if isinstance(self.states.get(g["doc_id"]), DocState) and (doc_ids is None or g["doc_id"] in doc_ids)]

    @property
    def hash(self) -> str:
        return data_hash(self.gold_paths, self.documents)


def load_corpus(gold_paths: list, doc_paths: list[str], batch: int = 16, on_document=None) -> Corpus:
    from allegiance.pipeline import clean_item, read_documents

    golds: dict[str, dict] = {}
    for p in gold_paths:
        for g in load_gold(p):
            golds.setdefault(g["doc_id"], g)
    docs, errors = [], []
    for item in read_documents(doc_paths):
        item = clean_item(item)
        if isinstance(item, IngestError):
            errors.append(item)
        elif item.doc_id in golds:
            docs.append(item)
    docs.sort(key=lambda d: d.doc_id)
    states: dict[str, DocState | Extraction] = {}
    for i in range(0, len(docs), batch):
        chunk = docs[i:i + batch]
        for d, st in zip(chunk, prepare_documents(chunk)):
            states[d.doc_id] = st
        if on_document:
            on_document(len(states))
    have = {d.doc_id for d in docs}
    return Corpus([g for k, g in sorted(golds.items()) if k in have], states, docs, list(gold_paths), errors,
                  sorted(k for k in golds if k not in have))


def predict(corpus: Corpus, model, doc_ids) -> list[dict]:
    out = []
    for did in sorted(doc_ids):
        st = corpus.states[did]
        ex = finish(st, model) if isinstance(st, DocState) else st
        out.append(ex.to_schema())
    return out


def cross_validate(corpus: Corpus, k: int = 5, settings: Settings | None = None,
                   on_fold=None) -> EvalReport:
    """Train on k-1 folds of documents, score the k-th with the project's scorer, and
    pool the counts over the folds. Seeded: two runs print the same numbers."""
    settings = settings or Settings()
    folds = _doc_folds([g["doc_id"] for g in corpus.golds], k, settings.seed)
    preds: list[dict] = []
    for n, held in enumerate(folds):
        model = train(corpus.pairs({d for d in corpus.states if d not in held}), settings)
        preds += predict(corpus, model, [d for d in held if d in corpus.states])
        if on_fold:
            on_fold(n + 1, k)
    return score_corpus(corpus.golds, preds)


def train_artifact(corpus: Corpus, directory, cv: int = 5, settings: Settings | None = None, on_step=None):
    """Train on the whole corpus, record the cross-validated scores (``cv`` folds) and the
    data hash in the artifact's meta, and write it to ``directory``."""
    from allegiance.eval.report import report_to_dict

    settings = settings or Settings()
    report = None
    scores = None
    if cv:
        report = cross_validate(corpus, cv, settings, on_fold=lambda n, k: on_step and on_step(n))
        d = report_to_dict(report)
        scores = {"folds": cv, "overall": d["overall"], "organizational_ties": d["organizational_ties"],
                  "relations": d["relations"], "entities": d["entities"], "alias_splits": d["alias_splits"]}
    from allegiance.extract import EXTRACTOR_VERSION

    meta = {"data_sha256": corpus.hash, "gold_files": [str(p).rsplit("/", 1)[-1] for p in corpus.gold_paths],
            "extractor_version": EXTRACTOR_VERSION, "cross_validation": scores}
    model = train(corpus.pairs(), settings, meta)
    model.save(Path(directory))
    if on_step:
        on_step((cv or 0) + 1)
    return model, report
