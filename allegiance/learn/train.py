"""Training the relation model from gold.

One L2-regularised logistic regression per relation (scikit-learn, liblinear: exact,
deterministic, seconds on two cores) over the sparse candidate features. Why not a spaCy
trainable component: the candidates are pairs of actors that may be references resolved
across sentences, built after clustering, which spaCy's relation components do not model;
and 1,300 gold facts are too few for a neural model to beat a linear one over parse
features. The output probabilities are recalibrated on out-of-fold scores (Platt), and a
threshold per relation is chosen on the same out-of-fold scores, inside the training data
only, so that ``eval --cv`` never sees its test fold."""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

from allegiance.extract.model import RelationHead, RelationModel
from allegiance.extract.work import DocState
from allegiance.learn.labels import label_state
from allegiance.records import RELATIONS, SYMMETRIC_RELATIONS


@dataclass
class Settings:
    C: float = 0.1                 # inverse regularisation strength
    min_count: int = 2             # features seen fewer times in training are dropped
    inner_folds: int = 4           # out-of-fold scores for calibration and thresholds
    min_positives: int = 25        # a relation with fewer gets the pooled threshold
    seed: int = 0
    class_weight: float = 1.0      # weight of positives relative to negatives


@dataclass
class Example:
    doc: str
    features: dict
    labels: dict                   # relation -> 1 | 0 | None
    key: tuple                     # (doc, subject root, object root)
    rule: frozenset                # relations the rules found for this pair


def examples_for(states: list[tuple[DocState, dict]]) -> list[Example]:
    out = []
    for state, gold in states:
        doc = state.extraction.document.doc_id
        for c, labels in zip(state.candidates, label_state(state, gold)):
            rule = frozenset(f[5:] for f in c.features if f.startswith("rule:"))
            out.append(Example(doc, c.features, labels, (doc, c.subject, c.object), rule))
    return out


def gold_counts(golds: list[dict]) -> Counter:
    n = Counter()
    for g in golds:
        seen = set()
        for f in g.get("facts") or []:
            if f.get("optional"):
                continue
            k = (f["subject"], f["relation"], f["object"])
            if f["relation"] in SYMMETRIC_RELATIONS:
                k = (min(f["subject"], f["object"]), f["relation"], max(f["subject"], f["object"]))
            if k not in seen:
                seen.add(k)
                n[f["relation"]] += 1
    return n


def _vocab(examples: list[Example], min_count: int) -> list[str]:
    counts = Counter(f for e in examples for f in e.features)
    return sorted(f for f, n in counts.items() if n >= min_count)


def _matrix(examples: list[Example], index: dict[str, int]) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for i, e in enumerate(examples):
        for f, v in e.features.items():
            j = index.get(f)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append(v)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(examples), len(index)))


def _fit_raw(examples: list[Example], settings: Settings):
    """(vocab, weights (R x V), biases (R)) of one logistic regression per relation."""
    from sklearn.linear_model import LogisticRegression

    vocab = _vocab(examples, settings.min_count)
    index = {f: i for i, f in enumerate(vocab)}
    X = _matrix(examples, index)
    W = np.zeros((len(RELATIONS), len(vocab)))
    b = np.full(len(RELATIONS), -20.0)
    for r, rel in enumerate(RELATIONS):
        rows = [i for i, e in enumerate(examples) if e.labels.get(rel) is not None]
        y = np.array([examples[i].labels[rel] for i in rows])
        if len(rows) == 0 or y.sum() == 0 or y.sum() == len(y):
            continue
        clf = LogisticRegression(C=settings.C, solver="liblinear", random_state=settings.seed, max_iter=1000,
                                 class_weight={0: 1.0, 1: settings.class_weight})
        clf.fit(X[rows], y)
        W[r] = clf.coef_[0]
        b[r] = clf.intercept_[0]
    return vocab, W, b


def _doc_folds(docs: list[str], k: int, seed: int) -> list[set[str]]:
    docs = sorted(set(docs))
    random.Random(seed).shuffle(docs)
    return [set(docs[i::k]) for i in range(k)]


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    if len(y) < 10 or y.sum() == 0 or y.sum() == len(y):
        return 1.0, 0.0
    clf = LogisticRegression(C=100.0, solver="lbfgs")
    clf.fit(scores.reshape(-1, 1), y)
    return float(clf.coef_[0][0]), float(clf.intercept_[0])


def _best_threshold(tuples: list[tuple[float, int]], unreachable: int) -> tuple[float, float]:
    """(threshold, F1) over aggregated (probability, label) tuples; ``unreachable``
    gold facts are misses whatever the threshold."""
    pos_total = sum(1 for _, y in tuples if y == 1) + unreachable
    best = (0.5, -1.0)
    for t in np.arange(0.15, 0.91, 0.05):
        tp = sum(1 for p, y in tuples if p >= t and y == 1)
        fp = sum(1 for p, y in tuples if p >= t and y == 0)
        if tp == 0:
            continue
        prec, rec = tp / (tp + fp), tp / max(pos_total, 1)
        f1 = 2 * prec * rec / (prec + rec)
        if f1 > best[1] + 1e-9:
            best = (round(float(t), 2), f1)
    return best


def _aggregate(examples: list[Example], probs: np.ndarray, r: int, rel: str) -> list[tuple[float, int]]:
    """Per (document, pair): the best probability, and a label (1 if any sentence is
    positive, 0 if all are negative); pairs the rules already state are left out, since
    they are stated whatever the threshold."""
    agg: dict[tuple, list] = {}
    for i, e in enumerate(examples):
        lab = e.labels.get(rel)
        if lab is None and rel not in e.labels:
            continue
        doc, s, o = e.key
        key = (doc, rel, min(s, o), max(s, o)) if rel in SYMMETRIC_RELATIONS else (doc, rel, s, o)
        cur = agg.setdefault(key, [0.0, 0, False, False])
        cur[0] = max(cur[0], probs[i, r])
        if lab == 1:
            cur[1] = 1
        elif lab is None:
            cur[3] = True
        if rel in e.rule:
            cur[2] = True
    return [(p, y) for p, y, rule, skip in agg.values() if not rule and (y == 1 or not skip)]


def train(states: list[tuple[DocState, dict]], settings: Settings | None = None,
          meta: dict | None = None) -> RelationModel:
    settings = settings or Settings()
    examples = examples_for(states)
    golds = [g for _, g in states]
    # out-of-fold raw scores, for calibration and thresholds
    oof = np.zeros((len(examples), len(RELATIONS)))
    folds = _doc_folds([e.doc for e in examples], settings.inner_folds, settings.seed)
    for held in folds:
        tr = [e for e in examples if e.doc not in held]
        te_idx = [i for i, e in enumerate(examples) if e.doc in held]
        if not tr or not te_idx:
            continue
        vocab, W, b = _fit_raw(tr, settings)
        index = {f: i for i, f in enumerate(vocab)}
        X = _matrix([examples[i] for i in te_idx], index)
        oof[te_idx] = (X @ W.T) + b
    vocab, W, b = _fit_raw(examples, settings)
    counts = gold_counts(golds)
    heads, calibrated = [], np.zeros_like(oof)
    platts = []
    for r, rel in enumerate(RELATIONS):
        rows = [i for i, e in enumerate(examples) if e.labels.get(rel) is not None]
        y = np.array([examples[i].labels[rel] for i in rows])
        a, c = _platt(oof[rows, r], y) if rows else (1.0, 0.0)
        platts.append((a, c))
        calibrated[:, r] = 1.0 / (1.0 + np.exp(-(a * oof[:, r] + c)))
    # thresholds: pooled over all relations, then per relation where gold is plentiful
    per_rel, pooled = {}, []
    pooled_unreach = 0
    for r, rel in enumerate(RELATIONS):
        tuples = _aggregate(examples, calibrated, r, rel)
        positives = sum(1 for _, y in tuples if y == 1)
        unreachable = max(0, counts[rel] - positives)
        per_rel[rel] = (tuples, unreachable, positives)
        pooled += tuples
        pooled_unreach += unreachable
    pooled_t, _ = _best_threshold(pooled, pooled_unreach)
    for r, rel in enumerate(RELATIONS):
        tuples, unreachable, positives = per_rel[rel]
        t = pooled_t
        if positives >= settings.min_positives:
            t, _ = _best_threshold(tuples, unreachable)
        if b[r] <= -20.0:
            t = 1.1   # never trained: no positives
        heads.append(RelationHead(rel, float(b[r]), round(platts[r][0], 6), round(platts[r][1], 6), float(t)))
    meta = dict(meta or {})
    meta["settings"] = asdict(settings)
    meta["training"] = {"documents": len(states), "candidates": len(examples),
                        "positives": {rel: int(sum(1 for e in examples if e.labels.get(rel) == 1)) for rel in RELATIONS},
                        "features": len(vocab)}
    # weights rounded: the artifact stays small and byte-identical across runs
    return RelationModel(vocab, np.round(W, 5), heads, meta)


def data_hash(gold_paths: list, documents: list) -> str:
    """sha256 over the gold files and the documents' texts, in a fixed order."""
    h = hashlib.sha256()
    for p in sorted(str(x) for x in gold_paths):
        with open(p, "rb") as fh:
            h.update(fh.read())
    for d in sorted(documents, key=lambda d: d.doc_id):
        h.update(d.doc_id.encode("utf-8"))
        h.update(d.content_hash.encode("ascii"))
    return h.hexdigest()
