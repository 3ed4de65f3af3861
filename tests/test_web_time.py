"""Time in the web app: ties with spans, the network as of a date, what changed between two
dates, and the network page's slider, stable layout, grouped edges and URL state.

The store is built from invented articles written here (hand-made extractions, no corpus
text): the commander Kamal Ossaro is a member of the Northern Ridge Front in 2014, and in a
2018 article defects from it and joins the Coastal Sands Brigade. A real DuckDB file, a real
uvicorn server on 127.0.0.1 and Debian's Chromium (fixtures of tests/test_web_browser.py)."""
from __future__ import annotations


import pytest

from allegiance.analysis import ties as T
from allegiance.store import Store
from tests.conftest import build_extraction
from tests.test_web_browser import DOCS, browser, page, serving  # noqa: F401  (fixtures)

uvicorn = pytest.importorskip("uvicorn")

from playwright.sync_api import expect  # noqa: E402

from allegiance.web.app import create_app  # noqa: E402

RIDGE = ("e1", "ORG", "Northern Ridge Front", ["Northern Ridge Front", "the Front"], None)
SANDS = ("e2", "ORG", "Coastal Sands Brigade", ["Coastal Sands Brigade"], None)
OSSARO = ("e3", "PERSON", "Kamal Ossaro", ["Kamal Ossaro", "Ossaro"], None)
VALE = ("e4", "PLACE", "Tarsen Vale", ["Tarsen Vale"], None)
HALIM = ("e5", "PERSON", "Idris Halim", ["Idris Halim"], None)

ART_2014 = (
    "Fighting spreads in Tarsen Vale\n\n"
    "Kamal Ossaro, a field commander, is a member of the Northern Ridge Front. "
    "The Northern Ridge Front is active in Tarsen Vale, residents said. "
    "Idris Halim leads the Northern Ridge Front."
)
ART_2016 = (
    "Rivals on the coast\n\n"
    "The Coastal Sands Brigade is a rival of the Northern Ridge Front. "
    "Idris Halim still leads the Northern Ridge Front, a spokesman said."
)
ART_2018 = (
    "Commander changes sides\n\n"
    "In August 2018 Kamal Ossaro defected from the Northern Ridge Front. "
    "Ossaro then joined the Coastal Sands Brigade, according to two of his aides."
)
# no publication date and no date of its own anywhere: cannot be placed in time
ART_UNDATED = "Undated note\n\nThe Coastal Sands Brigade is active in Tarsen Vale."


def time_extractions():
    return [
        build_extraction("ridge-2014.txt", ART_2014, [RIDGE, OSSARO, VALE, HALIM], [
            ("e3", "member_of", "e1", "Kamal Ossaro, a field commander, is a member of the Northern Ridge Front."),
            ("e1", "active_in", "e4", "The Northern Ridge Front is active in Tarsen Vale, residents said."),
            ("e5", "leader_of", "e1", "Idris Halim leads the Northern Ridge Front."),
        ], published="2014-03-10", title="Fighting spreads in Tarsen Vale"),
        build_extraction("coast-2016.txt", ART_2016, [RIDGE, SANDS, HALIM], [
            ("e2", "rival_of", "e1", "The Coastal Sands Brigade is a rival of the Northern Ridge Front."),
            ("e5", "leader_of", "e1", "Idris Halim still leads the Northern Ridge Front, a spokesman said."),
        ], published="2016-06-01", title="Rivals on the coast"),
        build_extraction("sides-2018.txt", ART_2018, [RIDGE, SANDS, OSSARO], [
            ("e3", "defected_from", "e1", "In August 2018 Kamal Ossaro defected from the Northern Ridge Front.",
             {"date": "2018-08"}),
            ("e3", "joined", "e2", "Ossaro then joined the Coastal Sands Brigade, according to two of his aides.",
             {"date": "2018-08"}),
        ], published="2018-09-14", title="Commander changes sides"),
        build_extraction("note.txt", ART_UNDATED, [SANDS, VALE], [
            ("e2", "active_in", "e4", "The Coastal Sands Brigade is active in Tarsen Vale."),
        ]),
    ]


def _ids(store):
    """Actor ids the store gave our invented names."""
    return {a["name"]: a["id"] for a in store.actors(limit=100)}


@pytest.fixture(scope="module")
def time_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("webtime") / "time.duckdb"
    with Store(db) as store:
        for ex in time_extractions():
            store.add_extraction(ex)
    return db


@pytest.fixture(scope="module")
def server(time_db):
    with serving(create_app(time_db)) as app:
        with app.state.ws.lock:
            app.state.ids = _ids(app.state.ws.store)
        yield app


@pytest.fixture(scope="module")
def http(server):
    import httpx

    with httpx.Client(base_url=server.state.base_url, timeout=30) as c:
        yield c


# -- the analysis stage -------------------------------------------------------------------
def test_spans_dates_and_as_of(time_db):
    with Store(time_db, read_only=True) as store:
        ids = _ids(store)
        rows = T.load(store.facts, store.con, keep_undated=True)
    o, ridge, sands = ids["Kamal Ossaro"], ids["Northern Ridge Front"], ids["Coastal Sands Brigade"]
    by_rel = {(f["subject_id"], f["relation"], f["object_id"]): f for f in rows}
    member = by_rel[(o, "member_of", ridge)]
    # no date of its own: placed at its article's date and marked as reported
    assert member["when"] == "2014-03-10" and member["date_source"] == "as_reported"
    assert member["date_basis"] == "published"
    assert by_rel[(o, "defected_from", ridge)]["date_source"] == "stated"
    undated = [f for f in rows if f["when"] is None]
    assert [f["evidence"] for f in undated] == ["The Coastal Sands Brigade is active in Tarsen Vale."]
    ties = {(t["subject_id"], t["relation"], t["object_id"]): t for t in T.build_ties([f for f in rows if f["when"]])}
    span = ties[(o, "member_of", ridge)]["spans"]
    assert span == [{"start": "2014-03-10", "end": "2018-08", "ended_by": span[0]["ended_by"]}]
    assert span[0]["ended_by"]["relation"] == "defected_from"
    # the leader's tie is reported twice and never ended: one tie, two sources
    lead = ties[(ids["Idris Halim"], "leader_of", ridge)]
    assert lead["sources"] == 2 and lead["spans"][0]["end"] is None and lead["first"] == "2014-03-10"
    as_of = {t["relation"] for t in T.network_as_of(list(ties.values()), "2014")
             if o in (t["subject_id"], t["object_id"])}
    assert as_of == {"member_of"}
    later = {t["relation"] for t in T.network_as_of(list(ties.values()), "2018")
             if o in (t["subject_id"], t["object_id"])}
    assert later == {"defected_from", "joined"}
    # July 2018: not yet defected
    assert (o, "member_of", ridge) in {(t["subject_id"], t["relation"], t["object_id"])
                                       for t in T.network_as_of(list(ties.values()), "2018-07")}
    ch = T.changes(list(ties.values()), "2014", "2018")
    assert {(t["subject_id"], t["relation"]) for t in ch["ended"]} == {(o, "member_of")}
    assert {(t["subject_id"], t["relation"], t["object_id"]) for t in ch["appeared"]} >= {
        (o, "joined", sands), (o, "defected_from", ridge)}
    assert [t["relation"] for t in ch["changed"]] == ["leader_of"]  # re-reported in 2016
    with pytest.raises(ValueError):
        T.changes(list(ties.values()), "2018", "2014")


def test_a_new_membership_elsewhere_ends_the_old_one_unless_the_groups_are_tied():
    def f(i, s, r, o, when):
        return {"id": f"f{i}", "subject_id": s, "subject": s, "relation": r, "object_id": o, "object": o,
                "when": when, "date_source": "stated", "document_id": f"d{i}", "doc_id": f"d{i}"}

    rows = [f(1, "p", "member_of", "a", "2014"), f(2, "p", "pledged_allegiance_to", "b", "2016-02"),
            f(3, "q", "member_of", "a", "2014"), f(4, "q", "member_of", "c", "2016"),
            f(5, "a", "affiliate_of", "c", "2013")]
    ties = {(t["subject_id"], t["relation"], t["object_id"]): t for t in T.build_ties(rows)}
    assert ties[("p", "member_of", "a")]["spans"][0]["end"] == "2016-02"
    assert ties[("q", "member_of", "a")]["spans"][0]["end"] is None  # a is an affiliate of c


def test_window_ties_grouped_in_sql_equal_the_python_grouping(tmp_path):
    """The network's SQL grouping (window_ties) gives the ties build_ties gives over the
    same rows: ids, sources, dates, fact ids in order, spans and what ended them."""
    with Store(tmp_path / "dated.duckdb") as store:
        for ex in time_extractions()[:3]:  # every fact has a date (own or published)
            store.add_extraction(ex)
        assert T.window_ties(store.con) is not None

        def norm(ties):
            return sorted((t["id"], t["sources"], t["first"], t["last"], t["as_reported"], t["hedged"],
                           [f["id"] for f in t["facts"]],
                           [(sp["start"], sp["end"], (sp["ended_by"] or {}).get("id")) for sp in t["spans"]])
                          for t in ties)

        for since, until in ((None, None), ("2014", "2018"), ("2016", "2016"), (None, "2015"), ("2018-08", None)):
            sql = T.window_ties(store.con, since=since, until=until)
            py = T.build_ties(T.load_slim(store.con, since=since, until=until))
            assert norm(sql) == norm(py) and sql, (since, until)
        ended = [t for t in T.window_ties(store.con) if t["spans"][0]["end"]]
        assert [(t["relation"], t["spans"][0]["end"]) for t in ended] == [("member_of", "2018-08")]
        store.add_extraction(time_extractions()[3])  # a fact with no date at all: not for SQL
        assert T.window_ties(store.con) is None


# -- the API ------------------------------------------------------------------------------
def test_api_graph_groups_ties_and_answers_as_of(http, server):
    ids = server.state.ids
    o, ridge = ids["Kamal Ossaro"], ids["Northern Ridge Front"]
    g = http.get("/api/graph").json()
    lead = [e for e in g["edges"] if e["relation"] == "leader_of"]
    assert len(lead) == 1 and lead[0]["facts"] == 2 and lead[0]["sources"] == 2
    assert (lead[0]["first"], lead[0]["last"]) == ("2014-03-10", "2016-06-01")
    assert g["counts"]["undated"] == 1 and g["counts"]["as_reported"] >= 4
    g14 = http.get("/api/graph", params={"as_of": "2014"}).json()
    g18 = http.get("/api/graph", params={"as_of": "2018"}).json()
    rels14 = {e["relation"] for e in g14["edges"] if o in (e["source"], e["target"])}
    rels18 = {e["relation"] for e in g18["edges"] if o in (e["source"], e["target"])}
    assert rels14 == {"member_of"} and rels18 == {"defected_from", "joined"}
    # a one-year window counts the as-reported facts instead of hiding them
    w = http.get("/api/graph", params={"since": "2014", "until": "2014"}).json()
    assert {e["relation"] for e in w["edges"]} == {"member_of", "active_in", "leader_of"}
    tie = lead[0]["id"]
    facts = http.get(f"/api/ties/{tie}").json()["facts"]
    assert [f["doc_id"] for f in facts] == ["ridge-2014.txt", "coast-2016.txt"]
    assert all(f["evidence"] and f["date_source"] == "as_reported" for f in facts)
    assert http.get("/api/ties/tnope").status_code == 404
    bad = http.get("/api/graph", params={"as_of": "<b>x</b>"})
    assert bad.status_code == 422 and "<b>" not in bad.text
    ch = http.get("/api/changes", params={"since": "2014", "until": "2018"}).json()
    assert [(t["subject_id"], t["relation"], t["object_id"]) for t in ch["ended"]] == [(o, "member_of", ridge)]
    assert ch["ended"][0]["ended_by"]["evidence"].startswith("In August 2018 Kamal Ossaro defected")
    assert http.get("/api/changes", params={"since": "2014"}).status_code == 422


# -- the browser --------------------------------------------------------------------------
def _ready(page):
    page.wait_for_function("document.body.getAttribute('data-graph-state') === 'ready'")


def _positions(page):
    return page.evaluate("Object.fromEntries(window.cy.nodes().map(n => [n.id(), [n.position('x'), n.position('y')]]))")


def _edge_keys(page):
    return set(page.evaluate("window.cy.edges().map(e => e.data('source') + ' ' + e.data('relation') + ' ' + e.data('target'))"))


def _emit(page, element_id, event):
    # no value back: a Cytoscape collection takes Playwright half a minute to serialise
    page.evaluate("([id, ev]) => { window.cy.getElementById(id).emit(ev); }", [element_id, event])


def _slide_to(page, period):
    """Move the slider as a user does: set it, then the input and change events."""
    page.evaluate(
        """(p) => { const t = document.getElementById('time');
                   const i = window.netState.periods().indexOf(p);
                   if (i < 0) throw new Error('no such period ' + p);
                   t.value = String(i); t.dispatchEvent(new Event('input')); t.dispatchEvent(new Event('change')); }""",
        period,
    )


def test_slider_changes_edges_and_nodes_keep_their_places(page):
    ids = page.app.state.ids
    o = ids["Kamal Ossaro"]
    page.goto(page.base + "/network?as_of=2014")
    _ready(page)
    assert page.locator("#time-on").is_checked()
    expect(page.locator("#time-label")).to_have_text("as of 2014")
    before = _positions(page)
    edges14 = _edge_keys(page)
    assert any(k.startswith(f"{o} member_of ") for k in edges14)
    page.screenshot(path=str(DOCS / "network-2014.png"))
    _slide_to(page, "2018")
    page.wait_for_url("**/network?as_of=2018")
    _ready(page)
    edges18 = _edge_keys(page)
    assert edges18 != edges14
    assert not any(k.startswith(f"{o} member_of ") for k in edges18)
    assert any(k.startswith(f"{o} joined ") for k in edges18)
    after = _positions(page)
    shared = set(before) & set(after)
    assert o in shared and len(shared) >= 3
    for nid in shared:  # the same place, to the pixel
        assert after[nid] == pytest.approx(before[nid], abs=0.5), nid
    # hover card for the grouped leader tie: its sources and date span
    lead = page.evaluate("window.cy.edges().filter(e => e.data('relation') === 'leader_of')[0].id()")
    _emit(page, lead, "mouseover")
    expect(page.locator("#hover-card")).to_contain_text("2 facts from 2 sources")
    expect(page.locator("#hover-card")).to_contain_text("2014-03-10 – 2016-06-01")
    # a click loads the tie's facts, with their evidence as text
    _emit(page, lead, "tap")
    expect(page.locator("#tie-facts li.tie-fact")).to_have_count(2)
    expect(page.locator("#tie-facts")).to_contain_text("Idris Halim still leads the Northern Ridge Front")
    page.screenshot(path=str(DOCS / "network-2018.png"))


def test_back_and_forward_restore_filters(page):
    page.goto(page.base + "/network")
    _ready(page)
    all_edges = int(page.get_attribute("body", "data-edges"))
    page.select_option("#relation", "leader_of")
    page.wait_for_url("**/network?relation=leader_of")
    _ready(page)
    page.wait_for_function("window.cy.edges().every(e => e.data('relation') === 'leader_of')")
    _slide_to(page, "2016")
    page.wait_for_url("**as_of=2016**")
    _ready(page)
    page.go_back()
    page.wait_for_url("**/network?relation=leader_of")
    _ready(page)
    assert page.input_value("#relation") == "leader_of" and not page.locator("#time-on").is_checked()
    page.go_back()
    page.wait_for_url("**/network")
    page.wait_for_function(f"document.body.getAttribute('data-edges') === '{all_edges}'")
    assert page.input_value("#relation") == ""
    assert page.evaluate("window.cy.edges().length") == all_edges
    page.go_forward()
    page.wait_for_url("**/network?relation=leader_of")
    page.wait_for_function("window.cy.edges().length > 0 && window.cy.edges().every(e => e.data('relation') === 'leader_of')")
    assert page.input_value("#relation") == "leader_of"


def test_network_says_when_it_shows_only_the_heaviest_ties(page):
    """?limit= on the page's URL reaches /api/graph; the stats line says "showing N of M"."""
    page.goto(page.base + "/network")
    _ready(page)
    all_edges = int(page.get_attribute("body", "data-edges"))
    assert page.get_attribute("body", "data-truncated") == "false"
    assert "showing" not in page.text_content("#graph-stats")
    page.goto(page.base + "/network?limit=2")
    _ready(page)
    assert page.get_attribute("body", "data-truncated") == "true"
    assert page.evaluate("window.cy.edges().length") == 2
    assert f"showing 2 of {all_edges} ties (most facts first)" in page.text_content("#graph-stats")
    assert "limit=2" in page.evaluate("window.netState.url")


def test_expand_neighbours_in_place(page):
    ids = page.app.state.ids
    page.goto(page.base + "/network?relation=leader_of")
    _ready(page)
    halim = ids["Idris Halim"]
    ridge = ids["Northern Ridge Front"]
    before = _positions(page)
    assert ids["Kamal Ossaro"] not in before
    _emit(page, ridge, "tap")
    page.click("#expand")
    page.wait_for_function("Number(document.body.getAttribute('data-expanded')) > 0")
    after = _positions(page)
    assert ids["Kamal Ossaro"] in after and ids["Coastal Sands Brigade"] in after
    for nid in (halim, ridge):
        assert after[nid] == pytest.approx(before[nid], abs=0.5)


def test_changes_view_lists_appeared_and_ended_ties(page):
    page.goto(page.base + "/network?as_of=2018")
    _ready(page)
    page.goto(page.base + "/changes")
    page.fill("#changes-since", "2014")
    page.fill("#changes-until", "2018")
    page.click("#changes-form button[type=submit]")
    page.wait_for_url("**/changes?since=2014&until=2018*")
    ended = page.locator("#changes-ended li.tie")
    expect(ended).to_have_count(1)
    expect(ended.first).to_contain_text("Kamal Ossaro")
    expect(ended.first).to_contain_text("member of")
    expect(ended.first).to_contain_text("In August 2018 Kamal Ossaro defected from the Northern Ridge Front.")
    appeared = page.locator("#changes-appeared li.tie[data-relation=joined]")
    expect(appeared).to_have_count(1)
    expect(appeared.first).to_contain_text("Coastal Sands Brigade")
    expect(page.locator("#changes-changed li.tie[data-relation=leader_of] .as-reported").first).to_be_visible()
    link = page.locator("#changes-ended .evidence-link").first
    link.click()
    page.wait_for_url("**/documents/**?fact=*")
    expect(page.locator("#doc-text .selected").first).to_be_visible()
