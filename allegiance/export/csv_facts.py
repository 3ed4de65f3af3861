"""Every selected fact as one CSV row, with every column the store has for it.

Text from articles is hostile and these files get opened in spreadsheets: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (OWASP's
advice against formula injection); numbers are written as numbers."""
from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from allegiance.export import Selection

COLUMNS = [
    "id", "date", "date_source", "subject_id", "subject", "subject_type", "relation",
    "object_id", "object", "object_type", "confidence", "hedged", "attributed_to", "evidence",
    "start", "end", "attributes", "rule", "extractor_version", "document_id", "doc_id", "title",
    "source", "published",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell: None -> empty, bool -> true/false, text made formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    value = str(value)
    if value.startswith(_FORMULA):
        return "'" + value
    return value


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
