"""Cross-document actor identity.

A document-local :class:`~allegiance.records.Entity` becomes a corpus-wide actor in the
store. Two pure functions fix how:

* :func:`actor_key` -- the identity key: ``gz:<gazetteer_id>`` when the gazetteer knows the
  actor, else ``<TYPE>:<match_key(name)>`` so transliteration variants collide.
* :func:`actor_id_for_key` -- the stable, readable store id derived from the key alone
  (never from document order): the gazetteer id itself (``aqim``), else a type-prefixed slug
  of the key (``org-uqba-brigade``).

:func:`choose_actor` decides, given the alias matches the store found, whether an entity
joins an existing actor (a shared alias of the same type) or becomes a new one. The store
applies the mirror rule too: an entity the gazetteer knows absorbs earlier non-gazetteer
actors of its type that share one of its aliases, so document order does not matter.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from allegiance.records import Entity
from allegiance.resolve.names import match_key

_SLUG_OK = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MAX_SLUG = 60


@lru_cache(maxsize=1)
def generic_norms() -> frozenset[str]:
    """Match keys of names that say what an actor is, not which one: "the army",
    "soldiers", "security forces", "the junta" (cues.json: state_force_heads and
    bare_state_force_heads). One article's army is not another's, so such a name is no
    evidence of identity across documents."""
    from allegiance.extract.cues import cues

    c = cues()
    return frozenset(k for k in (match_key(w) for w in [*c["state_force_heads"], *c["bare_state_force_heads"]]) if k)


def is_generic(entity: Entity) -> bool:
    """Every name of the entity is generic ("military", "army", "soldiers")."""
    generic = generic_norms()
    keys = entity_norms(entity, identity=False)
    return bool(keys) and keys <= generic


def actor_key(entity: Entity, document: str | None = None) -> str:
    """``gz:<gazetteer_id>`` when set, else ``<TYPE>:<match_key(name)>``. An entity known
    only by generic names ("the army", "soldiers") is an actor of its document alone:
    ``<TYPE>:<match_key(name)>@<document>`` (``document``: its content hash)."""
    if entity.gazetteer_id:
        return f"gz:{entity.gazetteer_id}"
    if document and is_generic(entity):
        return f"{entity.type}:{match_key(entity.name)}@{document[:16]}"
    return f"{entity.type}:{match_key(entity.name)}"


def _short_hash(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:10]


def actor_id_for_key(key: str) -> str:
    """The store id for an identity key; a pure function of the key.

    ``gz:aqim`` -> ``aqim``; ``ORG:uqba brigade`` -> ``org-uqba-brigade``. Names that
    give no ASCII slug (other scripts, empty keys) or very long ones get a short hash so
    that distinct keys never share an id."""
    if key.startswith("gz:"):
        return key[3:]
    etype, _, norm = key.partition(":")
    prefix = (etype or "x").lower()
    slug = "-".join(norm.split())
    if not slug or not _SLUG_OK.match(slug):
        ascii_part = "-".join(t for t in re.sub(r"[^a-z0-9]+", " ", norm).split())[:30].strip("-")
        return f"{prefix}-{ascii_part + '-' if ascii_part else ''}{_short_hash(key)}"
    if len(slug) > _MAX_SLUG:
        return f"{prefix}-{slug[:_MAX_SLUG].rstrip('-')}-{_short_hash(key)}"
    return f"{prefix}-{slug}"


def entity_names(entity: Entity) -> list[str]:
    """Canonical name first, then the aliases, without duplicates (order kept)."""
    seen: dict[str, None] = {}
    for n in [entity.name, *entity.aliases]:
        if n and n.strip() and n not in seen:
            seen[n] = None
    return list(seen)


def entity_norms(entity: Entity, identity: bool = True) -> set[str]:
    """The match keys of every name of the entity (empty keys dropped). ``identity``:
    only those that can tie it to an actor of another document, without the generic
    names ("army", "soldiers": ``generic_norms``), which would otherwise join every
    article's army into one actor."""
    keys = {k for k in (match_key(n) for n in entity_names(entity)) if k}
    return keys - generic_norms() if identity else keys


@dataclass(frozen=True)
class Candidate:
    """An existing actor that shares at least one alias key with an entity."""

    actor_id: str
    gazetteer_id: str | None
    name_norm: str           # match_key of the actor's canonical name
    hits: int                # how many of the entity's keys are aliases of the actor


def choose_actor(entity: Entity, candidates: Iterable[Candidate]) -> str | None:
    """Which existing actor (id) a non-gazetteer entity joins, or None for a new actor.

    Preference: the actor whose canonical name has the entity's name key, then actors
    known to the gazetteer, then the most shared aliases, then the smallest id (so the
    choice never depends on the order rows come back in)."""
    if entity.gazetteer_id:
        return None
    own = match_key(entity.name)
    best = sorted(
        candidates,
        key=lambda c: (c.name_norm != own, c.gazetteer_id is None, -c.hits, c.actor_id),
    )
    return best[0].actor_id if best else None
