"""Plain text as it comes: hard-wrapped wire copy, datelines, ALL-CAPS documents.

Every sentence here is written for these tests."""
from __future__ import annotations

import textwrap

import pytest

from allegiance.clean import clean_document
from allegiance.clean.wire import find_dateline, is_all_caps, truecase, unwrap, wrap_width
from allegiance.records import Document

PARAGRAPHS = [
    "Lima, 20 Aug 88 (EFE) -- Security forces in the southern highlands said on Friday "
    "that a column of armed men had blocked the mountain road for most of the night and "
    "had set fire to two trucks carrying potatoes to the market town below the pass.",
    "The regional commander told reporters that the patrol sent after the column found "
    "only the burned trucks, some leaflets and a painted slogan on the wall of a school "
    "that had been closed since the floods of the previous spring.",
    "Farmers in the valley said the armed men came every few weeks, asked for food and "
    "left before dawn, and that nobody in the villages wanted to talk about them openly.",
]


def wrap(paragraphs, width=68, indent="") -> str:
    return "\n\n".join(textwrap.fill(p, width, initial_indent=indent) for p in paragraphs) + "\n"


def make(raw: str, wire: bool = True, **kw) -> Document:
    return clean_document(Document(doc_id="w.txt", source="w.txt", raw_text=raw, content_hash="0", **kw), wire=wire)


def same_modulo_wire(clean: str, raw: str) -> bool:
    """Equal up to line breaks turned into spaces and letter case."""
    if len(clean) != len(raw):
        return False
    for c, r in zip(clean, raw):
        if c == r or c.lower() == r.lower():
            continue
        if c == " " and r in "\r\n":
            continue
        return False
    return True


def check_offsets(doc: Document, piece: str) -> None:
    at = doc.text.find(piece)
    assert at >= 0, piece
    s = doc.to_raw(at)
    assert same_modulo_wire(piece, doc.raw_text[s:s + len(piece)])


# ---------------------------------------------------------------- unwrapping

def test_hard_wrapped_paragraphs_read_as_whole_sentences():
    raw = wrap(PARAGRAPHS)
    assert raw.count("\n") > 8
    doc = make(raw)
    paragraphs = doc.text.split("\n\n")
    assert len(paragraphs) == 3
    assert all("\n" not in p for p in paragraphs)
    assert "\n" not in PARAGRAPHS[1] and PARAGRAPHS[1] in doc.text
    # same length everywhere: segments still map the text back to the raw text
    for seg in doc.segments:
        assert same_modulo_wire(doc.text[seg.clean_start:seg.clean_start + seg.length],
                                raw[seg.raw_start:seg.raw_start + seg.length])
    check_offsets(doc, "found only the burned trucks, some leaflets and a painted slogan on the wall")
    check_offsets(doc, "Farmers in the valley said the armed men came every few weeks")


def test_unwrap_keeps_windows_line_ends_the_same_length():
    raw = wrap(PARAGRAPHS).replace("\n", "\r\n")
    doc = make(raw)
    assert "\r" not in doc.text and doc.text.count("\n\n") == 2   # blocks are joined by the clean stage
    assert " ".join(doc.text.split("\n\n")[0].split()) == PARAGRAPHS[0]
    a, b = doc.text.index("armed men"), doc.text.index("set fire") + len("set fire")
    check_offsets(doc, doc.text[a:b])   # a CRLF became two spaces


def test_indented_wire_paragraphs_are_unwrapped():
    raw = wrap(PARAGRAPHS, width=70, indent="   ")
    doc = make(raw)
    assert doc.text.count("\n\n") == 2 and doc.text.replace("\n\n", "").count("\n") == 0


def test_ordinary_article_with_one_paragraph_per_line_is_untouched():
    raw = ("Rebels Seize Border Crossing\n"
           "By a staff reporter\n\n"
           "Fighters of a rebel movement took control of a border crossing on Tuesday, officials said.\n"
           "The crossing had been held by the army for more than two years.\n"
           "Traders said the road was closed to trucks for the rest of the day.\n"
           "Photo: a checkpoint on the road\n")
    assert make(raw).text == make(raw, wire=False).text


def test_titles_bullets_and_captions_are_not_joined():
    body = wrap(PARAGRAPHS[1:])
    raw = ("Night Raid on the Mountain Road\n"
           + body
           + "\nWhat the patrol found on the road that night\n"
           "- two burned trucks and their cargo\n"
           "- leaflets signed by the column\n"
           "- a slogan painted on a school wall\n\n"
           "A burned truck lies beside the road near the pass\n"
           "Regional Commanders Meet Next Week\n"
           "The meeting will be held in the provincial capital.\n")
    doc = make(raw)
    assert doc.title == "Night Raid on the Mountain Road"
    for line in ("Night Raid on the Mountain Road\n", "- two burned trucks and their cargo\n",
                 "- leaflets signed by the column\n", "A burned truck lies beside the road near the pass\n",
                 "Regional Commanders Meet Next Week\n"):
        assert line in doc.text, line
    assert "\n" not in doc.text.split("\n\n")[1]          # the wrapped paragraphs are joined
    check_offsets(doc, "leaflets signed by the column")


def test_a_heading_above_a_wrapped_paragraph_stays_on_its_own_line():
    raw = wrap(PARAGRAPHS[:2]) + "\nFarm Prices\n" + textwrap.fill(PARAGRAPHS[2], 68) + "\n"
    doc = make(raw)
    assert "\nFarm Prices\nFarmers in the valley" in doc.text


def test_wrap_width_is_read_from_the_document():
    for width in (60, 72, 80):
        doc = make(wrap(PARAGRAPHS, width=width), wire=False)
        found = wrap_width(doc.text, doc.segments, doc.raw_text)
        assert found is not None and width - 12 <= found <= width
    doc = make("One line.\nAnother line that ends.\nA third one here.\n", wire=False)
    assert wrap_width(doc.text, doc.segments, doc.raw_text) is None
    assert unwrap(doc.text, doc.segments, doc.raw_text) == doc.text


def test_wire_off_keeps_the_old_text():
    raw = wrap(PARAGRAPHS)
    doc = make(raw, wire=False)
    assert doc.text == raw.strip("\n")
    assert doc.dateline_place is None


# ---------------------------------------------------------------- datelines

@pytest.mark.parametrize("opening,place,published", [
    ("Lima, 20 Aug 88 (EFE) -- ", "Lima", "1988-08-20"),
    ("GUATEMALA CITY, 4 FEB 90 (ACAN-EFE) -- [TEXT] ", "GUATEMALA CITY", "1990-02-04"),
    ("BAMAKO, Mali (Reuters) - ", "BAMAKO, Mali", None),
    ("MOGADISHU, Jan 5 (AP) \u2014 ", "MOGADISHU", None),
    ("Kabul, March 3, 2015 (AFP) -- ", "Kabul", "2015-03-03"),
    ("Nairobi (Kenya), 12 Oct 21 (KNA) -- ", "Nairobi, Kenya", "2021-10-12"),
])
def test_datelines_give_place_and_date(opening, place, published):
    raw = "Patrol Finds Burned Trucks\n\n" + opening + "A patrol found two burned trucks on the road, the army said.\n"
    doc = make(raw)
    assert doc.dateline_place == place
    assert doc.published == published
    assert doc.text.startswith("Patrol Finds Burned Trucks\n\n" + opening)   # the dateline stays in the text


def test_metadata_date_wins_over_the_dateline():
    doc = make("Lima, 20 Aug 88 (EFE) -- A patrol found two burned trucks on the road.\n", published="1988-08-21")
    assert doc.published == "1988-08-21" and doc.dateline_place == "Lima"


def test_two_digit_years_pivot():
    assert find_dateline("Lima, 2 Jan 99 (EFE) -- Text.").date == "1999-01-02"
    assert find_dateline("Lima, 2 Jan 05 (EFE) -- Text.").date == "2005-01-02"
    assert find_dateline("Lima, 31 Feb 05 (EFE) -- Text.").date is None   # no such day


def test_no_dateline_in_an_ordinary_opening():
    assert find_dateline("The army said on Monday that the road was open again.") is None
    assert find_dateline("Rebels - the army says - held the pass.") is None
    assert make("Officials said the road was open again on Monday morning.\n").dateline_place is None


# ---------------------------------------------------------------- truecasing

CAPS = ("SAN ISIDRO, 14 MAR 90 (XYZ) -- [TEXT] MEMBERS OF THE QWERTY POPULAR FRONT [QPF] ATTACKED A "
        "POLICE STATION IN THE TOWN OF PUERTO ZAMBRA LAST NIGHT.  THE POLICE SAID THAT THREE OFFICERS "
        "WERE WOUNDED AND THAT THE QPF FIGHTERS FLED TO THE HILLS.\n\n"
        "COLONEL ARMANDO VELIZ SAID THE GUERRILLAS OF THE PRLM ALSO BURNED TWO BUSES ON THE MAIN ROAD.\n")


def test_all_caps_document_is_truecased():
    doc = make(CAPS)
    t = doc.text
    assert len(t) == len(CAPS.strip())
    # the wire's brackets read as parentheses, so "(QPF)" defines the acronym
    assert "Members of the Qwerty Popular Front (QPF) attacked a police station in the town of Puerto Zambra" in t
    assert "The police said that three officers were wounded" in t
    assert "the QPF fighters fled" in t          # an acronym seen in brackets stays upper case
    assert "the PRLM" in t                        # no vowel: an acronym
    assert "Colonel Armando Veliz said the guerrillas" in t
    assert doc.dateline_place == "San Isidro" and doc.published == "1990-03-14"
    check_offsets(doc, "three officers were wounded and that the QPF fighters fled")


def test_mixed_case_text_is_not_truecased():
    raw = "The Army said the QPF attacked a police station in San Isidro on Monday night.\n"
    assert not is_all_caps(raw)
    assert make(raw).text == raw.strip()
    assert is_all_caps(CAPS)


def test_truecase_keeps_length_and_sentence_starts():
    text = "THE ROAD WAS CLOSED. FARMERS SAID THE ARMY LEFT. \"WE SAW NOTHING,\" ONE SAID."
    out = truecase(text)
    assert len(out) == len(text) and out.lower() == text.lower()
    assert out.startswith("The road was closed. Farmers said the army left. \"We saw")


# ---------------------------------------------------------------- through extraction

def test_extraction_reads_a_wrapped_sentence_whole():
    from allegiance.extract import extract_document

    sentence = ("Boko Haram fighters attacked the town of Monguno in Borno state on Sunday night "
                "and burned the market, residents of the town said on Monday.")
    raw = wrap(["Raid on Monguno", sentence,
                "Soldiers arrived in the town the next morning and searched the houses near the "
                "market, and the residents who had fled began to come back in the afternoon."], width=60)
    assert "\n" in raw.split("\n\n")[1]
    ex = extract_document(make(raw))
    attacks = [f for f in ex.facts if f.relation == "attacked"]
    assert attacks
    for f in ex.facts:
        assert same_modulo_wire(f.evidence, raw[f.start:f.end])
    assert any(f.evidence == sentence for f in attacks)


def test_truecasing_lowers_everyday_verbs_and_nouns_and_keeps_names():
    # words the project's own corpora never use still read as English, not as names
    out = truecase("GUERRILLAS STOLE FOOD AND PURSUED THE PEASANTS NEAR THE HELICOPTER BASE IN MOPTI.")
    assert out == "Guerrillas stole food and pursued the peasants near the helicopter base in Mopti."


def test_all_caps_counts_letters_beyond_ascii():
    # accented and Greek capitals count as capitals, their small forms as small letters
    assert is_all_caps("ÉCOLE DES RÉFUGIÉS À GOMA: ΣΟΦΙΑ ET SES ÉLÈVES ONT FUI LES COMBATS")
    assert not is_all_caps("École des réfugiés à Goma: σοφία et ses élèves ont fui les combats")
    assert not is_all_caps("ÉÉ " * 10)   # too few letters to judge
