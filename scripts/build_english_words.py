"""Build allegiance/data/english_words.txt: frequent English words a dictionary writes in lower case.

The truecaser for ALL-CAPS wire copy (allegiance/clean/wire.py) writes a word in lower case when
it is common English, and keeps a capital otherwise. common_words.txt (scripts/build_common_words.py)
holds what the project's own mixed-case corpora write in lower case, about 3,700 words: too few for
wire copy, where every verb and noun the list lacks ("STOLE", "HELICOPTER", "PURSUED") came out as a
capitalised name the NER then read as an actor. This list adds the words that
- are among the N most frequent English words of wordfreq (Speer et al., data CC BY-SA 4.0), and
- the SCOWL word list of Debian's wamerican package (/usr/share/dict/words) spells in lower case,
less the words of the gazetteer's names (places, groups and people stay capitalised) and the words
the mixed-case corpora capitalise more often than not ("salvador" is not a common word there).
Only the words are kept. Needs wordfreq (pip) and wamerican (apt) at build time only:

    python scripts/build_english_words.py [--top 40000] [--out allegiance/data/english_words.txt]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))


def gazetteer_words() -> set[str]:
    out: set[str] = set()
    for p in sorted((ROOT / "allegiance" / "data" / "gazetteer").glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            for name in [e.get("name", ""), *(e.get("aliases") or [])]:
                out.update(w.lower() for w in re.findall(r"[^\W\d_]+", name))
    return out


def main(argv=None) -> int:
    import wordfreq
    from build_common_words import CORPORA, SHARED, count, write_words

    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=40000)
    ap.add_argument("--dict", default="/usr/share/dict/words")
    ap.add_argument("--out", default=str(ROOT / "allegiance" / "data" / "english_words.txt"))
    args = ap.parse_args(argv)
    lower_dict = {w.strip() for w in Path(args.dict).read_text(encoding="utf-8", errors="replace").splitlines()
                  if w.strip().islower() and "'" not in w}
    lower, capital = count(sorted(p for c in CORPORA for p in (SHARED / c).glob("*.txt")))
    names = gazetteer_words()
    words = [w for w in wordfreq.top_n_list("en", args.top)
             if w.isalpha() and w in lower_dict and w not in names and capital[w] <= lower[w]]
    header = [
        f"# Frequent English words spelt in lower case ({len(words)}, most frequent first): the {args.top} most",
        "# frequent English words of wordfreq 3.1 (Robyn Speer et al., data CC BY-SA 4.0) that the SCOWL list of",
        "# Debian's wamerican package spells in lower case, less the words of gazetteer names and the words the",
        "# shared mixed-case corpora capitalise more often than not. Built by scripts/build_english_words.py;",
        "# do not edit by hand, rebuild. Used by allegiance/clean/wire.py to truecase ALL-CAPS documents.",
    ]
    write_words(args.out, header, words)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
