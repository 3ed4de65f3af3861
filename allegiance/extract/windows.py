"""Long documents read in windows, so that memory stays that of one window.

Extraction keeps every parsed sentence of a document until its facts are scored
(references, salience and the pair counts of the model look across the whole text).
For an article that costs a few megabytes; for a 2 MB "article" (a report, a book, a
scraped archive page) it costs a gigabyte and grows with the length. Above
``WINDOW_CHARS`` a document is therefore read as consecutive windows of lines, each
extracted on its own and released, and the windows' results are joined here: an actor
named in two windows is one entity (same gazetteer id, or same type and a shared
name), and a fact told in two windows is one fact, the better-supported telling kept.

References do not cross a window boundary: "the group" at the top of a window means an
actor of that window. Documents of ordinary length (all of the shared corpora) are read
whole and are not affected."""
from __future__ import annotations

import os
from dataclasses import replace

from allegiance.records import SYMMETRIC_RELATIONS, AttackMention, Document, Entity, Extraction, Fact, Mention

# Chosen so that one window (its spaCy docs, sentences and candidates) stays near
# 100 MB of memory, while windows are still long enough for an article's references.
WINDOW_CHARS = int(os.environ.get("ALLEGIANCE_WINDOW_CHARS", "100000"))


def windows(lines: list[tuple[int, str]], size: int | None = None) -> list[list[tuple[int, str]]]:
    """The document's (offset, line) list cut into runs of about ``size`` characters,
    at line boundaries; a single longer line is a window of its own."""
    size = size or WINDOW_CHARS
    out: list[list[tuple[int, str]]] = []
    cur: list[tuple[int, str]] = []
    n = 0
    for line in lines:
        if cur and n + len(line[1]) > size:
            out.append(cur)
            cur, n = [], 0
        cur.append(line)
        n += len(line[1])
    if cur:
        out.append(cur)
    return out


def _name_key(typ: str, name: str) -> tuple[str, str]:
    return typ, " ".join(name.casefold().split())


def _better(new: Fact, old: Fact) -> bool:
    """The same preference as one window applies: stated over hedged, then confidence."""
    if old.hedged != new.hedged:
        return old.hedged
    return new.confidence > old.confidence


def merge(document: Document, parts: list[Extraction], version: str) -> Extraction:
    """One Extraction from the windows' Extractions, in document order."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # every (window, local id) gets a global number; equal keys are joined
    number: dict[tuple[int, str], int] = {}
    entities: list[tuple[int, Entity]] = []
    seen_key: dict[tuple, int] = {}
    for w, part in enumerate(parts):
        for e in part.entities:
            g = len(entities)
            number[(w, e.id)] = g
            parent[g] = g
            entities.append((w, e))
            keys = [("gz", e.gazetteer_id)] if e.gazetteer_id else []
            keys += [_name_key(e.type, a) for a in [e.name, *e.aliases]]
            for key in keys:
                if key in seen_key:
                    a, b = find(seen_key[key]), find(g)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
                else:
                    seen_key[key] = g

    first_at: dict[int, int] = {}
    for w, part in enumerate(parts):
        for m in part.mentions:
            root = find(number[(w, m.entity)])
            first_at[root] = min(first_at.get(root, m.start), m.start)
    roots = sorted({find(g) for g in range(len(entities))}, key=lambda r: (first_at.get(r, 1 << 62), r))
    new_id = {r: f"e{i + 1}" for i, r in enumerate(roots)}
    members: dict[int, list[Entity]] = {r: [] for r in roots}
    for g, (_, e) in enumerate(entities):
        members[find(g)].append(e)

    merged_entities = []
    for r in roots:
        group = members[r]
        head = next((e for e in group if e.gazetteer_id), group[0])
        aliases: list[str] = []
        for e in group:
            for a in e.aliases:
                if a not in aliases:
                    aliases.append(a)
        merged_entities.append(Entity(new_id[r], head.type, head.name, aliases,
                                      next((e.kind for e in group if e.kind), None), head.gazetteer_id,
                                      sum(e.mention_count for e in group)))

    def gid(w: int, local: str | None) -> str | None:
        if local is None or (w, local) not in number:
            return local
        return new_id[find(number[(w, local)])]

    mentions: list[Mention] = []
    facts: dict[tuple, Fact] = {}
    attacks: list[AttackMention] = []
    for w, part in enumerate(parts):
        mentions += [replace(m, entity=gid(w, m.entity)) for m in part.mentions]
        for f in part.facts:
            attrs = dict(f.attributes)
            if isinstance(attrs.get("place"), str):
                attrs["place"] = gid(w, attrs["place"])
            nf = replace(f, subject=gid(w, f.subject), object=gid(w, f.object), attributes=attrs)
            if nf.subject == nf.object:
                continue
            key = (nf.subject, nf.relation, nf.object)
            if nf.relation in SYMMETRIC_RELATIONS and (nf.object, nf.relation, nf.subject) in facts:
                key = (nf.object, nf.relation, nf.subject)
                nf = replace(nf, subject=key[0], object=key[2])
            if key not in facts or _better(nf, facts[key]):
                facts[key] = nf
        for a in getattr(part, "attacks", []) or []:
            attacks.append(replace(
                a, id=f"a{len(attacks) + 1}", place=gid(w, a.place),
                targets=[gid(w, t) for t in a.targets],
                attackers=[replace(x, entity=gid(w, x.entity), by=gid(w, x.by)) for x in a.attackers]))
    mentions.sort(key=lambda m: (m.start, m.end))
    out = Extraction(document=document, entities=merged_entities, mentions=mentions,
                     facts=sorted(facts.values(), key=lambda f: (f.start, f.relation)), extractor_version=version)
    out.attacks = attacks
    return out
