"""One test per general construction, each on the component that handles it.

Every sentence and every group or person here is made up for these tests (no gazetteer
knows "Katiba Serma" or "the Sarvan Hills Front"), so they also show the open world.
All documents go through spaCy once, in one batch (module-scoped fixtures)."""
from __future__ import annotations

import textwrap

import pytest

from allegiance.clean import clean_document
from allegiance.extract import extract_documents, prepare_documents
from allegiance.extract.events import carried_attacks, frames_in, place_attacks
from allegiance.extract.facts import finish
from allegiance.extract.mentions import Cand, acronym_mentions, gaz_index, state_force_mentions
from allegiance.extract.model import default_model
from allegiance.extract.select import about_armed_actors, select_blocks
from allegiance.extract.signatures import HEDGED_FACTOR
from allegiance.extract.work import DocState
from allegiance.records import Document
from allegiance.resolve.cluster import cluster
from allegiance.resolve.gazetteer import load_gazetteer
from allegiance.resolve.names import match_key

WIRE_PARAGRAPH = (
    "The Northern Sands Brigade, an armed group formed three years ago, pledged allegiance to the Wadi Hamra Movement on Saturday, "
    "according to a statement posted online by its media office. Local officials said "
    "the two groups had shared fuel and vehicles for months before the announcement, "
    "and that convoys of both had been seen on the roads north of the river."
)

TEXTS = {
    "acronym": "Rebels regroup in the hills\n\n"
               "The Kessara Popular Resistance (KPR) said on Monday that it had seized two villages. "
               "A spokesman for the KPR said the fighting would go on.",
    "acronym_front": "Rebels regroup in the hills\n\n"
                     "The Kessara People's Liberation Front (KPLF) said on Monday that it had seized two villages. "
                     "A spokesman for the KPLF said the fighting would go on.",
    "militia": "Villagers flee after raid\n\n"
               "Members of Bakundi Watu raided two villages in the hills on Sunday night. "
               "At least five people were killed and dozens of homes burned, a local official said.",
    "weather": "Cold front moves in\n\n"
               "Temperatures will fall sharply on Thursday as a cold front crosses the region, forecasters said. "
               "Drivers were told to expect ice on mountain roads and delays at the airport.",
    "sports": "Rovers edge past United\n\n"
              "Rovers beat United 2-1 on Saturday to move top of the table. The winning goal came in the "
              "88th minute, when the captain curled a free kick into the corner. United's manager praised "
              "his team's effort.",
    "sports_vocab": "Rovers edge past United\n\n"
                    "Rovers beat United 2-1 on Saturday. Their attack looked sharp all afternoon, and the "
                    "winger's late shot from the edge of the box settled it.",
    "new_groups": "New group emerges\n\n"
                  "The Tamarind Valley Army announced its formation on Friday in a video. "
                  "The Koro Hills Front said it would not cooperate with the newcomers.",
    "active_passive": "Fighting near Gao\n\n"
                      "Fighting spread along the river this week. "
                      "The Ganda Patriotic Army attacked the Koro Hills Front near Gao on Monday. "
                      "On Tuesday the Koro Hills Front was attacked by the Ganda Patriotic Army again.",
    "headline_active": "Fighting near Gao\n\n"
                       "The Ganda Patriotic Army attacked the Koro Hills Front near Gao on Monday.",
    "claim": "Claim\n\n"
             "Katiba Serma claimed responsibility for the attack on the Kandari Self-Defence Militia, "
             "the group said in a statement.",
    "raid": "Raid\n\n"
            "The Northern Sands Brigade carried out a raid on a base of the Wadi Hamra Movement in Tessalit "
            "on Sunday.",
    "checkpoint": "Checkpoint attack\n\n"
                  "Unidentified gunmen stormed a checkpoint near Gao on Wednesday, killing 12 Malian soldiers. "
                  "The attack was claimed by Katiba Serma.",
    "references": "Group profile\n\n"
                  "The Sarvan Hills Front was founded in 2016 by former teachers. "
                  "It has since seized three towns in the region. "
                  "The group recruited hundreds of young men last year. "
                  "Its fighters ambushed a convoy last month.",
    "army": "Army operations\n\n"
            "Soldiers of the Nigerien army clashed with Katiba Serma near Ayorou. "
            "Later the army said it had pushed the militants back across the river.",
    "two_armies": "Joint patrols\n\n"
                  "The Malian army and the Burkinabe army held joint patrols against Katiba Serma. "
                  "The army said the patrols would continue.",
    "township": "Township\n\n"
                "Fighters of the Kayin Hills Army attacked Mansi Township on Friday. "
                "The fighting in Mansi lasted for several hours, residents said.",
    "hedged": "Talks\n\n"
              "Commander Musa Kandeh said the Northern Sands Brigade may join the Wadi Hamra Movement "
              "later this year.",
    "plain": "Merger\n\n"
             "Commander Musa Kandeh said the Northern Sands Brigade joined the Wadi Hamra Movement last year.",
    "wire": textwrap.fill(WIRE_PARAGRAPH, 70, initial_indent="   ") + "\n",
    "troops_in": "Operation\n\nMalian soldiers raided a camp of the fighters near the old market of Menaka on Friday, the army said.",
    "two_leaders": "Talks\n\nThe meeting brought together Ganda Patriotic Army leader Musa Kandeh and "
                   "Koro Hills Front leader Peter Okello.",
    "police_post": "Post\n\nThe Ganda Patriotic Army attacked a police post in Tessalit on Monday.",
    "bombarded": "Shelling\n\nThe Ganda Patriotic Army bombarded the Koro Hills Front near Gao on Monday.",
    "raided": "Raid\n\nThe Ganda Patriotic Army raided the Koro Hills Front on Monday.",
    "shelled": "Shelling\n\nThe Ganda Patriotic Army shelled the Koro Hills Front on Monday.",
    "ambush": "Ambush\n\n"
              "The Ganda Patriotic Army ambushed the Koro Hills Front on the road to Ayorou on Monday.",
    "org_says_killed": "Strike\n\n"
                       "The Ganda Patriotic Army said the commander of the Koro Hills Front, Idrissa Maiga, "
                       "was killed in the strike on Monday.",
    "person_says_killed": "Strike\n\n"
                          "Commander Musa Kandeh of the Ganda Patriotic Army said four soldiers of the Koro Hills "
                          "Front were killed on the bridge.",
    "in_support_of": "Support\n\n"
                     "The Ganda Patriotic Army said it was launching attacks in support of the Koro Hills Front "
                     "along the border.",
    "clash_with": "Clash\n\n"
                  "Musa Kandeh, a commander of the Koro Hills Front, was killed in a gunfight with the "
                  "Ganda Patriotic Army near the river on Monday.",
    "country_strike": "Strike\n\n"
                      "Musa Kandeh of the Koro Hills Front died during an Ethiopian air strike near the border on Friday.",
    "reduced_relative": "Raid\n\n"
                        "Peter Okello was among the Koro Hills Front fighters killed by the Ganda Patriotic Army last year.",
    "negation_elsewhere": "Profile\n\n"
                          "While the Koro Hills Front has carried out several attacks on the Ganda Patriotic "
                          "Army, the group was not known to operate near the coast.",
    "negation_own_clause": "Denial\n\n"
                           "The Koro Hills Front did not carry out the attack on the Ganda Patriotic Army, "
                           "a spokesman said on Monday.",
    "kunya": "Statement\n\n"
             "Abdirizak Abu Hamza, the Koro Hills Front's spokesman for its fighters, said the convoy was hit. "
             "When Abu Hamza spoke again on Friday, he said they would return.",
    "named_branch": "Kidnapping\n\n"
                    "Al-Qaeda in the Islamic Maghreb claimed the kidnapping of two engineers on Monday. "
                    "Al-Qaeda has courted local clans for years.",
    "named_province": "Claim\n\n"
                      "The Islamic State West Africa Province claimed the raid on Monday. "
                      "The Islamic State has lost ground elsewhere.",
    "party_and_wing": "Ambush in the hills\n\n"
                      "The Communist Party of Zembla said on Monday that its armed wing, the Zembla People's "
                      "Army, would fight on. "
                      "The rebels ambushed a police patrol near Kora on Tuesday.",
    "hit_out": "Words\n\n"
               "The Ganda Patriotic Army hit out at the Koro Hills Front over its talks with the government.",
}


def _doc(key: str) -> Document:
    return clean_document(Document(f"{key}.txt", f"{key}.txt", TEXTS[key], f"hash-{key}"))


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {k: _doc(k) for k in TEXTS}


@pytest.fixture(scope="module")
def states(docs) -> dict:
    keys = list(docs)
    return dict(zip(keys, prepare_documents([docs[k] for k in keys])))


@pytest.fixture(scope="module")
def extractions(states) -> dict:
    model = default_model()
    return {k: finish(st, model) if isinstance(st, DocState) else st for k, st in states.items()}


# ---------------------------------------------------------------- helpers

def eid_named(state_or_ex, name: str) -> str:
    ex = state_or_ex.extraction if isinstance(state_or_ex, DocState) else state_or_ex
    hits = [e.id for e in ex.entities if e.name == name or name in e.aliases]
    assert len(hits) == 1, (name, [(e.name, e.aliases) for e in ex.entities])
    return hits[0]


def root_of(state: DocState, name: str) -> int:
    eid = eid_named(state, name)
    return next(r for r, e in state.root_to_eid.items() if e == eid)


def names(state: DocState, refs) -> list[str]:
    by_id = {e.id: e.name for e in state.extraction.entities}
    return [by_id[state.root_to_eid[r.entity]] for r in refs]


def frames(state: DocState, sentence_text: str) -> list:
    k, sent = next((k, s) for k, s in enumerate(state.sentences) if sentence_text in s.evidence)
    return frames_in(sent, k)


def facts(ex, relation: str, subject: str, obj: str) -> list:
    s, o = eid_named(ex, subject), eid_named(ex, obj)
    return [f for f in ex.facts if f.relation == relation and f.subject == s and f.object == o]


# ---------------------------------------------------------------- mentions

def test_acronym_definition_of_an_unknown_group_gives_the_long_name():
    text = "Yesterday the Kessara People's Liberation Front (KPLF) said it had seized two villages."
    got = acronym_mentions(text, [])
    assert [(c.text, c.type, c.source) for c in got] == [("Kessara People's Liberation Front", "ORG", "acronym")]
    assert text[got[0].start:got[0].end] == got[0].text


def test_a_given_name_before_a_kunya_is_part_of_the_name(states):
    # the NER tends to read "Abu Hamza" alone; the given name before it is the same
    # person's, and the short form later is that person too
    st = states["kunya"]
    people = [e for e in st.extraction.entities if e.type == "PERSON"]
    assert [e.name for e in people] == ["Abdirizak Abu Hamza"], [(e.name, e.aliases) for e in people]
    assert "When Abu Hamza" not in people[0].aliases


def test_acronym_and_long_name_are_one_entity(states):
    st = states["acronym"]
    ex = st.extraction
    [ent] = [e for e in ex.entities if "KPR" in e.aliases]
    assert ent.type == "ORG"
    assert ent.name == "Kessara Popular Resistance"
    assert ent.gazetteer_id is None   # open world: no list knows it
    assert any(m.source == "acronym" and m.text == "Kessara Popular Resistance" for m in ex.mentions)
    # the later bare acronym is the same actor
    later = next(s for s in st.sentences if s.evidence.startswith("A spokesman"))
    assert {st.root_to_eid[r.entity] for r in later.refs} == {ent.id}


def test_acronym_of_a_front_is_one_entity(states):
    ex = states["acronym_front"].extraction
    [ent] = [e for e in ex.entities if "KPLF" in e.aliases]
    assert ent.name == "Kessara People's Liberation Front"


def test_acronym_of_a_front_is_typed_org(states):
    ex = states["acronym_front"].extraction
    [ent] = [e for e in ex.entities if "KPLF" in e.aliases]
    assert ent.type == "ORG"


def test_initials_alone_join_the_full_name():
    text = "The Kayin Hills Army seized a police post. Later KHA fighters withdrew."
    a = text.index("Kayin Hills Army")
    b = text.index("KHA")
    cands = [Cand(a, a + 16, "Kayin Hills Army", "ORG", "ner", key=match_key("Kayin Hills Army")),
             Cand(b, b + 3, "KHA", "ORG", "ner", key=match_key("KHA"))]
    kept, roots = cluster(text, cands, load_gazetteer())
    assert len(kept) == 2 and roots[0] == roots[1]


def test_state_force_mentions_demonym_possessive_and_bare():
    idx = gaz_index()
    text = "Malian soldiers and Kenya's government met, while the army stayed away."
    got = {c.text: c for c in state_force_mentions(text, idx, [])}
    assert set(got) == {"Malian soldiers", "Kenya's government", "army"}
    assert all(c.type == "ORG" and c.kind == "state_force" for c in got.values())
    assert got["army"].extra.get("bare") is True
    assert got["Malian soldiers"].extra.get("country")


# ---------------------------------------------------------------- the open-world gate

def test_gate_reads_an_article_about_an_unknown_militia(states):
    idx = gaz_index()
    assert about_armed_actors(TEXTS["militia"], idx)
    assert select_blocks(TEXTS["militia"], idx)
    assert isinstance(states["militia"], DocState)


@pytest.mark.parametrize("key", ["weather", "sports"])
def test_gate_skips_weather_and_sports(key, states):
    assert not about_armed_actors(TEXTS[key], gaz_index())
    assert select_blocks(TEXTS[key], gaz_index()) == []
    ex = states[key]
    assert not isinstance(ex, DocState) and ex.entities == [] and ex.facts == []


def test_gate_skips_a_match_report_that_says_attack_and_shot():
    assert not about_armed_actors(TEXTS["sports_vocab"], gaz_index())


def test_gate_counts_an_everyday_word_once_but_a_lowercase_word_is_no_acronym():
    idx = gaz_index()
    # a film review: "shot" over and over, and "let" (the gazetteer knows the acronym LeT)
    review = ("Festival favourite opens\n\nThe director shot the film in eleven days and shot most scenes at dawn. "
              "She let the actors improvise; every scene was shot twice, and the last was shot in one take.")
    assert not about_armed_actors(review, idx)
    # a kidnapping told three times over, with no group named, is still a conflict report
    kidnap = ("Engineer seized\n\nA road engineer was kidnapped near the border on Tuesday. His family said he was "
              "kidnapped on his way home; police believe the men who kidnapped him want a ransom.")
    assert about_armed_actors(kidnap, idx)


def test_unknown_army_and_front_become_entities(extractions):
    ex = extractions["new_groups"]
    by_name = {e.name: e for e in ex.entities}
    for name in ("Tamarind Valley Army", "Koro Hills Front"):
        assert name in by_name, [e.name for e in ex.entities]
        assert by_name[name].type == "ORG" and by_name[name].gazetteer_id is None


# ---------------------------------------------------------------- attack frames

def test_attack_frame_active_voice(states, extractions):
    st = states["active_passive"]
    [f] = [f for f in frames(st, "attacked the Koro Hills Front near Gao") if f.trigger == "attacked"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]
    assert names(st, f.target) == ["Koro Hills Front"]
    assert names(st, [f.place]) == ["Gao"]
    assert facts(extractions["active_passive"], "attacked", "Ganda Patriotic Army", "Koro Hills Front")


def test_attack_frame_active_voice_right_after_a_headline(states):
    st = states["headline_active"]
    [f] = [f for f in frames(st, "attacked the Koro Hills Front near Gao") if f.trigger == "attacked"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]


def test_attack_frame_passive_by_agent(states):
    st = states["active_passive"]
    [f] = [f for f in frames(st, "was attacked by the Ganda Patriotic Army") if f.trigger == "attacked"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]
    assert names(st, f.target) == ["Koro Hills Front"]


def test_claimed_responsibility_for_the_attack_on_y_gives_a_fact(extractions):
    ex = extractions["claim"]
    assert facts(ex, "attacked", "Katiba Serma", "Kandari Self-Defence Militia")


def test_claimed_responsibility_frame_pairs_claimer_and_target(states):
    st = states["claim"]
    fs = frames(st, "claimed responsibility")
    assert any(names(st, f.attacker) == ["Katiba Serma"] and "Kandari Self-Defence Militia" in names(st, f.target)
               and f.claimed for f in fs), [(f.trigger, names(st, f.attacker), names(st, f.target)) for f in fs]


def test_carried_out_a_raid_on_a_base_of_y(states, extractions):
    st = states["raid"]
    fs = frames(st, "carried out a raid")
    assert fs
    for f in fs:
        assert names(st, f.attacker) == ["Northern Sands Brigade"]
        assert "Wadi Hamra Movement" in names(st, f.target)
    ex = extractions["raid"]
    [fact] = facts(ex, "attacked", "Northern Sands Brigade", "Wadi Hamra Movement")
    assert fact.attributes.get("place") == eid_named(ex, "Tessalit")


def test_raid_frame_has_the_place_inside_the_target_phrase(states):
    st = states["raid"]
    assert any(f.place is not None and names(st, [f.place]) == ["Tessalit"] for f in frames(st, "carried out a raid"))


def test_an_attack_verb_with_both_roles_named_states_the_fact(states, extractions):
    # a frame with a named attacker and a named target speaks for itself (frame_every_attack);
    # before, only carry and claim verbs ("carried out an attack on") did
    st = states["ambush"]
    fs = frames(st, "ambushed the Koro Hills Front")
    pairs = [(names(st, [a])[0], names(st, [t])[0]) for a, t, _ in carried_attacks(fs, every_frame=True)]
    assert pairs == [("Ganda Patriotic Army", "Koro Hills Front")]
    assert carried_attacks(fs) == []
    assert facts(extractions["ambush"], "attacked", "Ganda Patriotic Army", "Koro Hills Front")


def test_the_leader_of_a_group_killed_gives_the_person_and_the_group(states):
    st = states["org_says_killed"]
    fs = [f for f in frames(st, "was killed in the strike") if f.trigger == "killed"]
    assert fs
    f = fs[0]
    # an organisation saying a passive "X was killed" speaks for the act
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]
    assert "Idrissa Maiga" in names(st, f.target) and "Koro Hills Front" in names(st, f.target)


def test_a_person_saying_soldiers_were_killed_is_no_attacker(states):
    st = states["person_says_killed"]
    for f in frames(st, "were killed on the bridge"):
        assert "Musa Kandeh" not in names(st, f.attacker)


def test_in_support_of_names_no_target(states):
    st = states["in_support_of"]
    for f in frames(st, "in support of"):
        assert "Koro Hills Front" not in names(st, f.target)


def test_hit_out_at_is_no_attack(states):
    st = states["hit_out"]
    assert [f for f in frames(st, "hit out at") if f.trigger == "hit"] == []


def test_killing_soldiers_makes_the_state_force_the_target(states):
    st = states["checkpoint"]
    fs = frames(st, "stormed a checkpoint")
    hit = [f for f in fs if "Malian Armed Forces" in names(st, f.target)]
    assert hit, [(f.trigger, names(st, f.attacker), names(st, f.target)) for f in fs]
    f = hit[0]
    assert f.killed == 12 and f.attacker == []
    force = next(e for e in st.extraction.entities if e.name == "Malian Armed Forces")
    assert force.kind == "state_force" and "Malian soldiers" in force.aliases


def test_unnamed_attacker_completed_by_a_later_claim(states, extractions):
    st = states["checkpoint"]
    assert names(st, [a for a, _, _ in st.events]) == ["Katiba Serma"]
    assert names(st, [t for _, t, _ in st.events]) == ["Malian Armed Forces"]
    ex = extractions["checkpoint"]
    [fact] = facts(ex, "attacked", "Katiba Serma", "Malian Armed Forces")
    assert fact.rule == "frame-claim"
    assert fact.evidence == "The attack was claimed by Katiba Serma."
    assert ex.document.raw_text[fact.start:fact.end] == fact.evidence


# ---------------------------------------------------------------- references and clustering

def test_the_group_it_and_its_fighters_resolve_to_the_earlier_group(states):
    st = states["references"]
    front = root_of(st, "Sarvan Hills Front")
    for opening in ("It has since", "The group recruited", "Its fighters"):
        sent = next(s for s in st.sentences if s.evidence.startswith(opening))
        refs = [r for r in sent.refs if r.pronoun]
        assert refs and all(r.entity == front for r in refs), (opening, refs)
    # and the frame of the last sentence takes the group as the attacker
    [f] = frames(st, "Its fighters ambushed")
    assert [r.entity for r in f.attacker] == [front]


def test_the_rebels_are_the_armed_group_not_the_party_beside_it(states):
    # a party no list knows is a party by its name's head; "the rebels" of the next
    # sentence are its armed wing's fighters, though the party was the subject
    st = states["party_and_wing"]
    party = eid_named(st, "Communist Party of Zembla")
    assert next(e.kind for e in st.extraction.entities if e.id == party) == "political"
    [sent] = [s for s in st.sentences if s.evidence.startswith("The rebels ambushed")]
    assert names(st, [r for r in sent.refs if r.pronoun]) == ["Zembla People's Army"]


def test_a_not_in_another_clause_leaves_the_attack_stated(states, extractions):
    st = states["negation_elsewhere"]
    fs = frames(st, "has carried out several attacks")
    assert fs and not any(f.negated for f in fs)
    assert facts(extractions["negation_elsewhere"], "attacked", "Koro Hills Front", "Ganda Patriotic Army")


def test_a_not_on_the_act_negates_it(states, extractions):
    st = states["negation_own_clause"]
    fs = frames(st, "did not carry out the attack")
    assert fs and all(f.negated for f in fs)
    assert not facts(extractions["negation_own_clause"], "attacked", "Koro Hills Front", "Ganda Patriotic Army")


def test_a_group_named_after_another_and_a_place_or_province_is_its_branch(extractions):
    # no sentence says "branch": the name does ("X in <place>", "X <place> Province")
    for key, child, parent in (("named_branch", "al-Qaeda in the Islamic Maghreb", "al-Qaeda"),
                               ("named_province", "Islamic State West Africa Province", "Islamic State")):
        [f] = facts(extractions[key], "affiliate_of", child, parent)
        assert f.rule == "name" and f.evidence.startswith(("Al-Qaeda in", "The Islamic State West"))
        assert not facts(extractions[key], "affiliate_of", parent, child)


def test_the_group_said_refers_to_the_claiming_subject(states):
    st = states["claim"]
    [sent] = [s for s in st.sentences if "the group said" in s.evidence]
    assert names(st, [r for r in sent.refs if r.pronoun]) == ["Katiba Serma"]


def test_bare_army_joins_the_one_national_army(states):
    st = states["army"]
    army = next(e for e in st.extraction.entities if "Nigerien army" in e.aliases)
    assert "army" in army.aliases and army.kind == "state_force"
    root = root_of(st, "Nigerien army")
    later = next(s for s in st.sentences if s.evidence.startswith("Later the army"))
    assert any(r.entity == root and not r.pronoun for r in later.refs)


def test_bare_army_stays_apart_with_two_national_armies(states):
    ex = states["two_armies"].extraction
    bare = [e for e in ex.entities if e.aliases == ["army"]]
    assert len(bare) == 1
    assert all("army" not in e.aliases for e in ex.entities if e.name != bare[0].name)


def test_township_and_its_base_name_cluster_as_places():
    text = "Fighters attacked Mansi Township on Friday. The fighting in Mansi lasted hours."
    a, b = text.index("Mansi Township"), text.rindex("Mansi")
    cands = [Cand(a, a + 14, "Mansi Township", "PLACE", "ner", key=match_key("Mansi Township")),
             Cand(b, b + 5, "Mansi", "PLACE", "ner", key=match_key("Mansi"))]
    kept, roots = cluster(text, cands, load_gazetteer())
    assert len(kept) == 2 and roots[0] == roots[1]


def test_township_and_base_name_are_one_entity_end_to_end(states):
    ex = states["township"].extraction
    place = [e for e in ex.entities if "Mansi Township" in e.aliases]
    assert len(place) == 1 and "Mansi" in place[0].aliases, [(e.name, e.type, e.aliases) for e in ex.entities]


# ---------------------------------------------------------------- hedging

def test_hedged_statement_is_hedged_with_lower_confidence(states, extractions):
    st = states["hedged"]
    brigade, movement = root_of(st, "Northern Sands Brigade"), root_of(st, "Wadi Hamra Movement")
    [cand] = [c for c in st.candidates if (c.subject, c.object) == (brigade, movement)]
    assert cand.hedged and "hedge" in cand.features
    hedged = extractions["hedged"]
    produced = [f for f in hedged.facts if "may join" in f.evidence]
    assert all(f.hedged and f.confidence <= HEDGED_FACTOR + 1e-9 for f in produced)
    # the same statement made plainly is not hedged and, where both give a fact, is more confident
    plain = extractions["plain"]
    p = facts(plain, "joined", "Northern Sands Brigade", "Wadi Hamra Movement")
    assert p and not p[0].hedged
    h = facts(hedged, "joined", "Northern Sands Brigade", "Wadi Hamra Movement")
    if h:
        assert h[0].confidence < p[0].confidence


# ---------------------------------------------------------------- wire copy

def test_hard_wrapped_wire_copy_reads_as_whole_sentences(docs, states, extractions):
    raw = TEXTS["wire"]
    assert raw.count("\n") >= 4 and max(len(line) for line in raw.splitlines()) <= 75
    st = states["wire"]
    first = next(s for s in st.sentences if s.evidence.startswith("The Northern Sands Brigade"))
    assert first.evidence.rstrip().endswith("media office.")
    assert "\n" not in first.evidence and "\n" in raw[first.raw_start:first.raw_end]
    ex = extractions["wire"]
    [fact] = facts(ex, "pledged_allegiance_to", "Northern Sands Brigade", "Wadi Hamra Movement")
    span = raw[fact.start:fact.end]
    assert "\n" in span
    assert " ".join(span.split()) == " ".join(fact.evidence.split())


def test_extract_documents_matches_prepare_then_finish(docs, extractions):
    """The one-call pipeline gives the same facts as the components in turn."""
    [ex] = extract_documents([docs["checkpoint"]])
    key = lambda e: [(f.subject, f.relation, f.object, f.rule, f.start) for f in e.facts]  # noqa: E731
    assert key(ex) == key(extractions["checkpoint"])


# ---------------------------------------------------------------- coordinated lists

def test_names_in_a_list_of_groups_take_the_type_of_their_neighbours():
    from allegiance.extract.mentions import coordinated_mentions

    text = ("The brigades that joined were Liwa al-Bahr, Ahrar al-Jabal, the Army of Tomorrow, "
            "Suqour al-Sham, Liwa al-Haqq and the Ansar al-Nahr battalions.")

    def at(name, typ="ORG"):
        i = text.index(name)
        return Cand(i, i + len(name), name, typ, "ner")

    # the NER read three of the six names, and "al-Sham" as a place
    known = [at("Liwa al-Bahr"), at("Ahrar al-Jabal"), at("Liwa al-Haqq"), at("al-Sham", "PLACE")]
    got = coordinated_mentions(text, known, gaz_index())
    names = {c.text: c.type for c in got}
    for name in ("Army of Tomorrow", "Suqour al-Sham", "Ansar al-Nahr battalions"):
        assert names.get(name) == "ORG", names
    assert "al-Sham" not in names   # the place read inside a longer name gives way to it


def test_a_list_of_places_or_a_sentence_break_makes_no_group():
    from allegiance.extract.mentions import coordinated_mentions

    text = "The Kessara Front and the Dune Army fought. Heavy Rain fell on Monday and Tuesday."
    known = [Cand(4, 17, "Kessara Front", "ORG", "ner"), Cand(26, 35, "Dune Army", "ORG", "ner")]
    assert {c.text for c in coordinated_mentions(text, known, gaz_index())} == {"Kessara Front", "Dune Army"}


def test_a_footnote_marker_is_not_part_of_a_name():
    from allegiance.extract.mentions import _clean_span

    text = "in collaboration with the Tuareg group Ansar Kessara.[4] Two days later"
    s = text.index("Ansar")
    a, b = _clean_span(text, s, text.index("]") + 1)
    assert text[a:b] == "Ansar Kessara"


# ---------------------------------------------------------------- competing claims

CLAIMS = {
    # each claim of an attack told just before gets its place
    "near": ("Hotel siege in Mopti\n\nGunmen stormed a hotel in Mopti on Friday, killing nine guests, officials said. "
             "The Tamarind Valley Army claimed responsibility for the attack on Saturday. "
             "A day later the Koro Hills Front also claimed responsibility, in a statement posted online."),
    # a late claim points to the article's lead attack; an apposition names the claimant
    "late": ("Hotel siege in Mopti\n\nGunmen stormed a hotel in Mopti on Friday, killing nine guests, officials said. "
             "Soldiers surrounded the building for hours. Shops stayed closed. Roads were empty. Schools were shut. "
             "Flights were cancelled. The Tamarind Valley Army claimed responsibility for the attack on Saturday. "
             "Two days later, another armed group, the Koro Hills Front, claimed credit for the attack."),
}


@pytest.mark.parametrize("key", sorted(CLAIMS))
def test_competing_claims_of_an_attack_told_earlier_get_the_attack_place(key):
    ex = extract_documents([clean_document(Document(f"{key}.txt", f"{key}.txt", CLAIMS[key], f"hash-{key}"))])[0]
    names = {e.id: e.name for e in ex.entities}
    got = {(names[f.subject], f.relation, names[f.object]) for f in ex.facts}
    assert ("Tamarind Valley Army", "attacked", "Mopti") in got, got
    assert ("Koro Hills Front", "attacked", "Mopti") in got, got





def test_an_attack_on_a_building_happened_at_the_sentence_s_one_place():
    text = ("Substation hit\n\nHeavy fighting raged last night in Mopti when members of the Koro Hills Front "
            "attacked an electric power substation. A guard was wounded.")
    ex = extract_documents([clean_document(Document("sub.txt", "sub.txt", text, "hash-sub"))])[0]
    names = {e.id: e.name for e in ex.entities}
    got = {(names[f.subject], f.relation, names[f.object]) for f in ex.facts}
    assert ("Koro Hills Front", "attacked", "Mopti") in got, got


# ---------------------------------------------------------------- descriptions that make an organisation

def test_a_persons_regime_and_a_groups_dissidents_are_organisations_of_their_own():
    from allegiance.extract.mentions import descriptor_mentions

    text = "Fighters loyal to Salif Kone's regime clashed with Koro Hills Front dissidents near the river."
    kone = Cand(text.index("Salif"), text.index("'s"), "Salif Kone", "PERSON", "ner")
    front = Cand(text.index("Koro"), text.index(" dissidents"), "Koro Hills Front", "ORG", "ner")
    got = {c.text: c.type for c in descriptor_mentions(text, [kone, front])}
    assert got == {"Salif Kone's regime": "ORG", "Koro Hills Front dissidents": "ORG"}
    # "the Koro Hills Front group" is the group itself: nothing changes
    text = "The Koro Hills Front group said it would fight on."
    front = Cand(4, 20, "Koro Hills Front", "ORG", "ner")
    assert descriptor_mentions(text, [front]) == [front]


def test_police_forces_and_the_central_government_are_state_actors_without_a_country():
    text = "Rebels ambushed police forces near the border, and the central government sent reinforcements."
    got = {(c.text, c.key) for c in state_force_mentions(text, gaz_index(), [])}
    assert got == {("police forces", "state:?:police"), ("central government", "state:?:government")}


def test_a_group_reporting_that_its_units_staged_attacks_on_an_actor_attacked_it():
    text = ("Night of attacks\n\nThe Koro Hills Front reports that urban commando units staged simultaneous attacks "
            "on the Tamarind Valley Army on Thursday night.")
    ex = extract_documents([clean_document(Document("staged.txt", "staged.txt", text, "hash-staged"))])[0]
    names = {e.id: e.name for e in ex.entities}
    got = {(names[f.subject], f.relation, names[f.object], f.rule) for f in ex.facts}
    assert ("Koro Hills Front", "attacked", "Tamarind Valley Army", "frame-carry") in got, got


def test_a_country_acts_as_its_state_in_attacks_and_alliances_only():
    from allegiance.extract.signatures import fits

    assert fits("attacked", "PLACE", "country", "PERSON", None)        # "Israel killed X"
    assert fits("allied_with", "ORG", None, "PLACE", "country")        # "a proxy for Iran"
    assert fits("rival_of", "PLACE", "country", "ORG", None)
    assert not fits("attacked", "PLACE", "city", "ORG", None)          # a town attacks nobody
    assert not fits("active_in", "PLACE", "country", "PLACE", "country")
    assert not fits("member_of", "PLACE", "country", "ORG", None)
    assert not fits("leader_of", "ORG", None, "PLACE", "country")


def test_a_path_with_an_unseen_verb_shares_its_part_of_speech_feature(states):
    # "p:" names the verb on the path; "pt:" only its part of speech, so a verb the
    # training data never saw between two groups still reads as one
    def path_feats(key):
        st = states[key]
        pair = (root_of(st, "Ganda Patriotic Army"), root_of(st, "Koro Hills Front"))
        [cand] = [c for c in st.candidates if (c.subject, c.object) == pair]
        return {f for f in cand.features if f.startswith(("p:", "pt:"))}

    raided, shelled = path_feats("raided"), path_feats("shelled")
    assert {f for f in raided if f.startswith("p:")} != {f for f in shelled if f.startswith("p:")}
    shared = {f for f in raided & shelled if f.startswith("pt:")}
    assert shared == {"pt:nsubj^ vdobj|VBD"}, (raided, shelled)


def test_bombarded_is_an_attack_verb(states):
    st = states["bombarded"]
    [f] = [f for f in frames(st, "bombarded the Koro Hills Front") if f.trigger == "bombarded"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"] and names(st, f.target) == ["Koro Hills Front"]


def test_state_forces_fighting_in_a_place_do_not_attack_the_place(extractions):
    ex = extractions["troops_in"]
    army = next(e.id for e in ex.entities if e.kind == "state_force")
    menaka = eid_named(ex, "Menaka")
    # the frame reads the raid's place; only a non-state attacker "attacked" it (frame-place)
    assert not [f for f in ex.facts if f.rule == "frame-place" and (f.subject, f.object) == (army, menaka)]


def test_in_a_list_of_leaders_each_pairs_with_the_nearest_group(states):
    st = states["two_leaders"]
    kandeh, okello = root_of(st, "Musa Kandeh"), root_of(st, "Peter Okello")
    gpa, khf = root_of(st, "Ganda Patriotic Army"), root_of(st, "Koro Hills Front")

    def near(s, o):
        [c] = [c for c in st.candidates if (c.subject, c.object) == (s, o)]
        return next(f for f in c.features if f.startswith("near="))

    assert near(kandeh, gpa) == "near=both" and near(okello, khf) == "near=both"
    assert near(kandeh, khf) != "near=both" and near(okello, gpa) != "near=both"


def test_an_attack_on_a_police_post_attacks_its_place(states, extractions):
    # "police" names whose post it was; the post stood in Tessalit, which was attacked
    st = states["police_post"]
    fs = frames(st, "attacked a police post")
    pairs = {(names(st, [a])[0], names(st, [p])[0]) for a, p, _ in place_attacks(fs, st.sentences)}
    assert ("Ganda Patriotic Army", "Tessalit") in pairs
    assert facts(extractions["police_post"], "attacked", "Ganda Patriotic Army", "Tessalit")


# ---------------------------------------------------------------- casualties, clashes, states

def test_killed_in_a_clash_with_y_makes_y_the_attacker(states, extractions):
    st = states["clash_with"]
    [f] = [f for f in frames(st, "gunfight with") if f.trigger == "gunfight"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]
    assert "Musa Kandeh" in names(st, f.target)
    assert facts(extractions["clash_with"], "attacked", "Ganda Patriotic Army", "Musa Kandeh")


def test_a_country_adjective_on_an_attack_noun_is_its_author(states, extractions):
    st = states["country_strike"]
    [f] = [f for f in frames(st, "air strike") if f.trigger == "strike"]
    assert names(st, f.attacker) == ["Ethiopia"] and names(st, f.target) == ["Musa Kandeh"]
    assert facts(extractions["country_strike"], "attacked", "Ethiopia", "Musa Kandeh")


def test_a_participle_with_an_agent_hits_the_noun_it_hangs_on(states):
    st = states["reduced_relative"]
    [f] = [f for f in frames(st, "killed by") if f.trigger == "killed"]
    assert names(st, f.attacker) == ["Ganda Patriotic Army"]
    assert names(st, f.target) == ["Koro Hills Front"]


def test_a_country_that_only_qualifies_a_group_attacks_nobody():
    text = ("Ambush\n\nFour guards died on Monday in an ambush claimed by the Somali group Katiba Serma.")
    ex = extract_documents([clean_document(Document("som.txt", "som.txt", text, "hash-som"))])[0]
    by = {e.id: e.name for e in ex.entities}
    got = {(by[f.subject], by[f.object]) for f in ex.facts if f.relation == "attacked"}
    assert not [p for p in got if p[0] == "Somalia"], got


def test_ramming_into_an_actors_convoy_attacks_the_actor():
    text = ("Convoy hit\n\nOn Monday, a bomber of the Ganda Patriotic Army rammed his truck into a Koro Hills Front convoy near the river.")
    ex = extract_documents([clean_document(Document("ram.txt", "ram.txt", text, "hash-ram"))])[0]
    assert facts(ex, "attacked", "Ganda Patriotic Army", "Koro Hills Front")
