"""The gazetteer: curated knowledge about armed groups, people, organisations and places.

The knowledge lives in JSON Lines files under ``allegiance/data/gazetteer/`` (one entry a
line; see the README there for the format and the sources).  This module only loads and
indexes it.

Lookups are exact on :func:`allegiance.resolve.names.match_key`, so transliteration
variants meet (``Al Qaida`` / ``al-Qa'ida`` / ``al-Qaeda``).  Where two entries share a key
the preferred one is chosen by kind (armed group > militia > person > state force >
other organisations > places), then by how the key was found (canonical name > alias or
nom de guerre > description), then by file order; :meth:`Gazetteer.lookup_all` shows the
whole ambiguity.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from allegiance.resolve.names import compact_key, match_key, normalize

#: default files, in priority (file) order
DEFAULT_FILES = ("groups.jsonl", "people.jsonl", "orgs.jsonl", "places.jsonl")

#: lower is preferred when entries share a match key
KIND_RANK = {
    "armed_group": 0,
    "militia": 1,
    "person": 2,
    "state_force": 3,
    "political": 4,
    "state": 4,
    "international": 4,
    "media": 4,
    "think_tank": 4,
}
PLACE_RANK = 6
_OTHER_RANK = 5
HOW_RANK = {"name": 0, "alias": 1, "nom_de_guerre": 1, "description": 2, "short": 3, "demonym": 4}
#: order of :meth:`Gazetteer.surface_forms` (all names first, so a consumer that keeps the
#: first entry per key at equal kind rank agrees with :meth:`Gazetteer.lookup`)
_HOW_ORDER = ("name", "alias", "nom_de_guerre", "description", "short", "demonym")

#: shortest run-together name compared by :meth:`Gazetteer.lookup_compact`
COMPACT_MIN = 8

REQUIRED = ("id", "name", "type", "source")
#: honorifics and ranks dropped from the front of a surface form when the exact lookup fails
TITLES = frozenset("""sheikh shaykh shaikh cheikh mullah mawlawi maulvi maulana mufti imam emir amir
    commander gen general col colonel capt captain field marshal president prime minister
    dr mr mrs ms caliph ustaz hajji haji""".split())
_PAREN = re.compile(r"\s*\([^()]*\)\s*$")


def _norm_tok(t: str) -> str:
    return normalize(t).strip(" .,")
TYPES = ("ORG", "PERSON", "PLACE")


def kind_rank(entry: "GazEntry") -> int:
    if entry.type == "PLACE":
        return PLACE_RANK
    return KIND_RANK.get(entry.kind, _OTHER_RANK)


@dataclass(frozen=True)
class GazEntry:
    id: str
    name: str
    type: str
    kind: str
    aliases: tuple[str, ...] = ()          # includes noms_de_guerre for people
    noms_de_guerre: tuple[str, ...] = ()
    short_forms: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    parent: str | None = None
    source: str = ""
    successor: str | None = None
    predecessor: str | None = None

    def all_names(self) -> tuple[str, ...]:
        """Canonical name + aliases + noms de guerre (not short forms or descriptions)."""
        return _dedup((self.name, *self.aliases, *self.noms_de_guerre))


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for s in items:
        s = s.strip() if isinstance(s, str) else s
        if s and s not in seen:
            seen.add(s)
            out.append(s)
    return tuple(out)


def _tuple(v) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return _dedup(v)


def entry_from_dict(d: dict, where: str = "") -> GazEntry:
    missing = [k for k in REQUIRED if not d.get(k)]
    if missing:
        raise ValueError(f"gazetteer entry {where} lacks {', '.join(missing)}: {d!r:.200}")
    if d["type"] not in TYPES:
        raise ValueError(f"gazetteer entry {d['id']} ({where}): type must be one of {TYPES}")
    noms = _tuple(d.get("noms_de_guerre"))
    kind = d.get("kind") or {"PERSON": "person", "PLACE": "area"}.get(d["type"], "armed_group")
    lat, lon = d.get("lat"), d.get("lon")
    return GazEntry(
        id=d["id"], name=d["name"].strip(), type=d["type"], kind=kind,
        aliases=_dedup((*_tuple(d.get("aliases")), *noms)),
        noms_de_guerre=noms,
        short_forms=_tuple(d.get("short_forms")),
        descriptions=_tuple(d.get("descriptions")),
        demonyms=_tuple(d.get("demonyms")),
        region=_tuple(d.get("region")),
        groups=_tuple(d.get("groups")),
        country=d.get("country") or None,
        lat=float(lat) if lat is not None else None,
        lon=float(lon) if lon is not None else None,
        parent=d.get("parent") or None,
        source=d["source"],
        successor=d.get("successor") or None,
        predecessor=d.get("predecessor") or None,
    )


def read_jsonl(text: str, where: str = "") -> Iterator[dict]:
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as e:  # pragma: no cover - data error
            raise ValueError(f"{where}:{n}: bad JSON: {e}") from None


class Gazetteer:
    """Indexed gazetteer entries.  Hashable by identity (usable as an ``lru_cache`` key)."""

    def __init__(self, entries: Iterable[GazEntry]):
        self.entries: list[GazEntry] = []
        self.by_id: dict[str, GazEntry] = {}
        for e in entries:
            if e.id in self.by_id:          # a later file overrides an earlier entry
                self.entries = [x for x in self.entries if x.id != e.id]
            self.entries.append(e)
            self.by_id[e.id] = e
        self._order = {e.id: i for i, e in enumerate(self.entries)}
        self._keys: dict[str, list[tuple[GazEntry, str]]] = {}
        self._short: dict[str, list[GazEntry]] = {}
        self._demonyms: dict[str, list[GazEntry]] = {}
        self._compact: dict[str, list[GazEntry]] = {}
        for e in self.entries:
            for text, how in self._forms(e):
                if how == "demonym":
                    self._add(self._demonyms, normalize(text), e)
                elif how == "short":
                    self._add(self._short, match_key(text), e)
                else:
                    k = match_key(text)
                    if not k:
                        continue
                    lst = self._keys.setdefault(k, [])
                    if not any(x is e for x, _ in lst):
                        lst.append((e, how))
                    if how != "description":
                        ck = compact_key(text)
                        if len(ck) >= COMPACT_MIN:
                            self._add(self._compact, ck, e)
        for lst in self._keys.values():
            lst.sort(key=lambda p: (kind_rank(p[0]), HOW_RANK[p[1]], self._order[p[0].id]))
        for d in (self._short, self._demonyms, self._compact):
            for lst in d.values():
                lst.sort(key=lambda x: (kind_rank(x), self._order[x.id]))

    @staticmethod
    def _add(d: dict[str, list[GazEntry]], k: str, e: GazEntry) -> None:
        if not k:
            return
        lst = d.setdefault(k, [])
        if not any(x is e for x in lst):
            lst.append(e)

    @staticmethod
    def _forms(e: GazEntry) -> Iterator[tuple[str, str]]:
        noms = set(e.noms_de_guerre)
        yield e.name, "name"
        for a in e.aliases:
            yield a, ("nom_de_guerre" if a in noms else "alias")
        for s in e.short_forms:
            yield s, "short"
        for s in e.descriptions:
            yield s, "description"
        for s in e.demonyms:
            yield s, "demonym"

    # ---- lookups -------------------------------------------------------------------
    def _hits(self, surface: str) -> list[tuple[GazEntry, str]]:
        """Exact match-key hits; failing that, the same after dropping a trailing
        parenthetical ("Islamic State (ISIS)") and leading titles ("Sheikh", "Mullah")."""
        lst = self._keys.get(match_key(surface))
        if lst:
            return lst
        s = _PAREN.sub("", surface).strip()
        toks = s.split()
        while len(toks) > 2 and _norm_tok(toks[0]) in TITLES:
            toks = toks[1:]
        s2 = " ".join(toks)
        if s2 and s2 != surface:
            return self._keys.get(match_key(s2), [])
        return []

    def lookup(self, surface: str) -> GazEntry | None:
        """The preferred entry whose name, alias, nom de guerre or description has the
        same :func:`match_key` as ``surface``; None if unknown."""
        lst = self._hits(surface)
        return lst[0][0] if lst else None

    def lookup_all(self, surface: str) -> list[GazEntry]:
        """Every entry sharing the key, preferred first."""
        return [e for e, _ in self._hits(surface)]

    def lookup_how(self, surface: str) -> tuple[GazEntry, str] | None:
        """Like :meth:`lookup`, with how the key was matched (name|alias|nom_de_guerre|description)."""
        lst = self._hits(surface)
        return lst[0] if lst else None

    def lookup_compact(self, surface: str) -> GazEntry | None:
        """The preferred entry one of whose names or aliases differs from ``surface`` only in
        spacing and hyphenation ("Jamaatul Ahrar" -> Jamaat-ul-Ahrar); names shorter than
        ``COMPACT_MIN`` letters are not compared."""
        ck = compact_key(surface)
        if len(ck) < COMPACT_MIN:
            return None
        lst = self._compact.get(ck)
        return lst[0] if lst else None

    def lookup_short(self, surface: str) -> GazEntry | None:
        """The entry having ``surface`` as a short form ("Zawahiri", "Shekau")."""
        lst = self._short.get(match_key(surface))
        return lst[0] if lst else None

    def by_demonym(self, word: str) -> GazEntry | None:
        """"Algerian" -> algeria (case- and diacritic-insensitive; a plural "Algerians" works too)."""
        w = normalize(word)
        lst = self._demonyms.get(w)
        if not lst and w.endswith("s"):
            lst = self._demonyms.get(w[:-1])
        return lst[0] if lst else None

    def surface_forms(self) -> list[tuple[str, GazEntry, str]]:
        """(text, entry, how) for every surface form; how in
        name|alias|nom_de_guerre|short|description|demonym.  Grouped by ``how`` (all
        canonical names first), then file order."""
        buckets: dict[str, list[tuple[str, GazEntry, str]]] = {h: [] for h in _HOW_ORDER}
        for e in self.entries:
            seen: set[str] = set()
            for text, how in self._forms(e):
                if (text, how) in seen:
                    continue
                seen.add((text, how))
                buckets[how].append((text, e, how))
        return [t for h in _HOW_ORDER for t in buckets[h]]

    def ambiguous_keys(self) -> dict[str, list[str]]:
        """match keys shared by more than one entry -> entry ids, preferred first."""
        return {k: [e.id for e, _ in lst] for k, lst in self._keys.items() if len(lst) > 1}

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, id_: str) -> bool:
        return id_ in self.by_id

    def __repr__(self) -> str:
        return f"<Gazetteer {len(self.entries)} entries>"


def _default_texts() -> list[tuple[str, str]]:
    base = resources.files("allegiance.data").joinpath("gazetteer")
    out = []
    for name in DEFAULT_FILES:
        f = base.joinpath(name)
        if f.is_file():
            out.append((f.read_text("utf-8"), f"gazetteer/{name}"))
    return out


def _entries(texts: Iterable[tuple[str, str]]) -> Iterator[GazEntry]:
    for text, where in texts:
        for d in read_jsonl(text, where):
            yield entry_from_dict(d, where)


@lru_cache(maxsize=1)
def _default() -> Gazetteer:
    return Gazetteer(_entries(_default_texts()))


def load_gazetteer(extra: Iterable[str | Path] = ()) -> Gazetteer:
    """The default gazetteer (cached), plus entries from ``extra`` JSONL files in the same
    format.  An extra entry with an existing id replaces the default one."""
    extra = tuple(extra)
    if not extra:
        return _default()
    texts = _default_texts() + [(Path(p).read_text("utf-8"), str(p)) for p in extra]
    return Gazetteer(_entries(texts))
