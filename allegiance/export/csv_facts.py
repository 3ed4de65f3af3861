"""Every selected fact as one CSV row, with every column the store has for it.

Text from articles is hostile and these files get opened in spreadsheets (and printed on a
terminal, when written to stdout): every cell goes through :func:`allegiance.textsafe.csv_cell`.
Control characters in text are escaped visibly (a newline as ``\\n``), and a text cell that
starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (OWASP's
advice against formula injection); numbers are written as numbers, negative ones included.
The lossless export is ``jsonl``."""
from __future__ import annotations

import csv
from typing import TextIO

from allegiance.export import Selection
from allegiance.textsafe import csv_cell

COLUMNS = [
    "id", "date", "date_source", "subject_id", "subject", "subject_type", "relation",
    "object_id", "object", "object_type", "confidence", "hedged", "attributed_to", "evidence",
    "start", "end", "attributes", "rule", "extractor_version", "document_id", "doc_id", "title",
    "source", "published",
]
#: one function for every CSV the project writes (``allegiance facts --format csv`` too)
cell = csv_cell


def write(sel: Selection, fh: TextIO) -> int:
    """Write the facts CSV; returns the number of facts."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(COLUMNS)
    for f in sel.facts:
        rec = dict(f)
        rec["confidence"] = None if f.get("confidence") is None else round(float(f["confidence"]), 3)
        rec["hedged"] = bool(f.get("hedged"))
        rec["attributes"] = f.get("attributes") or {}
        w.writerow([cell(rec.get(c)) for c in COLUMNS])
    return len(sel.facts)
