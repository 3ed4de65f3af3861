"""Document-level 5-fold cross-validation over all shared gold (seeds + dev + train): the
number that measures what generalises. The relation model is trained on four folds and
scored on the fifth, exactly as `allegiance eval --cv 5` does.

Two of the issue's bars are reached and enforced as they stand: organizational ties F1 at
least 0.45 (this version: 0.482) and at most 25 alias splits (25). The others are floors at
what this version reaches (F1 0.455, ORG recall 0.916) less a small margin: they stop a change
that makes extraction generalise worse, below the issue's targets (F1 0.50, ORG recall 0.92),
which this version does not reach."""
from __future__ import annotations

from pathlib import Path

import pytest

from allegiance.eval.report import organizational_ties

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(not (SHARED / "gold" / "train.jsonl").is_file(),
                                  reason="../shared (train, dev and seed gold) not present")


@pytest.fixture(scope="module")
def cv_report():
    from allegiance.learn.cv import cross_validate, load_corpus

    corpus = load_corpus([SHARED / "gold" / f"{n}.jsonl" for n in ("seeds", "dev", "train")],
                         [str(SHARED / "corpus" / n) for n in ("seeds", "dev", "train")])
    assert len(corpus.golds) == 121 and not corpus.missing
    return cross_validate(corpus, 5)


@needs_shared
def test_cross_validated_relation_f1(cv_report):
    assert cv_report.overall.gold == 1284
    assert cv_report.overall.f1 >= 0.44, f"CV F1 {cv_report.overall.f1:.3f}"
    assert organizational_ties(cv_report).f1 >= 0.45, f"CV ties F1 {organizational_ties(cv_report).f1:.3f}"


@needs_shared
def test_cross_validated_entities(cv_report):
    assert cv_report.entities["ORG"].recall >= 0.90, f"ORG recall {cv_report.entities['ORG'].recall:.3f}"
    assert cv_report.alias_splits <= 25, f"alias splits {cv_report.alias_splits}"


@needs_shared
def test_cross_validation_is_seeded(cv_report):
    """Two runs print the same numbers: the folds and the fits are deterministic."""
    from allegiance.learn.cv import cross_validate, load_corpus

    corpus = load_corpus([SHARED / "gold" / "seeds.jsonl", SHARED / "gold" / "dev.jsonl"],
                         [str(SHARED / "corpus" / "seeds"), str(SHARED / "corpus" / "dev")])
    a, b = cross_validate(corpus, 3), cross_validate(corpus, 3)
    assert (a.overall.matched, a.overall.pred) == (b.overall.matched, b.overall.pred)
