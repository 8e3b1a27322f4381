"""Strip site furniture: parse aggregator pages, remove known patterns, then recurring segments.

Runs before dedup: two different short articles wrapped in the same 4,000-character ticker
must not look alike. A map (`strip_known`): aggregator pages are split into title, byline and
body (`pages`), then known furniture from the pattern list is removed (`patterns`). A phase after
the metadata step (`RecurringFurniture`): segments that recur across many documents of one outlet
or crawl are removed (`recurring`). `furniture` lists one entry per piece removed (pattern name,
`page_head`, `page_footer`, `recurring_outlet`, `recurring_crawl`), so counts per kind are a
`value_counts` away. Documents left empty are removed by the `quality` step.
"""

from __future__ import annotations

import polars as pl

from corpus.boilerplate.pages import PAGE, parse_pages
from corpus.boilerplate.patterns import Furniture, load_furniture, strip_furniture
from corpus.boilerplate.recurring import RecurringFurniture
from corpus.config import BoilerplateConfig

__all__ = [
    "PAGE",
    "Furniture",
    "RecurringFurniture",
    "furniture_counts",
    "load_furniture",
    "parse_pages",
    "strip_boilerplate",
    "strip_known",
]


def strip_known(frame: pl.DataFrame, patterns: list[Furniture]) -> pl.DataFrame:
    """Parse aggregator pages, then remove known furniture (the per-document part)."""
    return strip_furniture(parse_pages(frame), patterns)


def strip_boilerplate(
    frame: pl.DataFrame, section: BoilerplateConfig, patterns: list[Furniture]
) -> pl.DataFrame:
    """Known then recurring furniture over one in-memory frame (for notebooks and tests; a build
    runs the same steps batch by batch)."""
    from corpus.engine.memory import run_phase

    out = strip_known(frame, patterns)
    return run_phase(RecurringFurniture(section), out) if section.recurring else out


def furniture_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Pieces of furniture removed per kind (`furniture`, `pieces`, `documents`), most frequent first."""
    exploded = frame.select(pl.int_range(pl.len()).alias("_row"), "furniture").explode("furniture")
    return (
        exploded.drop_nulls("furniture")
        .group_by("furniture")
        .agg(pieces=pl.len(), documents=pl.col("_row").n_unique())
        .sort(["pieces", "furniture"], descending=[True, False])
    )
