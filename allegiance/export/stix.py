"""STIX 2.1 bundle (built and serialised with the ``stix2`` library).

* armed groups (kind ``armed_group``/``militia``, or an ORG of unknown kind) -> ``intrusion-set``
  with their aliases;
* persons -> ``identity`` (``identity_class: individual``); other organisations (state bodies,
  state forces, media, international bodies, think tanks, parties) -> ``identity``
  (``organization``); the actor's kind goes in ``labels``;
* places -> ``location`` with latitude/longitude/country from the gazetteer where it has them
  (a place the gazetteer does not know gets ``region: "unknown"``: STIX requires one of
  region, country or coordinates);
* each fact -> ``relationship`` (relation as a STIX-style type, e.g. ``pledged-allegiance-to``),
  ``description`` = the evidence sentence, ``confidence`` 0-100, ``start_time``/``stop_time``
  = the first/last instant of the fact's (possibly partial) date, provenance in ``x_allegiance_*``
  properties and an external reference to the source document;
* each source document -> ``report`` with the article's path/URL in ``external_references`` and
  its relationships and actors in ``object_refs``.

Ids are UUIDv5 of the store's ids, and timestamps come from the store, so exporting the same
store twice gives the same bundle.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, TextIO

import stix2

from allegiance.export import Selection, period

#: UUIDv5 namespace of every id this exporter makes
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://allegiance.invalid/stix/2.1")

RELATIONSHIP_TYPES = {
    "leader_of": "leads",
    "member_of": "member-of",
    "pledged_allegiance_to": "pledged-allegiance-to",
    "defected_from": "defected-from",
    "joined": "joined",
    "affiliate_of": "affiliate-of",
    "allied_with": "allied-with",
    "rival_of": "rival-of",
    "merged_into": "merged-into",
    "active_in": "operates-in",
    "recruits_in": "recruits-in",
    "attacked": "targets",
}
ARMED_KINDS = frozenset({"armed_group", "militia"})
#: supranational regions of the gazetteer (no country) -> STIX region-ov
REGIONS = {
    "sahel": "western-africa",
    "maghreb": "northern-africa",
    "north_africa": "northern-africa",
    "west_africa": "western-africa",
    "east_africa": "eastern-africa",
    "horn_of_africa": "eastern-africa",
    "central_africa": "middle-africa",
    "southern_africa": "southern-africa",
    "africa": "africa",
    "middle_east": "western-asia",
    "levant": "western-asia",
    "arabian_peninsula": "western-asia",
    "central_asia": "central-asia",
    "south_asia": "southern-asia",
    "southeast_asia": "south-eastern-asia",
    "caucasus": "western-asia",
    "europe": "europe",
    "sub_saharan_africa": "africa",
    "sahara": "northern-africa",
    "greater_sahara": "africa",
    "lake_chad_basin": "africa",
    "liptako_gourma": "western-africa",
    "gulf_of_guinea": "western-africa",
    "asia": "asia",
    "persian_gulf": "western-asia",
    "kurdistan": "western-asia",
    "kashmir": "southern-asia",
    "khorasan": "southern-asia",
    "balkans": "southern-europe",
    "western_balkans": "southern-europe",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: the top-level custom properties this exporter adds (declared in an extension-definition,
#: as STIX 2.1 asks of custom properties)
EXTENSION_PROPERTIES = [
    "x_allegiance_actor_id", "x_allegiance_gazetteer_id", "x_allegiance_aliases",
    "x_allegiance_fact_id", "x_allegiance_relation", "x_allegiance_hedged", "x_allegiance_date",
    "x_allegiance_date_source", "x_allegiance_attributed_to", "x_allegiance_attributes",
    "x_allegiance_document_id",
]
EXTENSION_ID = "extension-definition--" + str(uuid.uuid5(NAMESPACE, "extension:allegiance-provenance"))
_EXT = {EXTENSION_ID: {"extension_type": "toplevel-property-extension"}}


def stix_id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, key)}"


def _ts(value: Any, default: datetime = EPOCH) -> datetime:
    """A store timestamp (naive UTC) or an ISO date as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        p = period(value)
        if p:
            return datetime.fromisoformat(p[0]).replace(tzinfo=timezone.utc)
        try:
            d = datetime.fromisoformat(value)
            return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return default


def _span(date: str | None) -> tuple[datetime, datetime] | None:
    p = period(date)
    if not p:
        return None
    start = datetime.fromisoformat(p[0]).replace(tzinfo=timezone.utc)
    stop = datetime.fromisoformat(p[1]).replace(hour=23, minute=59, second=59, tzinfo=timezone.utc)
    return start, stop


def _source_ref(doc: dict) -> dict:
    source = doc.get("source") or ""
    ref: dict[str, Any] = {"source_name": "allegiance-document", "external_id": doc.get("doc_id") or doc["id"]}
    if source.startswith(("http://", "https://")):
        ref["url"] = source
    elif source:
        ref["description"] = f"source: {source}"
    return ref


def actor_object(a: dict, gazetteer, identity_ref: str, created: datetime) -> Any:
    common = dict(
        name=a.get("name") or a["id"],
        created=created,
        modified=created,
        created_by_ref=identity_ref,
        allow_custom=True,
        extensions=_EXT,
        x_allegiance_actor_id=a["id"],
    )
    aliases = [x for x in dict.fromkeys(a.get("aliases") or []) if x and x != common["name"]]
    kind = a.get("kind")
    if a.get("gazetteer_id"):
        common["x_allegiance_gazetteer_id"] = a["gazetteer_id"]
    if kind:
        common["labels"] = [kind]
    if a["type"] == "PLACE":
        entry = gazetteer.by_id.get(a.get("gazetteer_id")) if a.get("gazetteer_id") else None
        geo: dict[str, Any] = {}
        if entry is not None:
            if entry.lat is not None and entry.lon is not None:
                geo.update(latitude=entry.lat, longitude=entry.lon)
            if entry.country:
                geo["country"] = entry.country
            if entry.id in REGIONS:
                geo["region"] = REGIONS[entry.id]
        if not geo:
            geo["region"] = "unknown"
        if aliases:
            common["x_allegiance_aliases"] = aliases
        return stix2.Location(id=stix_id("location", "actor:" + a["id"]), **common, **geo)
    if a["type"] == "ORG" and (kind is None or kind in ARMED_KINDS):
        if aliases:
            common["aliases"] = aliases
        return stix2.IntrusionSet(id=stix_id("intrusion-set", "actor:" + a["id"]), **common)
    if aliases:
        common["x_allegiance_aliases"] = aliases
    identity_class = "individual" if a["type"] == "PERSON" else "organization"
    return stix2.Identity(id=stix_id("identity", "actor:" + a["id"]), identity_class=identity_class, **common)


def build_bundle(sel: Selection) -> stix2.Bundle:
    from allegiance.resolve.gazetteer import load_gazetteer

    gazetteer = load_gazetteer()
    producer = stix2.Identity(
        id=stix_id("identity", "producer:allegiance"),
        name="Allegiance",
        identity_class="system",
        description="Evidence-backed actor graph extracted from news articles.",
        created=EPOCH,
        modified=EPOCH,
    )
    extension = stix2.ExtensionDefinition(
        id=EXTENSION_ID,
        created_by_ref=producer.id,
        created=EPOCH,
        modified=EPOCH,
        name="Allegiance provenance",
        description="Store ids, hedging, dates, attribution and extraction attributes of "
        "Allegiance actors, facts and source documents.",
        schema="Top-level properties: " + ", ".join(EXTENSION_PROPERTIES) + " (strings, except "
        "x_allegiance_hedged: boolean; x_allegiance_aliases: list of strings; "
        "x_allegiance_attributes: object).",
        version="1.0.0",
        extension_types=["toplevel-property-extension"],
        extension_properties=EXTENSION_PROPERTIES,
    )
    objects: list[Any] = [producer, extension]
    refs: dict[str, str] = {}
    created = dict(
        sel.con.execute(
            "SELECT id, created_at FROM actors WHERE list_contains(?::VARCHAR[], id)", [list(sel.actors)]
        ).fetchall()
    ) if sel.actors else {}
    for aid, a in sel.actors.items():
        obj = actor_object(a, gazetteer, producer.id, _ts(created.get(aid)))
        refs[aid] = obj.id
        objects.append(obj)

    doc_refs: dict[str, list[str]] = {}
    for f in sel.facts:
        if f["subject_id"] not in refs or f["object_id"] not in refs:
            continue
        doc = sel.documents.get(f.get("document_id") or "", {})
        created = _ts(doc.get("ingested_at"))
        props: dict[str, Any] = dict(
            id=stix_id("relationship", "fact:" + f["id"]),
            relationship_type=RELATIONSHIP_TYPES.get(f["relation"], f["relation"].replace("_", "-")),
            source_ref=refs[f["subject_id"]],
            target_ref=refs[f["object_id"]],
            created=created,
            modified=created,
            created_by_ref=producer.id,
            confidence=max(0, min(100, round(float(f.get("confidence") or 0.0) * 100))),
            allow_custom=True,
            extensions=_EXT,
            x_allegiance_fact_id=f["id"],
            x_allegiance_relation=f["relation"],
            x_allegiance_hedged=bool(f.get("hedged")),
        )
        evidence = " ".join((f.get("evidence") or "").split())
        if evidence:
            props["description"] = evidence
        span = _span(f.get("date"))
        if span:
            props["start_time"], props["stop_time"] = span
            props["x_allegiance_date"] = f["date"]
            if f.get("date_source"):
                props["x_allegiance_date_source"] = f["date_source"]
        if f.get("attributed_to"):
            props["x_allegiance_attributed_to"] = f["attributed_to"]
        if f.get("attributes"):
            props["x_allegiance_attributes"] = f["attributes"]
        if doc:
            props["external_references"] = [_source_ref(doc)]
        rel = stix2.Relationship(**props)
        objects.append(rel)
        if f.get("document_id"):
            doc_refs.setdefault(f["document_id"], []).extend(
                [rel.id, refs[f["subject_id"]], refs[f["object_id"]]]
            )

    for did, doc in sel.documents.items():
        object_refs = list(dict.fromkeys(doc_refs.get(did, [])))
        if not object_refs:  # STIX requires at least one: the document's actors at least
            continue
        ingested = _ts(doc.get("ingested_at"))
        objects.append(
            stix2.Report(
                id=stix_id("report", "document:" + did),
                name=doc.get("title") or doc.get("doc_id") or did,
                published=_ts(doc.get("published"), ingested),
                created=ingested,
                modified=ingested,
                created_by_ref=producer.id,
                report_types=["threat-actor"],
                object_refs=object_refs,
                external_references=[_source_ref(doc)],
                allow_custom=True,
                extensions=_EXT,
                x_allegiance_document_id=did,
            )
        )
    bundle_key = "bundle:" + ",".join(sorted(o.id for o in objects))
    return stix2.Bundle(objects=objects, id=stix_id("bundle", bundle_key), allow_custom=True)


def write(sel: Selection, fh: TextIO) -> int:
    """Write the bundle as JSON; returns the number of STIX objects."""
    bundle = build_bundle(sel)
    fh.write(bundle.serialize(pretty=True, ensure_ascii=False))
    fh.write("\n")
    return len(bundle.objects)
