"""Name normalisation: the scoring normaliser of SCHEMA.md, and a looser matching key
that folds transliteration variants so that al-Qaeda / Al Qaida / al-Qa'ida meet.

The variant table lives in ``data/transliteration.json`` (knowledge, not code)."""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

_PUNCT = re.compile(r"[-'’‘‐.`´ʼʻ]")
_WS = re.compile(r"\s+")


def strip_diacritics(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def normalize(name: str) -> str:
    """SCHEMA.md step 1: NFKD, drop diacritics, lowercase, ``- ' ’ ‘ ‐ .`` -> space,
    drop a leading ``the``, collapse whitespace."""
    s = strip_diacritics(name).lower()
    s = re.sub(r"[-'’‘‐.]", " ", s)
    s = _WS.sub(" ", s).strip()
    if s.startswith("the "):
        s = s[4:]
    return s


@lru_cache(maxsize=1)
def _variants() -> tuple[dict[str, str], list[str]]:
    data = json.loads(resources.files("allegiance.data").joinpath("transliteration.json").read_text("utf-8"))
    tokens = {}
    for canonical, variants in data["tokens"].items():
        for v in variants:
            tokens[v] = canonical
    return tokens, data["drop"]


@lru_cache(maxsize=65536)
def match_key(name: str) -> str:
    """A key on which transliteration variants of one name collide.

    Articles (al-, el-, the), possessive 's, punctuation and case are dropped;
    token variants (qaida->qaeda, okba->uqba, bin->ibn ...) are folded."""
    # Candidate selection keys every word of every article: words repeat, so remember
    # the short ones (long strings are rare and would bloat the cache).
    return _match_key_cached(name) if len(name) <= 64 else _match_key(name)


@lru_cache(maxsize=262_144)
def _match_key_cached(name: str) -> str:
    return _match_key(name)


@lru_cache(maxsize=65536)
def compact_key(name: str) -> str:
    """The name's folded tokens run together, articles and linking particles kept:
    hyphenation and spacing variants of one transliterated name meet ("Jamaat-ul-Ahrar",
    "Jamaatul Ahrar", "Jamaat ul Ahrar" -> "jamaatulahrar")."""
    return _match_key(name, keep_all=True).replace(" ", "")


def _match_key(name: str, keep_all: bool = False) -> str:
    tokens_map, drop = _variants()
    s = strip_diacritics(name).lower()
    s = re.sub(r"['’‘`´ʼʻ]s\b", "", s)           # possessive
    s = re.sub(r"['’‘`´ʼʻ]", "", s)              # Qa'ida -> qaida, Hay'at -> hayat
    s = _PUNCT.sub(" ", s)
    s = re.sub(r"[^\w\s]", " ", s)
    out = []
    for tok in s.split():
        tok = tokens_map.get(tok, tok)
        if tok in drop and not keep_all:
            continue
        out.append(tok)
    return " ".join(out)
