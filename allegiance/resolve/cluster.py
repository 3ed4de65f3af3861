"""Within-document clustering: which mentions denote one actor.

Rules, in order: same gazetteer entry; same non-gazetteer key; acronym
definitions "Long Name (ACR)"; alias constructions ("X, also known as Y",
"X (a.k.a. Y)", "X or Y", "X - or Y -"); short forms of a longer name in the same
document ("Baghdadi" for "Abu Bakr al-Baghdadi", "Ansar" for "Ansar al-Sharia").
"""
from __future__ import annotations

import re

from allegiance.extract.cues import cues
from allegiance.extract.mentions import LINK_WORDS, Cand, SpanSet, find_all, word_index
from allegiance.resolve.gazetteer import Gazetteer
from allegiance.resolve.names import match_key

_ALIAS_GLUE = re.compile(
    r"^\s*(?:\(|,|-|–|—)?\s*(?:(?:also|better|formerly|previously|now|otherwise|popularly|commonly) )?"
    r"(?:known as|a\.k\.a\.?|aka|alias|or|nom de guerre|real name(?: is)?|whose real name is|also called|called|"
    r"under the nom de guerre|under the name|born)\s*[\"“‘']?\s*(?:the\s+)?$",
    re.IGNORECASE,
)
_PAREN_OPEN = re.compile(r"^\s*\(\s*[\"“‘']?(?:the\s+)?$")
_STOP_SHORT = frozenset(cues()["short_form_stopwords"])
_GEO_HEADS = frozenset(cues()["admin_place_heads"])
_ACRONYM = re.compile(r"[A-Z]{2,6}")


class _UF:
    def __init__(self, n: int):
        self.p = list(range(n))

    def find(self, a: int) -> int:
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.p[max(ra, rb)] = min(ra, rb)


_NICKNAME = re.compile(r"\s*[\"“][^\"”]{1,30}[\"”]\s*")


def _key(c: Cand) -> str:
    if c.entry is not None:
        return "gz:" + c.entry.id
    if c.source in ("state", "direction"):
        return c.key
    if c.type == "PERSON":   # 'Jimmy "Barbecue" Chérizier' is Jimmy Chérizier
        return f"ner:{match_key(_NICKNAME.sub(' ', c.text))}"
    return f"ner:{match_key(c.text)}"


def _compatible(a: Cand, b: Cand) -> bool:
    if a.entry is not None and b.entry is not None:
        return a.entry.id == b.entry.id
    if a.type == b.type:
        return True
    # statistical types are unreliable; a gazetteer type wins
    return a.source == "ner" or b.source == "ner"


def cluster(text: str, cands: list[Cand], gaz: Gazetteer) -> tuple[list[Cand], list[int]]:
    """Returns (mentions, cluster index per mention); may add mentions (acronym
    uses, surname uses) to the list."""
    cands = sorted(cands, key=lambda c: c.start)

    # 1. acronym definitions: "Long Name (ACR)" -> ACR everywhere is the same actor
    extra: list[Cand] = []
    words = word_index(text)
    spans = SpanSet(len(text), [(c.start, c.end) for c in cands])
    for c in list(cands):
        if c.type != "ORG":
            continue
        m = re.match(r"\s*\(\s*([A-Z][A-Za-z0-9\-]{1,9})\s*\)", text[c.end:c.end + 16])
        if not m:
            continue
        acr = m.group(1)
        if sum(ch.isupper() for ch in acr) < 2:
            continue
        for s, e in find_all(text, acr, words):
            if not spans.overlaps(s, e):
                a = Cand(s, e, acr, c.type, "acronym", c.entry, c.kind, key=c.key)
                a.extra["alias_of"] = c
                extra.append(a)
                spans.add(s, e)
    cands = sorted(cands + extra, key=lambda c: c.start)

    # 2. surnames of multi-word people without a gazetteer short form are found by
    #    scanning the text for the last name (press style: "Assimi", "Gouri")
    people = [c for c in cands if c.type == "PERSON" and len(c.text.split()) >= 2]
    extra = []
    spans = SpanSet(len(text), [(c.start, c.end) for c in cands])
    for p in people:
        m_last = re.search(r"(?:\b(?:al|el)-)?[^\s\-]+$", p.text)
        last = m_last.group(0) if m_last else ""
        if len(last) < 4 or not last[0].isupper() or match_key(last) in _STOP_SHORT:
            continue
        for s, e in find_all(text, last, words):
            if not spans.overlaps(s, e):
                extra.append(Cand(s, e, last, "PERSON", "coref", p.entry, p.kind, key="short"))
                spans.add(s, e)
    cands = sorted(cands + extra, key=lambda c: c.start)

    n = len(cands)
    uf = _UF(n)
    first: dict[str, int] = {}
    for i, c in enumerate(cands):
        if c.source == "coref":
            continue
        k = _key(c)
        if k in first:
            uf.union(first[k], i)
        else:
            first[k] = i

    # 2b. a state force with no country named ("the army", "soldiers") is the force of that
    #     class of the document's one country that has one; with none or several, it stays
    #     an actor of its own
    national: dict[str, set[str]] = {}
    for c in cands:
        if c.source == "state" and c.key.startswith("state:") and not c.extra.get("bare"):
            _, country, cls = c.key.split(":", 2)
            national.setdefault(cls, set()).add(c.key)
        elif c.entry is not None and c.entry.kind == "state_force":
            cls = "police" if "police" in c.entry.name.lower() else "military"
            national.setdefault(cls, set()).add(_key(c))
    # "Chadian military" and the gazetteer's Chadian army: one country's one force of a class
    gz_forces: dict[tuple, set[str]] = {}
    for c in cands:
        if c.entry is not None and c.entry.kind == "state_force" and c.entry.country:
            cls = "police" if "police" in c.entry.name.lower() else "military"
            gz_forces.setdefault((c.entry.country, cls), set()).add(_key(c))
    for i, c in enumerate(cands):
        iso = c.extra.get("iso")
        if c.source == "state" and iso and not c.extra.get("bare"):
            keys = gz_forces.get((iso, c.key.split(":", 2)[2]), set())
            if len(keys) == 1 and next(iter(keys)) in first:
                uf.union(first[next(iter(keys))], i)
    for i, c in enumerate(cands):
        if c.extra.get("bare"):
            cls = c.key.split(":", 2)[2]
            keys = national.get(cls, set())
            if len(keys) == 1:
                k = next(iter(keys))
                if k in first:
                    uf.union(first[k], i)

    # 2c. "Moemauk Township", "Marawi city" and "Moemauk", "Marawi": one place
    base_of: dict[str, int] = {}
    later: list[tuple[int, str]] = []
    for i, c in enumerate(cands):
        if c.source == "coref" or not (c.type == "PLACE" or (c.source == "ner" and c.entry is None)):
            continue
        words = match_key(c.text).split()
        if len(words) >= 2 and words[-1] in _GEO_HEADS:
            words = words[:-1]
        base = " ".join(words)
        if c.type != "PLACE":   # an NER name joins a place, never starts one
            later.append((i, base))
        elif base in base_of:
            uf.union(base_of[base], i)
        elif base:
            base_of[base] = i
    for i, base in later:   # wherever in the text the place is named
        if base in base_of:
            uf.union(base_of[base], i)

    # 2d. spelling variants of one name in one document ("Rwanda Defence Force" and
    #     "Rwandan Defence Forces"): names of several words that differ by a letter or two
    _join_spelling_variants(cands, uf)

    # 3. alias glue between neighbouring mentions
    for i in range(n - 1):
        a, b = cands[i], cands[i + 1]
        between = text[a.end:b.start]
        if len(between) > 40 or "\n" in between:
            continue
        if _ALIAS_GLUE.match(between) or (_PAREN_OPEN.match(between) and text[b.end:b.end + 3].lstrip("\"”’' ").startswith(")")):
            if a.type == "PLACE" or b.type == "PLACE":
                continue
            if _compatible(a, b):
                uf.union(i, b_index(cands, b))
    for i, c in enumerate(cands):
        alias_of = c.extra.get("alias_of")
        if alias_of is not None:
            j = b_index(cands, alias_of)
            if j is not None:
                uf.union(i, j)

    # 4. short forms: a name whose words end (or begin) a longer name of the same
    #    document, e.g. "Baghdadi", "Ag Ghaly", "Ansar", "Tahrir al Sham"
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(uf.find(i), []).append(i)
    longest: dict[int, list[str]] = {}
    for root, idxs in groups.items():
        # a description ("Gaddafi's regime", "FARC dissidents") lends no short form: the name in it is another actor
        forms = sorted({match_key(cands[i].text) for i in idxs if cands[i].source not in ("coref", "descriptor")},
                       key=lambda k: -len(k))
        longest[root] = [f for f in forms if f]
    for i, c in enumerate(cands):
        if c.entry is not None and c.source != "coref":
            continue
        k = match_key(c.text)
        if not k:
            continue
        toks = k.split()
        if all(t in _STOP_SHORT for t in toks):
            continue
        own = uf.find(i)
        matches = []
        for root, forms in longest.items():
            if root == own:
                continue
            rep = cands[groups[root][0]]
            if c.type == "PLACE" and rep.type != "PLACE":
                pass
            for f in forms:
                ft = f.split()
                if len(ft) <= len(toks):
                    continue
                if rep.type == "PERSON" and ft[-len(toks):] == toks:
                    matches.append(root)
                    break
                # a first name alone, once the full name is in the document ("Faraj")
                if rep.type == "PERSON" and c.type == "PERSON" and len(toks) == 1 and ft[0] == toks[0] \
                        and c.source != "coref":
                    matches.append(root)
                    break
                # "Mansi" and "Mansi Township": a place and its administrative head word
                if rep.type == "PLACE" and c.type == "PLACE" and len(ft) == len(toks) + 1 and ft[:-1] == toks \
                        and ft[-1] in _GEO_HEADS:
                    matches.append(root)
                    break
                # "AA" for "Arakan Army": an acronym spelling the initials of a name
                if rep.type == "ORG" and _ACRONYM.fullmatch(c.text) and c.source != "coref" and \
                        "".join(w[0] for w in ft if w not in LINK_WORDS) == c.text.lower():
                    matches.append(root)
                    break
                if rep.type == "ORG" and c.type in ("ORG", "PERSON") and c.source != "coref" and (
                    ft[: len(toks)] == toks or ft[-len(toks):] == toks
                ):
                    matches.append(root)
                    break
        if c.source == "coref":
            if c.entry is None and not matches:
                continue
        matches = list({uf.find(r) for r in matches})
        if len(matches) == 1:
            uf.union(i, matches[0])
        elif c.source == "coref" and not matches:
            pass

    # gazetteer short forms ("Zawahiri") for mentions still on their own
    roots = [uf.find(i) for i in range(n)]
    by_entry = {}
    for i, c in enumerate(cands):
        if c.entry is not None:
            by_entry.setdefault(c.entry.id, roots[i])
    for i, c in enumerate(cands):
        if c.entry is None and c.source in ("ner", "coref"):
            e = gaz.lookup_short(c.text)
            if e is not None:
                c.entry, c.type, c.kind = e, e.type, e.kind
                if e.id in by_entry:
                    uf.union(i, by_entry[e.id])
                else:
                    by_entry[e.id] = uf.find(i)

    # one gazetteer entry is one actor, however its mentions were reached
    first_of_entry: dict[str, int] = {}
    for i, c in enumerate(cands):
        if c.entry is not None:
            if c.entry.id in first_of_entry:
                uf.union(i, first_of_entry[c.entry.id])
            else:
                first_of_entry[c.entry.id] = i
    roots = [uf.find(i) for i in range(n)]
    # surname scans that joined nothing are dropped
    keep = []
    for i, c in enumerate(cands):
        if c.source == "coref" and sum(1 for r in roots if r == roots[i]) == 1 and c.entry is None:
            continue
        keep.append(i)
    return [cands[i] for i in keep], [roots[i] for i in keep]


def b_index(cands: list[Cand], c: Cand) -> int | None:
    for i, x in enumerate(cands):
        if x is c:
            return i
    return None


def _join_spelling_variants(cands: list[Cand], uf: _UF, cutoff: float = 92.0) -> None:
    from rapidfuzz import fuzz

    seen: list[tuple[str, str, int]] = []   # (type, key, index)
    for i, c in enumerate(cands):
        # organisations only: two people's names a letter apart are often two people
        if c.source == "coref" or c.type != "ORG":
            continue
        key = match_key(c.text)
        if len(key.split()) < 2 or len(key) < 10:
            continue
        for typ, other, j in seen:
            if typ == c.type and other != key and other.split()[0][:3] == key.split()[0][:3] \
                    and fuzz.ratio(key, other) >= cutoff:
                a, b = cands[i], cands[j]
                if a.entry is not None and b.entry is not None and a.entry.id != b.entry.id:
                    continue
                uf.union(i, j)
                break
        seen.append((c.type, key, i))
