"""Sentence context of a fact: hedging, negation, attribution, dates, casualties."""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from allegiance.extract.cues import cues


@lru_cache(maxsize=None)   # one per cue list (hedge, negation)
def _rx(name: str) -> re.Pattern:
    words = sorted(cues()[name], key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w])", re.IGNORECASE)


# The rules and the candidate features ask about the same few windows of a sentence
# again and again (about half the questions repeat one already asked); the answer is a
# function of the string alone.
@lru_cache(maxsize=4096)
def find_hedge(window: str) -> str | None:
    m = _rx("hedge").search(window)
    return m.group(0) if m else None


@lru_cache(maxsize=4096)
def find_negation(window: str) -> str | None:
    m = _rx("negation").search(window)
    return m.group(0) if m else None


def find_negations(window: str) -> list[str]:
    """Every negation cue of ``window``, in order."""
    return [m.group(0) for m in _rx("negation").finditer(window)]


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


# Penn tags of pronouns (the attribute ruler, not loaded, would map these to PRON)
_PRONOUN_TAGS = {"PRP", "PRP$", "WP", "WP$", "WDT", "EX"}


@lru_cache(maxsize=1)
def _report_verbs() -> frozenset:
    return frozenset(cues()["report_verbs"])   # once per process, not once per sentence


def attribution(sent, previous: str | None) -> tuple[str | None, str | None]:
    """(attributed_to, carried) for a spaCy sentence span. ``carried`` is what a
    following "They said" would refer to."""
    verbs = _report_verbs()
    m = _ACCORDING.search(sent.text)
    if m:
        src = m.group(1).strip()
        src = re.split(r"\s+(?:that|who|which|on|in)\s+", src)[0]
        return _tidy(src), _tidy(src)
    for tok in sent:
        if tok.lower_ not in verbs or not (tok.tag_.startswith("VB") or tok.tag_ == "MD"):
            continue
        subj = [ch for ch in tok.children if ch.dep_ in ("nsubj", "nsubjpass")]
        if not subj:
            continue
        s = subj[0]
        if s.tag_ in _PRONOUN_TAGS:
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
_MONTH_NUMBER = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
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


@lru_cache(maxsize=8192)   # news repeats its date expressions
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
    if month_m and month_m.group(1).lower() == "may" and not year_m and not re.search(r"\b(?:last|this|next|in|early|late|mid)[- ]may\b|\bmay \d|\b\d{1,2}(?:st|nd|rd|th)? may\b", low):
        return None  # "may" the modal verb
    if year_m and not month_m:
        if re.search(r"\b(?:since|until|by|before)\b", low):
            return None
        return year_m.group(1)
    if month_m:
        if not base and not year_m:
            return None
        month = _MONTH_NUMBER[month_m.group(1)[:3].lower()]
        day_m = re.search(r"(?<![\d])([0-3]?\d)(?:st|nd|rd|th)?(?![\d])", re.sub(_YEAR, "", text))
        day = int(day_m.group(1)) if day_m and 1 <= int(day_m.group(1)) <= 31 else None
        if year_m:
            year = int(year_m.group(1))
        else:
            # the most recent such day on or before publication ("last August", "on July 30")
            year = base.year if (month, day or 1) <= (base.month, base.day) else base.year - 1
            if "last " in low and year == base.year and month >= base.month:
                year -= 1
        if day is not None:
            try:
                return datetime(year, month, day).strftime("%Y-%m-%d")
            except ValueError:   # "February 30" is no date
                return None
        return f"{year:04d}-{month:02d}"
    m = re.search(r"\b(?:(\d+|one|two|three|four|five|six|seven|eight|nine|ten)) years? ago\b", low)
    if m and base:
        n = cues()["number_words"].get(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))
        if n:
            return str(base.year - n)
    return None


_MON = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|"
        r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY_RX = r"[0-3]?\d(?:st|nd|rd|th)?"
_YR = r"(?:1[89]\d\d|20\d\d)"
_MODIFIER = r"(?:(?i:early|late|mid|last|this|next)[- ])?"


@lru_cache(maxsize=1)
def _date_rx() -> re.Pattern:
    c = cues()
    nouns = "|".join(re.escape(w) for w in sorted(c["quantity_nouns"], key=len, reverse=True))
    # Month names only capitalised: "a protest march" is not a date.
    return re.compile(
        rf"(?<![\w-]){_MODIFIER}(?:{_DAY_RX} (?:of )?{_MON}(?:,? {_YR})?|{_MON} {_DAY_RX}(?:,? {_YR})?(?![\d:])"
        rf"|{_MON},? {_YR}|{_MON})(?![\w-])"
        rf"|(?<![\w$£€.,-])(?:(?i:early|late|mid)[- ]|(?i:the) (?i:end|start|beginning|middle|spring|summer|autumn|fall|winter) of )?"
        rf"{_YR}(?:-[01]\d-[0-3]\d)?(?![\w,.]\d|s\b|\w)(?! (?i:{nouns})\b)"
        rf"|\b(?i:\d+|one|two|three|four|five|six|seven|eight|nine|ten) years? ago\b"
    )


def date_expressions(text: str) -> list[str]:
    """The date expressions of a sentence, in order: "March 15th, 2016", "early 2015",
    "last August", "in 2014" (as "2014"), "two years ago". A regular expression, not
    the statistical NER: dates are needed in every sentence, the NER only in some."""
    # the relations, the attack frames and their dates read the same sentence up to
    # four times: the regex runs once (a copy, so that no caller changes the cached one)
    return list(_date_expressions(text))


@lru_cache(maxsize=2048)
def _date_expressions(text: str) -> tuple[str, ...]:
    out = []
    counts = cues()["quantity_words"]
    for m in _date_rx().finditer(text):
        expr = m.group(0)
        if expr[:1].isdigit() and len(expr) == 4:
            before = text[max(0, m.start() - 20):m.start()].lower().split()
            if before and (before[-1] in counts or " ".join(before[-2:]) in counts):
                continue   # "about 1500", "up to 2000": a count
        out.append(expr)
    return tuple(out)


def sentence_date(text: str, published: str | None) -> str | None:
    """The first date expression of a sentence that can be placed in time."""
    for expr in date_expressions(text):
        d = resolve_date(expr, published)
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
