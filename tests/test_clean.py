"""Clean: boilerplate removal, exact offset map, title / date / language."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from allegiance.clean import clean_document
from allegiance.ingest import iter_documents
from allegiance.records import Document

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make(raw: str, **kw) -> Document:
    return clean_document(Document(doc_id="t.txt", source="t.txt", raw_text=raw, content_hash="0", **kw))


def assert_segments_exact(doc: Document) -> None:
    pieces = []
    for seg in doc.segments:
        clean = doc.text[seg.clean_start: seg.clean_start + seg.length]
        raw = doc.raw_text[seg.raw_start: seg.raw_start + seg.length]
        assert clean == raw
        pieces.append(clean)
    # Segments cover the clean text exactly, separated by the block separator.
    assert "\n\n".join(pieces) == doc.text
    for a, b in zip(doc.segments, doc.segments[1:]):
        assert b.clean_start == a.clean_start + a.length + 2
        assert b.raw_start >= a.raw_start + a.length


BODY_1 = ("The Desert Lions Brigade said on Thursday that its commander had been killed in an air strike "
          "near the town of Karam, according to a statement posted online.")
BODY_2 = ("Regional officials confirmed that the brigade had pledged allegiance to the Northern Front "
          "earlier this year and had since expanded its operations along the border.")
BODY_3 = ("Analysts said the death of the commander was likely to trigger a contest for the leadership "
          "of the group, which has about 400 fighters.")

NOISY = f"""Skip to main content
You are here
By: Jane Roe | 04-02-2019 | World
Photo credit: @somebody | Twitter

Desert Lions commander killed in air strike

{BODY_1}
Image source, Example Agency
Image caption,
Fighters of the brigade gather outside the town in a photo released last year.

{BODY_2}

We use cookies to give you the best experience on our site. By continuing you agree to our cookie policy.

Join over 120,000 readers who get our security newsletter every morning.

{BODY_3}

Share this article
What do you think about this article?
Comment *
2 comment/s

Recent News
Fake headline about something else entirely that must not be kept as article text here
"""


def test_noise_removed_article_kept():
    doc = make(NOISY)
    assert_segments_exact(doc)
    for sentence in (BODY_1, BODY_2, BODY_3, "Desert Lions commander killed in air strike"):
        assert sentence in doc.text
    assert "Fighters of the brigade gather outside the town in a photo released last year." in doc.text
    for noise in ("Skip to main content", "You are here", "By: Jane Roe", "Photo credit", "Image source",
                  "Image caption", "cookies", "Join over", "Share this article", "What do you think",
                  "Comment *", "comment/s", "Recent News", "Fake headline"):
        assert noise not in doc.text, noise
    assert any("Share this article" in b and "Fake headline" in b for b in doc.boilerplate)
    assert doc.title == "Desert Lions commander killed in air strike"
    assert doc.published == "2019-04-02"
    assert doc.language == "en"
    assert not any("not English" in w for w in doc.warnings)


COMMENT_THREAD = f"""Brigade leader killed in raid

AuthorName's picture

{BODY_1}

{BODY_2}

{BODY_3}

Comment viewing options
Select your preferred way to display the comments and click save.
reader_one's picture

Everyone knows the brigade is funded by the moon people and nobody will tell you.

angry guy 77's picture

The Northern Front pledged allegiance to my cat, source: trust me.
"""


def test_comment_thread_dropped():
    doc = make(COMMENT_THREAD)
    assert_segments_exact(doc)
    assert BODY_3 in doc.text
    assert "'s picture" not in doc.text
    assert "moon people" not in doc.text
    assert "my cat" not in doc.text
    assert doc.title == "Brigade leader killed in raid"


def test_picture_thread_without_header_is_cut_after_body():
    raw = f"Headline about the brigade split\n\n{BODY_1}\n\n{BODY_2}\n\nsomeone's picture\n\nA reader says the split is fake news from abroad.\n"
    doc = make(raw)
    assert BODY_2 in doc.text
    assert "fake news" not in doc.text


PAYWALL = f"""Militia announces merger with rival faction

{BODY_1}

{BODY_2}

Join hundreds of security professionals with Example PRO.
Analysts use PRO to track the region every day. Try it for free and cancel anytime.
Already a Member? Sign in

The Region's Best Newsletters
Delivered straight to your inbox.
Free newsletters available:
  • The Morning Briefing
  • Weekly Security Digest
Premium Membership
$19.00 / month
billed annually
Become Member Start with 1-week free trial
"""


def test_paywall_and_newsletter_removed():
    doc = make(PAYWALL)
    assert_segments_exact(doc)
    assert BODY_1 in doc.text and BODY_2 in doc.text
    for noise in ("PRO", "Try it for free", "Already a Member", "Newsletters", "Briefing", "$19.00",
                  "billed annually", "Become Member", "Premium"):
        assert noise not in doc.text, noise


FOOTER = f"""Group claims attack on army post

{BODY_1}

{BODY_2}

Articles by: Example Research Desk

Disclaimer: The contents of this article are the responsibility of the author alone. This site grants permission to cross-post its articles as long as the source is acknowledged. {"The material is offered for research. " * 20}

This site contains copyrighted material the use of which has not always been authorized by the owner, offered under the provisions of "fair use" for research.

For media inquiries: desk@example.org
"""


def test_disclaimer_and_footer_removed():
    doc = make(FOOTER)
    assert_segments_exact(doc)
    assert BODY_2 in doc.text
    for noise in ("Articles by", "Disclaimer:", "fair use", "media inquiries"):
        assert noise not in doc.text, noise


CAPTCHA = f"""Armed group dissolves itself

By Example Agency - March 2,2017 - Last updated at March 2,2017

{BODY_1}

{BODY_2}

5 users have voted.

Add new comment

This question is for testing whether you are a human visitor, to stop spam bots.
4 + 7 =
Solve this simple math problem and enter the result.
"""


def test_captcha_votes_and_byline():
    doc = make(CAPTCHA)
    assert_segments_exact(doc)
    assert BODY_2 in doc.text
    for noise in ("users have voted", "Add new comment", "testing whether", "4 + 7", "math problem", "By Example"):
        assert noise not in doc.text, noise
    assert doc.title == "Armed group dissolves itself"
    assert doc.published == "2017-03-02"


def test_date_prefixed_title_and_dateline():
    raw = f" date 2020-11-03 Northern Front leader ‘captured’ in dawn raid\n\nEXAMPLE, TOWNVILLE\n\n\n{BODY_1}\n\nThe leader of the faction in a photo released by the army. Photo: Example Agency / Army\n\n{BODY_2}\n"
    doc = make(raw)
    assert_segments_exact(doc)
    assert doc.title == "Northern Front leader ‘captured’ in dawn raid"
    assert doc.published == "2020-11-03"
    assert "date 2020-11-03 Northern Front leader ‘captured’ in dawn raid" in doc.text  # title stays
    assert "EXAMPLE, TOWNVILLE" not in doc.text
    assert "The leader of the faction in a photo released by the army." in doc.text
    assert "Photo: Example Agency" not in doc.text


def test_weekday_date_line_and_archive_notice():
    raw = f"This story is over 5 years old.\nSunday 14 Sep 2014\n\nFighters overrun northern garrison town\n\n{BODY_1}\n"
    doc = make(raw)
    assert doc.published == "2014-09-14"
    assert doc.title == "Fighters overrun northern garrison town"
    assert "over 5 years old" not in doc.text and "Sunday 14 Sep" not in doc.text


@pytest.mark.parametrize("line,iso", [
    ("By: A. Writer | 12-25-2016 | Africa", "2016-12-25"),
    ("By: A. Writer | 25-12-2016 | Africa", "2016-12-25"),
    ("Published: March 2, 2017", "2017-03-02"),
    ("Published 2018-07-09", "2018-07-09"),
    ("By Example Agency - May 28,2017 - Last updated at May 28,2017", "2017-05-28"),
])
def test_byline_dates(line, iso):
    doc = make(f"{line}\n\nRebel coalition announces new leader\n\n{BODY_1}\n")
    assert doc.published == iso
    assert line not in doc.text


def test_dates_in_body_are_not_publication_dates():
    doc = make(f"Rebel coalition announces new leader\n\n{BODY_1}\n\n{BODY_2}\n\nThe attack on 2 March 2015 killed nine.\n")
    assert doc.published is None


def test_existing_title_and_date_kept():
    doc = make(f"By: Someone | 01-02-2003 | News\n\nHeadline from the page itself\n\n{BODY_1}\n",
               title="From metadata", published="2010-05-05")
    assert doc.title == "From metadata" and doc.published == "2010-05-05"


def test_tweet_embed_removed():
    raw = f"Group leader announces pledge online\n\n{BODY_1}\n\nNew statement from the group, read it here — Example Watcher (@example_watch) March 3, 2017\n\n{BODY_2}\n"
    doc = make(raw)
    assert "(@example_watch)" not in doc.text and BODY_2 in doc.text


def test_french_article_flagged():
    raw = ("Attaque contre une base militaire dans le nord\n\n"
           "Le groupe armé a revendiqué une attaque contre une base militaire dans le nord du pays, selon les "
           "autorités locales qui ont été informées par des sources sur place. Les assaillants sont arrivés "
           "à moto et ont été repoussés après des combats qui ont duré plusieurs heures, a indiqué l'armée.\n")
    doc = make(raw)
    assert doc.language == "fr"
    assert "not English (looks like fr): no extraction" in doc.warnings


def test_french_file_through_ingest(tmp_path):
    p = tmp_path / "fr.txt"
    p.write_text("Le chef du groupe a été tué\n\nLe chef du groupe armé a été tué dans une embuscade "
                 "tendue par l'armée dans le nord du pays, selon des sources locales qui ont confirmé "
                 "la nouvelle. Les combattants du groupe ont quitté la zone après les affrontements.\n",
                 encoding="utf-8")
    doc = clean_document(next(iter_documents([str(p)])))
    assert doc.language == "fr" and any("not English" in w for w in doc.warnings)


def test_arabic_script_flagged():
    doc = make("أعلنت الجماعة المسلحة مسؤوليتها عن الهجوم على القاعدة العسكرية في شمال البلاد")
    assert doc.language == "ar" and any("looks like ar" in w for w in doc.warnings)


def test_crlf_segments_exact():
    raw = f"Faction splits from coalition\r\n\r\nBy: Jane Roe | 04-02-2019 | News\r\n\r\n{BODY_1}\r\n{BODY_2}\r\n\r\nShare this article\r\nLeftover\r\n"
    doc = make(raw)
    assert_segments_exact(doc)
    assert BODY_1 in doc.text and "Leftover" not in doc.text
    assert doc.to_raw(doc.text.index(BODY_2)) == raw.index(BODY_2)


def test_to_raw_maps_every_kept_sentence():
    doc = make(NOISY)
    for sentence in (BODY_1, BODY_2, BODY_3):
        c = doc.text.index(sentence)
        r = doc.to_raw(c)
        assert doc.raw_text[r: r + len(sentence)] == sentence


def test_html_document_cleaned(tmp_path):
    p = tmp_path / "page.html"
    p.write_text(f"""<html><head><title>Raid</title></head><body><article>
<h1>Security forces raid militant hideout</h1>
<p>{BODY_1}</p><p>{BODY_2}</p><p>Share this article</p><p>Recent News</p>
<p>Another story that should not be kept because it follows the share widget on the page.</p>
</article></body></html>""")
    doc = clean_document(next(iter_documents([str(p)])))
    assert doc.media_type == "text/html"
    assert_segments_exact(doc)
    assert BODY_2 in doc.text
    assert "Share this article" not in doc.text and "Another story" not in doc.text


def test_all_boilerplate_document():
    doc = make("Skip to main content\nShare this article\nWe use cookies to improve your experience.\n")
    assert doc.text == "" and doc.segments == []
    assert doc.language == "und" and doc.warnings


def test_empty_raw_text():
    doc = make("")
    assert doc.text == "" and doc.segments == []


def test_fifty_megabytes_is_fast(tmp_path):
    para = (f"{BODY_1}\n\n{BODY_2}\nSkip to main content\n{BODY_3}\n\nImage caption,\n")
    raw = "Big Report About The Conflict\n\n" + para * (50 * 1024 * 1024 // len(para))
    p = tmp_path / "big.txt"
    p.write_text(raw, encoding="utf-8")
    start = time.perf_counter()
    doc = clean_document(next(iter_documents([str(p)])))
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"cleaning 50 MB took {elapsed:.1f}s"
    assert "Skip to main content" not in doc.text and "Image caption" not in doc.text
    seg = doc.segments[len(doc.segments) // 2]
    assert doc.text[seg.clean_start: seg.clean_start + seg.length] == doc.raw_text[seg.raw_start: seg.raw_start + seg.length]


def test_pathological_long_line_is_fast():
    raw = "Headline for a long line test\n\n" + ("word - (@ x " * 400_000) + "\n"
    start = time.perf_counter()
    make(raw)
    assert time.perf_counter() - start < 10


CORPUS_NOISE = ("'s picture", "Comment viewing options", "We use cookies", "Already a Member",
                "Share this article", "Disclaimer:", "Add new comment")


def _corpus_files():
    if not SHARED.is_dir():
        return []
    return sorted(p for sub in ("seeds", "dev") for p in (SHARED / "corpus" / sub).glob("*") if p.is_file())


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared corpus not found at {SHARED}")
def test_shared_corpus_cleaned():
    files = _corpus_files()
    assert files, "no corpus files under shared/corpus/seeds or shared/corpus/dev"
    for path in files:
        doc = clean_document(next(iter_documents([str(path)])))
        assert isinstance(doc, Document), doc
        assert_segments_exact(doc)
        for noise in CORPUS_NOISE:
            assert noise not in doc.text, (path.name, noise)
        assert doc.title, path.name
        title_line = next(line.strip() for line in doc.raw_text.splitlines() if doc.title in line)
        assert title_line in doc.text, (path.name, title_line)
        assert doc.language == "en", path.name


def test_dates_with_month_names_read_from_their_parts():
    from allegiance.clean.dates import find_date, is_date_line

    assert find_date("Posted Tuesday, 4th of March, 2025 at 10:15")[0] == "2025-03-04"
    assert find_date("Sept. 30,2019 - updated")[0] == "2019-09-30"
    assert find_date("dec 1st 2026")[0] == "2026-12-01"
    assert find_date("31 June 2019") is None            # no such day
    assert find_date("June 12, 1850") is None           # outside the years read
    assert is_date_line("Published: 7 November 2024, 08:30 GMT")
    assert not is_date_line("Rebels took 7 November 2024 as their deadline")
