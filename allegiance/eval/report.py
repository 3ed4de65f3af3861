"""Render an :class:`~allegiance.eval.scoring.EvalReport` with Rich, or as a JSON-able dict."""
from __future__ import annotations

from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from allegiance.records import ENTITY_TYPES, RELATIONS
from allegiance.textsafe import clean, markup

from .scoring import Counts, EvalReport


def _fmt(value: float, den: int) -> str:
    return f"{value:.3f}" if den else "-"


def _relation_order(report: EvalReport) -> list[str]:
    extra = sorted(r for r in report.relations if r not in RELATIONS and r is not None)
    return list(RELATIONS) + extra


def _entity_order(report: EvalReport) -> list[str]:
    return list(ENTITY_TYPES) + sorted(t for t in report.entities if t not in ENTITY_TYPES)


def _counts_row(name: str, c: Counts) -> list[str]:
    # table cells are parsed as markup, and a gold file may name any relation
    f1_den = c.pred + c.gold
    return [markup(name), str(c.gold), str(c.pred), str(c.matched),
            _fmt(c.precision, c.pred), _fmt(c.recall, c.gold), _fmt(c.f1, f1_den)]


# Ties between organisations and people: who leads, joins, pledges to, splits from, is a
# branch of, allies with, rivals or merges into whom (not where, and not attacks).
ORG_TIES = ("leader_of", "member_of", "pledged_allegiance_to", "defected_from", "joined", "affiliate_of",
            "allied_with", "rival_of", "merged_into")


def organizational_ties(report: EvalReport) -> Counts:
    out = Counts()
    for rel in ORG_TIES:
        out.add(report.relations.get(rel, Counts()))
    return out


def render_report(report: EvalReport, console: Console, *, errors: bool = False) -> None:
    """Print the fact table, the entity table, the alias-split count and (``errors=True``)
    the misses and false positives grouped by document."""
    facts = Table(title="Facts (micro over the corpus)")
    for col in ("relation", "gold", "pred", "matched", "P", "R", "F1"):
        facts.add_column(col, justify="left" if col == "relation" else "right")
    for rel in _relation_order(report):
        facts.add_row(*_counts_row(rel, report.relations.get(rel, Counts())))
    facts.add_section()
    facts.add_row(*_counts_row("organizational ties", organizational_ties(report)))
    facts.add_row(*_counts_row("overall", report.overall), style="bold")
    console.print(facts)

    ents = Table(title="Entities (recall per gold type)")
    for col in ("type", "gold", "found", "recall", "splits"):
        ents.add_column(col, justify="left" if col == "type" else "right")
    for t in _entity_order(report):
        e = report.entities.get(t)
        if e is None:
            continue
        ents.add_row(markup(t), str(e.gold), str(e.found), _fmt(e.recall, e.gold), str(e.splits))
    console.print(ents)
    console.print(f"alias splits: {report.alias_splits}")
    if report.missing_predictions:
        console.print(f"gold documents without prediction: {len(report.missing_predictions)}")
    if report.unmatched_predictions:
        console.print(f"predicted documents without gold (ignored): {len(report.unmatched_predictions)}")
    if report.dropped_optional:
        console.print(f"predictions matching optional gold (dropped): {report.dropped_optional}")

    if not errors:
        return
    for doc in report.documents:
        if not doc.misses and not doc.false_positives:
            continue
        # a rule title is parsed as markup; doc ids come from file names
        console.rule(markup(doc.doc_id) + ("" if doc.has_prediction else " (no prediction)"), style="dim")
        for m in doc.misses:
            console.print(f"[red]MISS[/red] {markup(m.subject)} --{markup(m.relation)}--> {markup(m.object)}",
                          markup=True, highlight=False)
            if m.evidence:
                console.print(f"      {clean(m.evidence)}", markup=False, highlight=False)
        for fp in doc.false_positives:
            ends = f"(mapped: {fp.subject_mapped or '-'} / {fp.object_mapped or '-'})"
            dup = f" x{fp.count}" if fp.count > 1 else ""
            console.print(f"[yellow]FP[/yellow]   ", end="", markup=True)
            console.print(clean(f"{fp.subject} --{fp.relation}--> {fp.object} {ends}{dup}"),
                          markup=False, highlight=False)
            if fp.evidence:
                console.print(f"      {clean(fp.evidence)}", markup=False, highlight=False)


def report_to_dict(report: EvalReport) -> dict:
    """A JSON-serialisable summary, including the error lists."""
    return {
        "overall": report.overall.to_dict(),
        "organizational_ties": organizational_ties(report).to_dict(),
        "relations": {r: report.relations.get(r, Counts()).to_dict() for r in _relation_order(report)},
        "entities": {t: report.entities[t].to_dict() for t in _entity_order(report)
                     if t in report.entities},
        "alias_splits": report.alias_splits,
        "dropped_optional": report.dropped_optional,
        "documents": len(report.documents),
        "missing_predictions": list(report.missing_predictions),
        "unmatched_predictions": list(report.unmatched_predictions),
        "misses": [asdict(m) for m in report.misses],
        "false_positives": [asdict(fp) for fp in report.false_positives],
    }
