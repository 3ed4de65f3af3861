"""Cheap candidate selection: which parts of a document the statistical pipeline
must read. Open world: the gazetteer speeds the decision up but is never needed for
it; conflict vocabulary, armed-actor nouns and capitalised names suffice.

spaCy's parse is the cost (the tokenizer alone is ~30x faster). A relation needs
an actor, so a sentence is worth parsing only when it names a known group or
person (gazetteer), looks like a group or person name ("X Brigades", "Abu X
al-Y"), names a state force, or refers back to an actor ("it", "the group") next
to a cue word or a place. Documents with none of these (most of a general news
feed) are not parsed at all. Runs of selected sentences are parsed together so
the parser keeps its context."""
from __future__ import annotations

import re
from functools import lru_cache

from allegiance.extract.cues import cues, relation_spec
from allegiance.extract.mentions import GazIndex, _pattern_rx
from allegiance.resolve.names import match_key

_SENT_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|\n+")
_PIECE = re.compile(r"[^\W\d_]+(?:['’][a-z]{1,2})?|\d+")
_ANAPHOR = re.compile(r"\b(?:it|its|they|their|he|his|which|who|the (?:new |newly[- ]formed |jihadist |militant |extremist |armed |terrorist )?(?:group|organi[sz]ation|faction|movement))\b", re.IGNORECASE)
MAX_NGRAM = 8
_POSSESSIVE_END = re.compile(r"['’][a-z]{1,2}$")


def _key_prefixes(idx: GazIndex) -> frozenset:
    """Every word prefix of every gazetteer key: an n-gram that is not one cannot
    grow into a name, so the scan stops there."""
    cached = idx.__dict__.get("_key_prefixes")
    if cached is None:
        out = set()
        for key in idx.keys:
            words = key.split(" ")
            for n in range(1, len(words) + 1):
                out.add(" ".join(words[:n]))
        cached = idx.__dict__["_key_prefixes"] = frozenset(out)
    return cached


def _pieces(text: str) -> tuple[list[str], list[str]]:
    pieces = [_POSSESSIVE_END.sub("", p) for p in _PIECE.findall(text)]
    return pieces, [match_key(p) for p in pieces]
# a named source: "..., Mouhcine Abdul Wahed, a Moroccan researcher, said." (people count as entities)
_NAMED_SOURCE = re.compile(r"\b[A-Z][\w’'\-]+ [A-Z][\w’'\-]+\b.{0,80}\b(?:said|says|told|added|stated|wrote)\b|"
                           r"\b(?:said|says|told|added|according to) (?:Mr |Ms |Dr )?[A-Z][\w’'\-]+ [A-Z]")


@lru_cache(maxsize=1)
def _cue_rx() -> re.Pattern:
    spec = relation_spec()["cues"]
    words = set()
    for name in ("LEADER", "ROLE", "PLEDGE", "SPLIT", "JOIN", "BRANCH", "ALLY_VERB", "RIVAL_VERB", "RIVAL_NOUN",
                 "MERGE_VERB", "MERGE_NOUN", "LOC_ADJ", "LOC_VERB", "RECRUIT", "ATTACK_VERB", "ATTACK_NOUN", "CLAIM"):
        words.update(w.lower() for w in spec[name])
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


@lru_cache(maxsize=1)
def _titled_name_rx() -> re.Pattern:
    """"King Mohamed VI", "Gen. Thomas Waldhauser": a title before a name."""
    titles = sorted({t.rstrip(".") for t in cues()["person_title_strip"]}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(t.capitalize()) for t in titles) + r")\.? [A-Z][\w’'\-]+")


@lru_cache(maxsize=1)
def _state_rx_words() -> frozenset:
    return frozenset(h.split()[0] for h in cues()["state_force_heads"])


_ABBREV = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Maj|Capt|Sgt|Adm|Gov|Sen|Rep|Prof|St|Jr|Sr|No|Jan|Feb|Mar|Apr|"
                     r"Aug|Sept?|Oct|Nov|Dec|U\.S|U\.N|U\.K|a\.k\.a|e\.g|i\.e|vs|etc))\.$")


def sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _SENT_END.finditer(text):
        if "\n" not in m.group(0) and _ABBREV.search(text[max(start, m.start() - 6):m.start()]):
            continue   # "Gen. Thomas D. Waldhauser", "the U.S. military"
        if m.start() > start:
            out.append((start, m.start()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return [(s, e) for s, e in out if text[s:e].strip()]


@lru_cache(maxsize=1)
def _gate_rx() -> re.Pattern:
    c = cues()
    heads = "|".join(re.escape(h.capitalize()) for h in sorted(c["armed_group_heads"], key=len, reverse=True))
    strong = "|".join(re.escape(w) for w in sorted(c["strong_cues"], key=len, reverse=True))
    return re.compile(r"\b[A-Z][\w’'\-]+(?:[ -](?:al|el|of|[A-Z][\w’'\-]+))* (?:" + heads + r")\b|\b(?:" + strong + r")\b",
                      re.IGNORECASE if False else 0)


def _ngram_hits(keys: list[str], i: int, idx: GazIndex, prefixes: frozenset):
    """(last piece, gazetteer hit) for every name of up to MAX_NGRAM pieces starting at
    piece ``i`` (pieces without a key, such as "al", are skipped inside a name)."""
    if not keys[i]:
        return
    joined = ""
    for j in range(i, min(len(keys), i + MAX_NGRAM)):
        if not keys[j]:
            continue
        joined = keys[j] if not joined else joined + " " + keys[j]
        if joined not in prefixes:
            return
        hit = idx.keys.get(joined)
        if hit is not None:
            yield j, hit


def about_armed_actors(text: str, idx: GazIndex) -> bool:
    """Does the document name an armed group, militia or militant leader (or use a
    cue that only such news uses)? Most of a general news feed does not."""
    kinds = set(cues()["armed_actor_kinds"])
    pieces, keys = _pieces(text)
    prefixes = _key_prefixes(idx)
    for i, p in enumerate(pieces):
        hit = idx.exact.get(p)
        if hit is not None and hit[0].kind in kinds:
            return True
        if not p[:1].isupper():
            continue   # a name starts with a capital: "let" is not LeT, "hamas" in a URL is not a name
        for _, hit in _ngram_hits(keys, i, idx, prefixes):
            if hit[0].kind in kinds:
                return True
    low = text.lower()
    if bool(_gate_rx().search(text)) or any(w in low for w in cues()["strong_cues"]):
        return True
    # open world: a group no list knows is still a group; conflict vocabulary tells
    ow = cues()["open_world"]
    found = _open_world_rx().findall(low)
    # an everyday word ("shot", "attack": sport and film news use them too) counts once
    # however often it recurs; the others count every time ("kidnapped" three times)
    everyday = _everyday_words()
    hits = len({w for w in found if w in everyday}) + sum(1 for w in found if w not in everyday)
    # two hits need an armed actor noun beside them, or a third hit
    return hits >= ow["min_hits"] and (any(w in _actor_nouns() for w in found) or hits > ow["min_hits"])


@lru_cache(maxsize=1)
def _everyday_words() -> frozenset:
    return frozenset(cues()["open_world"].get("everyday_words", ()))


@lru_cache(maxsize=1)
def _actor_nouns() -> frozenset:
    return frozenset(cues()["open_world"]["actor_nouns"])


@lru_cache(maxsize=1)
def _open_world_rx() -> re.Pattern:
    ow = cues()["open_world"]
    words = sorted(set(ow["actor_nouns"]) | set(ow["conflict_words"]), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


@lru_cache(maxsize=1)
def _actor_noun_rx() -> re.Pattern:
    words = sorted(cues()["open_world"]["actor_nouns"], key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


# a capitalised word after the sentence's first: a possible name, for the NER to judge
_INNER_NAME = re.compile(r"(?<=[\w,;:\)\]’'\"”] )[A-Z][\w’'\-]+")


def _actor_hit(sent: str, idx: GazIndex, names: set[str], collect: bool = False,
               split: tuple[list[str], list[str]] | None = None) -> tuple[bool, bool]:
    """(names a known group/person, names a known place). ``names`` collects the
    words of actor names found so far in the document, so that a later short
    form ("Droukdel", "Ansar") also counts. ``split``: ``_pieces(sent)``, when the caller
    has it."""
    pieces, keys = split if split is not None else _pieces(sent)
    prefixes = _key_prefixes(idx)
    actor = place = False
    for i, p in enumerate(pieces):
        if p in names and not collect:
            return True, place
        hit = idx.exact.get(p)
        if hit is not None:
            if hit[0].type == "PLACE":
                place = True
            else:
                actor = True
                if not collect:
                    return True, place
        for j, hit in _ngram_hits(keys, i, idx, prefixes):
            if hit[0].type == "PLACE":
                place = True
            else:
                names.update(q for q in pieces[i:j + 1] if q[:1].isupper() and len(q) > 3)
                actor = True
                if not collect:
                    return True, place
        low = p.lower()
        if low in idx.demonyms and i + 1 < len(pieces) and pieces[i + 1].lower() in _state_rx_words():
            actor = True
            if not collect:
                return True, place
    return actor, place


def select_blocks(text: str, idx: GazIndex) -> list[tuple[int, str]]:
    """[(offset, text)] of the runs of sentences worth parsing, in order."""
    if not about_armed_actors(text, idx):
        return []
    org_rx, person_rx, media_rx = _pattern_rx()
    cue = _cue_rx()
    keep: list[tuple[int, int]] = []
    names: set[str] = set()
    sents = sentences(text)
    # each sentence's words, split once for both passes
    splits = [_pieces(text[s:e]) for s, e in sents]
    # first pass: names found anywhere in the document make their short forms count
    for (s, e), split in zip(sents, splits):
        _actor_hit(text[s:e], idx, names, collect=True, split=split)
        for rx in (org_rx, person_rx, media_rx):
            for m in rx.finditer(text, s, e):
                names.update(w for w in re.split(r"[\s\-]+", m.group(1)) if w[:1].isupper() and len(w) > 3)
    for (s, e), split in zip(sents, splits):
        sent = text[s:e]
        actor, place = _actor_hit(sent, idx, names, split=split)
        if not actor:
            actor = bool(org_rx.search(sent) or person_rx.search(sent) or media_rx.search(sent))
        if not actor and _ANAPHOR.search(sent) and (place or cue.search(sent)):
            actor = True
        if not actor and (_NAMED_SOURCE.search(sent) or _titled_name_rx().search(sent)):
            actor = True
        if not actor and (_INNER_NAME.search(sent) or _actor_noun_rx().search(sent)):
            actor = True
        if actor:
            keep.append((s, e))
    blocks: list[tuple[int, int]] = []
    for s, e in keep:
        # sentences separated only by whitespace form one block
        if blocks and not text[blocks[-1][1]:s].strip():
            blocks[-1] = (blocks[-1][0], e)
        else:
            blocks.append((s, e))
    return [(s, text[s:e]) for s, e in blocks]
