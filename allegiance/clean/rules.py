"""Boilerplate line rules loaded from allegiance/data/boilerplate.json."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LONG_LINE = 600  # lines longer than this are only tried against patterns marked "long"


@dataclass(frozen=True)
class _Needy:
    regex: re.Pattern[str]
    needs: tuple[str, ...]
    long: bool


_ESCAPE_RE = re.compile(r"\\[A-Za-z]|\(\?-i:")


def _needs_case(pattern: str) -> bool:
    """Patterns with uppercase literals or ``(?-i:...)`` parts are matched on the original line
    with re.IGNORECASE; all others, faster, on the lowercased line without flags."""
    return "(?-i:" in pattern or any(ch.isupper() for ch in _ESCAPE_RE.sub("", pattern))


class _Alternation:
    def __init__(self, patterns: list[str]) -> None:
        lower = [p for p in patterns if not _needs_case(p)]
        cased = [p for p in patterns if _needs_case(p)]
        self.lower = re.compile("|".join(f"(?:{p})" for p in lower)) if lower else None
        self.cased = re.compile("|".join(f"(?:{p})" for p in cased), re.I) if cased else None

    def fullmatch(self, line: str, lower: str) -> bool:
        if self.lower is not None and self.lower.fullmatch(lower):
            return True
        return self.cased is not None and self.cased.fullmatch(line) is not None


class LineRules:
    """One category of whole-line patterns, compiled for speed.

    Patterns without ``needs`` are joined into one alternation (one regex call per line);
    patterns with ``needs`` run only on lines that contain one of those substrings.
    """

    def __init__(self, entries: list[dict]) -> None:
        plain = [e for e in entries if not e.get("needs")]
        self._short = _Alternation([e["pattern"] for e in plain])
        self._long = _Alternation([e["pattern"] for e in plain if e.get("long")])
        self._needy = [
            _Needy(re.compile(e["pattern"], re.I), tuple(s.lower() for s in e["needs"]), bool(e.get("long")))
            for e in entries
            if e.get("needs")
        ]
        needs = sorted({s for n in self._needy for s in n.needs})
        self._needs_rx = re.compile("|".join(map(re.escape, needs))) if needs else None

    def match(self, line: str, lower: str) -> bool:
        """``line`` is stripped; ``lower`` is its lowercase form."""
        is_long = len(line) > LONG_LINE
        if (self._long if is_long else self._short).fullmatch(line, lower):
            return True
        if self._needs_rx is None or not self._needs_rx.search(lower):
            return False
        for n in self._needy:
            if (n.long or not is_long) and any(s in lower for s in n.needs) and n.regex.fullmatch(line):
                return True
        return False


class Rules:
    def __init__(self, data: dict) -> None:
        self.end_markers = LineRules(data["end_markers"]["patterns"])
        self.drop_lines = LineRules(data["drop_lines"]["patterns"])
        self.header_lines = LineRules(data["header_lines"]["patterns"])
        # One pass over every category first: most lines match nothing.
        self.any = LineRules(
            data["end_markers"]["patterns"] + data["drop_lines"]["patterns"] + data["header_lines"]["patterns"]
        )
        self.trim_suffix = [re.compile(e["pattern"], re.I) for e in data["trim_suffix"]["patterns"]]


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    text = resources.files("allegiance.data").joinpath("boilerplate.json").read_text(encoding="utf-8")
    return Rules(json.loads(text))
