"""Build a benchmark corpus of N articles into a folder.

    python bench/corpus.py N [--out DIR] [--seed 0]

The repo's examples/corpus plus articles generated from allegiance.scale.corpus's own
templates (gazetteer group/person/place names, relation sentences; half general news
that mentions no armed group), 300-800 words each. Cached: an existing complete folder
for the same N and seed is reused."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"


def build_corpus(n: int, out: Path | None = None, seed: int = 0) -> Path:
    from allegiance.scale.corpus import write_corpus

    out = out or CACHE / f"corpus-{n}-s{seed}"
    marker = out / ".complete"
    if marker.exists() and json.loads(marker.read_text()).get("n") == n:
        return out
    paths = write_corpus(out, n, seed=seed, examples=ROOT / "examples" / "corpus")
    marker.write_text(json.dumps({"n": n, "seed": seed, "files": len(paths)}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(build_corpus(args.n, args.out, args.seed))


if __name__ == "__main__":
    main()
