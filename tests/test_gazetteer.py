"""The gazetteer data files and their loader (real files, no fixtures)."""
from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from allegiance.resolve.gazetteer import DEFAULT_FILES, GazEntry, Gazetteer, load_gazetteer
from allegiance.resolve.names import match_key


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def _raw_lines():
    base = resources.files("allegiance.data").joinpath("gazetteer")
    for name in DEFAULT_FILES:
        for n, line in enumerate(base.joinpath(name).read_text("utf-8").splitlines(), 1):
            if line.strip():
                yield name, n, json.loads(line)


# ---- data integrity ----------------------------------------------------------------

def test_counts(gaz):
    kinds = Counter(e.kind for e in gaz.entries)
    assert kinds["armed_group"] + kinds["militia"] >= 150
    assert kinds["person"] >= 100
    assert sum(1 for e in gaz.entries if e.type == "PLACE") >= 300
    assert kinds["country"] >= 100


def test_required_fields_and_unique_ids():
    ids = []
    for name, n, d in _raw_lines():
        for k in ("id", "name", "type", "source", "kind"):
            assert d.get(k), f"{name}:{n} lacks {k}"
        assert d["id"] == d["id"].lower() and " " not in d["id"] and "-" not in d["id"], d["id"]
        ids.append(d["id"])
    dup = [i for i, c in Counter(ids).items() if c > 1]
    assert not dup, dup


def test_types_match_files():
    want = {"groups.jsonl": "ORG", "people.jsonl": "PERSON", "orgs.jsonl": "ORG", "places.jsonl": "PLACE"}
    for name, n, d in _raw_lines():
        assert d["type"] == want[name], (name, n, d["id"])


def test_places_have_coordinates_and_country(gaz):
    for e in gaz.entries:
        if e.type != "PLACE":
            continue
        assert e.lat is not None and e.lon is not None, e.id
        assert -90 <= e.lat <= 90 and -180 <= e.lon <= 180, e.id
        if e.kind != "region":
            assert e.country and len(e.country) == 2 and e.country.isupper(), e.id
        elif e.country is not None:
            assert len(e.country) == 2 and e.country.isupper(), e.id


def test_countries_have_demonyms(gaz):
    for e in gaz.entries:
        if e.kind == "country" and e.id != "republic_of_the_congo":
            assert e.demonyms, e.id


def test_references_resolve(gaz):
    for e in gaz.entries:
        for ref in (e.parent, e.successor, e.predecessor, *e.groups):
            if ref:
                assert ref in gaz.by_id, (e.id, ref)
        if e.type == "PERSON":
            assert all(gaz.by_id[g].type == "ORG" for g in e.groups), e.id


def test_short_forms_unique(gaz):
    owners: dict[str, set[str]] = {}
    for e in gaz.entries:
        for s in e.short_forms:
            owners.setdefault(match_key(s), set()).add(e.id)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_demonyms_unique(gaz):
    owners: dict[str, set[str]] = {}
    for e in gaz.entries:
        for s in e.demonyms:
            owners.setdefault(s.lower(), set()).add(e.id)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


# Every match key shared by more than one entry, preferred entry first. Adding data that
# creates a new ambiguity must update this list (and the README table) on purpose.
KNOWN_AMBIGUITIES = {
    "ansar sharia": ["ansar_al_sharia_libya", "ansar_al_sharia_tunisia"],
    "jund khilafa": ["jund_al_khilafa", "jund_al_khilafa_tunisia"],
    "ansar islam": ["ansar_al_islam", "ansaroul_islam"],
    "ansar sunnah": ["ansar_al_sunna_iraq", "ahlu_sunnah_wal_jamaah_mozambique"],
    "aswj": ["ahlu_sunnah_wal_jamaah_mozambique", "ahlu_sunna_waljamaa_somalia"],
    "isi": ["islamic_state_of_iraq", "isi_pakistan"],
    "sna": ["syrian_national_army", "somali_national_army"],
    "dabiq": ["dabiq_magazine", "dabiq"],
    "bayda": ["bayda", "al_bayda"],
    # Arabic script: like the English "Ansar al-Sharia", the bare name is both groups'
    "انصار الشريعة": ["ansar_al_sharia_libya", "ansar_al_sharia_tunisia"],
}


def test_known_ambiguities(gaz):
    assert gaz.ambiguous_keys() == KNOWN_AMBIGUITIES


def test_ambiguity_visible_in_lookup_all(gaz):
    assert [e.id for e in gaz.lookup_all("Ansar al-Sharia")] == ["ansar_al_sharia_libya", "ansar_al_sharia_tunisia"]
    assert gaz.lookup("Ansar al-Sharia").id == "ansar_al_sharia_libya"
    assert gaz.lookup("ISI").id == "islamic_state_of_iraq"          # armed group beats a state body
    assert gaz.lookup("Dabiq").id == "dabiq_magazine"               # ORG beats a place
    assert gaz.lookup("Jund al-Khilafah").id == "jund_al_khilafa"   # canonical name beats an alias
    assert gaz.lookup("Ansar al-Sunna").id == "ansar_al_sunna_iraq"


# ---- lookups -----------------------------------------------------------------------

@pytest.mark.parametrize("surface,want", [
    ("ISIL", "islamic_state"), ("Daesh", "islamic_state"), ("ISIS", "islamic_state"),
    ("Islamic State of Iraq and Levant", "islamic_state"), ("the Islamic State", "islamic_state"),
    ("Islamic State of Iraq and the Levant (ISIL)", "islamic_state"),
    ("Al Qaida", "al_qaeda"), ("al-Qa'ida", "al_qaeda"), ("al-Qaeda", "al_qaeda"),
    ("Abu Musab Abdul Wadud", "abdelmalek_droukdel"), ("Abu Musab Abdel Wudud", "abdelmalek_droukdel"),
    ("Abdelmalek Droukdal", "abdelmalek_droukdel"), ("Abou Moussab Abdelouadoud", "abdelmalek_droukdel"),
    ("Uqba Ibn Nafaa Brigade", "kuin"), ("Okba Ibn Nafaa Brigade", "kuin"), ("Katibat Uqba ibn Nafi", "kuin"),
    ("al-Qaida's North African franchise", "aqim"), ("AQIM", "aqim"), ("al-Qaeda in the Islamic Maghreb", "aqim"),
    ("al-Qaeda's Somali affiliate", "al_shabaab"), ("al-Shabab", "al_shabaab"),
    ("Islamic State's West Africa affiliate", "iswap"), ("ISWAP", "iswap"),
    ("Boko Haram", "boko_haram"), ("JNIM", "jnim"), ("Group for the Support of Islam and Muslims", "jnim"),
    ("Ansar Dine", "ansar_dine"), ("Ansar al-Din", "ansar_dine"), ("al-Murabitoun", "al_mourabitoun"),
    ("Macina Liberation Front", "katiba_macina"), ("Signed-in-Blood Battalion", "signed_in_blood"),
    ("MUJAO", "mujao"), ("Jund al Khilafah", "jund_al_khilafa"), ("Soldiers of the Caliphate", "jund_al_khilafa"),
    ("Ansar Bayt al-Maqdis", "wilayat_sinai"), ("Sinai Province", "wilayat_sinai"),
    ("Jabhat Fateh al-Sham", "nusra_front"), ("Hayat Tahrir al-Sham", "hts"), ("HTS", "hts"),
    ("Mujahidin Shura Council in Derna", "derna_mujahideen_shura_council"),
    ("Shoura Council of Benghazi Revolutionaries", "benghazi_revolutionaries_shura_council"),
    ("Khaled Abu Souleiman", "abdelmalek_gouri"), ("Abdelmalek Gouri", "abdelmalek_gouri"),
    ("Ibrahim Awad Ibrahim al-Badri", "abu_bakr_al_baghdadi"), ("Ahmed al-Sharaa", "abu_mohammed_al_julani"),
    ("Abu Mohammad al-Jolani", "abu_mohammed_al_julani"), ("Hashem al-Sheikh", "abu_jaber"),
    ("Abu Obeida Youssef al-Annabi", "yazid_mebrak"), ("Abu Iyadh", "seifallah_ben_hassine"),
    ("Mukhtar Belmokhtar", "mokhtar_belmokhtar"), ("Sheikh Abdulqadir Mumin", "abdiqadir_mumin"),
    ("Usama bin Ladin", "osama_bin_laden"), ("Khalifa Hifter", "khalifa_haftar"),
    ("Algerian army", "algerian_army"), ("Libyan National Army", "lna"), ("Wagner Group", "wagner_group"),
    ("AFRICOM", "africom"), ("Long War Journal", "long_war_journal"), ("Amaq", "amaq"), ("El Watan", "el_watan"),
    ("Foundation for Defense of Democracies", "fdd"), ("MINUSMA", "minusma"), ("DRS", "drs"),
    ("Kabylia", "kabylie"), ("Boumerdès", "boumerdes"), ("Deir Ezzor", "deir_ez_zor"), ("Jebel Chaambi", "mount_chaambi"),
    ("Sambisa Forest", "sambisa_forest"), ("Tillabéri", "tillaberi"), ("Sahel", "sahel"),
])
def test_lookup(gaz, surface, want):
    e = gaz.lookup(surface)
    assert e is not None, surface
    assert e.id == want, (surface, e.id)


# ---- Arabic script -------------------------------------------------------------------
# the groups' own names in Arabic (gazetteer README: where they come from)
ARABIC = [
    ("الدولة الإسلامية", "islamic_state"), ("داعش", "islamic_state"), ("تنظيم الدولة الإسلامية", "islamic_state"),
    ("تنظيم القاعدة", "al_qaeda"), ("القاعدة", "al_qaeda"),
    ("تنظيم القاعدة في بلاد المغرب الإسلامي", "aqim"), ("تنظيم القاعدة في جزيرة العرب", "aqap"),
    ("حركة الشباب المجاهدين", "al_shabaab"), ("جماعة أهل السنة للدعوة والجهاد", "boko_haram"),
    ("بوكو حرام", "boko_haram"), ("جماعة نصرة الإسلام والمسلمين", "jnim"), ("حركة حماس", "hamas"),
    ("حماس", "hamas"), ("حزب الله", "hezbollah"), ("كتائب حزب الله", "kataib_hezbollah"),
    ("أنصار الشريعة", "ansar_al_sharia_libya"), ("أنصار الشريعة في تونس", "ansar_al_sharia_tunisia"),
    ("هيئة تحرير الشام", "hts"), ("جبهة النصرة", "nusra_front"), ("المرابطون", "al_mourabitoun"),
    ("طالبان", "taliban"), ("الحوثيون", "houthis"),
]


@pytest.mark.parametrize("surface,want", ARABIC)
def test_lookup_arabic_script(gaz, surface, want):
    e = gaz.lookup(surface)
    assert e is not None and e.id == want, (surface, e and e.id)


def test_match_key_keeps_arabic_letters():
    # letters kept (nothing reduced to an empty or Latin key); harakat and the hamza on
    # alef/yeh folded away (NFKD + combining marks dropped), so a vowelled or hamza-less
    # spelling meets the plain one. (The tatweel U+0640 is a letter to Unicode and stays.)
    assert match_key("داعش") == "داعش"
    assert match_key("حزب الله") == "حزب الله"
    assert match_key("دَاعِش") == match_key("داعش")
    assert match_key("الدولة الإسلامية") == match_key("الدولة الاسلامية") == "الدولة الاسلامية"
    assert match_key("أنصار الشريعة") == match_key("انصار الشريعة")
    assert match_key("Islamic State") != match_key("الدولة الإسلامية")


def test_arabic_aliases_name_their_source():
    for _, _, e in _raw_lines():
        if any("\u0600" <= ch <= "\u06ff" for a in e.get("aliases", []) for ch in a):
            assert "Arabic Wikipedia" in e["source"], e["id"]


def _arabic_store(path):
    """A small store from an invented report naming the Islamic State (in English)."""
    from allegiance.store import Store
    from tests.conftest import build_extraction

    text = ("Clashes near Tarsen Vale\n\nThe Islamic State claimed the raid on Tarsen Vale. "
            "Islamic State fighters are active in Tarsen Vale, officials said.")
    ex = build_extraction(
        "vale.txt", text,
        [("e1", "ORG", "Islamic State", ["Islamic State"], "islamic_state"),
         ("e2", "PLACE", "Tarsen Vale", ["Tarsen Vale"], None)],
        [("e1", "active_in", "e2", "Islamic State fighters are active in Tarsen Vale, officials said.")],
        published="2017-04-02", title="Clashes near Tarsen Vale")
    with Store(path) as store:
        store.add_extraction(ex)
        return next(a["id"] for a in store.actors() if a["name"] == "Islamic State")


def test_cli_show_finds_an_actor_by_its_arabic_name(tmp_path):
    from typer.testing import CliRunner

    from allegiance.cli import app

    db = tmp_path / "ar.duckdb"
    aid = _arabic_store(db)
    for name in ("داعش", "الدولة الإسلامية"):
        r = CliRunner().invoke(app, ["show", name, "--db", str(db)])
        assert r.exit_code == 0, r.output
        assert r.output.startswith("Islamic State") and f"id={aid}" in r.output
        assert "active_in" in r.output
    r = CliRunner().invoke(app, ["facts", "--actor", "داعش", "--db", str(db), "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["subject_id"] == aid


def test_web_search_finds_an_actor_by_its_arabic_name(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from allegiance.web.app import create_app

    db = tmp_path / "ar.duckdb"
    aid = _arabic_store(db)
    app = create_app(db, read_only=True)
    client = TestClient(app, base_url="http://127.0.0.1")
    try:
        for q in ("داعش", "تنظيم الدولة الإسلامية"):
            r = client.get("/api/search", params={"q": q})
            assert r.status_code == 200
            assert [a["id"] for a in r.json()][:1] == [aid], (q, r.json())
            assert r.json()[0]["match"] == "gazetteer"
        assert client.get("/api/search", params={"q": "حزب الله"}).json() == []  # not in this store
        page = client.get("/actors", params={"q": "داعش"})
        assert page.status_code == 200
    finally:
        app.state.ws.store.close()


def test_lookup_unknown(gaz):
    assert gaz.lookup("Frobnicate Liberation Front") is None
    assert gaz.lookup_all("Frobnicate Liberation Front") == []
    assert gaz.lookup("") is None


def test_lookup_short(gaz):
    assert gaz.lookup_short("Zawahiri").id == "ayman_al_zawahiri"
    assert gaz.lookup_short("Baghdadi").id == "abu_bakr_al_baghdadi"
    assert gaz.lookup_short("Shekau").id == "abubakar_shekau"
    assert gaz.lookup_short("Droukdal").id == "abdelmalek_droukdel"
    assert gaz.lookup_short("Haftar").id == "khalifa_haftar"
    assert gaz.lookup_short("al-Qaeda") is None
    # short forms are not full-name keys
    assert gaz.lookup("Zawahiri") is None


def test_by_demonym(gaz):
    assert gaz.by_demonym("Algerian").id == "algeria"
    assert gaz.by_demonym("algerian").id == "algeria"
    assert gaz.by_demonym("Algerians").id == "algeria"
    assert gaz.by_demonym("Nigerien").id == "niger"
    assert gaz.by_demonym("Nigerian").id == "nigeria"
    assert gaz.by_demonym("Burkinabè").id == "burkina_faso"
    assert gaz.by_demonym("Somali").id == "somalia"
    assert gaz.by_demonym("Egyptian").id == "egypt"
    assert gaz.by_demonym("Sahelian").id == "sahel"
    assert gaz.by_demonym("Martian") is None


def test_entry_shape(gaz):
    d = gaz.by_id["abdelmalek_droukdel"]
    assert isinstance(d, GazEntry)
    assert "Abu Musab Abdul Wadud" in d.noms_de_guerre
    assert "Abu Musab Abdul Wadud" in d.aliases            # aliases include noms de guerre
    names = d.all_names()
    assert names[0] == "Abdelmalek Droukdel" and "Abu Musab Abdul Wadud" in names
    assert "Droukdel" not in names                          # short forms excluded
    assert len(names) == len(set(names))
    assert d.groups[0] == "aqim"
    a = gaz.by_id["aqim"]
    assert a.parent == "al_qaeda" and a.country == "DZ" and "North Africa" in a.region
    alg = gaz.by_id["algeria"]
    assert alg.kind == "country" and alg.country == "DZ" and "Algerian" in alg.demonyms


def test_surface_forms(gaz):
    forms = gaz.surface_forms()
    hows = {h for _, _, h in forms}
    assert hows == {"name", "alias", "nom_de_guerre", "short", "description", "demonym"}
    assert ("AQIM", gaz.by_id["aqim"], "alias") in forms
    assert ("Abu Musab Abdul Wadud", gaz.by_id["abdelmalek_droukdel"], "nom_de_guerre") in forms
    assert ("Algerian", gaz.by_id["algeria"], "demonym") in forms
    # canonical names come first
    first_alias = next(i for i, f in enumerate(forms) if f[2] != "name")
    assert all(f[2] == "name" for f in forms[:first_alias])
    assert first_alias == len(gaz.entries)


def test_default_load_cached_and_hashable():
    g1, g2 = load_gazetteer(), load_gazetteer()
    assert g1 is g2
    hash(g1)


def test_extra_files(tmp_path):
    p = tmp_path / "mine.jsonl"
    p.write_text(
        json.dumps({"id": "frob_front", "name": "Frobnicate Liberation Front", "type": "ORG", "kind": "armed_group",
                    "aliases": ["FLF"], "source": "test"}) + "\n"
        + json.dumps({"id": "aqim", "name": "al-Qaeda in the Islamic Maghreb", "type": "ORG", "kind": "armed_group",
                      "aliases": ["AQIM"], "source": "override"}) + "\n",
        encoding="utf-8")
    g = load_gazetteer([p])
    assert g is not load_gazetteer()
    assert g.lookup("Frobnicate Liberation Front").id == "frob_front"
    assert g.lookup("FLF").id == "frob_front"
    assert g.by_id["aqim"].source == "override"
    assert len(g.entries) == len(load_gazetteer().entries) + 1
    assert g.lookup("ISIL").id == "islamic_state"


def test_bad_extra_file(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"id": "x", "name": "X", "type": "ORG"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_gazetteer([p])
