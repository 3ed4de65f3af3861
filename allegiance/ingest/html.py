"""Main-text and metadata extraction from HTML pages (trafilatura + htmldate)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@dataclass
class ExtractedHTML:
    text: str
    title: str | None = None
    published: str | None = None
    warnings: list[str] = field(default_factory=list)


def _iso(value: object) -> str | None:
    if not value:
        return None
    m = _ISO_DATE.match(str(value).strip())
    return m.group(0) if m else None


def extract_html(html: str) -> ExtractedHTML | None:
    """Extract the article's main text, title and original publication date.

    Favours precision (no comments, no tables); scripts and styles never reach the text.
    Returns None when no article text can be found.
    """
    try:
        import trafilatura
    except Exception as exc:  # missing optional dependency (e.g. lxml_html_clean)
        result = _basic_extract(html)
        if result is not None:
            result.published = _htmldate(html)
            result.warnings.append(f"trafilatura unavailable ({type(exc).__name__}): basic HTML extraction used")
        return result

    params = {"extensive_search": True, "original_date": True}
    doc = None
    for precision in (True, False):
        doc = trafilatura.bare_extraction(
            html,
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
    title = (getattr(doc, "title", None) or "").strip() or None
    published = _iso(getattr(doc, "date", None))
    if published is None:
        published = _htmldate(html)
    return ExtractedHTML(text=text, title=title, published=published)


def _htmldate(html: str) -> str | None:
    try:
        from htmldate import find_date

        return _iso(find_date(html, original_date=True, extensive_search=True))
    except Exception:
        return None


class _BasicParser(HTMLParser):
    """Fallback extractor: paragraph-level text outside scripts, styles and page chrome."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "iframe", "head", "button", "select"})
    BLOCK = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "div", "article", "section", "br", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.title: list[str] = []
        self.in_title = False

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.blocks.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag in self.BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.BLOCK:
            self._flush()

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        if not self.skip_depth:
            self.current.append(data)


def _basic_extract(html: str) -> ExtractedHTML | None:
    parser = _BasicParser()
    parser.feed(html)
    parser.close()
    parser._flush()
    text = "\n".join(parser.blocks)
    if not text.strip():
        return None
    title = " ".join("".join(parser.title).split()) or None
    return ExtractedHTML(text=text, title=title)
