"""Does a change alter extraction output? Dumps what `allegiance extract` writes (the JSON
Lines of ``Extraction.to_schema()``, through ``pipeline.extract_paths``) plus each
document's mentions, for the shared real corpora and the examples, from a snapshot of
the package, and diffs two dumps.

    git archive HEAD allegiance | tar -x -C /tmp/before
    python bench/same_output.py dump /tmp/before before.jsonl
    python bench/same_output.py dump .            after.jsonl     # the working tree
    python bench/same_output.py diff before.jsonl after.jsonl

One line per document, keys sorted; the diff compares facts, entities, mentions and
attack mentions (everything in the line: nothing is left out). Runs in one process
(workers=1). Not part of the test suite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPUTS = [ROOT.parent / "shared" / "corpus" / s for s in ("seeds", "dev", "train")] + [
    ROOT / "examples" / "corpus", ROOT / "examples" / "outside"]


CHILD = r"""
import dataclasses, json, sys
from allegiance.pipeline import extract_paths
for item in extract_paths(sys.argv[1:], workers=1):
    if hasattr(item, "message"):
        print(json.dumps({"error": item.source, "message": item.message}))
        continue
    row = item.to_schema()
    # the JSON Lines of `allegiance extract` carry no mentions; the store does
    row["mentions"] = [dataclasses.asdict(m) for m in item.mentions]
    print(json.dumps(row, ensure_ascii=False, default=str))
"""


def dump(src: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    with open(out, "w", encoding="utf-8") as fh:
        proc = subprocess.run([sys.executable, "-c", CHILD, *map(str, INPUTS)], stdout=subprocess.PIPE, env=env,
                              text=True, cwd="/tmp")
        for line in proc.stdout.splitlines():
            fh.write(json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{out}: {sum(1 for _ in open(out, encoding='utf-8'))} documents (rc {proc.returncode})")


def diff(a: Path, b: Path) -> int:
    la = open(a, encoding="utf-8").read().splitlines()
    lb = open(b, encoding="utf-8").read().splitlines()
    if len(la) != len(lb):
        print(f"document count differs: {len(la)} vs {len(lb)}")
        return 1
    bad = 0
    for x, y in zip(la, lb):
        if x != y:
            dx, dy = json.loads(x), json.loads(y)
            keys = sorted(k for k in set(dx) | set(dy) if dx.get(k) != dy.get(k))
            print(f"differs: {dx.get('document', {}).get('doc_id', '?')}: {keys}")
            bad += 1
    counts = {k: sum(len(json.loads(x).get(k) or []) for x in la) for k in ("facts", "entities", "mentions", "attacks")}
    print(f"{len(la)} documents, {bad} differ; totals in the first dump: {counts}")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
