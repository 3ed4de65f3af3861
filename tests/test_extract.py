"""Extraction behaviour on sentences written for these tests (general constructions)."""
from __future__ import annotations

import pytest

from allegiance.clean import clean_document
from allegiance.extract import extract_document
from allegiance.extract.context import date_expressions, killed, resolve_date, sentence_date
from allegiance.records import Document


def run(text: str, published: str | None = "2019-06-15"):
    doc = Document(doc_id="t.txt", source="t.txt", raw_text=text, content_hash="x")
    doc = clean_document(doc)
    doc.published = published
    ex = extract_document(doc)
    names = {e.id: e for e in ex.entities}
    facts = {(names[f.subject].name, f.relation, names[f.object].name): f for f in ex.facts}
    return ex, names, facts


def entity(ex, name):
    return next(e for e in ex.entities if e.name == name)


def test_acronym_definition_and_alias_glue_make_one_actor():
    ex, _, _ = run("Militant News\n\nThe Northern Liberation Front (NLF) attacked a convoy. Later the NLF withdrew. "
                   "Its commander Abu Harith al-Tamimi, also known as Khalid Omar, spoke on Tuesday.")
    nlf = [e for e in ex.entities if "NLF" in e.aliases]
    assert len(nlf) == 1 and "Northern Liberation Front" in nlf[0].aliases
    person = [e for e in ex.entities if "Khalid Omar" in e.aliases]
    assert len(person) == 1 and "Abu Harith al-Tamimi" in person[0].aliases


def test_transliterations_and_nom_de_guerre_resolve_through_the_gazetteer():
    ex, _, facts = run("Report\n\nAl Qaida leader Ayman al-Zawahri praised the attack. "
                       "AQIM, which is led by Abu Musab Abdel Wadoud, issued a statement.")
    assert ("Ayman al-Zawahiri", "leader_of", "al-Qaeda") in facts
    assert ("Abdelmalek Droukdel", "leader_of", "al-Qaeda in the Islamic Maghreb") in facts


def test_pledge_to_a_list_skips_organisations_that_only_qualify_leaders():
    _, _, facts = run("Report\n\nThe Northern Liberation Front pledged allegiance to Taliban leader Mullah Haibatullah "
                      "and al-Qaeda leader Ayman al-Zawahiri.")
    assert ("Northern Liberation Front", "pledged_allegiance_to", "Haibatullah Akhundzada") in facts
    assert ("Northern Liberation Front", "pledged_allegiance_to", "Ayman al-Zawahiri") in facts
    assert ("Northern Liberation Front", "pledged_allegiance_to", "Taliban") not in facts
    assert ("Haibatullah Akhundzada", "leader_of", "Taliban") in facts


def test_negated_statements_produce_no_fact():
    _, _, facts = run("Report\n\nThe Northern Liberation Front denied that it had pledged allegiance to the Islamic State. "
                      "Reports that Boko Haram defected from the Islamic State were wrong.")
    assert not [k for k in facts if k[1] in ("pledged_allegiance_to", "defected_from")]


def test_hedged_statements_are_flagged_with_lower_confidence():
    _, _, facts = run("Report\n\nThe Northern Liberation Front is believed to have joined the Islamic State. "
                      "Ansar Dine joined al-Qaeda in the Islamic Maghreb.")
    hedged = facts[("Northern Liberation Front", "joined", "Islamic State")]
    plain = facts[("Ansar Dine", "joined", "al-Qaeda in the Islamic Maghreb")]
    assert hedged.hedged and not plain.hedged and hedged.confidence < plain.confidence


def test_attack_carries_killed_place_date_and_attribution():
    ex, names, facts = run("Report\n\nBoko Haram attacked Nigerian soldiers in Maiduguri on March 3, killing 12, "
                           "officials said.")
    f = facts[("Boko Haram", "attacked", next(n.name for n in ex.entities if "Nigerian soldiers" in n.aliases))]
    assert f.attributes["killed"] == 12
    assert names[f.attributes["place"]].name == "Maiduguri"
    assert f.date == "2019-03-03"
    assert f.attributed_to == "officials"


def test_merger_of_a_list_into_a_new_group():
    _, _, facts = run("Report\n\nAnsar Dine, al-Mourabitoun and Katiba Macina merged to form "
                      "Jama'at Nusrat al-Islam wal-Muslimin in March 2017.")
    for g in ("Ansar Dine", "al-Mourabitoun", "Katiba Macina"):
        assert (g, "merged_into", "Jama'at Nusrat al-Islam wal-Muslimin") in facts


def test_evidence_offsets_point_into_the_raw_text():
    raw = "Skip to main content\n\nReport\n\nBoko Haram is active in Nigeria and Niger.\n\nShare this article\n"
    ex, _, facts = run(raw)
    assert facts
    for f in ex.facts:
        assert raw[f.start:f.end] == f.evidence


@pytest.mark.parametrize("expr,published,expected", [
    ("July 2014", None, "2014-07"),
    ("last August", "2017-01-20", "2016-08"),
    ("on July 30", "2014-08-05", "2014-07-30"),
    ("in 2015", None, "2015"),
    ("two weeks", "2020-01-01", None),
    ("July 30", None, None),
])
def test_dates_resolve_against_the_publication_date(expr, published, expected):
    assert resolve_date(expr, published) == expected


@pytest.mark.parametrize("expr,published,expected", [
    ("February 30, 2014", None, None),          # no such day
    ("Sept. 3", "2016-09-10", "2016-09-03"),
    ("December 24", "2016-09-10", "2015-12-24"),  # the most recent one before publication
    ("early March", "2016-09-10", "2016-03"),
    ("2 May", "2016-09-10", "2016-05-02"),          # day before month: the month, not the modal
    ("on the 3rd May", "2016-09-10", "2016-05-03"),
    ("may", "2016-09-10", None),
])
def test_dates_with_a_month_need_no_date_parser(expr, published, expected):
    assert resolve_date(expr, published) == expected


@pytest.mark.parametrize("sentence,expected", [
    ("DAKAR, June 11, 2021 — The group split from its parent in 2014.", ["June 11, 2021", "2014"]),
    ("The attack on 23 January 2017 killed about 1500 people.", ["23 January 2017"]),
    ("Some 2000 fighters joined; 2000 people fled.", []),                 # counts, not years
    ("A protest march drew crowds in early 2015.", ["early 2015"]),       # "march" the noun
    ("It began two years ago, at the end of 2014.", ["two years ago", "the end of 2014"]),
    ("Prices rose in the 1990s and cost $2000.", []),
])
def test_date_expressions_are_found_without_the_ner(sentence, expected):
    assert date_expressions(sentence) == expected


def test_a_sentence_takes_its_first_resolvable_date():
    assert sentence_date("In May the group, founded in 2009, attacked again on May 4.", "2016-06-01") == "2009"
    assert sentence_date("Nothing dated here.", "2016-06-01") is None


def test_the_ner_runs_only_where_a_proper_noun_is_unexplained():
    from allegiance.extract.nlp import load_nlp, parse, recognise_entities

    nlp = load_nlp()
    text = "Boko Haram attacked Maiduguri in June. Ahmed Kolo Banda, a trader, said the market closed."
    doc = parse(nlp, [text])[0]
    known = [(0, len("Boko Haram")), (text.index("Maiduguri"), text.index("Maiduguri") + len("Maiduguri"))]
    recognise_entities(nlp, doc, known, text)
    second = text.index("Ahmed")
    assert doc.ents, "the unknown name in the second sentence goes to the NER"
    assert all(e.start_char >= second for e in doc.ents), "the first sentence's names were all known"
    # with everything known, the NER does not run at all
    doc2 = parse(nlp, [text[:second].strip()])[0]
    recognise_entities(nlp, doc2, known, text[:second].strip())
    assert doc2.ents == ()


def test_killed_counts():
    assert killed("an attack that killed 15 soldiers") == 15
    assert killed("At least 39 foreign hostages were killed.") == 39
    assert killed("the ambush that killed four US soldiers") == 4
    assert killed("nobody was hurt") is None


def test_non_english_documents_are_not_extracted():
    doc = Document(doc_id="f.txt", source="f.txt", raw_text="x", content_hash="y", text="x", language="fr")
    assert extract_document(doc).facts == []


def test_coordinated_subject_and_lowercase_place_heads():
    ex, names, facts = run("Report\n\nAbubakar Shekau and his 20 fighters, including two commanders, joined the Islamic State. "
                           "Boko Haram is active in the Sambisa forest.")
    assert ("Abubakar Shekau", "joined", "Islamic State") in facts
    forest = [e for e in ex.entities if "Sambisa forest" in e.aliases]
    assert forest and forest[0].type == "PLACE"
    assert ("Boko Haram", "active_in", forest[0].name) in facts


def test_indexed_name_search_finds_what_the_regular_expression_finds():
    import random
    import re

    from allegiance.extract.mentions import find_all, word_index

    text = ("AQIM and al-Qaeda in the Islamic Maghreb (AQIM) met AQIM's rivals; Qaeda-linked X X X men, "
            "pro-AQIM, AQIMs, _AQIM, 2AQIM, Droukdel. Abu Musab, Abu-Musab, Abubakar; U.S. forces; US. ") * 3
    words = word_index(text)
    rng = random.Random(3)
    surfaces = ["AQIM", "al-Qaeda", "Qaeda", "X X", "Droukdel", "Abu Musab", "Abu", "U.S.", "US", "Islamic Maghreb"]
    surfaces += [text[a:a + rng.randint(2, 12)].strip() for a in (rng.randrange(len(text) - 12) for _ in range(200))]
    for surface in filter(None, surfaces):
        slow = [(m.start(), m.end()) for m in re.finditer(r"(?<![\w-])" + re.escape(surface) + r"(?![\w-])", text)]
        assert find_all(text, surface, words) == slow, surface


def test_span_set_answers_as_a_scan_of_the_spans_does():
    import random

    from allegiance.extract.mentions import SpanSet, _overlaps

    rng = random.Random(5)
    for _ in range(50):
        spans = [(a, a + rng.randint(1, 15)) for a in (rng.randrange(200) for _ in range(rng.randint(0, 20)))]
        taken = SpanSet(100, spans)   # grows past its first size when a span ends later
        for _ in range(50):
            a = rng.randrange(220)
            b = a + rng.randint(1, 20)
            assert taken.overlaps(a, b) == _overlaps((a, b), spans)


def test_raw_offsets_by_bisection_match_the_segment_walk():
    import random

    from allegiance.records import Segment

    rng = random.Random(9)
    segments, clean, raw = [], 0, 0
    for _ in range(300):
        n = rng.randint(1, 40)
        raw += rng.randint(0, 30)
        segments.append(Segment(clean, raw, n))
        clean += n
        raw += n
    doc = Document(doc_id="d", source="d", raw_text="", content_hash="h", segments=segments)

    def walk(offset):
        best = segments[0]
        for seg in segments:
            if seg.clean_start <= offset:
                best = seg
            else:
                break
        return best.raw_start + min(offset - best.clean_start, best.length)

    for offset in range(0, clean + 5):
        assert doc.to_raw(offset) == walk(offset)
