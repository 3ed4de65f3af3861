"""Plain text as it comes off the wire: hard-wrapped lines, datelines, ALL-CAPS copy.

Every change here keeps ``Document.text`` the same length, character for character, so the
segments of the clean stage still map each offset back to the raw text as read:

* ``unwrap``: in a document whose paragraphs are hard-wrapped (decided from the lengths of its
  own lines), the line break inside a paragraph becomes a space ("\\r\\n" two spaces).
* ``find_dateline``: "LIMA, 20 Aug 88 (EFE) --", "BAMAKO, Mali (Reuters) -" at the start of
  the body: the place, and the date when the dateline has a year.
* ``truecase``: in a document (almost) all in capitals, common words (``common_words.txt``)
  go lower case, other words keep a capital, likely acronyms stay upper case.

Knowledge (months, bullets, the common words) lives in ``allegiance/data``.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_BREAK_RE = re.compile(r"\r\n|\n|\r")
_WORD_RE = re.compile(r"[^\W\d_]+")
_TRAILING_CLOSERS = "\"'”’)]»"

# hard-wrap detection thresholds (line-length statistics of one document)
MIN_WRAPPED_LINES = 3      # wrapped-looking lines a document needs
MIN_WIDTH, MAX_WIDTH = 30, 120   # plausible wrap widths
LONG_WIDTH = 0.7           # a wrapped line reaches this share of the wrap width...
WRAPPED_SHARE = 0.3        # ...and such lines are this share of the lines followed by another
CONTINUED_SHARE = 0.5      # mixed case: share of wrapped lines whose next line does not start a capital
WIDTH_PERCENTILE = 0.9
FIT_TOLERANCE = 0.9        # a line was wrapped if its next word would not have fit in this much width

UPPER_SHARE = 0.9          # share of letters in capitals for an ALL-CAPS document
MIN_LETTERS = 40
ACRONYM_MAX = 5


@lru_cache(maxsize=1)
def wire_data() -> dict:
    return json.loads(resources.files("allegiance.data").joinpath("wire.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """What the mixed-case corpora write in lower case (common_words.txt) and the frequent
    dictionary words (english_words.txt: wire copy uses many verbs and nouns the corpora lack)."""
    out: set[str] = set()
    for name in ("common_words.txt", "english_words.txt"):
        text = resources.files("allegiance.data").joinpath(name).read_text(encoding="utf-8")
        out.update(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))
    return frozenset(out)


def is_common(word: str) -> bool:
    """``word`` (lower case) is a common English word, or a regular inflection of one."""
    common = common_words()
    if word in common:
        return True
    for suffix, repl in wire_data()["inflections"]:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: len(word) - len(suffix)] + repl
            if base in common:
                return True
            if not repl and len(base) >= 4 and base[-1] == base[-2] and base[:-1] in common:
                return True   # "stopped" -> "stop"
    return False


@lru_cache(maxsize=1)
def _name_heads() -> tuple[frozenset[str], frozenset[str]]:
    """Head words of organisation names ("army", "front", "council") and country adjectives,
    from the extraction cues (allegiance/data/cues.json)."""
    cues = json.loads(resources.files("allegiance.data").joinpath("cues.json").read_text(encoding="utf-8"))
    heads = frozenset(h.lower() for h in cues.get("org_heads", []))
    adjectives = frozenset(a.lower() for a in cues.get("country_adjectives", {}))
    return heads, adjectives


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """English function words ("of", "the", "and"), from allegiance/data/stopwords.json."""
    data = json.loads(resources.files("allegiance.data").joinpath("stopwords.json").read_text(encoding="utf-8"))
    return frozenset(w.lower() for w in data.get("en", []))


# ---------------------------------------------------------------- hard wraps

@dataclass
class _Line:
    start: int        # clean offset of the line's first character
    end: int          # clean offset just past its last character (before the break)
    brk: int          # length of the break after it (0: last line of its block)
    width: int        # raw column of its last non-space character + 1 (indentation counts)


def _column(raw: str, at: int, window: int = 400) -> int:
    """Column of raw offset ``at`` in its line (looked for in a bounded window: linear time)."""
    lo = max(0, at - window)
    k = max(raw.rfind("\n", lo, at), raw.rfind("\r", lo, at))
    return at - (k + 1) if k >= 0 or lo == 0 else window


def _lines(text: str, segments, raw: str) -> list[list[_Line]]:
    """The lines of each kept block of ``text``."""
    blocks = []
    for seg in segments:
        chunk_start, chunk_end = seg.clean_start, seg.clean_start + seg.length
        indent = _column(raw, seg.raw_start)
        lines, pos = [], chunk_start
        for m in _BREAK_RE.finditer(text, chunk_start, chunk_end):
            body = text[pos:m.start()].rstrip()
            lines.append(_Line(pos, m.start(), m.end() - m.start(), len(body) + indent))
            pos, indent = m.end(), 0
        body = text[pos:chunk_end].rstrip()
        lines.append(_Line(pos, chunk_end, 0, len(body) + indent))
        blocks.append(lines)
    return blocks


def _ends_sentence(line: str) -> bool:
    s = line.rstrip().rstrip(_TRAILING_CLOSERS)
    return bool(s) and s[-1] in wire_data()["sentence_final"]


def wrap_width(text: str, segments, raw: str) -> int | None:
    """The wrap width of a hard-wrapped document, or None when its lines are not hard-wrapped.

    Read from the lines that are followed by another line of the same block: in wrapped copy
    most of them reach near one width and stop mid-sentence (and, in mixed-case text, the next
    line goes on in lower case); titles, list items and captions are short or end a sentence;
    an article with one paragraph a line has lines of every length, most ending a sentence."""
    inner = [ln for block in _lines(text, segments, raw) for ln in block[:-1]]
    open_lines = [ln for ln in inner if not _ends_sentence(text[ln.start:ln.end])]
    if len(open_lines) < MIN_WRAPPED_LINES:
        return None
    widths = sorted(ln.width for ln in open_lines)
    width = widths[min(len(widths) - 1, int(WIDTH_PERCENTILE * len(widths)))]
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        return None
    wrapped = [ln for ln in open_lines if ln.width >= LONG_WIDTH * width]
    if len(wrapped) < MIN_WRAPPED_LINES or len(wrapped) < WRAPPED_SHARE * len(inner):
        return None
    if not is_all_caps(text):
        nexts = [text[ln.end + ln.brk:ln.end + ln.brk + 40].lstrip()[:1] for ln in wrapped]
        if sum(not ch.isupper() for ch in nexts) < CONTINUED_SHARE * len(wrapped):
            return None   # lines of one length that each start a capital: headlines, a list
    return width


def _heading_like(line: str, width: int) -> bool:
    line = line.strip()
    return bool(line) and line[0].isupper() and len(line) < 0.6 * width and not _ends_sentence(line)


def _joins(prev: str, prev_width: int, nxt: str, width: int) -> bool:
    nxt = nxt.lstrip()
    if not nxt or not prev.strip():
        return False
    bullets = wire_data()["bullets"]
    if nxt[0] in bullets or re.match(r"\d{1,2}[.)]\s", nxt):
        return False   # a list item starts on its own line
    if _ends_sentence(prev) and _heading_like(nxt, width):
        return False   # a heading after a paragraph's last line
    first = nxt.split(None, 1)[0]
    if prev_width + 1 + len(first) > FIT_TOLERANCE * width:
        return True    # the next word would not have fit on this line: a wrap
    # a short line that stops mid-sentence, continued in lower case
    return nxt[0].islower() and not _ends_sentence(prev) and prev_width >= 0.5 * width


def unwrap(text: str, segments, raw: str) -> str:
    """``text`` with the line breaks inside hard-wrapped paragraphs turned into spaces."""
    width = wrap_width(text, segments, raw)
    if width is None:
        return text
    out = list(text)
    changed = False
    for block in _lines(text, segments, raw):
        for ln, nxt in zip(block, block[1:]):
            if _joins(text[ln.start:ln.end], ln.width, text[nxt.start:nxt.end], width):
                out[ln.end:ln.end + ln.brk] = " " * ln.brk
                changed = True
    return "".join(out) if changed else text


# ---------------------------------------------------------------- datelines

@dataclass
class Dateline:
    start: int               # clean offsets of the whole dateline, dash included
    end: int
    place: str               # "Bamako", or "Bamako, Mali" with the region
    spans: tuple[tuple[int, int], ...]   # clean offsets of the place (and region) names
    date: str | None         # ISO YYYY-MM-DD when the dateline gives a year
    agency: str | None


@lru_cache(maxsize=1)
def _dateline_re() -> re.Pattern[str]:
    data = wire_data()
    months = "|".join(sorted((re.escape(m) for m in data["months"]), key=len, reverse=True))
    dashes = "|".join(re.escape(d) for d in sorted(data["dateline_dashes"], key=len, reverse=True))
    no_date = "|".join(re.escape(d) for d in data["no_date"])
    word = r"[A-Z][\w.'’\-]*"
    name = rf"{word}(?:[ \t]+{word}){{0,3}}"
    month = rf"(?P<mon>(?i:{months}))\.?"
    mon2 = rf"(?P<mon2>(?i:{months}))\.?"
    date = (rf"(?:(?P<day>\d{{1,2}})[ \t]+{month}(?:,?[ \t]+(?P<year>\d{{4}}|\d{{2}}))?"
            rf"|{mon2}[ \t]+(?P<day2>\d{{1,2}})(?:,?[ \t]+(?P<year2>\d{{4}}|\d{{2}}))?"
            rf"|(?i:{no_date}))")
    return re.compile(
        rf"(?P<place>{name})(?:[ \t]*\((?P<region2>{name})\)|,[ \t]*(?P<region>{name}))??"
        rf"(?:,[ \t]*(?P<date>{date}))?"
        rf"[ \t]*(?:\((?P<agency>[A-Za-z][\w .&/\-]{{0,59}})\))?[ \t]*(?P<dash>{dashes})(?=\s)"
    )


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 4:
        return y
    now = _dt.date.today().year
    return 2000 + y if 2000 + y <= now + int(wire_data()["future_years"]) else 1900 + y


def find_dateline(text: str, max_paragraphs: int = 3) -> Dateline | None:
    """The dateline opening one of the first paragraphs of ``text``, or None."""
    rx = _dateline_re()
    months = wire_data()["months"]
    pos = 0
    for _ in range(max_paragraphs):
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        m = rx.match(text, pos)
        if m and (m.group("agency") or m.group("date")):
            date = None
            mon = m.group("mon") or m.group("mon2")
            day = m.group("day") or m.group("day2")
            year = m.group("year") or m.group("year2")
            if mon and day and year:
                try:
                    date = _dt.date(_year(year), months[mon.lower()], int(day)).isoformat()
                except ValueError:
                    date = None
            if m.group("date") and not mon:
                date = None
            spans = [(m.start("place"), m.end("place"))]
            region = "region" if m.group("region") else "region2" if m.group("region2") else None
            if region:
                spans.append((m.start(region), m.end(region)))
            place = ", ".join(text[a:b] for a, b in spans)
            return Dateline(m.start(), m.end(), place, tuple(spans), date, m.group("agency"))
        nxt = text.find("\n\n", pos)
        if nxt < 0:
            return None
        pos = nxt
    return None


# ---------------------------------------------------------------- truecasing

def is_all_caps(text: str, sample: int = 200_000) -> bool:
    """(Almost) all letters of ``text`` (of its first ``sample`` characters) are capitals."""
    text = text[:sample]
    # The counts without a Python step per character (every article comes through here):
    # ASCII letters are [A-Za-z] and its capitals [A-Z], counted in bytes; only the few
    # other characters are asked one by one.
    ascii_bytes = text.encode("ascii", "ignore")
    others = [ch for ch in _ASCII_RE.sub("", text) if ch.isalpha()] if len(ascii_bytes) < len(text) else []
    n_letters = len(ascii_bytes.translate(None, _NOT_ASCII_LETTER)) + len(others)
    if n_letters < MIN_LETTERS:
        return False
    n_upper = len(ascii_bytes.translate(None, _NOT_ASCII_UPPER)) + sum(ch.isupper() for ch in others)
    return n_upper >= UPPER_SHARE * n_letters


_ASCII_RE = re.compile(r"[\x00-\x7f]+")
_NOT_ASCII_LETTER = bytes(c for c in range(256) if not (65 <= c <= 90 or 97 <= c <= 122))
_NOT_ASCII_UPPER = bytes(c for c in range(256) if not 65 <= c <= 90)


_VOWELS = set("AEIOUY")
_SENT_START_RE = re.compile(r"(?:^|[.!?][\"'”’)\]]*\s+|\n\s*\n\s*)")


def _acronym_like(word: str, bracketed: set[str]) -> bool:
    """A short capitals-only token that reads as an acronym: it appears in brackets in the
    document ("(URNG)"), or it has no vowel (FMLN, DPA)."""
    if not 2 <= len(word) <= ACRONYM_MAX or not word.isupper():
        return False
    if word in bracketed:
        return True
    return not any(ch in _VOWELS for ch in word)


def truecase(text: str, sentence_starts: tuple[int, ...] = (), keep_title: tuple[tuple[int, int], ...] = ()) -> str:
    """Mixed case for an ALL-CAPS ``text``: the same length, only letter case changes."""
    bracketed = {m.group(1) for m in re.finditer(r"[(\[]([^\W\d_]{2,%d})[)\]]" % ACRONYM_MAX, text)}
    bracketed |= {w for m in re.finditer(r"\(([^()\n]{1,40})\)", text) for w in _WORD_RE.findall(m.group(1))
                  if len(w) <= ACRONYM_MAX and len(m.group(1).split()) <= 2}
    starts = {m.end() for m in _SENT_START_RE.finditer(text)} | set(sentence_starts)
    heads, adjectives = _name_heads()
    out = list(text)
    prev_end, prev_name = -1, False   # end of the last word, and whether it was a capitalised name
    words: list[tuple[int, int, bool, bool]] = []   # (start, end, a name word, a capitalised name head)
    for m in _WORD_RE.finditer(text):
        w, a = m.group(0), m.start()
        if not w.isupper():
            continue   # a mixed-case word was written that way on purpose
        # after an apostrophe inside a word ("SALVADOR'S", "1980'S"): lower case
        if a > 0 and text[a - 1] in "'’" and (a < 2 or text[a - 2].isalnum()):
            new = w.lower()
        elif a > 0 and text[a - 1] == "-" and a >= 2 and text[a - 2].isalpha() and is_common(w.lower()):
            new = w.lower()     # "ANTI-GOVERNMENT" -> "Anti-government"
        elif any(s <= a < e for s, e in keep_title):
            new = w[0] + w[1:].lower()
        elif _acronym_like(w, bracketed) and not is_common(w.lower()):
            new = w
        elif a in starts or _after_start(text, a, starts):
            new = w[0] + w[1:].lower()
        elif w.lower() in heads and prev_name and text[prev_end:a] in (" ", "-"):
            new = w[0] + w[1:].lower()   # the head of a name: "GUATEMALA ARMY" -> "Guatemala Army"
        elif is_common(w.lower()):
            new = w.lower()
        else:
            new = w[0] + w[1:].lower()
        out[a:m.end()] = new
        low = w.lower()
        capital = new[:1].isupper()
        prev_name = capital and ((not is_common(low) and low not in adjectives) or (low in heads and prev_name))
        prev_end = m.end()
        words.append((a, m.end(), prev_name, low in heads and capital))
    # common words inside a name: "Qwerty POPULAR Front" -> "Qwerty Popular Front"
    function = _function_words()
    for i in range(len(words)):
        if not words[i][2]:
            continue
        for j in range(i + 2, min(i + 4, len(words))):
            if not words[j][3]:
                continue
            middle = words[i + 1:j]
            if all(out[a].islower() and text[a:b].lower() not in function and text[words[k][1]:a] == " "
                   for k, (a, b, _, _) in zip(range(i, j), middle)) and text[middle[-1][1]:words[j][0]] == " ":
                for a, _, _, _ in middle:
                    out[a] = out[a].upper()
            break
    return "".join(out)


def _after_start(text: str, a: int, starts: set[int]) -> bool:
    """Word at ``a`` is the first word of a sentence once quotes / spaces before it are skipped."""
    i = a
    while i > 0 and text[i - 1] in " \t\"'“‘(":
        i -= 1
        if i in starts:
            return True
    return i == 0
