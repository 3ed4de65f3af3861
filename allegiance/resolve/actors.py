"""The one actor resolver: which corpus-wide actor each document entity becomes.

The store calls it in batches (``Store.add_extractions``; a single document is a batch
of one), on an in-memory copy of what identity decisions read (:class:`IdentityCache`,
filled in bulk and kept current by the batch). There is no second, per-document path:
when the cache cannot decide (:class:`Undecided`), the store writes what it has and
tries the document again first in a fresh segment read from the database; when a
gazetteer entity absorbs earlier actors (:class:`Absorb`), the store does the merge in
the database first (``Store._absorb_before``) and tries again.

Its other input are the analysts' corrections (``store/corrections.py``): the resolver
does not follow an analyst's merge redirect (``corrections.resolver_redirects`` fills
``IdentityCache.redirects``), so an ingest cannot decide against a merge; the store
replays merges, splits and fact corrections after every batch.

Rules (``resolve/identity.py`` has the pure key, id and choice functions):

* an entity's identity key gives its id (``actor_id_for_key``); a redirect (a gazetteer
  absorption) leads to the surviving actor; an id another key holds gets a suffix
  (:func:`alt_id`);
* an entity whose actor does not exist joins an existing actor of its type sharing one of
  its aliases (``choose_actor``), unless the gazetteer knows it; else it is a new actor;
* a gazetteer entity absorbs earlier non-gazetteer actors of its type sharing one of its
  aliases: the mirror of joining, so document order does not change the result.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from allegiance.records import Entity, Extraction
from allegiance.resolve.identity import Candidate, choose_actor
from allegiance.resolve.names import match_key


def resolvable(ex: Extraction) -> list[Entity]:
    """The entities that become actors, gazetteer entities first (they may absorb
    spellings seen earlier)."""
    return sorted(
        (e for e in ex.entities
         if e.type in ("ORG", "PERSON", "PLACE") and e.name and e.name.strip()),
        key=lambda e: e.gazetteer_id is None,
    )


class Actor:
    """An actors row as identity decisions see it."""

    __slots__ = ("key", "name", "name_norm", "type", "kind", "gazetteer_id", "created_at")

    def __init__(self, key, name, type, kind, gazetteer_id, created_at):
        self.key, self.type, self.kind = key, type, kind
        self.gazetteer_id, self.created_at = gazetteer_id, created_at
        self.rename(name)

    def rename(self, name: str) -> None:
        self.name, self.name_norm = name, match_key(name)


MISSING = object()


class Undecided(Exception):
    """The cache cannot decide this document: the segment is written and the document
    tried again first in a fresh one, read from the database."""


class Absorb(Undecided):
    """A gazetteer entity of this document absorbs earlier non-gazetteer actors sharing
    one of its aliases: done in the database (``Store._absorb_before``), then tried again."""


def alt_id(actor_id: str, key: str) -> str:
    """The id of a key whose own id another key holds (rare): suffixed by its hash."""
    return f"{actor_id}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


class IdentityCache:
    """What identity decisions read, kept for the session: actors by id (None: known
    absent), per alias key the document_aliases rows per actor, per actor the
    document_actors rows per name, and every redirect the resolver follows. A key or an
    actor is either absent or complete, so a miss is never mistaken for "no such row".
    Entries are filled in bulk before a batch and kept current by the batch itself; any
    failure clears everything, and so do rows added or removed behind the store's back
    (see ``Store._check_cache``)."""

    LIMIT = 500_000  # entries before the cache starts over (memory, on very large stores)

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.actors: dict[str, Actor | None] = {}
        self.norms: dict[str, Counter[str]] = {}
        self.doc_names: dict[str, Counter[str | None]] = {}
        self.redirects: dict[str, str] | None = None
        self.fingerprint: tuple | None = None

    def size(self) -> int:
        return len(self.actors) + len(self.norms)


def uncount(counts: dict[str, Counter], outer: str, inner: Any) -> None:
    counter = counts[outer]
    counter[inner] -= 1
    if counter[inner] <= 0:
        if counter[inner] < 0:
            raise Undecided  # the cache disagrees with the table: let the database decide
        del counter[inner]


def alias_actors(cache: IdentityCache, norms: set[str]):
    """(id, cached actor or None if dropped) of every actor seen with one of these alias
    keys; raises Undecided where the cache does not know a key or an actor."""
    for norm in norms:
        counter = cache.norms.get(norm)
        if counter is None:
            raise Undecided
        for aid in counter:
            rec = cache.actors.get(aid, MISSING)
            if rec is MISSING:
                raise Undecided
            yield aid, rec


def join_actor(cache: IdentityCache, ent: Entity, norms: set[str]) -> str | None:
    """The existing actor a non-gazetteer entity joins by a shared alias, or None."""
    hits: Counter[str] = Counter()
    for aid, rec in alias_actors(cache, norms):
        if rec is not None and rec.type == ent.type:
            hits[aid] += 1
    cands = []
    for aid, n in hits.items():
        rec = cache.actors[aid]
        cands.append(Candidate(aid, rec.gazetteer_id, rec.name_norm, n))
    return choose_actor(ent, cands)


def absorbs(cache: IdentityCache, ent: Entity, actor_id: str, norms: set[str]) -> bool:
    """Whether a gazetteer entity absorbs earlier actors: non-gazetteer actors of its
    type sharing one of its aliases. Raises Undecided when the cache cannot tell."""
    return any(aid != actor_id and rec is not None and rec.gazetteer_id is None and rec.type == ent.type
               for aid, rec in alias_actors(cache, norms))


def resolve_entity(cache: IdentityCache, ent: Entity, key: str, actor_id: str, norms: set[str],
                   created: dict[str, Actor], kinds: dict[str, str], now=None) -> tuple[str, bool]:
    """The actor id of one entity of the document being stored, and whether it is a new
    actor (added to ``created``). ``kinds``: kinds this document gives stored actors that
    had none. ``actor_id`` is the id of ``key``; ``norms`` the entity's alias keys."""
    from datetime import datetime, timezone

    if actor_id in cache.redirects:
        actor_id = cache.redirects[actor_id]
    else:
        rec = created.get(actor_id) or cache.actors.get(actor_id, MISSING)
        if rec is not MISSING and rec is not None and rec.key != key:
            actor_id = alt_id(actor_id, key)  # another key owns this id (prefetched too)
            rec = created.get(actor_id) or cache.actors.get(actor_id, MISSING)
        if rec is MISSING or (rec is not None and rec.key != key):
            raise Undecided  # not prefetched
        if rec is None:
            joined = None if ent.gazetteer_id else join_actor(cache, ent, norms)
            if joined is None:
                stamp = now or datetime.now(timezone.utc).replace(tzinfo=None)
                created[actor_id] = Actor(key, ent.name, ent.type, ent.kind, ent.gazetteer_id, stamp)
                if ent.gazetteer_id and absorbs(cache, ent, actor_id, norms):
                    raise Absorb
                return actor_id, True
            actor_id = joined
        elif actor_id in created:
            if rec.kind is None and ent.kind:
                rec.kind = ent.kind
        elif kinds.get(actor_id, rec.kind) is None and ent.kind:
            kinds[actor_id] = ent.kind
    if ent.gazetteer_id and absorbs(cache, ent, actor_id, norms):
        raise Absorb
    return actor_id, False
