"""Main-text and metadata extraction from HTML pages (trafilatura + htmldate), in bounded
time and memory whatever the markup.

trafilatura builds an lxml tree and walks it many times: it costs about half a millisecond
per element, more on bigger trees (4 MB of ``<div><span>a</span></div>`` took 4 minutes),
and libxml2 drops everything nested deeper than 255 elements. So every page goes through
a cheap pre-pass first (``prepare_markup``):

1. scripts, styles, SVG drawings, templates and comments are cut out (C-speed regular
   expressions: they are most of a modern page's bytes and none of its text; JSON-LD
   metadata scripts are kept for the dates and titles they hold);
2. what is left must be under ``MAX_MARKUP_CHARS``, else the page is refused with one line
   (that much markup is never one article: its text would be over the article limit);
3. one linear tokenizing pass then shortens tags with huge attribute runs, and flattens
   nesting deeper than ``MAX_NESTING``: deeper elements are not emitted (block ones become
   ``<br>``), their text is, so deep text is read rather than dropped.

A page that still has more than ``MAX_TREE_ELEMENTS`` elements, or more than
``MAX_TEXT_CHARS`` of text, is read by the streaming extractor (``stream_extract``: one
pass, no tree, any depth, text capped at ``MAX_TEXT_CHARS``) instead of trafilatura, with
a warning. Every pass is linear in the markup: each regular
expression either matches at once or runs to the end of the text (an unclosed tag, quote,
comment or script ends the page, as in a browser), so nothing is scanned twice."""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from allegiance.ingest.reader import RejectedInput
from allegiance.pipeline import MAX_ARTICLE_CHARS

_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")

# -- limits (README "Limits") ------------------------------------------------------------
# Markup left after cutting scripts, styles, SVG and comments. An article's text is at most
# MAX_ARTICLE_CHARS (2 million characters) and its markup a small multiple of that: beyond
# 8 million characters the page is a dump, a concatenation or an attack.
MAX_MARKUP_CHARS = 8_000_000
# Elements trafilatura is given: about 5 s at 10,000 (measured: 0.7 s at 1,000 paragraphs,
# 2.9 s at 5,000, 16 s at 20,000); a news page has 1,000 to 5,000. Beyond: the streaming
# extractor, linear in the markup.
MAX_TREE_ELEMENTS = 10_000
# Nesting depth kept as elements; libxml2 (lxml, under trafilatura and htmldate) drops
# whatever is deeper than about 255 elements, and it counts elements this pass does not
# see (html, body, implied ones): half of that leaves a wide margin. Real pages are rarely
# 40 deep.
MAX_NESTING = 128
# A tag longer than this has its long attribute values dropped (data: URIs, class runs):
# attributes of up to MAX_ATTR_CHARS are kept, so ids, classes, dates and meta content are.
MAX_TAG_CHARS = 4096
MAX_ATTR_CHARS = 1024
# JSON-LD scripts (publication dates, headlines) kept for trafilatura and htmldate, up to
# this size each; other scripts never hold article text.
MAX_JSON_LD_CHARS = 100_000
# Text the streaming extractor collects before it stops: the article limit of the pipeline.
MAX_TEXT_CHARS = MAX_ARTICLE_CHARS
# A "title" longer than this is not a headline (a hostile or broken <title>): none is kept.
MAX_TITLE_CHARS = 1_000
# Markup htmldate reads on the streaming path: the head and the top of the page, where
# dates are; all of a huge page would cost more than the text.
DATE_SCAN_CHARS = 500_000

# Elements whose content is not markup, cut by the first pass (none hold article text).
_CUT = ("script", "style", "svg", "template")
# Attribute values this long are cut by the first pass too (inline data: images, class
# runs), before anything counts the markup; MAX_ATTR_CHARS then applies per tag. Only a
# value after "=" without "<" or ">" in it is cut, so text is never touched.
MAX_ATTR_CUT_CHARS = 10_000
# Each alternative is written so that, once started, it matches (an unclosed comment,
# element or quote runs to the end, as in a browser) with possessive loops: the text is
# scanned once, at C speed, whatever it holds.
_CUT_RX = re.compile(
    r"<!--[^-]*+(?:-(?!->)[^-]*+)*+(?:-->)?"
    r"|<(" + "|".join(_CUT) + r")(?=[\s/>]|\Z)[^>]*+(?:>[^<]*+(?:<(?!/\1\s*>)[^<]*+)*+(?:</\1\s*>)?)?"
    r"|(=\s*+)(?:\"[^\"<>]{" + str(MAX_ATTR_CUT_CHARS) + r",}+\"?|'[^'<>]{" + str(MAX_ATTR_CUT_CHARS) + r",}+'?)",
    re.IGNORECASE,
)
# Elements whose content is text, not markup (kept whole by the tokenizer).
_RAW_TEXT = frozenset({"title", "textarea", "xmp", "iframe", "noembed", "noframes"})
_VOID = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
})
# Block elements: a paragraph break when flattened, and in the streaming extractor.
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td",
    "th", "tr", "ul",
})
# A start tag of these closes an open element of the same group right above it (the
# unclosed <p>, <li>, <td> of old markup), so that sloppy pages are not counted as deep.
_SELF_CLOSING_GROUPS = {
    "p": {"p"}, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "option": {"option"},
    "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"},
}
_CLOSES_P = _BLOCK - {"br", "td", "th", "tr", "dd", "dt", "li"}

# One token at a position: text (with any "<" that starts no tag); a raw-text element whole
# (its content is text, not markup); a tag (an unclosed quote or tag runs to the end, as in
# a browser); a declaration, processing instruction or bogus comment. The groups: 1 text,
# 2 raw-text element name, 3 its content, 4 "/" of an end tag, 5 tag name.
_TAG_REST = r"(?:[^>\"'=]++|=\s*+(?:\"[^\"]*+\"?|'[^']*+'?)|=)*+"
_TOKEN_RX = re.compile(
    r"((?:[^<]++|<(?![A-Za-z!?/]))++)"
    r"|<(" + "|".join(sorted(_RAW_TEXT)) + r")(?=[\s/>]|\Z)" + _TAG_REST + r"(?:>(.*?)(?:</\2\s*>|\Z)|\Z)"
    r"|<(/?)([A-Za-z][^\s/>]*+)" + _TAG_REST + r">?"
    r"|<[!?/][^>]*+>?",
    re.DOTALL | re.IGNORECASE,
)
TEXT, START, END, RAW, OTHER = range(5)
_ATTR_RX = re.compile(r"""([^\s=/>]++)(?:\s*+=\s*+("[^"]*+"?|'[^']*+'?|[^\s>]*+))?""")


@dataclass
class ExtractedHTML:
    text: str
    title: str | None = None
    published: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PreparedMarkup:
    html: str
    elements: int          # elements trafilatura would build (start tags kept, <br> added)
    flattened: int = 0     # elements deeper than MAX_NESTING emitted as text only
    shortened: int = 0     # tags whose long attributes were dropped
    # why the page goes to the streaming extractor instead (``html`` is then only cut)
    stream: str | None = None


def _iso(value: object) -> str | None:
    if not value:
        return None
    m = _ISO_DATE.match(str(value).strip())
    return m.group(0) if m else None


def _millions(n: int) -> str:
    return f"{n / 1e6:g} million"


# -- pre-pass ----------------------------------------------------------------------------
def _cut(match: re.Match) -> str:
    if match.group(2) is not None:  # a huge attribute value: kept empty
        return match.group(2) + '""'
    name = (match.group(1) or "").lower()
    if name == "script":
        text = match.group(0)
        start = text[: text.find(">") + 1].lower()
        if "ld+json" in start and len(text) <= MAX_JSON_LD_CHARS:
            return text
    return ""


def cut_markup(html: str) -> str:
    """``html`` without comments, scripts (JSON-LD kept), styles, SVG, templates and
    attribute values over MAX_ATTR_CUT_CHARS; refused (RejectedInput) when what is left is
    over MAX_MARKUP_CHARS."""
    markup = _CUT_RX.sub(_cut, html)
    if len(markup) > MAX_MARKUP_CHARS:
        raise RejectedInput(
            f"HTML too large: {len(markup) / 1e6:.1f} million characters of markup besides scripts, "
            f"styles and comments (limit {_millions(MAX_MARKUP_CHARS)}); not one article"
        )
    return markup


def _tokens(markup: str) -> Iterator[tuple[int, str, str, str | None]]:
    """``(kind, name, raw, content)`` for each token of ``markup``, in one pass: kind TEXT,
    START, END, OTHER, or RAW for a whole raw-text element (<title>, <textarea>, ...) whose
    text is ``content``; ``name`` is the lower-case tag name."""
    for m in _TOKEN_RX.finditer(markup):
        raw = m.group()
        if m.group(1) is not None:
            yield TEXT, "", raw, None
        elif (name := m.group(5)) is not None:
            yield (END if m.group(4) else START), name.lower(), raw, None
        elif m.group(2):
            yield RAW, m.group(2).lower(), raw, m.group(3) or ""
        else:
            yield OTHER, "", raw, None


def _shorten(raw: str, name: str) -> str:
    """A tag over MAX_TAG_CHARS rebuilt from its attributes of up to MAX_ATTR_CHARS, until
    MAX_TAG_CHARS are kept (the rest of the tag is not even parsed)."""
    kept, size = [], len(name) + 2
    for m in _ATTR_RX.finditer(raw, len(name) + 1):
        attr, value = m.group(1), m.group(2) or ""
        if len(value) > MAX_ATTR_CHARS:
            continue
        piece = f" {attr}={value}" if value else f" {attr}"
        size += len(piece)
        if size > MAX_TAG_CHARS:
            break
        kept.append(piece)
    return f"<{name}{''.join(kept)}>"


class _Stack:
    """Open elements, as an HTML parser would hold them, closely enough to measure depth:
    void elements never open, an end tag closes up to its element (a stray one closes
    nothing), an unclosed <p>/<li>/<td> is closed by its next sibling."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.counts: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.names)

    def push(self, name: str) -> int:
        self.names.append(name)
        self.counts[name] = self.counts.get(name, 0) + 1
        return len(self.names) - 1

    def pop(self) -> tuple[str, int]:
        name = self.names.pop()
        self.counts[name] -= 1
        return name, len(self.names)

    def close(self, name: str) -> int | None:
        """Close up to the innermost open ``name``; its index, None if not open."""
        if not self.counts.get(name):
            return None
        while True:
            popped, index = self.pop()
            if popped == name:
                return index

    def implied_close(self, name: str) -> None:
        """What a start tag of ``name`` closes implicitly, when it is right above."""
        group = _SELF_CLOSING_GROUPS.get(name)
        if group and self.names and self.names[-1] in group:
            self.pop()
        if name in _CLOSES_P and self.names and self.names[-1] == "p":
            self.pop()


def prepare_markup(html: str) -> PreparedMarkup:
    """The page as trafilatura gets it: cut (``cut_markup``), long tags shortened, nesting
    deeper than MAX_NESTING flattened into text (block elements become one ``<br>``).

    It stops at once past MAX_TREE_ELEMENTS elements (kept or flattened) or MAX_TEXT_CHARS
    of text: such a page goes to the streaming extractor (``stream`` says why), which reads
    any number of elements at any depth, and stops at the text limit."""
    markup = cut_markup(html)
    out: list[str] = []
    stack = _Stack()
    elements = flattened = shortened = text = 0
    broke = False  # the last thing emitted is a <br> standing for flattened blocks

    def line_break() -> None:
        nonlocal broke, elements
        if not broke:
            out.append("<br>")
            elements += 1
            broke = True

    def too_much() -> str | None:
        if elements > MAX_TREE_ELEMENTS or flattened > MAX_TREE_ELEMENTS:
            return f"HTML has more than {MAX_TREE_ELEMENTS:,} elements"
        if text > MAX_TEXT_CHARS:  # trafilatura slows down on that much text
            return f"HTML has more than {_millions(MAX_TEXT_CHARS)} characters of text"
        return None

    for kind, name, raw, content in _tokens(markup):
        if (why := too_much()) is not None:
            return PreparedMarkup(markup, elements, flattened, shortened, stream=why)
        if kind == TEXT:
            out.append(raw)
            text += len(raw)
            broke = broke and not raw.strip()
            continue
        if kind == OTHER:  # a doctype, comment or processing instruction: a node for lxml
            out.append(raw)
            elements += 1
            continue
        if kind == RAW:  # a whole element, closed: kept, or dropped when too deep
            if len(stack) < MAX_NESTING:
                out.append(raw)
                text += len(content or "")
                elements += 1
                broke = False
            else:
                flattened += 1
            continue
        if kind == END:
            index = stack.close(name)
            if index is None or index < MAX_NESTING:
                out.append(raw)  # a stray end tag stays: the parser decides, as before
                broke = False
            elif name in _BLOCK:
                line_break()
            continue
        stack.implied_close(name)  # the parser closes them too: nothing to emit
        index = len(stack)
        if name not in _VOID:
            stack.push(name)
        if index >= MAX_NESTING:
            flattened += 1
            if name in _BLOCK:
                line_break()
            continue
        elements += 1
        broke = False
        if len(raw) > MAX_TAG_CHARS:
            raw = _shorten(raw, name)
            shortened += 1
        out.append(raw)
    if (why := too_much()) is not None:
        return PreparedMarkup(markup, elements, flattened, shortened, stream=why)
    return PreparedMarkup("".join(out), elements, flattened, shortened)


# -- extraction --------------------------------------------------------------------------
def extract_html(html: str) -> ExtractedHTML | None:
    """Extract the article's main text, title and original publication date.

    Favours precision (no comments, no tables); scripts and styles never reach the text.
    Returns None when no article text can be found; raises RejectedInput for a page over
    the markup or text limits (one line saying which).
    """
    prepared = prepare_markup(html)
    warnings = []
    if prepared.flattened and not prepared.stream:
        warnings.append(
            f"HTML nested deeper than {MAX_NESTING} elements: {prepared.flattened} deeper elements "
            "read as plain text"
        )
    try:
        import trafilatura
    except Exception as exc:  # missing optional dependency (e.g. lxml_html_clean)
        why = f"trafilatura unavailable ({type(exc).__name__}): basic HTML extraction used"
        return _streamed(prepared.html, warnings + [why])
    if prepared.stream:
        why = f"{prepared.stream}: read in one pass by the basic extractor, page furniture may remain"
        return _streamed(prepared.html, warnings + [why])

    markup = prepared.html
    params = {"extensive_search": True, "original_date": True}
    doc = None
    for precision in (True, False):
        doc = trafilatura.bare_extraction(
            markup,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            favor_precision=precision,
            with_metadata=True,
            date_extraction_params=params,
        )
        if doc is not None and (getattr(doc, "text", None) or "").strip():
            break
    text = (getattr(doc, "text", None) or "") if doc is not None else ""
    if not text.strip():
        return None
    title = _title(getattr(doc, "title", None))
    published = _iso(getattr(doc, "date", None))
    if published is None:
        published = _htmldate(markup)
    return ExtractedHTML(text=text, title=title, published=published, warnings=warnings)


def _title(value: str | None) -> str | None:
    """A page title, or None when there is none or it is too long to be a headline."""
    title = (value or "").strip()
    return title if title and len(title) <= MAX_TITLE_CHARS else None


def _htmldate(html: str) -> str | None:
    try:
        from htmldate import find_date

        return _iso(find_date(html, original_date=True, extensive_search=True))
    except Exception:
        return None


def _streamed(markup: str, warnings: list[str]) -> ExtractedHTML | None:
    result = stream_extract(markup)
    if result is not None:
        result.published = _htmldate(markup[:DATE_SCAN_CHARS])
        result.warnings.extend(warnings)
    return result


# Page furniture the streaming extractor skips, with everything inside.
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside",
                   "form", "iframe", "head", "button", "select", "textarea"})


def stream_extract(markup: str) -> ExtractedHTML | None:
    """Paragraph-level text outside scripts, styles and page chrome, in one pass with no
    tree (any depth, any number of elements). Raises RejectedInput past MAX_TEXT_CHARS."""
    blocks: list[str] = []
    current: list[str] = []
    title: list[str] = []
    skip_depth = 0
    size = 0

    def flush() -> None:
        nonlocal size
        text = " ".join(html_lib.unescape("".join(current)).split())
        current.clear()
        if text:
            blocks.append(text)
            size += len(text) + 1
            if size > MAX_TEXT_CHARS:
                raise RejectedInput(
                    f"too long for one article: more than {_millions(MAX_TEXT_CHARS)} characters of text "
                    "in the HTML (reading stopped there); split it into articles"
                )

    for kind, name, raw, content in _tokens(markup):
        if kind == TEXT:
            if not skip_depth:
                current.append(raw)
        elif kind == START or kind == END:
            if name in _SKIP:
                skip_depth = skip_depth + 1 if kind == START else max(0, skip_depth - 1)
            elif name in _BLOCK:
                flush()
        elif kind == RAW and name == "title":
            title.append(content)
    flush()
    text = "\n".join(blocks)
    if not text.strip():
        return None
    heading = " ".join(html_lib.unescape("".join(title)[: 4 * MAX_TITLE_CHARS]).split())
    return ExtractedHTML(text=text, title=_title(heading))
