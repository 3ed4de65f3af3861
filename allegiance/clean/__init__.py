"""Clean stage: drop what is not the article, keep an exact map back to raw offsets.

``clean_document`` classifies each line of ``Document.raw_text`` (article text, page
furniture, byline, end of article) with the patterns in ``allegiance/data/boilerplate.json``,
joins the kept blocks with blank lines into ``Document.text`` and records one ``Segment`` per
kept run, so that ``text[s.clean_start:s.clean_start+s.length] ==
raw_text[s.raw_start:s.raw_start+s.length]``. It also fills ``title``, ``published`` and
``language`` when they are not set yet.
"""
from __future__ import annotations

import re

from allegiance.clean.dates import DATE_PREFIX_RE, find_date, is_date_line
from allegiance.clean.language import guess_language
from allegiance.clean.rules import load_rules
from allegiance.clean.wire import find_dateline, is_all_caps, truecase, unwrap
from allegiance.records import Document, Segment

__all__ = ["clean_document", "guess_language"]

BLOCK_SEPARATOR = "\n\n"
BODY_WORDS = 12          # a kept line with this many words is article body
BODY_BEFORE_END = 2      # end markers cut the rest only once this many body lines were kept
HEADER_LINES = 10        # title / byline dates are read only from the first non-blank lines
MAX_HEADER_LEN = 200
TRIM_WINDOW = 120
_DIGIT_RE = re.compile(r"\d")
_BULLETS = "•·▪◦*-–—>"


_WIRE_BRACKETS = re.compile(r"\[([^\[\]\n]{1,80})\]")

def _title_like(line: str) -> bool:
    if len(line) > 250 or line[0] in _BULLETS:
        return False
    if line.endswith(".") and not line.endswith(".."):
        return False
    if line.endswith((":", ",", ";")):
        return False
    words = line.split()
    return 3 <= len(words) <= 30 and any(ch.isalpha() for ch in line)


_NAME_CONNECTORS = frozenset({"of", "the", "and", "&", "for", "de", "al", "el", "bin", "ibn", "van", "von", "on"})


def _name_line(line: str) -> bool:
    """A short line of capitalised words only (an author or outlet name under the title)."""
    words = line.split()
    if not 1 <= len(words) <= 5 or len(line) > 60:
        return False
    if any(ch.isdigit() or ch in ".:;!?,\"“”()" for ch in line):
        return False
    caps = [w for w in words if w.lower() not in _NAME_CONNECTORS]
    return bool(caps) and all(w[0].isupper() for w in caps)


def _credit_suffix(rules, line: str) -> int | None:
    """Index where a trailing photo credit starts, or None."""
    window = max(0, len(line) - TRIM_WINDOW)
    for rx in rules.trim_suffix:
        m = rx.search(line, window)
        if m:
            return m.start()
    return None


def clean_document(doc: Document, wire: bool = True) -> Document:
    """Fill ``doc.text``, ``doc.segments``, ``doc.boilerplate`` (and title/published/language
    when unset). Returns the same object.

    With ``wire`` (the default) plain wire copy is also read as it comes (``clean/wire.py``):
    hard-wrapped paragraphs are unwrapped (a line break becomes a space), a dateline gives
    ``dateline_place`` (and ``published`` when unset), and an ALL-CAPS document is truecased.
    None of these changes the length of the text, so segment offsets still hold; the text
    then equals the raw text up to those newline/space and letter-case changes."""
    rules = load_rules()
    raw = doc.raw_text or ""

    pieces: list[list[int]] = []   # [raw_start, raw_end] of kept runs
    joinable = False               # the next kept line may extend the last piece
    dropped_run: list[str] = []
    boilerplate: list[str] = []
    body_lines = 0
    nonblank_seen = 0
    title: str | None = None
    published: str | None = None
    last_kept = ""

    def flush_dropped() -> None:
        if dropped_run:
            boilerplate.append("\n".join(dropped_run))
            dropped_run.clear()

    pos = 0
    for line in raw.splitlines(keepends=True):
        line_start = pos
        pos += len(line)
        stripped = line.strip()
        if not stripped:
            joinable = False
            continue
        nonblank_seen += 1
        in_header = body_lines == 0 and nonblank_seen <= HEADER_LINES
        lower = stripped.lower()
        start = line_start + (len(line) - len(line.lstrip()))
        end = start + len(stripped)

        drop = False
        if not rules.any.match(stripped, lower):
            if len(stripped) <= 80 and _DIGIT_RE.search(stripped) and is_date_line(stripped):
                drop = True
                if in_header and published is None:
                    published = find_date(stripped)[0]
        elif len(stripped) <= 300 and rules.end_markers.match(stripped, lower):
            if body_lines >= BODY_BEFORE_END:
                flush_dropped()
                rest = raw[start:].strip()
                if rest:
                    boilerplate.append(rest)
                break
            drop = True
        elif rules.drop_lines.match(stripped, lower):
            drop = True
        elif (
            body_lines == 0
            and len(stripped) <= MAX_HEADER_LEN
            and not stripped.endswith(".")
            and rules.header_lines.match(stripped, lower)
        ):
            drop = True
            if in_header and published is None:
                found = find_date(stripped)
                if found:
                    published = found[0]
        elif len(stripped) <= 80 and _DIGIT_RE.search(stripped) and is_date_line(stripped):
            drop = True
            if in_header and published is None:
                published = find_date(stripped)[0]

        if drop:
            dropped_run.append(stripped)
            joinable = False
            continue

        # Credits glued to the end of a line ("... Photo: AFP"): keep the rest of the line.
        cut = _credit_suffix(rules, stripped)
        if cut is not None:
            kept = stripped[:cut].rstrip()
            dropped_run.append(stripped[len(kept):].strip())
            if not kept:  # the whole line was a credit
                joinable = False
                continue
            end = start + len(kept)
            stripped = kept
        trimmed = cut is not None

        if (stripped == last_kept and stripped.count(" ") < 20) or (
            body_lines == 0 and title is not None and in_header and _name_line(stripped)
        ):
            # A caption repeated verbatim, or an author / outlet name line under the title.
            dropped_run.append(stripped)
            joinable = False
            continue

        flush_dropped()
        last_kept = stripped
        if in_header and title is None and _title_like(stripped):
            title = stripped
            pm = DATE_PREFIX_RE.match(title)
            if pm and len(title) > pm.end():
                title = title[pm.end():].strip()
                if published is None:
                    found = find_date(pm.group(1))
                    if found:
                        published = found[0]
        if joinable and pieces:
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
        joinable = not trimmed
        if stripped.count(" ") + 1 >= BODY_WORDS:
            body_lines += 1
    flush_dropped()

    parts: list[str] = []
    segments: list[Segment] = []
    clean_pos = 0
    for raw_start, raw_end in pieces:
        if parts:
            parts.append(BLOCK_SEPARATOR)
            clean_pos += len(BLOCK_SEPARATOR)
        chunk = raw[raw_start:raw_end]
        parts.append(chunk)
        segments.append(Segment(clean_start=clean_pos, raw_start=raw_start, length=len(chunk)))
        clean_pos += len(chunk)

    doc.text = "".join(parts)
    doc.segments = segments
    doc.boilerplate = boilerplate
    if doc.title is None and title:
        doc.title = title
    if doc.published is None and published:
        doc.published = published
    if wire and doc.text:
        _read_wire_copy(doc, title if doc.title == title else None)
    if not doc.text.strip():
        doc.language = "und"
        doc.warnings.append("no article text left after cleaning")
    else:
        doc.language = guess_language(doc.text)
        if doc.language != "en":
            doc.warnings.append(f"not English (looks like {doc.language}): no extraction")
    return doc


def _read_wire_copy(doc: Document, own_title: str | None) -> None:
    """Unwrap hard-wrapped lines, read the dateline, truecase ALL-CAPS text (same length).
    ``own_title`` is the title this stage took from the text, if any: when that line turns
    out to be the first line of a wrapped paragraph, it was no title."""
    text = unwrap(doc.text, doc.segments, doc.raw_text or "")
    if own_title and text != doc.text:
        at = doc.text.find(own_title)
        after = at + len(own_title)
        if at >= 0 and doc.text[after:after + 1] in ("\n", "\r") and text[after:after + 1] == " ":
            doc.title = None
    dateline = find_dateline(text)
    body = None
    if dateline:
        # the body starts after the dateline (and a bracketed tag such as "[TEXT]")
        rest = re.match(r"\s*(?:\[[^\]\n]{1,60}\]\s*)*", text[dateline.end:])
        body = dateline.end + rest.end()
    if is_all_caps(text):
        text = truecase(text, (body,) if dateline else (), dateline.spans if dateline else ())
        # wire services bracket their own insertions ("THE FRONT [FMLN] ATTACKED"): read as the
        # parentheses they stand for, so an acronym is defined and the parser keeps one sentence
        # (same length: offsets still point into the text as read)
        start = body or 0
        text = text[:start] + _WIRE_BRACKETS.sub(lambda m: "(" + m.group(1) + ")", text[start:])
    if dateline:
        doc.dateline_place = ", ".join(text[a:b] for a, b in dateline.spans)
        doc.dateline_span = (dateline.start, dateline.end, body)
        doc.dateline_place_spans = tuple(dateline.spans)
        if doc.published is None and dateline.date:
            doc.published = dateline.date
    doc.text = text
