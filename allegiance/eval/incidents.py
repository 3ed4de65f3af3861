"""Incident linking against ``gold/incidents.jsonl`` (issue 13; SCHEMA.md "Incident gold").

The documents are ingested into one store (the real ingest path: extraction, actor
resolution, attack mentions, linking), then scored pairwise over documents: two
reports are linked when the store puts one of their attack mentions in one incident.

- precision: of the linked pairs with at least one gold report in them, those that a
  gold incident holds (a report linked to a distractor article, or to a report of
  another incident, counts against it);
- recall: of the pairs of reports of each gold incident, those linked;
- ``cross_links``: pairs of reports of two different gold incidents that were linked;
- per gold incident, the system incident holding most of its reports: whether its
  killed range contains every report's figure, and whether it is flagged disputed
  where the reports disagree (on the toll or on who did it)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path


@dataclass
class IncidentReport:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    cross_links: int
    distractor_links: int
    documents: int
    incidents: list[dict] = field(default_factory=list)   # per gold incident
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"documents ingested: {self.documents}",
            f"pairwise report linking: precision {self.precision:.3f}  recall {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  (tp {self.tp}, fp {self.fp}, fn {self.fn})",
            f"reports of different incidents linked: {self.cross_links}",
            f"reports linked to a distractor article: {self.distractor_links}",
        ]
        for g in self.incidents:
            out.append(
                f"  {g['incident_id']}: {g['linked']}/{g['reports']} reports in {g['system_id'] or '-'}; "
                f"killed {g['killed_range']} gold {g['gold_killed']} contains: {'yes' if g['range_ok'] else 'NO'}; "
                f"disputed {'yes' if g['disputed'] else 'no'} (gold disagrees: {'yes' if g['gold_disagrees'] else 'no'})")
        return out


def load_incident_gold(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _disagrees(inc: dict) -> bool:
    reps = inc["reports"]
    killed = {r["killed"] for r in reps if r.get("killed") is not None}
    attackers = {frozenset(r.get("attackers") or []) for r in reps if r.get("attackers")}
    blamed = [r.get("attributed_by") for r in reps if r.get("attributed_by")]
    return len(killed) > 1 or len(attackers) > 1 or any(";" in b for b in blamed)


def score_store(store, gold: list[dict]) -> IncidentReport:
    """Score the incidents of an ingested store against incident gold."""
    doc_incidents: dict[str, set[str]] = {}
    records = store.incidents()
    for rec in records:
        for r in rec["reports"]:
            doc_incidents.setdefault(r["doc_id"], set()).add(rec["incident_id"])
    gold_of = {r["doc_id"]: inc["incident_id"] for inc in gold for r in inc["reports"]}
    gold_pairs = {frozenset(p) for inc in gold for p in combinations(sorted(r["doc_id"] for r in inc["reports"]), 2)}
    sys_pairs: set[frozenset] = set()
    for rec in records:
        docs = sorted({r["doc_id"] for r in rec["reports"]})
        sys_pairs |= {frozenset(p) for p in combinations(docs, 2)}
    judged = {p for p in sys_pairs if any(d in gold_of for d in p)}
    tp = len(judged & gold_pairs)
    fp = len(judged - gold_pairs)
    fn = len(gold_pairs - sys_pairs)
    cross = sum(1 for p in judged if all(d in gold_of for d in p) and len({gold_of[d] for d in p}) > 1)
    distractor = sum(1 for p in judged if any(d not in gold_of for d in p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_id = {rec["incident_id"]: rec for rec in records}
    per = []
    for inc in gold:
        docs = [r["doc_id"] for r in inc["reports"]]
        counts: dict[str, int] = {}
        for d in docs:
            for iid in doc_incidents.get(d, ()):
                counts[iid] = counts.get(iid, 0) + 1
        best = max(sorted(counts), key=lambda i: counts[i]) if counts else None
        rec = by_id.get(best) if best else None
        lo = rec["killed"]["min"] if rec else None
        hi = rec["killed"]["max"] if rec else None
        figures = [r["killed"] for r in inc["reports"] if r.get("killed") is not None]
        ok = rec is not None and all(lo is not None and lo <= k <= hi for k in figures)
        per.append({"incident_id": inc["incident_id"], "system_id": best, "reports": len(docs),
                    "linked": counts.get(best, 0) if best else 0, "killed_range": f"{lo}-{hi}" if rec else "-",
                    "gold_killed": figures, "range_ok": ok, "disputed": bool(rec and rec["disputed"]),
                    "gold_disagrees": _disagrees(inc)})
    return IncidentReport(round(precision, 3), round(recall, 3), round(f1, 3), tp, fp, fn, cross, distractor,
                          len(store.documents()), per)


def measure(gold_path: str | Path, paths: list[str], db: str | Path, workers: int = 1) -> IncidentReport:
    """Ingest ``paths`` into a fresh store at ``db`` and score its incidents."""
    from allegiance.pipeline import extract_paths
    from allegiance.records import IngestError
    from allegiance.store import Store

    gold = load_incident_gold(gold_path)
    errors = []
    with Store(db) as store:
        batch = []
        for item in extract_paths(paths, workers=workers):
            if isinstance(item, IngestError):
                errors.append(str(item))
                continue
            batch.append(item)
            if len(batch) >= 16:
                store.add_extractions(batch)
                batch = []
        if batch:
            store.add_extractions(batch)
        report = score_store(store, gold)
    report.errors = errors
    return report
