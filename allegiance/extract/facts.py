"""Facts: the rules and the model meet here, as ``data/combine.json`` says.

Each candidate gets a calibrated probability per relation from the model; per document,
the best-scored sentence speaks for each (subject, relation, object). A model fact keeps
that sentence as evidence, with its date, attribution and hedging; a hedged one keeps
``hedged: true`` and a lower confidence."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from allegiance.extract import context
from allegiance.extract.cues import cues
from allegiance.extract.signatures import HEDGED_FACTOR, STATE_KINDS, fits
from allegiance.extract.work import DocState
from allegiance.records import SYMMETRIC_RELATIONS, Extraction, Fact

COMBINE_PATH = Path(__file__).resolve().parents[1] / "data" / "combine.json"


@lru_cache(maxsize=1)
def combine_policy() -> dict:
    return json.loads(COMBINE_PATH.read_text(encoding="utf-8"))


def policy(relation: str, data: dict | None = None) -> dict:
    data = data or combine_policy()
    return {**data["default"], **data.get("relations", {}).get(relation, {})}


def score_candidates(state: DocState, model) -> dict[tuple, tuple[float, object]]:
    """(subject eid, relation, object eid) -> (best calibrated probability, candidate)."""
    best: dict[tuple, tuple[float, object]] = {}
    if not getattr(model, "relations", None):
        return best
    eid = state.root_to_eid
    rt, rk = state.root_type, state.root_kind
    # which relations a pair admits depends only on the types and kinds of its ends
    # (DocState.fits): asked once per combination, not once per pair
    allowed: dict[tuple, frozenset] = {}
    relations = model.relations
    probs = model.predict_many([c.features for c in state.candidates])
    for c, predicted in zip(state.candidates, probs):
        sig = (rt[c.subject], rk.get(c.subject), rt[c.object], rk.get(c.object))
        ok_rels = allowed.get(sig)
        if ok_rels is None:
            ok_rels = allowed[sig] = frozenset(r for r in relations if state.fits(r, c.subject, c.object))
        if not ok_rels:
            continue
        for rel, p in predicted.items():
            if rel not in ok_rels:
                continue
            key = _key(eid[c.subject], rel, eid[c.object])
            if key not in best or p > best[key][0]:
                best[key] = (p, c)
    return best


def finish(state: DocState, model, combine: dict | None = None) -> Extraction:
    ex = state.extraction
    scored = score_candidates(state, model)
    facts: dict[tuple, Fact] = {}
    for f in state.rule_facts:
        pol = policy(f.relation, combine)
        key = _key(f.subject, f.relation, f.object)
        if pol["rules"] == "drop":
            continue
        if pol["rules"] == "confirm" and scored and scored.get(key, (0.0,))[0] < pol["rule_floor"]:
            continue
        facts.setdefault(key, f)
    # an attack told without its attacker, claimed in a later sentence
    for a, t, k in state.events:
        if not _fits_refs("attacked", a, t):
            continue
        key = _key(state.root_to_eid[a.entity], "attacked", state.root_to_eid[t.entity])
        if key not in facts and policy("attacked", combine)["rules"] != "drop":
            sent = state.sentences[k]
            facts[key] = Fact(key[0], "attacked", key[2], sent.evidence, sent.raw_start, sent.raw_end, sent.date,
                              0.7, False, sent.attributed_to, {"date": sent.date} if sent.date else {}, "frame-claim")
    pol_all = combine or combine_policy()
    # "X carried out the attack on Y", "X claimed the bombing of Y"
    if pol_all.get("frame_carried_attacks"):
        _frame_facts(state, facts, state.carried_attacks, 0.65, "frame-carry")
    # an attack on a building, a convoy, a village of a place: the place was attacked
    if pol_all.get("frame_place_attacks"):
        _frame_facts(state, facts, state.place_attacks, 0.6, "frame-place", place=True)
    for key, (p, c) in scored.items():
        s, rel, o = key
        pol = policy(rel, combine)
        if not pol["model"] or key in facts:
            continue
        if p < model.threshold(rel) + pol["threshold_offset"]:
            continue
        sent = state.sentences[c.sentence]
        # a denied or negated statement states nothing, as for the rules
        if c.negated or context.denied_span(sent.skeleton):
            continue
        if "oqual" in c.features and rel in (combine or combine_policy()).get("qualifier_blocks", ()):
            continue
        conf = p * (HEDGED_FACTOR if c.hedged else 1.0)
        attributes: dict = {}
        if rel == "attacked":
            k = context.killed(sent.span.text)
            if k is not None:
                attributes["killed"] = k
            place = o if _is_place(ex, o) else next(
                (state.root_to_eid[r.entity] for r in sent.refs if r.type == "PLACE"), None)
            if place is None and state.dateline_place is not None:
                place = state.root_to_eid[state.dateline_place]   # "LIMA, 20 Aug 88 (EFE) --"
            if place is not None:
                attributes["place"] = place
            if sent.date:
                attributes["date"] = sent.date
        facts[key] = Fact(s, rel, o, sent.evidence, sent.raw_start, sent.raw_end, sent.date, round(conf, 3),
                          c.hedged, sent.attributed_to, attributes, "model")
    out = list(facts.values())
    # a directed tie holds one way: "A is a branch of B" and "B is a branch of A" cannot
    # both be stated; the better-supported direction stays
    best = {(f.subject, f.relation, f.object): f.confidence for f in out}
    out = [f for f in out if f.relation in SYMMETRIC_RELATIONS or f.relation == "attacked"
           or best.get((f.object, f.relation, f.subject), -1.0) <= f.confidence]
    leaders = {(f.subject, f.object) for f in out if f.relation == "leader_of"}
    out = [f for f in out if not (f.relation == "member_of" and (f.subject, f.object) in leaders)]
    out.sort(key=lambda f: (f.start, f.relation))
    ex.facts = out
    return ex



def _frame_facts(state: DocState, facts: dict, triples, confidence: float, rule: str, place: bool = False) -> None:
    """attacked(attacker, target) for each (attacker ref, target ref, sentence) an attack
    frame states, unless the pair is stated already or the sentence is negated."""
    for a, t, k in triples:
        if not _fits_refs("attacked", a, t):
            continue
        # a state's forces fight in a place, they do not attack it ("troops killed 30
        # militants in X"); the place is where their operation ran
        if place and (a.kind in STATE_KINDS or a.kind == "country"):
            continue
        key = _key(state.root_to_eid[a.entity], "attacked", state.root_to_eid[t.entity])
        sent = state.sentences[k]
        # a plain "not" was read in the frame's own clause (events.clause_negated): here
        # only a denial of the whole sentence ("X denied that it attacked Y") stops it
        if key in facts or sent_denied(sent):
            continue
        attributes = {"place": key[2]} if place else {}
        if sent.date:
            attributes["date"] = sent.date
        facts[key] = Fact(key[0], "attacked", key[2], sent.evidence, sent.raw_start, sent.raw_end, sent.date,
                          confidence, False, sent.attributed_to, attributes, rule)

def _key(s: str, rel: str, o: str) -> tuple:
    if rel in SYMMETRIC_RELATIONS and s > o:
        s, o = o, s
    return (s, rel, o)


def _is_place(ex: Extraction, eid: str) -> bool:
    return any(e.id == eid and e.type == "PLACE" for e in ex.entities)


def _fits_refs(relation: str, a, t) -> bool:
    return fits(relation, a.type, a.kind, t.type, t.kind)


def sent_denied(sent) -> bool:
    """The sentence denies or refutes what it tells ("denied", "false reports", "no
    longer"): the negation cues other than the clause-scoped ones."""
    plain = _clause_negators()
    return any(w.lower() not in plain for w in context.find_negations(sent.evidence)) or bool(
        context.denied_span(sent.skeleton))


@lru_cache(maxsize=1)
def _clause_negators() -> frozenset:
    return frozenset(cues()["clause_negators"])
