"""Which (subject, object) pairs a relation admits: SCHEMA.md's types, plus the kinds
of actor that never take part in some relations. The rules and the model both ask here."""
from __future__ import annotations

from functools import lru_cache

HEDGED_FACTOR = 0.5     # a hedged statement keeps its fact at a lower confidence

# Relation -> allowed (subject types, object types)
SIGNATURES = {
    "leader_of": ({"PERSON"}, {"ORG"}),
    "member_of": ({"PERSON"}, {"ORG"}),
    "pledged_allegiance_to": ({"PERSON", "ORG"}, {"ORG", "PERSON"}),
    "defected_from": ({"PERSON", "ORG"}, {"ORG"}),
    "joined": ({"PERSON", "ORG"}, {"ORG"}),
    "affiliate_of": ({"ORG"}, {"ORG"}),
    "allied_with": ({"ORG"}, {"ORG"}),
    "rival_of": ({"ORG"}, {"ORG"}),
    "merged_into": ({"ORG"}, {"ORG"}),
    "active_in": ({"ORG"}, {"PLACE"}),
    "recruits_in": ({"ORG"}, {"PLACE"}),
    "attacked": ({"ORG", "PERSON"}, {"ORG", "PERSON", "PLACE"}),
}
# Non-combatant organisations (media, think tanks) are not subjects of these
ARMED_ONLY = {"attacked", "active_in", "recruits_in", "rival_of", "allied_with", "merged_into", "pledged_allegiance_to"}
NON_ARMED_KINDS = {"media", "think_tank", "international"}
# State forces are where they are by definition; "based in" is not news about them
PLACE_RELATIONS = {"active_in", "recruits_in"}
STATE_KINDS = {"state_force", "state"}


NON_ACTOR_OBJECT = {"merged_into", "affiliate_of", "allied_with", "rival_of"}
# A country acts as its state in these ("Israel struck ...", "a proxy for Iran", "Turkey's
# rivals"): its name stands for the government, as in SCHEMA.md's gold, where such a
# country is an ORG. It is never the member, leader or place-holder of a group.
STATE_ACTOR_RELATIONS = {"attacked", "allied_with", "rival_of"}


@lru_cache(maxsize=4096)
def fits(relation: str, s_type: str, s_kind: str | None, o_type: str, o_kind: str | None,
         any_kind: bool = False) -> bool:
    subj_types, obj_types = SIGNATURES[relation]
    if relation in STATE_ACTOR_RELATIONS:
        if s_type == "PLACE" and s_kind == "country":
            s_type, s_kind = "ORG", "state"
        if o_type == "PLACE" and o_kind == "country" and relation != "attacked":
            o_type, o_kind = "ORG", "state"
    if s_type not in subj_types or o_type not in obj_types:
        return False
    if relation in ARMED_ONLY and s_kind in NON_ARMED_KINDS and not any_kind:
        return False
    if relation in PLACE_RELATIONS and s_kind in STATE_KINDS:
        return False
    if relation in NON_ACTOR_OBJECT and o_kind in NON_ARMED_KINDS | {"media"}:
        return False
    return True
