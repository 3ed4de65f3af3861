"""Shortcuts of the relation rules (extract/relations.py) that must change no result:
each is checked against the plain computation it replaces. Skeletons are made up."""
from __future__ import annotations

from allegiance.extract.relations import _needed_literals, _present_literals

SKELETONS = [
    "",
    "ab",
    "⟦O0⟧ pledged allegiance to ⟦O1⟧ , the group said .",
    "⟦P0⟧ , the leader of ⟦O1⟧ , was killed in ⟦L2⟧ on monday .",
    "the two groups that merged are ⟦O0⟧ , ⟦O1⟧ and ⟦O2⟧ .",
    "⟦O0r⟧ claimed responsibility for the attack on ⟦O1⟧ 's convoy near ⟦L2⟧ .",
    "officials said ⟦O0⟧ had split from ⟦O1⟧ and joined ⟦O2⟧ in march .",
]


def test_present_literals_are_those_a_scan_of_every_literal_finds():
    for skel in SKELETONS:
        assert _present_literals(skel) == {w for w in _needed_literals() if w in skel}, skel


def test_present_literals_on_every_literal_alone_and_glued():
    lits = _needed_literals()
    for w in lits[::7]:
        assert w in _present_literals(w)
        assert _present_literals("x" + w + "y") == {v for v in lits if v in "x" + w + "y"}


def test_a_line_without_a_force_head_skips_the_demonym_search_and_finds_the_same():
    from allegiance.extract.mentions import _state_force_head_rx, gaz_index, state_force_mentions
    from allegiance.extract.cues import cues

    for head in cues()["state_force_heads"]:
        assert _state_force_head_rx().search("the Kenyan " + head.upper() + " moved")
    idx = gaz_index()
    with_head = {c.text for c in state_force_mentions("Ugandan troops and Kenyan Army units crossed.", idx, [])}
    assert {"Ugandan troops", "Kenyan Army"} <= with_head
    assert state_force_mentions("Ugandan traders and Kenyan farmers met at the fair.", idx, []) == []


def test_tolls_read_twice_are_the_same_and_the_caller_may_change_its_list():
    from allegiance.extract.attacks import figures

    text = "Gunmen killed 14 villagers and at least six were wounded in the 2019 raid."
    first = figures(text, "killed")
    first.append(999)   # a caller's list is its own
    assert figures(text, "killed") == [14]
    assert figures(text, "wounded") == [6]
