"""Throughput benchmark: `allegiance ingest` against bare spaCy on the same texts.

    python bench/run.py N [--seed 0] [--ingest-args "--workers 2"] [--keep-db PATH]

1. builds (or reuses) the corpus of N articles (bench/corpus.py);
2. reads and cleans it with allegiance.pipeline.read_documents and counts tokens with the
   spaCy tokenizer only (the model's tokenizer, no other component);
3. runs `python -m allegiance ingest CORPUS --db TMP` as a subprocess: wall time and peak
   RSS of the whole process tree (psutil, polled every 20 ms, children included);
4. runs bare `nlp.pipe(texts)` (en_core_web_sm as named by
   allegiance.extract.nlp.model_name(), full pipeline, default batch size) over the same
   cleaned texts in a fresh subprocess, measured the same way;
5. prints articles/s, tokens/s and peak RSS for both, and
   ratio = ingest_tokens_per_s / nlp_pipe_tokens_per_s.

Both wall times include Python start-up and model loading; the nlp subprocess also
reports its pipe-only time, for a second ratio. Not part of the test suite."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NLP_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import spacy
from allegiance.extract.nlp import model_name
nlp = spacy.load(model_name())
t1 = time.perf_counter()
texts = json.load(open(sys.argv[1], encoding="utf-8"))
t2 = time.perf_counter()
docs = tokens = 0
for doc in nlp.pipe(texts):
    docs += 1
    tokens += len(doc)
t3 = time.perf_counter()
print(json.dumps({"docs": docs, "tokens": tokens, "load_s": t1 - t0, "pipe_s": t3 - t2,
                  "model": model_name(), "pipes": nlp.pipe_names}))
"""


def run_measured(cmd: list[str], poll: float = 0.02, **kw) -> dict:
    """Run ``cmd``; return wall seconds, peak RSS (bytes) of its process tree, rc, output."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    root = psutil.Process(proc.pid)
    peak = 0
    out_chunks: list[str] = []
    import threading

    def drain(stream, sink):
        for line in stream:
            sink.append(line)

    err_chunks: list[str] = []
    threads = [threading.Thread(target=drain, args=(proc.stdout, out_chunks), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err_chunks), daemon=True)]
    for t in threads:
        t.start()
    while proc.poll() is None:
        rss = 0
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            procs = []
        for p in procs:
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(poll)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join(timeout=5)
    return {"wall_s": wall, "peak_rss": peak, "rc": proc.returncode,
            "stdout": "".join(out_chunks), "stderr": "".join(err_chunks)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ingest-args", default="", help="extra arguments for `allegiance ingest` (quoted)")
    ap.add_argument("--keep-db", type=Path, default=None, help="write the ingest store here (default: a temp file)")
    ap.add_argument("--skip-nlp", action="store_true",
                    help="measure the ingest only (no nlp.pipe baseline, no ratio): for memory runs on large N")
    args = ap.parse_args()

    from corpus import build_corpus

    import spacy

    from allegiance.extract.nlp import model_name
    from allegiance.pipeline import read_documents

    corpus = build_corpus(args.n, seed=args.seed)
    files = [p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith(".")]
    docs = [d for d in read_documents([str(corpus)]) if not hasattr(d, "message")]
    texts = [d.text for d in docs]
    tokenizer = spacy.load(model_name()).tokenizer
    tokens = sum(len(tokenizer(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    print(f"corpus {corpus}: {len(files)} files, {len(texts)} documents, {words} words, {tokens} tokens "
          f"(spaCy tokenizer, cleaned text)", flush=True)

    with tempfile.TemporaryDirectory(prefix="allegiance-bench-") as tmp:
        db = str(args.keep_db) if args.keep_db else os.path.join(tmp, "bench.duckdb")
        if args.keep_db and args.keep_db.exists():
            args.keep_db.unlink()
        cmd = [sys.executable, "-m", "allegiance", "ingest", str(corpus), "--db", db, *shlex.split(args.ingest_args)]
        ing = run_measured(cmd, cwd=tmp)
        if ing["rc"] != 0:
            print(f"ingest exited {ing['rc']}: {ing['stderr'][-2000:]}", file=sys.stderr)
        summary = [l for l in ing["stdout"].splitlines() if l.startswith(("documents:", "store "))]

        if not args.skip_nlp:
            texts_file = os.path.join(tmp, "texts.json")
            with open(texts_file, "w", encoding="utf-8") as fh:
                json.dump(texts, fh)
            nlp = run_measured([sys.executable, "-c", NLP_CHILD, texts_file], cwd=tmp)
            if nlp["rc"] != 0:
                raise SystemExit(f"nlp.pipe child failed: {nlp['stderr'][-2000:]}")
            child = json.loads(nlp["stdout"].strip().splitlines()[-1])

    n_docs = len(texts)
    mb = 1024 * 1024

    def line(name, docs_n, secs, rss):
        print(f"{name:34} {secs:9.2f} s {docs_n / secs:9.2f} articles/s {tokens / secs:10.0f} tokens/s "
              f"peak RSS {rss / mb:8.0f} MB", flush=True)

    print(f"ingest command: {' '.join(shlex.quote(c) for c in cmd[1:])}")
    for s in summary:
        print(f"  {s}")
    line("allegiance ingest (process tree)", n_docs, ing["wall_s"], ing["peak_rss"])
    if args.skip_nlp:
        print(f"machine: {os.cpu_count()} CPUs; load average at end {os.getloadavg()[0]:.2f}")
        return
    line("nlp.pipe (process)", n_docs, nlp["wall_s"], nlp["peak_rss"])
    print(f"{'nlp.pipe (pipe only)':34} {child['pipe_s']:9.2f} s {n_docs / child['pipe_s']:9.2f} articles/s "
          f"{tokens / child['pipe_s']:10.0f} tokens/s (model load {child['load_s']:.2f} s; pipes {child['pipes']})")
    ratio = (tokens / ing["wall_s"]) / (tokens / nlp["wall_s"])
    ratio_pipe = (tokens / ing["wall_s"]) / (tokens / child["pipe_s"])
    print(f"ratio ingest_tokens_per_s / nlp_pipe_tokens_per_s = {ratio:.3f} (process walls); "
          f"{ratio_pipe:.3f} (against pipe-only time)")
    print(f"machine: {os.cpu_count()} CPUs; load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
