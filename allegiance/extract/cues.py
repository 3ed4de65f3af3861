"""Cue lists and relation patterns, loaded from the data files."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


def _load(name: str) -> dict:
    return json.loads(resources.files("allegiance.data").joinpath(name).read_text("utf-8"))


@lru_cache(maxsize=1)
def cues() -> dict:
    return _load("cues.json")


@lru_cache(maxsize=1)
def relation_spec() -> dict:
    return _load("relations.json")
