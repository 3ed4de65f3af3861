"""Attack frames: one per attack trigger, with its roles read from the dependency parse.

Triggers are the attack verbs and nouns of ``data/relations.json`` (ATTACK_VERB,
ATTACK_NOUN, CARRY, CLAIM). Roles:
- attacker: the agent (active subject, "by X" of a passive), the subject of "claimed
  (responsibility for)", "X gunmen"/"X fighters" (a compound or possessive on the
  subject), or the subject of a carry verb whose object is an attack noun;
- target: the object, "on/against X", the subject of a passive, or the force the dead
  belong to ("killing 12 Malian soldiers": a state-force mention);
- place ("in/near X"), date (the sentence's), killed and wounded.
A frame with no named attacker ("unidentified gunmen stormed ...") yields no fact but
is kept: a later sentence whose subject claims an attack ("the attack was claimed by
X", "X claimed responsibility") completes it. The frames feed the relation model as
features of the candidate pairs whose ends fill their roles, and the claims that
complete an earlier frame become facts of their own (rule ``frame-claim``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from allegiance.extract import context
from allegiance.extract.candidates import stem
from allegiance.extract.cues import cues, relation_spec
from allegiance.extract.work import SentenceInfo

_SUBJ = ("nsubj", "csubj")
_PASS_SUBJ = ("nsubjpass",)
_OBJ = ("dobj", "obj")
_TARGET_PREPS = ("on", "against", "at", "upon", "targeting", "into")
_PLACE_PREPS = ("in", "near", "at", "outside", "around", "across")


@lru_cache(maxsize=1)
def _triggers() -> tuple[frozenset, frozenset, frozenset]:
    spec = relation_spec()["cues"]
    verbs = {stem(w) for w in spec["ATTACK_VERB"] + spec["ATTACK_PASSIVE"] if " " not in w}
    nouns = {stem(w) for w in spec["ATTACK_NOUN"] if " " not in w}
    carry = {stem(w.split()[0]) for w in spec["CARRY"]}
    claims = {stem(w.split()[0]) for w in spec["CLAIM"] if w.split()[0].startswith("claim")}
    # "war", "campaign", "insurgency", "operation": too general to be one attack
    nouns -= {stem(w) for w in cues()["attack_frame_general_nouns"]}
    return frozenset(verbs), frozenset(nouns), frozenset(carry | claims)


@dataclass
class Frame:
    sentence: int
    trigger: str
    attacker: list = field(default_factory=list)   # relations.Ref
    target: list = field(default_factory=list)
    place: object | None = None
    killed: int | None = None
    claimed: bool = False
    facility: bool = False    # the act hit a building or post ("a police post"): its place was attacked
    negated: bool = False     # a "not"/"never" governs the trigger's own clause (clause_negated)


def _ref_at(tok, sent: SentenceInfo):
    """The actor (named or referred to) whose mention covers ``tok`` or its subtree head."""
    for r in sent.refs:
        if r.start <= tok.idx < r.end:
            return r
    return None


@lru_cache(maxsize=1)
def _person_role_nouns() -> frozenset:
    """One-word leader and role nouns ("leader", "emir", "commander"): a singular one is a
    person, so "killed the leader of X" hit that person, not X."""
    spec = relation_spec()["cues"]
    return frozenset(w for w in spec["LEADER"] + spec["ROLE"] if " " not in w)


@lru_cache(maxsize=None)
def _cue_set(name: str) -> frozenset:
    """A word list of ``data/cues.json`` as a set, read once."""
    return frozenset(cues()[name])


def _facilities() -> frozenset:
    return _cue_set("facility_heads")


def _verbal_phrasals() -> frozenset:
    return _cue_set("frame_verbal_phrasals")


def _purpose_nouns() -> frozenset:
    return _cue_set("frame_purpose_nouns")


_EVENT_PREPS = ("in", "during", "amid")
_WH = ("WP", "WDT")


def _is_actor(r, sent: SentenceInfo) -> bool:
    """An actor that can attack: a group, a person, or a country acting as its state
    (signatures.STATE_ACTOR_RELATIONS): named as a noun of its own ("Israel struck", "by
    Israel") or as the author of an attack noun ("a US drone strike", "an Israeli raid").
    A country that only qualifies some other noun ("the Somali group X", "Togolese media")
    is where that is, not an attacker."""
    if r.type in ("ORG", "PERSON"):
        return True
    if r.type != "PLACE" or r.kind != "country":
        return False
    toks = [t for t in sent.span if r.start <= t.idx < r.end]
    head = next((t for t in toks if not (r.start <= t.head.idx < r.end) or t.head is t), None)
    if head is None:
        return False
    if head.dep_ in ("compound", "amod", "poss", "nmod"):
        return head.head.tag_.startswith("NN") and stem(head.head.text) in _triggers()[1]
    return head.tag_ in ("NNP", "NNPS")


def _subject_refs(verb, sent: SentenceInfo, passive_only: bool) -> list:
    """Who a verb's subject names, through a relative pronoun ("the commander who was
    killed") or a reduced relative ("the recruits killed by X": the noun the participle
    hangs on)."""
    out = []
    deps = _PASS_SUBJ if passive_only else _PASS_SUBJ + _SUBJ
    subj = [c for c in verb.children if c.dep_ in deps]
    for c in subj:
        if c.tag_ in _WH and verb.dep_ == "relcl":
            out += _refs_of(verb.head, sent)
        else:
            out += _refs_of(c, sent)
    if not subj and verb.dep_ == "acl" and verb.tag_ == "VBN":
        out += _refs_of(verb.head, sent)
    return out


def _patients(noun, sent: SentenceInfo) -> list:
    """The side an attack or clash noun happened to: the subject of the casualty verb it
    hangs under ("X was killed in an encounter", "X died during a raid", "X suffered 15
    dead in a clash"). A verb that also attacks ("killed") counts only in the passive."""
    if noun.dep_ != "pobj" or noun.head.lower_ not in _EVENT_PREPS:
        return []
    v = noun.head.head
    if not v.tag_.startswith("VB") or v.lower_ not in _cue_set("frame_casualty_verbs"):
        return []
    return _subject_refs(v, sent, passive_only=stem(v.text) in _triggers()[0])


def _with_partners(noun, sent: SentenceInfo) -> list:
    """"a clash with Y", "an exchange of fire with Y": the other side of a fight."""
    out = []
    heads = [noun] + [g for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"
                      for g in c.children if g.dep_ == "pobj"]
    for h in heads:
        for c in h.children:
            if c.dep_ == "prep" and c.lower_ == "with":
                for g in c.children:
                    if g.dep_ == "pobj":
                        out += _refs_of(g, sent)
    return out


def _refs_of(tok, sent: SentenceInfo) -> list:
    """Actors for a role filled by ``tok``: its own mention, a compound/possessive on it
    ("Malian soldiers", "the group's fighters"), or its conjuncts. A singular person
    noun ("the leader of X, Y", "X's emir, Y") gives the person named beside it as well
    as the group; "in support of X" gives nobody."""
    out = []
    heads = [tok] + [c for c in tok.children if c.dep_ == "conj"]
    for h in heads:
        r = _ref_at(h, sent)
        if r is None and h.lower_ in _person_role_nouns() and h.tag_ in ("NN", "NNP"):
            # the parser often hangs "Y" of "the leader of X, Y" on X
            beside = [ch for ch in h.children if ch.dep_ in ("appos", "compound")] + [
                a for pr in h.children if pr.dep_ == "prep" and pr.lower_ == "of"
                for g in pr.children if g.dep_ == "pobj" for a in g.children if a.dep_ == "appos"]
            for ch in beside:
                p = _ref_at(ch, sent)
                if p is not None and p.type == "PERSON" and p not in out:
                    out.append(p)
        if r is None and h.lower_ in _person_role_nouns() and h.dep_ == "appos":
            # "X, the group's commander who ...": the person the role noun stands beside
            p = _ref_at(h.head, sent)
            if p is not None and p.type == "PERSON" and p not in out:
                out.append(p)
        if r is None and h.lower_ in _purpose_nouns():
            continue
        if r is None:
            # "another militant group, X, claimed": the apposition names the role's actor;
            # of "the Somali group X", the group, not where it is
            mods = [x for x in (_ref_at(ch, sent) for ch in h.children
                                if ch.dep_ in ("compound", "poss", "amod", "nmod", "appos")) if x is not None]
            r = next((x for x in mods if x.type != "PLACE"), mods[0] if mods else None)
        if r is None:
            # "fighters of X", "members of X"
            for ch in h.children:
                if ch.dep_ == "prep" and ch.lower_ == "of":
                    for g in ch.children:
                        if g.dep_ == "pobj":
                            # "operatives of the Nigeria Police Force", "a convoy of CRPF
                            # buses": the name may cover only the noun's modifiers
                            r = _ref_at(g, sent) or next(
                                (x for x in (_ref_at(k, sent) for k in g.children if k.dep_ == "compound")
                                 if x is not None), None)
        if r is not None and r not in out:
            out.append(r)
    return out


_CLAUSE_DEPS = frozenset(["ROOT", "ccomp", "advcl", "relcl", "acl", "conj", "parataxis", "csubj"])
@lru_cache(maxsize=1)
def _negators() -> frozenset:
    return frozenset(cues()["clause_negators"])


def clause_negated(tok) -> bool:
    """Is the act at ``tok`` negated in its own clause? "X did not attack Y", "X never
    claimed the attack", "without attacking": a negator on the trigger or on the words it
    hangs from up to the head of its clause (a noun's verb: "did not carry out an
    attack"). A "not" in another clause ("While X carried out attacks in A, it was not
    known in B") leaves the act stated. Denials ("X denied that it attacked Y") are read
    for the whole sentence elsewhere (``facts.sent_denied``)."""
    t = tok
    for _ in range(8):
        if any(c.dep_ == "neg" or (c.lower_ in _negators() and c.dep_ in ("advmod", "det", "prep", "cc"))
               for c in t.children):
            return True
        if t.dep_ in _CLAUSE_DEPS and t.tag_.startswith("VB") or t.head.i == t.i:
            # "tried not to attack", "failed to attack": the clause above an xcomp still
            # governs it, so only a finite clause head stops the walk
            return False
        t = t.head
    return False


def frames_in(sent: SentenceInfo, index: int) -> list[Frame]:
    verbs, nouns, carry = _triggers()
    out = []
    for tok in sent.span:
        st = stem(tok.text)
        is_verb = tok.tag_.startswith("VB")
        if not is_verb and tok.lower_ in _cue_set("frame_clash_nouns"):
            # "X was killed in an encounter with Y", "X suffered 15 dead in a clash with Y"
            pats = _patients(tok, sent)
            partners = [r for r in _with_partners(tok, sent) if _is_actor(r, sent)] if pats else []
            if partners:
                f = Frame(index, tok.lower_, attacker=partners,
                          target=[r for r in pats if r not in partners], negated=clause_negated(tok))
                f.place = _place_in(tok, sent)
                f.killed = context.killed(sent.span.text)
                out.append(f)
            continue
        if not ((is_verb and (st in verbs or st in carry)) or (not is_verb and st in nouns)):
            continue
        if is_verb and any(c.dep_ == "prt" and f"{tok.lower_} {c.lower_}" in _verbal_phrasals()
                           or c.dep_ == "prt" and f"{st} {c.lower_}" in _verbal_phrasals() for c in tok.children):
            continue   # "hit out at": words, not blows
        f = Frame(index, tok.lower_, negated=clause_negated(tok))
        if is_verb:
            passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in tok.children)
            for c in tok.children:
                if c.dep_ in _SUBJ and not passive:
                    f.attacker += _refs_of(c, sent)
                elif c.dep_ in _PASS_SUBJ:
                    (f.attacker if st in carry else f.target).extend(_refs_of(c, sent))
                elif c.dep_ == "agent":
                    for g in c.children:
                        if g.dep_ == "pobj":
                            f.attacker += _refs_of(g, sent)
                elif c.dep_ in _OBJ:
                    if st in carry:
                        # "carried out an attack on X", "claimed the attack on X"
                        if stem(c.text) in nouns or st.startswith("claim"):
                            f.claimed = st.startswith("claim")
                            f.target += _noun_targets(c, sent)
                    else:
                        f.target += _refs_of(c, sent)
                        f.facility = f.facility or c.lower_ in _facilities()
                elif c.dep_ == "prep":
                    _prep_role(c, f, sent)
            if st not in carry and f.attacker and (
                    tok.dep_ == "acl" and tok.tag_ == "VBN" and not any(c.dep_ in _PASS_SUBJ for c in tok.children)
                    or tok.dep_ == "relcl" and any(c.dep_ in _PASS_SUBJ and c.tag_ in _WH for c in tok.children)):
                # "the leaders slain by the army", "X, who was killed by Y": the noun the
                # participle or relative clause hangs on was hit; of a person described
                # as a group's commander, the person ("X, the group's commander who ...")
                hit = _refs_of(tok.head, sent)
                f.target += [r for r in hit if r.type == "PERSON"] or hit
            # "... said it attacked", "claimed to kill": the subject of the report verb is the
            # attacker's voice
            if not f.attacker and tok.dep_ in ("ccomp", "xcomp") and tok.head.tag_.startswith("VB"):
                for c in tok.head.children:
                    if c.dep_ in _SUBJ:
                        # of a passive ("X was killed"), only an organisation speaks for the
                        # act: a person saying so is a witness or an official
                        f.attacker += [r for r in _refs_of(c, sent) if not passive or r.type == "ORG"]
            if st in carry and not f.target and not f.claimed:
                continue
        else:
            f.target += _noun_targets(tok, sent)
            # "X was killed in a US drone strike", "X died during a raid"
            f.target += _patients(tok, sent)
            for c in tok.children:
                if c.dep_ in ("compound", "poss", "amod"):
                    r = _ref_at(c, sent)
                    if r is not None and _is_actor(r, sent):
                        f.attacker.append(r)
                elif c.dep_ == "acl" and stem(c.text) in carry:
                    # "an attack claimed by X", "a raid carried out by X"
                    for a in c.children:
                        if a.dep_ == "agent":
                            f.attacker += [r for g in a.children if g.dep_ == "pobj" for r in _refs_of(g, sent)]
            # "the attack was claimed by X" / "X claimed the attack"
            h = tok.head
            if h.tag_.startswith("VB") and stem(h.text) in carry:
                for c in h.children:
                    if c.dep_ in _SUBJ and tok.dep_ in _OBJ:
                        f.attacker += _refs_of(c, sent)
                    elif c.dep_ == "agent":
                        for g in c.children:
                            if g.dep_ == "pobj":
                                f.attacker += _refs_of(g, sent)
                f.claimed = stem(h.text).startswith("claim")
        # the force the dead belong to: "killing 12 soldiers of X" is covered by _refs_of
        f.attacker = [r for r in f.attacker if _is_actor(r, sent)]
        f.target = [r for r in f.target if r not in f.attacker]
        if f.place is None:
            f.place = next((r for r in f.target if r.type == "PLACE"), None) or _place_in(tok, sent)
        f.killed = context.killed(sent.span.text)
        if f.attacker or f.target:
            out.append(f)
    return out


def _noun_targets(noun, sent: SentenceInfo, depth: int = 0) -> list:
    out = []
    nouns = _triggers()[1]
    for c in noun.children:
        if c.dep_ != "prep":
            continue
        for g in c.children:
            if g.dep_ != "pobj":
                continue
            if c.lower_ in _TARGET_PREPS + _PLACE_PREPS:
                out += _refs_of(g, sent)
            elif c.lower_ in ("for", "of") and stem(g.text) in nouns and depth < 2:
                # "responsibility for the attack on X", "the perpetrators of the bombing of X"
                out += _noun_targets(g, sent, depth + 1)
    return out


def _place_in(tok, sent: SentenceInfo):
    """A place the attack is told at: "in/near X" anywhere under the trigger ("a raid on
    a base of Y in Z" attaches "in Z" to the base)."""
    for t in tok.subtree:
        if t.dep_ == "pobj" and t.head.lower_ in _PLACE_PREPS:
            r = _ref_at(t, sent)
            if r is not None and r.type == "PLACE":
                return r
    return None


def _prep_role(prep, f: Frame, sent: SentenceInfo) -> None:
    for g in prep.children:
        if g.dep_ != "pobj":
            continue
        refs = _refs_of(g, sent)
        if prep.lower_ in _TARGET_PREPS and g.lower_ in _facilities():
            f.facility = True
        if prep.lower_ in _TARGET_PREPS:
            f.target += [r for r in refs if r.type != "PLACE" or prep.lower_ != "at"]
        if prep.lower_ in _PLACE_PREPS:
            for r in refs:
                if r.type == "PLACE" and f.place is None:
                    f.place = r


def frame_features(frames: list[Frame]) -> dict[tuple[int, int, int], list[str]]:
    """(sentence, subject root, object root) -> frame features for that candidate."""
    out: dict[tuple[int, int, int], list[str]] = {}
    for f in frames:
        for a in f.attacker:
            for t in f.target:
                if a.entity != t.entity:
                    out.setdefault((f.sentence, a.entity, t.entity), []).append(
                        "frame:claimed" if f.claimed else "frame:attack")
                    out.setdefault((f.sentence, t.entity, a.entity), []).append("frame:reverse")
            if f.place is not None and f.place.entity != a.entity:
                out.setdefault((f.sentence, a.entity, f.place.entity), []).append("frame:place")
    return out


CLAIM_REACH = 5   # sentences back that "the attack" of a claim may point to


def pending_claims(frames: list[Frame], sentences: list[SentenceInfo]) -> list[tuple[object, object, int]]:
    """(attacker ref, target ref, sentence of the claim) for a claim that names no target
    ("X claimed responsibility", "X said it carried out the attack") of an attack told in
    an earlier sentence (at most ``CLAIM_REACH`` back): its targets, or its place when it
    hit no actor. The earlier telling may name an attacker of its own: competing claims
    each get their fact, and the incidents component shows them side by side."""
    out = []
    told: list[Frame] = []
    for f in sorted(frames, key=lambda f: f.sentence):
        if f.attacker and not f.negated and (f.claimed or stem(f.trigger) in _triggers()[2]) and not f.target:
            # the nearest earlier telling; further back than CLAIM_REACH, the article's
            # first telling (its lead attack: "the attack" of a report is the one it is about)
            near = [g for g in told if g.sentence != f.sentence and f.sentence - g.sentence <= CLAIM_REACH]
            for g in list(reversed(near)) + told[:1]:
                if g.sentence == f.sentence:
                    continue
                targets = [t for t in g.target if t.type != "PLACE"] or [t for t in g.target if t.type == "PLACE"] \
                    or ([g.place] if g.place is not None else [])
                if not targets:
                    continue
                for a in f.attacker:
                    for t in targets:
                        if a.entity != t.entity:
                            out.append((a, t, f.sentence))
                break
        if f.target or f.place is not None:
            told.append(f)
    return out


def place_attacks(frames: list[Frame], sentences: list[SentenceInfo] | None = None,
                  dateline_place=None) -> list[tuple[object, object, int]]:
    """(attacker ref, place ref, sentence) for an attack on something that is not an actor
    ("attacked an electric substation in X", "stormed a hotel in X", "attacked a police post
    in X"): the place was attacked.
    Where the frame reads no place under its trigger ("fighting raged in X when militants
    attacked a substation"), the sentence's one place, else the dateline's ("LIMA, 20 AUG
    88 --"), is where it happened."""
    out = []
    for f in frames:
        # an actor's building ("a police post", "an army base") is still a place's
        if not f.attacker or f.negated or ([t for t in f.target if t.type != "PLACE"] and not f.facility):
            continue
        place = f.place
        if place is None and sentences is not None:
            own = {r.entity for r in f.attacker}
            places = {r.entity: r for r in sentences[f.sentence].refs if r.type == "PLACE" and r.entity not in own}
            if len(places) == 1:
                place = next(iter(places.values()))
            elif not places and dateline_place is not None:
                place = dateline_place
        if place is None:
            continue
        for a in f.attacker:
            if a.entity != place.entity:
                out.append((a, place, f.sentence))
    return out


def carried_attacks(frames: list[Frame], every_frame: bool = False) -> list[tuple[object, object, int]]:
    """(attacker ref, target ref, sentence) for "X carried out / staged / launched an attack
    on Y" and "X claimed the attack on Y": the attack noun names the act, the carry or claim
    verb its author, so the frame states the fact itself. With ``every_frame``, every frame
    whose roles name both an attacker and a target that is not a place ("X ambushed Y",
    "Y was killed by X") states it too; the model reads the other pairs."""
    carry = _triggers()[2]
    out = []
    for f in frames:
        if (stem(f.trigger) not in carry and not every_frame) or not f.attacker or f.negated:
            continue
        for a in f.attacker:
            for t in f.target:
                if t.type != "PLACE" and a.entity != t.entity:
                    out.append((a, t, f.sentence))
    return out
