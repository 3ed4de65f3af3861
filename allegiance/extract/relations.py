"""Relation extraction over sentence skeletons.

Each sentence becomes a skeleton: entity mentions are replaced by placeholders
(⟦O3⟧ for an ORG, ⟦P1⟧ PERSON, ⟦L2⟧ PLACE; ⟦O4r⟧ for a pronoun or relative
word resolved to an actor) and every other token is lowercased. The patterns of
``data/relations.json`` are regular expressions over that skeleton, so a new
construction is a line of data, not code."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import regex

from allegiance.extract.cues import cues, relation_spec

TYPE_LETTER = {"ORG": "O", "PERSON": "P", "PLACE": "L"}
PLACEHOLDER = re.compile(r"⟦([OPL])(\d+)(r?)⟧")

_MACROS = {
    "ORG": r"⟦O\d+r?⟧",
    "ORGN": r"⟦O\d+⟧",
    "PER": r"⟦P\d+r?⟧",
    "PLACE": r"⟦L\d+⟧",
    "ACTOR": r"⟦[OP]\d+r?⟧",
    "ANY": r"⟦[OPL]\d+r?⟧",
}
_GAP_WORD = r"(?:[^\s⟦⟧.;:!?]+|⟦[OP]\d+r⟧)"
_GAP_ORG = r"(?:[^\s⟦⟧.;:!?]+|⟦[OP]\d+r?⟧)"
_GAP_PLACE = r"(?:[^\s⟦⟧.;:!?]+|⟦[OP]\d+r⟧|⟦L\d+⟧)"
_GAP_ANY = r"(?:[^\s⟦⟧.;:!?]+|⟦[OPL]\d+r?⟧)"   # an apposition may name other actors

ALLOWED = {"ORG": {"O"}, "PER": {"P"}, "PLACE": {"L"}, "ACTOR": {"O", "P"}, "ANY": {"O", "P", "L"}}

LIST_FILLER = frozenset(cues()["list_filler"])


def _cue_alt(words: list[str]) -> str:
    norm = []
    for w in sorted(set(words), key=len, reverse=True):
        w = re.sub(r"(?<=\w)-(?=\w)", " - ", w.lower())
        norm.append(re.escape(w).replace("\\ ", " "))
    return "(?:" + "|".join(norm) + ")"


@dataclass
class Pattern:
    relation: str
    s: str
    o: str
    conf: float
    lists: tuple[str, ...]
    rx: regex.Pattern
    source: str
    requires_parent: bool = False
    any_subject_kind: bool = False
    anchors: frozenset = frozenset()   # a match holds one of these skeleton tokens (empty: no test)
    needs: tuple = ()   # frozensets of strings: a match contains one string of each (see _required_literals)


@lru_cache(maxsize=1)
def patterns() -> list[Pattern]:
    spec = relation_spec()
    cue_alts = {name: _cue_alt(words) for name, words in spec["cues"].items()}

    def expand(p: str) -> str:
        def sub(m: re.Match) -> str:
            name = m.group(1)
            if name in _MACROS:
                return _MACROS[name]
            g = re.fullmatch(r"(G|GO|GL|GA)(\d+)", name)
            if g:
                word = {"G": _GAP_WORD, "GO": _GAP_ORG, "GL": _GAP_PLACE, "GA": _GAP_ANY}[g.group(1)]
                return f"(?:{word} ){{0,{g.group(2)}}}"
            if name in cue_alts:
                return cue_alts[name]
            raise KeyError(f"unknown macro {{{name}}} in relations.json")

        return re.sub(r"\{([A-Z_]+\d*)\}", sub, p)

    out = []
    for p in spec["patterns"]:
        # skeleton tokens are single-space separated: "x ,? y" means "x y" or "x , y"
        body = expand(re.sub(r",\? ", "(?:, )?", p["pattern"]))
        rx = regex.compile(r"(?<![^\s])(?:" + body + ")", regex.V0)
        out.append(Pattern(p["relation"], p["s"], p["o"], p["conf"], tuple(p.get("list", ())), rx, p["pattern"],
                           bool(p.get("requires_parent")), bool(p.get("any_subject_kind")),
                           _anchors(p["pattern"], spec["cues"]), _required_literals(body)))
    return out


# a required string shorter than this is in nearly every skeleton: not worth testing
_MIN_LITERAL = 3
_MAX_NEEDS = 4


def _required_literals(body: str) -> tuple:
    """Sets of strings such that every match of the regex ``body`` contains one string
    of each set, read from its parse tree: runs of literal characters outside optional
    parts, and for a required group of alternatives, one such set per alternative,
    joined. A skeleton that lacks one set entirely cannot match, and the (costly,
    overlapped) regex is not run: this changes no match, only skips sure misses.
    Empty when nothing can be read (then the regex always runs)."""
    from re import _constants as C, _parser

    if "(?i" in body:
        return ()
    try:
        # named groups may repeat in the ``regex`` dialect; names do not matter here
        tree = _parser.parse(re.sub(r"\(\?P<\w+>", "(?:", body))
    except Exception:   # syntax only the regex module knows: no test
        return ()

    def required(seq) -> list[frozenset]:
        out: list[frozenset] = []
        run: list[str] = []

        def close() -> None:
            if run:
                out.append(frozenset(["".join(run)]))
                run.clear()

        for op, av in seq:
            if op is C.LITERAL:
                run.append(chr(av))
                continue
            close()
            if op is C.SUBPATTERN:
                out += required(av[-1])
            elif op is C.ATOMIC_GROUP:
                out += required(av)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
                out += required(av[2])
            elif op is C.BRANCH:
                alts = [best(required(alt)) for alt in av[1]]
                if all(a is not None for a in alts):
                    out.append(frozenset().union(*alts))
        close()
        return out

    def best(sets: list[frozenset]):
        sets = [x for x in sets if min(map(len, x)) >= _MIN_LITERAL]
        return max(sets, key=lambda x: (min(map(len, x)), -len(x))) if sets else None

    sets = [x for x in required(tree) if min(map(len, x)) >= _MIN_LITERAL]
    sets.sort(key=lambda x: (-min(map(len, x)), len(x)))
    return tuple(sets[:_MAX_NEEDS])


# cue classes that a pattern may match without: optional modifiers and glue
_OPTIONAL_CLASSES = frozenset(["AUX", "LEADER_ADJ", "MERGE_TO"])


def _anchors(pattern: str, cue_lists: dict) -> frozenset:
    """The first skeleton tokens of the cue words of a cue class that every match of
    ``pattern`` contains (one written outside any group): a sentence with none of them
    cannot match, and the regex is not run (the regexes are most of the rules' cost).
    Empty when no cue class is outside a group."""
    depth, required = 0, []
    k = 0
    while k < len(pattern):
        ch = pattern[k]
        if ch == "\\":
            k += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "{" and depth == 0:
            m = re.match(r"\{([A-Z_]+)\}", pattern[k:])
            if m and m.group(1) in cue_lists and m.group(1) not in _OPTIONAL_CLASSES:
                after = pattern[k + m.end():k + m.end() + 1]
                if after not in ("?", "*"):
                    required.append(m.group(1))
        k += 1
    if not required:
        return frozenset()
    # one required class suffices as the test: the first
    return frozenset(re.split(r"[\s\-]", w.lower())[0] for w in cue_lists[required[0]])


@dataclass
class SkelItem:
    text: str           # skeleton token
    start: int          # char offsets in the doc text
    end: int
    ref: int | None     # index into the sentence's refs when a placeholder


@dataclass
class Ref:
    entity: int         # cluster id
    type: str           # ORG | PERSON | PLACE
    kind: str | None
    pronoun: bool
    start: int
    end: int
    subject: bool = False   # the mention is a grammatical subject of its sentence


def build_skeleton(sent, sent_mentions, state) -> tuple[str, list[SkelItem], list[Ref]]:
    """``sent_mentions``: list of (start, end, cluster, type, kind) in the sentence
    (doc offsets), sorted. ``state`` carries salient actors across sentences."""
    items: list[SkelItem] = []
    refs: list[Ref] = []
    mi = 0
    toks = list(sent)
    i = 0
    last_antecedent: int | None = None
    anaphora = _group_anaphora()
    while i < len(toks):
        tok = toks[i]
        while mi < len(sent_mentions) and sent_mentions[mi][1] <= tok.idx:
            mi += 1
        if mi < len(sent_mentions) and sent_mentions[mi][0] <= tok.idx < sent_mentions[mi][1]:
            s, e, ent, typ, kind = sent_mentions[mi]
            span = sent.doc.char_span(s, e, alignment_mode="expand")
            root = span.root if span is not None else None   # Span.root walks the span: once
            is_subj = root is not None and (root.dep_ in ("nsubj", "nsubjpass") or (
                root.dep_ in ("appos", "conj", "compound", "poss") and root.head.dep_ in ("nsubj", "nsubjpass")))
            refs.append(Ref(ent, typ, kind, False, s, e, is_subj))
            items.append(SkelItem(f"⟦{TYPE_LETTER[typ]}{len(refs) - 1}⟧", s, e, len(refs) - 1))
            while i < len(toks) and toks[i].idx < e:
                i += 1
            mi += 1
            if i < len(toks) and toks[i].text in ("'s", "’s", "'", "’"):
                items.append(SkelItem("'s", toks[i].idx, toks[i].idx + len(toks[i].text), None))
                i += 1
            continue
        low = tok.text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
        if tok.is_space or not low.strip():
            i += 1
            continue
        # group anaphora: "the group", "the newly formed group" -> salient ORG
        matched = False
        if low in ("the", "that", "this"):
            rest = " ".join(t.text.lower() for t in toks[i:i + 4])
            general = _general_anaphor(toks, i)
            if general and not any(rest.startswith(p + " ") or rest == p for p in anaphora):
                anaphora_here = [general]
            else:
                anaphora_here = anaphora
            for phrase in anaphora_here:
                if rest.startswith(phrase + " ") or rest == phrase:
                    n_words = len(phrase.split())
                    n_tok = 0
                    consumed = ""
                    while n_tok < len(toks) - i and len(consumed.split()) < n_words:
                        consumed = (consumed + " " + toks[i + n_tok].text.lower()).strip()
                        n_tok += 1
                    ent = None
                    # within the sentence: its subject group first ("X attacked Y, the group
                    # said"), else the group named last
                    named = [r for r in refs if r.type == "ORG" and not r.pronoun and r.kind not in NON_ACTOR_KINDS]
                    pick = next((r for r in named if r.subject), None) or (named[-1] if named else None)
                    if pick is not None:
                        ent = (pick.entity, pick.kind)
                    if ent is None:
                        ent = _fighters(state) if phrase in _fighter_phrases() else \
                            state.get("org_last" if ("new" in phrase) else "org")
                    if ent is not None and not _next_is_name(toks, i + n_tok, sent_mentions):
                        refs.append(Ref(ent[0], "ORG", ent[1], True, tok.idx, toks[i + n_tok - 1].idx + len(toks[i + n_tok - 1].text)))
                        items.append(SkelItem(f"⟦O{len(refs) - 1}r⟧", tok.idx, refs[-1].end, len(refs) - 1))
                        i += n_tok
                        matched = True
                    break
        if matched:
            continue
        ref = _pronoun_ref(low, tok, items, refs, state, last_antecedent)
        if ref is not None:
            refs.append(Ref(ref[0], ref[1], ref[2], True, tok.idx, tok.idx + len(tok.text)))
            letter = TYPE_LETTER[ref[1]]
            items.append(SkelItem(f"⟦{letter}{len(refs) - 1}r⟧", tok.idx, tok.idx + len(tok.text), len(refs) - 1))
            if low in ("its", "their", "his", "her"):
                items.append(SkelItem("'s", tok.idx, tok.idx, None))
            if low in ("which", "who"):
                last_antecedent = len(refs) - 1
            i += 1
            continue
        items.append(SkelItem(low, tok.idx, tok.idx + len(tok.text), None))
        i += 1
    # "⟦O1⟧ ( ⟦O2⟧ )" where both are one actor: keep one placeholder
    out: list[SkelItem] = []
    k = 0
    while k < len(items):
        it = items[k]
        if (it.ref is not None and k + 3 < len(items) and items[k + 1].text == "(" and items[k + 2].ref is not None
                and items[k + 3].text == ")" and refs[items[k + 2].ref].entity == refs[it.ref].entity):
            out.append(it)
            k += 4
            continue
        out.append(it)
        k += 1
    return " ".join(x.text for x in out), out, refs


NON_ACTOR_KINDS = ("state_force", "media", "state", "international", "think_tank")


@lru_cache(maxsize=1)
def _group_anaphora() -> list[str]:
    # longest first; sorted once per process, not once per sentence
    return sorted(cues()["group_anaphora"], key=len, reverse=True)


def _general_anaphor(toks, i: int) -> str | None:
    """"the guerrilla group", "the Sunni jihadist movement": "the" with up to two
    modifiers before a group noun of ``cues.json`` (anaphor_heads). Returns the phrase
    as lowercase text, or None."""
    heads = _anaphor_heads()
    for j in range(i + 1, min(len(toks), i + 4)):
        t = toks[j]
        low = t.text.lower()
        if low in heads and t.tag_ in ("NN", "NNS"):
            if j + 1 < len(toks) and toks[j + 1].tag_ in ("NNP", "NNPS"):
                return None   # "the group Ansar Dine": a name follows
            return " ".join(x.text.lower() for x in toks[i:j + 1])
        if not t.text.isalpha() or t.tag_ not in ("JJ", "NN", "VBN", "NNP") or low in heads:
            return None
    return None


@lru_cache(maxsize=1)
def _fighter_phrases() -> frozenset:
    return frozenset(cues()["fighter_references"])


def _fighters(state):
    """Whom "the rebels" or bare "fighters" mean: the salient armed group, not a party."""
    if "fighters" in state:
        return state["fighters"]
    ent = state.get("org")
    return ent if ent and ent[1] != "political" else None


@lru_cache(maxsize=1)
def _anaphor_heads() -> frozenset:
    return frozenset(cues()["anaphor_heads"])


@lru_cache(maxsize=1)
def _bare_actor_nouns() -> frozenset:
    return frozenset(cues()["bare_actor_references"])


def _next_is_name(toks, j, sent_mentions) -> bool:
    if j >= len(toks):
        return False
    return any(s <= toks[j].idx < e for s, e, *_ in sent_mentions)


def _pronoun_ref(low, tok, items, refs, state, last_antecedent):
    """Resolve it/its/they/their/he/his and relative which/who to an actor."""
    if low in ("it", "its", "they", "their"):
        if tok.dep_ not in ("nsubj", "nsubjpass", "poss", "dobj", "pobj") and low not in ("its", "their"):
            return None
        for r in reversed(refs):
            # within the sentence a state force can be "it" ("the army said it had killed")
            if r.type == "ORG" and r.kind not in ("media", "international", "think_tank") and (
                    low == "it" or r.kind not in ("state_force", "state")):
                return (r.entity, "ORG", r.kind)
        # across sentences: the previous subject; "it" may also be the last group named
        ent = state.get("org") or (state.get("org_last") if low in ("it", "its") else None)
        return (ent[0], "ORG", ent[1]) if ent else None
    if low in _bare_actor_nouns() and tok.dep_ in ("nsubj", "nsubjpass") and tok.tag_ == "NNS" and not any(
            c.dep_ in ("det", "amod", "compound", "nummod", "poss") for c in tok.children):
        # "rebels attacked the town": in a report about one armed group, its fighters;
        # "unidentified gunmen", "some militants", "two rebels" are left unnamed
        ent = _fighters(state)
        return (ent[0], "ORG", ent[1]) if ent and ent[1] not in NON_ACTOR_KINDS else None
    if low in ("he", "his", "him", "himself"):
        if low == "he" and tok.dep_ not in ("nsubj", "nsubjpass"):
            return None
        for r in reversed(refs):
            if r.type == "PERSON":
                return (r.entity, "PERSON", r.kind)
        ent = state.get("person")
        return (ent[0], "PERSON", ent[1]) if ent else None
    if low in ("which", "who"):
        prev = items[-1].text if items else ""
        if prev == "and" and last_antecedent is not None:
            r = refs[last_antecedent]
            return (r.entity, r.type, r.kind)
        if prev == "," or (items and items[-1].ref is not None):
            # the nearest actor before the comma, skipping places ("X in Tunisia, which")
            for it in reversed(items[-8:]):
                if it.ref is not None and refs[it.ref].type in ("ORG", "PERSON"):
                    r = refs[it.ref]
                    if low == "who" and r.type != "PERSON":
                        continue
                    return (r.entity, r.type, r.kind)
        return None
    return None


@dataclass
class Match:
    relation: str
    subjects: list[Ref]
    objects: list[Ref]
    conf: float
    span: tuple[int, int]       # skeleton char span of the match
    source: str
    requires_parent: bool = False
    any_subject_kind: bool = False


def _refs_in(text: str, allowed: set[str], refs: list[Ref], as_list: bool) -> list[Ref]:
    found = []
    toks = text.split(" ")
    if not as_list:
        m = PLACEHOLDER.search(text)
        if m and m.group(1) in allowed:
            return [refs[int(m.group(2))]]
        return []
    leading = 0
    seen_any = False
    for t in toks:
        m = PLACEHOLDER.fullmatch(t)
        if m:
            seen_any = True
            if m.group(1) in allowed:
                found.append((refs[int(m.group(2))], t))
            else:
                found.append((None, t))
            continue
        if t in LIST_FILLER or t in _leader_words():
            continue
        if not seen_any and leading < 4:
            leading += 1
            continue
        break
    # drop ORGs that only qualify a following leader ("Taliban leader Mullah X")
    out = []
    tokens_after = {}
    joined = " ".join(toks)
    for idx, (r, t) in enumerate(found):
        if r is None:
            continue
        if r.type == "ORG" and "P" in allowed:
            pos = joined.find(t)
            after = joined[pos + len(t):pos + len(t) + 60]
            before = joined[max(0, pos - 30):pos]
            if re.match(r"^ (?:'s )?(?:[a-z\-]+ ){0,2}" + _leader_alt() + r" (?:, )?⟦P\d+r?⟧", after):
                continue
            if re.search(_leader_alt() + r" (?:of )?(?:the )?$", before) and re.match(r"^ (?:, )?⟦P\d+r?⟧", after):
                continue
        out.append(r)
    return out


@lru_cache(maxsize=1)
def _leader_words() -> frozenset:
    return frozenset(w for w in relation_spec()["cues"]["LEADER"] if " " not in w)


@lru_cache(maxsize=1)
def _leader_alt() -> str:
    return _cue_alt(relation_spec()["cues"]["LEADER"])


# Relations where the subject acts: "a leader of X pledged..." is not X pledging.
_AGENTIVE = {"pledged_allegiance_to", "joined", "defected_from"}
_ROLE_OF = re.compile(
    "(?:" + "|".join(map(re.escape, cues()["role_of_nouns"])) + r") (?:of|from|in|within) (?:the )?(?:[a-z]+ )?$"
)


_PLACED = {"active_in", "recruits_in", "attacked"}
_BRANCH_AFTER = re.compile(r" (?:" + "|".join(map(re.escape, cues()["branch_nouns"])) + r")\b")


def _placeholder_end(skel: str, refs: list[Ref], ref: Ref, start: int) -> int:
    for i, r in enumerate(refs):
        if r is ref:
            m = re.compile(r"⟦[OPL]" + str(i) + r"r?⟧").search(skel, start)
            if m is None:
                m = re.compile(r"⟦[OPL]" + str(i) + r"r?⟧").search(skel)
            return m.end() if m else start
    return start


_PLACEHOLDER_LETTER = re.compile(r"⟦([OPL])")


@lru_cache(maxsize=1)
def _needed_literals() -> tuple[str, ...]:
    return tuple(sorted({w for p in patterns() for alts in p.needs for w in alts}))


@lru_cache(maxsize=1)
def _literals_by_prefix() -> dict[str, tuple[str, ...]]:
    """The needed literals of three characters or more by their first three."""
    out: dict[str, list[str]] = {}
    for w in _needed_literals():
        if len(w) >= 3:
            out.setdefault(w[:3], []).append(w)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def _short_literals() -> tuple[str, ...]:
    return tuple(w for w in _needed_literals() if len(w) < 3)   # none today; tested as before


def _present_literals(skel: str) -> set[str]:
    """``{w for w in _needed_literals() if w in skel}``: a literal can be in the skeleton
    only where its first three characters are, so only those are tested (the skeleton's
    three-character pieces cost far less than 800 substring searches)."""
    by_prefix = _literals_by_prefix()
    grams = {skel[i:i + 3] for i in range(len(skel) - 2)}
    out = {w for g in grams.intersection(by_prefix) for w in by_prefix[g] if w in skel}
    out.update(w for w in _short_literals() if w in skel)
    return out


def _lacks(needs: tuple, present: set) -> bool:
    for alts in needs:
        if present.isdisjoint(alts):
            return True
    return False


def match_sentence(skel: str, refs: list[Ref]) -> list[Match]:
    out = []
    letters = _PLACEHOLDER_LETTER.findall(skel)
    if len(letters) < 2:
        return out   # a relation needs two placeholders: most sentences end here
    present = set(letters)
    tokens = set(skel.split(" "))
    # which of the patterns' required strings the skeleton holds: one pass over them all
    # per sentence, then a set test per pattern
    present_literals = _present_literals(skel)
    for p in patterns():
        if not (ALLOWED[p.s] & present and ALLOWED[p.o] & present):
            continue   # e.g. an active_in pattern on a sentence without a place
        if p.anchors and not (p.anchors & tokens):
            continue   # none of its cue words
        if p.needs and _lacks(p.needs, present_literals):
            continue   # a string every match contains is missing
        for m in p.rx.finditer(skel, overlapped=True):
            groups = m.groupdict()
            subs: list[Ref] = []
            objs: list[Ref] = []
            for g, val in groups.items():
                if val is None:
                    continue
                if g == "s":
                    subs = _refs_in(val, ALLOWED[p.s], refs, "s" in p.lists)
                elif g in ("o", "o2"):
                    objs += _refs_in(val, ALLOWED[p.o], refs, g in p.lists)
            if "o2" in groups and groups["o2"] and p.relation == "merged_into":
                # "A merged with B to form C": B merged too
                subs += _refs_in(groups["o2"], ALLOWED[p.s], refs, True)
                objs = _refs_in(groups["o"], ALLOWED[p.o], refs, False)
            if subs and objs and p.relation in _AGENTIVE and "s" not in p.lists and m.start("s") >= 0:
                if _ROLE_OF.search(skel[max(0, m.start("s") - 60):m.start("s")]):
                    continue
            if subs and objs and p.relation in _PLACED and m.start("s") >= 0 and _BRANCH_AFTER.match(skel, m.end("s")):
                continue   # "an al-Qaeda branch active in Libya": the branch is active, not al-Qaeda
            if subs and objs:
                # the statement ends at its last entity: words after it ("..., not far from")
                # must not hedge or negate it
                core_end = max(_placeholder_end(skel, refs, r, m.start()) for r in subs + objs)
                out.append(Match(p.relation, subs, objs, p.conf, (m.start(), max(core_end, m.start())), p.source,
                                 p.requires_parent, p.any_subject_kind))
    return out
