"""Candidates: (subject, object, sentence) pairs whose types fit some relation, with the
features a relation model reads off the parse.

An end is a named mention or a resolved reference ("the group", "it", "its fighters":
see ``relations.build_skeleton``), so a fact whose end is only referred to in its
sentence is still a candidate. The features are general: the dependency path between
the two heads, the words on it and between the ends, which cue classes of
``data/relations.json`` those words belong to, entity types and kinds, order, distance,
negation and hedging. Nothing here names a group or copies a sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from allegiance.extract import context
from allegiance.extract.cues import relation_spec
from allegiance.extract.work import Candidate, SentenceInfo

SUBJECT_TYPES = {"ORG", "PERSON"}
OBJECT_TYPES = {"ORG", "PERSON", "PLACE"}
MAX_PATH = 7            # longer dependency paths are "far": too sparse to learn from
MAX_BETWEEN = 12        # words between the ends read one by one
MAX_PAIR_TOKENS = 60    # ends further apart than this in one sentence are not a pair

_SUFFIXES = ("ing", "ed", "es", "s")
_WORD = re.compile(r"[a-z]")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A crude, deterministic stem: lowercase, a common inflection stripped. The parse
    is run without spaCy's lemmatizer (see ``nlp.load_nlp``), and the model only needs
    "attacked", "attacks" and "attacking" to share a feature."""
    w = word.lower().replace("’", "'")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    for suf in _SUFFIXES:
        if len(w) > len(suf) + 3 and w.endswith(suf) and not w.endswith("ss"):
            return w[: -len(suf)]
    return w


@lru_cache(maxsize=1)
def cue_classes() -> dict[str, frozenset]:
    """stem -> the cue classes of ``data/relations.json`` it belongs to. A phrase cue
    ("claimed responsibility for") gives its content words."""
    out: dict[str, set] = {}
    for name, words in relation_spec()["cues"].items():
        if name in ("AUX", "LEADER_ADJ", "MERGE_TO"):
            continue
        for phrase in words:
            for w in phrase.lower().split():
                if len(w) > 3 and w not in ("with", "from", "into", "itself", "away", "over"):
                    out.setdefault(stem(w), set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def _span(sent, ref):
    return sent.doc.char_span(ref.start, ref.end, alignment_mode="expand")


@dataclass
class Tokens:
    """A parsed block's tokens as plain lists: the path and window features read them
    thousands of times per article, and spaCy builds a Token object on every access."""

    head: list[int]
    dep: list[str]
    stem: list[str]
    word: list[bool]     # has a letter, or is "(" / ","
    space: list[bool]
    tag: list[str]       # fine-grained part of speech (the tagger's, e.g. "VBD", "NNP")


def tokens_of(doc) -> Tokens:
    head, dep, stems, word, space, tag = [], [], [], [], [], []
    for t in doc:
        tag.append(t.tag_)
        head.append(t.head.i)
        dep.append(t.dep_)
        stems.append(stem(t.text))
        word.append(bool(_WORD.search(t.lower_)) or t.text in "(,")
        space.append(t.is_space)
    return Tokens(head, dep, stems, word, space, tag)


def _ancestors(tk: Tokens, i: int) -> list[int]:
    out = [i]
    while tk.head[out[-1]] != out[-1] and len(out) < 40:
        out.append(tk.head[out[-1]])
    return out


def dependency_path(tk: Tokens, a: int, b: int) -> tuple[list[str], list[int], int | None]:
    """(edge labels, tokens strictly between on the path, lowest common ancestor)
    from token ``a`` up to their common ancestor and down to ``b``. ``conj`` edges are
    passed through: "X and Y attacked Z" gives Y the path of X."""
    up_a, up_b = _ancestors(tk, a), _ancestors(tk, b)
    pos_b = {t: k for k, t in enumerate(up_b)}
    lca_k = next((k for k, t in enumerate(up_a) if t in pos_b), None)
    if lca_k is None:
        return [], [], None
    lca = up_a[lca_k]
    left = up_a[:lca_k]
    right = up_b[:pos_b[lca]]
    labels = [f"{tk.dep[t]}^" for t in left if tk.dep[t] != "conj"]
    labels += [f"v{tk.dep[t]}" for t in reversed(right) if tk.dep[t] != "conj"]
    middle = left[1:] + ([lca] if lca not in (a, b) else []) + list(reversed(right[1:]))
    return labels, middle, lca


def sentence_cues(sent: SentenceInfo, tk: Tokens) -> list[str]:
    """The "cs:" feature names of a sentence (its cue classes, in token order): the same
    for every pair in it."""
    classes = cue_classes()
    return ["cs:" + c for i in range(sent.span.start, sent.span.end) for c in classes.get(tk.stem[i], ())]


def pair_features(sent: SentenceInfo, s_ref, o_ref, s_span, o_span, tk: Tokens | None = None,
                  cs: list[str] | None = None) -> dict[str, float]:
    """``cs``: ``sentence_cues(sent, tk)`` when the caller has it (built once per sentence)."""
    f: dict[str, float] = {}
    span = sent.span
    doc = span.doc
    tk = tk or tokens_of(doc)
    f[f"T={s_ref.type}>{o_ref.type}"] = 1.0
    f[f"K={s_ref.kind or '-'}>{o_ref.kind or '-'}"] = 1.0
    f[f"Ks={s_ref.kind or '-'}"] = 1.0
    f[f"Ko={o_ref.kind or '-'}"] = 1.0
    first, second = (s_span, o_span) if s_span.start <= o_span.start else (o_span, s_span)
    order = "so" if first is s_span else "os"
    f["ord=" + order] = 1.0
    between = [i for i in range(first.end, second.start) if not tk.space[i]]
    n = len(between)
    bucket = "0" if n == 0 else "1" if n == 1 else "2" if n == 2 else "3-4" if n <= 4 else "5-7" if n <= 7 else \
        "8-12" if n <= 12 else "far"
    f["dist=" + bucket] = 1.0
    f[f"ord_dist={order}{bucket}"] = 1.0
    classes = cue_classes()
    words = [tk.stem[i] for i in between if tk.word[i]]
    if n <= MAX_BETWEEN:
        for w in words:
            f["b:" + w] = 1.0
        for x, y in zip(words, words[1:]):
            f[f"bb:{x}_{y}"] = 1.0
        if not words:
            f["b:<none>"] = 1.0
    else:
        for w in words[:3]:
            f["bl:" + w] = 1.0
        for w in words[-3:]:
            f["br:" + w] = 1.0
    for w in words:
        for c in classes.get(w, ()):
            f["cb:" + c] = 1.0
            f[f"cb:{c}:{order}"] = 1.0
            f[f"Tcb:{s_ref.type}>{o_ref.type}:{c}"] = 1.0
    # cue words anywhere in the sentence: the statement's kind when the ends sit apart
    for name in (sentence_cues(sent, tk) if cs is None else cs):
        f[name] = 1.0
    # No features of the words either side of the pair: in cross-validation they only
    # added noise (eval --cv 5, 2026-12-02: F1 0.461 with them, 0.467 without).
    # the dependency path between the two heads
    sh, oh = s_span.root.i, o_span.root.i
    f["sd:" + tk.dep[sh]] = 1.0
    f["od:" + tk.dep[oh]] = 1.0
    if tk.dep[oh] == "pobj":
        prep = tk.head[oh]
        f["oprep:" + tk.stem[prep]] = 1.0
        f[f"oprep:{tk.stem[prep]}:{tk.dep[tk.head[prep]]}"] = 1.0
    if tk.dep[sh] == "pobj":
        f["sprep:" + tk.stem[tk.head[sh]]] = 1.0
    labels, middle, lca = dependency_path(tk, sh, oh)
    if lca is None:
        f["p:<none>"] = 1.0
    else:
        mid = [tk.stem[i] for i in middle]
        if len(labels) <= MAX_PATH:
            f["pd:" + " ".join(labels)] = 1.0
            # the path with its middle words' parts of speech: "p:" generalised to words the
            # training data never saw on that path
            f["pt:" + " ".join(labels) + "|" + " ".join(tk.tag[i] for i in middle)] = 1.0
            f["p:" + " ".join(labels) + "|" + " ".join(mid)] = 1.0
            # the same path means different things between different kinds of end
            # ("nsubj^ vpobj" with "of": a person leads a group, a group is in a place)
            f[f"Tpd:{s_ref.type}>{o_ref.type}:" + " ".join(labels)] = 1.0
            f[f"Tp:{s_ref.type}>{o_ref.type}:" + " ".join(labels) + "|" + " ".join(mid)] = 1.0
        else:
            f["p:far"] = 1.0
        # the ends of a long path still say how each end attaches ("nsubj^ ... vdobj")
        f["pe:" + (labels[0] if labels else "") + "~" + (labels[-1] if labels else "")] = 1.0
        f["plen=" + str(min(len(labels), 10))] = 1.0
        for w in mid:
            f["pw:" + w] = 1.0
            for c in classes.get(w, ()):
                f["cp:" + c] = 1.0
                f[f"cp:{c}:{labels[0] if labels else ''}"] = 1.0
        f["lca:" + tk.stem[lca]] = 1.0
        f[f"lca:{tk.stem[lca]}:{labels[0] if labels else ''}"] = 1.0
        f[f"Tlca:{s_ref.type}>{o_ref.type}:{tk.stem[lca]}"] = 1.0
        for c in classes.get(tk.stem[lca], ()):
            f["clca:" + c] = 1.0
    if _qualifies_person(tk, oh, sent, o_ref, span.start):
        f["oqual"] = 1.0
    if s_ref.pronoun:
        f["sref"] = 1.0
    if o_ref.pronoun:
        f["oref"] = 1.0
    # the precise rules' verdict on this pair is evidence the model weighs
    for s, o, rel in sent.rule_pairs:
        if s == s_ref.entity and o == o_ref.entity:
            f["rule:" + rel] = 1.0
        elif s == o_ref.entity and o == s_ref.entity:
            f["rule_rev:" + rel] = 1.0
    lo = min(s_ref.start, o_ref.start) - span.start_char
    hi = max(s_ref.end, o_ref.end) - span.start_char
    text = sent.evidence
    window = text[max(0, lo - 60): hi + 20]
    if context.find_hedge(window):
        f["hedge"] = 1.0
    if context.find_negation(text[max(0, lo - 40): hi]):
        f["neg"] = 1.0
    return f


_QUALIFIER_DEPS = frozenset(["compound", "poss", "nmod", "amod", "npadvmod"])


def _qualifies_person(tk: Tokens, i: int, sent: SentenceInfo, ref, base: int) -> bool:
    """Does the mention headed at token ``i`` only qualify a person ("Taliban leader
    Mullah X", "the group's commander Y")? Then the person, not the group, is the actor."""
    doc = sent.span.doc
    for _ in range(3):
        if tk.dep[i] not in _QUALIFIER_DEPS or tk.head[i] == i:
            return False
        i = tk.head[i]
        at = doc[i].idx
        for r in sent.refs:
            if r.type == "PERSON" and r.entity != ref.entity and r.start <= at < r.end:
                return True
    return False


def _nearest(ends) -> dict[tuple[int, str], int]:
    """(actor, type) -> the actor of that type whose mention head is nearest to one of its
    mentions in the sentence."""
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for r1, _, h1 in ends:
        for r2, _, h2 in ends:
            if r2.entity == r1.entity:
                continue
            k, cand = (r1.entity, r2.type), (abs(h1 - h2), r2.entity)
            if k not in out or cand < out[k]:
                out[k] = cand
    return {k: v[1] for k, v in out.items()}


def build_candidates(sentences: list[SentenceInfo], extra: dict | None = None) -> list[Candidate]:
    """``extra``: (sentence index, subject root, object root) -> more feature names
    (the attack frames' roles, ``events.frame_features``)."""
    out: list[Candidate] = []
    extra = extra or {}
    # how much the document is about each actor, and how often a pair meets
    counts: dict[int, int] = {}
    for sent in sentences:
        for r in sent.refs:
            counts[r.entity] = counts.get(r.entity, 0) + 1
    ranked = sorted((e for e in counts), key=lambda e: -counts[e])
    rank = {e: i for i, e in enumerate(ranked)}
    meets: dict[frozenset, int] = {}
    for sent in sentences:
        ents = {r.entity for r in sent.refs}
        for a in ents:
            for b in ents:
                if a < b:
                    key = frozenset((a, b))
                    meets[key] = meets.get(key, 0) + 1
    tables: dict[int, Tokens] = {}
    for k, sent in enumerate(sentences):
        if len(sent.refs) < 2:
            continue   # no pair: most sentences (and their block's token table is not built)
        doc = sent.span.doc
        ends = [(r, _span(sent.span, r)) for r in sent.refs]
        # each end's head token once: Span.root walks the span's tokens on every access,
        # and the loop below asks for it once per pair
        ends = [(r, sp, sp.root.i) for r, sp in ends if sp is not None and len(sp)]
        best: dict[tuple[int, int], tuple] = {}
        for r1, sp1, h1 in ends:
            if r1.type not in SUBJECT_TYPES and not (r1.type == "PLACE" and r1.kind == "country"):
                continue   # a country may act as its state (signatures.STATE_ACTOR_RELATIONS)
            for r2, sp2, h2 in ends:
                if r2 is r1 or r2.entity == r1.entity or r2.type not in OBJECT_TYPES:
                    continue
                gap = abs(h1 - h2)
                if gap > MAX_PAIR_TOKENS:
                    continue
                key = (r1.entity, r2.entity)
                # the closest pair of mentions of the two actors speaks for them
                if key not in best or gap < best[key][0]:
                    best[key] = (gap, r1, sp1, r2, sp2)
        if not best:
            continue
        tk = tables.get(id(doc))
        if tk is None:
            tk = tables[id(doc)] = tokens_of(doc)
        cs = sentence_cues(sent, tk)
        # each end's nearest mention of the other end's type: in "A leader X, B leader Y"
        # X pairs with A, not with B
        nearest = _nearest(ends)
        for (s, o), (_, r1, sp1, r2, sp2) in best.items():
            feats = pair_features(sent, r1, r2, sp1, sp2, tk, cs)
            so, os_ = nearest.get((s, r2.type)) == o, nearest.get((o, r1.type)) == s
            near = "both" if so and os_ else "s" if so else "o" if os_ else "none"
            feats["near=" + near] = 1.0
            feats[f"Tnear={r1.type}>{r2.type}:{near}"] = 1.0
            for name in extra.get((k, s, o), ()):
                feats[name] = 1.0
            n = meets.get(frozenset((s, o)), 1)
            feats["meets=" + ("1" if n == 1 else "2" if n == 2 else "3+")] = 1.0
            feats["srank=" + str(min(rank.get(s, 9), 3))] = 1.0
            feats["orank=" + str(min(rank.get(o, 9), 3))] = 1.0
            feats[f"T_srank={r1.type}{min(rank.get(s, 9), 3)}>{r2.type}"] = 1.0
            if k == 0:
                feats["first_sentence"] = 1.0
            out.append(Candidate(s, o, k, feats, hedged="hedge" in feats, negated="neg" in feats,
                                 subject_ref=r1.pronoun, object_ref=r2.pronoun))
    return out
