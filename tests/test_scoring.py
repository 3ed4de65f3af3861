"""Pinned hand-made cases for the scorer (SCHEMA.md, "Scoring")."""
from __future__ import annotations

import io
import json
from fractions import Fraction

import pytest
from rich.console import Console

from allegiance.eval import load_gold, map_entities, score_corpus, score_document
from allegiance.eval.report import render_report, report_to_dict


def ent(id, name, type="ORG", aliases=()):
    return {"id": id, "type": type, "name": name, "aliases": list(aliases)}


def fact(s, rel, o, optional=False, evidence="ev"):
    return {"subject": s, "relation": rel, "object": o, "optional": optional,
            "evidence": evidence, "attributes": {}, "attributed_to": None}


def gold_doc(entities, facts, doc_id="d1"):
    return {"doc_id": doc_id, "entities": entities, "facts": facts}


def pred_doc(entities, facts, doc_id="d1"):
    return {"doc_id": doc_id, "entities": entities, "facts": facts}


GOLD_ENTS = [
    ent("front", "Red Hills Front", aliases=["RHF"]),
    ent("brigade", "Blue River Brigade", aliases=["BRB"]),
    ent("kadir", "Omar Kadir", "PERSON", aliases=["Abu Salim"]),
    ent("valdoria", "Valdoria", "PLACE"),
]


def approx(fr):
    return pytest.approx(float(fr))


# ------------------------------------------------------------------ exact match

def test_exact_match_scores_one():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front"),
                             fact("front", "active_in", "valdoria")])
    p = pred_doc([ent("e1", "Red Hills Front"), ent("e2", "Omar Kadir", "PERSON"),
                  ent("e3", "Valdoria", "PLACE")],
                 [fact("e2", "leader_of", "e1"), fact("e1", "active_in", "e3")])
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (2, 2, 2)
    assert o.precision == o.recall == o.f1 == 1.0
    assert s.relations["leader_of"].matched == 1
    assert s.misses == [] and s.false_positives == []


# ------------------------------------------------------------------ direction

@pytest.mark.parametrize("rel", ["allied_with", "rival_of"])
@pytest.mark.parametrize("reverse", [False, True])
def test_symmetric_relations_match_either_direction(rel, reverse):
    g = gold_doc(GOLD_ENTS, [fact("front", rel, "brigade")])
    ends = ("e2", "e1") if reverse else ("e1", "e2")
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB")], [fact(ends[0], rel, ends[1])])
    o = score_document(g, p).overall
    assert (o.gold, o.pred, o.matched) == (1, 1, 1)


def test_directed_relation_does_not_match_reversed():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front")])
    p = pred_doc([ent("e1", "Red Hills Front"), ent("e2", "Omar Kadir", "PERSON")],
                 [fact("e1", "leader_of", "e2")])
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (1, 1, 0)
    assert len(s.misses) == 1 and len(s.false_positives) == 1
    fp = s.false_positives[0]
    assert (fp.subject, fp.object) == ("Red Hills Front", "Omar Kadir")
    assert (fp.subject_mapped, fp.object_mapped) == ("front", "kadir")


def test_relation_must_be_equal():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front")])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "Abu Salim", "PERSON")],
                 [fact("e2", "member_of", "e1")])
    s = score_document(g, p)
    assert s.relations["leader_of"].gold == 1 and s.relations["leader_of"].matched == 0
    assert s.relations["member_of"].pred == 1 and s.relations["member_of"].matched == 0


# ------------------------------------------------------------------ mapping

def test_mapping_by_most_shared_names():
    gold = [ent("a", "North Wing", aliases=["NW"]),
            ent("b", "North Wing Army", aliases=["NW", "NWA"])]
    # shares 1 name with a (NW), 2 with b (NW, NWA)
    pred = [ent("p1", "NWA", aliases=["NW"])]
    assert map_entities(gold, pred) == {"p1": "b"}


def test_mapping_tie_goes_to_earlier_gold_entity():
    gold = [ent("a", "North Wing", aliases=["NW"]),
            ent("b", "North Wing Army", aliases=["NW"])]
    assert map_entities(gold, [ent("p1", "NW")]) == {"p1": "a"}
    # order in the gold list decides, not ids
    assert map_entities(list(reversed(gold)), [ent("p1", "NW")]) == {"p1": "b"}


def test_mapping_none_when_no_shared_name_and_type_ignored():
    gold = [ent("a", "North Wing")]
    assert map_entities(gold, [ent("p1", "South Wing")]) == {"p1": None}
    # type does not take part in the mapping
    assert map_entities(gold, [ent("p2", "North Wing", "PLACE")]) == {"p2": "a"}


@pytest.mark.parametrize("gold_name,pred_name", [
    ("Émir Belkacém", "emir belkacem"),             # diacritics + case
    ("The Sand Legion", "Sand Legion"),              # leading "the "
    ("Sand Legion", "the sand legion"),
    ("Jund al-Qasr", "Jund al Qasr"),                # hyphen
    ("Dar al-Ma'arif", "Dar al Ma arif"),            # apostrophe
    ("Dar al Ma’arif", "dar al-ma'arif"),            # typographic apostrophe
    ("J.S.F.", "j s f"),                             # dots
    ("Sand   Legion", "sand legion"),                # whitespace
])
def test_normalisation_in_mapping(gold_name, pred_name):
    assert map_entities([ent("g", gold_name)], [ent("p", pred_name)]) == {"p": "g"}


def test_normalisation_does_not_merge_different_names():
    assert map_entities([ent("g", "Sand Legion")], [ent("p", "Sand Legions")]) == {"p": None}


def test_aliases_count_on_both_sides():
    gold = [ent("g", "Omar Kadir", "PERSON", aliases=["Abu Salim"])]
    pred = [ent("p", "O. Kadir", "PERSON", aliases=["abu-salim"])]
    assert map_entities(gold, pred) == {"p": "g"}


# ------------------------------------------------------------------ optional facts

def test_optional_matches_dropped_from_both_sides():
    g = gold_doc(GOLD_ENTS, [fact("front", "joined", "brigade", optional=True),
                             fact("kadir", "leader_of", "front")])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB"), ent("e3", "Omar Kadir", "PERSON")],
                 [fact("e1", "joined", "e2"), fact("e3", "leader_of", "e1")])
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (1, 1, 1)
    assert s.relations["joined"].gold == 0 and s.relations["joined"].pred == 0
    assert s.false_positives == [] and s.misses == []
    assert s.dropped_optional == 1


def test_unpredicted_optional_is_not_a_miss():
    g = gold_doc(GOLD_ENTS, [fact("front", "joined", "brigade", optional=True)])
    s = score_document(g, pred_doc([], []))
    assert s.overall.gold == 0 and s.misses == []


def test_match_with_optional_and_non_optional_counts_as_non_optional():
    # the same symmetric fact annotated optional one way and firm the other way
    g = gold_doc(GOLD_ENTS, [fact("front", "allied_with", "brigade", optional=True),
                             fact("brigade", "allied_with", "front")])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB")], [fact("e1", "allied_with", "e2")])
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (1, 1, 1)
    assert s.dropped_optional == 0


def test_recall_denominator_excludes_optional():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front"),
                             fact("front", "active_in", "valdoria"),
                             fact("front", "joined", "brigade", optional=True),
                             fact("brigade", "active_in", "valdoria", optional=True)])
    p = pred_doc([ent("e1", "RHF"), ent("e3", "Omar Kadir", "PERSON")],
                 [fact("e3", "leader_of", "e1")])
    o = score_document(g, p).overall
    assert o.gold == 2
    assert o.recall == approx(Fraction(1, 2))
    assert o.precision == 1.0


# ------------------------------------------------------------------ duplicates

def test_duplicates_of_matched_fact_count_once():
    g = gold_doc(GOLD_ENTS, [fact("front", "rival_of", "brigade"),
                             fact("front", "active_in", "valdoria")])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB"), ent("e4", "Red Hills Front"),
                  ent("e3", "Valdoria", "PLACE")],
                 [fact("e1", "rival_of", "e2"),
                  fact("e2", "rival_of", "e1"),       # symmetric duplicate
                  fact("e4", "rival_of", "e2"),       # split entity, same mapping
                  fact("e1", "active_in", "e3")])
    o = score_document(g, p).overall
    assert (o.gold, o.pred, o.matched) == (2, 2, 2)
    assert o.precision == 1.0


def test_unmatched_duplicates_count_once_per_key():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front")])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB"), ent("e3", "Omar Kadir", "PERSON")],
                 [fact("e3", "leader_of", "e1"),
                  fact("e1", "allied_with", "e2"),
                  fact("e2", "allied_with", "e1"),    # same key, symmetric
                  fact("e1", "allied_with", "e2"),    # exact duplicate
                  fact("e3", "member_of", "e2"),
                  fact("e3", "member_of", "e2")])
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (1, 3, 1)
    assert o.precision == approx(Fraction(1, 3))
    fps = {(fp.relation, fp.count) for fp in s.false_positives}
    assert fps == {("allied_with", 3), ("member_of", 2)}


def test_directed_reversed_facts_are_distinct_keys():
    g = gold_doc(GOLD_ENTS, [])
    p = pred_doc([ent("e1", "RHF"), ent("e2", "BRB")],
                 [fact("e1", "affiliate_of", "e2"), fact("e2", "affiliate_of", "e1")])
    assert score_document(g, p).overall.pred == 2


# ------------------------------------------------------------------ unmapped ends

def test_unmapped_ends_are_false_positives_keyed_by_pred_id():
    g = gold_doc(GOLD_ENTS, [fact("front", "active_in", "valdoria")])
    p = pred_doc([ent("e1", "RHF"), ent("x1", "Green Coast", "PLACE"),
                  ent("x2", "Grey Mountains", "PLACE")],
                 [fact("e1", "active_in", "x1"),
                  fact("e1", "active_in", "x1"),       # duplicate: once
                  fact("e1", "active_in", "x2"),       # different unmapped entity: separate
                  fact("e1", "active_in", "ghost")])   # id not among the entities
    s = score_document(g, p)
    o = s.overall
    assert (o.gold, o.pred, o.matched) == (1, 3, 0)
    by_obj = {fp.object: fp for fp in s.false_positives}
    assert set(by_obj) == {"Green Coast", "Grey Mountains", "ghost"}
    assert by_obj["Green Coast"].subject_mapped == "front"
    assert by_obj["Green Coast"].object_mapped is None
    assert by_obj["Green Coast"].count == 2


def test_two_unmapped_entities_with_same_name_are_separate_keys():
    g = gold_doc(GOLD_ENTS, [])
    p = pred_doc([ent("x1", "Nowhere Group"), ent("x2", "Nowhere Group"), ent("e1", "RHF")],
                 [fact("x1", "rival_of", "e1"), fact("x2", "rival_of", "e1")])
    assert score_document(g, p).overall.pred == 2


# ------------------------------------------------------------------ entities

def test_entity_recall_per_type_and_splits():
    g = gold_doc(GOLD_ENTS, [])
    p = pred_doc([ent("p1", "Red Hills Front"), ent("p2", "RHF"),  # split of front
                  ent("p3", "rhf", aliases=["Red Hills Front"]),   # third mapping to front
                  ent("p4", "Abu Salim", "PERSON"),
                  ent("p5", "Omar Kadir", "PERSON"),               # split of kadir
                  ent("p6", "Somewhere", "PLACE")], [])
    s = score_document(g, p)
    e = s.entities
    assert (e["ORG"].gold, e["ORG"].found, e["ORG"].splits) == (2, 1, 1)
    assert e["ORG"].recall == approx(Fraction(1, 2))
    assert (e["PERSON"].gold, e["PERSON"].found, e["PERSON"].splits) == (1, 1, 1)
    assert (e["PLACE"].gold, e["PLACE"].found, e["PLACE"].splits) == (1, 0, 0)
    assert e["PLACE"].recall == 0.0
    assert s.alias_splits == 2


def test_entity_type_is_gold_type():
    g = gold_doc([ent("g", "Valdoria", "PLACE")], [])
    s = score_document(g, pred_doc([ent("p", "Valdoria", "ORG")], []))
    assert s.entities["PLACE"].found == 1 and s.entities["ORG"].gold == 0


# ------------------------------------------------------------------ arithmetic / corpus

def test_prf_arithmetic_exact_micro_over_corpus():
    g1 = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front"),
                              fact("front", "active_in", "valdoria"),
                              fact("brigade", "active_in", "valdoria")], doc_id="d1")
    g2 = gold_doc(GOLD_ENTS, [fact("kadir", "member_of", "brigade"),
                              fact("front", "rival_of", "brigade")], doc_id="d2")
    ents = [ent("e1", "RHF"), ent("e2", "BRB"), ent("e3", "Omar Kadir", "PERSON"),
            ent("e4", "Valdoria", "PLACE")]
    p1 = pred_doc(ents, [fact("e3", "leader_of", "e1"),      # TP
                         fact("e1", "active_in", "e4"),      # TP
                         fact("e2", "attacked", "e4")], doc_id="d1")   # FP
    p2 = pred_doc(ents, [fact("e3", "member_of", "e2"),      # TP
                         fact("e1", "allied_with", "e2"),    # FP
                         fact("e3", "leader_of", "e2")], doc_id="d2")  # FP
    r = score_corpus([g1, g2], [p1, p2])
    o = r.overall
    assert (o.gold, o.pred, o.matched) == (5, 6, 3)
    P, R = Fraction(3, 6), Fraction(3, 5)
    assert o.precision == approx(P)
    assert o.recall == approx(R)
    assert o.f1 == approx(2 * P * R / (P + R))
    la = r.relations["active_in"]
    assert (la.gold, la.pred, la.matched) == (2, 1, 1)
    assert la.f1 == approx(Fraction(2, 3))
    lo = r.relations["leader_of"]
    assert (lo.gold, lo.pred, lo.matched) == (1, 2, 1)
    assert lo.precision == approx(Fraction(1, 2))
    assert r.relations["rival_of"].f1 == 0.0          # P + R == 0
    assert r.relations["defected_from"].precision == 0.0  # nothing at all


def test_missing_prediction_document_counts_as_misses_and_extra_is_ignored():
    g1 = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front")], doc_id="d1")
    g2 = gold_doc(GOLD_ENTS, [fact("front", "active_in", "valdoria"),
                              fact("front", "joined", "brigade", optional=True)], doc_id="d2")
    p1 = pred_doc([ent("e1", "RHF"), ent("e3", "Omar Kadir", "PERSON")],
                  [fact("e3", "leader_of", "e1")], doc_id="d1")
    extra = pred_doc([ent("e1", "RHF"), ent("e2", "BRB")],
                     [fact("e1", "rival_of", "e2")], doc_id="elsewhere")
    r = score_corpus([g1, g2], [extra, p1])
    o = r.overall
    assert (o.gold, o.pred, o.matched) == (2, 1, 1)
    assert o.recall == approx(Fraction(1, 2)) and o.precision == 1.0
    assert r.unmatched_predictions == ["elsewhere"]
    assert r.missing_predictions == ["d2"]
    assert [(m.doc_id, m.subject, m.relation, m.object) for m in r.misses] == \
        [("d2", "front", "active_in", "valdoria")]
    assert r.misses[0].evidence == "ev"
    d2 = [d for d in r.documents if d.doc_id == "d2"][0]
    assert not d2.has_prediction
    assert r.entities["ORG"].gold == 4 and r.entities["ORG"].found == 1


def test_entity_recall_and_splits_over_corpus():
    g1 = gold_doc(GOLD_ENTS, [], doc_id="d1")
    g2 = gold_doc([ent("front", "Red Hills Front", aliases=["RHF"])], [], doc_id="d2")
    p1 = pred_doc([ent("a", "RHF"), ent("b", "Red Hills Front")], [], doc_id="d1")
    p2 = pred_doc([ent("a", "RHF")], [], doc_id="d2")
    r = score_corpus([g1, g2], [p1, p2])
    assert (r.entities["ORG"].gold, r.entities["ORG"].found) == (3, 2)
    assert r.entities["ORG"].recall == approx(Fraction(2, 3))
    assert r.alias_splits == 1 and r.entities["ORG"].splits == 1


# ------------------------------------------------------------------ I/O and report

def test_load_gold_reads_json_lines(tmp_path):
    path = tmp_path / "g.jsonl"
    docs = [gold_doc(GOLD_ENTS, [], doc_id="a"), gold_doc([], [], doc_id="b")]
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n\n", encoding="utf-8")
    assert [d["doc_id"] for d in load_gold(path)] == ["a", "b"]


def _sample_report():
    g = gold_doc(GOLD_ENTS, [fact("kadir", "leader_of", "front", evidence="gold [ev]"),
                             fact("front", "active_in", "valdoria")])
    p = pred_doc([ent("e1", "RHF"), ent("e3", "Valdoria", "PLACE"), ent("x", "Nobody")],
                 [fact("e1", "active_in", "e3"), fact("x", "attacked", "e1", evidence="pred ev")])
    return score_corpus([g], [p])


def test_render_report_tables_and_errors():
    buf = io.StringIO()
    render_report(_sample_report(), Console(file=buf, width=140, color_system=None), errors=True)
    out = buf.getvalue()
    for word in ("leader_of", "recruits_in", "attacked", "overall", "PERSON", "PLACE",
                 "alias splits: 0", "MISS", "FP", "gold [ev]", "pred ev", "Nobody"):
        assert word in out
    assert out.index("leader_of") < out.index("member_of") < out.index("attacked") < out.index("overall")

    buf = io.StringIO()
    render_report(_sample_report(), Console(file=buf, width=140, color_system=None))
    assert "MISS" not in buf.getvalue()


def test_report_to_dict_is_json():
    d = report_to_dict(_sample_report())
    json.dumps(d)
    assert d["overall"]["gold"] == 2 and d["overall"]["pred"] == 2 and d["overall"]["matched"] == 1
    assert list(d["relations"])[:2] == ["leader_of", "member_of"]
    assert d["entities"]["ORG"]["gold"] == 2
    assert d["misses"][0]["relation"] == "leader_of"
    assert d["false_positives"][0]["object_mapped"] == "front"
    assert d["false_positives"][0]["subject_mapped"] is None
