"""Attacks on MUC-4 (``shared/benchmarks/muc4``): does extraction find the attacks of
Latin American wire copy, and who carried them out?

MUC-4's answer keys are incident templates, not this project's facts, so the measure
reads the templates the way an analyst reads ``attacked`` facts:

- the texts are the original messages (``raw_muc4/tst*-muc*``: upper case, hard-wrapped,
  with a dateline), split at their ``TST1-MUC3-0001`` headers and each extracted as a
  plain-text document through the real pipeline (``pipeline.extract_paths``);
- the templates are ``gtt_templates/{dev,test}.json`` (one line per message; a message
  with no template reports no attack); only messages a template file names are scored;
- **detection**: a message reports an attack when gold has a template for it, and
  extraction says so when it states at least one ``attacked`` fact;
- **roles**, per message: gold entities are the union over its templates of a role's
  entities (each a set of coreferent mentions; equal sets once), predicted entities the
  distinct subjects (attacker) or objects (target) of its ``attacked`` facts, each with
  its name and aliases. A predicted entity matches a gold entity when one of its names,
  normalised as MUC-4 scorers do (lower case, punctuation, a/an/the and extra spaces
  removed), is one of the gold mentions; matching is one to one, in order. Micro P/R/F1
  over all messages. Roles: ``PerpOrg`` (the attacking organisation), ``PerpOrg+PerpInd``
  (also "guerrillas", "urban commandos"), and ``Victim+Target`` for the objects.

This is not one of the published MUC-4 metrics (CEAF-REE, template F1): those need
template filling, which the schema does not do (``attacked`` has no weapon, and its object
must be an actor or a place). It is the part of them this extractor can be judged on.
The development split is for reading attack language; the test split is held back."""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from allegiance.eval.scoring import Counts

# a message starts with its id alone on a line: "TST1-MUC3-0001", "DEV-MUC3-0001"
_HEADER = re.compile(r"^((?:TST\d|DEV)-MUC\d-\d{4})[ \t]*$", re.M)
_PUNCT = re.compile(r"[^\w\s]")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")

ROLES = {
    "PerpOrg": (("PerpOrg",), "subject"),
    "PerpOrg+PerpInd": (("PerpOrg", "PerpInd"), "subject"),
    "Victim+Target": (("Victim", "Target"), "object"),
}


def normalise(mention: str) -> str:
    s = _PUNCT.sub(" ", mention.lower())
    return " ".join(_ARTICLES.sub(" ", s).split())


def read_messages(path: str | Path) -> list[tuple[str, str]]:
    """(message id, its text) for each message of a raw MUC-4 file, in file order."""
    text = Path(path).read_text(encoding="latin-1")
    heads = list(_HEADER.finditer(text))
    return [(h.group(1), text[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)])
            for i, h in enumerate(heads)]


def load_templates(path: str | Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out[d["docid"]] = d.get("templates") or []
    return out


@dataclass
class MucReport:
    split: str
    messages: int
    with_attack: int
    detection: Counts
    roles: dict[str, Counts]
    missing: list[str] = field(default_factory=list)    # template ids with no message text
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        d = self.detection
        out = [f"MUC-4 {self.split}: {self.messages} messages, {self.with_attack} with an attack template",
               f"  {'detection (any attacked fact)':32s} P {d.precision:.3f}  R {d.recall:.3f}  F1 {d.f1:.3f}  "
               f"(tp {d.matched}, stated {d.pred}, gold {d.gold})"]
        for name, c in self.roles.items():
            out.append(f"  {name + ' (' + ROLES[name][1] + ')':32s} P {c.precision:.3f}  R {c.recall:.3f}  "
                       f"F1 {c.f1:.3f}  (tp {c.matched}, predicted {c.pred}, gold {c.gold})")
        if self.missing:
            out.append(f"  {len(self.missing)} templated messages have no text: {', '.join(self.missing[:5])}")
        return out

    def to_dict(self) -> dict:
        def counts(c: Counts) -> dict:
            return {"tp": c.matched, "predicted": c.pred, "gold": c.gold, "precision": round(c.precision, 3),
                    "recall": round(c.recall, 3), "f1": round(c.f1, 3)}

        return {"split": self.split, "messages": self.messages, "with_attack": self.with_attack,
                "detection": counts(self.detection), "roles": {k: counts(c) for k, c in self.roles.items()},
                "missing": self.missing, "errors": self.errors}


def _gold_entities(templates: list[dict], roles: tuple[str, ...]) -> list[set[str]]:
    out: list[set[str]] = []
    for t in templates:
        for role in roles:
            for ent in t.get(role) or []:
                names = {normalise(m) for m, _ in ent} - {""}
                if names and names not in out:
                    out.append(names)
    return out


def _predicted_entities(extraction: dict, side: str) -> list[set[str]]:
    ents = {e["id"]: e for e in extraction.get("entities") or []}
    out: list[set[str]] = []
    for f in extraction.get("facts") or []:
        if f["relation"] != "attacked" or f[side] not in ents:
            continue
        e = ents[f[side]]
        names = {normalise(x) for x in [e["name"], *(e.get("aliases") or [])]} - {""}
        if names and names not in out:
            out.append(names)
    return out


def score(templates: dict[str, list[dict]], extractions: dict[str, dict], split: str = "dev") -> MucReport:
    """``extractions``: message id -> ``Extraction.to_schema()``; a message with no
    extraction (a failed document) states nothing."""
    detection = Counts()
    roles = {name: Counts() for name in ROLES}
    for mid, tpls in templates.items():
        ex = extractions.get(mid) or {}
        stated = any(f["relation"] == "attacked" for f in ex.get("facts") or [])
        detection.matched += bool(tpls) and stated
        detection.pred += stated
        detection.gold += bool(tpls)
        for name, (gold_roles, side) in ROLES.items():
            gold, pred = _gold_entities(tpls, gold_roles), _predicted_entities(ex, side)
            used: set[int] = set()
            for names in pred:
                j = next((j for j, g in enumerate(gold) if j not in used and names & g), None)
                if j is not None:
                    used.add(j)
            c = roles[name]
            c.matched += len(used)
            c.pred += len(pred)
            c.gold += len(gold)
    return MucReport(split, len(templates), sum(1 for t in templates.values() if t), detection, roles)


SPLIT_FILES = {"dev": ("tst1-muc3", "tst2-muc4"), "test": ("tst3-muc4", "tst4-muc4")}


def measure(folder: str | Path, split: str = "dev", workers: int = 1) -> MucReport:
    """Extract the messages of a split of the MUC-4 folder and score them."""
    from allegiance.pipeline import extract_paths
    from allegiance.records import IngestError

    folder = Path(folder)
    templates = load_templates(folder / "gtt_templates" / f"{split}.json")
    texts: dict[str, str] = {}
    for name in SPLIT_FILES[split]:
        path = folder / "raw_muc4" / name
        if path.exists():
            texts.update(read_messages(path))
    missing = sorted(m for m in templates if m not in texts)
    extractions: dict[str, dict] = {}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="allegiance-muc4-") as tmp:
        for mid in templates:
            if mid in texts:
                (Path(tmp) / f"{mid}.txt").write_text(texts[mid], encoding="utf-8")
        for item in extract_paths([tmp], workers=workers):
            if isinstance(item, IngestError):
                errors.append(f"{item.source}: {item.message}")
                continue
            schema = item.to_schema()
            extractions[Path(schema["doc_id"]).stem] = schema
    report = score(templates, extractions, split)
    report.missing, report.errors = missing, errors
    return report
