"""Untrusted text (article text, actor names, file names, URLs) made safe to print and to
put in a CSV cell.

The one place that decides what may reach a terminal or a spreadsheet:

* :func:`clean`: one-line text for a terminal. Control characters are replaced by a visible
  escape, so nothing is silently lost and nothing is interpreted: C0 (tab and newline too:
  a newline in a file name would otherwise print a second, forged line), DEL, C1 (0x80-0x9f:
  U+009B is CSI to some terminals), the bidi embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069, which reorder what follows on the line), the line and
  paragraph separators U+2028/U+2029 and lone surrogates (undecodable bytes of a file name,
  which would crash the write). ``\\n``, ``\\t``, ``\\r`` by name, others as ``\\xNN`` or
  ``\\uNNNN``. Backslashes are left alone: the escaped form is for reading, not for parsing
  back (the JSON outputs are the lossless ones).
* :func:`markup`: :func:`clean` plus ``rich.markup.escape`` for the few places where Rich
  parses markup (rule titles, lines mixing our markup with data).
* :func:`console`: a Rich console that, as a last line of defence, escapes any control
  character still inside a rendered segment (Rich's own cursor and style codes are not in
  segments' text). It keeps newlines, which Rich itself uses to lay out lines; newlines
  inside data must be taken out by :func:`clean` before the data becomes a ``Text``.
* :func:`csv_cell`: a CSV cell. Text gets :func:`clean` (CSVs go to stdout by default, and a
  spreadsheet has no use for ESC or bidi overrides) and then, when it starts with ``=``,
  ``+``, ``-``, ``@`` (or tab / carriage return, already escaped by then), a leading ``'``
  (OWASP's advice against formula injection). Numbers stay numbers, negative ones included:
  a spreadsheet does not execute ``-3`` written as a number, and latitude/longitude columns
  need their sign. So only text is neutralised; a text cell holding ``-3`` becomes ``'-3``.
* :func:`json_text`: JSON as ``json.dumps(..., ensure_ascii=False)`` writes it, with DEL,
  C1, bidi controls and separators also written as ``\\uNNNN`` (json escapes only C0):
  the same string once parsed, nothing raw on a terminal.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape as _markup_escape
from rich.segment import Segment

_NOT_C0 = "\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_UNSAFE_RE = re.compile(f"[\x00-\x1f{_NOT_C0}]")
# in rendered segments: the same, except the newline Rich lays lines out with
_SEGMENT_RE = re.compile(f"[\x00-\x09\x0b-\x1f{_NOT_C0}]")
# JSON escapes C0 itself; the rest can only occur inside strings, where \uNNNN means the
# same (a lone surrogate too, which could not even be written raw as UTF-8)
_JSON_RE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _escape(m: re.Match) -> str:
    ch = m.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    cp = ord(ch)
    return f"\\x{cp:02x}" if cp <= 0xFF else f"\\u{cp:04x}"


def clean(value: Any) -> str:
    """``value`` as one line of text with every control character visibly escaped
    (None -> empty)."""
    s = "" if value is None else str(value)
    return _UNSAFE_RE.sub(_escape, s)


def markup(value: Any) -> str:
    """``value`` cleaned and with Rich markup escaped, for a string Rich will parse."""
    return _markup_escape(clean(value))


def csv_cell(value: Any) -> Any:
    """A CSV cell: None -> empty, bool -> true/false, numbers as they are, dict/list as
    JSON, other text cleaned and made formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    value = clean(value)
    if value.startswith(_FORMULA):
        return "'" + value
    return value


def json_text(text: str) -> str:
    """Output of ``json.dumps(..., ensure_ascii=False)`` with the non-C0 controls escaped too."""
    return _JSON_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeConsole(Console):
    """A console whose rendered text never carries a raw control character (see module doc)."""

    def render(self, renderable: RenderableType, options: Optional[ConsoleOptions] = None) -> Iterable[Segment]:
        for seg in super().render(renderable, options):
            if seg.control or not _SEGMENT_RE.search(seg.text):
                yield seg
            else:
                yield Segment(_SEGMENT_RE.sub(_escape, seg.text), seg.style, seg.control)


def console(stderr: bool = False) -> Console:
    """The console every CLI printer uses (no highlighting: data is never styled by guess)."""
    return SafeConsole(stderr=stderr, highlight=False)


__all__ = ["SafeConsole", "clean", "console", "csv_cell", "json_text", "markup"]
