"""Extraction: a pure function of a cleaned Document -> Extraction.

It never touches the store, so the same code runs in a CLI, a web request or a
Spark executor."""
from __future__ import annotations

import bisect
import re
from collections import defaultdict
from functools import lru_cache

from allegiance.extract import context, windows
from allegiance.extract.attacks import attack_mentions
from allegiance.extract.candidates import build_candidates
from allegiance.extract.cues import cues
from allegiance.extract.events import carried_attacks, frame_features, frames_in, pending_claims, place_attacks
from allegiance.extract.facts import combine_policy
from allegiance.extract.mentions import (
    Cand,
    acronym_cue_mentions,
    acronym_mentions,
    branch_of_mentions,
    coordinated_mentions,
    descriptor_mentions,
    demonym_place_mentions,
    extend_names,
    place_base,
    direction_place_mentions,
    gaz_index,
    gazetteer_mentions,
    ner_mentions,
    pattern_mentions,
    resolve_overlaps,
    society_mentions,
    state_force_mentions,
    yield_to_person_names,
)
from allegiance.extract.nlp import load_nlp, parse, recognise_entities_batch
from allegiance.extract.relations import NON_ACTOR_KINDS, build_skeleton, match_sentence
from allegiance.extract.select import select_blocks
from allegiance.extract.signatures import HEDGED_FACTOR, fits
from allegiance.extract.windows import WINDOW_CHARS
from allegiance.extract.work import DocState, SentenceInfo
from allegiance.records import SYMMETRIC_RELATIONS, Document, Entity, Extraction, Fact, Mention
from allegiance.resolve.cluster import cluster
from allegiance.resolve.gazetteer import load_gazetteer
from allegiance.resolve.names import match_key

EXTRACTOR_VERSION = "2026.12.11"  # a group named after another and a place or province is its branch
BLOCK_CHARS = 50_000
# Documents parsed in one spaCy batch, in characters: enough for the batching gain on
# articles, small enough that a batch of long ones stays a few hundred MB.
BATCH_CHARS = 2 * WINDOW_CHARS
# Longer "sentences" are tables, lists or run-on boilerplate; the relation patterns
# would cost quadratic time on them and find nothing a reader would call a statement.
MAX_SENTENCE_TOKENS = 150

_LINE = re.compile(r"[^\n]*\S[^\n]*")


def _split_dateline(text: str, lines: list[tuple[int, str]], span) -> list[tuple[int, str]]:
    """"LIMA, 20 Aug 88 (EFE) -- Guerrillas attacked ...": the dateline (``span``: its start,
    its end and the start of the body, from the cleaner) is read on its own, so that its
    place is a mention of a place and never the subject of the first sentence."""
    if not span:
        return lines
    start, end, body = span
    out = []
    for a, t in lines:
        if a <= start < end < a + len(t):
            out.append((start, text[start:end]))
            if body < a + len(t):
                out.append((body, text[body:a + len(t)]))
        else:
            out.append((a, t))
    return out


def _blocks(text: str) -> list[tuple[int, str]]:
    """Split long texts at paragraph breaks so spaCy never sees a giant string."""
    if len(text) <= BLOCK_CHARS:
        return [(0, text)]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + BLOCK_CHARS)
        if end < len(text):
            cut = text.rfind("\n\n", start, end)
            if cut <= start:
                cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(". ", start, end)
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out


def _sentences(doc):
    """spaCy sentences, further split at line breaks (titles, captions, bullets)."""
    for sent in doc.sents:
        s = sent.start_char
        text = sent.text
        if "\n" not in text:
            # the usual case (a parsed block is one line): the span of the whole text is
            # the sentence itself, its first token to its last
            if text.strip():
                yield sent
            continue
        for m in re.finditer(r"[^\n]+", text):
            if m.group(0).strip():
                span = doc.char_span(s + m.start(), s + m.end(), alignment_mode="expand")
                if span is not None and len(span):
                    yield span


def extract_document(document: Document, nlp=None) -> Extraction:
    return extract_documents([document], nlp)[0]


def extract_documents(documents: list[Document], nlp=None, model=None) -> list[Extraction]:
    """Extraction of each document, in order. One call reads many documents' candidate
    text through spaCy in shared batches, which costs about a third less than one
    document at a time; every result is the same as ``extract_document`` gives.
    ``model``: a ``RelationModel`` (default: the shipped one).

    Memory is bounded whatever the input: documents are parsed together only up to
    ``BATCH_CHARS`` characters, and a document longer than ``WINDOW_CHARS`` is read
    window by window (``windows.py``)."""
    from allegiance.extract.facts import finish
    from allegiance.extract.model import default_model

    model = model if model is not None else default_model()
    nlp = nlp or load_nlp()
    out: list[Extraction] = []
    for group in _groups(documents):
        if len(group) == 1 and len(group[0].text or "") > WINDOW_CHARS:
            out.append(_extract_windows(group[0], nlp, model))
            continue
        out += [finish(state, model) if isinstance(state, DocState) else state
                for state in prepare_documents(group, nlp)]
    return out


def _groups(documents: list[Document]):
    """Consecutive documents up to ``BATCH_CHARS`` of text; a long one alone."""
    group: list[Document] = []
    n = 0
    for d in documents:
        size = len(d.text or "")
        if group and (n + size > BATCH_CHARS or size > WINDOW_CHARS):
            yield group
            group, n = [], 0
        group.append(d)
        n += size
        if size > WINDOW_CHARS:
            yield group
            group, n = [], 0
    if group:
        yield group


def _extract_windows(document: Document, nlp, model) -> Extraction:
    from allegiance.extract.facts import finish

    lines = _document_lines(document, gaz_index(load_gazetteer()))
    parts = []
    for win in windows.windows(lines):
        state = prepare_documents([document], nlp, lines={0: win})[0]
        parts.append(finish(state, model) if isinstance(state, DocState) else state)
    return windows.merge(document, parts, EXTRACTOR_VERSION)


def _document_lines(document: Document, idx) -> list[tuple[int, str]]:
    """(offset, text) of every line worth parsing: one spaCy doc per line, since a line
    break ends a sentence (titles, captions, list items, paragraphs; hard-wrapped lines
    were joined by the cleaner), and a parse across it would make a title the subject of
    the first sentence."""
    text = document.text or ""
    lines = [(off + o + m.start(), m.group(0)) for off, block in select_blocks(text, idx)
             for o, t in _blocks(block) for m in _LINE.finditer(t)]
    return _split_dateline(text, lines, document.dateline_span)


def prepare_documents(documents: list[Document], nlp=None, *, lines: dict | None = None) -> list:
    """Every component up to the candidates: a ``DocState`` per document that has
    text to read, else its (empty) ``Extraction``. Training and cross-validation label
    these candidates from gold; extraction scores them with the model. ``lines``:
    document index -> the (offset, line) list to read instead of the whole text (a
    window of a long document)."""
    nlp = nlp or load_nlp()
    gaz = load_gazetteer()
    idx = gaz_index(gaz)
    out = [Extraction(document=d, extractor_version=EXTRACTOR_VERSION) for d in documents]
    blocks: list[tuple[int, int, str]] = []   # (document index, offset, text)
    datelines: dict = {}
    for k, document in enumerate(documents):
        text = document.text or ""
        if not text.strip() or (document.language not in (None, "en")):
            continue
        doc_lines = lines[k] if lines is not None and k in lines else _document_lines(document, idx)
        if document.dateline_span:
            datelines[k] = document
        blocks += [(k, a, t) for a, t in doc_lines]
    if not blocks:
        return out
    sdocs = parse(nlp, [t for _, _, t in blocks])

    # ---- mentions: names the gazetteer and the patterns know, then the NER for the rest
    known: list[list[Cand]] = []
    for (_, _, btext), sdoc in zip(blocks, sdocs):
        local = branch_of_mentions(btext, gazetteer_mentions(sdoc, idx, btext), idx)
        taken = [(c.start, c.end) for c in local]
        local += state_force_mentions(btext, idx, taken)
        local += demonym_place_mentions(btext, idx, [(c.start, c.end) for c in local])
        taken = [(c.start, c.end) for c in local]
        local += pattern_mentions(btext, taken, idx, [(c.start, c.end) for c in local if c.type == "PLACE"])
        local += acronym_mentions(btext, [(c.start, c.end) for c in local])
        local += acronym_cue_mentions(btext, [(c.start, c.end) for c in local], idx)
        known.append(local)
    recognise_entities_batch(nlp, [(sdoc, [(c.start, c.end) for c in local], btext)
                                   for (_, _, btext), sdoc, local in zip(blocks, sdocs, known)])
    per_doc: dict[int, list] = defaultdict(list)
    for (k, off, btext), sdoc, local in zip(blocks, sdocs, known):
        local = yield_to_person_names(sdoc, local, btext)
        local = local + ner_mentions(sdoc, [(c.start, c.end) for c in local], idx, btext)
        dl = datelines.get(k)
        if dl is not None and off == dl.dateline_span[0]:
            # the dateline names a place ("LIMA", "GUATEMALA CITY"), whatever the NER says
            for c in local:
                if any(a <= off + c.start < b for a, b in dl.dateline_place_spans) and c.entry is None:
                    c.type, c.kind = "PLACE", "city"
        local += direction_place_mentions(btext, [c for c in local if c.type == "PLACE"], idx)
        local = resolve_overlaps(local)
        extend_names(btext, local)
        local = society_mentions(btext, local, idx)
        local = coordinated_mentions(btext, local, idx)
        local = descriptor_mentions(btext, local)
        for c in local:
            c.start += off
            c.end += off
            if c.parent is not None:
                c.parent.start += off
                c.parent.end += off
        per_doc[k].append((off, sdoc, local))
    for k, parsed in per_doc.items():
        state = _relations(out[k], documents[k], parsed, gaz, windowed=lines is not None and k in lines)
        dl = datelines.get(k)
        dateline_ref = None
        if dl is not None:
            dateline_ref = next((r for sent in state.sentences if sent.start == dl.dateline_span[0]
                                 for r in sent.refs if r.type == "PLACE"), None)
            state.dateline_place = dateline_ref.entity if dateline_ref is not None else None
        frames = [f for i, sent in enumerate(state.sentences) for f in frames_in(sent, i)]
        state.candidates = build_candidates(state.sentences, frame_features(frames))
        state.events = pending_claims(frames, state.sentences)
        state.place_attacks = place_attacks(frames, state.sentences, dateline_ref)
        state.carried_attacks = carried_attacks(frames, combine_policy().get("frame_every_attack", False))
        # attack mentions read the same frames; they change no fact (issue 13)
        state.extraction.attacks = attack_mentions(state, frames, documents[k], gaz)
        out[k] = state
    return out


def _relations(ex: Extraction, document: Document, parsed: list, gaz, windowed: bool = False) -> DocState:
    """Entities and facts of one document from its parsed blocks and their mentions.
    ``windowed``: the blocks are one window of a long document; clustering then looks
    for further uses of a name (acronyms, surnames) within the window only, which keeps
    each window's cost that of its own length."""
    text = document.text
    cands: list[Cand] = [c for _, _, local in parsed for c in local]
    scope = text
    if windowed and parsed:
        lo = parsed[0][0]
        hi = max(off + len(sdoc.text) for off, sdoc, _ in parsed)
        scope = " " * lo + text[lo:hi]
    cands, roots = cluster(scope, cands, gaz)

    # ---- entities ------------------------------------------------------------
    by_root: dict[int, list[Cand]] = defaultdict(list)
    for c, r in zip(cands, roots):
        by_root[r].append(c)
    root_to_eid: dict[int, str] = {}
    root_type: dict[int, str] = {}
    root_kind: dict[int, str | None] = {}
    entities: list[Entity] = []
    for r in sorted(by_root, key=lambda r: min(c.start for c in by_root[r])):
        group = by_root[r]
        entry = next((c.entry for c in group if c.entry is not None), None)
        typ = entry.type if entry else _vote_type(group)
        kind = entry.kind if entry else next((c.kind for c in group if c.kind), None)
        if kind is None and typ == "ORG" and _political(group):
            kind = "political"
        aliases: list[str] = []
        for c in sorted(group, key=lambda c: c.start):
            if c.text not in aliases:
                aliases.append(c.text)
        if typ == "PLACE":
            # "Mansi Township", "the Juba region": the place is also named without its head
            for a in list(aliases):
                base = place_base(a)
                if base and base not in aliases:
                    aliases.append(base)
        if entry:
            name = entry.name
        else:
            pool = [a for a in aliases if not (a.isupper() and len(a) <= 6)] or aliases
            name = max(pool, key=lambda a: (len(a.split()), len(a)))
        eid = f"e{len(entities) + 1}"
        root_to_eid[r], root_type[r], root_kind[r] = eid, typ, kind
        entities.append(Entity(eid, typ, name, aliases, kind, entry.id if entry else None, len(group)))
    ex.entities = entities
    ex.mentions = [
        Mention(c.text, document.to_raw(c.start), document.to_raw(c.start) + (c.end - c.start), root_type[r],
                root_to_eid[r], c.source)
        for c, r in zip(cands, roots)
    ]

    # ---- relations -------------------------------------------------------------
    mention_tuples = sorted(
        (c.start, c.end, r, root_type[r], root_kind[r]) for c, r in zip(cands, roots)
    )
    facts: dict[tuple, Fact] = {}
    state: dict = {}
    gz_ids = {r: next((c.entry.id for c in by_root[r] if c.entry is not None), None) for r in by_root}
    parents = {r: next((c.entry.parent for c in by_root[r] if c.entry is not None), None) for r in by_root}
    carried_attr = None
    pending_merge: list | None = None
    sentences: list[SentenceInfo] = []
    # sentence-by-sentence lookups by position: a linear scan per sentence is quadratic
    # in a long article
    mention_starts = [m[0] for m in mention_tuples]
    possessed = sorted(((c.start, i, c, r) for i, (c, r) in enumerate(zip(cands, roots)) if c.parent is not None),
                       key=lambda x: (x[0], x[1]))
    possessed_starts = [x[0] for x in possessed]
    for off, sdoc, _ in parsed:
        for sent in _sentences(sdoc):
            s0, s1 = sent.start_char + off, sent.end_char + off
            sm = []
            for j in range(bisect.bisect_left(mention_starts, s0), bisect.bisect_right(mention_starts, s1)):
                a, b, r, t, k = mention_tuples[j]
                if b <= s1:
                    sm.append((a - off, b - off, r, t, k))
            if len(sent) > MAX_SENTENCE_TOKENS:
                continue
            skel, items, refs = build_skeleton(sent, sm, state)
            attr, carried_attr = context.attribution(sent, carried_attr)
            date = context.sentence_date(sent.text, document.published)
            evidence = text[s0:s1]
            raw_start = document.to_raw(s0)
            raw_end = raw_start + (s1 - s0)
            matches = match_sentence(skel, refs)
            sentences.append(SentenceInfo(sent, off, s0, s1, refs, skel, attr, date, evidence, raw_start, raw_end,
                                          {(s.entity, o.entity, m.relation) for m in matches
                                           for s in m.subjects for o in m.objects}))
            # cross-sentence mergers: "The groups that merged are A, B and C." + "... merged to form D"
            pending_merge = _merge_across(skel, refs, matches, pending_merge)
            denied = context.denied_span(skel)
            for m in matches:
                if denied and denied[0] <= m.span[0] < denied[1]:
                    continue
                if context.find_negation(skel[max(0, m.span[0] - 40): m.span[1]]):
                    continue
                hedge = context.find_hedge(skel[max(0, m.span[0] - 12): m.span[1]])
                for s in m.subjects:
                    for o in m.objects:
                        _add_fact(facts, m.relation, s, o, m.conf, hedge, attr, date, evidence, raw_start, raw_end,
                                  m.source, sent, refs, off, document, m.requires_parent, parents, gz_ids,
                                  m.any_subject_kind)
            # descriptive references carry their possessor: "al-Qaeda's North African branch"
            for _, _, c, r in possessed[bisect.bisect_left(possessed_starts, s0):
                                        bisect.bisect_left(possessed_starts, s1)]:
                pr = _root_of(c.parent, cands, roots)
                if pr is not None and pr != r:
                    key = (root_to_eid[r], "affiliate_of", root_to_eid[pr])
                    if key not in facts:
                        facts[key] = Fact(key[0], "affiliate_of", key[2], evidence, raw_start, raw_end, date,
                                          0.85, False, attr, {}, "description")
            _update_salience(state, refs)

    _named_branches(facts, by_root, root_type, root_kind, root_to_eid, sentences)

    # ---- tidy ------------------------------------------------------------------
    out = []
    for (s, rel, o), f in facts.items():
        if s == o:
            continue
        out.append(f)
    leaders = {(f.subject, f.object) for f in out if f.relation == "leader_of"}
    out = [f for f in out if not (f.relation == "member_of" and (f.subject, f.object) in leaders)]
    ex.facts = [
        Fact(root_to_eid[f.subject] if isinstance(f.subject, int) else f.subject, f.relation,
             root_to_eid[f.object] if isinstance(f.object, int) else f.object, f.evidence, f.start, f.end, f.date,
             f.confidence, f.hedged, f.attributed_to,
             {k: (root_to_eid[v] if k == "place" and isinstance(v, int) else v) for k, v in f.attributes.items()},
             f.rule)
        for f in out
    ]
    ex.facts.sort(key=lambda f: (f.start, f.relation))
    return DocState(ex, sentences, root_to_eid, root_type, root_kind, list(ex.facts))


def _named_branches(facts, by_root, root_type, root_kind, root_to_eid, sentences) -> None:
    """A group named after another group and a place or a branch word is its branch:
    "al-Qaeda in the Arabian Peninsula", "Islamic State Sahel Province". Stated from the
    first sentence that names the branch (rule ``name``). Not "X of Y": "the Islamic State
    of Iraq" was the Islamic State's earlier name, not its branch."""
    heads = frozenset(cues()["name_branch_words"])
    orgs = [r for r in by_root if root_type[r] == "ORG" and root_kind.get(r) not in (*NON_ACTOR_KINDS, "political")]
    keys = {r: {tuple(k.split()) for k in (match_key(c.text) for c in by_root[r]) if k} for r in orgs}
    for child in orgs:
        for parent in orgs:
            if child == parent or (root_to_eid[child], "affiliate_of", root_to_eid[parent]) in facts:
                continue
            if not any(len(c) > len(p) and c[:len(p)] == p and (c[len(p)] == "in" or heads & set(c[len(p):]))
                       for c in keys[child] for p in keys[parent]):
                continue
            sent = next((s for s in sentences if any(r.entity == child and not r.pronoun for r in s.refs)), None)
            if sent is None:
                continue
            key = (root_to_eid[child], "affiliate_of", root_to_eid[parent])
            facts[key] = Fact(key[0], "affiliate_of", key[2], sent.evidence, sent.raw_start, sent.raw_end, sent.date,
                              0.8, False, sent.attributed_to, {}, "name")


def _vote_type(group: list[Cand]) -> str:
    votes: dict[str, int] = defaultdict(int)
    for c in group:
        votes[c.type] += 2 if c.source != "ner" else 1
    # a name that an organisation pattern or an acronym definition read ("X Liberation
    # Front (XLF)") is an organisation, whatever the NER made of its parts
    if any(c.type == "ORG" and c.source in ("pattern", "acronym") for c in group):
        return "ORG"
    return max(votes, key=lambda t: (votes[t], t == "PERSON"))


def _root_of(c: Cand, cands, roots):
    for x, r in zip(cands, roots):
        if x.start == c.start and x.end == c.end:
            return r
        if x.entry is not None and c.entry is not None and x.entry.id == c.entry.id:
            return r
    return None


@lru_cache(maxsize=1)
def _political_heads() -> frozenset:
    return frozenset(cues()["political_heads"])


def _political(group) -> bool:
    """An organisation no list knows whose name ends in a party's head word ("the
    Communist Party of X", cues.json political_heads)."""
    heads = _political_heads()
    for c in group:
        # the head is the last word before an "of"/"for" tail: "Communist Party of India"
        words = re.split(r"\s+(?:of|for)\s+", c.text, maxsplit=1)[0].split()
        if words and words[-1].lower() in heads:
            return True
    return False


def _update_salience(state: dict, refs) -> None:
    orgs = [r for r in refs if not r.pronoun and r.type == "ORG"
            and r.kind not in NON_ACTOR_KINDS]
    if orgs:
        # "the group" in the next sentence means this sentence's subject, if it had one
        subjects = [r for r in orgs if r.subject]
        state["org"] = (subjects[0].entity, subjects[0].kind) if subjects else None
        state["org_last"] = (orgs[-1].entity, orgs[-1].kind)
        # "the rebels", "fighters": an armed group, not a party ("the Communist Party of X
        # and its armed wing, the Y Army": the rebels are Y's)
        armed = [r for r in orgs if r.kind != "political"]
        if armed:
            pick = next((r for r in armed if r.subject), None)
            if pick is None and subjects:
                pick = armed[-1]   # the sentence's subject is a party: its armed group named there
            state["fighters"] = (pick.entity, pick.kind) if pick else None
    for r in refs:
        if not r.pronoun and r.type == "PERSON":
            state["person"] = (r.entity, r.kind)
            break


def _add_fact(facts, relation, s, o, conf, hedge, attr, date, evidence, raw_start, raw_end, rule, sent, refs, off,
              document, requires_parent=False, parents=None, gz_ids=None, any_kind=False):
    if s.entity == o.entity or not fits(relation, s.type, s.kind, o.type, o.kind, any_kind):
        return
    if requires_parent and parents.get(s.entity) != gz_ids.get(o.entity):
        return
    if relation in SYMMETRIC_RELATIONS and (o.entity, relation, s.entity) in facts:
        s, o = o, s
    key = (s.entity, relation, o.entity)
    confidence = conf * (HEDGED_FACTOR if hedge else 1.0)
    attributes: dict = {}
    if relation == "attacked":
        k = context.killed(sent.text)
        if k is not None:
            attributes["killed"] = k
        place = o.entity if o.type == "PLACE" else next((r.entity for r in refs if r.type == "PLACE"), None)
        if place is not None:
            attributes["place"] = place
        if date:
            attributes["date"] = date
    new = Fact(s.entity, relation, o.entity, evidence, raw_start, raw_end, date, round(confidence, 3),
               bool(hedge), attr, attributes, rule)
    old = facts.get(key)
    if old is None or (old.hedged and not new.hedged) or (old.hedged == new.hedged and new.confidence > old.confidence):
        facts[key] = new


def _merge_across(skel, refs, matches, pending):
    """A list of merging groups in one sentence, the new group in the next."""
    from allegiance.extract.relations import Match, _refs_in

    if any(m.relation == "merged_into" for m in matches):
        return None
    m = re.search(r"(?:organi[sz]ations|groups|factions|movements|brigades) (?:that|which) (?:have |had )?"
                  r"(?:merged|united|joined|unified) (?:are|were|include|included) :? (.*)", skel)
    if m:
        srcs = _refs_in(m.group(1), {"O"}, refs, True)
        return srcs or None
    if pending:
        m2 = re.search(r"(?:merged|merge|united|unite|unified) (?:[^\s⟦⟧]+ ){0,3}(?:to form|into|to create|forming) "
                       r"(?:[^\s⟦⟧]+ ){0,4}(⟦O\d+r?⟧)", skel)
        if m2:
            tgt = _refs_in(m2.group(1), {"O"}, refs, False)
            if tgt:
                matches.append(Match("merged_into", pending, tgt, 0.8, (m2.start(), m2.end()), "merge-across"))
                return None
    return None
