"""Cheap language guess: script share, then share of common function words per language."""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

_TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SAMPLE_CHARS = 20_000

# Unicode name prefix of a letter -> language code guessed from its script.
_SCRIPTS = (
    ("ARABIC", "ar"), ("CYRILLIC", "ru"), ("HEBREW", "he"), ("CJK", "zh"), ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"), ("HANGUL", "ko"), ("DEVANAGARI", "hi"), ("GREEK", "el"), ("THAI", "th"),
    ("ETHIOPIC", "am"), ("BENGALI", "bn"), ("TAMIL", "ta"), ("ARMENIAN", "hy"), ("GEORGIAN", "ka"),
)


@lru_cache(maxsize=1)
def _stopwords() -> dict[str, frozenset[str]]:
    raw = json.loads(resources.files("allegiance.data").joinpath("stopwords.json").read_text(encoding="utf-8"))
    return {lang: frozenset(words) for lang, words in raw.items() if not lang.startswith("_")}


# outside Latin letters and the punctuation, currency and letter-like blocks news uses
_NON_LATIN = re.compile("[^\x00-\u024f\u2000-\u206f\u20a0-\u20cf\u2100-\u214f]")


def _script_guess(sample: str) -> str | None:
    if not _NON_LATIN.search(sample):
        return None   # all Latin: the per-character loop below would find no script
    letters = 0
    counts: dict[str, int] = {}
    for ch in sample:
        if not ch.isalpha():
            continue
        letters += 1
        if ord(ch) < 0x250:
            continue  # Latin
        name = unicodedata.name(ch, "")
        for prefix, code in _SCRIPTS:
            if name.startswith(prefix):
                counts[code] = counts.get(code, 0) + 1
                break
    if not letters or not counts:
        return None
    code, n = max(counts.items(), key=lambda kv: kv[1])
    return code if n > 0.5 * letters else None


def guess_language(text: str) -> str:
    """``"en"`` for English, another ISO 639-1 code when it looks like another language,
    ``"und"`` when there is nothing to judge."""
    sample = text[:_SAMPLE_CHARS]
    if not sample.strip():
        return "und"
    script = _script_guess(sample)
    if script:
        return script
    tokens = [t.lower() for t in _TOKEN_RE.findall(sample)]
    if not tokens:
        return "und"
    scores = {lang: sum(1 for t in tokens if t in words) for lang, words in _stopwords().items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    en = scores.get("en", 0)
    if len(tokens) < 20:
        # Too little text to be sure: only call it foreign when another language clearly wins.
        if best != "en" and scores[best] >= 2 and scores[best] > 2 * en:
            return best
        return "en"
    if best == "en" or en >= 0.8 * scores[best]:
        return "en" if en / len(tokens) >= 0.08 else "und"
    return best if scores[best] / len(tokens) >= 0.08 else "und"
