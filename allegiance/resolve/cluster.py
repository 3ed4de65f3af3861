"""Within-document clustering: which mentions denote one actor.

Rules, in order: same gazetteer entry (a name the exact lookup missed may meet an entry
by its run-together spelling, "Jamaatul Ahrar"); same non-gazetteer key; acronym
definitions "Long Name (ACR)", which win over the gazetteer's reading of ACR; alias
constructions ("X, also known as Y", "X (a.k.a. Y)", "X, 41, better known by his nom de
guerre Y", "X, whose real name was Y", "X, Arabic for 'Y'", "X or Y"; the phrases are
in cues.json, and strong glue makes a mention of a name no finder read); short forms of
a longer name in the same document ("Baghdadi" for "Abu Bakr al-Baghdadi", "Ansar" for
"Ansar al-Sharia", "Aqap" for "Al Qaeda in the Arabian Peninsula"), of its own type or
introduced before it when several fit; spelling variants of one name.
"""
from __future__ import annotations

import bisect
import re
from functools import lru_cache

from allegiance.clean.wire import is_common
from allegiance.extract.cues import cues
from allegiance.extract.mentions import LINK_WORDS, Cand, SpanSet, find_all, word_index
from allegiance.resolve.gazetteer import Gazetteer
from allegiance.resolve.names import match_key

_CUES = cues()


def _alt(words) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=len, reverse=True))


# "X, also known as Y", "X (a.k.a. Y)", "X, 41, better known by his nom de guerre Commander Y",
# "X, who went by the name Y", "X, whose real name was given as Y", "X, alias “Y”"
_GLUE_HEAD = (r"\s*(?:\(|,|-|–|—)?\s*"
              r"(?:(?:\d{1,3}|(?:a|an|the)\s+[\w’'\-]+(?:\s+[\w’'\-]+){0,6})\s*,\s*)?"   # an age or a short apposition
              r"(?:(?:who|which|that)\s+(?:(?:is|was|are|were|has\s+been|had\s+been)\s+)?)?"
              rf"(?:(?:{_alt(_CUES['alias_glue_adverbs'])})\s+)?")
_TITLE = rf"(?:(?:{_alt(_CUES['person_title_strip'])})\.?\s+)"
_GLUE_TAIL = r"\s*(?:,\s*)?[\"“‘']?\s*(?:the\s+)?" + _TITLE + "?"
_STRONG_PHRASES = [p for p in _CUES["alias_glue_phrases"] if p not in _CUES["alias_glue_weak"]]
_GLUE_ANY = _GLUE_HEAD + rf"(?:{_alt(_CUES['alias_glue_phrases'])})"
_GLUE_STRONG = _GLUE_HEAD + rf"(?:{_alt(_STRONG_PHRASES)})"
# "the Horas al-Din group, Arabic for “Guardians of Religion”": a name glossed by its translation
_GLOSS = rf"\s*(?:[a-z]+\s*)?,?\s*\(?\s*(?:{_alt(_CUES['alias_gloss_languages'])})\s+for\s*[\"“‘']?\s*(?:the\s+)?"
_ALIAS_GLUE = re.compile(rf"^(?i:{_GLUE_ANY}{_GLUE_TAIL}|{_GLOSS})$")
_STRONG_GLUE = re.compile(rf"^(?i:{_GLUE_STRONG}{_GLUE_TAIL}|{_GLOSS})$")
# a name the glue introduces that no finder read: quoted, or capitalised words
_NAME = (r"(?:(?:al|el|as|ash|ad|an|ar|at|az)-)?[A-Z][\w’'\-]*"
         r"(?:[ \t]+(?:(?:al|el|ibn|bin|ag|ould|de|del|da|dos|van|von)[ \t]+)?(?:(?:al|el)-)?[A-Z][\w’'\-]*){0,3}")
_GLUE_THEN_NAME = re.compile(
    rf"(?i:{_GLUE_STRONG})[ \t]*(?:,[ \t]*)?"
    rf"(?:[\"“‘'][ \t]*(?P<q>[A-Z][^\"“”‘’\n]{{0,40}}?)[\s.,;:!?]*[\"”’']|(?i:the[ \t]+)?(?i:{_TITLE})?(?P<n>{_NAME}))")
_NAME_THEN_GLUE = re.compile(rf"(?<![\w’'\-])(?P<n>{_NAME})(?={_STRONG_GLUE.pattern[1:-1]}$)")


def _glue_words() -> list[str]:
    """Words one of which every match of ``_NAME_THEN_GLUE`` contains: a word (or a part
    of one) of each strong glue phrase, and of each gloss language ("Arabic for"). The
    glue regex joins a phrase's words by whitespace, so each word appears as written
    (case aside)."""
    chosen: list[str] = []
    for phrase in sorted({*_STRONG_PHRASES, *_CUES["alias_gloss_languages"]}, key=lambda p: (len(p.split()), p)):
        words = phrase.lower().split()
        if not any(w in x for w in chosen for x in words):
            chosen.append(max(words, key=len))
    return sorted(chosen, key=len)


# every place a glue word starts, with the shortest that starts there (zero-width: no
# occurrence hides another)
_GLUE_WORD_AT = re.compile(r"(?=((?i:" + "|".join(re.escape(w) for w in _glue_words()) + ")))")
#: capitalised words that start a sentence rather than a name ("In Gao, ...")
_NOT_NAME_START = frozenset("""the a an in on at by for from with after before when while as but and or he she it
    they his her its their this that these those one two some then there here meanwhile""".split()) | {
    t.lower() for t in _CUES["person_title_strip"]} | {t.lower() for t in _CUES["alias_glue_adverbs"]}
_PAREN_OPEN = re.compile(r"^\s*\(\s*[\"“‘']?(?:the\s+)?$")
# "(Y)", "(Y – ACR)", "(Y, or ACR)": the parenthesis closes after the other name
_PAREN_CLOSE = re.compile(r"[\"”’']?\s*(?:(?:[,–—-]|,?\s+or)\s*[A-Z][A-Za-z0-9\-]{1,9}\s*)?\)")
_STOP_SHORT = frozenset(cues()["short_form_stopwords"])
_GEO_HEADS = frozenset(cues()["admin_place_heads"])
_ACRONYM = re.compile(r"[A-Z]{2,6}")


#: mentions whose name was read from the text, not looked up
_READ_NAMES = ("ner", "pattern", "coord", "alias")
_DEF_TAIL = re.compile(r"((?:[ \t]+(?:of|the|for|and|in|de|du|des|la|le|el|al|wal|[A-Z][\w’'\-]*)){1,6}?)"
                       r"(?:[ \t]+[a-z]{3,12})?[ \t]*\(\s*([A-Z][A-Za-z0-9\-]{1,9})\s*\)")
_TITLE_ACRONYM = re.compile(r"[A-Z][a-z]{2,4}")   # Guardian style: "Aqap", "Isis"


def _spells(name: str, acr: str) -> bool:
    """Do the initials of ``name``'s words spell the acronym ``acr``? ("Sri Lanka Army"
    SLA, "Jamaat-ul-Ahrar" JuA, "al-Qaeda in the Arabian Peninsula" AQAP)."""
    want = {"".join(ch for ch in acr if ch.isupper()), "".join(ch for ch in acr if ch.isalpha()).upper()}
    parts = [p for w in name.split() for p in re.split(r"[-/]", w.strip("\"“”‘’'(),")) if p]
    caps = "".join(p[0] for p in parts if p[0].isupper())
    with_articles = "".join(p[0].upper() for p in parts if p[0].isupper() or p.lower() in ("al", "el"))
    every = "".join(p[0].upper() for p in parts if p[0].isalpha() and p.lower() not in LINK_WORDS)
    return bool(want & {caps, with_articles, every})


def _unlike(name: str, entry) -> bool:
    """No name of the gazetteer ``entry`` resembles ``name``."""
    from rapidfuzz import fuzz

    key = match_key(name)
    return all(fuzz.ratio(key, match_key(n)) < 70 for n in entry.all_names())


def _country_possessives(cands: list[Cand], gaz: Gazetteer) -> list[Cand]:
    """"Myanmar’s Three Brotherhood Alliance": the name is "Three Brotherhood Alliance"; the
    country before the possessive is a place mention of its own."""
    out = []
    places = {c.text for c in cands if c.type == "PLACE"}
    for c in cands:
        if c.type != "ORG" or c.entry is not None or c.source not in _READ_NAMES + ("acronym",):
            continue
        m = re.match(r"([A-Z][\w\-]+(?: [A-Z][\w\-]+){0,2})['’]s\s+(?=[A-Z])", c.text)
        if not m:
            continue
        e = gaz.lookup(m.group(1))
        if len(c.text) - m.end() < 4 or (e is None and m.group(1) not in places) or (e is not None and e.type != "PLACE"):
            continue
        if e is not None:
            out.append(Cand(c.start, c.start + len(m.group(1)), m.group(1), "PLACE", "gazetteer", e, e.kind))
        else:
            out.append(Cand(c.start, c.start + len(m.group(1)), m.group(1), "PLACE", "ner", None, None,
                            key=match_key(m.group(1))))
        c.start += m.end()
        c.text = c.text[m.end():]
        c.key = match_key(c.text)
    return out


def _alias_mentions(text: str, cands: list[Cand]) -> list[Cand]:
    """The other name of an alias construction when no finder read it: 'X, alias
    "Timochenko"', 'Bakura, whose real name was given as Ibrahim Mahamadu'. It takes the
    type of the name it is glued to."""
    spans = SpanSet(len(text), [(c.start, c.end) for c in cands])
    out = []
    # The backward search below (a name, then glue up to the mention) tries the name at
    # every capital of a 90-character window, for every mention; a window holding no
    # glue word cannot match, and most hold none. One scan of the text finds the words.
    glue_at = [(m.start(), m.end(1)) for m in _GLUE_WORD_AT.finditer(text)]
    glue_starts = [a for a, _ in glue_at]
    for c in cands:
        if c.type not in ("ORG", "PERSON"):
            continue
        m = _GLUE_THEN_NAME.match(text, c.end)
        if m and "\n" not in m.group(0):
            g = "q" if m.group("q") else "n"
            s, e = m.start(g), m.end(g)
            new = _alias_cand(text, s, e, c, spans, quoted=g == "q")
            if new is not None:
                out.append(new)
        lo = max(0, c.start - 90)
        k = bisect.bisect_left(glue_starts, lo)
        while k < len(glue_at) and glue_at[k][0] < c.start and glue_at[k][1] > c.start:
            k += 1
        if k == len(glue_at) or glue_at[k][0] >= c.start:
            continue   # no glue word inside the window
        window = text[lo:c.start]
        m = _NAME_THEN_GLUE.search(window)
        if m and "\n" not in window[m.start():]:
            base = c.start - len(window)
            new = _alias_cand(text, base + m.start("n"), base + m.end("n"), c, spans)
            if new is not None:
                out.append(new)
    return out


def _alias_cand(text: str, s: int, e: int, like: Cand, spans: SpanSet, quoted: bool = False) -> Cand | None:
    toks = text[s:e].split()
    while toks and toks[0].lower().strip(".") in _NOT_NAME_START:
        s = text.index(toks[1], s + len(toks[0])) if len(toks) > 1 else e
        toks = toks[1:]
    name = text[s:e].rstrip(".,;:!? ")
    e = s + len(name)
    if len(name) < 3 or not name[:1].isupper() or spans.overlaps(s, e) or match_key(name) in _STOP_SHORT:
        return None
    if not quoted and " " not in name and is_common(name.lower()):
        return None   # "Also known as X, the militant ...": a sentence's first word
    spans.add(s, e)
    return Cand(s, e, name, like.type, "alias", None, None, key=match_key(name))


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
    if c.extra.get("force_key"):
        return c.extra["force_key"]
    if c.type == "PERSON":   # 'Jimmy "Barbecue" Chérizier' is Jimmy Chérizier
        return f"ner:{match_key(_NICKNAME.sub(' ', c.text))}"
    if _HYPHENED_ACRONYM.fullmatch(c.text):   # "G-9" is "G9", "M-23" is "M23"
        return f"ner:{match_key(c.text.replace('-', ''))}"
    return f"ner:{match_key(c.text)}"


_GLOSS_ACR = re.compile(r"\s*\(\s*[A-ZÀ-Ý][^()\n]{2,90}?\s[-–—]\s*([A-Z][A-Za-z0-9\-]{1,9})\s*\)")


@lru_cache(maxsize=1)
def _NOT_ACRONYMS() -> frozenset:
    return frozenset(cues()["acronym_not_names"])


_HYPHENED_ACRONYM = re.compile(r"[A-Z0-9]{1,5}(?:-[A-Z0-9]{1,5})+")


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
    cands = sorted(cands + _country_possessives(cands, gaz), key=lambda c: c.start)
    cands = sorted(cands + _alias_mentions(text, cands), key=lambda c: c.start)
    # "Jamaatul Ahrar" for the gazetteer's Jamaat-ul-Ahrar: a name the exact lookup missed that
    # differs from a known one only in spacing and hyphenation
    for c in cands:
        if c.entry is None and c.source in _READ_NAMES:
            e = gaz.lookup_compact(c.text)
            if e is not None and (e.type != "PLACE" or c.type == "PLACE"):
                c.entry, c.type, c.kind = e, e.type, e.kind

    # 1. acronym definitions: "Long Name (ACR)" -> ACR everywhere is the same actor; the
    #    document's own definition wins over the gazetteer's reading of ACR ("Sri Lanka Army
    #    (SLA)" is not the Sudan Liberation Army)
    extra: list[Cand] = []
    words = word_index(text)
    spans = SpanSet(len(text), [(c.start, c.end) for c in cands])
    by_text: dict[str, list[Cand]] = {}
    for c in cands:
        by_text.setdefault(c.text, []).append(c)
    for c in list(cands):
        if c.type != "ORG":
            continue
        m = re.match(r"\s*\(\s*([A-Z][A-Za-z0-9\-]{1,9})\s*\)", text[c.end:c.end + 16])
        if not m:
            # "Revolutionary Armed Forces of Colombia (Fuerzas Armadas ... de Colombia – FARC)":
            # the name in its own language, a dash, the acronym
            m = _GLOSS_ACR.match(text, c.end)
            if m and m.group(1) in _NOT_ACRONYMS():
                m = None
        long_name = c.text
        if not m:
            # "Communist Party of the Philippines (CPP)": the definition runs on past the
            # mention, over name words (a place among them) and perhaps a head noun
            m = _DEF_TAIL.match(text, c.end)
            if not m or not _spells(c.text + m.group(1), m.group(2)) or _spells(c.text, m.group(2)):
                continue
            long_name = c.text + m.group(1)
            acr = m.group(2)
        else:
            acr = m.group(1)
        if sum(ch.isupper() or ch.isdigit() for ch in acr) < 2:   # "G9", "M23" are acronyms too
            continue
        defined = _spells(long_name, acr)
        for a in by_text.get(acr, ()):
            if a is c or a.start < c.end:
                continue
            if a.entry is not None and (c.entry is None or a.entry.id != c.entry.id):
                if not (defined and _unlike(long_name, a.entry)):
                    continue
                a.entry, a.type, a.kind, a.key = c.entry, c.type, c.kind, c.key
            if long_name != c.text or a.entry is None or c.entry is None:
                a.extra["alias_of"] = c
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

    # "Sri Lanka Army": a country's force by its name is that country's state force
    for c in cands:
        if c.entry is None and c.source in _READ_NAMES + ("acronym",) and c.type == "ORG":
            force = _country_force(c.text, gaz)
            if force:
                c.extra["force_key"] = "state:%s:%s" % force

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
        elif c.extra.get("force_key"):
            national.setdefault(c.extra["force_key"].split(":", 2)[2], set()).add(c.extra["force_key"])
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

    # 3. alias glue between neighbouring names (a common noun read as a mention, "the
    #    military" in "X, a former military commander, who went by the name Y", is no name)
    for i in range(n - 1):
        a = cands[i]
        j = i + 1
        while j < n - 1 and cands[j].start < a.end + 90 and _common_noun(cands[j]):
            j += 1
        b = cands[j]
        between = text[a.end:b.start]
        if len(between) > 90 or "\n" in between:
            continue
        paren = _PAREN_OPEN.match(between) and _PAREN_CLOSE.match(text, b.end)
        strong = _STRONG_GLUE.match(between)
        if j > i + 1 and not strong:
            continue
        if _ALIAS_GLUE.match(between) or paren:
            if a.type == "PLACE" or b.type == "PLACE":
                # a statistical place reading gives way to strong glue ('X, alias “El Mencho”')
                # and to a gloss of an unknown name ("Wazalendo (Patriots)")
                # (the name after the glue: in "the commander in the Southeast, popularly known
                # as X" the place is not what X names)
                loose = [x for x in (a, b) if x.type == "PLACE"]
                if not all(x.entry is None and x.source == "ner" for x in loose):
                    continue
                if not ((strong and a.type != "PLACE") or (
                        paren and a.entry is None and b.entry is None and not b.text.isupper())):
                    continue
                if len(loose) == 1:
                    loose[0].type = b.type if loose[0] is a else a.type
            if _compatible(a, b):
                uf.union(i, j)
    for i, c in enumerate(cands):
        alias_of = c.extra.get("alias_of")
        if alias_of is not None:
            j = b_index(cands, alias_of)
            if j is not None:
                uf.union(i, j)

    # 4. short forms: a name whose words end (or begin) a longer name of the same
    #    document, e.g. "Baghdadi", "Ag Ghaly", "Ansar", "Tahrir al Sham", "Hizb" (for
    #    "Hizbul Mujahideen": "-ul" is the article)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(uf.find(i), []).append(i)
    longest: dict[int, list[str]] = {}
    for root, idxs in groups.items():
        # a description ("Gaddafi's regime", "FARC dissidents") lends no short form: the name in it is another actor
        forms = {match_key(cands[i].text) for i in idxs if cands[i].source not in ("coref", "descriptor")}
        forms |= {_ul_split(f) for f in forms}
        longest[root] = [f for f in sorted(forms, key=lambda k: -len(k)) if f]
    first_start = {root: min(cands[i].start for i in idxs) for root, idxs in groups.items()}
    start_root = [uf.find(i) for i in range(n)]
    for i, c in enumerate(cands):
        if c.entry is not None and c.source != "coref":
            continue
        k = match_key(c.text)
        if not k:
            continue
        toks = k.split()
        if all(t in _STOP_SHORT for t in toks):
            continue
        variants = [toks] + ([_ul_split(k).split()] if _ul_split(k) != k else [])
        acr = c.text if _ACRONYM.fullmatch(c.text) else (
            c.text.upper() if _TITLE_ACRONYM.fullmatch(c.text) and c.source == "ner" else None)
        own = uf.find(i)
        if own != start_root[i]:
            continue   # another use of this name already chose its longer name
        matches = []
        for root, forms in longest.items():
            if root == own:
                continue
            rep = cands[groups[root][0]]
            if _short_form_of(c, variants, acr, rep, forms,
                              [cands[j].text for j in groups[root] if cands[j].source not in ("coref", "descriptor")]):
                matches.append(root)
        if c.source == "coref":
            if c.entry is None and not matches:
                continue
        matches = list({uf.find(r): None for r in matches})
        if len(matches) > 1:
            # one of several longer names: the one of the mention's own type, then the one
            # the text introduced before it ("Al-Barasi" after "Abdul-Salam Al-Barasi",
            # before "Faraj Al-Barasi" is named)
            same = [r for r in matches if cands[groups[r][0]].type == c.type]
            if same:
                matches = same
            if len(matches) > 1:
                before = [r for r in matches if min(first_start[x] for x in first_start if uf.find(x) == r) < c.start]
                if len(before) == 1:
                    matches = before
        if len(matches) == 1:
            uf.union(i, matches[0])

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


def _country_force(name: str, gaz: Gazetteer) -> tuple[str, str] | None:
    """"Sri Lanka Army" -> ("sri_lanka", "military"): a country's name and a state force head."""
    m = _COUNTRY_FORCE.match(name)
    if not m:
        return None
    e = gaz.lookup(m.group(1))
    if e is None or e.type != "PLACE" or e.kind != "country":
        return None
    head = m.group(2).lower()
    return e.id, _CUES["state_force_equivalents"].get(head, head)


_COUNTRY_FORCE = re.compile(r"((?:[A-Z][\w\-]+ ){0,2}[A-Z][\w\-]+) (" + _alt(_CUES["state_force_heads"]) + r")$", re.IGNORECASE)


def _ul_split(key: str) -> str:
    """"hizbul mujahideen" -> "hizb mujahideen": a run-together "-ul-" article dropped."""
    return " ".join(t[:-2] if len(t) >= 6 and t.endswith("ul") else t for t in key.split())


def _short_form_of(c: Cand, variants: list[list[str]], acr: str | None, rep: Cand, forms: list[str],
                   texts: list[str]) -> bool:
    """Is ``c`` a short form of the actor whose first mention is ``rep`` and whose names
    have the match keys ``forms``?"""
    for toks in variants:
        for f in forms:
            ft = f.split()
            if len(ft) <= len(toks):
                continue
            if rep.type == "PERSON" and ft[-len(toks):] == toks:
                return True
            # a first name alone, once the full name is in the document ("Faraj"; the
            # NER may read it as a place)
            if rep.type == "PERSON" and len(toks) == 1 and ft[0] == toks[0] and c.source != "coref" and (
                    c.type == "PERSON" or (c.type == "PLACE" and c.source == "ner" and c.text.isalpha())):
                return True
            # "Mansi" and "Mansi Township": a place and its administrative head word
            if rep.type == "PLACE" and c.type == "PLACE" and len(ft) == len(toks) + 1 and ft[:-1] == toks \
                    and ft[-1] in _GEO_HEADS:
                return True
            if rep.type == "ORG" and c.type in ("ORG", "PERSON") and c.source != "coref" and (
                ft[: len(toks)] == toks or ft[-len(toks):] == toks
            ):
                return True
    # "AA" for "Arakan Army", "Aqap" for "Al Qaeda in the Arabian Peninsula": an acronym
    # spelling the initials of a name
    if acr is not None and rep.type == "ORG" and c.source != "coref":
        if any("".join(w[0] for w in f.split() if w not in LINK_WORDS) == acr.lower() for f in forms):
            return True
        if any(len(t.split()) > 1 and _spells(t, acr) for t in texts):
            return True
    return False


def _common_noun(c: Cand) -> bool:
    """"military", "the army": a mention that is no name."""
    return c.text[:1].islower() and not re.match(r"(?:al|el|as|ash|ad|an|ar|at|az)-", c.text)


def b_index(cands: list[Cand], c: Cand) -> int | None:
    for i, x in enumerate(cands):
        if x is c:
            return i
    return None


def _join_spelling_variants(cands: list[Cand], uf: _UF, cutoff: float = 92.0) -> None:
    from rapidfuzz import fuzz

    # (key, index) of the organisations' names so far, by the first three letters of the
    # key's first word: only names sharing those are compared, so looking in their bucket
    # alone, in order, finds the same first match as a scan of every name (a scan per
    # mention was quadratic in a document's mentions)
    seen: dict[str, list[tuple[str, int]]] = {}
    entry_keys: dict[str, set[str]] = {}
    people: list[tuple[list[str], int]] = []
    for i, c in enumerate(cands):
        if c.source == "coref":
            continue
        if c.type == "PERSON":
            toks = match_key(c.text).split()
            for other, j in people:
                e = cands[j].entry
                if (c.entry is None or e is None) and _person_variant(toks, other, fuzz):
                    uf.union(i, j)
                    break
            if len(toks) >= 2:
                people.append((toks, i))
            if c.entry is None:
                continue
        # organisations only: two people's names a letter apart are often two people
        if c.type != "ORG":
            continue
        keys = {match_key(c.text)}
        if c.entry is not None:   # "Rwandan Defence Forces" is nearer the entry's "Rwanda Defence Force"
            names = entry_keys.get(c.entry.id)
            if names is None:
                names = entry_keys[c.entry.id] = {match_key(n) for n in c.entry.all_names()}
            keys |= names
        keys = [k for k in keys if len(k.split()) >= 2 and len(k) >= 10]
        for key in keys:
            hit = None
            for other, j in seen.get(key.split()[0][:3], ()):
                if other != key and fuzz.ratio(key, other) >= cutoff:
                    a, b = cands[i], cands[j]
                    if a.entry is not None and b.entry is not None and a.entry.id != b.entry.id:
                        continue
                    hit = j
                    break
            if hit is not None:
                uf.union(i, hit)
                break
        for key in keys:
            seen.setdefault(key.split()[0][:3], []).append((key, i))


def _person_variant(a: list[str], b: list[str], fuzz) -> bool:
    """"Massod Azhar" and "Masood Azhar": one person's name spelt two ways -- the same
    surname, as many names, each given name a letter or two from the other. Relatives
    share a surname but not (nearly) a given name."""
    if len(a) != len(b) or len(a) < 2 or a == b or a[-1] != b[-1] or len(a[-1]) < 4:
        return False
    return all(x == y or (x[0] == y[0] and min(len(x), len(y)) >= 4 and fuzz.ratio(x, y) >= 80)
               for x, y in zip(a[:-1], b[:-1]))
