"""Labelling candidates from gold, as the scorer would judge them.

A candidate's ends are mapped to gold entities by SCHEMA.md's name mapping. For each
relation its types admit, the candidate is
- positive when gold states that fact and the candidate's sentence is the fact's
  evidence sentence (the same sentence, or one of them holds the other);
- left out (None) when the gold fact is optional (the scorer neither rewards nor
  penalises it), or when gold states the fact from another sentence of the document
  that has a positive candidate of its own (this sentence may or may not say it too);
- positive, as a weaker instance, when gold states the fact from a sentence where no
  candidate can reach it (an end named only in a way the mentions miss there): the
  scorer counts the fact for the document whatever sentence states it, and the pair's
  other sentences are what extraction can learn it from (multi-instance learning,
  as in distant supervision; ``eval --cv 5`` chose it: F1 0.416 -> 0.425);
- negative otherwise."""
from __future__ import annotations

import re

from allegiance.eval.scoring import map_entities, normalize
from allegiance.extract.work import DocState
from allegiance.records import RELATIONS, SYMMETRIC_RELATIONS

_WORDS = re.compile(r"\w+")
# the label of a candidate whose fact gold states from another sentence of the document
OTHER_SENTENCE = None


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(normalize(text)))


def same_sentence(sentence: str, evidence: str) -> bool:
    a, b = " ".join(normalize(sentence).split()), " ".join(normalize(evidence).split())
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    wa, wb = _words(a), _words(b)
    return len(wa & wb) >= 0.7 * min(len(wa), len(wb))


def gold_index(gold: dict) -> dict[tuple, list[dict]]:
    """(gold subject, relation, gold object) -> gold facts; symmetric facts both ways."""
    out: dict[tuple, list[dict]] = {}
    for f in gold.get("facts") or []:
        out.setdefault((f["subject"], f["relation"], f["object"]), []).append(f)
        if f["relation"] in SYMMETRIC_RELATIONS:
            out.setdefault((f["object"], f["relation"], f["subject"]), []).append(f)
    return out


def entity_mapping(state: DocState, gold: dict) -> dict[int, str | None]:
    """cluster root -> gold entity id."""
    schema = state.extraction.to_schema()["entities"]
    by_eid = map_entities(gold.get("entities") or [], schema)
    return {root: by_eid.get(eid) for root, eid in state.root_to_eid.items()}


def label_state(state: DocState, gold: dict) -> list[dict[str, int | None]]:
    """One ``{relation: 1 | 0 | None}`` per candidate of ``state`` (relations its
    types admit only)."""
    mapping = entity_mapping(state, gold)
    index = gold_index(gold)
    out = []
    for c in state.candidates:
        gs, go = mapping.get(c.subject), mapping.get(c.object)
        labels: dict[str, int | None] = {}
        evidence = state.sentences[c.sentence].evidence
        for rel in RELATIONS:
            if not state.fits(rel, c.subject, c.object):
                continue
            facts = index.get((gs, rel, go)) if gs and go and gs != go else None
            if not facts:
                labels[rel] = 0
            elif all(f.get("optional") for f in facts):
                labels[rel] = None
            elif any(not f.get("optional") and same_sentence(evidence, f.get("evidence") or "") for f in facts):
                labels[rel] = 1
            else:
                labels[rel] = OTHER_SENTENCE
        out.append(labels)
    # facts gold states from a sentence no candidate reaches: their other sentences speak for them
    reached = {(mapping.get(c.subject), rel, mapping.get(c.object))
               for c, labels in zip(state.candidates, out) for rel, v in labels.items() if v == 1}
    for c, labels in zip(state.candidates, out):
        gs, go = mapping.get(c.subject), mapping.get(c.object)
        for rel, v in labels.items():
            if v is OTHER_SENTENCE and (gs, rel, go) not in reached and any(
                    not f.get("optional") for f in index.get((gs, rel, go)) or ()):
                labels[rel] = 1
    return out
