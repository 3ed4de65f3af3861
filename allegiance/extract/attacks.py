"""Attack mentions: the attacks one document tells, each merged over its sentences (issue 13).

The attack frames of ``events.py`` (one per trigger, roles from the parse) are grouped:
an article usually tells its attack over several sentences ("Gunmen stormed a hotel ...",
"The attack was claimed by X", "X was blamed"), and each group becomes one
``AttackMention`` with its date, place, attackers (each with a status: claimed,
attributed by whom, suspected, or stated by the report itself), targets, tolls and
evidence sentences.

A sentence that tells an attack the article only recalls (an older year, "last year",
"a previous attack", a history paragraph) gives a mention marked ``current=False``:
kept, so the output shows it was read, but never linked to today's incident.

Cue words live in ``data/incidents.json``. This is a pure function of the document's
extraction state, like the rest of extraction."""
from __future__ import annotations

import json
import re
from datetime import date as _date
from datetime import timedelta
from functools import lru_cache
from importlib import resources

from allegiance.extract import context
from allegiance.extract.cues import cues
from allegiance.records import AttackAttacker, AttackMention

_STATUS_RANK = {"claimed": 0, "attributed": 1, "suspected": 2, "stated": 3}
#: the title and first sentences: where a report names what it is about
LEAD_SENTENCES = 3


@lru_cache(maxsize=1)
def incident_cues() -> dict:
    return json.loads(resources.files("allegiance.data").joinpath("incidents.json").read_text("utf-8"))


def _words_rx(words) -> re.Pattern:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(r"(?<![\w'])(?:" + alts + r")(?![\w])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _rx() -> dict[str, re.Pattern]:
    c = incident_cues()
    num_words = sorted((w for w, v in cues()["number_words"].items() if isinstance(v, int)), key=len, reverse=True)
    num = r"(\d[\d,]*|" + "|".join(re.escape(w) for w in num_words) + r")"
    qual = (r"(?:(?:at least|as many as|more than|over|about|some|up to|nearly|around|almost|roughly|"
            r"an estimated|a total of|all|possibly more than)\s+)?")
    killed = "|".join(re.escape(w) for w in sorted(c["killed_words"], key=len, reverse=True))
    wounded = "|".join(re.escape(w) for w in sorted(c["wounded_words"], key=len, reverse=True))
    toll = "|".join(re.escape(w) for w in sorted(c["toll_nouns"], key=len, reverse=True))
    be = r"(?:were|have been|had been|was|are|being|is|got)\s+(?:\w+\s+)?"
    return {
        "killed": [
            re.compile(r"\b(?:kill(?:ed|ing|s)?|massacr(?:ed|ing)|execut(?:ed|ing)|left|leaving|claimed the lives of)\s+"
                       + qual + num + r"\b(?!\s*(?:kg|km|%|per|hours?|days?|minutes?)\b)", re.I),
            re.compile(r"\b" + qual + num + r"\s+(?:[\w-]+\s+){0,4}?" + be + r"(?:" + killed + r")\b", re.I),
            re.compile(r"\b" + qual + num + r"\s+(?:[\w-]+\s+){0,3}?(?:" + killed + r")\b", re.I),
            re.compile(r"\b(?:" + toll + r")\s+(?:[\w-]+\s+){0,4}?" + qual + num + r"\b", re.I),
            # "the toll from the attack on X has risen to 19"
            re.compile(r"\b(?:" + toll + r")\b[^.;]{0,80}?\b(?:risen|rose|climbed|reached|jumped|stands|stood|"
                       r"increased)\s+(?:to|at)\s+" + qual + num + r"\b", re.I),
        ],
        "wounded": [
            re.compile(r"\b(?:wound(?:ed|ing)|injur(?:ed|ing)|hurt)\s+" + qual + num + r"\b", re.I),
            re.compile(r"\b" + qual + num + r"\s+(?:[\w-]+\s+){0,4}?(?:" + be + r")?(?:" + wounded + r")\b", re.I),
        ],
        "history": _words_rx(c["history_cues"]),
        "suspect": _words_rx(c["suspect_cues"]),
        "weekday": re.compile(r"\b(?:on\s+|last\s+|early\s+|late\s+)?(" + "|".join(c["weekdays"]) + r")\b", re.I),
    }


def figures(text: str, kind: str) -> list[int]:
    """Every toll of ``kind`` ("killed" or "wounded") a sentence states, in order. A
    four-digit number that reads as a year ("in April 2015 that killed ...") is no toll."""
    return list(_figures(text, kind))


# A sentence's tolls are asked for by the bare-frame test and again by each attack
# mention it belongs to; five regexes each time. A function of the text alone.
@lru_cache(maxsize=2048)
def _figures(text: str, kind: str) -> tuple[int, ...]:
    out: list[int] = []
    spans: list[tuple[int, int]] = []
    for rx in _rx()[kind]:
        for m in rx.finditer(text):
            g = m.group(1)
            if any(a <= m.start(1) < b for a, b in spans):
                continue
            n = context._num(g)   # the casualty reader's number words
            if n is None or n >= 100000 or (re.fullmatch(r"(?:19|20)\d\d", g.rstrip(",")) is not None):
                continue
            spans.append((m.start(1), m.end(1)))
            out.append(n)
    return tuple(out)


def _weekday_date(text: str, ref: str | None) -> str | None:
    """"on Friday" -> the latest Friday on or before the reference date (the article's)."""
    if not ref or len(ref) < 10:
        return None
    m = _rx()["weekday"].search(text)
    if not m:
        return None
    try:
        base = _date.fromisoformat(ref[:10])
    except ValueError:
        return None
    want = incident_cues()["weekdays"].index(m.group(1).lower())
    back = (base.weekday() - want) % 7
    if m.group(0).lower().startswith("last ") and back == 0:
        back = 7
    return (base - timedelta(days=back)).isoformat()


def _full_date(text: str, published: str | None) -> str | None:
    """The first stated date of a sentence that names at least a month."""
    for expr in context.date_expressions(text):
        d = context.resolve_date(expr, published)
        if d and len(d) >= 7:
            return d
    return None


def _years(text: str, published: str | None) -> list[int]:
    out = []
    for expr in context.date_expressions(text):
        d = context.resolve_date(expr, published)
        if d:
            out.append(int(d[:4]))
    return out


def reference_date(state, published: str | None) -> tuple[str | None, int | None]:
    """The article's own date and year: the published date, else the first full date of
    its first lines (a byline, "date 2022-06-21", a caption); its year, else the latest
    year the article states (what it reports is its most recent event)."""
    ref = published if published and len(published) >= 10 else None
    if ref is None:
        # an absolute date as the cleaner reads one (ISO "2022-06-21" included, which the
        # sentence-level reader takes for a bare year), at the head of the first lines
        from allegiance.clean.dates import find_date

        for sent in state.sentences[:6]:
            found = find_date(sent.evidence[:120])
            if found:
                ref = found[0]
                break
    if ref is None:
        for sent in state.sentences[:6]:
            for expr in context.date_expressions(sent.evidence):
                d = context.resolve_date(expr, None)
                if d and len(d) == 10:
                    ref = d
                    break
            if ref:
                break
    year = int(ref[:4]) if ref else (int(published[:4]) if published else None)
    if year is None:
        ys = [y for sent in state.sentences for y in _years(sent.evidence, published)]
        year = max(ys) if ys else None
    return ref, year


def _days(a: str, b: str) -> int | None:
    try:
        return abs((_date.fromisoformat(a[:10]) - _date.fromisoformat(b[:10])).days)
    except ValueError:
        return None


def _past_cue(sent, trigger: str, ref: str | None, year: int | None, published: str | None) -> str | None:
    """Why a sentence tells an earlier attack, or None."""
    m = _rx()["history"].search(sent.evidence)
    if m:
        return m.group(0)
    ys = _years(sent.evidence, published)
    if year is not None and ys and max(ys) < year:
        return str(max(ys))
    d = _full_date(sent.evidence, published)
    if d and ref and len(d) == 10:
        gap = _days(d, ref)
        if gap is not None and gap > 45 and d < ref:
            return d
    # (no past-perfect rule: reported speech puts today's attack in it, "he said three
    # people had been shot")
    return None


@lru_cache(maxsize=1)
def _extra_triggers() -> frozenset:
    from allegiance.extract.candidates import stem

    return frozenset(stem(w) for ws in incident_cues()["trigger_classes"].values() for w in ws if " " not in w)


@lru_cache(maxsize=1)
def _phrasal_triggers() -> frozenset:
    """(verb stem, particle or object word) of the attack phrases of ``data/incidents.json``.
    The parse runs without spaCy's lemmatizer, so verbs are compared by ``stem`` and the
    irregular forms ("blew up") are listed in the data."""
    from allegiance.extract.candidates import stem

    return frozenset((stem(v), rest) for v, rest in (p.split(None, 1) for p in incident_cues()["phrasal_triggers"]))


def _phrasal(tok, phrasal) -> bool:
    """Whether the verb ``tok`` makes an attack phrase with a particle or object child
    ("opened fire", "blew up", "set ablaze")."""
    from allegiance.extract.candidates import stem

    verb = stem(tok.text)
    return any((verb, c.lower_) in phrasal for c in tok.children if c.dep_ in ("prt", "dobj", "obj", "advmod",
                                                                                  "acomp", "oprd"))


def _role_refs(tok, sent) -> list:
    """Actors a role filler names: its own mention, a compound or possessive on it, an
    apposition ("the rebel group the OLA"), "militants from/of X"."""
    from allegiance.extract.events import _refs_of

    out = list(_refs_of(tok, sent))
    for ch in tok.children:
        if ch.dep_ == "appos":
            out += [r for r in _refs_of(ch, sent) if r not in out]
        elif ch.dep_ == "prep" and ch.lower_ in ("from", "of"):
            for g in ch.children:
                if g.dep_ == "pobj":
                    out += [r for r in _refs_of(g, sent) if r not in out]
                    for gg in g.children:
                        if gg.dep_ == "appos":
                            out += [r for r in _refs_of(gg, sent) if r not in out]
    return [r for r in out if r.type in ("ORG", "PERSON")]


def bare_frames(sentences, frames: list) -> list:
    """Frames for the attack words no frame of ``events`` covers: triggers with no named
    role there ("militants from X stormed a college", "the explosions that left 22 dead in
    Y") and the bombing/assault/hijacking words of ``data/incidents.json``. A frame is
    kept when it has an attacker, a target, a place or a toll."""
    from allegiance.extract.candidates import stem
    from allegiance.extract.events import Frame, _noun_targets, _place_in, _triggers

    verbs, nouns, carry = _triggers()
    extra = _extra_triggers()
    phrasal = _phrasal_triggers()
    have = {(f.sentence, f.trigger) for f in frames}
    out = []
    for i, sent in enumerate(sentences):
        for tok in sent.span:
            st = stem(tok.text)
            is_verb = tok.tag_.startswith("VB")
            if is_verb and _phrasal(tok, phrasal):
                pass   # "opened fire on X", "blew up X": the verb with its particle or object
            elif not (st in extra or (is_verb and st in verbs) or (not is_verb and st in nouns)):
                continue
            if (i, tok.lower_) in have:
                continue
            have.add((i, tok.lower_))
            f = Frame(i, tok.lower_)
            if is_verb:
                passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in tok.children)
                for c in tok.children:
                    if c.dep_ == "nsubj" and not passive:
                        f.attacker += _role_refs(c, sent)
                    elif c.dep_ == "agent":
                        for g in c.children:
                            if g.dep_ == "pobj":
                                f.attacker += _role_refs(g, sent)
                    elif c.dep_ in ("dobj", "obj"):
                        f.target += [r for r in _role_refs(c, sent) if r.type != "PLACE"]
                    elif c.dep_ == "prep" and c.lower_ in ("on", "at") and _phrasal(tok, phrasal):
                        # "opened fire on the convoy": the target is the object of "on"
                        for g in c.children:
                            if g.dep_ == "pobj":
                                f.target += [r for r in _role_refs(g, sent) if r.type != "PLACE"]
            else:
                f.target += _noun_targets(tok, sent)
            f.place = _place_in(tok, sent) or next((r for r in f.target if r.type == "PLACE"), None)
            if f.attacker or f.target or f.place is not None or figures(sent.evidence, "killed"):
                out.append(f)
    return out


def attack_mentions(state, frames: list, document, gaz) -> list[AttackMention]:
    """The attack mentions of one document from its frames (see the module docstring)."""
    sentences = state.sentences
    frames = list(frames) + bare_frames(sentences, frames)
    if not frames:
        return []
    eid = state.root_to_eid
    published = document.published
    ref, year = reference_date(state, published)
    c = incident_cues()
    # --- which sentences tell a past attack: their own cue, or an earlier sentence of
    # the same paragraph dated in the past (a history paragraph keeps its tense)
    past: dict[int, str | None] = {}
    para_past: dict[int, str] = {}
    for i, sent in enumerate(sentences):
        trig = next((f.trigger for f in frames if f.sentence == i), "")
        cue = _past_cue(sent, trig, ref, year, published)
        if cue is None and sent.offset in para_past and not _years(sent.evidence, published):
            cue = para_past[sent.offset]
        if cue is not None and re.fullmatch(r"\d{4}(?:-\d\d){0,2}", cue):
            para_past[sent.offset] = cue
        past[i] = cue

    entity_by_id = {e.id: e for e in state.extraction.entities}

    def gaz_of(local_id):
        e = entity_by_id.get(local_id)
        return gaz.by_id.get(e.gazetteer_id) if e is not None and e.gazetteer_id else None

    def places_compatible(a, b) -> bool:
        if a is None or b is None or a == b:
            return True
        ga, gb = gaz_of(a), gaz_of(b)
        if ga is None or gb is None:
            return True   # an unknown place of the same article: most likely a part of the other
        if ga.country and gb.country and ga.country != gb.country:
            return False
        return True

    # --- group the frames: a claim or a blame joins the attack before it; an attack
    # with other named attackers, a conflicting date or place, or one that hits the
    # attackers (the response) starts a mention of its own
    groups: list[dict] = []
    for f in sorted(frames, key=lambda f: f.sentence):
        sent = sentences[f.sentence]
        cue = past[f.sentence]
        attackers = [eid[r.entity] for r in f.attacker]
        targets = [eid[r.entity] for r in f.target]
        place = eid[f.place.entity] if f.place is not None else None
        stated = _full_date(sent.evidence, published)
        g = None
        for cand in reversed(groups):
            if cand["current"] != (cue is None):
                continue
            if stated and cand["date"] and stated[:10] != cand["date"][:10]:
                continue
            if not places_compatible(place, cand["place"]):
                continue
            named = set(cand["attackers"])
            if set(targets) & named and not set(attackers) & named:
                continue   # the response to the attack (forces killing the attackers)
            if not f.claimed and attackers and named and not set(attackers) & named \
                    and not set(targets) & set(cand["targets"]):
                continue
            g = cand
            break
        if g is None:
            g = {"frames": [], "attackers": [], "targets": [], "place": None, "date": None,
                 "current": cue is None, "cue": cue}
            groups.append(g)
        g["frames"].append(f)
        g["attackers"] += [a for a in attackers if a not in g["attackers"]]
        g["targets"] += [t for t in targets if t not in g["targets"] and t not in g["attackers"]]
        if g["place"] is None:
            g["place"] = place
        if g["date"] is None and stated:
            g["date"] = stated

    blames = _blames(state, c)
    # actors the gazetteer knows are compared by id when linking; the words of the others
    # (a hotel, a train, a cathedral, a village, a commander) go with the names
    known = {r for r, e in eid.items() if entity_by_id.get(e) is not None and entity_by_id[e].gazetteer_id}
    out: list[AttackMention] = []
    dateline = eid.get(state.dateline_place) if state.dateline_place is not None else None
    for k, g in enumerate(groups, 1):
        fr = g["frames"]
        first = sentences[fr[0].sentence]
        sent_ids = sorted({f.sentence for f in fr})
        att: dict[str, AttackAttacker] = {}
        for f in fr:
            sent = sentences[f.sentence]
            suspected = _rx()["suspect"].search(sent.evidence) is not None
            for r in f.attacker:
                e = eid[r.entity]
                if not f.claimed and sent.attributed_to and entity_by_id[e].name in sent.attributed_to:
                    continue   # "X attacked ..., police said": the speaker is no attacker
                if f.claimed:
                    new = AttackAttacker(e, "claimed", None)
                elif suspected:
                    new = AttackAttacker(e, "suspected", sent.attributed_to)
                elif sent.attributed_to:
                    new = AttackAttacker(e, "attributed", sent.attributed_to)
                else:
                    new = AttackAttacker(e, "stated", None)
                old = att.get(e)
                if old is None or _STATUS_RANK[new.status] < _STATUS_RANK[old.status]:
                    att[e] = new
        mention = AttackMention(
            id=f"a{k}", trigger=fr[0].trigger, triggers=sorted({f.trigger for f in fr}),
            place=g["place"], targets=[t for t in g["targets"] if t not in att],
            evidence=first.evidence, start=first.raw_start, end=first.raw_end,
            sentences=[(sentences[i].raw_start, sentences[i].raw_end) for i in sent_ids],
            current=g["current"], past_cue=g["cue"])
        mention.attackers = list(att.values())
        out.append(mention)
        g["mention"] = mention
        g["sent_ids"] = sent_ids

    # blames and denials join the current mention told last before them (or the first)
    current = [g for g in groups if g["current"]]
    for i, blamer, blamed, denial in blames:
        if not current:
            break
        before = [g for g in current if g["sent_ids"][0] <= i]
        g = before[-1] if before else current[0]
        m = g["mention"]
        if i not in g["sent_ids"]:
            g["sent_ids"] = sorted(set(g["sent_ids"]) | {i})
            m.sentences = [(sentences[j].raw_start, sentences[j].raw_end) for j in g["sent_ids"]]
        for e in blamed:
            x = next((a for a in m.attackers if a.entity == e), None)
            if denial:
                if x is not None:
                    x.denied = True
                continue
            if x is None:
                m.attackers.append(AttackAttacker(e, "attributed", blamer))
                m.targets = [t for t in m.targets if t != e]
            elif x.status in ("stated", "suspected") or (x.status == "attributed" and not x.by):
                x.status, x.by = "attributed", blamer

    # dates, places, tolls and names over each mention's sentences
    for g in groups:
        m = g["mention"]
        texts = [sentences[i].evidence for i in g["sent_ids"]]
        if g["date"]:
            m.date, m.date_source = g["date"], "stated"
        else:
            wd = next((d for d in (_weekday_date(t, ref) for t in texts) if d), None)
            if wd:
                m.date, m.date_source = wd, "weekday"
            elif published:
                m.date, m.date_source = published, "published"
        if m.place is None:
            m.place = next((eid[r.entity] for i in g["sent_ids"] for r in sentences[i].refs
                            if r.type == "PLACE" and not r.pronoun), None) or (dateline if m.current else None)
        for t in texts:
            m.killed_figures += [n for n in figures(t, "killed") if n not in m.killed_figures]
            m.wounded_figures += [n for n in figures(t, "wounded") if n not in m.wounded_figures]
        m.killed = max(m.killed_figures) if m.killed_figures else None
        m.wounded = max(m.wounded_figures) if m.wounded_figures else None
        m.names = _names(sentences, g["sent_ids"], known)
    # the article's main attack, the current one it tells first, also takes the names of
    # its title and lead: a report about one attack names the hotel, the train or the
    # town there, often in a sentence that gives no attack frame of its own
    main = next((g for g in groups if g["current"]), None)
    if main is not None:
        lead = [i for i in range(min(LEAD_SENTENCES, len(sentences))) if past[i] is None]
        m = main["mention"]
        m.names += [w for w in _names(sentences, lead, known) if w not in m.names]
    # a sentence of a mention's paragraph that names the same kind of attack again but
    # gave no frame (no role the parse could fill: "The cathedral on X Island was hit by
    # two bombs") goes on telling that attack: its names are the mention's too
    told = {i for g in groups for i in g["sent_ids"]}
    for g in groups:
        if not g["current"]:
            continue
        m = g["mention"]
        classes = _trigger_classes(m.triggers)
        paras = {sentences[i].offset for i in g["sent_ids"]}
        more = [i for i, sent in enumerate(sentences) if i not in told and past[i] is None
                and sent.offset in paras and classes & _sentence_classes(sent)]
        m.names += [w for w in _names(sentences, more, known) if w not in m.names]
    return out


@lru_cache(maxsize=1)
def _class_stems() -> dict[str, frozenset]:
    from allegiance.extract.candidates import stem

    return {cls: frozenset(stem(w) for w in words if " " not in w)
            for cls, words in incident_cues()["trigger_classes"].items()}


def _trigger_classes(words) -> set[str]:
    """The trigger classes of ``data/incidents.json`` (bombing, armed assault, hijacking)
    the attack words belong to."""
    from allegiance.extract.candidates import stem

    stems = {stem(w) for w in words}
    return {cls for cls, ws in _class_stems().items() if stems & ws}


def _sentence_classes(sent) -> set[str]:
    return _trigger_classes(tok.text for tok in sent.span if tok.is_alpha)


def _names(sentences, sent_ids, known=frozenset()) -> list[str]:
    """Capitalised words of the mention's sentences outside every mention of an actor the
    gazetteer knows (``known``: the entities of such mentions), not sentence-initial and
    not common words ("Radisson", "Express", "CRPF", "Jolo"): what names a building, a
    train, a convoy or a small place the gazetteer does not know. Words of unknown actors
    count too: two reports resolve such a name to an actor or not depending on the
    parse, and these words are what the reports share."""
    from allegiance.clean.wire import common_words

    common = common_words()
    out: list[str] = []
    for i in sent_ids:
        sent = sentences[i]
        taken = [(r.start, r.end) for r in sent.refs if r.entity in known]
        for j, tok in enumerate(sent.span):
            if j == 0 or not tok.text[:1].isupper() or len(tok.text) < 3 or not tok.text.isalpha():
                continue
            if any(a <= tok.idx < b for a, b in taken):
                continue
            w = tok.text.lower()
            if w in common or w in incident_cues()["weekdays"] or w in out:
                continue
            if context.resolve_date(tok.text, "2000-01-01"):
                continue   # month names
            out.append(w)
    return out


def _blames(state, c) -> list[tuple[int, str | None, list[str], bool]]:
    """(sentence, who blames, local ids blamed, is a denial) for "X blamed Y", "Y was
    blamed by X", "X accused Y of", "X held Y responsible", "X attributed it to Y", and
    "Y denied" (a denial: ``who`` is Y itself)."""
    blame = {w.lower() for w in c["blame_verbs"]}
    deny = {w.lower() for w in c["deny_verbs"]}
    eid = state.root_to_eid
    names = {e.id: e.name for e in state.extraction.entities}
    out = []
    for i, sent in enumerate(state.sentences):
        for tok in sent.span:
            low = tok.lower_
            behind = _behind(tok, sent, eid, names)
            if behind is not None:
                out.append((i, *behind, False))
                continue
            if not tok.tag_.startswith("VB") or (low not in blame and low not in deny):
                continue
            subj, obj = [], []
            passive = any(ch.dep_ in ("nsubjpass", "auxpass") for ch in tok.children)
            for ch in tok.children:
                if ch.dep_ in ("nsubj",) and not passive:
                    subj.append(ch)
                elif ch.dep_ == "nsubjpass":
                    obj.append(ch)
                elif ch.dep_ in ("dobj", "obj"):
                    obj.append(ch)
                elif ch.dep_ == "agent":
                    subj += [g for g in ch.children if g.dep_ == "pobj"]
                elif ch.dep_ == "prep" and ch.lower_ in ("to", "at", "on") and low not in deny:
                    obj += [g for g in ch.children if g.dep_ == "pobj"]
            if low in ("hold", "held", "holds", "holding", "point", "pointed") and not any(
                    t.lower_ in ("responsible", "finger", "accountable") for t in tok.subtree):
                continue

            def refs(toks):
                found = []
                for t in toks:
                    for x in [t] + [ch for ch in t.children if ch.dep_ in ("conj", "compound", "poss")]:
                        for r in sent.refs:
                            if r.start <= x.idx < r.end and eid[r.entity] not in found:
                                found.append(eid[r.entity])
                return found

            who = refs(subj)
            if low in deny:
                if who:
                    out.append((i, names.get(who[0]), who, True))
                continue
            blamed = [e for e in refs(obj) if e not in who]
            if not blamed:
                continue
            by = names.get(who[0]) if who else (" ".join(t.text for t in subj[0].subtree) if subj else sent.attributed_to)
            out.append((i, by, blamed, False))
    return out


def _behind(tok, sent, eid, names):
    """"(Officials said) X was behind the attack", "the bombing was the handiwork of X":
    (who says so, [X]) or None. Who says so is the subject of the report verb above, or
    the sentence's attribution; None when the report says it in its own voice."""
    from allegiance.extract.events import _refs_of

    low = tok.lower_
    subj_tok = None
    if low == "behind" and tok.dep_ == "prep":
        if tok.head.lower_ not in ("was", "were", "is", "are", "be", "been"):
            return None
        subj_tok = next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
        head = tok.head
    elif low in ("handiwork", "work") and any(c.dep_ == "prep" and c.lower_ == "of" for c in tok.children):
        prep = next(c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of")
        subj_tok = next((g for g in prep.children if g.dep_ == "pobj"), None)
        head = tok.head
    else:
        return None
    if subj_tok is None:
        return None
    blamed = [eid[r.entity] for r in _role_refs(subj_tok, sent) or _refs_of(subj_tok, sent)
              if r.type in ("ORG", "PERSON")]
    if not blamed:
        return None
    by = None
    top = head
    while top.dep_ in ("ccomp", "xcomp", "conj") and top.head is not top:
        top = top.head
        speaker = next((c for c in top.children if c.dep_ == "nsubj"), None)
        if speaker is not None:
            refs = [eid[r.entity] for r in _refs_of(speaker, sent)]
            by = names.get(refs[0]) if refs else " ".join(t.text for t in speaker.subtree)
            break
    if by is None:
        by = sent.attributed_to
    return by, [b for b in blamed]
