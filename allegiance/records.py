"""Typed records passed between pipeline stages.

document (ingest) -> cleaned text (clean) -> mentions/entities/facts (extract)
-> resolved actors (resolve) -> store.

Every stage takes and returns these records; none reaches into another stage's
internals. Offsets are always character offsets into ``Document.raw_text``: the
text as read from the file after decoding, before any cleaning (SCHEMA.md).
"""
from __future__ import annotations

import bisect

from dataclasses import asdict, dataclass, field
from typing import Any

ENTITY_TYPES = ("ORG", "PERSON", "PLACE")

RELATIONS = (
    "leader_of",
    "member_of",
    "pledged_allegiance_to",
    "defected_from",
    "joined",
    "affiliate_of",
    "allied_with",
    "rival_of",
    "merged_into",
    "active_in",
    "recruits_in",
    "attacked",
)
SYMMETRIC_RELATIONS = frozenset({"allied_with", "rival_of"})


@dataclass
class Segment:
    """A run of kept article text: ``clean[clean_start:clean_start+length]``
    equals ``raw[raw_start:raw_start+length]``."""

    clean_start: int
    raw_start: int
    length: int


@dataclass
class Document:
    """One input article, as read (ingest) and then cleaned (clean)."""

    doc_id: str                      # file base name, or URL for fetched pages
    source: str                      # full path / URL / "<stdin>"
    raw_text: str                    # decoded text (for HTML: the extracted main text)
    content_hash: str                # sha256 of the raw bytes: the document's identity
    media_type: str = "text/plain"   # text/plain | text/html
    encoding: str = "utf-8"
    title: str | None = None
    published: str | None = None     # ISO date: YYYY, YYYY-MM or YYYY-MM-DD
    language: str | None = None      # "en", or a guess at another language (then no extraction)
    text: str = ""                   # cleaned article text (boilerplate removed)
    segments: list[Segment] = field(default_factory=list)
    boilerplate: list[str] = field(default_factory=list)  # removed blocks, for audit
    warnings: list[str] = field(default_factory=list)
    dateline_place: str | None = None  # "Lima" from a wire dateline "Lima, 20 Aug 88 (EFE) --"
    # clean offsets of that dateline: (start, end of the dash, start of the body) and of its
    # place names; extraction reads the dateline as a sentence of its own
    dateline_span: tuple[int, int, int] | None = None
    dateline_place_spans: tuple[tuple[int, int], ...] = ()

    def to_raw(self, clean_offset: int) -> int:
        """Map an offset in ``text`` back to ``raw_text``."""
        if not self.segments:
            return clean_offset
        # a long article has thousands of segments and every fact and mention asks
        key = (id(self.segments), len(self.segments))
        cached = self.__dict__.get("_segment_starts")
        if cached is None or cached[0] != key:
            cached = (key, [seg.clean_start for seg in self.segments])
            self.__dict__["_segment_starts"] = cached
        k = bisect.bisect_right(cached[1], clean_offset) - 1
        best = self.segments[max(k, 0)]
        return best.raw_start + min(clean_offset - best.clean_start, best.length)


@dataclass
class Mention:
    """A surface form of an entity in one document."""

    text: str
    start: int          # raw offsets
    end: int
    type: str           # ORG | PERSON | PLACE
    entity: str = ""    # local entity id (e1, e2...)
    source: str = ""    # gazetteer | ner | pattern | coref


@dataclass
class Entity:
    """One actor within one document (all its mentions clustered)."""

    id: str                         # local id: e1, e2...
    type: str                       # ORG | PERSON | PLACE
    name: str                       # canonical name
    aliases: list[str] = field(default_factory=list)  # surface forms seen in the document
    kind: str | None = None         # armed_group | state | person | place | media | other
    gazetteer_id: str | None = None  # id in the gazetteer when known
    mention_count: int = 0


@dataclass
class Fact:
    subject: str                    # local entity id
    relation: str
    object: str
    evidence: str
    start: int                      # raw offsets of the evidence sentence
    end: int
    date: str | None = None
    confidence: float = 0.8
    hedged: bool = False
    attributed_to: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    rule: str = ""                  # which extraction rule fired (debugging / audit)


@dataclass
class AttackAttacker:
    """Who a report says did an attack, and on whose word."""

    entity: str                     # local entity id
    status: str = "stated"          # claimed | attributed | suspected | stated (the report's own voice)
    by: str | None = None           # who blames them (attributed), or who claims (claimed: the group itself)
    denied: bool = False            # the report says they deny it


@dataclass
class AttackMention:
    """One attack as one document tells it, its sentences merged (issue 13).

    ``current`` is False for an attack the article only recalls (a history paragraph,
    an older date): such a mention is kept but never linked to the article's incident."""

    id: str                         # local: a1, a2...
    trigger: str                    # the attack word of the first sentence ("stormed")
    triggers: list[str] = field(default_factory=list)
    date: str | None = None         # ISO (YYYY, YYYY-MM, YYYY-MM-DD)
    date_source: str | None = None  # stated | weekday | published
    place: str | None = None        # local entity id
    attackers: list[AttackAttacker] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)   # local entity ids
    killed: int | None = None       # the report's figure (its largest stated toll)
    killed_figures: list[int] = field(default_factory=list)   # every toll the report gives
    wounded: int | None = None
    wounded_figures: list[int] = field(default_factory=list)
    evidence: str = ""              # the first sentence telling the attack
    start: int = 0                  # raw offsets of that sentence
    end: int = 0
    sentences: list[tuple[int, int]] = field(default_factory=list)   # raw spans of every merged sentence
    current: bool = True
    past_cue: str | None = None     # why it was read as past ("2013", "last year")
    names: list[str] = field(default_factory=list)   # capitalised words of the sentences that name no entity


@dataclass
class Extraction:
    """Everything extracted from one document: a pure function of it."""

    document: Document
    entities: list[Entity] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    extractor_version: str = ""
    attacks: list[AttackMention] = field(default_factory=list)

    def to_schema(self) -> dict[str, Any]:
        """The JSON object SCHEMA.md specifies for ``allegiance extract``."""
        return {
            "doc_id": self.document.doc_id,
            "title": self.document.title,
            "published": self.document.published,
            "entities": [
                {"id": e.id, "type": e.type, "name": e.name, "aliases": list(e.aliases)}
                for e in self.entities
            ],
            "facts": [
                {
                    "subject": f.subject,
                    "relation": f.relation,
                    "object": f.object,
                    "evidence": f.evidence,
                    "start": f.start,
                    "end": f.end,
                    "date": f.date,
                    "confidence": round(f.confidence, 3),
                    "hedged": f.hedged,
                    "attributed_to": f.attributed_to,
                    "attributes": dict(f.attributes),
                }
                for f in self.facts
            ],
            "attacks": [attack_schema(a) for a in self.attacks],
        }


def attack_schema(a: "AttackMention") -> dict[str, Any]:
    """An attack mention as ``allegiance extract`` prints it."""
    return {
        "id": a.id, "trigger": a.trigger, "date": a.date, "date_source": a.date_source, "place": a.place,
        "attackers": [{"entity": x.entity, "status": x.status, "by": x.by, "denied": x.denied} for x in a.attackers],
        "targets": list(a.targets), "killed": a.killed, "killed_figures": list(a.killed_figures),
        "wounded": a.wounded, "wounded_figures": list(a.wounded_figures),
        "evidence": a.evidence, "start": a.start, "end": a.end, "current": a.current, "past_cue": a.past_cue,
    }


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)


@dataclass
class IngestError:
    """A file that could not be read or processed: one clear line for the user."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"
