"""Evaluation against gold annotations (SCHEMA.md, "Scoring")."""
from .scoring import (
    Counts,
    DocScore,
    EntityCounts,
    EvalReport,
    FalsePositive,
    Miss,
    load_gold,
    load_jsonl,
    load_predictions,
    map_entities,
    score_corpus,
    score_document,
)

__all__ = [
    "Counts", "DocScore", "EntityCounts", "EvalReport", "FalsePositive", "Miss",
    "load_gold", "load_jsonl", "load_predictions", "map_entities", "score_corpus",
    "score_document",
]
