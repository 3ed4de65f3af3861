"""The document's working state between extraction components.

Each component (mentions -> references -> candidates -> rules and model -> facts) reads
what the earlier ones left here and adds one kind of thing; none reaches back. The
training and cross-validation code (``allegiance.learn``) stops at the candidates and
labels them from gold, so it sees exactly what extraction sees."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allegiance.extract.signatures import fits
from allegiance.records import Extraction


@dataclass
class SentenceInfo:
    """One sentence as the rules read it: its parse, the actors in it (named or by
    reference, see ``relations.Ref``), its attribution and date."""

    span: Any                   # spaCy Span (offsets relative to its block)
    offset: int                 # block offset in the cleaned text
    start: int                  # cleaned-text offsets of the sentence
    end: int
    refs: list                  # relations.Ref: named mentions and resolved references
    skeleton: str
    attributed_to: str | None
    date: str | None
    evidence: str
    raw_start: int
    raw_end: int
    rule_pairs: set = field(default_factory=set)   # (subject root, object root, relation) the rules found


@dataclass
class Candidate:
    """A (subject, object, sentence) pair whose types fit some relation."""

    subject: int                # cluster roots
    object: int
    sentence: int               # index into DocState.sentences
    features: dict[str, float]
    hedged: bool = False
    negated: bool = False
    subject_ref: bool = False   # an end reached through a reference ("the group", "it")
    object_ref: bool = False


@dataclass
class DocState:
    extraction: Extraction
    sentences: list[SentenceInfo]
    root_to_eid: dict[int, str]
    root_type: dict[int, str]
    root_kind: dict[int, str | None]
    rule_facts: list = field(default_factory=list)   # records.Fact with local entity ids
    candidates: list[Candidate] = field(default_factory=list)
    events: list = field(default_factory=list)
    dateline_place: int | None = None   # root of the place the dateline names
    place_attacks: list = field(default_factory=list)   # (attacker ref, place ref, sentence)
    carried_attacks: list = field(default_factory=list)   # (attacker ref, target ref, sentence)

    def types(self, root: int) -> tuple[str, ...]:
        """The types an actor may take in a relation. A name only the statistical NER
        read as a person ("Abu Sayyaf", "Raia Mutomboki") may be a group: the relation
        decides, not the label."""
        t = self.root_type[root]
        # only one way: the NER calls groups people ("Abu Sayyaf"), seldom people groups
        if t == "PERSON" and self.root_kind.get(root) is None:
            return ("PERSON", "ORG")
        return (t,)

    def fits(self, relation: str, subject: int, obj: int) -> bool:
        sk, ok = self.root_kind.get(subject), self.root_kind.get(obj)
        return any(fits(relation, st, sk, ot, ok) for st in self.types(subject) for ot in self.types(obj))
