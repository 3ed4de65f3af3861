"""Shared fixtures. Keep small: hand-built records, no pipeline, no network."""
from __future__ import annotations

import hashlib

import pytest

from allegiance.records import Document, Entity, Extraction, Fact, Mention


def build_extraction(
    doc_id: str,
    text: str,
    entities: list[tuple],
    facts: list[tuple] = (),
    *,
    published: str | None = None,
    title: str | None = None,
    version: str = "test-1",
) -> Extraction:
    """A hand-made Extraction.

    entities: (local_id, type, name, aliases, gazetteer_id) tuples; a mention is made for
    every occurrence of the name/aliases in ``text``.
    facts: (subject, relation, object, evidence) or (..., evidence, extra-kwargs dict)."""
    doc = Document(
        doc_id=doc_id,
        source=f"/corpus/{doc_id}",
        raw_text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=title,
        published=published,
        language="en",
        text=text,
    )
    ents, mentions = [], []
    for local_id, etype, name, aliases, gz in entities:
        ent = Entity(id=local_id, type=etype, name=name, aliases=list(aliases), gazetteer_id=gz)
        for surface in {name, *aliases}:
            start = text.find(surface)
            while start >= 0:
                mentions.append(Mention(surface, start, start + len(surface), etype, local_id, "test"))
                start = text.find(surface, start + 1)
        ent.mention_count = sum(1 for m in mentions if m.entity == local_id)
        ents.append(ent)
    fs = []
    for spec in facts:
        subject, relation, obj, evidence, *extra = spec
        start = max(text.find(evidence), 0)
        fs.append(Fact(subject, relation, obj, evidence, start, start + len(evidence), **(extra[0] if extra else {})))
    return Extraction(document=doc, entities=ents, mentions=mentions, facts=fs, extractor_version=version)


@pytest.fixture
def make_extraction():
    return build_extraction


# Two invented articles about one group spelled two ways, plus an unknown brigade.
TEXT_A = (
    "Al-Qaeda in the Islamic Maghreb, known as AQIM, is led by Abu Example. "
    "The Uqba Example Brigade pledged allegiance to AQIM in June 2013."
)
TEXT_B = (
    "Officials said the Okba Example Brigade fought the army near Mount Nowhere. "
    "The Al Qaida Organisation in the Islamic Maghreb denied any role."
)


def sample_pair() -> list[Extraction]:
    a = build_extraction(
        "a.txt",
        TEXT_A,
        [
            ("e1", "ORG", "al-Qaeda in the Islamic Maghreb", ["Al-Qaeda in the Islamic Maghreb", "AQIM"], "aqim"),
            ("e2", "PERSON", "Abu Example", ["Abu Example"], None),
            ("e3", "ORG", "Uqba Example Brigade", ["Uqba Example Brigade"], None),
        ],
        [
            ("e2", "leader_of", "e1", "AQIM, is led by Abu Example."),
            ("e3", "pledged_allegiance_to", "e1",
             "The Uqba Example Brigade pledged allegiance to AQIM in June 2013.", {"date": "2013-06"}),
        ],
        published="2014-02-03",
        title="Maghreb militants regroup",
    )
    b = build_extraction(
        "b.txt",
        TEXT_B,
        [
            ("e1", "ORG", "Okba Example Brigade", ["Okba Example Brigade"], None),
            ("e2", "ORG", "Al Qaida Organisation in the Islamic Maghreb",
             ["Al Qaida Organisation in the Islamic Maghreb", "AQIM"], None),
            ("e3", "PLACE", "Mount Nowhere", ["Mount Nowhere"], None),
        ],
        [
            ("e1", "active_in", "e3", "the Okba Example Brigade fought the army near Mount Nowhere.",
             {"attributed_to": "Officials", "confidence": 0.7}),
            ("e2", "rival_of", "e1", "The Al Qaida Organisation in the Islamic Maghreb denied any role.",
             {"hedged": True, "confidence": 0.4}),
        ],
        published="2015",
        title="Brigade active in the mountains",
    )
    return [a, b]


@pytest.fixture
def sample_extractions():
    return sample_pair()
