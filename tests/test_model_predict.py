"""RelationModel.predict_many: one sparse product for many candidates must give what
predict gives for each alone. Feature names and weights are made up."""
from __future__ import annotations

import numpy as np

from allegiance.extract.model import RelationHead, RelationModel


def small_model() -> RelationModel:
    vocab = ["T=ORG>ORG", "b:pledge", "b:to", "p:nsubj^ vpobj", "rule:joined"]
    weights = np.array([[0.5, 2.0, 0.1, -0.3, 0.0], [-1.0, 0.0, 0.4, 1.5, 2.5]])
    heads = [RelationHead("pledged_allegiance_to", -1.0, 1.2, -0.1, 0.5), RelationHead("joined", 0.2, 0.9, 0.3, 0.5)]
    return RelationModel(vocab, weights, heads)


def test_predict_many_is_predict_per_row_with_unknown_features_dropped():
    m = small_model()
    rows = [{"T=ORG>ORG": 1.0, "b:pledge": 1.0, "never-seen": 1.0},
            {"never-seen": 1.0},
            {"rule:joined": 1.0, "p:nsubj^ vpobj": 1.0, "b:to": 0.5, "T=ORG>ORG": 1.0},
            {}]
    got = m.predict_many(rows)
    assert len(got) == len(rows)
    for row, probs in zip(rows, got):
        want = m.predict(row)
        assert probs.keys() == want.keys()
        for rel in want:
            assert abs(probs[rel] - want[rel]) < 1e-12
    assert m.predict_many([]) == []
