"""How many MUC-4 (TST1-MUC3) documents yield an ORG/PERSON entity and an `attacked` fact.

Splits the raw MUC-4 test file into its documents (a header line like ``TST1-MUC3-0001``),
reads each one through the normal clean stage and extraction (``allegiance.pipeline.clean_item``
then ``allegiance.extract.extract_documents``), and prints the counts, once with the wire-text
handling of the clean stage off ("before") and once with it on ("after").

    python scripts/muc4_attack_check.py [PATH] [--limit N]

Not a test: a measurement for the hard-wrap / dateline / truecasing work in allegiance/clean/wire.py.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "muc4" / "raw_muc4" / "tst1-muc3"
HEADER = re.compile(r"^([A-Z0-9]+-MUC\d-\d{4})\s*$", re.M)


def split_muc(text: str) -> list[tuple[str, str]]:
    heads = list(HEADER.finditer(text))
    out = []
    for h, nxt in zip(heads, heads[1:] + [None]):
        body = text[h.end(): nxt.start() if nxt else len(text)]
        out.append((h.group(1), body.strip("\n") + "\n"))
    return out


def measure(docs: list[tuple[str, str]], wire: bool) -> dict:
    from allegiance.clean import clean_document
    from allegiance.extract import extract_documents
    from allegiance.records import Document

    cleaned = []
    for doc_id, body in docs:
        d = Document(doc_id=doc_id, source=doc_id, raw_text=body,
                     content_hash=hashlib.sha256(body.encode()).hexdigest())
        cleaned.append(clean_document(d, wire=wire))
    exs = []
    for i in range(0, len(cleaned), 16):
        exs += extract_documents(cleaned[i:i + 16])
    n_ent = n_att = n_both = n_pub = 0
    for ex in exs:
        ent = any(e.type in ("ORG", "PERSON") for e in ex.entities)
        att = any(f.relation == "attacked" for f in ex.facts)
        n_ent += ent
        n_att += att
        n_both += ent and att
        n_pub += ex.document.published is not None
    return {"documents": len(exs), "with ORG/PERSON": n_ent, "with attacked": n_att,
            "with both": n_both, "with published date": n_pub,
            "attacked facts": sum(f.relation == "attacked" for ex in exs for f in ex.facts)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default=str(DEFAULT))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    docs = split_muc(Path(args.path).read_text(encoding="utf-8", errors="replace"))
    if args.limit:
        docs = docs[: args.limit]
    for label, wire in (("before (wire handling off)", False), ("after (wire handling on)", True)):
        r = measure(docs, wire)
        print(label + ": " + ", ".join(f"{k} {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
