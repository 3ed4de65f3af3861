"""Two articles written for the project about conflicts the gazetteer does not know
(examples/outside/: Karen armed groups in Myanmar; the ELN and FARC dissidents in
Colombia). Their groups, leaders and attacks come out of the open-world components
alone: no list names the KNU, the KNLA, the DKBA or the ELN."""
from __future__ import annotations

from pathlib import Path

import pytest

from allegiance.pipeline import extract_paths
from allegiance.records import Extraction

OUTSIDE = Path(__file__).resolve().parents[1] / "examples" / "outside"


@pytest.fixture(scope="module")
def extracted():
    out = {}
    for ex in extract_paths([str(OUTSIDE)]):
        assert isinstance(ex, Extraction), ex
        names = {e.id: e for e in ex.entities}
        facts = {(names[f.subject].name, f.relation, names[f.object].name): f for f in ex.facts}
        out[ex.document.doc_id] = (ex, names, facts)
    return out


def _entity(ex, alias):
    return next(e for e in ex.entities if alias in e.aliases)


def test_unknown_groups_become_actors_with_their_acronyms(extracted):
    ex, _, _ = extracted["myanmar_kayin_offensive.txt"]
    for long_name, acronym in (("Karen National Union", "KNU"), ("Karen National Liberation Army", "KNLA"),
                               ("Democratic Karen Buddhist Army", "DKBA")):
        e = _entity(ex, long_name)
        assert e.type == "ORG" and e.gazetteer_id is None and acronym in e.aliases
    ex, _, _ = extracted["colombia_catatumbo_clashes.txt"]
    eln = _entity(ex, "National Liberation Army")
    assert eln.gazetteer_id is None and "ELN" in eln.aliases


def test_leaders_of_unknown_groups(extracted):
    _, _, facts = extracted["myanmar_kayin_offensive.txt"]
    assert ("Saw Kwe Htoo Win", "leader_of", "Karen National Union") in facts
    _, _, facts = extracted["colombia_catatumbo_clashes.txt"]
    # "The guerrilla group, which is led by ...": a definite description refers back
    assert ("Eliecer Herlinto Chamorro", "leader_of", "National Liberation Army") in facts


def test_attack_wing_and_split_of_unknown_groups(extracted):
    ex, names, facts = extracted["myanmar_kayin_offensive.txt"]
    army = next(e.name for e in ex.entities if "soldiers" in e.aliases)
    attack = facts[("Karen National Liberation Army", "attacked", army)]
    assert attack.attributes.get("killed") == 9
    assert ("Karen National Liberation Army", "affiliate_of", "Karen National Union") in facts
    assert ("Democratic Karen Buddhist Army", "defected_from", "Karen National Union") in facts
    assert ("Karen National Union", "allied_with", "People's Defence Force") in facts
