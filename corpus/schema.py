"""The canonical schema every step reads and writes, and the ledger columns steps fill in.

Readers produce `RAW` columns; steps add the rest. A step never drops a row: it sets
`removed_reason` (and for duplicates `dup_of` and `similarity`) and the runner moves such rows
to the ledger, so every input row is accounted for.
"""

from __future__ import annotations

import polars as pl

# What a reader yields for each input record (all strings, as scraped), plus lineage.
RAW: dict[str, pl.DataType] = {
    "url_raw": pl.String(),
    "key": pl.String(),  # identifies a record inside one URL (e.g. a comment id); usually null
    "title": pl.String(),
    "text": pl.String(),
    "source_raw": pl.String(),
    "published_raw": pl.String(),
    "scraped_raw": pl.String(),
    "layout": pl.String(),  # "page" (aggregator page, parsed by boilerplate), "article", "record"
    "source_name": pl.String(),  # the config's name for the source entry
    "source_file": pl.String(),  # path relative to the config's folder
    "source_line": pl.Int64(),  # 1-based line (JSONL, text) or data row (CSV, Parquet, JSON)
    "encoding": pl.String(),  # how the bytes were decoded
    "country": pl.String(),  # ISO 3166 alpha-2 from the source (e.g. its file name); the registry's wins
    "reader_error": pl.String(),  # set when a record could not be parsed (on_bad_record: skip)
}

# Columns the steps add.
DERIVED: dict[str, pl.DataType] = {
    "id": pl.String(),
    "url": pl.String(),
    "source": pl.String(),
    "published_at": pl.Datetime("us", "UTC"),  # null when only a date is known
    "published_date": pl.Date(),  # calendar date in the outlet's time zone
    "published_issue": pl.String(),  # why there is no date: missing, unparsed, invalid, too_old, future
    "scraped_at": pl.Datetime("us", "UTC"),
    "language": pl.String(),
    "language_score": pl.Float64(),
    "language_share": pl.Float64(),  # share of the document's letters in `language`
    "code_switching": pl.Boolean(),  # paragraphs in other languages hold a notable share
    "repairs": pl.List(pl.String()),  # which repairs changed the document
    "furniture": pl.List(pl.String()),  # which furniture patterns were removed from it
}

# Filled by steps that remove rows; never released.
LEDGER: dict[str, pl.DataType] = {
    "removed_reason": pl.String(),
    "removed_detail": pl.String(),  # the reason in words: which byte, how long, how many controls
    "removed_step": pl.String(),
    "dup_of": pl.String(),
    "similarity": pl.Float64(),
    "dup_release": pl.String(),  # version of the earlier release holding `dup_of`; null: this build
}

# Column order of a released row.
RELEASED = [
    "id",
    "url",
    "title",
    "text",
    "source",
    "country",
    "published_at",
    "published_date",
    "published_issue",
    "language",
    "language_score",
    "language_share",
    "code_switching",
    "source_raw",
    "url_raw",
    "key",
    "published_raw",
    "scraped_at",
    "layout",
    "repairs",
    "furniture",
    "source_name",
    "source_file",
    "source_line",
    "encoding",
]

REMOVED = [
    *RELEASED,
    "removed_step",
    "removed_reason",
    "removed_detail",
    "dup_of",
    "similarity",
    "dup_release",
]


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Add every missing canonical column as typed nulls and cast the rest to their type."""
    schema = {**RAW, **DERIVED, **LEDGER}
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in frame.columns]
    present = [pl.col(name).cast(schema[name]) for name in frame.columns if name in schema]
    return frame.with_columns(missing + present).select(list(schema))
