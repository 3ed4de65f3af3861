"""Finding entity mentions: gazetteer names (with transliteration folding),
spaCy's statistical NER for names the gazetteer does not know, state forces
("Tunisian army"), directional places ("northern Mali") and acronym definitions.

Works on a parsed spaCy Doc of the cleaned text; offsets here are offsets into
the cleaned text (the caller maps them back to raw offsets)."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from allegiance.extract.cues import cues
from allegiance.resolve.gazetteer import GazEntry, Gazetteer, load_gazetteer
from allegiance.resolve.names import match_key

MAX_SPAN_TOKENS = 10
ARTICLES = {"al", "el"}
# Arabic sun-letter articles that are also English words: only with a hyphen ("as-Sahab")
HYPHEN_ARTICLES = {"ad", "an", "ar", "as", "ash", "at", "az"}
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_CITATION_END = re.compile(r"\.?\[\d{1,3}\]?$")


@dataclass
class Cand:
    """A mention candidate (offsets into the cleaned text)."""

    start: int
    end: int
    text: str
    type: str                   # ORG | PERSON | PLACE
    source: str                 # gazetteer | ner | state | direction | acronym | pattern
    entry: GazEntry | None = None
    kind: str | None = None
    key: str = ""               # a clustering key for non-gazetteer mentions
    parent: "Cand | None" = None  # possessor inside a descriptive reference
    extra: dict = field(default_factory=dict)


@dataclass
class GazIndex:
    keys: dict[str, tuple[GazEntry, str]]
    exact: dict[str, tuple[GazEntry, str]]   # case-sensitive acronyms
    demonyms: dict[str, GazEntry]
    max_len: int
    # keys of the few known names written with a comma ("Washington, D.C."): any other
    # run of words read across a comma is two names, not one ("Ansar al-Sharia, Libya ...")
    comma_keys: frozenset = frozenset()
    # parent id -> its branches' entries ("AQIM" -> the Sahara emirate), for "AQIM in the Sahara"
    children: dict = field(default_factory=dict)


def _is_acronym(form: str) -> bool:
    bare = form.replace(".", "")
    return bare.isupper() and len(bare) <= 6 and " " not in form


@lru_cache(maxsize=4)
def gaz_index(gaz: Gazetteer | None = None) -> GazIndex:
    gaz = gaz or load_gazetteer()
    keys: dict[str, tuple[GazEntry, str]] = {}
    exact: dict[str, tuple[GazEntry, str]] = {}
    demonyms: dict[str, GazEntry] = {}
    rank = {"armed_group": 0, "militia": 1, "person": 2}
    max_len = 1
    comma_keys = set()
    for text, entry, how in gaz.surface_forms():
        if "," in text:
            comma_keys.add(match_key(text))
        if how == "demonym":
            demonyms.setdefault(text.lower(), entry)
            continue
        if _is_acronym(text):
            prev = exact.get(text)
            if prev is None or rank.get(entry.kind, 5) < rank.get(prev[0].kind, 5):
                exact[text] = (entry, how)
            continue
        k = match_key(text)
        if not k:
            continue
        # Short forms ("Baghdadi") of people are recognised only when the
        # document also names the full person: handled in clustering.
        if how == "short":
            continue
        prev = keys.get(k)
        if how != "description" and text.split()[-1][:1].islower():
            how = "lower_end"   # "Zintan militia": the name may end on a lowercase word
        if prev is None or rank.get(entry.kind, 5) < rank.get(prev[0].kind, 5):
            keys[k] = (entry, how)
        max_len = max(max_len, len(k.split()))
    children: dict[str, list[GazEntry]] = {}
    for e in gaz.entries:
        if e.parent and e.type == "ORG":
            children.setdefault(e.parent, []).append(e)
    return GazIndex(keys, exact, demonyms, min(max_len + 4, MAX_SPAN_TOKENS + 4), frozenset(comma_keys), children)


@lru_cache(maxsize=1)
def _geo_heads() -> frozenset:
    return frozenset(cues()["geo_heads"])


def _tok_key(tok) -> str:
    t = tok.text
    if tok.is_punct or tok.is_space:
        return ""
    if t in ("'s", "’s", "'", "’"):
        return ""
    return match_key(t)


def _startable(tok) -> bool:
    t = tok.text
    if not t or tok.is_space or tok.is_punct:
        return False
    if t[0].isupper():
        return True
    low = t.lower()
    if low in ARTICLES:
        return True
    nxt = tok.nbor(1) if tok.i + 1 < len(tok.doc) else None
    return low in HYPHEN_ARTICLES and nxt is not None and nxt.text == "-"


def _clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim spaces, quotes, trailing possessive and a leading 'the' from [start, end)."""
    s = text[start:end]
    while s and s[0] in " \t\n\"'“”‘’(-–—,":
        s, start = s[1:], start + 1
    m = _POSSESSIVE.search(s)
    if m and len(s) > 3:
        s, end = s[: m.start()], start + m.start()
    while s and s[-1] in " \t\n\"'“”‘’),.-–—:;":
        s, end = s[:-1], end - 1
    m = _CITATION_END.search(s)
    if m and m.start() > 1:   # "Ansar Dine.[4]": a wiki footnote marker is not part of the name
        s, end = s[: m.start()], start + m.start()
        while s and s[-1] in " .,;:":
            s, end = s[:-1], end - 1
    if s.lower().startswith("the "):
        s, start = s[4:], start + 4
    return start, start + len(s)


_IN_PLACE = re.compile(r" in (?:the )?((?:(?:al|el)-)?[A-Z][\w’'\-]+(?: [A-Z][\w’'\-]+){0,2})(?![\w’'\-])")


def _branch_in(text: str, end: int, entry: GazEntry, idx: GazIndex) -> tuple[int, GazEntry] | None:
    """"IS in Somalia", "AQIM in the Sahara": a known group named with "in" and a place is
    its branch there, when the gazetteer knows a branch of that group whose name holds the
    place ("Islamic State Somalia Province", "Sahara Emirate"). (end of the span, branch)"""
    kids = idx.children.get(entry.id)
    if not kids:
        return None
    m = _IN_PLACE.match(text, end)
    if not m:
        return None
    words = m.group(1).split()
    for k in range(len(words), 0, -1):   # "in Somalia could grow": the longest run that is a place
        place = " ".join(words[:k])
        hit = idx.keys.get(match_key(place))
        if hit is None or hit[0].type != "PLACE":
            continue
        child = _child_in(entry, place, idx)
        return (m.start(1) + len(place), child) if child is not None else None
    return None


def _child_in(entry: GazEntry, place: str, idx: GazIndex) -> GazEntry | None:
    """The one branch of ``entry`` the gazetteer knows whose name holds ``place``."""
    pk = f" {match_key(place)} "
    found = [e for e in idx.children.get(entry.id, ()) if any(pk in f" {match_key(n)} " for n in e.all_names())]
    return found[0] if len(found) == 1 else None


@lru_cache(maxsize=1)
def _branch_of_rx() -> re.Pattern:
    nouns = sorted(cues()["branch_nouns"], key=len, reverse=True)
    return re.compile(r" (?:" + "|".join(re.escape(n) for n in nouns) + r") of (?:the )?")


def branch_of_mentions(text: str, cands: list[Cand], idx: GazIndex) -> list[Cand]:
    """``cands`` with "the Sahara branch of AQIM", "the Somalia wing of the Islamic State"
    read as that branch, when the gazetteer knows a branch of the group whose name holds
    the place: one mention in place of the place and the group."""
    out = sorted(cands, key=lambda c: c.start)
    for k in range(len(out) - 1):
        p, g = out[k], out[k + 1]
        if p is None or g is None or p.type != "PLACE" or g.type != "ORG" or g.entry is None:
            continue
        if not _branch_of_rx().fullmatch(text, p.end, g.start):
            continue
        child = _child_in(g.entry, p.text, idx)
        if child is None:
            continue
        out[k] = Cand(p.start, g.end, text[p.start:g.end], "ORG", "gazetteer", child, child.kind)
        out[k + 1] = None
    return [c for c in out if c is not None] if any(c is None for c in out) else cands


def gazetteer_mentions(doc, idx: GazIndex, text: str | None = None) -> list[Cand]:
    text = doc.text if text is None else text   # Doc.text joins every token: pass it when known
    toks = list(doc)
    keys = [_tok_key(t) for t in toks]
    # the look-ahead below reads each token's text up to max_len times: a Token's
    # .text builds a new string on every access
    texts = [t.text for t in toks]
    # every key and every start of one ending before a space (``select``'s set): the
    # look-ahead stops once the words joined so far are none of these, since no longer
    # run of words could then be a key either
    from allegiance.extract.select import _key_prefixes

    prefixes = _key_prefixes(idx)
    out: list[Cand] = []
    i, n = 0, len(toks)
    while i < n:
        tok = toks[i]
        if not _startable(tok):
            i += 1
            continue
        # case-sensitive acronyms first (IS, AQIM, ISWAP)
        hit = idx.exact.get(tok.text)
        # "ABC-FDD": a known acronym glued after a hyphen is the tail of another name (one
        # before a hyphen heads its own offshoot or part, "ISIS-Core", and stays)
        glued = tok.idx >= 2 and text[tok.idx - 1] == "-" and text[tok.idx - 2].isalnum()
        if glued and hit is not None:
            # "a joint Israeli-US raid", "Franco-US talks": after a country's adjective the
            # acronym is the second of two actors, not the tail of a name
            before = re.search(r"[\w’']+$", text[max(0, tok.idx - 25):tok.idx - 1])
            if before and (before.group(0).lower() in idx.demonyms or (
                    idx.keys.get(match_key(before.group(0))) or (None,))[0] is not None
                    and idx.keys[match_key(before.group(0))][0].kind == "country"):
                glued = False
        if glued or (tok.text == "IS" and i + 1 < n and toks[i + 1].text in ("it", "there", "this", "that")):
            hit = None
        # "US-led coalition": a longer known name that starts with the hyphened acronym wins
        deferred = hit if hit is not None and text[tok.idx + len(tok.text): tok.idx + len(tok.text) + 1] == "-" else None
        if hit is not None and deferred is None:
            branch = _branch_in(text, tok.idx + len(tok.text), hit[0], idx) if hit[0].type == "ORG" else None
            if branch is not None:
                b_end, b_entry = branch
                out.append(Cand(tok.idx, b_end, text[tok.idx:b_end], "ORG", "gazetteer", b_entry, b_entry.kind))
                while i < n and toks[i].idx < b_end:
                    i += 1
                continue
            out.append(Cand(tok.idx, tok.idx + len(tok.text), tok.text, hit[0].type, "gazetteer", hit[0], hit[0].kind))
            i += 1
            continue
        found = None
        parts: list[str] = []
        ends: list[tuple[int, str]] = []
        comma_at = None   # the position in ``ends`` after the first comma read
        for j in range(i, min(n, i + idx.max_len)):
            if texts[j] in (".", ";", ":", "!", "?", "\n", "\n\n") or "\n" in texts[j]:
                break
            if texts[j] == "," and comma_at is None:
                comma_at = len(ends)
            if keys[j]:
                parts.append(keys[j])
                joined = " ".join(parts)
                ends.append((j, joined))
                if joined not in prefixes:
                    break
        for pos in range(len(ends) - 1, -1, -1):
            j, k = ends[pos]
            hit = idx.keys.get(k)
            if hit is None:
                continue
            if comma_at is not None and pos >= comma_at and k not in idx.comma_keys:
                continue   # "Ansar al-Sharia, Libya Shield": a list, not "Ansar al-Sharia Libya"
            last = toks[j]
            # a name ends on a capitalised word or a known lowercase description word
            if hit[1] not in ("description", "lower_end") and not (last.text[:1].isupper() or last.text[:1].isdigit()) and not (
                    hit[0].type == "PLACE" and last.text.lower() in _geo_heads()):  # "the Sambisa forest"
                continue
            found = (j, hit)
            break
        if found is None:
            if deferred is not None:
                out.append(Cand(tok.idx, tok.idx + len(tok.text), tok.text, deferred[0].type, "gazetteer",
                                deferred[0], deferred[0].kind))
            i += 1
            continue
        j, (entry, how) = found
        start, end = _clean_span(text, tok.idx, toks[j].idx + len(toks[j].text))
        branch = _branch_in(text, end, entry, idx) if entry.type == "ORG" and how != "description" else None
        if branch is not None:
            end, entry = branch
            out.append(Cand(start, end, text[start:end], "ORG", "gazetteer", entry, entry.kind, extra={"how": how}))
            i = j + 1
            while i < n and toks[i].idx < end:
                i += 1
            continue
        cand = Cand(start, end, text[start:end], entry.type, "gazetteer", entry, entry.kind, extra={"how": how})
        if how == "description" or any(t.text in ("'s", "’s") for t in toks[i:j + 1]):
            cand.parent = _possessor(text, toks, i, j, idx)
            if cand.parent is not None and cand.parent.entry is not None and cand.parent.entry.id == entry.id:
                cand.parent = None
        out.append(cand)
        i = j + 1
    return out


def _possessor(doc_text: str, toks, i: int, j: int, idx: GazIndex) -> Cand | None:
    """In "al-Qaeda's North African branch", the ORG before the possessive."""
    for k in range(i, j + 1):
        if toks[k].text in ("'s", "’s", "'", "’"):
            s, e = _clean_span(doc_text, toks[i].idx, toks[k].idx)
            text = doc_text[s:e]
            hit = idx.exact.get(text) or idx.keys.get(match_key(text))
            if hit and hit[0].type == "ORG":
                return Cand(s, e, text, "ORG", "gazetteer", hit[0], hit[0].kind)
            return None
    return None


_NER_TYPES = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "PLACE", "LOC": "PLACE", "NORP": None, "FAC": None}


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


class SpanSet:
    """Character spans taken so far, for "does this span overlap any?" in constant-ish
    time (a list scan per question is quadratic on a long article)."""

    def __init__(self, size: int, spans=()):
        self._cov = bytearray(size + 1)
        for s, e in spans:
            self.add(s, e)

    def add(self, start: int, end: int) -> None:
        if end > start:
            if end >= len(self._cov):
                self._cov.extend(bytes(end + 1 - len(self._cov)))
            self._cov[start:end] = b"\x01" * (end - start)

    def overlaps(self, start: int, end: int) -> bool:
        return end > start and self._cov.find(1, start, end) != -1


def _guess_type(text: str, ner_type: str) -> str:
    c = cues()
    words = [w.lower().strip(".,'’") for w in re.split(r"[\s\-]+", text) if w]
    if not words:
        return ner_type
    heads = set(c["org_heads"])
    if ner_type != "ORG" and any(w in heads for w in words[1:] + words[:1]) and not words[0] in ("abu", "abou", "mullah", "sheikh"):
        if ner_type == "PERSON" or words[-1] in heads:
            return "ORG"
    if ner_type == "ORG" and words[0] in set(c["person_prefixes"]) and not any(w in heads for w in words):
        return "PERSON"
    return ner_type


_BAD_NAME = re.compile(r"^[\W\d_]+$")


def _headline(line: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_]+", line) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) > 0.7


def ner_mentions(doc, taken: list[tuple[int, int]], idx: GazIndex, text: str | None = None) -> list[Cand]:
    out = []
    prefixes = set(cues()["person_title_strip"])
    facilities = set(cues()["facility_heads"])
    text_all = doc.text if text is None else text
    headline_cache: dict[int, bool] = {}
    for ent in doc.ents:
        typ = _NER_TYPES.get(ent.label_)
        if typ is None:
            continue
        last_word = ent.text.split()[-1].lower().strip(".,'’") if ent.text.split() else ""
        if last_word in facilities:
            continue   # "Splendid Hotel", "US consulate": a target's building, not an actor
        line_start = text_all.rfind("\n", 0, ent.start_char) + 1
        if line_start not in headline_cache:
            line_end = text_all.find("\n", ent.start_char)
            headline_cache[line_start] = _headline(text_all[line_start: line_end if line_end >= 0 else len(text_all)])
        if headline_cache[line_start] and not (
                typ == "PERSON" and len(ent) >= 2 and text_all.count(ent.text.split()[-1]) >= 2):
            continue   # Title Case Headlines fool the statistical NER; a real name recurs in the body
        start, end = _clean_span(text_all, ent.start_char, ent.end_char)
        if end <= start:
            continue
        text = text_all[start:end]
        # "Gen. Thomas D. Waldhauser" -> strip titles for PERSON names
        if typ == "PERSON":
            low = text.lower()
            for p in sorted(prefixes, key=len, reverse=True):
                if low.startswith(p + " ") and len(text) > len(p) + 3:
                    start += len(p) + 1
                    text = text_all[start:end]
                    low = text.lower()
        # "the ABC-DEF party", "the XYZ militants": the NER reads an acronym with the common
        # noun after it; the acronym is the name
        parts = text.split()
        if typ == "ORG" and len(parts) >= 2 and parts[-1].islower() and all(re.fullmatch(_ACR, w) for w in parts[:-1]):
            end = start + len(" ".join(parts[:-1]))
            text = text_all[start:end]
        if _overlaps((start, end), taken) or len(text) < 2 or _BAD_NAME.match(text) or "\n" in text:
            continue
        if not text[:1].isupper() and text.split()[0].lower() not in ARTICLES:
            continue
        if text.isupper() and len(text) > 12:   # shouted headings, not names
            continue
        hit = idx.exact.get(text) or idx.keys.get(match_key(text))
        if hit is not None:
            entry = hit[0]
            out.append(Cand(start, end, text, entry.type, "gazetteer", entry, entry.kind))
            continue
        if text.lower() in idx.demonyms:   # "Algerian" is not an actor
            continue
        typ = _guess_type(text, typ)
        out.append(Cand(start, end, text, typ, "ner", None, None, key=match_key(text)))
    return out


_NAME_TOKEN = r"(?:[A-Z][\w’'\-]*|al|el|of|for|wal|ibn|bin|de|du|des)"


_CAP_WORD = r"(?:(?:al|el)-)?[A-Z][\w’'\-]*"
# "Front for Peace and Democracy", "Communist Party of India": a head may be followed by
# "of"/"for" and more capitalised words, which are the rest of the name
_OF_TAIL = (rf"(?: (?:of|for) (?:the |a |an )?{_CAP_WORD}"
            rf"(?: (?:(?:and|of|for|the|a|de|du|des|al|el) )*{_CAP_WORD})*)?")
# "Light Infantry Battalion 250", "Task Force 8": a unit's number after its head
_UNIT_NUMBER = r"(?: \d{1,3}(?!\d|[.,:/]\d|%))?"


@lru_cache(maxsize=1)
def _pattern_rx():
    c = cues()
    # a name's head word is capitalised ("Greater Sahara Brigades"); "Islamist group" is a description
    heads = sorted({h.capitalize() for h in c["org_heads"]}, key=len, reverse=True)
    head_alt = "|".join(re.escape(h) for h in heads)
    org = re.compile(
        r"(?<![\w-])((?:(?:al|el)-)?[A-Z][\w’'\-]*(?:[ -](?:" + _NAME_TOKEN[3:-1] + r"))*[ -](?:" + head_alt + r")"
        + r"(" + _OF_TAIL + _UNIT_NUMBER + r"))(?![\w-])"
    )
    person = re.compile(
        r"(?<![\w-])((?:(?:al|el)-[A-Z]\w+|Abu [A-Z]\w+|Abou [A-Z]\w+)(?: (?:(?:al|el)-[A-Z]\w+|[A-Z]\w+|ibn [A-Z]\w+|bin [A-Z]\w+|ould [A-Z]\w+|[Aa]g [A-Z]\w+)){1,4})(?![\w-])"
    )
    media = re.compile(
        r"(?:news source|newspaper|media outlet|news agency|daily|outlet|website|broadcaster|channel|news site|magazine) ((?:(?:al|el)-)?(?:[A-Z][\w’'\-]+)(?: [A-Z][\w’'\-]+){0,3})"
    )
    return org, person, media


@lru_cache(maxsize=1)
def _more_org_rx():
    """Name shapes the head-final pattern above misses (issue #9):

    * head first, as English names often are ("the Alliance of Patriots for a Free Congo",
      "Department of State Services"): a capitalised head, "of"/"for", capitalised words;
    * head first, as Arabic, Urdu and Malay names are ("Jamaat Ansarullah", "Wilayat Najd",
      "Lashkar-e-Taiba", "Dawlah Islamiyah"): the head word and capitalised words;
    * a numbered military unit ("the 58 division", "15 Corps", "3rd Infantry Brigade");
    * a broadcaster or agency named before its kind ("Andalus radio", "Anatolia news agency")."""
    c = cues()
    heads = sorted({h.capitalize() for h in c["org_heads"]}, key=len, reverse=True)
    head_first = re.compile(
        r"(?<![\w-])((?:" + "|".join(re.escape(h) for h in heads) + r") (?:of|for) (?:the |a |an )?" + _CAP_WORD
        + r"(?: (?:(?:and|of|for|the|a|de|du|des|al|el) )*" + _CAP_WORD + r")*)(?![\w-])")
    initial = sorted({w.capitalize() for w in c["head_initial_org_words"]}, key=len, reverse=True)
    arabic = re.compile(
        r"(?<![\w-])((?:" + "|".join(re.escape(h) for h in initial) + r")(?:[ -](?:(?:al|el|ul|ut|ud|us|un|e|i|wal|del|de|la|du|des|pour|para|do|da)[ -])?"
        r"[A-Z][\w’'\-]*){1,4})(?![\w-])")
    units = sorted(c["unit_heads"], key=len, reverse=True)
    unit_alt = "|".join(re.escape(u) for u in units) + "|" + "|".join(re.escape(u.capitalize()) for u in units)
    unit = re.compile(r"(?<![\w.,/-])(\d{1,3}(?:st|nd|rd|th)? (?:[A-Z][\w’'\-]* ){0,3}(?:" + unit_alt + r"))(?![\w-])")
    media = re.compile(r"(?<![\w-])(" + _CAP_WORD + r"(?: [A-Z][\w’'\-]*){0,3} (?:TV|Television|Radio|radio|News Agency|news agency))(?![\w-])")
    # the “Xyz-Abc” gang: a quoted capitalised name before an armed-group noun is the group's name
    nouns = sorted(c["anaphor_heads"], key=len, reverse=True)
    quoted = re.compile(r"[“\"]((?:(?:al|el)-)?[A-Z][\w’'\-]*(?: [A-Z][\w’'\-]*){0,3})[”\"] (?:"
                        + "|".join(re.escape(n) for n in nouns) + r")s?\b")
    return head_first, arabic, unit, media, quoted


def pattern_mentions(text: str, taken: list[tuple[int, int]], idx: GazIndex, places: list[tuple[int, int]] = ()) -> list[Cand]:
    """Names the statistical NER often misses in this domain: "X Brigades",
    "al-Zaleqa Media Production", "al-Hasan al-Ansari", "news source Akher Khabar"."""
    org_rx, person_rx, media_rx = _pattern_rx()
    head_first_rx, arabic_rx, unit_rx, media_after_rx, quoted_rx = _more_org_rx()
    out = []
    heads = {h.lower() for h in cues()["org_heads"]}
    common = _common_words()
    # a numbered unit first: "the 3rd Mountain Brigade" is one name, not a number before one
    # an Arabic head-initial name before the head-final pattern: in "Tajikistan’s Jamaat X"
    # the head-final one would read "Tajikistan’s Jamaat"
    for rx, typ in ((unit_rx, "ORG"), (arabic_rx, "ORG"), (org_rx, "ORG"), (head_first_rx, "ORG"),
                    (quoted_rx, "ORG"), (person_rx, "PERSON"), (media_rx, "ORG"), (media_after_rx, "ORG")):
        for m in rx.finditer(text):
            start, end = _clean_span(text, m.start(1), m.end(1))
            name = text[start:end]
            if end - start < 4 or "\n" in name:
                continue
            inner_places = [p for p in places if start <= p[0] and p[1] <= end]
            if rx is media_rx:   # "news source Akher Khabar": the outlet's name wins over any part of it
                inner_places = [t for t in taken if start <= t[0] and t[1] <= end]
            inner_org = None
            if rx is media_after_rx:
                words = name.split()
                if len(words) > 2 and words[0].lower() in idx.demonyms:   # "Turkish Anatolia news agency"
                    start += len(words[0]) + 1
                    name, words = text[start:end], words[1:]
                base = " ".join(words[:-2] if words[-1].lower() == "agency" else words[:-1])
                if base.lower() in common or base.lower() in idx.demonyms or base.lower() in _DETERMINERS:
                    continue   # "state TV", "Kenyan radio", "local radio": a description, not a name
                # "Al-Nabaa TV": the known outlet's name, or a place's broadcaster ("Mogadishu Radio")
                inner_org = idx.exact.get(base) or idx.keys.get(match_key(base))
                if inner_org is not None and inner_org[0].type == "PLACE" and not words[-1][:1].isupper():
                    continue
                inner_places = [t for t in taken if start <= t[0] and t[1] <= end]
            if _overlaps((start, end), [t for t in taken if t not in inner_places]):
                if not (rx is org_rx and m.group(2)):
                    continue
                # "the Furqan Brigade of the Islamic State": a known group after "of" is an
                # actor of its own; the name ends at the head
                start, end = _clean_span(text, m.start(1), m.start(2))
                name = text[start:end]
                inner_places = [p for p in places if start <= p[0] and p[1] <= end]
                if _overlaps((start, end), [t for t in taken if t not in inner_places]):
                    continue
            if inner_places and typ != "ORG":
                continue
            words = name.replace("-", " ").split()
            if typ == "ORG" and rx is org_rx and (len(words) < 2 or all(w.lower() in heads or w.lower() in ("al", "el", "of", "the") for w in words)):
                continue
            if typ == "PERSON" and any(w.lower() in heads for w in words):
                continue
            if typ == "ORG" and rx is org_rx and words[0].lower() in idx.demonyms:
                continue   # "Algerian media", "Libyan forces": descriptions, not names
            if rx is unit_rx and not any(w[:1].isupper() for w in words[1:]) and start > 0 and _after_quantity(text, start):
                continue   # "killed 15 battalion ..." is rare, but "about 3 division" is a count
            if rx is org_rx:
                # "the Security Agency’s Rescue Force", "the NUG’s People’s Defense Force": a
                # possessor that is a name of its own (it ends in a head, or is an acronym) is
                # no part of the possessed unit's name; "People’s" is
                pm = re.match(r"(.+?)['’]s (?=[A-Z])", name)
                if pm:
                    owner = pm.group(1)
                    if (owner.split()[-1].lower() in heads or re.fullmatch(_ACR, owner)
                            or idx.exact.get(owner) or idx.keys.get(match_key(owner))):
                        if len(owner.split()) >= 2 and owner.split()[-1].lower() in heads and not (
                                idx.exact.get(owner) or idx.keys.get(match_key(owner))) and not _overlaps(
                                (start, start + len(owner)), taken):
                            out.append(Cand(start, start + len(owner), owner, "ORG", "pattern", None, None,
                                            key=match_key(owner)))
                            taken.append((start, start + len(owner)))
                        start += pm.end()
                        name = text[start:end]
                        if len(name.replace("-", " ").split()) < 2:
                            continue
                # "1 Special Forces (1SF)": the number is part of the name when its acronym says so
                lead = re.search(r"(?<![\w.,])(\d{1,3}) $", text[max(0, start - 5):start])
                if lead and re.match(r"\s*\(" + lead.group(1) + r"[A-Z]", text[end:end + 8]):
                    start -= len(lead.group(1)) + 1
                    name = text[start:end]
            hit = idx.exact.get(name) or idx.keys.get(match_key(name))
            if hit is None and inner_org is not None and inner_org[0].type == "ORG":
                hit = inner_org
            if hit is not None:
                out.append(Cand(start, end, name, hit[0].type, "gazetteer", hit[0], hit[0].kind))
            else:
                out.append(Cand(start, end, name, typ, "pattern", None,
                                "media" if rx is media_rx or rx is media_after_rx else None, key=match_key(name)))
            taken.append((start, end))
    return out


def _after_quantity(text: str, start: int) -> bool:
    prev = re.search(r"(\w+)\s+$", text[max(0, start - 20):start])
    return bool(prev) and prev.group(1).lower() in set(cues()["quantity_words"])


@lru_cache(maxsize=1)
def _common_words() -> frozenset:
    from allegiance.clean.wire import common_words

    return frozenset(common_words())


def _state_force_rx(idx: GazIndex) -> re.Pattern | None:
    # built once per gazetteer index: the alternation has hundreds of demonyms
    if "_state_force_rx" not in idx.__dict__:
        c = cues()
        heads = sorted(c["state_force_heads"], key=len, reverse=True)
        # a country's name is an adjective too ("the Myanmar military", "Kenya police"):
        # Myanmar has no other adjective in news copy, and many countries are written so
        idx.__dict__["_country_names"] = {n.lower(): e for e, _ in idx.keys.values() if e.kind == "country"
                                          for n in (e.name, *e.aliases) if " " not in n or n.istitle()}
        alts = sorted({*idx.demonyms, *(a.lower() for a in dict(c["country_adjectives"])),
                       *idx.__dict__["_country_names"]}, key=len, reverse=True)
        dem_alt = "|".join(re.escape(a) for a in alts)
        idx.__dict__["_state_force_rx"] = re.compile(
            r"\b(" + dem_alt + r")(-led|-backed)?\s+(" + "|".join(re.escape(h) for h in heads)
            + r")\b",
            re.IGNORECASE,
        ) if alts else None
        # "Malian and French troops", "Kenyan, Somali and Ethiopian forces": demonyms
        # coordinated before one force head (read backwards from the last one)
        idx.__dict__["_state_force_prev_rx"] = re.compile(
            r"\b(" + dem_alt + r")\s*(?:,\s*(?:and\s+)?|\s+and\s+)$", re.IGNORECASE) if alts else None
    return idx.__dict__["_state_force_rx"]


@lru_cache(maxsize=1)
def _state_force_head_rx() -> re.Pattern:
    """A force head word ("army", "security forces"), as the demonym pattern's second
    group reads it: every match of that pattern holds one, so a line without one is
    not searched with its hundreds of demonyms (most lines have none)."""
    heads = sorted(cues()["state_force_heads"], key=len, reverse=True)
    return re.compile(r"(?:" + "|".join(re.escape(h) for h in heads) + r")\b", re.IGNORECASE)


def state_force_mentions(text: str, idx: GazIndex, taken: list[tuple[int, int]]) -> list[Cand]:
    """"<Demonym> army / security forces / military" -> a state-force ORG."""
    c = cues()
    equiv = c["state_force_equivalents"]
    adjectives = dict(c["country_adjectives"])
    demonyms = idx.demonyms
    rx = _state_force_rx(idx)
    if rx is None:
        return []
    out = []
    prev_rx = idx.__dict__["_state_force_prev_rx"]

    def country_of(word: str):
        entry = demonyms.get(word.lower()) or idx.__dict__["_country_names"].get(word.lower())
        return entry, entry.id if entry else (adjectives.get(word) or word.lower().replace(".", ""))

    for m in (rx.finditer(text) if _state_force_head_rx().search(text) else ()):
        if not m.group(1)[0].isupper():
            continue
        entry, country = country_of(m.group(1))
        head = m.group(3).lower()
        cls = equiv.get(head, head)
        if (m.group(2) or "").lower() == "-backed":
            # "Saudi-backed forces", "Iranian-backed militias": forces a state backs are
            # an actor of their own, not that state's force
            out.append(Cand(m.start(), m.end(), m.group(0), "ORG", "state", None, "state_force",
                            key=f"backed:{country}:{cls}", extra={"country": None, "iso": None, "backer": country}))
            continue
        out.append(Cand(m.start(), m.end(), m.group(0), "ORG", "state", None, "state_force",
                        key=f"state:{country}:{cls}", extra={"country": country, "iso": entry.country if entry else None}))
        # "Malian and French special forces": each demonym names its own country's force
        # of that head ("Malian special forces"); the mention is the demonym itself
        pos = m.start()
        while m.group(2) is None and prev_rx is not None:
            p = prev_rx.search(text, max(0, pos - 40), pos)
            if p is None or not p.group(1)[0].isupper():
                break
            pentry, pcountry = country_of(p.group(1))
            if pcountry == country:
                break
            out.append(Cand(p.start(1), p.end(1), f"{p.group(1)} {m.group(3)}", "ORG", "state", None, "state_force",
                            key=f"state:{pcountry}:{cls}",
                            extra={"country": pcountry, "iso": pentry.country if pentry else None, "coordinated": True}))
            pos = p.start()
    spans = SpanSet(len(text), [*taken, *((c.start, c.end) for c in out)])
    own = SpanSet(len(text), [(c.start, c.end) for c in out])
    # "Kenya's government", "Pakistan's military": a country's own force (it overlaps the
    # country's gazetteer mention; resolve_overlaps keeps the longer)
    for m in _possessive_force_rx().finditer(text):
        hit = idx.keys.get(match_key(m.group(1)))
        if hit is None or hit[0].type != "PLACE" or hit[0].kind != "country" or own.overlaps(m.start(), m.end()):
            continue
        head = m.group(2).lower()
        cls = equiv.get(head, head)
        out.append(Cand(m.start(), m.end(), m.group(0), "ORG", "state", None, "state_force",
                        key=f"state:{hit[0].id}:{cls}", extra={"country": hit[0].id, "iso": hit[0].country}))
        spans.add(m.start(), m.end())
        own.add(m.start(), m.end())
    # "the army", "security forces", "soldiers": no country named; clustering decides whose
    for m in _bare_force_rx().finditer(text):
        if spans.overlaps(m.start(), m.end()):
            continue
        before = text[max(0, m.start() - 2):m.start()]
        prev = re.search(r"([A-Z][\w’'\-]*)\s$", text[max(0, m.start() - 25):m.start()])
        if before[-1:].isalpha() or (prev and prev.group(1).lower() not in _DETERMINERS):
            continue   # part of a longer name or description ("Malian soldiers" is taken above)
        head = m.group(0).lower()
        cls = equiv.get(head, head)
        out.append(Cand(m.start(), m.end(), m.group(0), "ORG", "state", None, "state_force",
                        key=f"state:?:{cls}", extra={"country": None, "bare": True}))
        spans.add(m.start(), m.end())
    return out


_DETERMINERS = frozenset(["the", "a", "an", "its", "their", "his", "her", "our", "some", "many", "several", "these",
                          "those", "other", "two", "three", "dozens", "hundreds", "no", "both", "all"])


@lru_cache(maxsize=1)
def _possessive_force_rx() -> re.Pattern:
    heads = sorted(cues()["state_force_heads"], key=len, reverse=True)
    return re.compile(r"\b([A-Z][\w\-]+(?: [A-Z][\w\-]+){0,2})['’]s? (" + "|".join(re.escape(h) for h in heads) + r")\b")


@lru_cache(maxsize=1)
def _bare_force_rx() -> re.Pattern:
    heads = sorted(cues()["bare_state_force_heads"], key=len, reverse=True)
    return re.compile(r"(?<![\w\-])(?:" + "|".join(re.escape(h) for h in heads) + r")(?![\w\-])")


@lru_cache(maxsize=1)
def _direction_rx() -> re.Pattern:
    dirs = cues()["directions"]
    return re.compile(r"\b(" + "|".join(re.escape(d) for d in sorted(dirs, key=len, reverse=True)) + r")\s+$", re.IGNORECASE)


def direction_place_mentions(text: str, places: list[Cand], idx: GazIndex | None = None) -> list[Cand]:
    """"northern Mali", "central Algeria": a region of a known place."""
    rx = _direction_rx()
    out = []
    for p in places:
        if p.type != "PLACE":
            continue
        window = text[max(0, p.start - 20): p.start]
        m = rx.search(window)
        if not m:
            continue
        start = p.start - (len(window) - m.start())
        name = text[start:p.end]
        base = {"northern": "North", "southern": "South", "eastern": "East", "western": "West",
                "central": "Central"}.get(m.group(1).lower())
        entry = idx.keys.get(match_key(f"{base} {p.text}"))[0] if base and idx and idx.keys.get(match_key(f"{base} {p.text}")) else None
        if entry is not None and entry.type == "PLACE":
            out.append(Cand(start, p.end, name, "PLACE", "gazetteer", entry, entry.kind))
            continue
        out.append(Cand(start, p.end, name, "PLACE", "direction", None, "region", key="dir:" + match_key(name),
                        extra={"within": p}))
    # "North and West Africa": the first region is elliptical
    for m in re.finditer(r"\b(North|South|East|West|Central)(?:ern)? and (?:North|South|East|West|Central)(?:ern)? ([A-Z]\w+)", text):
        hit = idx.keys.get(match_key(f"{m.group(1)} {m.group(2)}")) if idx else None
        if hit and hit[0].type == "PLACE":
            out.append(Cand(m.start(1), m.end(1), m.group(1), "PLACE", "gazetteer", hit[0], hit[0].kind))
    return out


_WORD = re.compile(r"\w+")


def word_index(text: str) -> dict[str, list[int]]:
    """Start offsets of every word of ``text``, by word: ``find_all`` looks a surface up
    here instead of scanning the whole text once per surface."""
    index: dict[str, list[int]] = {}
    for m in _WORD.finditer(text):
        index.setdefault(m.group(0), []).append(m.start())
    return index


def _boundary(ch: str) -> bool:
    return not (ch.isalnum() or ch in "_-")


def find_all(text: str, surface: str, index: dict[str, list[int]] | None = None) -> list[tuple[int, int]]:
    """Non-overlapping occurrences of ``surface`` as a whole name (not inside a word or a
    hyphenated name), left to right."""
    first = _WORD.match(surface)
    if index is None or first is None:
        return [(m.start(), m.end()) for m in re.finditer(r"(?<![\w-])" + re.escape(surface) + r"(?![\w-])", text)]
    out: list[tuple[int, int]] = []
    n, last_end = len(surface), -1
    for p in index.get(first.group(0), ()):
        if p < last_end or not text.startswith(surface, p):
            continue
        if (p > 0 and not _boundary(text[p - 1])) or (p + n < len(text) and not _boundary(text[p + n])):
            continue
        out.append((p, p + n))
        last_end = p + n
    return out


def yield_to_person_names(doc, cands: list[Cand], text: str) -> list[Cand]:
    """A known place with name words of a person on both sides ("Ali Aden Houmed",
    "Omar Kabul Ahmadzai") is a word of that person's name, as the NER reads it: the
    place mention goes, so that the NER's person is kept (``ner_mentions`` drops a name
    overlapping a known mention). Only a name of three or more capitalised words counts,
    and only a place strictly inside it: a place at a name's edge stays a place."""
    persons = [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]
    if not persons:
        return cands
    drop = set()
    for a, b in persons:
        words = text[a:b].split()
        if len(words) < 3 or not all(w[:1].isupper() for w in words):
            continue
        for c in cands:
            if c.type == "PLACE" and a < c.start and c.end < b and text[a:c.start].strip() and text[c.end:b].strip():
                drop.add(id(c))
    return [c for c in cands if id(c) not in drop] if drop else cands


def resolve_overlaps(cands: list[Cand]) -> list[Cand]:
    """Keep the longest, most trusted candidate where several overlap; a place
    inside an organisation's name ("Greater Sahara Brigades") is part of it."""
    orgs = [c for c in cands if c.type == "ORG" and c.source == "pattern"]
    cands = [c for c in cands if not any(
        o is not c and o.start <= c.start and c.end <= o.end and (c.type == "PLACE" or o.kind == "media") for o in orgs)]
    pri = {"gazetteer": 0, "acronym": 1, "direction": 0, "state": 0, "pattern": 2, "ner": 3, "coref": 4}
    cands = sorted(cands, key=lambda c: (pri.get(c.source, 5), -(c.end - c.start), c.start))
    kept: list[Cand] = []
    spans = SpanSet(max((c.end for c in cands), default=0))
    for c in cands:
        if spans.overlaps(c.start, c.end):
            continue
        kept.append(c)
        spans.add(c.start, c.end)
    return sorted(kept, key=lambda c: c.start)


_ACR_DEF = re.compile(r"\(\s*([A-Z][A-Za-z0-9/\-]{1,11})\s*\)")
_NAME_WORD = re.compile(r"[A-Z][\w’'\-]*|of|for|and|the|de|du|des|la|le|el|al|in|to|a|wal|y")
LINK_WORDS = frozenset(["of", "for", "and", "the", "de", "du", "des", "la", "le", "el", "al", "in", "to", "a", "wal", "y"])


def acronym_mentions(text: str, taken: list[tuple[int, int]]) -> list[Cand]:
    """Names defined by their acronym, "Long Name of Something (LNS)", whether or not the
    NER knows the long name: the capitalised words before the parenthesis whose
    initials spell the acronym's capitals (the Schwartz-Hearst idea, kept to names). Both
    the long name and its acronym become ORG mentions; clustering joins them."""
    out = []
    for m in _ACR_DEF.finditer(text):
        acr = m.group(1)
        letters = [ch for ch in re.split(r"[/]", acr)[0] if ch.isupper()]
        if len(letters) < 2 or len(letters) > 10:
            continue
        # words before the parenthesis, nearest first
        words = [(w.start(), w.end(), w.group(0)) for w in re.finditer(r"[^\s(),;:]+", text[max(0, m.start() - 160):m.start()])]
        base = max(0, m.start() - 160)
        words = [(base + a, base + b, w) for a, b, w in words]
        if not words or "\n" in text[words[-1][1]:m.start()]:
            continue
        # the run of name words before the parenthesis ("the", "of", "and" may sit inside)
        run: list[tuple[int, list[str]]] = []
        for a, b, w in reversed(words):
            if "\n" in text[a:m.start()] or len(run) > 14:
                break
            core = re.sub(r"^(?:al|el|wal|ad|ar|as|ash|at|az)-", "", w.strip("\"“”‘’'"))
            if core and core.lower() in LINK_WORDS and not core[0].isupper():
                run.append((a, []))
                continue
            if not core or not core[0].isupper():
                break
            run.append((a, [p[0] for p in re.split(r"[-/]", core) if p and p[0].isupper()]))
        start = None
        # "(ABC/DE)": the part before the slash, or, for a name of two halves ("Front of X
        # for Y/Z Army (FXY/ZA)"), every capital of it
        spellings = [letters] + ([[ch for ch in acr if ch.isupper()]] if "/" in acr else [])
        for spelled in spellings:
            count = 0
            for a, initials in run:
                count += len(initials)
                if initials and initials[0] == spelled[0] and len(spelled) - 1 <= count <= len(spelled) + 1:
                    start = a
                    break
            if start is not None:
                break
        if start is None:
            continue
        s, e = _clean_span(text, start, m.start())
        name = text[s:e]
        # a name read inside the long one ("... People’s Army") gives way to it
        if len(name.split()) < 2 or _overlaps((s, e), [t for t in taken if not (s <= t[0] and t[1] <= e)]):
            continue
        out.append(Cand(s, e, name, "ORG", "acronym", None, None, key=match_key(name)))
        taken.append((s, e))
    return out


# an acronym: capitals and digits with at least one capital ("XYZ", "3R", "G9"), or one
# glued by hyphens ("ABC-DEF", "G-Xy", "ABC-F")
_ACR = r"(?:[A-Z0-9]*[A-Z][A-Z0-9]*(?:-[A-Z0-9][\w]*)+|(?=[A-Z0-9]{2})[A-Z0-9]*[A-Z][A-Z0-9]*)"


@lru_cache(maxsize=1)
def _acronym_cue_rx() -> tuple[re.Pattern, re.Pattern]:
    c = cues()
    after = "|".join(re.escape(w) for w in sorted(c["acronym_cue_nouns"], key=len, reverse=True))
    before = "|".join(re.escape(w) for w in sorted(c["acronym_cue_before"], key=len, reverse=True))
    one = rf"(?<![\w\-.]){_ACR}(?![\w\-])"
    # "40 XYZ soldiers", "the ABC and D-EF factions": acronyms before an actor noun
    run = re.compile(rf"({one}(?:(?:\s*,\s*|\s+and\s+|\s+or\s+){one})*)\s+(?:{after})\b")
    # "the group XY", "a militia called AB": an acronym right after an actor noun
    lead = re.compile(rf"\b(?:{before})\s+(?:called\s+|named\s+|known as\s+)?({one})")
    return run, lead


def acronym_cue_mentions(text: str, taken: list[tuple[int, int]], idx: GazIndex) -> list[Cand]:
    """Acronyms that no list knows, named as actors by the noun next to them: "40 XYZ
    soldiers", "the group 3R", "the AB-CD and E-Fg factions" (issue #9). An acronym the
    gazetteer knows is taken before this runs; a country's ("US troops") or a common
    all-capitals word ("IED") is not a group."""
    run_rx, lead_rx = _acronym_cue_rx()
    not_names = set(cues()["acronym_not_names"]) | set(dict(cues()["country_adjectives"]))
    one = re.compile(_ACR)
    spans = SpanSet(len(text), taken)
    out: list[Cand] = []

    def take(a: int, b: int) -> None:
        name = text[a:b]
        letters = [ch for ch in name if ch.isalpha()]
        if len(name) < 2 or len(name) > 12 or name in not_names or spans.overlaps(a, b) or not letters:
            return
        if name.isdigit() or name.lower() in idx.demonyms:
            return
        if sum(ch.isupper() for ch in letters) < max(1, len(letters) - 3):
            return   # mostly lower case: a word, not an acronym
        hit = idx.exact.get(name) or idx.keys.get(match_key(name))
        if hit is not None and hit[0].type != "ORG":
            return
        if hit is not None:
            out.append(Cand(a, b, name, "ORG", "gazetteer", hit[0], hit[0].kind))
        else:
            out.append(Cand(a, b, name, "ORG", "pattern", None, None, key=match_key(name)))
        spans.add(a, b)

    for m in run_rx.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line = text[line_start: line_end if line_end >= 0 else len(text)]
        if sum(ch.isupper() for ch in line) > 0.5 * sum(ch.isalpha() for ch in line):
            continue   # an all-capitals line: every word looks like an acronym
        for a in one.finditer(text, m.start(1), m.end(1)):
            if (a.start() == m.start(1) or not text[a.start() - 1].isalnum()) and (
                    a.end() == m.end(1) or not text[a.end()].isalnum()):
                take(a.start(), a.end())
    for m in lead_rx.finditer(text):
        take(m.start(1), m.end(1))
    taken.extend((c.start, c.end) for c in out)
    return out


def _demonym_actor_rx(idx: GazIndex) -> re.Pattern | None:
    if "_demonym_actor_rx" not in idx.__dict__:
        c = cues()
        nouns = set(c["open_world"]["actor_nouns"]) | set(c["branch_nouns"]) | set(c["demonym_group_nouns"])
        dems = sorted(idx.demonyms, key=len, reverse=True)
        idx.__dict__["_demonym_actor_rx"] = re.compile(
            r"\b(" + "|".join(re.escape(d.capitalize()) for d in dems) + r")(?:-based)?\s+(?:[\w’'\-]+\s+){0,3}?(?:"
            + "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True)) + r")\b") if dems else None
    return idx.__dict__["_demonym_actor_rx"]


def _demonym_attack_rx(idx: GazIndex) -> re.Pattern | None:
    if "_demonym_attack_rx" not in idx.__dict__:
        nouns = cues()["demonym_attack_nouns"]
        dems = sorted(idx.demonyms, key=len, reverse=True)
        idx.__dict__["_demonym_attack_rx"] = re.compile(
            r"\b(" + "|".join(re.escape(d.capitalize()) for d in dems) + r")\s+(?:[a-z]+\s+)?(?:"
            + "|".join(re.escape(n) for n in sorted(nouns, key=len, reverse=True)) + r")\b") if dems else None
    return idx.__dict__["_demonym_attack_rx"]


def demonym_place_mentions(text: str, idx: GazIndex, taken: list[tuple[int, int]]) -> list[Cand]:
    """"a Lebanese militia", "Somali Islamic State fighters": the demonym of a group is
    where it is, a mention of the country (state forces, "Malian soldiers", are taken
    before this runs). "an Israeli strike", "Turkish air strikes": the demonym of an
    attack is its author, the country acting as its state (signatures.STATE_ACTOR_RELATIONS)."""
    rx = _demonym_actor_rx(idx)
    if rx is None:
        return []
    spans = SpanSet(len(text), taken)
    out = []
    matches = list(rx.finditer(text))
    arx = _demonym_attack_rx(idx)
    if arx is not None:
        matches += list(arx.finditer(text))
    for m in matches:
        a, b = m.start(1), m.end(1)
        entry = idx.demonyms.get(m.group(1).lower())
        if entry is None or entry.type != "PLACE" or spans.overlaps(a, b):
            continue
        out.append(Cand(a, b, m.group(1), "PLACE", "gazetteer", entry, entry.kind, extra={"demonym": True}))
        spans.add(a, b)
    return out


_ARTICLE_START = re.compile(r"(?:al|el|ad|an|ar|as|ash|at|az)-[A-Z]")
_NAME_BEFORE = re.compile(r"(?<![\w’'\-])[A-Z][\w’'\-]+ (?=\S*$)")
_POLICE_AFTER = re.compile(r" (?:[Pp]olice|Police Service|Police Force)(?![\w-])")
_QUALIFIED_ACR_BEFORE = re.compile(r"(?<![\w-])[A-Z]{2,6} \([A-Z][a-z]{2,14}\) $")
_PAREN_SUFFIX = re.compile(r"\s?\((?:[A-Z]|[A-Z][a-z]{2,14})\)")


def _extend_back(c: Cand, rx: re.Pattern, text: str, ends: list[int]) -> None:
    """Start ``c`` where ``rx`` matches in the 30 characters before it, unless that would
    reach back into the mention before."""
    m = rx.search(text, max(0, c.start - 30), c.start)
    prev_end = max((e for e in ends if e <= c.start), default=0)
    if m and m.start() >= prev_end:
        c.start = m.start()
        c.text = text[c.start:c.end]
        c.key = match_key(c.text)


@lru_cache(maxsize=1)
def _kunya() -> frozenset:
    return frozenset(cues()["kunya_particles"])


@lru_cache(maxsize=1)
def _title_words() -> frozenset:
    return frozenset(w for t in cues()["person_title_strip"] for w in t.lower().split())


def extend_names(text: str, cands: list[Cand]) -> None:
    """Name parts the span finders cut off: a parenthesised qualifier of a group,
    "CPI (Maoist)", "NSCN (K)" (an all-capitals parenthesis is an acronym definition
    instead), the closing parenthesis of a half-read one, and a lowercase administrative
    head after a place ("the Juba region", "Kasese district")."""
    starts = sorted(c.start for c in cands)
    ends = sorted(c.end for c in cands)
    for c in cands:
        nxt = next((s for s in starts if s >= c.end), len(text))
        # "Suqour al-Sham", "Ahrar al-Sham": the NER often reads only the article's half
        if c.source == "ner" and _ARTICLE_START.match(c.text):
            _extend_back(c, _NAME_BEFORE, text, ends)
        # "Adnan Abu Walid": a given name before a kunya ("Abu X", "Umm Y") is the same
        # person's name, which the NER often cuts to the kunya; not a title ("Sheikh"),
        # not a common word ("When Abu X arrived")
        elif c.type == "PERSON" and c.source == "ner" and c.text.split()[0].lower() in _kunya() and len(c.text.split()) > 1:
            m = _NAME_BEFORE.search(text, max(0, c.start - 30), c.start)
            prev_end = max((e for e in ends if e <= c.start), default=0)
            if m and m.start() >= prev_end:
                word = m.group(0).strip().lower()
                if word not in _common_words() and word not in _title_words():
                    c.start = m.start()
                    c.text = text[c.start:c.end]
                    c.key = match_key(c.text)
        if c.type == "ORG" and c.source == "pattern":
            # "the ABC (Maoist) Zemba State Committee": a unit named after its party's
            # acronym and qualifier
            _extend_back(c, _QUALIFIED_ACR_BEFORE, text, ends)
        if c.type == "ORG" and not c.extra.get("coordinated"):   # "Malian" of "Malian and French troops" reads as "Malian troops"
            if c.text.count("(") > c.text.count(")") and text[c.end:c.end + 1] == ")":
                c.end += 1
            else:
                m = _PAREN_SUFFIX.match(text, c.end)
                if m and m.end() <= nxt:
                    c.end = m.end()
            c.text = text[c.start:c.end]
        elif c.type == "PLACE" and _POLICE_AFTER.match(text, c.end) and _POLICE_AFTER.match(text, c.end).end() <= nxt:
            # "the Bicol police", "Zemba State Police": a region's police is an organisation
            # (a country's is a state force, read before this)
            c.end = _POLICE_AFTER.match(text, c.end).end()
            c.text = text[c.start:c.end]
            c.type, c.source, c.entry, c.kind, c.key = "ORG", "pattern", None, "state_force", match_key(c.text)
        elif c.type == "PLACE":
            m = _admin_head_rx().match(text, c.end)
            if m and m.end() <= nxt:
                c.end = m.end()
                c.text = text[c.start:c.end]


@lru_cache(maxsize=1)
def _society_rx() -> re.Pattern:
    heads = sorted(cues()["national_society_heads"], key=len, reverse=True)
    return re.compile(r"(?<![\w\-])((?:[A-Z][\w\-]+ ){0,2}[A-Z][\w\-]+) (?:" + "|".join(re.escape(h) for h in heads)
                      + r")(?![\w\-])")


def society_mentions(text: str, cands: list[Cand], idx: GazIndex) -> list[Cand]:
    """``cands`` with "Kenya Red Cross", "the Somali Red Crescent Society" read as one
    organisation, a country's national society, in place of the country and the
    movement's name inside it."""
    new = []
    for m in _society_rx().finditer(text):
        words = m.group(1).split()
        # the country may be the last words of a capitalised run ("Garissa Kenya Red Cross" is rare;
        # "The Kenya Red Cross" is not): take the longest tail that names a country
        for k in range(len(words)):
            tail = " ".join(words[k:])
            low = tail.lower()
            hit = idx.keys.get(match_key(tail))
            if low in idx.demonyms or (hit is not None and hit[0].kind == "country"):
                start = m.start(1) + len(" ".join(words[:k])) + (1 if k else 0)
                new.append(Cand(start, m.end(), text[start:m.end()], "ORG", "pattern", None, None,
                                key=match_key(text[start:m.end()])))
                break
    if not new:
        return cands
    inside = lambda c: any(n.start <= c.start and c.end <= n.end for n in new)
    return sorted([c for c in cands if not inside(c)] + new, key=lambda c: c.start)


@lru_cache(maxsize=1)
def _admin_head_rx() -> re.Pattern:
    heads = sorted(cues()["admin_place_heads"], key=len, reverse=True)
    return re.compile(r" (?:" + "|".join(re.escape(h) for h in heads) + r")\b")


def place_base(name: str) -> str | None:
    """"Mansi Township" -> "Mansi"; None when the name has no administrative head."""
    words = name.split()
    if len(words) >= 2 and words[-1].lower() in _admin_heads():
        return " ".join(words[:-1])
    return None


@lru_cache(maxsize=1)
def _admin_heads() -> frozenset:
    return frozenset(cues()["admin_place_heads"])


# -- coordinated lists ------------------------------------------------------------------
# "the groups were A, B, C and the D battalions": when a list's members on both sides are
# actors of one type, a capitalised name between them is one too, whether or not the NER
# read it (it often reads only some names of a long list of unfamiliar groups).
_LIST_SEP = r"\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+"
_LIST_WORD = r"(?:(?:al|el|an|ar|as|ash|ad|at|az)-)?[A-Z][\w’'\-]*"
_LIST_LINK = r"(?:al|el|of|the|wal|de|du|des|la|bin|ibn|ag)"


@lru_cache(maxsize=1)
def _list_piece_rx() -> re.Pattern:
    heads = sorted({h.lower() for h in cues()["org_heads"]}, key=len, reverse=True)
    head = "(?:" + "|".join(re.escape(h) for h in heads) + ")"
    # "58 division", "1 Special Forces (1SF)": numbered units are names too
    num = r"(?:\d{1,3}(?:st|nd|rd|th)?\s+)"
    name = (rf"(?:the\s+)?((?:{num}?{_LIST_WORD}(?:\s+(?:{_LIST_LINK}\s+)*{_LIST_WORD}){{0,5}}(?:\s+{head})?(?:\s+\d{{1,3}}\b)?"
            rf"|{num}{head}))(?:\s*\([A-Z0-9\-]{{2,8}}\))?")
    return re.compile(name)


_SEP_RX = re.compile(_LIST_SEP)
_LIST_OPENER = re.compile(r"\b(?:like|such as|including)\s+(?:the\s+)?$")
_TRAIL_END = re.compile(r"\s*(?:[.;:)]|$|\s(?:were|are|was|is|have|had|has|which|who|that|to|in|on|at)\b)")
_AND_RX = re.compile(r"\s*,?\s+(?:and|or)\s+")


def coordinated_mentions(text: str, cands: list[Cand], idx: GazIndex) -> list[Cand]:
    """``cands`` plus the names of coordinated lists: a capitalised name between (or right
    after) two named actors of one type is an actor of that type. A piece the gazetteer
    knows as a place, or a demonym, is left alone; a place read inside a longer piece
    ("al-Sham" in "Suqour al-Sham") gives way to it."""
    piece_rx = _list_piece_rx()
    actors = sorted((c for c in cands if c.type in ("ORG", "PERSON")), key=lambda c: c.start)
    if len(actors) < 2:
        return cands
    places = [c for c in cands if c.type == "PLACE"]
    spans = SpanSet(len(text), [(c.start, c.end) for c in actors])
    new: list[Cand] = []
    dropped: set[int] = set()

    def take(start: int, end: int, like: Cand) -> None:
        start, end = _clean_span(text, start, end)
        name = text[start:end]
        if end - start < 3 or spans.overlaps(start, end) or name.lower() in idx.demonyms:
            return
        inner = [p for p in places if start <= p.start and p.end <= end]
        if any(p.start == start and p.end == end for p in inner) or any(
                p.start < end and start < p.end and p not in inner for p in places):
            return   # the piece is a place, or a place straddles it
        key = match_key(name)
        hit = idx.exact.get(name) or idx.keys.get(key)
        if hit is not None:
            if hit[0].type == "PLACE":
                return
            new.append(Cand(start, end, name, hit[0].type, "gazetteer", hit[0], hit[0].kind))
        else:
            new.append(Cand(start, end, name, like.type, "coord", None, None, key=key))
        dropped.update(id(p) for p in inner)
        spans.add(start, end)

    def pieces(gap: str, base: int) -> list[tuple[int, int]] | None:
        """The names of a gap made only of separators and names, else None."""
        got = []
        m = _SEP_RX.match(gap)
        if not m or m.end() == 0:
            return None
        pos = m.end()
        while pos < len(gap):
            n = piece_rx.match(gap, pos)
            if not n:
                return None
            got.append((base + n.start(1), base + n.end(1)))
            pos = n.end()
            if pos == len(gap):
                return None   # a name must be followed by a separator before the next member
            m = _SEP_RX.match(gap, pos)
            if not m or m.end() == pos:
                return None
            pos = m.end()
        return got

    listed: set[int] = set()
    # "groups like the A and B", "such as A and B": a list opened by its cue word has its
    # first member read, and may end in a name the NER did not read
    for i, a in enumerate(actors):
        if _LIST_OPENER.search(text, max(0, a.start - 20), a.start):
            listed.add(i)
    for i in range(len(actors) - 1):
        a, b = actors[i], actors[i + 1]
        if a.type != b.type:
            continue
        gap = text[a.end:b.start]
        if len(gap) > 160 or "\n" in gap or re.search(r"[.;:!?]\s", gap):
            continue
        got = pieces(gap, a.end)
        if got is None:
            continue
        listed.update((i, i + 1))
        for s, e in got:
            take(s, e, a)
    # "..., C and the D battalions.": the list's last name after its last known member
    for i in sorted(listed):
        if i + 1 in listed:
            continue
        b = actors[i]
        m = _AND_RX.match(text, b.end)
        if not m:
            continue
        n = piece_rx.match(text, m.end())
        if n and _TRAIL_END.match(text, n.end()) and (i + 1 >= len(actors) or actors[i + 1].start >= n.end()):
            take(n.start(1), n.end(1), b)
    if not new:
        return cands
    return [c for c in cands if id(c) not in dropped] + new


# -- descriptions that make an organisation of a name ----------------------------------

@lru_cache(maxsize=1)
def _descriptor_rx() -> tuple[re.Pattern, re.Pattern]:
    spec = cues()["descriptor_org_heads"]

    def rx(words):
        alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(r"(?:['’]s)?\s+(?:" + alt + r")\b", re.IGNORECASE)

    return rx(spec["after_person"]), rx(spec["after_group"])


def descriptor_mentions(text: str, cands: list[Cand]) -> list[Cand]:
    """``cands`` with "Gaddafi's regime", "the Mehsud group", "FARC dissidents" read as
    organisations of their own, in place of the name they contain. After a person the head
    is lower case ("the Karzai group", not a name the finders read whole)."""
    after_person, after_group = _descriptor_rx()
    starts = sorted(c.start for c in cands)
    out, changed = [], False
    for c in cands:
        rx = after_person if c.type == "PERSON" else after_group if c.type == "ORG" else None
        m = rx.match(text, c.end) if rx is not None else None
        if m is not None:
            k = bisect.bisect_right(starts, c.start)
            nxt = starts[k] if k < len(starts) else len(text)
            head = text[m.start():m.end()].split()[-1]
            if m.end() <= nxt and (head.islower() or c.type == "ORG"):
                start = c.start
                if c.type == "PERSON":
                    # "President X's regime" is "X's regime": the title is the person's, not the name's
                    low = c.text.lower()
                    title = next((t for t in sorted(cues()["person_title_strip"], key=len, reverse=True)
                                  if low.startswith(t + " ") and len(c.text) > len(t) + 3), None)
                    if title:
                        start += len(title) + 1
                name = text[start:m.end()]
                out.append(Cand(start, m.end(), name, "ORG", "descriptor", None, None, key=match_key(name),
                                extra={"within": c}))
                changed = True
                continue
        out.append(c)
    return out if changed else cands
