"""Text as compared for duplicates, and the order in which duplicates are kept.

Matching text: lowercase; punctuation out; Arabic letter variants unified (أ إ آ ٱ → ا, ى → ي,
ة → ه); harakat, superscript alef and tatweel out; Eastern Arabic digits → ASCII; whitespace
collapsed. Two texts that differ only in these are the same text for dedup.
"""

from __future__ import annotations

import polars as pl

ARABIC_VARIANTS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}
EASTERN_DIGITS = {chr(0x660 + d): str(d) for d in range(10)}
# Harakat, superscript alef and tatweel carry no identity for matching.
ARABIC_MARKS = r"[\u064b-\u065f\u0670\u0640]"
NEVER = pl.datetime(9999, 1, 1, time_zone="UTC")
# What survivor choice reads; stored with a release's signatures so its text is not needed.
PRIORITY = ["id", "source", "published_at", "published_date", "text_chars"]


def matching_text(expr: pl.Expr) -> pl.Expr:
    """Text as compared for duplicates: lowercase, no punctuation, Arabic variants unified."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_many({**ARABIC_VARIANTS, **EASTERN_DIGITS})
        .str.replace_all(ARABIC_MARKS, "")
        .str.replace_all(r"[^\p{L}\p{N}\s]", " ")
        # Whitespace runs become one space; single spaces (most of them) are not matched at all,
        # which makes this 40% cheaper than `\s+` for the same result.
        .str.replace_all(r"\x20\s+|[\s&&[^\x20]]\s*", " ")
        .str.strip_chars()
    )


def priority_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns survivor choice needs, as stored with a release's signatures."""
    return frame.select(
        "id",
        "source",
        "published_at",
        "published_date",
        text_chars=pl.col("text").fill_null("").str.len_chars().cast(pl.Int64),
    )


def survivor_order(outlet_priority: list[str]) -> list[pl.Expr]:
    """Sort keys over `priority_columns`: earliest publication, then the outlet priority list
    (wire services before reprints), then the longest text, then the smallest id."""
    published = pl.coalesce(pl.col("published_at"), pl.col("published_date").cast(pl.Datetime("us", "UTC")))
    rank = {name: position for position, name in enumerate(outlet_priority)}
    outlet = pl.col("source").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
    return [published.fill_null(NEVER), outlet, -pl.col("text_chars"), pl.col("id")]
