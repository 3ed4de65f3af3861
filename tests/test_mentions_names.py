"""Name shapes the statistical NER misses (issue #9), on sentences written for these tests:
numbered units, head-first names ("Alliance of ..."), Arabic head-initial names,
broadcasters named before their kind, acronyms named by the actor noun next to them,
hyphened acronyms, country names used as adjectives of a state force."""
from __future__ import annotations

import pytest

from allegiance.extract.mentions import (
    acronym_cue_mentions,
    gaz_index,
    gazetteer_mentions,
    pattern_mentions,
    state_force_mentions,
)
from allegiance.extract.nlp import load_nlp


@pytest.fixture(scope="module")
def idx():
    return gaz_index()


def patterns(text, idx):
    return [c.text for c in pattern_mentions(text, [], idx)]


@pytest.mark.parametrize("text, name", [
    ("Units of the 41 division and the 3rd Mountain Brigade closed the road.", "41 division"),
    ("Units of the 41 division and the 3rd Mountain Brigade closed the road.", "3rd Mountain Brigade"),
    ("A 12 Corps officer said the pass was shut.", "12 Corps"),
    ("Troops from Rapid Action Battalion 117 were deployed.", "Rapid Action Battalion 117"),
    ("The brigade joined Joint Task Force 6 on Monday.", "Joint Task Force 6"),
    ("Men of 4 Commando Forces (4CF) held the ridge.", "4 Commando Forces"),
])
def test_numbered_units_are_names(text, name, idx):
    assert name in patterns(text, idx)


def test_a_count_before_a_unit_word_is_no_unit(idx):
    assert patterns("The attack killed about 3 division staff.", idx) == []
    assert "Brigade 8" not in " ".join(patterns("The Eagle Brigade 8,000 strong marched.", idx))


@pytest.mark.parametrize("text, name", [
    ("Fighters of the Union of Free Herders for a Just and United Valley (UFHV) crossed.",
     "Union of Free Herders for a Just and United Valley"),
    ("Agents of the Directorate of Border Services arrested him.", "Directorate of Border Services"),
    ("The Workers Party of Zembla (Leninist) denied it.", "Workers Party of Zembla"),
])
def test_names_with_of_and_for_after_the_head(text, name, idx):
    assert name in patterns(text, idx)


def test_a_known_group_after_of_stays_its_own_actor(idx):
    text = "The Qadisiya Brigade of the Islamic State attacked the town."
    taken = [(c.start, c.end) for c in gazetteer_mentions(load_nlp()(text), idx, text)]
    names = [c.text for c in pattern_mentions(text, taken, idx)]
    assert names == ["Qadisiya Brigade"]


@pytest.mark.parametrize("text, name", [
    ("Recruits from Jamaat Nurullah travelled north.", "Jamaat Nurullah"),
    ("A cell calling itself Wilayat Tihama claimed it.", "Wilayat Tihama"),
    ("Officials blamed Lashkar-e-Zarrar for the raid.", "Lashkar-e-Zarrar"),
])
def test_arabic_and_urdu_head_initial_names(text, name, idx):
    assert name in patterns(text, idx)


@pytest.mark.parametrize("text, name", [
    ("The spokesman told Kalimat radio on Friday.", "Kalimat radio"),
    ("The official Zembla news agency said so.", "Zembla news agency"),
    ("He spoke live on Nahda TV after the raid.", "Nahda TV"),
])
def test_broadcasters_named_before_their_kind(text, name, idx):
    assert name in patterns(text, idx)


def test_a_generic_broadcaster_is_no_name(idx):
    assert patterns("He told local radio and state TV the toll had risen.", idx) == []


@pytest.mark.parametrize("text, names", [
    ("Ambushers killed 12 KRPF soldiers near the bridge.", ["KRPF"]),
    ("Its chief leads the armed group 4T, well entrenched in the west.", ["4T"]),
    ("A truce between the Z-7 and Q-Tal factions collapsed.", ["Z-7", "Q-Tal"]),
])
def test_acronyms_named_by_an_actor_noun(text, names, idx):
    assert [c.text for c in acronym_cue_mentions(text, [], idx)] == names


def test_common_capitals_and_countries_are_not_groups(idx):
    assert acronym_cue_mentions("US troops found IED fighters' caches.", [], idx) == []
    assert acronym_cue_mentions("AMBUSH KILLS TEN SOLDIERS IN THE NORTH", [], idx) == []


def test_a_known_acronym_after_a_hyphen_is_part_of_another_name(idx):
    # FDD is a known acronym (a think tank); in "PQRS-FDD" it is the tail of a party's name
    text = "Rebels burnt the office of the ruling PQRS-FDD party."
    assert not any(c.text == "FDD" for c in gazetteer_mentions(load_nlp()(text), idx, text))


@pytest.mark.parametrize("text, key", [
    ("Clashes between the Myanmar military and the rebels went on.", "state:myanmar:military"),
    ("The Colombian army said the camp was destroyed.", "state:colombia:military"),
    ("Haitian police retook the district.", "state:haiti:police"),
])
def test_country_names_and_demonyms_make_state_forces(text, key, idx):
    assert key in [c.key for c in state_force_mentions(text, idx, [])]


def test_a_named_possessor_is_no_part_of_the_unit_it_owns(idx):
    names = patterns("Commandos of the Border Guard Agency’s Rapid Response Force stormed the farm.", idx)
    assert names == ["Border Guard Agency", "Rapid Response Force"]
    assert patterns("The KLU’s People’s Liberation Force shelled the post.", idx) == ["People’s Liberation Force"]


def test_a_head_initial_name_after_a_place_possessive(idx):
    assert patterns("Militants from Zemblastan’s Jamaat Nurullah crossed over.", idx) == ["Jamaat Nurullah"]


@pytest.mark.parametrize("text, name", [
    ("A feud between the rebels and the Clan del Cerro went on.", "Clan del Cerro"),
    ("Leaflets of the Frente Ruralista claimed the raid.", "Frente Ruralista"),
    ("Gunmen from the “Bwa-Nwa” gang looted the depot.", "Bwa-Nwa"),
    ("He backs the interim Council Unity Government in exile.", "Council Unity Government"),
])
def test_romance_head_initial_quoted_and_government_names(text, name, idx):
    assert name in patterns(text, idx)


def test_a_unit_named_after_its_party_acronym_and_qualifier(idx):
    from allegiance.extract.mentions import extend_names

    text = "The banned ZPL (Leninist) Kora State Committee member was held."
    cands = pattern_mentions(text, [], idx)
    extend_names(text, cands)
    assert [c.text for c in cands] == ["ZPL (Leninist) Kora State Committee"]


def test_a_tribe_or_coalition_after_a_person_name_is_an_organisation():
    from allegiance.extract.mentions import Cand, descriptor_mentions

    text = "Elders of the Abu Tarfa tribe met the Jean-Pierre coalition."
    a = Cand(14, 23, "Abu Tarfa", "PERSON", "ner")
    b = Cand(38, 49, "Jean-Pierre", "PERSON", "ner")
    out = descriptor_mentions(text, [a, b])
    assert [(c.text, c.type) for c in out] == [("Abu Tarfa tribe", "ORG"), ("Jean-Pierre coalition", "ORG")]


def test_a_regions_police_is_an_organisation():
    from allegiance.extract.mentions import Cand, extend_names

    text = "A Zemba police spokesman said the road was closed."
    place = Cand(2, 7, "Zemba", "PLACE", "ner")
    extend_names(text, [place])
    assert (place.text, place.type) == ("Zemba police", "ORG")


def test_a_list_opened_by_like_ends_in_a_name_the_ner_missed(idx):
    from allegiance.extract.mentions import Cand, coordinated_mentions

    text = "Groups like the Northern Hawks Brigade and Jund al-Wadi have lost ground to the Zemba Army."
    a = Cand(16, 38, "Northern Hawks Brigade", "ORG", "pattern")
    b = Cand(text.index("Zemba"), len(text) - 1, "Zemba Army", "ORG", "pattern")
    names = [c.text for c in coordinated_mentions(text, [a, b], idx)]
    assert "Jund al-Wadi" in names


def test_an_acronym_of_two_halves_defines_the_whole_name():
    from allegiance.extract.mentions import acronym_mentions

    text = "Units of the League of Herders for Justice/Free Valley Army (LHJ/FVA) withdrew."
    inner = (text.index("Free"), text.index(" (LHJ"))   # "Free Valley Army", read before
    assert [c.text for c in acronym_mentions(text, [inner])] == ["League of Herders for Justice/Free Valley Army"]


def _gaz(text, idx):
    return [(c.text, c.entry.id) for c in gazetteer_mentions(load_nlp()(text), idx, text)]


def test_a_known_name_is_not_read_across_a_comma(idx):
    # "Ansar al-Sharia Libya" is a known name; with a comma after "Ansar al-Sharia" the
    # next name of the list begins
    got = _gaz("Fighters of Ansar al-Sharia, Libya Shield and two smaller brigades met.", idx)
    assert ("Libya Shield", "libya_shield_force") in got
    assert not any("," in t for t, _ in got)
    # a name written with a comma still reads whole
    assert any(t.startswith("Washington, D.C") for t, _ in _gaz("Envoys met in Washington, D.C. on Friday.", idx))


def test_an_acronym_after_a_country_adjective_and_hyphen_is_an_actor(idx):
    assert ("US", "united_states") in _gaz("The convoy was hit in a joint Israeli-US raid last year.", idx)


@pytest.mark.parametrize("text, name, entry", [
    ("Analysts say IS in Somalia has grown since the split.", "IS in Somalia", "is_somalia"),
    ("Katibas of AQIM in the Sahara joined the new coalition.", "AQIM in the Sahara", "sahara_emirate"),
])
def test_a_known_group_in_a_place_is_its_branch_there(text, name, entry, idx):
    assert (name, entry) in _gaz(text, idx)


def test_a_group_in_a_place_without_a_known_branch_stays_the_group(idx):
    got = _gaz("Support for AQIM in Tunisia has waned, officials said.", idx)
    assert ("AQIM", "aqim") in got


@pytest.mark.parametrize("text, expected", [
    ("Both Chadian and Nigerien troops crossed the river at dawn.",
     {("Chadian troops", "state:chad:military"), ("Nigerien troops", "state:niger:military")}),
    ("Kenyan, Somali and Ethiopian forces shelled the town.",
     {("Kenyan forces", "state:kenya:military"), ("Somali forces", "state:somalia:military"),
      ("Ethiopian forces", "state:ethiopia:military")}),
])
def test_coordinated_demonyms_before_one_force_head_are_each_a_state_force(text, expected, idx):
    got = {(c.text, c.key) for c in state_force_mentions(text, idx, [])}
    assert expected <= got


def test_forces_a_state_backs_are_not_its_own_force(idx):
    got = {c.text: c.key for c in state_force_mentions("Iranian-backed fighters and Turkish-backed forces clashed.", idx, [])}
    assert got.get("Turkish-backed forces", "").startswith("backed:")
    assert not any(k.startswith("state:turkey") for k in got.values())


def test_a_countrys_paramilitaries_are_a_state_force(idx):
    got = {c.text: c.key for c in state_force_mentions("Belarusian paramilitaries guarded the mine.", idx, [])}
    assert got == {"Belarusian paramilitaries": "state:belarus:paramilitaries"}


def test_a_countrys_red_cross_is_an_organisation_of_its_own(idx):
    from allegiance.extract.mentions import Cand, society_mentions

    text = "Volunteers of the Somali Red Crescent Society and the Kenya Red Cross treated the wounded."
    k = text.index("Kenya")
    cands = [Cand(k, k + 5, "Kenya", "PLACE", "gazetteer"), Cand(k + 6, k + 15, "Red Cross", "ORG", "gazetteer")]
    got = society_mentions(text, cands, idx)
    assert [(c.text, c.type) for c in got] == [("Somali Red Crescent Society", "ORG"), ("Kenya Red Cross", "ORG")]


def test_a_title_before_a_person_is_no_part_of_their_regime():
    from allegiance.extract.mentions import Cand, descriptor_mentions

    text = "Rebels fighting President Omar Zembla’s regime took the hill."
    a = Cand(16, 37, "President Omar Zembla", "PERSON", "gazetteer")
    out = descriptor_mentions(text, [a])
    assert [(c.text, c.type) for c in out] == [("Omar Zembla’s regime", "ORG")]


def test_a_places_branch_of_a_known_group_is_that_branch(idx):
    from allegiance.extract.mentions import branch_of_mentions

    text = "Herders fled when Sahara branch of al-Qaeda in the Islamic Maghreb fighters came."
    got = branch_of_mentions(text, gazetteer_mentions(load_nlp()(text), idx, text), idx)
    assert [(c.text, c.entry.id) for c in got] == [("Sahara branch of al-Qaeda in the Islamic Maghreb", "sahara_emirate")]
    # no branch of the group holds the place: both stay
    text = "The Tunisia branch of al-Qaeda in the Islamic Maghreb was small."
    got = branch_of_mentions(text, gazetteer_mentions(load_nlp()(text), idx, text), idx)
    assert [c.entry.id for c in got] == ["tunisia", "aqim"]


def test_a_known_place_inside_a_persons_name_is_a_word_of_the_name():
    # "Aden" is a known place; between two name words of a person it is part of the name
    from allegiance.clean import clean_document
    from allegiance.extract import extract_documents
    from allegiance.records import Document

    text = ("Gunmen from al-Shabaab attacked a police post near Baidoa on Sunday, killing two officers. "
            "Police spokesman Yusuf Aden Warsame said the market in Baidoa reopened on Monday.")
    ex = extract_documents([clean_document(Document("p.txt", "p.txt", text, "hash-p"))])[0]
    names = {(e.name, e.type) for e in ex.entities}
    assert ("Yusuf Aden Warsame", "PERSON") in names
    assert not any(n == "Aden" for n, _ in names)
    assert ("Baidoa", "PLACE") in names


def test_a_place_at_the_edge_of_a_name_stays_a_place():
    from allegiance.extract.mentions import Cand, yield_to_person_names

    class Ent:
        def __init__(self, a, b):
            self.start_char, self.end_char, self.label_ = a, b, "PERSON"

    class Doc:
        ents = [Ent(0, 18)]

    text = "Mogadishu Ali Omar spoke."
    place = Cand(0, 9, "Mogadishu", "PLACE", "gazetteer")
    assert yield_to_person_names(Doc(), [place], text) == [place]
