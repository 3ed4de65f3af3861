"""Sentence context of a fact: hedging, negation, attribution, dates, casualties."""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from allegiance.extract.cues import cues


@lru_cache(maxsize=1)
def _rx(name: str) -> re.Pattern:
    words = sorted(cues()[name], key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w])", re.IGNORECASE)


def find_hedge(window: str) -> str | None:
    m = _rx("hedge").search(window)
    return m.group(0) if m else None


def find_negation(window: str) -> str | None:
    m = _rx("negation").search(window)
    return m.group(0) if m else None


@lru_cache(maxsize=1)
def _denied_frame() -> re.Pattern:
    c = cues()
    return re.compile(
        r"\b(?:" + "|".join(c["report_nouns"]) + r") (?:that|of) (.*) (?:were|was|are|is|proved|proven|have proved|turned out to be) "
        r"(?:" + "|".join(c["falsity"]) + r")\b"
    )


def denied_span(skel: str) -> tuple[int, int] | None:
    """"Reports that X defected were wrong": the span of the denied clause."""
    m = _denied_frame().search(skel)
    return (m.start(1), m.end(1)) if m else None


# --- attribution -----------------------------------------------------------

_TITLE = r"(?:(?:Gen|Lt|Col|Maj|Capt|Sgt|Adm|Dr|Mr|Mrs|Ms|Prof|Sen|Rep|Gov|Amb)\.\s+)?"
_ACCORDING = re.compile(r"\b[Aa]ccording to\s+(?:the\s+)?(" + _TITLE + r"(?:\b[A-Z]\.|[^,.;:“”\"()«»]){3,80})")


def attribution(sent, previous: str | None) -> tuple[str | None, str | None]:
    """(attributed_to, carried) for a spaCy sentence span. ``carried`` is what a
    following "They said" would refer to."""
    c = cues()
    verbs = set(c["report_verbs"])
    m = _ACCORDING.search(sent.text)
    if m:
        src = m.group(1).strip()
        src = re.split(r"\s+(?:that|who|which|on|in)\s+", src)[0]
        return _tidy(src), _tidy(src)
    for tok in sent:
        if tok.lower_ not in verbs or tok.pos_ not in ("VERB", "AUX"):
            continue
        subj = [ch for ch in tok.children if ch.dep_ in ("nsubj", "nsubjpass")]
        if not subj:
            continue
        s = subj[0]
        if s.pos_ == "PRON":
            if s.lower_ in ("they", "he", "she") and previous:
                return previous, previous
            continue
        span = sent.doc[s.left_edge.i: s.right_edge.i + 1]
        if len(span) > 9:
            span = sent.doc[s.i - min(3, s.i - s.left_edge.i): s.i + 1]
        text = _tidy(span.text)
        if text:
            return text, text
    return None, None


def _tidy(s: str) -> str | None:
    s = re.sub(r"\s+", " ", s).strip(" ,\"“”'‘’")
    s = re.sub(r"^(?:the|a|an)\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"['’]s$", "", s)
    if not s or len(s) > 80:
        return None
    return s


# --- dates -----------------------------------------------------------------

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_DURATION = re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)[- ](?:year|month|week|day|decade)s?(?:[- ]old)?\b(?! ago)", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_MONTH = re.compile(r"\b(" + _MONTHS + r")\b\.?", re.IGNORECASE)
_DAYNUM = re.compile(r"\b([0-3]?\d)(?:st|nd|rd|th)?\b")


def parse_published(published: str | None) -> datetime | None:
    if not published:
        return None
    parts = published.split("-")
    try:
        y = int(parts[0])
        mth = int(parts[1]) if len(parts) > 1 else 12
        d = int(parts[2]) if len(parts) > 2 else 28
        return datetime(y, mth, d)
    except (ValueError, IndexError):
        return None


def resolve_date(expr: str, published: str | None) -> str | None:
    """A date expression from a sentence -> ISO (YYYY, YYYY-MM, YYYY-MM-DD),
    relative expressions ("last August", "on July 30") resolved against the
    publication date. None when it cannot be placed in time."""
    text = expr.strip()
    low = text.lower()
    if _DURATION.search(low) and "ago" not in low:
        return None
    base = parse_published(published)
    year_m = _YEAR.search(text)
    month_m = _MONTH.search(text)
    if month_m and month_m.group(1).lower() == "may" and not year_m and not re.search(r"\b(?:last|this|next|in|early|late|mid)[- ]may\b|\bmay \d", low):
        return None  # "may" the modal verb
    if year_m and not month_m:
        if re.search(r"\b(?:since|until|by|before)\b", low):
            return None
        return year_m.group(1)
    if month_m:
        import dateparser

        settings = {"PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False}
        if base:
            settings["RELATIVE_BASE"] = base
        elif not year_m:
            return None
        cleaned = re.sub(r"\b(?:early|late|mid|in|on|the|of|last|this|since|by|around)\b[- ]?", " ", low)
        cleaned = re.sub(r"\s+", " ", cleaned).strip()
        dt = dateparser.parse(cleaned, languages=["en"], settings=settings)
        if dt is None:
            return None
        if base and not year_m and dt > base:
            dt = dt.replace(year=dt.year - 1)
        if "last " in low and base and not year_m and dt.year == base.year and dt.month >= base.month:
            dt = dt.replace(year=dt.year - 1)
        day = re.search(r"(?<![\d])([0-3]?\d)(?:st|nd|rd|th)?(?![\d])", re.sub(_YEAR, "", text))
        if day and 1 <= int(day.group(1)) <= 31:
            return dt.strftime("%Y-%m-%d")
        return dt.strftime("%Y-%m")
    m = re.search(r"\b(?:(\d+|one|two|three|four|five|six|seven|eight|nine|ten)) years? ago\b", low)
    if m and base:
        n = cues()["number_words"].get(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))
        if n:
            return str(base.year - n)
    return None


def sentence_date(sent, published: str | None) -> str | None:
    for ent in sent.ents:
        if ent.label_ != "DATE":
            continue
        d = resolve_date(ent.text, published)
        if d:
            return d
    return None


# --- casualties --------------------------------------------------------------

def _num(s: str) -> int | None:
    s = s.lower().replace(",", "")
    if s.isdigit():
        return int(s)
    v = cues()["number_words"].get(s)
    return v if isinstance(v, int) else None


_NUMWORD = r"(\d[\d,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty|forty|fifty|hundred)"
_KILLED = [
    re.compile(r"\bkill(?:ed|ing)\s+(?:as many as\s+|at least\s+|more than\s+|about\s+|some\s+|up to\s+|nearly\s+|around\s+)?" + _NUMWORD + r"\b", re.IGNORECASE),
    re.compile(r"\b(?:at least\s+|as many as\s+|more than\s+|some\s+)?" + _NUMWORD + r"\s+(?:[\w-]+\s+){0,3}(?:were|have been|had been|was|are)\s+(?:\w+\s+)?killed", re.IGNORECASE),
    re.compile(r"\bleft\s+(?:at least\s+)?" + _NUMWORD + r"\s+(?:\w+\s+)?dead", re.IGNORECASE),
    re.compile(r"\b" + _NUMWORD + r"\s+(?:people\s+)?(?:dead|deaths|fatalities)", re.IGNORECASE),
]


def killed(text: str) -> int | None:
    for rx in _KILLED:
        m = rx.search(text)
        if m:
            n = _num(m.group(1))
            if n is not None and n < 100000:
                return n
    return None
