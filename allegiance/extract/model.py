"""The relation model: a probability per (candidate, relation), from a trained artifact.

The artifact is data (``allegiance/data/models/relations/``): ``meta.json`` says what it
was trained on (the hash of its gold and documents), with which settings, and how well it
did in cross-validation; ``weights.npz`` holds one logistic regression per relation over
the candidate features (``candidates.pair_features``), as plain arrays (no pickle), and a
Platt scaling per relation fitted on out-of-fold scores, so that a probability means what
it says. ``allegiance train`` writes it; extraction loads it once per process."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parents[1] / "data" / "models" / "relations"
FORMAT = 1


@dataclass
class RelationHead:
    relation: str
    bias: float
    platt_a: float      # calibrated p = sigmoid(a * score + b)
    platt_b: float
    threshold: float    # calibrated probability at which a fact is stated


class RelationModel:
    def __init__(self, vocab: list[str], weights: np.ndarray, heads: list[RelationHead], meta: dict | None = None):
        self.index = {f: i for i, f in enumerate(vocab)}
        self.vocab = list(vocab)
        self.weights = np.asarray(weights, dtype=np.float64)   # (relations, features)
        self.heads = heads
        self.meta = meta or {}

    @property
    def relations(self) -> list[str]:
        return [h.relation for h in self.heads]

    def scores(self, features: dict[str, float]) -> np.ndarray:
        """Raw decision values, one per relation."""
        cols = [self.index[f] for f in features if f in self.index]
        vals = np.array([features[self.vocab[c]] for c in cols], dtype=np.float64)
        raw = self.weights[:, cols] @ vals if cols else np.zeros(len(self.heads))
        return raw + np.array([h.bias for h in self.heads])

    def predict_many(self, rows: list[dict[str, float]]) -> list[dict[str, float]]:
        """``predict`` for many candidates in one sparse product (a document's at once)."""
        if not rows:
            return []
        from scipy import sparse

        # The (row, column, value) triples in the order of each row's features, as arrays
        # (a document has thousands; a Python append per triple cost more than the product);
        # features the model does not know are dropped. The same triples in the same order
        # as one append per feature gave: the same matrix, the same product.
        get = self.index.get
        cols: list[int] = []
        vals: list[float] = []
        lens: list[int] = []
        for feats in rows:
            cols.extend([get(f, -1) for f in feats])
            vals.extend(feats.values())
            lens.append(len(feats))
        c = np.array(cols, dtype=np.int64)
        keep = c >= 0
        r = np.repeat(np.arange(len(rows), dtype=np.int64), lens)[keep]
        v = np.array(vals, dtype=np.float64)[keep]
        X = sparse.csr_matrix((v, (r, c[keep])), shape=(len(rows), len(self.vocab)))
        raw = np.asarray(X @ self.weights.T) + np.array([h.bias for h in self.heads])
        a = np.array([h.platt_a for h in self.heads])
        b = np.array([h.platt_b for h in self.heads])
        p = 1.0 / (1.0 + np.exp(-(raw * a + b)))
        names = self.relations
        return [dict(zip(names, row)) for row in p.tolist()]

    def predict(self, features: dict[str, float]) -> dict[str, float]:
        """Calibrated probability per relation."""
        raw = self.scores(features)
        return {h.relation: _sigmoid(h.platt_a * s + h.platt_b) for h, s in zip(self.heads, raw)}

    def threshold(self, relation: str) -> float:
        for h in self.heads:
            if h.relation == relation:
                return h.threshold
        return 1.1

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "weights.npz", vocab=np.array(self.vocab, dtype=str),
                            weights=self.weights.astype(np.float32))
        meta = dict(self.meta)
        meta["format"] = FORMAT
        meta["heads"] = [h.__dict__ for h in self.heads]
        (directory / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "RelationModel":
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{directory}: model format {meta.get('format')}, expected {FORMAT}")
        with np.load(directory / "weights.npz", allow_pickle=False) as z:
            vocab, weights = [str(v) for v in z["vocab"]], z["weights"]
        heads = [RelationHead(**h) for h in meta.pop("heads")]
        return cls(vocab, weights, heads, meta)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


class NoModel:
    """Rules alone: what extraction uses when no artifact is installed."""

    relations: list[str] = []
    meta: dict = {}

    def predict(self, features):
        return {}

    def predict_many(self, rows):
        return [{} for _ in rows]

    def threshold(self, relation):
        return 1.1


@lru_cache(maxsize=1)
def default_model():
    if (MODEL_DIR / "meta.json").exists():
        return RelationModel.load(MODEL_DIR)
    return NoModel()
