"""Exports (GraphML, GEXF, STIX, CSV, Cypher, JSON Lines) and `allegiance import`, on real
DuckDB files filled by hand; each output is read back with its format's own library."""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
import stix2
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.export import FORMATS, ExportError, period, select
from allegiance.export import csv_events, csv_facts, cypher, gexf, graphml, jsonl, stix
from allegiance.export.jsonl import ImportFileError, import_file
from allegiance.store import Store
from conftest import build_extraction, sample_pair

runner = CliRunner()

# An invented attack report, and an invented article full of hostile characters.
TEXT_C = "Boko Example fighters attacked Maiduguri, killing 3 people. The group is active in the Sahel."
HOSTILE_NAME = "O'Neil \"Front\" \\ =SUM(A1)"
HOSTILE_EVIDENCE = "The O'Neil \"Front\" \\ =SUM(A1) said:\n'we\\'ll stay'\t\x01;\u2028 // DETACH DELETE n; in Sirte."


def extra_extractions():
    c = build_extraction(
        "c.txt",
        TEXT_C,
        [
            ("e1", "ORG", "Boko Haram", ["Boko Example"], "boko_haram"),
            ("e2", "PLACE", "Maiduguri", ["Maiduguri"], "maiduguri"),
            ("e3", "PLACE", "Sahel", ["Sahel"], "sahel"),
        ],
        [
            ("e1", "attacked", "e2", "Boko Example fighters attacked Maiduguri, killing 3 people.",
             {"attributes": {"killed": 3, "place": "e2"}, "confidence": 0.9}),
            ("e1", "active_in", "e3", "The group is active in the Sahel."),
        ],
        published="2016-03-04",
        title="Attack in the north-east",
    )
    d = build_extraction(
        "d.txt",
        HOSTILE_EVIDENCE,
        [
            ("e1", "ORG", HOSTILE_NAME, [HOSTILE_NAME], None),
            ("e2", "PLACE", "Sirte", ["Sirte"], "sirte"),
        ],
        [("e1", "active_in", "e2", HOSTILE_EVIDENCE, {"attributed_to": "=cmd|' /C calc'!A0"})],
        published="2017-01",
        title="=HYPERLINK(\"http://x.invalid\")",
    )
    d.document.source = "https://news.example.invalid/a?b=1&c='2'"
    return [c, d]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "export.duckdb"
    with Store(path) as s:
        for ex in sample_pair() + extra_extractions():
            s.add_extraction(ex)
    return path


@pytest.fixture
def store(db):
    with Store(db, read_only=True) as s:
        yield s


def render(module, sel) -> str:
    buf = io.StringIO()
    module.write(sel, buf)
    return buf.getvalue()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# -- selection -----------------------------------------------------------------------------
def test_period():
    assert period("2013-06") == ("2013-06-01", "2013-06-30")
    assert period("2016-02") == ("2016-02-01", "2016-02-29")
    assert period("2015") == ("2015-01-01", "2015-12-31")
    assert period("2014-02-03") == ("2014-02-03", "2014-02-03")
    assert period("2014-13") is None and period("soon") is None and period(None) is None


def test_select_unfiltered_is_the_whole_store(store):
    sel = select(store)
    counts = store.counts()
    assert not sel.filtered
    assert len(sel.facts) == counts["facts"] == 7
    assert len(sel.actors) == counts["actors"] and len(sel.documents) == counts["documents"] == 4
    assert all(f["document_id"] in sel.documents for f in sel.facts)
    aqim = sel.actors["aqim"]
    assert "AQIM" in aqim["aliases"]
    assert (aqim["first_seen"], aqim["last_seen"]) == ("2013-06", "2015")


def test_select_filters(store):
    rel = lambda sel: sorted(f["relation"] for f in sel.facts)  # noqa: E731
    assert rel(select(store, since="2015")) == ["active_in", "active_in", "active_in", "attacked", "rival_of"]
    assert rel(select(store, until="2014")) == ["leader_of", "pledged_allegiance_to"]
    assert "rival_of" not in rel(select(store, include_hedged=False))
    sel = select(store, actors=["Abu Example"])
    assert rel(sel) == ["leader_of"] and set(sel.actors) == {"aqim", "person-abu-example"}
    assert len(sel.documents) == 1
    sel = select(store, actors=["AQIM", "Maiduguri"], until="2016")
    assert rel(sel) == ["attacked", "leader_of", "pledged_allegiance_to", "rival_of"]
    with pytest.raises(ExportError):
        select(store, actors=["Nobody Whatsoever Brigade"])


# -- GraphML / GEXF --------------------------------------------------------------------------
def test_graphml_reads_back(store):
    sel = select(store)
    G = nx.read_graphml(io.BytesIO(render(graphml, sel).encode("utf-8")))
    assert set(G.nodes) == set(sel.actors)
    aqim = G.nodes["aqim"]
    assert aqim["label"] == "al-Qaeda in the Islamic Maghreb" and aqim["type"] == "ORG"
    assert "AQIM" in aqim["aliases"].split("; ")
    assert aqim["first_seen"] == "2013-06" and aqim["last_seen"] == "2015"
    assert G.nodes["boko_haram"]["kind"] == "armed_group"
    edges = {(u, v, d["relation"]): d for u, v, d in G.edges(data=True)}
    assert len(edges) == G.number_of_edges() == 7
    pledge = edges[("org-uqba-example-brigade", "aqim", "pledged_allegiance_to")]
    assert pledge["evidence_count"] == 1 and pledge["hedged"] is False
    assert pledge["first_seen"] == pledge["last_seen"] == "2013-06"
    assert pledge["confidence"] == pytest.approx(0.8)
    rival = edges[("aqim", "org-uqba-example-brigade", "rival_of")]
    assert rival["hedged"] is True and rival["symmetric"] is True
    hostile = [d for d in G.nodes.values() if d.get("label", "").startswith("O'Neil")]
    assert hostile and hostile[0]["label"] == HOSTILE_NAME  # quotes, backslash survive
    ev = [d["evidence"] for d in edges.values() if "Sirte" in d["evidence"]][0]
    assert "\x01" not in ev and "'we\\'ll stay'" in ev  # control char dropped, rest kept


def test_graphml_folds_repeated_facts(tmp_path):
    path = tmp_path / "fold.duckdb"
    with Store(path) as s:
        for i, day in enumerate(("2012-01-05", "2013-07")):
            text = f"Report {i}: Abu Example leads AQIM."
            s.add_extraction(build_extraction(
                f"r{i}.txt", text,
                [("e1", "PERSON", "Abu Example", [], None), ("e2", "ORG", "AQIM", ["AQIM"], "aqim")],
                [("e1", "leader_of", "e2", "Abu Example leads AQIM.", {"date": day, "confidence": 0.5 + i / 10})],
            ))
        sel = select(s)
    G = nx.read_graphml(io.BytesIO(render(graphml, sel).encode()))
    (u, v, d), = G.edges(data=True)
    assert d["evidence_count"] == 2 and d["first_seen"] == "2012-01-05" and d["last_seen"] == "2013-07"
    assert d["confidence"] == pytest.approx(0.6)
    # one tie, in force from its first report (leadership ends only at a defection)
    assert (d["span_start"], d["in_force"], d["spans"]) == ("2012-01-05", True, "2012-01-05..")
    assert "span_end" not in d and "ended_by" not in d
    H = nx.read_gexf(io.BytesIO(render(gexf, sel).encode()))
    (_, _, e), = H.edges(data=True)
    # an open spell has no end attribute; networkx's reader gives it as the string "None"
    assert e["spells"] == [("2012-01-05", "None")] and "start" not in e


def test_gexf_13_dynamic_reads_back(store):
    sel = select(store)
    text = render(gexf, sel)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "{http://gexf.net/1.3}gexf" and root.get("version") == "1.3"
    graph = root.find("{http://gexf.net/1.3}graph")
    assert graph.get("mode") == "dynamic" and graph.get("timeformat") == "date"
    G = nx.read_gexf(io.BytesIO(text.encode("utf-8")))
    assert set(G.nodes) == set(sel.actors)
    assert G.nodes["aqim"]["type"] == "ORG" and "AQIM" in G.nodes["aqim"]["aliases"]
    edges = {(u, v, d["relation"]): d for u, v, d in G.edges(data=True)}
    pledge = edges[("org-uqba-example-brigade", "aqim", "pledged_allegiance_to")]
    # spells: the tie's spans (in force from the first day of its first report, no end)
    assert pledge["spells"] == [("2013-06-01", "None")] and pledge["span_start"] == "2013-06"
    assert pledge["evidence_count"] == 1 and pledge["hedged"] is False
    attack = edges[("boko_haram", "maiduguri", "attacked")]
    assert attack["spells"] == [("2016-03-04", "None")]
    assert (attack["first_seen"], attack["last_seen"]) == ("2016-03-04", "2016-03-04")
    assert attack["confidence"] == pytest.approx(0.9)
    assert edges[("aqim", "org-uqba-example-brigade", "rival_of")]["hedged"] is True


def test_graph_exports_carry_tie_spans(tmp_path):
    """A member defects, and is reported a member again later: two spans, the first ended by
    the defection. GraphML carries them as edge attributes, GEXF also as spells (the day
    before the end is the last day in force); both read back with networkx."""
    path = tmp_path / "spans.duckdb"
    ents = [("e1", "PERSON", "Tarik Venn", ["Tarik Venn"], None), ("e2", "ORG", "Osprey Front", ["Osprey Front"], None)]
    reports = [("m1.txt", "member_of", "Tarik Venn is a member of Osprey Front.", "2014-05-02"),
               ("d1.txt", "defected_from", "Tarik Venn defected from Osprey Front.", "2016-08"),
               ("m2.txt", "member_of", "Tarik Venn is a member of Osprey Front again.", "2019")]
    with Store(path) as s:
        for doc, rel, sentence, day in reports:
            s.add_extraction(build_extraction(doc, sentence, ents, [("e1", rel, "e2", sentence, {"date": day})],
                                              published="2020-01-01"))
        ended_by = s.con.execute("SELECT id FROM facts WHERE relation = 'defected_from'").fetchone()[0]
        sel = select(s)
        G = nx.read_graphml(io.BytesIO(render(graphml, sel).encode("utf-8")))
        text = render(gexf, sel)
        H = nx.read_gexf(io.BytesIO(text.encode("utf-8")))
    ns = "{http://gexf.net/1.3}"
    spells = [(sp.get("start"), sp.get("end")) for edge in ET.fromstring(text.encode("utf-8")).iter(f"{ns}edge")
              if edge.get("label") == "member_of" for sp in edge.iter(f"{ns}spell")]
    assert spells == [("2014-05-02", "2016-07-31"), ("2019-01-01", None)]  # open: no end attribute
    member = next(d for _, _, d in G.edges(data=True) if d["relation"] == "member_of")
    assert member["spans"] == "2014-05-02..2016-08; 2019.."
    assert (member["span_start"], member["in_force"], member["ended_by"]) == ("2014-05-02", True, ended_by)
    assert "span_end" not in member  # in force again
    gmember = next(d for _, _, d in H.edges(data=True) if d["relation"] == "member_of")
    assert gmember["spells"] == [("2014-05-02", "2016-07-31"), ("2019-01-01", "None")]  # networkx: "None"
    assert gmember["spans"] == member["spans"] and gmember["ended_by"] == ended_by
    # a bounded export ends where its facts do: up to 2017 the tie has ended
    with Store(path, read_only=True) as s:
        sel = select(s, until="2017")
        G = nx.read_graphml(io.BytesIO(render(graphml, sel).encode("utf-8")))
    member = next(d for _, _, d in G.edges(data=True) if d["relation"] == "member_of")
    assert (member["span_end"], member["in_force"], member["spans"]) == ("2016-08", False, "2014-05-02..2016-08")


# -- STIX ----------------------------------------------------------------------------------
def test_stix_bundle(store):
    sel = select(store)
    text = render(stix, sel)
    bundle = stix2.parse(text, allow_custom=True)
    objs = {o.id: o for o in bundle.objects}
    by_actor = {o.get("x_allegiance_actor_id"): o for o in bundle.objects if o.get("x_allegiance_actor_id")}
    assert set(by_actor) == set(sel.actors)
    aqim = by_actor["aqim"]
    assert aqim.type == "intrusion-set" and "AQIM" in aqim.aliases
    assert by_actor["org-uqba-example-brigade"].type == "intrusion-set"  # ORG of unknown kind
    person = by_actor["person-abu-example"]
    assert person.type == "identity" and person.identity_class == "individual"
    town = by_actor["maiduguri"]
    assert town.type == "location" and town.country == "NG"
    assert town.latitude == pytest.approx(11.83, abs=0.5) and town.longitude == pytest.approx(13.15, abs=0.5)
    assert by_actor["place-mount-nowhere"].region == "unknown"

    rels = {o.x_allegiance_fact_id: o for o in bundle.objects if o.type == "relationship"}
    assert len(rels) == len(sel.facts)
    facts = {f["id"]: f for f in sel.facts}
    for fid, r in rels.items():
        f = facts[fid]
        assert objs[r.source_ref].x_allegiance_actor_id == f["subject_id"]
        assert objs[r.target_ref].x_allegiance_actor_id == f["object_id"]
        assert r.confidence == round(f["confidence"] * 100)
    types = {r.x_allegiance_relation: r.relationship_type for r in rels.values()}
    assert types["leader_of"] == "leads" and types["pledged_allegiance_to"] == "pledged-allegiance-to"
    assert types["attacked"] == "targets" and types["active_in"] == "operates-in"
    pledge = next(r for r in rels.values() if r.x_allegiance_relation == "pledged_allegiance_to")
    assert pledge.description.startswith("The Uqba Example Brigade pledged")
    assert pledge.start_time.isoformat().startswith("2013-06-01T00:00:00")
    assert pledge.stop_time.isoformat().startswith("2013-06-30T23:59:59")
    rival = next(r for r in rels.values() if r.x_allegiance_relation == "rival_of")
    assert rival.x_allegiance_hedged is True and rival.confidence == 40

    reports = [o for o in bundle.objects if o.type == "report"]
    assert len(reports) == len(sel.documents)
    for rep in reports:
        assert all(ref in objs for ref in rep.object_refs)
        assert rep.external_references[0].external_id in {d["doc_id"] for d in sel.documents.values()}
    hostile = next(r for r in reports if r.external_references[0].external_id == "d.txt")
    assert hostile.external_references[0].url.startswith("https://news.example.invalid/")
    assert hostile.published.isoformat().startswith("2017-01-01")

    # deterministic ids and content: exporting again gives the same bundle
    assert render(stix, select(store)) == text


def test_stix_validates():
    stix2validator = pytest.importorskip("stix2validator")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.duckdb"
        with Store(path) as s:
            for ex in sample_pair() + extra_extractions():
                s.add_extraction(ex)
            text = render(stix, select(s))
    result = stix2validator.validate_string(text, stix2validator.ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


# -- CSV -----------------------------------------------------------------------------------
def test_events_csv(store):
    rows = list(csv.DictReader(io.StringIO(render(csv_events, select(store)))))
    assert len(rows) == 1
    ev = rows[0]
    assert ev["event_type"] == "Attack" and ev["event_date"] == "2016-03-04" and ev["year"] == "2016"
    assert (ev["actor1"], ev["actor2"]) == ("Boko Haram", "Maiduguri")
    assert ev["location"] == "Maiduguri" and ev["iso"] == "NG" and ev["country"] == "Nigeria"
    assert ev["fatalities"] == "3" and ev["time_precision"] == "1"
    assert ev["notes"] == "Boko Example fighters attacked Maiduguri, killing 3 people."
    assert ev["source"] == "Attack in the north-east" and ev["source_id"] == "c.txt"


def test_facts_csv(store):
    sel = select(store)
    rows = list(csv.DictReader(io.StringIO(render(csv_facts, sel))))
    assert [r["id"] for r in rows] == [f["id"] for f in sel.facts]
    assert set(csv_facts.COLUMNS) == set(rows[0])
    by_rel = {r["relation"]: r for r in rows}
    assert by_rel["rival_of"]["hedged"] == "true" and by_rel["leader_of"]["hedged"] == "false"
    assert by_rel["attacked"]["subject_id"] == "boko_haram"
    assert json.loads(by_rel["attacked"]["attributes"]) == {"killed": 3, "place": "e2"}
    hostile = next(r for r in rows if r["doc_id"] == "d.txt")
    # control characters are escaped visibly (a CSV on stdout reaches a terminal; a cell's
    # newline would start a line of the article's choosing), quotes and backslashes kept;
    # formula-looking cells are neutralised
    assert hostile["evidence"] == (
        "The O'Neil \"Front\" \\ =SUM(A1) said:\\n'we\\'ll stay'\\t\\x01;\\u2028 // DETACH DELETE n; in Sirte."
    )
    assert hostile["title"].startswith("'=HYPERLINK") and hostile["attributed_to"].startswith("'=cmd")
    assert csv_facts.cell("-1 dead") == "'-1 dead" and csv_facts.cell(-1) == -1


# -- Cypher --------------------------------------------------------------------------------
_CYPHER_ESC = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def split_cypher(script: str) -> tuple[list[str], list[str]]:
    """(statements, string literals) of a script: a small lexer for quotes, escapes,
    backquoted names and // comments; asserts nothing is left open."""
    stmts, strings, cur = [], [], []
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in "'\"":
            j, buf = i + 1, []
            while True:
                assert j < n, "unterminated string"
                c = script[j]
                if c == "\\":
                    e = script[j + 1]
                    if e in _CYPHER_ESC:
                        buf.append(_CYPHER_ESC[e])
                        j += 2
                    else:
                        assert e == "u", f"bad escape \\{e}"
                        buf.append(chr(int(script[j + 2 : j + 6], 16)))
                        j += 6
                    continue
                assert c != "\n", "raw newline inside a string"
                if c == ch:
                    break
                buf.append(c)
                j += 1
            strings.append("".join(buf))
            cur.append(script[i : j + 1])
            i = j + 1
        elif ch == "`":
            j = script.index("`", i + 1)
            cur.append(script[i : j + 1])
            i = j + 1
        elif script.startswith("//", i):
            i = script.find("\n", i) if "\n" in script[i:] else n
        elif ch == ";":
            stmts.append("".join(cur).strip() + ";")
            cur = []
            i += 1
        else:
            cur.append(ch)
            i += 1
    assert not "".join(cur).strip(), f"text after the last ';': {''.join(cur)[:80]!r}"
    return stmts, strings


@pytest.mark.parametrize(
    "value",
    ["plain", "it's", 'say "no"', "back\\slash\\", "two\nlines\r\n", "tab\tbell\x07nul\x00",
     "\u2028sep\u2029", "end\\'", "';MATCH (n) DETACH DELETE n;//", "عربي ✓ 🚩"],
)
def test_cypher_string_round_trips(value):
    lit = cypher.string(value)
    assert "\n" not in lit and "\r" not in lit
    stmts, strings = split_cypher(f"RETURN {lit};")
    assert stmts == [f"RETURN {lit};"] and strings == [value]


def test_cypher_script(store):
    sel = select(store)
    script = render(cypher, sel)
    stmts, strings = split_cypher(script)
    assert len(stmts) == 3 + len(sel.actors) + len(sel.documents) + len(sel.facts)
    assert all(s.endswith(";") for s in stmts)
    assert sum(s.startswith("MERGE (n:Actor ") for s in stmts) == len(sel.actors)
    assert sum(s.startswith("MERGE (n:Document ") for s in stmts) == len(sel.documents)
    fact_stmts = [s for s in stmts if s.startswith("MATCH (s:Actor")]
    assert len(fact_stmts) == len(sel.facts)
    assert all("EVIDENCED_BY" in s and "fact_id:" in s for s in fact_stmts)
    assert any(":PLEDGED_ALLEGIANCE_TO {" in s for s in fact_stmts)
    assert any("SET n:Person" in s for s in stmts) and any("SET n:Place" in s for s in stmts)
    # hostile text comes back whole from the string literals
    assert HOSTILE_EVIDENCE in strings and HOSTILE_NAME in strings
    assert cypher.rel_type("pledged_allegiance_to") == "PLEDGED_ALLEGIANCE_TO"
    assert cypher.identifier("odd name`") == "`odd name```"


# -- JSON Lines and import ---------------------------------------------------------------------
def _fact_view(s: Store) -> list[tuple]:
    return [
        (f["id"], f["subject_id"], f["relation"], f["object_id"], f["evidence"], f["date"], f["date_source"],
         f["start"], f["end"], f["confidence"], bool(f["hedged"]), f["attributed_to"], f["attributes"], f["doc_id"])
        for f in s.facts()
    ]


def test_jsonl_round_trip(tmp_path, store):
    text = render(jsonl, select(store))
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["format"] == "allegiance-jsonl"
    assert {r["type"] for r in lines[1:]} >= {"document", "actor", "alias", "mention", "fact"}
    assert "\u2028" not in text  # escaped: JSON Lines readers may split on it
    dump = tmp_path / "dump.jsonl"
    dump.write_text(text, encoding="utf-8")

    target = tmp_path / "copy.duckdb"
    with Store(target) as t:
        result = import_file(t, dump)
        assert result.added["fact"] == len(store.facts()) and result.skipped_documents == 0
        assert t.counts() == store.counts()
        assert _fact_view(t) == _fact_view(store)
        assert t.actors() == store.actors()
        assert t.actor_card("aqim")["aliases"] == store.actor_card("aqim")["aliases"]
        again = import_file(t, dump)  # importing twice adds nothing
        assert sum(again.added.values()) == 0 and again.skipped_documents == 4
        assert t.counts() == store.counts()
        assert render(jsonl, select(t)) == text  # and exports the same dump


def test_jsonl_version_1_dump_still_imports(tmp_path, store):
    """Dumps written before attack mentions and reviews were dumped (version 1) load."""
    lines = [json.loads(line) for line in render(jsonl, select(store)).splitlines()]
    lines[0]["version"] = 1
    old = [r for r in lines if r["type"] not in ("attack_mention", "incident_edit", "review")]
    with Store(tmp_path / "v1.duckdb") as t:
        import_file(t, "-", io.StringIO("".join(json.dumps(r) + "\n" for r in old)))
        assert t.counts() == store.counts()
        assert _fact_view(t) == _fact_view(store)


def test_jsonl_import_merges_into_a_filled_store(tmp_path, store):
    text = render(jsonl, select(store))
    target = tmp_path / "partial.duckdb"
    with Store(target) as t:
        t.add_extraction(sample_pair()[0])  # a.txt is already there
        result = import_file(t, "-", io.StringIO(text))
        assert result.skipped_documents == 1
        assert t.counts() == store.counts()
        assert _fact_view(t) == _fact_view(store)
        assert {a["alias"] for a in t.actor_card("aqim")["aliases"]} == {
            a["alias"] for a in store.actor_card("aqim")["aliases"]
        }


def test_jsonl_filtered_export_imports_a_consistent_subgraph(tmp_path, store):
    text = render(jsonl, select(store, actors=["Boko Haram"]))
    with Store(tmp_path / "sub.duckdb") as t:
        import_file(t, "-", io.StringIO(text))
        assert sorted(f["relation"] for f in t.facts()) == ["active_in", "attacked"]
        assert {a["id"] for a in t.actors()} == {"boko_haram", "maiduguri", "sahel"}
        assert t.counts()["documents"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json\n", ":1: not JSON"),
        ('{"type": "header", "format": "other", "version": 1}\n', "not an allegiance-jsonl file"),
        ('{"type": "header", "format": "allegiance-jsonl", "version": 99, "schema_version": "1"}\n', "version 99"),
        ('{"type": "spaceship"}\n', "unknown record type"),
        ('\n{"type": "fact", "id": "x"}\n', ":2: fact record lacks"),
        ('{"type": "actor", "id": "x", "name": "X", "entity_type": "TANK"}\n', "actor type"),
    ],
)
def test_import_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with Store(tmp_path / "bad.duckdb") as t:
        with pytest.raises(ImportFileError, match=re.escape(message)):
            import_file(t, path)
        assert sum(t.counts().values()) == 0


def test_import_unknown_actor_adds_nothing(tmp_path, store):
    recs = [json.loads(x) for x in render(jsonl, select(store)).splitlines()]
    for r in recs:
        if r["type"] == "fact":
            r["object_id"] = "no-such-actor"
            break
    text = "\n".join(json.dumps(r) for r in recs) + "\n"
    with Store(tmp_path / "t.duckdb") as t:
        with pytest.raises(ImportFileError, match="unknown actor 'no-such-actor'"):
            import_file(t, "-", io.StringIO(text))
        assert sum(t.counts().values()) == 0


# -- command line -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_cli_export_every_format(db, tmp_path, fmt):
    out = tmp_path / f"out{FORMATS[fmt][1]}"
    r = invoke("export", fmt, "--db", db, "-o", out)
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0 and "exported" in r.stderr
    assert not list(tmp_path.glob(".out*"))  # no temp file left behind
    text = out.read_text("utf-8")
    if fmt == "graphml":
        assert nx.read_graphml(out).number_of_edges() == 7
    elif fmt == "gexf":
        assert nx.read_gexf(out).number_of_edges() == 7
    elif fmt == "stix":
        assert stix2.parse(text, allow_custom=True).type == "bundle"
    elif fmt == "incidents-csv":
        # these invented extractions carry no attack mentions, so the store holds no incident:
        # the header alone, still readable (rows are tested in tests/test_incidents_web.py)
        from allegiance.export.csv_incidents import COLUMNS

        reader = csv.DictReader(io.StringIO(text))
        assert list(reader) == [] and reader.fieldnames == COLUMNS
    elif fmt.endswith("csv"):
        assert list(csv.DictReader(io.StringIO(text)))
    elif fmt == "cypher":
        assert split_cypher(text)[0]
    else:
        assert json.loads(text.splitlines()[0])["type"] == "header"


def test_cli_export_filters_to_stdout(db):
    r = invoke("export", "facts-csv", "--db", db, "--since", "2015", "--no-hedged")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sorted(x["relation"] for x in rows) == ["active_in", "active_in", "active_in", "attacked"]
    r = invoke("export", "graphml", "--db", db, "--actor", "Abu Example", "--actor", "Maiduguri", "--until", "2016")
    assert r.exit_code == 0, r.output
    G = nx.read_graphml(io.BytesIO(r.stdout.encode()))
    assert sorted(d["relation"] for _, _, d in G.edges(data=True)) == ["attacked", "leader_of"]
    r = invoke("export", "events-csv", "--db", db, "--until", "2015")
    assert r.exit_code == 0 and len(list(csv.DictReader(io.StringIO(r.stdout)))) == 0


def test_cli_export_errors(db, tmp_path):
    assert invoke("export", "pdf", "--db", db).exit_code == 2
    assert invoke("export", "stix", "--db", db, "--since", "last year").exit_code == 2
    r = invoke("export", "stix", "--db", db, "--actor", "Nobody Whatsoever Brigade")
    assert r.exit_code == 1 and "no actor matches" in r.stderr
    r = invoke("export", "stix", "--db", tmp_path / "missing.duckdb")
    assert r.exit_code == 1 and "no store" in r.stderr


def test_cli_import(db, tmp_path):
    dump = tmp_path / "dump.jsonl"
    assert invoke("export", "jsonl", "--db", db, "-o", dump).exit_code == 0
    target = tmp_path / "imported.duckdb"
    r = invoke("import", dump, "--db", target)
    assert r.exit_code == 0, r.output
    assert "imported: 4 documents" in r.stdout and "7 facts" in r.stdout
    r = invoke("import", dump, "--db", target)
    assert r.exit_code == 0 and "imported: 0 documents" in r.stdout and "4 documents already" in r.stdout
    with Store(db, read_only=True) as a, Store(target, read_only=True) as b:
        assert a.counts() == b.counts() and _fact_view(a) == _fact_view(b)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    r = invoke("import", bad, "--db", target)
    assert r.exit_code == 1 and "bad.jsonl:1: not JSON" in r.stderr
