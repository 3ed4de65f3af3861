"""Incidents: the attack mentions of many reports linked into one record per attack (issue 13).

Input: attack mentions as the store keeps them (plain dicts, actor ids corpus-wide, see
``Store.attack_mentions``). Only mentions about their article's own event
(``current``) are linked; a history paragraph's attack never joins today's incident.

Two mentions of different documents are the same attack when nothing rules it out
(dates more than ``max_day_gap`` days apart, places in two countries or far apart) and
enough agrees: the same or a contained place (gazetteer hierarchy: country code, kind,
coordinates), the same attackers (or a claimant the other report names), targets,
trigger class, names of the building or vehicle, date. Weights and limits are in
``data/incidents.json`` (``linking``).

Linking is deterministic: the mentions of a neighbourhood (all that share a country, a
place or an attacker with a changed mention, and the incidents they are in) are
clustered again: the pairs that reach the threshold merge best-scoring first (ties in
canonical order: date, then mention id), two groups only when no pair of theirs is
ruled out and they share no report. An incident's id is derived from its first mention
in canonical order, so re-ingesting the same reports gives the same ids.

The record keeps every report's version side by side: attackers with each report's
status, every killed/wounded figure with its source and the min-max, the reports'
evidence. It is ``disputed`` when reports differ on who did it or on the toll; nothing
is averaged or picked."""
from __future__ import annotations

import hashlib
import json
import math
import re
from functools import lru_cache
from importlib import resources
from collections.abc import Iterable
from datetime import date as _date

from allegiance.resolve.gazetteer import load_gazetteer

_DIRECTIONS = {"north", "south", "east", "west", "northern", "southern", "eastern", "western", "central",
               "northeast", "northwest", "southeast", "southwest", "northeastern", "northwestern",
               "southeastern", "southwestern", "upper", "lower", "greater", "province", "district",
               "region", "town", "city", "village", "county", "state"}
_BROAD_KINDS = {"country": 0, "region": 1, "province": 1, "state": 1, "governorate": 1, "district": 2}


def mention_id_for(content_hash: str, start: int, trigger: str) -> str:
    return hashlib.sha256(f"{content_hash}\x1f{start}\x1f{trigger}".encode("utf-8")).hexdigest()[:16]


def incident_id_for(first_mention_id: str) -> str:
    return "inc-" + first_mention_id[:12]


@lru_cache(maxsize=1)
def incident_cues() -> dict:
    # read here, not through allegiance.extract: the store links without loading the extractor
    return json.loads(resources.files("allegiance.data").joinpath("incidents.json").read_text("utf-8"))


def _stem(w: str) -> str:
    w = w.lower()
    for suf in ("ings", "ing", "ers", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def _params() -> dict:
    return incident_cues()["linking"]


def _classes(triggers: Iterable[str]) -> set[str]:
    out = set()
    for cls, words in incident_cues()["trigger_classes"].items():
        stems = {_stem(w) for w in words}
        if any(_stem(t) in stems for t in triggers):
            out.add(cls)
    return out


def _day(d: str | None):
    if not d or len(d) < 10:
        return None
    try:
        return _date.fromisoformat(d[:10])
    except ValueError:
        return None


def _km(a, b) -> float | None:
    if a is None or b is None or a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(h)))


def _known_place_word(w: str, gaz) -> bool:
    """A word that names a place the gazetteer knows ("philippines" in "southern
    Philippines"): that place is compared by id, its word says nothing more."""
    e = gaz.lookup(w)
    return e is not None and e.type == "PLACE"


class _M:
    """A mention prepared for scoring."""

    def __init__(self, d: dict, gaz):
        self.d = d
        self.id = d["mention_id"]
        self.doc = d["document_id"]
        self.date = d.get("date")
        self.date_source = d.get("date_source")
        self.day = _day(self.date) if self.date_source in ("stated", "weekday") else None
        self.year = int(self.date[:4]) if self.date and self.date_source in ("stated", "weekday") else None
        self.places = [p for p in [d.get("place")] + [t for t in d.get("target_places", [])] if p]
        self.place_entries = {p["actor_id"]: gaz.by_id.get(p["gazetteer_id"]) if p.get("gazetteer_id") else None
                              for p in self.places}
        self.place_ids = set(self.place_entries)
        self.countries = {e.country for e in self.place_entries.values() if e is not None and e.country}
        # who each report says did it, denied or not: a denial is a competing version of
        # the same attack, and so is a third party's blame; only what reports state or
        # claim in their own right conflicts ("X attacked" against "Y attacked")
        self.attackers = {a["actor_id"] for a in d.get("attackers", [])}
        self.all_attackers = self.attackers
        self.own_attackers = {a["actor_id"] for a in d.get("attackers", [])
                              if a.get("status") in ("stated", "claimed") and not a.get("denied")}
        self.targets = {t["actor_id"] for t in d.get("targets", [])} - self.place_ids
        self.classes = _classes(d.get("triggers") or [d.get("trigger", "")])
        self.names = set(d.get("names", []))
        # the words of the places the gazetteer does not know ("Jolo", "Gimbi"): another
        # report may name the same town without the parse making it a place
        self.place_words = {w for p in self.places if self.place_entries.get(p["actor_id"]) is None
                            for w in re.findall(r"[^\W\d_]{3,}", (p.get("name") or "").lower())
                            if not _known_place_word(w, gaz)} - _DIRECTIONS
        ctx = d.get("context", [])
        # the armed groups the article keeps naming, and its most-named specific place
        # (organisations only, and the people the gazetteer knows as militants: a
        # president or a spokesman both articles keep naming is no sign of one attack)
        self.groups = {c["actor_id"] for c in ctx if c["count"] >= 2
                       and ((c["type"] == "ORG" and c.get("kind") in ("armed_group", "militia", None))
                            or (c["type"] == "PERSON" and c.get("kind") == "person" and c.get("gazetteer_id")))}
        self.doc_places = {c["actor_id"] for c in ctx if c["type"] == "PLACE" and c["count"] >= 2}
        # who claimed it, and the organisations the article names at all: a report that
        # names the group another report says claimed the attack ("...ISIS, which claimed
        # it", "groups that pledged allegiance to ISIS") agrees a little on who did it
        self.claimants = {a["actor_id"] for a in d.get("attackers", [])
                          if a.get("status") == "claimed" and not a.get("denied")}
        self.named_orgs = {c["actor_id"] for c in ctx if c["type"] == "ORG"} | self.attackers
        self.spot = None
        principal = d.get("place")
        pe = gaz.by_id.get(principal["gazetteer_id"]) if principal and principal.get("gazetteer_id") else None
        self.own_spot = pe is not None and pe.kind not in _BROAD_KINDS
        if self.own_spot:
            self.spot = pe
        else:
            for c in ctx:
                e = gaz.by_id.get(c["gazetteer_id"]) if c["type"] == "PLACE" and c.get("gazetteer_id") else None
                if e is not None and e.kind not in _BROAD_KINDS and e.lat is not None and c["count"] >= 2 \
                        and (pe is None or not pe.country or e.country == pe.country):
                    self.spot = e
                    break

    def keys(self) -> set[str]:
        """Blocking keys: what a mention it may link with must share."""
        return ({"c:" + c for c in self.countries} | {"p:" + p for p in self.place_ids}
                | {"a:" + a for a in self.all_attackers})


def score(a: _M, b: _M) -> float | None:
    """How much two mentions agree on being one attack; None when something rules it out."""
    p = _params()
    w = p["weights"]
    if a.doc == b.doc:
        return None
    s = 0.0
    if a.day and b.day:
        gap = abs((a.day - b.day).days)
        if gap > p["max_day_gap"]:
            return None
        s += w["same_date"] if gap <= 1 else 0.0
    elif a.year and b.year and a.year != b.year:
        return None
    if a.countries and b.countries and not a.countries & b.countries:
        return None
    place = 0.0
    shared_places = a.place_ids & b.place_ids
    if shared_places:
        # one country is not one place: two attacks in the Philippines are two attacks
        broad = all(a.place_entries.get(x) is not None and a.place_entries[x].kind in _BROAD_KINDS
                    for x in shared_places)
        place = w["contained_place"] if broad else w["same_place"]
    else:
        far = False
        for ea in a.place_entries.values():
            for eb in b.place_entries.values():
                if ea is None or eb is None:
                    continue
                km = _km(ea, eb)
                broad = ea.kind in _BROAD_KINDS or eb.kind in _BROAD_KINDS
                if km is not None and km <= p["near_km"]:
                    place = max(place, w["near_place"])
                elif broad and ea.country == eb.country and (km is None or km <= p["region_km"]
                                                             or "country" in (ea.kind, eb.kind)):
                    place = max(place, w["contained_place"])
                elif not broad and km is not None and km > p["near_km"]:
                    far = True
        if far and place == 0.0:
            return None
    if a.spot is not None and b.spot is not None:
        if a.spot.id == b.spot.id:
            # a spot read from what the article keeps naming, not from the mention itself,
            # is only as good as a near place (a profile of a group names its old targets)
            place = max(place, w["same_place"] if a.own_spot and b.own_spot else w["near_place"])
        else:
            km = _km(a.spot, b.spot)
            if km is not None and km > p["near_km"]:
                return None   # the two articles are about two towns
            place = max(place, w["near_place"])
    if place == 0.0 and (a.place_ids & b.doc_places or b.place_ids & a.doc_places):
        place = w["contained_place"]
    if place < w["same_place"] and (a.place_words & (b.names | b.place_words) or b.place_words & a.names):
        place = w["same_place"]
    if place == 0.0:
        # nothing places the two in one spot (same, contained, near or named alike): the
        # same group and the same kind of attack are then two attacks as often as one
        place = w["no_place"]
    s += place
    if a.attackers & b.attackers:
        s += w["attacker"]
    elif a.groups & b.groups:
        s += w["group"]
    elif a.own_attackers and b.own_attackers:
        s += w["attacker_conflict"]
    elif a.claimants & b.named_orgs or b.claimants & a.named_orgs:
        s += w["claimant_named"]
    if a.targets & b.targets:
        s += w["target"]
    if a.classes & b.classes:
        s += w["trigger"]
    shared = len(a.names & b.names)
    s += min(w["name_word_cap"], shared * w["name_word"])
    return s


def _canonical(m: _M) -> tuple:
    return (m.date or "9999", m.id)


def cluster(mentions: list[dict], gaz=None) -> dict[str, str]:
    """mention id -> incident id for the current mentions given (every one gets one)."""
    gaz = gaz or load_gazetteer()
    p = _params()
    ms = sorted((_M(d, gaz) for d in mentions if d.get("current", True)), key=_canonical)
    # agglomerative: the best-agreeing pairs join first, whatever order the mentions
    # came in (a greedy pass let a distractor that happened to come first take a
    # report, then tie with its true partner). Two groups join on their best pair
    # when no pair of theirs rules the other out and they share no report (one report
    # tells one version of an attack: it is merged already).
    pairs = []
    for i, a in enumerate(ms):
        for j in range(i + 1, len(ms)):
            sc = score(a, ms[j])
            if sc is not None and sc >= p["threshold"]:
                pairs.append((-sc, i, j))
    pairs.sort()
    group = list(range(len(ms)))
    members = {i: [i] for i in range(len(ms))}

    def find(i):
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for _, i, j in pairs:
        gi, gj = find(i), find(j)
        if gi == gj:
            continue
        A, B = members[gi], members[gj]
        if {ms[x].doc for x in A} & {ms[x].doc for x in B}:
            continue
        if any(score(ms[x], ms[y]) is None for x in A for y in B):
            continue
        keep, gone = (gi, gj) if gi < gj else (gj, gi)
        group[gone] = keep
        members[keep] = sorted(members[keep] + members.pop(gone))
    # a report that tells its attack over mentions its own reading kept apart (the title,
    # the toll in a later paragraph, "they blew up the tracks" with no place) links one
    # of them; the others, linked nowhere, join that incident when nothing rules them out
    # against its other reports and they tell the same kind of attack. Only for a report
    # in one linked incident: one that links two attacks keeps its mentions apart.
    linked_of: dict[str, set[int]] = {}
    for root, idx in members.items():
        if len({ms[x].doc for x in idx}) > 1:
            for x in idx:
                linked_of.setdefault(ms[x].doc, set()).add(root)
    for root, idx in list(members.items()):
        if len(idx) != 1:
            continue
        m = ms[idx[0]]
        homes = linked_of.get(m.doc, set())
        if len(homes) != 1:
            continue
        home = next(iter(homes))
        others = [ms[x] for x in members[home] if ms[x].doc != m.doc]
        if m.classes and any(m.classes & o.classes for o in others) \
                and all(score(m, o) is not None for o in others):
            members[home] = sorted(members[home] + idx)
            del members[root]
    out = {}
    for root, idx in members.items():
        iid = incident_id_for(ms[min(idx)].id)   # the first mention in canonical order
        for x in idx:
            out[ms[x].id] = iid
    return out


def neighbourhood(all_mentions: list[dict], incident_of: dict[str, str], changed: set[str],
                  removed_incidents: set[str] = frozenset(), gaz=None) -> set[str]:
    """The mention ids to cluster again after ``changed`` mentions were added: every mention
    sharing a blocking key (country, place, attacker) with one of them, every mention of
    the incidents those are in, and the mentions of ``removed_incidents``."""
    gaz = gaz or load_gazetteer()
    by_id = {d["mention_id"]: _M(d, gaz) for d in all_mentions if d.get("current", True)}
    keys: set[str] = set()
    for mid in changed:
        if mid in by_id:
            keys |= by_id[mid].keys()
    out = {mid for mid in changed if mid in by_id}
    out |= {mid for mid, m in by_id.items() if m.keys() & keys}
    incidents = {incident_of[mid] for mid in out if mid in incident_of} | set(removed_incidents)
    out |= {mid for mid, iid in incident_of.items() if iid in incidents and mid in by_id}
    # every mention of the reports involved: a report's mentions with no key of their own
    # join its linked incident in ``cluster``, which needs them all together
    docs = {by_id[mid].doc for mid in out}
    out |= {mid for mid, m in by_id.items() if m.doc in docs}
    incidents = {incident_of[mid] for mid in out if mid in incident_of}
    out |= {mid for mid, iid in incident_of.items() if iid in incidents and mid in by_id}
    return out


def relink(all_mentions: list[dict], incident_of: dict[str, str], changed: set[str],
           removed_incidents: set[str] = frozenset(), gaz=None) -> tuple[dict[str, str], set[str]]:
    """Incremental linking: (mention id -> incident id for the mentions clustered again,
    the incident ids they were in before, to be rewritten or dropped)."""
    gaz = gaz or load_gazetteer()
    todo = neighbourhood(all_mentions, incident_of, changed, removed_incidents, gaz)
    assigned = cluster([d for d in all_mentions if d["mention_id"] in todo], gaz)
    before = {incident_of[m] for m in todo if m in incident_of} | set(removed_incidents)
    return assigned, before


# --- the record -------------------------------------------------------------------

def _figures(mentions: list[dict], field: str) -> dict:
    figs = []
    for d in mentions:
        for n in d.get(field + "_figures") or ([d[field]] if d.get(field) is not None else []):
            figs.append({"figure": n, "doc_id": d["doc_id"], "document_id": d["document_id"],
                         "evidence": d.get("evidence")})
    values = [f["figure"] for f in figs]
    return {"figures": figs, "min": min(values) if values else None, "max": max(values) if values else None}


def _place_rank(p: dict, gaz) -> tuple:
    e = gaz.by_id.get(p["gazetteer_id"]) if p.get("gazetteer_id") else None
    kind = e.kind if e is not None else None
    return (-_BROAD_KINDS.get(kind, 3) if e is not None else -2.5, p["name"] or "")


def incident_record(incident_id: str, mentions: list[dict], gaz=None) -> dict:
    """One incident: every report's version side by side (see the module docstring)."""
    gaz = gaz or load_gazetteer()
    ms = sorted(mentions, key=lambda d: (d.get("date") or "9999", d["mention_id"]))
    dates = [{"date": d["date"], "source": d.get("date_source"), "doc_id": d["doc_id"]}
             for d in ms if d.get("date")]
    told = [x["date"] for x in dates if x["source"] in ("stated", "weekday")] or [x["date"] for x in dates]
    places: dict[str, dict] = {}
    for d in ms:
        if d.get("place"):
            p = places.setdefault(d["place"]["actor_id"], {**d["place"], "reports": 0})
            p["reports"] += 1
    place = max(places.values(), key=lambda p: (p["reports"], _place_rank(p, gaz))) if places else None
    attackers: dict[str, dict] = {}
    targets: dict[str, dict] = {}
    for d in ms:
        for a in d.get("attackers", []):
            rec = attackers.setdefault(a["actor_id"], {"actor_id": a["actor_id"], "name": a["name"], "reports": []})
            rec["reports"].append({"doc_id": d["doc_id"], "status": a["status"], "by": a.get("by"),
                                   "denied": bool(a.get("denied"))})
        for t in d.get("targets", []):
            targets.setdefault(t["actor_id"], {"actor_id": t["actor_id"], "name": t["name"]})
    killed = _figures(ms, "killed")
    wounded = _figures(ms, "wounded")
    disputes = []
    per_report_killed = {d["doc_id"]: d.get("killed") for d in ms if d.get("killed") is not None}
    if len(set(per_report_killed.values())) > 1:
        disputes.append("killed")
    named = [frozenset(a["actor_id"] for a in d.get("attackers", [])
                       if a["status"] in ("claimed", "attributed", "stated") and not a.get("denied"))
             for d in ms]
    named = [n for n in named if n]
    denied = any(a.get("denied") for d in ms for a in d.get("attackers", []))
    if len(set(named)) > 1 or denied:
        disputes.append("attackers")
    reports = []
    seen_docs = []
    for d in ms:
        if d["document_id"] in seen_docs:
            continue
        seen_docs.append(d["document_id"])
        reports.append({
            "doc_id": d["doc_id"], "document_id": d["document_id"], "mention_id": d["mention_id"],
            "title": d.get("title"), "published": d.get("published"),
            "date": d.get("date"), "date_source": d.get("date_source"),
            "place": d["place"]["name"] if d.get("place") else None,
            "attackers": [{"actor_id": a["actor_id"], "name": a["name"], "status": a["status"], "by": a.get("by"),
                           "denied": bool(a.get("denied"))} for a in d.get("attackers", [])],
            "targets": [t["name"] for t in d.get("targets", [])],
            "killed": d.get("killed"), "killed_figures": d.get("killed_figures", []),
            "wounded": d.get("wounded"), "wounded_figures": d.get("wounded_figures", []),
            "trigger": d.get("trigger"), "evidence": d.get("evidence"), "start": d.get("start"), "end": d.get("end"),
        })
    return {
        "incident_id": incident_id,
        "date": min(told) if told else None,
        "date_max": max(told) if told else None,
        "dates": dates,
        "place": {"actor_id": place["actor_id"], "name": place["name"], "gazetteer_id": place.get("gazetteer_id")}
        if place else None,
        "places": [{"actor_id": p["actor_id"], "name": p["name"], "reports": p["reports"]} for p in places.values()],
        "attackers": sorted(attackers.values(), key=lambda a: (-len(a["reports"]), a["name"] or "")),
        "targets": sorted(targets.values(), key=lambda t: t["name"] or ""),
        "killed": killed,
        "wounded": wounded,
        "sources": len(reports),
        "disputed": bool(disputes),
        "disputes": disputes,
        "reports": reports,
    }
