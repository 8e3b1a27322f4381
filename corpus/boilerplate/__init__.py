"""Strip site furniture: parse aggregator pages, remove known patterns, then recurring segments.

Runs before dedup: two different short articles wrapped in the same 4,000-character ticker
must not look alike. Three passes, in order: aggregator pages are split into title, byline and
body (`pages`); known furniture from the pattern list is removed (`patterns`); segments that
recur across many documents of one outlet or crawl are removed (`recurring`, a corpus-wide
count then a per-document apply). Documents left (nearly) empty are removed as `empty`.
`furniture` lists one entry per piece removed (pattern name, `page_head`, `page_footer`,
`recurring_outlet`, `recurring_crawl`), so counts per kind are a `value_counts` away.
"""

from __future__ import annotations

import polars as pl

from corpus.boilerplate.pages import PAGE, parse_pages
from corpus.boilerplate.patterns import Furniture, load_furniture, strip_furniture
from corpus.boilerplate.recurring import drop_recurring, recurring_segments, segments
from corpus.config import BoilerplateConfig

__all__ = ["PAGE", "Furniture", "furniture_counts", "load_furniture", "parse_pages", "strip_boilerplate"]


def strip_boilerplate(
    frame: pl.DataFrame, section: BoilerplateConfig, patterns: list[Furniture]
) -> pl.DataFrame:
    """Parse pages, remove known then recurring furniture, mark documents left empty as `empty`."""
    out = strip_furniture(parse_pages(frame), patterns)
    if section.recurring:
        parts = segments(out)
        out = drop_recurring(out, parts, recurring_segments(parts, section), section)
    empty = out["text"].fill_null("").str.len_chars() < max(section.min_chars, 1)
    return out.with_columns(
        removed_reason=pl.when(empty).then(pl.lit("empty")).otherwise(pl.col("removed_reason"))
    )


def furniture_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Pieces of furniture removed per kind (`furniture`, `pieces`, `documents`), most frequent first."""
    exploded = frame.select(pl.int_range(pl.len()).alias("_row"), "furniture").explode("furniture")
    return (
        exploded.drop_nulls("furniture")
        .group_by("furniture")
        .agg(pieces=pl.len(), documents=pl.col("_row").n_unique())
        .sort(["pieces", "furniture"], descending=[True, False])
    )
