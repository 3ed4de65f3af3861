"""extract._sentences: spaCy sentences split at line breaks. A sentence without a line
break is yielded as it is; checked against splitting every sentence. Text made up."""
from __future__ import annotations

import re

from allegiance.extract import _sentences
from allegiance.extract.nlp import load_nlp


def split_every_sentence(doc):
    for sent in doc.sents:
        for m in re.finditer(r"[^\n]+", sent.text):
            if m.group(0).strip():
                span = doc.char_span(sent.start_char + m.start(), sent.start_char + m.end(), alignment_mode="expand")
                if span is not None and len(span):
                    yield span


def test_sentences_are_those_of_splitting_each_at_line_breaks():
    nlp = load_nlp()
    texts = ["The Amber Hill Front took Dorvo. Its leader, Tam Osei, spoke on Friday.  ",
             "HEADLINE OF THE DAY\nThe Salt Coast Army left Miro.\n\nA caption  here",
             "   ", "One line only"]
    for doc in (nlp(t) for t in texts):
        got = [(s.start, s.end) for s in _sentences(doc)]
        assert got == [(s.start, s.end) for s in split_every_sentence(doc)]
