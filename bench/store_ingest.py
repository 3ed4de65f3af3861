"""Storing extractions: ms per document, one by one vs in batches.

    python bench/store_ingest.py [N] [--batch 64] [--modes old,single,batch]

Extracts the bench corpus of N articles (``bench/corpus.py N``, default 300) once and
pickles the extractions to ``bench/.cache/extractions-N-s0.pkl``; later runs reuse the
pickle, so only the store is timed. Each mode stores every extraction into a fresh
store file in ``bench/.cache/`` and prints ms/document (wall clock of the store calls
only, opening the store excluded):

* ``old``: each document in its own transaction with the identity cache emptied first,
  so every decision is read from the database (the per-document path ``Store._add_one``
  is gone: one resolver since issue 10; for its timings run ``--modes old`` from a
  checkout of an earlier commit)
* ``single``: ``Store.add_extraction`` per document (a batch of one)
* ``batch``: ``Store.add_extractions`` on batches of ``--batch`` documents

The stores of all modes are compared table by table (timestamps ignored) and the
script fails if they differ."""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import CACHE, build_corpus  # noqa: E402



def extractions(n: int) -> list:
    pkl = CACHE / f"extractions-{n}-s0.pkl"
    if pkl.exists():
        return pickle.loads(pkl.read_bytes())
    from allegiance.pipeline import extract_paths
    from allegiance.records import IngestError

    folder = build_corpus(n)
    t0 = time.perf_counter()
    items = [it for it in extract_paths([str(folder)], workers=1) if not isinstance(it, IngestError)]
    print(f"extracted {len(items)} documents in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    pkl.write_bytes(pickle.dumps(items))
    return items


def snapshot(store) -> dict:
    return store.contents()


def run(mode: str, items: list, batch: int, db: Path):
    from allegiance.store import Store

    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    with Store(db) as store:
        t0 = time.perf_counter()
        if mode == "old":
            for ex in items:
                store._cache.clear()
                store.add_extraction(ex)
        elif mode == "single":
            for ex in items:
                store.add_extraction(ex)
        else:
            for i in range(0, len(items), batch):
                store.add_extractions(items[i : i + batch])
        elapsed = time.perf_counter() - t0
        return elapsed, snapshot(store)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--modes", default="old,single,batch")
    args = ap.parse_args()
    items = extractions(args.n)
    print(f"{len(items)} documents, {sum(len(e.facts) for e in items)} facts, "
          f"{sum(len(e.mentions) for e in items)} mentions extracted")
    snaps = {}
    for mode in args.modes.split(","):
        elapsed, snaps[mode] = run(mode, items, args.batch, CACHE / f"store-ingest-{mode}.duckdb")
        label = f"batch of {args.batch}" if mode == "batch" else mode
        print(f"{label:>14}: {elapsed:6.2f} s  {1000 * elapsed / len(items):6.2f} ms/document")
    first, *rest = snaps
    for mode in rest:
        for t in snaps[first]:
            if snaps[mode][t] != snaps[first][t]:
                sys.exit(f"{mode}: table {t} differs from {first}")
    if rest:
        print(f"stores identical ({', '.join(snaps)})")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
