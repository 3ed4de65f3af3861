"""Scorer: compare ``allegiance extract`` output with gold annotations (SCHEMA.md, "Scoring").

Per document:

1. Names are normalised with :func:`allegiance.resolve.names.normalize`.
2. A predicted entity maps to the gold entity of the same document sharing the most
   normalised names between (pred ``name`` + ``aliases``) and (gold ``name`` + ``aliases``);
   ties go to the earlier gold entity in the gold list; no shared name -> unmapped.
   Entity type plays no part in the mapping.
3. A predicted fact matches a gold fact when both its ends map to that fact's gold ends and
   the relation is equal (either direction for ``allied_with`` and ``rival_of``).
4. Predicted facts matching an optional gold fact are dropped from both sides (a predicted
   fact matching a non-optional gold fact as well counts as matching the non-optional one).
   Precision = matched predicted / predicted; recall = matched gold / non-optional gold;
   F1 = harmonic mean (0 when P + R == 0).
5. Entities, per gold type: a gold entity is *found* when some predicted entity maps to it
   and *split* when two or more predicted entities map to it.

Duplicate counting (our reading of "duplicates of one matched fact count once"):
every predicted fact is reduced to a *key* ``(subject end, relation, object end)`` where an
end is ``("gold", gold_id)`` when the predicted entity maps to a gold entity and
``("pred", pred_entity_id)`` otherwise; for symmetric relations the two ends are sorted, so
``A allied_with B`` and ``B allied_with A`` share one key. Predicted facts are counted per
distinct key within a document: several predicted facts matching the same gold fact count
as ONE predicted (and one matched) fact, and several unmatched predicted facts with the same
key count as ONE false positive. Gold facts are likewise reduced to distinct keys (a key
annotated both optional and non-optional counts as non-optional). Counts are summed over
documents (micro average); the same fact in two documents counts twice.

Division by zero (no prediction, or no gold) gives 0.0 for that ratio.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from allegiance.records import ENTITY_TYPES, RELATIONS, SYMMETRIC_RELATIONS
from allegiance.resolve.names import normalize

End = tuple[str, str]                 # ("gold", gold_id) | ("pred", pred_entity_id)
FactKey = tuple[End, str, End]


# ---------------------------------------------------------------- I/O

def load_jsonl(path: str | Path) -> list[dict]:
    """Read a JSON Lines file (blank lines skipped)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from exc
    return out


def load_gold(path: str | Path) -> list[dict]:
    """Read a gold file (JSON Lines, one document per line)."""
    return load_jsonl(path)


load_predictions = load_jsonl


# ---------------------------------------------------------------- records

def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Counts:
    """Fact counts for one relation (or overall): distinct keys, after dropping optional."""

    gold: int = 0        # non-optional gold facts
    pred: int = 0        # predicted facts (distinct keys, optional matches dropped)
    matched: int = 0     # matched gold facts == matched predicted facts (distinct keys)

    @property
    def precision(self) -> float:
        return _ratio(self.matched, self.pred)

    @property
    def recall(self) -> float:
        return _ratio(self.matched, self.gold)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    def add(self, other: "Counts") -> None:
        self.gold += other.gold
        self.pred += other.pred
        self.matched += other.matched

    def to_dict(self) -> dict:
        return {"gold": self.gold, "pred": self.pred, "matched": self.matched,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class EntityCounts:
    """Gold entities of one type: how many, how many found, how many split."""

    gold: int = 0
    found: int = 0
    splits: int = 0

    @property
    def recall(self) -> float:
        return _ratio(self.found, self.gold)

    def add(self, other: "EntityCounts") -> None:
        self.gold += other.gold
        self.found += other.found
        self.splits += other.splits

    def to_dict(self) -> dict:
        return {"gold": self.gold, "found": self.found, "recall": self.recall,
                "splits": self.splits}


@dataclass
class Miss:
    """A non-optional gold fact that no predicted fact matched."""

    doc_id: str
    subject: str             # gold entity id
    relation: str
    object: str              # gold entity id
    evidence: str | None
    subject_name: str | None = None
    object_name: str | None = None


@dataclass
class FalsePositive:
    """A distinct predicted fact key that matched no gold fact."""

    doc_id: str
    subject: str | None      # predicted subject name (or id when the entity is unknown)
    relation: str
    object: str | None       # predicted object name
    evidence: str | None
    subject_mapped: str | None   # gold id the subject maps to, None when unmapped
    object_mapped: str | None
    count: int = 1           # predicted facts sharing this key (duplicates)


@dataclass
class DocScore:
    doc_id: str
    has_prediction: bool = True
    relations: dict[str, Counts] = field(default_factory=dict)
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    mapping: dict[str, str | None] = field(default_factory=dict)   # pred entity id -> gold id
    misses: list[Miss] = field(default_factory=list)
    false_positives: list[FalsePositive] = field(default_factory=list)
    dropped_optional: int = 0      # distinct predicted keys dropped for matching optional gold

    @property
    def overall(self) -> Counts:
        total = Counts()
        for c in self.relations.values():
            total.add(c)
        return total

    @property
    def alias_splits(self) -> int:
        return sum(e.splits for e in self.entities.values())


@dataclass
class EvalReport:
    documents: list[DocScore] = field(default_factory=list)
    relations: dict[str, Counts] = field(default_factory=dict)       # micro, per relation
    overall: Counts = field(default_factory=Counts)                  # micro, all relations
    entities: dict[str, EntityCounts] = field(default_factory=dict)  # per gold type
    unmatched_predictions: list[str] = field(default_factory=list)   # pred doc_ids without gold
    missing_predictions: list[str] = field(default_factory=list)     # gold doc_ids without pred
    dropped_optional: int = 0

    @property
    def alias_splits(self) -> int:
        return sum(e.splits for e in self.entities.values())

    @property
    def misses(self) -> list[Miss]:
        return [m for d in self.documents for m in d.misses]

    @property
    def false_positives(self) -> list[FalsePositive]:
        return [fp for d in self.documents for fp in d.false_positives]


# ---------------------------------------------------------------- mapping

def _names(entity: dict) -> set[str]:
    raw: list[Any] = [entity.get("name")]
    raw.extend(entity.get("aliases") or [])
    out = set()
    for n in raw:
        if isinstance(n, str):
            k = normalize(n)
            if k:
                out.add(k)
    return out


def map_entities(gold_entities: list[dict], pred_entities: list[dict]) -> dict[str, str | None]:
    """Map each predicted entity id to a gold entity id (or None), SCHEMA.md step 2."""
    gold_names = [(g["id"], _names(g)) for g in gold_entities]
    mapping: dict[str, str | None] = {}
    for p in pred_entities:
        pnames = _names(p)
        best_id, best_n = None, 0
        for gid, gnames in gold_names:
            n = len(pnames & gnames)
            if n > best_n:          # strict: ties keep the earlier gold entity
                best_id, best_n = gid, n
        mapping[str(p.get("id"))] = best_id
    return mapping


def _key(subject: End, relation: str, obj: End) -> FactKey:
    if relation in SYMMETRIC_RELATIONS and obj < subject:
        subject, obj = obj, subject
    return (subject, relation, obj)


# ---------------------------------------------------------------- scoring

def _empty_relations() -> dict[str, Counts]:
    return {r: Counts() for r in RELATIONS}


def _empty_entities() -> dict[str, EntityCounts]:
    return {t: EntityCounts() for t in ENTITY_TYPES}


def score_document(gold: dict, pred: dict | None) -> DocScore:
    """Score one predicted document against its gold document. ``pred=None``: all misses."""
    doc_id = gold.get("doc_id", "")
    score = DocScore(doc_id=doc_id, has_prediction=pred is not None,
                     relations=_empty_relations(), entities=_empty_entities())
    pred = pred or {}
    gold_entities = list(gold.get("entities") or [])
    pred_entities = list(pred.get("entities") or [])
    gold_by_id = {g["id"]: g for g in gold_entities}
    pred_by_id = {str(p.get("id")): p for p in pred_entities}

    # -- entities
    mapping = map_entities(gold_entities, pred_entities)
    score.mapping = mapping
    hits: dict[str, int] = {}
    for gid in mapping.values():
        if gid is not None:
            hits[gid] = hits.get(gid, 0) + 1
    seen_gold: set[str] = set()
    for g in gold_entities:
        if g["id"] in seen_gold:
            continue
        seen_gold.add(g["id"])
        ec = score.entities.setdefault(g.get("type", "?"), EntityCounts())
        ec.gold += 1
        n = hits.get(g["id"], 0)
        if n >= 1:
            ec.found += 1
        if n >= 2:
            ec.splits += 1

    # -- gold facts, reduced to distinct keys (non-optional wins)
    gold_facts: dict[FactKey, dict] = {}
    for f in gold.get("facts") or []:
        k = _key(("gold", f["subject"]), f["relation"], ("gold", f["object"]))
        prev = gold_facts.get(k)
        if prev is None or (prev.get("optional") and not f.get("optional")):
            gold_facts[k] = f

    # -- predicted facts, reduced to distinct keys
    def end(pid: Any) -> End:
        gid = mapping.get(str(pid))
        return ("gold", gid) if gid is not None else ("pred", str(pid))

    matched: set[FactKey] = set()
    dropped: set[FactKey] = set()
    fps: dict[FactKey, FalsePositive] = {}
    for f in pred.get("facts") or []:
        rel = f.get("relation")
        k = _key(end(f.get("subject")), rel, end(f.get("object")))
        g = gold_facts.get(k)
        if g is not None and not g.get("optional"):
            matched.add(k)
        elif g is not None:
            dropped.add(k)
        elif k in fps:
            fps[k].count += 1
        else:
            ps, po = pred_by_id.get(str(f.get("subject"))), pred_by_id.get(str(f.get("object")))
            fps[k] = FalsePositive(
                doc_id=doc_id,
                subject=(ps or {}).get("name") or str(f.get("subject")),
                relation=rel,
                object=(po or {}).get("name") or str(f.get("object")),
                evidence=f.get("evidence"),
                subject_mapped=mapping.get(str(f.get("subject"))),
                object_mapped=mapping.get(str(f.get("object"))),
            )
    score.dropped_optional = len(dropped)
    score.false_positives = list(fps.values())

    for k, g in gold_facts.items():
        if g.get("optional"):
            continue
        c = score.relations.setdefault(g["relation"], Counts())
        c.gold += 1
        if k in matched:
            c.matched += 1
            c.pred += 1
        else:
            s, o = gold_by_id.get(g["subject"], {}), gold_by_id.get(g["object"], {})
            score.misses.append(Miss(doc_id=doc_id, subject=g["subject"], relation=g["relation"],
                                     object=g["object"], evidence=g.get("evidence"),
                                     subject_name=s.get("name"), object_name=o.get("name")))
    for k in fps:
        score.relations.setdefault(k[1], Counts()).pred += 1
    return score


def score_corpus(gold_docs: Iterable[dict], pred_docs: Iterable[dict]) -> EvalReport:
    """Score predictions against gold, pairing documents by ``doc_id``.

    A gold document without a prediction counts as all misses (and all entities unfound);
    predicted documents without gold are ignored and listed in ``unmatched_predictions``.
    When a ``doc_id`` is predicted more than once, the first prediction is used."""
    gold_docs = list(gold_docs)
    preds: dict[str, dict] = {}
    for p in pred_docs:
        preds.setdefault(p.get("doc_id", ""), p)
    gold_ids = {g.get("doc_id", "") for g in gold_docs}

    report = EvalReport(relations=_empty_relations(), entities=_empty_entities())
    report.unmatched_predictions = [d for d in preds if d not in gold_ids]
    for g in gold_docs:
        did = g.get("doc_id", "")
        p = preds.get(did)
        if p is None:
            report.missing_predictions.append(did)
        ds = score_document(g, p)
        report.documents.append(ds)
        for rel, c in ds.relations.items():
            report.relations.setdefault(rel, Counts()).add(c)
            report.overall.add(c)
        for t, e in ds.entities.items():
            report.entities.setdefault(t, EntityCounts()).add(e)
        report.dropped_optional += ds.dropped_optional
    return report
