"""Where ingest's time goes, per stage, in one process.

    python bench/stages.py CORPUS_DIR DB_FILE      # prints one JSON object on stdout

Runs the real ingest path (``allegiance.cli._ingest`` with ``workers=1``: read, clean,
extract, store in batches, exactly as ``allegiance ingest --workers 1``) with timers
wrapped around the pipeline's own functions -- nothing is re-implemented here, so each
stage has one implementation. Each timer counts its *exclusive* time (a timed call
inside another timed call is subtracted from the outer one), so the stages add up:

    read        allegiance.ingest.iter_documents (each next(): files read, hashed)
    clean       allegiance.pipeline.clean_item
    select      allegiance.extract.select_blocks (which lines are worth parsing)
    parse       allegiance.extract.parse (tokenizer, tok2vec, tagger, parser)
    NER         allegiance.extract.recognise_entities_batch
    resolve     allegiance.extract.cluster (names of one document -> actors)
    mentions    the rest of allegiance.extract.prepare_documents (gazetteer, patterns,
                acronyms, NER mentions, overlaps, frames)
    rules       allegiance.extract._relations (skeletons, relation patterns, context)
    candidates  allegiance.extract.build_candidates (pair features)
    attacks     allegiance.extract.attack_mentions
    model       allegiance.extract.facts.finish (model scores, combination)
    store       allegiance.store.store.Store.add_extractions (cross-document
                resolution, DuckDB writes, incident linking)
    other       the rest of the run (batching, progress display, grouping)

"relations and model" in bench/real.py's report is mentions + rules + candidates +
attacks + model. Model and gazetteer loading, and one warm-up extraction
of the first document (pattern compilation), happen first and are reported as
``load_s``. Timer overhead: two perf_counter calls per timed call (a few thousand
calls per 100 articles), well under 1%."""
from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("read", "clean", "select", "parse", "NER", "resolve", "mentions", "rules", "candidates",
          "attacks", "model", "store")
RELATIONS_AND_MODEL = ("mentions", "rules", "candidates", "attacks", "model")

_totals: dict[str, float] = {s: 0.0 for s in STAGES}
_calls: dict[str, int] = {s: 0 for s in STAGES}
_stack: list[list] = []   # [stage, start, time spent in nested timed calls]


def _enter(stage: str) -> None:
    _stack.append([stage, time.perf_counter(), 0.0])


def _leave() -> None:
    stage, t0, inner = _stack.pop()
    spent = time.perf_counter() - t0
    _totals[stage] += spent - inner
    _calls[stage] += 1
    if _stack:
        _stack[-1][2] += spent


def timed(stage: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _enter(stage)
        try:
            return fn(*args, **kwargs)
        finally:
            _leave()
    return wrapper


def timed_iter(stage: str, fn):
    """A generator function whose every ``next()`` is timed (the time between
    items belongs to whoever consumes them)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        it = iter(fn(*args, **kwargs))
        while True:
            _enter(stage)
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                _leave()
            yield item
    return wrapper


def install() -> None:
    """Wrap the pipeline's functions where their callers look them up."""
    import allegiance.extract as ex
    import allegiance.extract.facts as facts
    import allegiance.ingest as ingest
    import allegiance.pipeline as pipeline
    from allegiance.store.store import Store

    ingest.iter_documents = timed_iter("read", ingest.iter_documents)
    pipeline.clean_item = timed("clean", pipeline.clean_item)
    for name, stage in (("select_blocks", "select"), ("parse", "parse"), ("recognise_entities_batch", "NER"),
                        ("cluster", "resolve"), ("prepare_documents", "mentions"), ("_relations", "rules"),
                        ("build_candidates", "candidates"), ("attack_mentions", "attacks")):
        setattr(ex, name, timed(stage, getattr(ex, name)))
    facts.finish = timed("model", facts.finish)
    Store.add_extractions = timed("store", Store.add_extractions)


def main(corpus: str, db: str) -> dict:
    t0 = time.perf_counter()
    from allegiance.extract.mentions import gaz_index
    from allegiance.extract.model import default_model
    from allegiance.extract.nlp import load_nlp
    from allegiance.resolve.gazetteer import load_gazetteer

    load_nlp()
    default_model()
    gaz_index(load_gazetteer())
    # the first extraction compiles the relation patterns and cue tables (cached per
    # process): done once here, before the timers, on the corpus's first document
    from allegiance.extract import extract_documents
    from allegiance.pipeline import read_documents

    first = next((d for d in read_documents([corpus]) if not hasattr(d, "message")), None)
    if first is not None:
        extract_documents([first])
    load_s = time.perf_counter() - t0

    install()
    from allegiance.cli import _ingest
    from allegiance.store import Store

    t1 = time.perf_counter()
    with Store(db) as store:
        tally = _ingest(store, [corpus], workers=1)
    run_s = time.perf_counter() - t1
    return {"load_s": load_s, "run_s": run_s, "stages": _totals, "calls": _calls,
            "other": run_s - sum(_totals.values()), "tally": tally}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
