"""Build allegiance/data/common_words.txt: English words that mixed-case news writes in lower case.

Used by the truecaser for ALL-CAPS wire copy (allegiance/clean/wire.py): a word in the list is
written in lower case, any other word keeps a capital. Source: the mixed-case article corpora
under shared/corpus (train and seeds). A word is counted only where it is not the first word of
a sentence or line; it is kept when the corpora write it in lower case more often than with a
capital (so "army" may be in, "Nigeria" and "Qaeda" are not). Only the words and counts are
used; no sentence of the corpora is kept.

    python scripts/build_common_words.py [--out allegiance/data/common_words.txt] [--max 6000]
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
CORPORA = ("train", "seeds")
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
SENT_END = re.compile(r"[.!?:\"“”]\s*$")


def count(paths) -> tuple[Counter, Counter]:
    lower, capital = Counter(), Counter()
    for p in paths:
        text = p.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            prev_end = 0
            first = True
            for m in WORD.finditer(line):
                w = m.group(0)
                before = line[prev_end:m.start()]
                prev_end = m.end()
                initial = first or SENT_END.search(before) or before.rstrip().endswith(("(", "[", "—", "-"))
                first = False
                if initial or len(w) < 1:
                    continue
                key = re.split(r"['’]", w)[0]
                if key.islower():
                    lower[key] += 1
                elif key[0].isupper():
                    capital[key.lower()] += 1
    return lower, capital


def write_words(out: str, header: list[str], words: list[str]) -> None:
    """The list file: its comment header (source, how it was built), then one word a line."""
    Path(out).write_text("\n".join(header + words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "allegiance" / "data" / "common_words.txt"))
    ap.add_argument("--max", type=int, default=6000)
    args = ap.parse_args(argv)
    paths = sorted(p for c in CORPORA for p in (SHARED / c).glob("*.txt"))
    lower, capital = count(paths)
    words = [w for w, n in lower.most_common() if n > capital[w]][: args.max]
    header = [
        "# Common English words, written in lower case by mixed-case news (one a line, most frequent first).",
        "# Source: word counts over the mixed-case article corpora shared/corpus/train and shared/corpus/seeds",
        f"# ({len(paths)} files), not counting sentence- or line-initial words; a word is listed when the corpora",
        "# write it in lower case more often than capitalised. Built by scripts/build_common_words.py; do not edit",
        "# by hand, rebuild. Used by allegiance/clean/wire.py to truecase ALL-CAPS documents.",
    ]
    write_words(args.out, header, words)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
